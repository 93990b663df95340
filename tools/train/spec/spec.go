// Package spec reads the training spec: the YAML file a person writes to
// say what `predictd train` fits (label, task, model and hyperparameters,
// seed, features and their transforms). It only parses and checks; fitting
// is tools/train's, and the transforms themselves are model/transform's.
//
// The format, every key shown (defaults in comments):
//
//	label: is_fraud            # the label column; required, not a feature
//	task: binary               # binary, multiclass, regression or poisson; required
//	seed: 7                    # default 0
//	validation_fraction: 0.2   # rows held out for validation metrics and
//	                           # early stopping, 0 <= f < 1; default 0.2
//	model:
//	  type: gbdt               # logistic, ridge, linear or gbdt; required
//	  # logistic (binary, multiclass):
//	  #   c: 1.0               # inverse L2/L1 strength, > 0
//	  #   penalty: l2          # l2, l1, elasticnet or none
//	  #   l1_ratio: 0.5        # elasticnet only, 0..1
//	  #   max_iter: 100
//	  # ridge (regression): alpha: 1.0 (>= 0); linear (regression): no keys
//	  # gbdt (any task):
//	  n_trees: 100             # >= 1
//	  max_depth: 6             # >= 1 (depthwise), 0 = no limit (lossguide only)
//	  learning_rate: 0.3       # > 0
//	  max_bin: 255             # 2..255 (one more bin holds missing values)
//	  lambda: 1.0              # L2 on leaf weights, >= 0
//	  alpha: 0.0               # L1 on leaf weights, >= 0
//	  min_child_weight: 1.0    # >= 0
//	  subsample: 1.0           # row fraction per tree, 0 < f <= 1
//	  colsample: 1.0           # column fraction per tree, 0 < f <= 1
//	  growth: depthwise        # depthwise or lossguide
//	  max_leaves: 0            # lossguide: >= 2 required; depthwise: 0 (no limit) or >= 2
//	  early_stopping_rounds: 0 # 0 = off; > 0 needs validation_fraction > 0
//	features:
//	  - column: amount
//	    type: float            # float, int (numeric) or string (categorical); required
//	    name: amount           # output name; default the column
//	    transforms:            # applied in order; none = the number as is
//	      - impute: {strategy: median, indicator: true}  # mean (default), median, or constant with value: X
//	      - clip: {min: 0, max: 10000}                   # either bound may be left out
//	      - log1p                                        # a bare name, or log1p: {}
//	      - standardize
//	  - column: amount
//	    type: float
//	    name: amount_bin
//	    transforms:
//	      - bucketize: {bins: 10}                        # quantile bins, or edges: [10, 100, 1000]
//	  - column: income
//	    type: float
//	    transforms: [minmax]
//	  - column: country
//	    type: string
//	    transforms:                                      # exactly one encoding:
//	      - onehot: {min_frequency: 5, unknown: infrequent}  # unknown: error, zeros, infrequent, other
//	  - column: merchant
//	    type: string
//	    transforms:
//	      - ordinal: {unknown: value, unknown_value: -1}  # unknown: error or value
//	  - column: device
//	    type: string
//	    transforms:
//	      - hash: {buckets: 32}
//	  - cross: [country, device]                         # two string columns, hashed together
//	    buckets: 64
//	    name: country_x_device                           # default country_x_device
//
// What each transform computes is model/transform's package doc.
//
// Parsing is strict: an unknown key, an unknown transform, a transform on
// the wrong type (one-hot on a float feature, standardize on a string one),
// a feature name given twice, a column declared with two types, or the
// label used as a feature is an error naming the file, line and field
// ("train.yaml:14: features[2].transforms[0]: ..."). CheckColumns then
// checks the spec against a table's columns, naming the spec's line and
// the column.
//
// A Spec is plain data; Parse and CheckColumns are safe for concurrent use.
package spec

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/internal/yamlx"
	"github.com/predictd/predictd/model/transform"
)

// Tasks and model types.
const (
	TaskBinary     = "binary"
	TaskMulticlass = "multiclass"
	TaskRegression = "regression"
	TaskPoisson    = "poisson"

	ModelLogistic = "logistic"
	ModelRidge    = "ridge"
	ModelLinear   = "linear"
	ModelGBDT     = "gbdt"
)

// Spec is a parsed training spec.
type Spec struct {
	File               string
	Label              string
	LabelLine          int
	Task               string
	Seed               int64
	ValidationFraction float64
	Model              Model
	Features           []Feature
}

// Model is the model and its hyperparameters; fields not of Type keep
// their zero values. See the package doc for ranges and defaults.
type Model struct {
	Type string
	Line int

	// logistic
	C       float64
	Penalty string
	L1Ratio float64
	MaxIter int

	// ridge: Alpha is the L2 strength; gbdt: Alpha is L1 on leaf weights.
	Alpha float64

	// gbdt
	NTrees              int
	MaxDepth            int
	LearningRate        float64
	MaxBin              int
	Lambda              float64
	MinChildWeight      float64
	Subsample           float64
	Colsample           float64
	Growth              string
	MaxLeaves           int
	EarlyStoppingRounds int
}

// Feature is one feature of the spec: its declared type, where it is in
// the file, and the transform.Feature (spec fields only) it declares.
type Feature struct {
	// Type is float, int or string; a cross's columns are string.
	Type string
	// Line is the line of the feature's entry; ColumnLine that of its
	// column (or cross) key.
	Line, ColumnLine int
	Transform        transform.Feature
}

// Transforms are the features' transform.Features, for transform.NewFitter.
func (s *Spec) Transforms() []transform.Feature {
	out := make([]transform.Feature, len(s.Features))
	for i, f := range s.Features {
		out[i] = f.Transform
	}
	return out
}

type parser struct{ yamlx.Parser }

// Parse reads a spec; file names it in errors.
func Parse(data []byte, file string) (*Spec, error) {
	p := &parser{yamlx.Parser{File: file}}
	root, err := p.Root(data, "training spec")
	if err != nil {
		return nil, err
	}
	s := &Spec{File: file, ValidationFraction: 0.2}
	set := map[string]*yaml.Node{}
	var modelNode, featNode *yaml.Node
	err = p.Mapping(root, "spec", func(key string, k, v *yaml.Node) error {
		set[key] = v
		var err error
		switch key {
		case "label":
			s.Label, err = p.name(v, key)
			s.LabelLine = v.Line
		case "task":
			s.Task, err = p.oneOf(v, key, TaskBinary, TaskMulticlass, TaskRegression, TaskPoisson)
		case "seed":
			var x int
			x, err = p.int(v, key)
			s.Seed = int64(x)
		case "validation_fraction":
			s.ValidationFraction, err = p.number(v, key)
			if err == nil && !(s.ValidationFraction >= 0 && s.ValidationFraction < 1) {
				err = p.ErrAt(v, key, "%v: want 0 <= fraction < 1", s.ValidationFraction)
			}
		case "model":
			modelNode = v
		case "features":
			featNode = v
		default:
			err = p.ErrAt(k, key, "unknown key (want label, task, seed, validation_fraction, model, features)")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, key := range []string{"label", "task", "model", "features"} {
		if set[key] == nil {
			return nil, p.ErrAt(root, key, "missing")
		}
	}
	if s.Model, err = p.model(modelNode, s.Task); err != nil {
		return nil, err
	}
	if s.Model.EarlyStoppingRounds > 0 && s.ValidationFraction == 0 {
		return nil, p.ErrAt(set["validation_fraction"], "validation_fraction", "0, but model.early_stopping_rounds needs validation rows")
	}
	names := map[string]int{}
	colType := map[string]struct {
		typ  string
		line int
	}{}
	err = p.Sequence(featNode, "features", func(path string, n *yaml.Node) error {
		f, err := p.feature(n, path)
		if err != nil {
			return err
		}
		if line, dup := names[f.Transform.Name]; dup {
			return p.ErrAt(n, path+".name", "feature %s given twice (first on line %d); give one a different name", f.Transform.Name, line)
		}
		names[f.Transform.Name] = n.Line
		for _, c := range f.Transform.Columns {
			if c == s.Label {
				return p.ErrAt(n, path, "column %s is the label; a feature cannot read it", c)
			}
			if prev, ok := colType[c]; ok && kind(prev.typ) != kind(f.Type) {
				return p.ErrAt(n, path, "column %s is a %s here and a %s on line %d", c, f.Type, prev.typ, prev.line)
			}
			if _, ok := colType[c]; !ok {
				colType[c] = struct {
					typ  string
					line int
				}{f.Type, n.Line}
			}
		}
		s.Features = append(s.Features, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(s.Features) == 0 {
		return nil, p.ErrAt(featNode, "features", "empty")
	}
	if _, err := transform.NewFitter(s.Transforms()); err != nil {
		// model/transform's own checks (an output name given twice,
		// e.g. a feature "a_missing" beside a's indicator).
		msg := strings.TrimPrefix(err.Error(), "transform: features")
		if i, rest, ok := stepIndex(msg); ok && i < len(featNode.Content) {
			return nil, p.ErrAt(featNode.Content[i], "features["+strconv.Itoa(i)+"]", "%s", strings.TrimPrefix(rest, ": "))
		}
		return nil, p.ErrAt(featNode, "features", "%v", err)
	}
	return s, nil
}

func kind(typ string) string {
	if typ == "string" {
		return "string"
	}
	return "number"
}

func (p *parser) model(n *yaml.Node, task string) (Model, error) {
	m := Model{Line: n.Line}
	var typeNode *yaml.Node
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "type" {
				typeNode = n.Content[i+1]
			}
		}
	}
	if typeNode == nil {
		if n.Kind != yaml.MappingNode {
			return m, p.ErrAt(n, "model", "want a mapping, got %s", yamlx.KindName(n))
		}
		return m, p.ErrAt(n, "model.type", "missing (logistic, ridge, linear or gbdt)")
	}
	t, err := p.oneOf(typeNode, "model.type", ModelLogistic, ModelRidge, ModelLinear, ModelGBDT)
	if err != nil {
		return m, err
	}
	m.Type = t
	okTask := map[string][]string{
		ModelLogistic: {TaskBinary, TaskMulticlass},
		ModelRidge:    {TaskRegression},
		ModelLinear:   {TaskRegression},
		ModelGBDT:     {TaskBinary, TaskMulticlass, TaskRegression, TaskPoisson},
	}[t]
	if !contains(okTask, task) {
		return m, p.ErrAt(typeNode, "model.type", "%s cannot fit task %s (it fits %s)", t, task, strings.Join(okTask, ", "))
	}
	keys := map[string][]string{
		ModelLogistic: {"c", "penalty", "l1_ratio", "max_iter"},
		ModelRidge:    {"alpha"},
		ModelLinear:   {},
		ModelGBDT: {"n_trees", "max_depth", "learning_rate", "max_bin", "lambda", "alpha", "min_child_weight",
			"subsample", "colsample", "growth", "max_leaves", "early_stopping_rounds"},
	}[t]
	switch t {
	case ModelLogistic:
		m.C, m.Penalty, m.MaxIter = 1, "l2", 100
	case ModelRidge:
		m.Alpha = 1
	case ModelGBDT:
		m.NTrees, m.MaxDepth, m.LearningRate, m.MaxBin, m.Lambda = 100, 6, 0.3, 255, 1
		m.MinChildWeight, m.Subsample, m.Colsample, m.Growth = 1, 1, 1, "depthwise"
	}
	set := map[string]*yaml.Node{}
	err = p.Mapping(n, "model", func(key string, k, v *yaml.Node) error {
		fp := "model." + key
		set[key] = v
		if key == "type" {
			return nil
		}
		if !contains(keys, key) {
			want := "no other keys"
			if len(keys) > 0 {
				want = "want type, " + strings.Join(keys, ", ")
			}
			return p.ErrAt(k, fp, "unknown key for model type %s (%s)", t, want)
		}
		var err error
		pos := func(x float64, zeroOK bool) error {
			if err == nil && !(x > 0 || zeroOK && x == 0) {
				want := "> 0"
				if zeroOK {
					want = ">= 0"
				}
				return p.ErrAt(v, fp, "%v: want %s", x, want)
			}
			return err
		}
		frac := func(x float64) error {
			if err == nil && !(x > 0 && x <= 1) {
				return p.ErrAt(v, fp, "%v: want 0 < fraction <= 1", x)
			}
			return err
		}
		intMin := func(x, lo int) error {
			if err == nil && x < lo {
				return p.ErrAt(v, fp, "%d: want >= %d", x, lo)
			}
			return err
		}
		switch key {
		case "c":
			m.C, err = p.number(v, fp)
			err = pos(m.C, false)
		case "penalty":
			m.Penalty, err = p.oneOf(v, fp, "l2", "l1", "elasticnet", "none")
		case "l1_ratio":
			m.L1Ratio, err = p.number(v, fp)
			if err == nil && !(m.L1Ratio >= 0 && m.L1Ratio <= 1) {
				err = p.ErrAt(v, fp, "%v: want 0 to 1", m.L1Ratio)
			}
		case "max_iter":
			m.MaxIter, err = p.int(v, fp)
			err = intMin(m.MaxIter, 1)
		case "alpha":
			m.Alpha, err = p.number(v, fp)
			err = pos(m.Alpha, true)
		case "n_trees":
			m.NTrees, err = p.int(v, fp)
			err = intMin(m.NTrees, 1)
		case "max_depth":
			m.MaxDepth, err = p.int(v, fp)
			err = intMin(m.MaxDepth, 0)
		case "learning_rate":
			m.LearningRate, err = p.number(v, fp)
			err = pos(m.LearningRate, false)
		case "max_bin":
			m.MaxBin, err = p.int(v, fp)
			if err == nil && (m.MaxBin < 2 || m.MaxBin > 255) {
				err = p.ErrAt(v, fp, "%d: want 2 to 255 (the bins of a feature's values; missing values take one more)", m.MaxBin)
			}
		case "lambda":
			m.Lambda, err = p.number(v, fp)
			err = pos(m.Lambda, true)
		case "min_child_weight":
			m.MinChildWeight, err = p.number(v, fp)
			err = pos(m.MinChildWeight, true)
		case "subsample":
			m.Subsample, err = p.number(v, fp)
			err = frac(m.Subsample)
		case "colsample":
			m.Colsample, err = p.number(v, fp)
			err = frac(m.Colsample)
		case "growth":
			m.Growth, err = p.oneOf(v, fp, "depthwise", "lossguide")
		case "max_leaves":
			m.MaxLeaves, err = p.int(v, fp)
			if err == nil && (m.MaxLeaves < 0 || m.MaxLeaves == 1) {
				err = p.ErrAt(v, fp, "%d: want 0 (no limit) or >= 2", m.MaxLeaves)
			}
		case "early_stopping_rounds":
			m.EarlyStoppingRounds, err = p.int(v, fp)
			err = intMin(m.EarlyStoppingRounds, 0)
		}
		return err
	})
	if err != nil {
		return m, err
	}
	if t == ModelLogistic {
		if set["l1_ratio"] != nil && m.Penalty != "elasticnet" {
			return m, p.ErrAt(set["l1_ratio"], "model.l1_ratio", "only for penalty elasticnet (penalty is %s)", m.Penalty)
		}
		if m.Penalty == "elasticnet" && set["l1_ratio"] == nil {
			return m, p.ErrAt(set["penalty"], "model.penalty", "elasticnet needs l1_ratio")
		}
	}
	if t == ModelGBDT {
		if m.Growth == "lossguide" && m.MaxLeaves == 0 {
			return m, p.ErrAt(n, "model.max_leaves", "missing: growth lossguide needs max_leaves >= 2")
		}
		if m.Growth == "depthwise" && m.MaxDepth == 0 {
			return m, p.ErrAt(set["max_depth"], "model.max_depth", "0 (no limit) only with growth lossguide")
		}
	}
	return m, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var numericOps = []string{"impute", "clip", "log1p", "standardize", "minmax", "bucketize"}
var stringOps = []string{"onehot", "ordinal", "hash"}

func (p *parser) feature(n *yaml.Node, path string) (Feature, error) {
	f := Feature{Line: n.Line}
	tf := &f.Transform
	set := map[string]*yaml.Node{}
	var trNode *yaml.Node
	var buckets int
	err := p.Mapping(n, path, func(key string, k, v *yaml.Node) error {
		fp := path + "." + key
		set[key] = v
		var err error
		switch key {
		case "column":
			var c string
			c, err = p.name(v, fp)
			tf.Columns = []string{c}
			f.ColumnLine = k.Line
		case "cross":
			f.ColumnLine = k.Line
			err = p.Sequence(v, fp, func(ip string, e *yaml.Node) error {
				c, err := p.name(e, ip)
				tf.Columns = append(tf.Columns, c)
				return err
			})
			if err == nil && len(tf.Columns) != 2 {
				err = p.ErrAt(v, fp, "%d columns, want 2", len(tf.Columns))
			}
			if err == nil && tf.Columns[0] == tf.Columns[1] {
				err = p.ErrAt(v, fp, "column %s crossed with itself", tf.Columns[0])
			}
		case "type":
			f.Type, err = p.oneOf(v, fp, "float", "int", "string")
		case "name":
			tf.Name, err = p.name(v, fp)
		case "transforms":
			trNode = v
		case "buckets":
			buckets, err = p.int(v, fp)
			if err == nil && (buckets < 1 || buckets > transform.MaxBuckets) {
				err = p.ErrAt(v, fp, "%d: want 1 to %d", buckets, transform.MaxBuckets)
			}
		default:
			err = p.ErrAt(k, fp, "unknown key (want column, type, name, transforms; or cross, buckets, name)")
		}
		return err
	})
	if err != nil {
		return f, err
	}
	if set["cross"] != nil {
		for _, k := range []string{"column", "type", "transforms"} {
			if set[k] != nil {
				return f, p.ErrAt(set[k], path+"."+k, "not a key of a cross (want cross, buckets, name)")
			}
		}
		if set["buckets"] == nil {
			return f, p.ErrAt(n, path+".buckets", "missing (a cross hashes into buckets columns)")
		}
		f.Type = "string"
		if tf.Name == "" {
			tf.Name = tf.Columns[0] + "_x_" + tf.Columns[1]
		}
		tf.Encode = &transform.Encoding{Op: transform.EncCross, Buckets: buckets}
		return f, nil
	}
	if set["column"] == nil {
		return f, p.ErrAt(n, path, "missing column (or cross)")
	}
	if set["buckets"] != nil {
		return f, p.ErrAt(set["buckets"], path+".buckets", "only for a cross (hash takes buckets in its transform)")
	}
	if set["type"] == nil {
		return f, p.ErrAt(n, path+".type", "missing (float, int or string)")
	}
	if tf.Name == "" {
		tf.Name = tf.Columns[0]
	}
	if trNode == nil {
		if f.Type == "string" {
			return f, p.ErrAt(n, path+".transforms", "missing: a string feature needs one of %s", strings.Join(stringOps, ", "))
		}
		return f, nil
	}
	err = p.Sequence(trNode, path+".transforms", func(tp string, e *yaml.Node) error {
		op, params, err := p.transformEntry(e, tp)
		if err != nil {
			return err
		}
		isNum, isStr := contains(numericOps, op), contains(stringOps, op)
		switch {
		case !isNum && !isStr:
			return p.ErrAt(e, tp, "unknown transform %s (want %s for numbers; %s for strings)", op, strings.Join(numericOps, ", "), strings.Join(stringOps, ", "))
		case isStr && f.Type != "string":
			return p.ErrAt(e, tp, "%s encodes strings, but %s is declared type %s (bucketize a number, or declare type string)", op, tf.Columns[0], f.Type)
		case isNum && f.Type == "string":
			return p.ErrAt(e, tp, "%s is for numbers, but %s is declared type string", op, tf.Columns[0])
		case isStr && tf.Encode != nil:
			return p.ErrAt(e, tp, "a second encoding (%s after %s); a string feature takes exactly one", op, tf.Encode.Op)
		}
		if isStr {
			enc, err := p.encoding(op, params, tp)
			tf.Encode = enc
			return err
		}
		st, err := p.step(op, params, tp)
		tf.Steps = append(tf.Steps, st)
		return err
	})
	if err != nil {
		return f, err
	}
	if f.Type == "string" && tf.Encode == nil {
		return f, p.ErrAt(trNode, path+".transforms", "a string feature needs one of %s", strings.Join(stringOps, ", "))
	}
	// model/transform's checks (two imputes, clip min above max, ...),
	// at the feature's line.
	// A "steps[i].field: ..." error is placed at transforms[i]'s line.
	if err := transform.CheckSpec(*tf); err != nil {
		msg := strings.TrimPrefix(err.Error(), "transform: feature")
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "."), "steps")
		at, field := trNode, path+".transforms"
		if i, rest, ok := stepIndex(msg); ok && i < len(trNode.Content) {
			at, field, msg = trNode.Content[i], field+"["+strconv.Itoa(i)+"]", rest
		}
		return f, p.ErrAt(at, field, "%s", strings.TrimPrefix(strings.TrimPrefix(msg, "."), ": "))
	}
	return f, nil
}

// stepIndex splits "[3].max: ..." into 3 and ".max: ...".
func stepIndex(msg string) (int, string, bool) {
	if !strings.HasPrefix(msg, "[") {
		return 0, msg, false
	}
	end := strings.IndexByte(msg, ']')
	if end < 0 {
		return 0, msg, false
	}
	i, err := strconv.Atoi(msg[1:end])
	return i, msg[end+1:], err == nil && i >= 0
}

// transformEntry reads a transform: a bare name, or a one-key mapping
// from the name to its parameters (a mapping, or null / {} for none).
func (p *parser) transformEntry(e *yaml.Node, path string) (string, *yaml.Node, error) {
	switch e.Kind {
	case yaml.ScalarNode:
		return e.Value, nil, nil
	case yaml.MappingNode:
		if len(e.Content) != 2 {
			return "", nil, p.ErrAt(e, path, "want one transform name as the key, got %d keys", len(e.Content)/2)
		}
		k, v := e.Content[0], e.Content[1]
		if k.Kind != yaml.ScalarNode {
			return "", nil, p.ErrAt(k, path, "want a transform name, got %s", yamlx.KindName(k))
		}
		if v.Kind == yaml.ScalarNode && (v.Tag == "!!null" || v.Value == "") {
			return k.Value, nil, nil
		}
		return k.Value, v, nil
	}
	return "", nil, p.ErrAt(e, path, "want a transform (a name, or name: {params}), got %s", yamlx.KindName(e))
}

// params walks a transform's parameter mapping (nil for none), offering
// only the allowed keys.
func (p *parser) params(op string, n *yaml.Node, path string, allowed []string, f func(key string, v *yaml.Node, fp string) error) error {
	if n == nil {
		return nil
	}
	return p.Mapping(n, path+"."+op, func(key string, k, v *yaml.Node) error {
		fp := path + "." + op + "." + key
		if !contains(allowed, key) {
			want := "it takes no parameters"
			if len(allowed) > 0 {
				want = "want " + strings.Join(allowed, ", ")
			}
			return p.ErrAt(k, fp, "unknown parameter of %s (%s)", op, want)
		}
		return f(key, v, fp)
	})
}

func (p *parser) step(op string, n *yaml.Node, path string) (transform.Step, error) {
	st := transform.Step{Op: op}
	var err error
	switch op {
	case "impute":
		var valueNode *yaml.Node
		err = p.params(op, n, path, []string{"strategy", "value", "indicator"}, func(key string, v *yaml.Node, fp string) error {
			var err error
			switch key {
			case "strategy":
				st.Strategy, err = p.oneOf(v, fp, "mean", "median", "constant")
			case "value":
				valueNode = v
				st.Fill, err = p.number(v, fp)
			case "indicator":
				st.Indicator, err = p.bool(v, fp)
			}
			return err
		})
		if err != nil {
			return st, err
		}
		if st.Strategy == "" {
			st.Strategy = "mean"
		}
		// n is not nil here: without parameters the strategy is mean.
		if (st.Strategy == "constant") != (valueNode != nil) {
			at := n
			if valueNode != nil {
				at = valueNode
			}
			return st, p.ErrAt(at, path+".impute.value", "value goes with strategy constant, and only with it (strategy is %s)", st.Strategy)
		}
	case "clip":
		err = p.params(op, n, path, []string{"min", "max"}, func(key string, v *yaml.Node, fp string) error {
			x, err := p.number(v, fp)
			if key == "min" {
				st.Min = &x
			} else {
				st.Max = &x
			}
			return err
		})
	case "bucketize":
		err = p.params(op, n, path, []string{"bins", "edges"}, func(key string, v *yaml.Node, fp string) error {
			if key == "bins" {
				var err error
				st.Bins, err = p.int(v, fp)
				if err == nil && (st.Bins < 2 || st.Bins > transform.MaxBuckets) {
					err = p.ErrAt(v, fp, "%d: want 2 to %d", st.Bins, transform.MaxBuckets)
				}
				return err
			}
			st.Edges = []float64{}
			return p.Sequence(v, fp, func(ip string, e *yaml.Node) error {
				x, err := p.number(e, ip)
				if err == nil && len(st.Edges) > 0 && x <= st.Edges[len(st.Edges)-1] {
					err = p.ErrAt(e, ip, "%v: want above the edge before it (%v)", x, st.Edges[len(st.Edges)-1])
				}
				st.Edges = append(st.Edges, x)
				return err
			})
		})
		if err == nil && (st.Bins > 0) == (st.Edges != nil) {
			at := n
			if at == nil {
				at = &yaml.Node{}
			}
			return st, p.ErrAt(at, path+".bucketize", "want bins or edges (one of them)")
		}
		if err == nil && st.Edges != nil && len(st.Edges) == 0 {
			return st, p.ErrAt(n, path+".bucketize.edges", "empty")
		}
	default: // log1p, standardize, minmax: no parameters
		err = p.params(op, n, path, nil, nil)
	}
	return st, err
}

func (p *parser) encoding(op string, n *yaml.Node, path string) (*transform.Encoding, error) {
	e := &transform.Encoding{Op: op}
	var allowed []string
	switch op {
	case "onehot":
		allowed = []string{"min_frequency", "unknown"}
	case "ordinal":
		allowed = []string{"unknown", "unknown_value"}
	case "hash":
		allowed = []string{"buckets"}
	}
	var uvNode *yaml.Node
	err := p.params(op, n, path, allowed, func(key string, v *yaml.Node, fp string) error {
		var err error
		switch key {
		case "min_frequency":
			e.MinFrequency, err = p.int(v, fp)
			if err == nil && e.MinFrequency < 1 {
				err = p.ErrAt(v, fp, "%d: want >= 1", e.MinFrequency)
			}
		case "unknown":
			if op == "onehot" {
				e.Unknown, err = p.oneOf(v, fp, "error", "zeros", "infrequent", "other")
			} else {
				e.Unknown, err = p.oneOf(v, fp, "error", "value")
			}
		case "unknown_value":
			uvNode = v
			e.UnknownValue, err = p.number(v, fp)
		case "buckets":
			e.Buckets, err = p.int(v, fp)
			if err == nil && (e.Buckets < 1 || e.Buckets > transform.MaxBuckets) {
				err = p.ErrAt(v, fp, "%d: want 1 to %d", e.Buckets, transform.MaxBuckets)
			}
		}
		return err
	})
	if err != nil {
		return e, err
	}
	at := n
	if at == nil {
		at = &yaml.Node{}
	}
	if op == "hash" && e.Buckets == 0 {
		return e, p.ErrAt(at, path+".hash.buckets", "missing")
	}
	if op == "ordinal" && (e.Unknown == "value") != (uvNode != nil) {
		return e, p.ErrAt(at, path+".ordinal.unknown_value", "goes with unknown: value, and only with it")
	}
	return e, nil
}

func (p *parser) name(v *yaml.Node, path string) (string, error) {
	s, err := p.Scalar(v, path)
	if err == nil && strings.TrimSpace(s) == "" {
		err = p.ErrAt(v, path, "empty")
	}
	return s, err
}

func (p *parser) oneOf(v *yaml.Node, path string, allowed ...string) (string, error) {
	s, err := p.Scalar(v, path)
	if err == nil && !contains(allowed, s) {
		err = p.ErrAt(v, path, "%s: want %s", strconv.Quote(s), strings.Join(allowed, ", "))
	}
	return s, err
}

func (p *parser) number(v *yaml.Node, path string) (float64, error) {
	s, err := p.Scalar(v, path)
	if err != nil {
		return 0, err
	}
	x, perr := strconv.ParseFloat(s, 64)
	if perr != nil || math.IsNaN(x) || math.IsInf(x, 0) || v.Tag == "!!str" && v.Style != 0 {
		return 0, p.ErrAt(v, path, "%s: want a finite number", yamlx.KindName(v))
	}
	return x, nil
}

func (p *parser) int(v *yaml.Node, path string) (int, error) {
	s, err := p.Scalar(v, path)
	if err != nil {
		return 0, err
	}
	x, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil || x != int64(int(x)) || v.Style != 0 {
		return 0, p.ErrAt(v, path, "%s: want an integer", yamlx.KindName(v))
	}
	return int(x), nil
}

func (p *parser) bool(v *yaml.Node, path string) (bool, error) {
	s, err := p.Scalar(v, path)
	if err != nil {
		return false, err
	}
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, p.ErrAt(v, path, "%s: want true or false", yamlx.KindName(v))
}

// CheckColumns checks the spec against a table's columns: the label and
// every feature's columns must be there, with a type the feature can read.
// A numeric (float, int) feature reads a Float, Int or Bool column, or a
// String one (a CSV column is always String: its cells are parsed when
// read, and a cell that is not a number is an error then, naming its
// line); a string feature reads a String, Int or Bool column (a Float
// column is refused: bucketize it as a number). A Time column is refused
// for both; the label may be any type but Time. Errors name the spec's
// file and line and the column.
func (s *Spec) CheckColumns(cols []table.Column) error {
	byName := make(map[string]table.Type, len(cols))
	for _, c := range cols {
		byName[c.Name] = c.Type
	}
	missing := func(line int, field, col string) error {
		names := make([]string, 0, len(cols))
		for _, c := range cols {
			names = append(names, c.Name)
		}
		sort.Strings(names)
		list := strings.Join(names, ", ")
		if len(list) > 200 {
			list = list[:200] + "..."
		}
		return fmt.Errorf("%s:%d: %s: no column %s in the table (columns: %s)", s.File, line, field, strconv.Quote(col), list)
	}
	typ, ok := byName[s.Label]
	if !ok {
		return missing(s.LabelLine, "label", s.Label)
	}
	if typ == table.Time {
		return fmt.Errorf("%s:%d: label: column %s is a time; want a number or a class", s.File, s.LabelLine, s.Label)
	}
	for i, f := range s.Features {
		path := "features[" + strconv.Itoa(i) + "]"
		field := path + ".column"
		if len(f.Transform.Columns) == 2 {
			field = path + ".cross"
		}
		for _, c := range f.Transform.Columns {
			t, ok := byName[c]
			if !ok {
				return missing(f.ColumnLine, field, c)
			}
			var good bool
			if f.Type == "string" {
				good = t == table.String || t == table.Int || t == table.Bool
			} else {
				good = t == table.Float || t == table.Int || t == table.Bool || t == table.String
			}
			if !good {
				return fmt.Errorf("%s:%d: %s: column %s is %s in the table, and the spec reads it as %s", s.File, f.ColumnLine, field, c, t, f.Type)
			}
		}
	}
	return nil
}
