package xgboost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// file mirrors the parts of XGBoost's JSON model schema that prediction
// needs (doc/model.schema in the XGBoost repository).
type file struct {
	Version []int    `json:"version"`
	Learner *learner `json:"learner"`
}

type learner struct {
	FeatureNames []string        `json:"feature_names"`
	FeatureTypes []string        `json:"feature_types"`
	Booster      json.RawMessage `json:"gradient_booster"`
	Param        struct {
		BaseScore string `json:"base_score"`
		NumClass  string `json:"num_class"`
		NumFeat   string `json:"num_feature"`
		NumTarget string `json:"num_target"`
	} `json:"learner_model_param"`
	Objective struct {
		Name        string `json:"name"`
		TweedieParm *struct {
			Power string `json:"tweedie_variance_power"`
		} `json:"tweedie_regression_param"`
	} `json:"objective"`
}

type booster struct {
	Name       string       `json:"name"`
	Model      *gbtreeModel `json:"model"`
	GBTree     *booster     `json:"gbtree"` // dart wraps a gbtree
	WeightDrop []float64    `json:"weight_drop"`
}

type gbtreeModel struct {
	Trees    []tree `json:"trees"`
	TreeInfo []int  `json:"tree_info"`
	Param    struct {
		NumTrees string `json:"num_trees"`
	} `json:"gbtree_model_param"`
}

type tree struct {
	ID              int      `json:"id"`
	Left            []int    `json:"left_children"`
	Right           []int    `json:"right_children"`
	SplitIndices    []int    `json:"split_indices"`
	SplitConditions []number `json:"split_conditions"`
	DefaultLeft     flags    `json:"default_left"`
	SplitType       []int    `json:"split_type"`
	// Categorical splits: node CatNodes[k] holds the categories
	// Categories[CatSegments[k] : CatSegments[k]+CatSizes[k]].
	Categories  []int `json:"categories"`
	CatNodes    []int `json:"categories_nodes"`
	CatSegments []int `json:"categories_segments"`
	CatSizes    []int `json:"categories_sizes"`
	Param       struct {
		NumNodes   string `json:"num_nodes"`
		NumFeature string `json:"num_feature"`
		LeafVector string `json:"size_leaf_vector"`
	} `json:"tree_param"`
}

// flags decodes default_left, which XGBoost writes as 0/1 integers in some
// versions and as booleans in others.
type flags []bool

func (f *flags) UnmarshalJSON(b []byte) error {
	var bs []bool
	if err := json.Unmarshal(b, &bs); err == nil {
		*f = bs
		return nil
	}
	var is []int
	if err := json.Unmarshal(b, &is); err != nil {
		return errors.New("default_left: want an array of 0/1 or booleans")
	}
	*f = make([]bool, len(is))
	for i, v := range is {
		(*f)[i] = v != 0
	}
	return nil
}

// number is a JSON number that may also be null, which stands for the NaN
// and infinities XGBoost writes as bare words (see nonFiniteToNull).
type number float64

func (n *number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = number(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", model.Quote(string(b)))
	}
	*n = number(v)
	return nil
}

// nonFiniteToNull rewrites the bare words NaN, Infinity and -Infinity, which
// XGBoost writes (for instance as the split condition of a categorical
// split) but JSON does not allow, to null outside strings. Line numbers are
// kept; columns after a rewrite shift by one.
func nonFiniteToNull(data []byte) []byte {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data
	}
	out := make([]byte, 0, len(data)+64)
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			out = append(out, c)
			switch c {
			case '\\':
				if i+1 < len(data) {
					i++
					out = append(out, data[i])
				}
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			continue
		}
		rest := data[i:]
		matched := false
		for _, w := range []string{"-Infinity", "Infinity", "-NaN", "NaN"} {
			if bytes.HasPrefix(rest, []byte(w)) {
				out = append(out, "null"...)
				i += len(w) - 1
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, c)
		}
	}
	return out
}

// objective describes how an XGBoost objective reads: its task, the link
// from margin to prediction, and how base_score becomes the starting margin.
type objective struct {
	task   model.Task
	link   model.Link
	margin func(float32) (float32, error)
}

func identityMargin(b float32) (float32, error) { return b, nil }

// logitMargin is XGBoost's ProbToMargin for logistic objectives, computed
// in float32 as XGBoost does.
func logitMargin(b float32) (float32, error) {
	if !(b > 0 && b < 1) {
		return 0, fmt.Errorf("base_score %v must be in (0,1) for a logistic objective", b)
	}
	t := float32(1)/b - float32(1)
	return -float32(math.Log(float64(t))), nil
}

func logMargin(b float32) (float32, error) {
	if !(b > 0) {
		return 0, fmt.Errorf("base_score %v must be positive for a log-link objective", b)
	}
	return float32(math.Log(float64(b))), nil
}

var objectives = map[string]objective{
	"binary:logistic":      {model.TaskBinary, model.LinkSigmoid, logitMargin},
	"binary:logitraw":      {model.TaskBinary, model.LinkIdentity, identityMargin}, // base_score is taken as the margin as is
	"reg:logistic":         {model.TaskRegression, model.LinkSigmoid, logitMargin},
	"reg:squarederror":     {model.TaskRegression, model.LinkIdentity, identityMargin},
	"reg:linear":           {model.TaskRegression, model.LinkIdentity, identityMargin},
	"reg:pseudohubererror": {model.TaskRegression, model.LinkIdentity, identityMargin},
	"reg:squaredlogerror":  {model.TaskRegression, model.LinkIdentity, identityMargin},
	"reg:absoluteerror":    {model.TaskRegression, model.LinkIdentity, identityMargin},
	"count:poisson":        {model.TaskCount, model.LinkExp, logMargin},
	"reg:gamma":            {model.TaskPositive, model.LinkExp, logMargin},
	"reg:tweedie":          {model.TaskPositive, model.LinkExp, logMargin},
	"multi:softprob":       {model.TaskMulticlass, model.LinkSoftmax, identityMargin},
	"multi:softmax":        {model.TaskMulticlass, model.LinkArgmax, identityMargin},
	"rank:pairwise":        {model.TaskRegression, model.LinkIdentity, identityMargin},
	"rank:ndcg":            {model.TaskRegression, model.LinkIdentity, identityMargin},
	"rank:map":             {model.TaskRegression, model.LinkIdentity, identityMargin},
	"reg:quantileerror":    {model.TaskRegression, model.LinkIdentity, identityMargin},
}

// maxFeatures bounds num_feature, so that a corrupt file cannot make the
// importer or a caller allocate rows of billions of values.
const maxFeatures = 1 << 24

// Parse reads an XGBoost model in JSON (Booster.save_model("m.json"),
// XGBoost 1.6 and later) or UBJSON (save_model("m.ubj"), the default of recent
// XGBoost releases), told apart by content, not name. A UBJSON model imports as
// its JSON twin does: the same payload, features and outputs, with
// Source.Format "xgboost-ubjson" instead of "xgboost-json". A legacy binary
// model gets a *LegacyBinaryError saying how to convert it. Errors name the
// JSON line and column, the UBJSON byte offset, or the tree and field at
// fault; the caller adds the file name.
func Parse(data []byte) (*model.Imported, error) {
	if m := legacyMagic(data); m != "" {
		return nil, &LegacyBinaryError{Magic: m}
	}
	if isUBJSON(data) {
		js, err := ubjsonToJSON(data)
		if err != nil {
			return nil, err
		}
		imp, err := parseDoc(js, "UBJSON", func(off int64) string {
			return fmt.Sprintf("byte %d", ubjOffsetAt(data, off))
		})
		if err != nil {
			return nil, err
		}
		imp.Source.Format = "xgboost-ubjson"
		return imp, nil
	}
	if err := notJSONHint(data); err != nil {
		return nil, err
	}
	data = nonFiniteToNull(data)
	return parseDoc(data, "JSON", func(off int64) string { return lineColumn(data, off) })
}

// parseDoc reads the JSON text of a model; format ("JSON" or "UBJSON") is
// the user's file's, and where names the place in that file of an offset in
// data.
func parseDoc(data []byte, format string, where func(off int64) string) (*model.Imported, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, jsonError(err, format, where)
	}
	if f.Learner == nil {
		return nil, errors.New(`no "learner" object: not an XGBoost JSON model`)
	}
	l := f.Learner
	obj, ok := objectives[l.Objective.Name]
	if !ok {
		if l.Objective.Name == "" {
			return nil, errors.New("learner.objective.name is missing")
		}
		return nil, fmt.Errorf("objective %s is not supported (supported: %s)", model.Quote(l.Objective.Name), supportedObjectives())
	}
	nfeat, err := paramInt("learner_model_param.num_feature", l.Param.NumFeat, 0)
	if err != nil {
		return nil, err
	}
	if nfeat <= 0 || nfeat > maxFeatures {
		return nil, fmt.Errorf("learner_model_param.num_feature is %d, want 1 to %d", nfeat, maxFeatures)
	}
	nclass, err := paramInt("learner_model_param.num_class", l.Param.NumClass, 0)
	if err != nil {
		return nil, err
	}
	if ntarget, err := paramInt("learner_model_param.num_target", l.Param.NumTarget, 1); err != nil {
		return nil, err
	} else if ntarget > 1 {
		return nil, fmt.Errorf("learner_model_param.num_target is %d: multi-target models are not supported", ntarget)
	}
	ngroups := 1
	if obj.task == model.TaskMulticlass {
		if nclass < 2 {
			return nil, fmt.Errorf("objective %s with num_class %d, want at least 2", l.Objective.Name, nclass)
		}
		ngroups = nclass
	} else if nclass > 1 {
		return nil, fmt.Errorf("objective %s is not multiclass but num_class is %d", l.Objective.Name, nclass)
	}

	base, err := baseMargins(l.Param.BaseScore, ngroups, obj)
	if err != nil {
		return nil, err
	}

	var b booster
	if len(l.Booster) == 0 {
		return nil, errors.New("learner.gradient_booster is missing")
	}
	if err := json.Unmarshal(l.Booster, &b); err != nil {
		return nil, fmt.Errorf("learner.gradient_booster: %v", err)
	}
	var gm *gbtreeModel
	var weights []float64
	switch b.Name {
	case "gbtree":
		gm = b.Model
	case "dart":
		if b.GBTree == nil || b.GBTree.Model == nil {
			return nil, errors.New("dart booster has no gbtree.model")
		}
		gm = b.GBTree.Model
		weights = b.WeightDrop
	case "gblinear":
		return nil, errors.New("booster gblinear is not supported (only gbtree and dart)")
	default:
		return nil, fmt.Errorf("booster %s is not supported (only gbtree and dart)", model.Quote(b.Name))
	}
	if gm == nil {
		return nil, fmt.Errorf("%s booster has no model", b.Name)
	}
	if len(gm.TreeInfo) != len(gm.Trees) {
		return nil, fmt.Errorf("gradient_booster: %d trees but %d tree_info entries", len(gm.Trees), len(gm.TreeInfo))
	}
	if nt, err := paramInt("gbtree_model_param.num_trees", gm.Param.NumTrees, len(gm.Trees)); err != nil {
		return nil, err
	} else if nt != len(gm.Trees) {
		return nil, fmt.Errorf("gbtree_model_param.num_trees is %d but the file has %d trees", nt, len(gm.Trees))
	}
	if weights != nil && len(weights) != len(gm.Trees) {
		return nil, fmt.Errorf("dart weight_drop has %d entries for %d trees", len(weights), len(gm.Trees))
	}

	forest := kernels.Forest{
		NumFeatures: nfeat,
		Base:        base,
		Compare:     kernels.LessFloat32,
		Float32Sum:  true,
	}
	used := make([]bool, nfeat)
	for i := range gm.Trees {
		g := gm.TreeInfo[i]
		if g < 0 || g >= ngroups {
			return nil, fmt.Errorf("tree %d: tree_info group %d out of range [0,%d)", i, g, ngroups)
		}
		nodes, err := convertTree(&gm.Trees[i], used, &forest)
		if err != nil {
			return nil, fmt.Errorf("tree %d: %w", i, err)
		}
		if err := model.AppendTree(&forest, nodes, 0, g); err != nil {
			return nil, fmt.Errorf("tree %d: %w", i, err)
		}
	}
	if weights != nil {
		forest.Weights = make([]float64, len(weights))
		for i, w := range weights {
			// XGBoost multiplies in float32.
			forest.Weights[i] = float64(float32(w))
		}
	}
	trees := &model.Trees{Forest: forest, Link: obj.link, Scale: 1, Divide: 1}
	if err := trees.Prepare(); err != nil {
		return nil, fmt.Errorf("BUG: imported forest is invalid: %w", err)
	}

	feats, err := features(l.FeatureNames, l.FeatureTypes, nfeat)
	if err != nil {
		return nil, err
	}
	imp := &model.Imported{
		Kind:     model.KindTrees,
		Task:     obj.task,
		Features: feats,
		Model:    trees,
		Source: model.Source{
			Format:    "xgboost-json",
			Library:   "xgboost",
			Objective: l.Objective.Name,
			Booster:   b.Name,
		},
	}
	if len(f.Version) > 0 {
		parts := make([]string, len(f.Version))
		for i, v := range f.Version {
			parts[i] = strconv.Itoa(v)
		}
		imp.Source.LibraryVersion = strings.Join(parts, ".")
	}
	if obj.task == model.TaskMulticlass {
		imp.Classes = nclass
	}
	imp.Outputs, imp.RawOutputs = model.DefaultOutputs(obj.task, ngroups, obj.link)
	return imp, nil
}

// convertTree checks one tree's arrays and turns them into source nodes,
// adding the category sets of its categorical splits to f.
func convertTree(t *tree, used []bool, f *kernels.Forest) ([]model.SourceNode, error) {
	n := len(t.Left)
	if n == 0 {
		return nil, errors.New("tree has no nodes")
	}
	if nn, err := paramInt("tree_param.num_nodes", t.Param.NumNodes, n); err != nil {
		return nil, err
	} else if nn != n {
		return nil, fmt.Errorf("tree_param.num_nodes is %d but left_children has %d entries", nn, n)
	}
	if lv, err := paramInt("tree_param.size_leaf_vector", t.Param.LeafVector, 0); err != nil {
		return nil, err
	} else if lv > 1 {
		return nil, fmt.Errorf("vector leaves (size_leaf_vector %d) are not supported", lv)
	}
	for _, c := range []struct {
		name string
		len  int
	}{
		{"right_children", len(t.Right)},
		{"split_indices", len(t.SplitIndices)},
		{"split_conditions", len(t.SplitConditions)},
		{"default_left", len(t.DefaultLeft)},
	} {
		if c.len != n {
			return nil, fmt.Errorf("%s has %d entries, left_children has %d", c.name, c.len, n)
		}
	}
	if t.SplitType != nil && len(t.SplitType) != n {
		return nil, fmt.Errorf("split_type has %d entries, left_children has %d", len(t.SplitType), n)
	}
	cats, err := categorySets(t, n)
	if err != nil {
		return nil, err
	}
	nodes := make([]model.SourceNode, n)
	for i := 0; i < n; i++ {
		v := float64(t.SplitConditions[i])
		isCat := t.SplitType != nil && t.SplitType[i] == 1
		if t.Left[i] != -1 && isCat {
			set, ok := cats[i]
			if !ok {
				return nil, fmt.Errorf("node %d: categorical split (split_type 1) without categories", i)
			}
			fi := t.SplitIndices[i]
			if fi < 0 || fi >= len(used) {
				return nil, fmt.Errorf("node %d: split_indices %d out of range: the model has %d features", i, fi, len(used))
			}
			used[fi] = true
			fl := kernels.FlagCategorical | kernels.FlagCategoryRight
			if t.DefaultLeft[i] {
				fl |= kernels.FlagDefaultLeft
			}
			setIndex := appendSet(f, set)
			nodes[i] = model.SourceNode{Left: t.Left[i], Right: t.Right[i], Feature: fi, Value: float64(setIndex), Flags: fl}
			continue
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("node %d: split_conditions is %v", i, v)
		}
		// Thresholds and leaf values are float32 in XGBoost; the JSON holds
		// their exact decimal form, so this conversion is exact.
		v = float64(float32(v))
		if t.Left[i] == -1 {
			if t.Right[i] != -1 {
				return nil, fmt.Errorf("node %d: left child -1 (leaf) but right child %d", i, t.Right[i])
			}
			nodes[i] = model.SourceNode{Leaf: true, Value: v}
			continue
		}
		if t.SplitType != nil && t.SplitType[i] != 0 {
			return nil, fmt.Errorf("node %d: unknown split_type %d", i, t.SplitType[i])
		}
		fi := t.SplitIndices[i]
		if fi < 0 || fi >= len(used) {
			return nil, fmt.Errorf("node %d: split_indices %d out of range: the model has %d features", i, fi, len(used))
		}
		used[fi] = true
		var fl uint8
		if t.DefaultLeft[i] {
			fl = kernels.FlagDefaultLeft
		}
		nodes[i] = model.SourceNode{Left: t.Left[i], Right: t.Right[i], Feature: fi, Value: v, Flags: fl}
	}
	return nodes, nil
}

// categorySets reads a tree's categorical-split arrays into each node's
// list of categories.
func categorySets(t *tree, n int) (map[int][]int, error) {
	k := len(t.CatNodes)
	if len(t.CatSegments) != k || len(t.CatSizes) != k {
		return nil, fmt.Errorf("categories_nodes, categories_segments and categories_sizes have %d, %d and %d entries, want equal", k, len(t.CatSegments), len(t.CatSizes))
	}
	if k == 0 {
		return nil, nil
	}
	sets := make(map[int][]int, k)
	for j := 0; j < k; j++ {
		node, beg, size := t.CatNodes[j], t.CatSegments[j], t.CatSizes[j]
		if node < 0 || node >= n {
			return nil, fmt.Errorf("categories_nodes[%d] = %d: no such node", j, node)
		}
		if beg < 0 || size < 0 || beg > len(t.Categories) || size > len(t.Categories)-beg {
			return nil, fmt.Errorf("categories_segments[%d]/categories_sizes[%d] = %d/%d: outside the %d categories", j, j, beg, size, len(t.Categories))
		}
		set := t.Categories[beg : beg+size]
		for _, c := range set {
			if c < 0 || c >= 1<<24 {
				return nil, fmt.Errorf("node %d: category %d out of range [0, 2^24)", node, c)
			}
		}
		sets[node] = set
	}
	return sets, nil
}

// appendSet adds a category set to f's bitsets and returns its index.
func appendSet(f *kernels.Forest, set []int) int {
	if len(f.CatBounds) == 0 {
		f.CatBounds = []int32{0}
	}
	words := 0
	for _, c := range set {
		words = max(words, c/32+1)
	}
	base := len(f.CatSets)
	f.CatSets = append(f.CatSets, make([]uint32, words)...)
	for _, c := range set {
		f.CatSets[base+c/32] |= 1 << (uint(c) % 32)
	}
	f.CatBounds = append(f.CatBounds, int32(len(f.CatSets)))
	return len(f.CatBounds) - 2
}

// baseMargins parses base_score ("5E-1", or "[5E-1]" in XGBoost 2 and
// later) and converts it to the starting margin of each output group.
func baseMargins(s string, ngroups int, obj objective) ([]float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("learner_model_param.base_score is missing")
	}
	var vals []string
	if strings.HasPrefix(s, "[") {
		if !strings.HasSuffix(s, "]") {
			return nil, fmt.Errorf("learner_model_param.base_score %s: unterminated list", model.Quote(s))
		}
		vals = strings.Split(strings.Trim(s, "[]"), ",")
	} else {
		vals = []string{s}
	}
	if len(vals) != 1 && len(vals) != ngroups {
		return nil, fmt.Errorf("learner_model_param.base_score has %d values for %d output groups", len(vals), ngroups)
	}
	base := make([]float64, ngroups)
	for g := range base {
		raw := vals[0]
		if len(vals) > 1 {
			raw = vals[g]
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(raw), 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("learner_model_param.base_score %s is not a finite number", model.Quote(raw))
		}
		m, err := obj.margin(float32(v))
		if err != nil {
			return nil, fmt.Errorf("learner_model_param.base_score: %w", err)
		}
		base[g] = float64(m)
	}
	return base, nil
}

// features names the inputs: the file's feature_names when it has them,
// f0..fN-1 otherwise, typed by feature_types ("c" is categorical).
func features(names, types []string, n int) ([]model.Feature, error) {
	if len(names) != 0 && len(names) != n {
		return nil, fmt.Errorf("learner.feature_names has %d names for %d features", len(names), n)
	}
	if len(types) != 0 && len(types) != n {
		return nil, fmt.Errorf("learner.feature_types has %d types for %d features", len(types), n)
	}
	out := make([]model.Feature, n)
	seen := make(map[string]bool, n)
	for i := range out {
		name := "f" + strconv.Itoa(i)
		if len(names) > 0 {
			name = names[i]
		}
		if name == "" || seen[name] {
			return nil, fmt.Errorf("learner.feature_names[%d] %s is empty or repeated", i, model.Quote(name))
		}
		seen[name] = true
		typ := model.FeatureFloat
		if len(types) > 0 && types[i] == "c" {
			typ = model.FeatureCategorical
		}
		out[i] = model.Feature{Name: name, Type: typ}
	}
	return out, nil
}

func paramInt(field, s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %s is not an integer", field, model.Quote(s))
	}
	return v, nil
}

func supportedObjectives() string {
	return "binary:logistic, binary:logitraw, reg:squarederror, reg:logistic, reg:pseudohubererror, count:poisson, reg:gamma, reg:tweedie, multi:softprob, multi:softmax, and a few identity-output objectives"
}

// jsonError turns a decoding error into one that names the place in the
// file (where: line and column, or UBJSON byte offset) and its format.
func jsonError(err error, format string, where func(off int64) string) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
		if te.Field != "" {
			err = fmt.Errorf("field %s: %s %s where %s is expected", te.Field, format, te.Value, te.Type)
		}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated JSON: the file ends before the model does")
	}
	if off < 0 {
		return fmt.Errorf("invalid %s: %v", format, err)
	}
	return fmt.Errorf("%s: invalid %s: %v", where(off), format, err)
}

// lineColumn names the line and column of offset off in data.
func lineColumn(data []byte, off int64) string {
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d column %d", line, col)
}
