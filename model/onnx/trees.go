package onnx

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// The ai.onnx.ml tree ensembles (TreeEnsembleClassifier and
// TreeEnsembleRegressor, opsets 1 and 3) as predictd forests.
//
// Splits. ONNX Runtime compares the float32 input with the threshold (a
// float32, or a double from nodes_values_as_tensor) and scikit-learn casts
// X to float32 for its trees; the forest uses kernels.LessFloat32 (x,
// rounded to float32, goes left when below a float32 bound), so every mode
// becomes "x < b" with b chosen to keep the same rows on the true side:
//
//	BRANCH_LT  t   true when x < b, b the least float32 >= t
//	BRANCH_LEQ t   true when x < b, b the float32 after the greatest float32 <= t
//	BRANCH_GTE t   true unless x < b, b as for BRANCH_LT
//	BRANCH_GT  t   true unless x < b, b as for BRANCH_LEQ
//	BRANCH_EQ  t   two splits, x < t then x < next(t); the false subtree is
//	               copied to both sides
//	BRANCH_NEQ t   BRANCH_EQ with the branches exchanged
//
// Over a DOUBLE input (treeEnsembleDouble) the forest compares float64
// values instead (kernels.LessEqFloat64, "x <= b"): LEQ and GT use t, LT
// and GTE the double before t, EQ the splits x <= prev(t) and x <= t.
//
// A missing value (NaN) goes to the true branch when the node's
// nodes_missing_value_tracks_true is 1, otherwise where ONNX Runtime's
// comparison sends it: every comparison with NaN is false, except != which
// is true (FlagDefaultLeft says which of the two children that is).
//
// Outputs. A leaf's weights for a class (or target) are summed into that
// class's margin; a tree whose leaves carry weights for several classes
// (a random forest) becomes one tree per class, of the same shape, each in
// its class's group. base_values are each group's base score. The
// regressor's AVERAGE divides by the number of trees (model.Trees.Divide,
// with the base scores multiplied by it so that they are added, not
// averaged). See classifierOutputs for the classifier layouts.

// ensemble is a converted tree-ensemble node.
type ensemble struct {
	Trees   *model.Trees // validated (Validate ok), not Prepared
	Task    model.Task   // binary, multiclass or regression
	Classes int          // multiclass class count, else 0
	Labels  []string     // classifier labels in classlabels order (int64 labels formatted base 10); nil for regressors
	Targets int          // regressor n_targets (1 usually)
}

const (
	opTreeClassifier = "TreeEnsembleClassifier"
	opTreeRegressor  = "TreeEnsembleRegressor"
)

// maxCopiedNodes bounds the nodes an ensemble gains when BRANCH_EQ/NEQ
// splits and shared subtrees are copied out (each BRANCH_EQ copies its
// false subtree; a chain of them doubles per level), so that a small file
// cannot ask for an exponential forest.
const maxCopiedNodes = 1 << 20

var errTooManyCopies = fmt.Sprintf("copying out BRANCH_EQ/BRANCH_NEQ splits and shared subtrees adds more than %d nodes to the ensemble", maxCopiedNodes)

// maxTreeTargets bounds a regressor's n_targets (each is an output group
// with its own base score).
const maxTreeTargets = 1 << 16

// AttributeProto.AttributeType values the tree ensembles use.
const (
	atFloat   = 1
	atInt     = 2
	atString  = 3
	atTensor  = 4
	atFloats  = 6
	atInts    = 7
	atStrings = 8
)

var treeCommonAttrs = map[string]int64{
	"nodes_treeids": atInts, "nodes_nodeids": atInts, "nodes_featureids": atInts,
	"nodes_modes": atStrings, "nodes_values": atFloats, "nodes_values_as_tensor": atTensor,
	"nodes_truenodeids": atInts, "nodes_falsenodeids": atInts,
	"nodes_missing_value_tracks_true": atInts,
	"nodes_hitrates":                  atFloats, "nodes_hitrates_as_tensor": atTensor,
	"post_transform": atString, "base_values": atFloats, "base_values_as_tensor": atTensor,
}

var treeOpAttrs = map[string]map[string]int64{
	opTreeClassifier: {
		"class_treeids": atInts, "class_nodeids": atInts, "class_ids": atInts,
		"class_weights": atFloats, "class_weights_as_tensor": atTensor,
		"classlabels_int64s": atInts, "classlabels_strings": atStrings,
	},
	opTreeRegressor: {
		"n_targets": atInt, "aggregate_function": atString,
		"target_treeids": atInts, "target_nodeids": atInts, "target_ids": atInts,
		"target_weights": atFloats, "target_weights_as_tensor": atTensor,
	},
}

// treeAttrs reads a tree ensemble's attributes, each checked for its type.
type treeAttrs struct {
	n      *nodeProto
	byName map[string]*attribute
}

func newTreeAttrs(n *nodeProto) (*treeAttrs, error) {
	own := treeOpAttrs[n.opType]
	a := &treeAttrs{n: n, byName: make(map[string]*attribute, len(n.attrs))}
	for i := range n.attrs {
		at := &n.attrs[i]
		want, ok := treeCommonAttrs[at.name]
		if !ok {
			want, ok = own[at.name]
		}
		if !ok {
			return nil, fmt.Errorf("%s: attribute %s is not one of %s's (known: %s)", ref(n), model.Quote(at.name), n.opType, knownTreeAttrs(own))
		}
		if _, dup := a.byName[at.name]; dup {
			return nil, fmt.Errorf("%s: attribute %s is set twice", ref(n), at.name)
		}
		if at.typ != 0 && at.typ != want {
			return nil, fmt.Errorf("%s: attribute %s has type %s, want %s", ref(n), at.name, attrTypeName(at.typ), attrTypeName(want))
		}
		a.byName[at.name] = at
	}
	return a, nil
}

func knownTreeAttrs(own map[string]int64) string {
	var names []string
	for k := range treeCommonAttrs {
		names = append(names, k)
	}
	for k := range own {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func attrTypeName(t int64) string {
	switch t {
	case atFloat:
		return "FLOAT"
	case atInt:
		return "INT"
	case atString:
		return "STRING"
	case atTensor:
		return "TENSOR"
	case atFloats:
		return "FLOATS"
	case atInts:
		return "INTS"
	case atStrings:
		return "STRINGS"
	}
	return strconv.FormatInt(t, 10)
}

func (a *treeAttrs) has(name string) bool { return a.byName[name] != nil }

func (a *treeAttrs) ints(name string) []int64 {
	if at := a.byName[name]; at != nil {
		return at.ints
	}
	return nil
}

func (a *treeAttrs) strings(name string) []string {
	if at := a.byName[name]; at != nil {
		return at.strings
	}
	return nil
}

func (a *treeAttrs) str(name, def string) (string, error) {
	at := a.byName[name]
	if at == nil {
		return def, nil
	}
	if !at.hasS {
		return "", fmt.Errorf("%s: attribute %s has no string value", ref(a.n), name)
	}
	return at.s, nil
}

// floats reads name (FLOATS) or name_as_tensor (a FLOAT or DOUBLE tensor,
// opset 3); at most one may be set. NaN is refused, and infinities unless
// inf is set.
func (a *treeAttrs) floats(name string, inf bool) ([]float64, error) {
	plain, tens := a.byName[name], a.byName[name+"_as_tensor"]
	var out []float64
	which := name
	switch {
	case plain != nil && tens != nil:
		return nil, fmt.Errorf("%s: both %s and %s_as_tensor are set; the spec allows one", ref(a.n), name, name)
	case plain != nil:
		out = make([]float64, len(plain.floats))
		for i, v := range plain.floats {
			out[i] = float64(v)
		}
	case tens != nil:
		which = name + "_as_tensor"
		if tens.t == nil {
			return nil, fmt.Errorf("%s: attribute %s has no tensor value", ref(a.n), which)
		}
		v, err := tens.t.float64s()
		if err != nil {
			return nil, fmt.Errorf("%s: attribute %s: %w", ref(a.n), which, err)
		}
		out = v
	}
	for i, v := range out {
		if math.IsNaN(v) || (!inf && math.IsInf(v, 0)) {
			return nil, fmt.Errorf("%s: attribute %s[%d] is %v", ref(a.n), which, i, v)
		}
	}
	return out, nil
}

// treeNode is one entry of the nodes_* attributes.
type treeNode struct {
	tree, id    int64
	feature     int64
	mode        string
	value       float64
	yes, no     int64 // true and false child ids
	nanYes      bool  // nodes_missing_value_tracks_true
	weights     []leafWeight
	firstOfTree bool
}

type leafWeight struct {
	class int
	w     float64
}

// treeOutput says how one output group's margin is formed from the
// per-class weights: the sum over terms of sign × class weight.
type treeOutput []outputTerm

type outputTerm struct {
	class int
	sign  float64
}

// treeEnsemble converts n (op TreeEnsembleClassifier or
// TreeEnsembleRegressor, domain ai.onnx.ml) over nFeatures input columns
// of a FLOAT input: its splits round each value to float32 before
// comparing, as ONNX Runtime sees a float32 tensor. Every attribute is
// checked; the error names the node, the attribute and, for a tree's
// structure, the tree and node ids.
func treeEnsemble(n *nodeProto, nFeatures int) (*ensemble, error) {
	return convertTreeEnsemble(n, nFeatures, false)
}

// treeEnsembleDouble is treeEnsemble for a DOUBLE input: the splits
// compare the float64 values (kernels.LessEqFloat64), as ONNX Runtime does
// for a double tensor.
func treeEnsembleDouble(n *nodeProto, nFeatures int) (*ensemble, error) {
	return convertTreeEnsemble(n, nFeatures, true)
}

func convertTreeEnsemble(n *nodeProto, nFeatures int, double bool) (*ensemble, error) {
	if n.domain != mlDomain || (n.opType != opTreeClassifier && n.opType != opTreeRegressor) {
		return nil, fmt.Errorf("%s: not a %s TreeEnsembleClassifier or TreeEnsembleRegressor", ref(n), mlDomain)
	}
	if nFeatures <= 0 {
		return nil, fmt.Errorf("%s: the input has %d features, want at least 1", ref(n), nFeatures)
	}
	a, err := newTreeAttrs(n)
	if err != nil {
		return nil, err
	}
	nodes, index, err := readTreeNodes(a, nFeatures)
	if err != nil {
		return nil, err
	}
	classifier := n.opType == opTreeClassifier
	prefix := "target_"
	if classifier {
		prefix = "class_"
	}
	post, err := a.str("post_transform", "NONE")
	if err != nil {
		return nil, err
	}
	base, err := a.floats("base_values", false)
	if err != nil {
		return nil, err
	}

	e := &ensemble{}
	var width int // classes or targets
	if classifier {
		if e.Labels, err = treeLabels(a); err != nil {
			return nil, err
		}
		width = len(e.Labels)
	} else {
		at := a.byName["n_targets"]
		if at == nil || !at.hasI {
			return nil, fmt.Errorf("%s: attribute n_targets is missing", ref(n))
		}
		if at.i < 1 || at.i > maxTreeTargets {
			return nil, fmt.Errorf("%s: n_targets is %d, want a positive number up to %d", ref(n), at.i, maxTreeTargets)
		}
		width = int(at.i)
		e.Targets = width
	}
	used, allPositive, err := readLeafWeights(a, prefix, width, nodes, index)
	if err != nil {
		return nil, err
	}

	trees := &model.Trees{Scale: 1, Divide: 1}
	var outs []treeOutput
	if classifier {
		outs, err = classifierOutputs(n, e, trees, post, base, used, allPositive)
	} else {
		outs, err = regressorOutputs(a, e, trees, post, base)
	}
	if err != nil {
		return nil, err
	}

	f := &trees.Forest
	f.NumFeatures = nFeatures
	f.Compare = kernels.LessFloat32
	if double {
		f.Compare = kernels.LessEqFloat64
	}
	f.Base = make([]float64, len(outs))
	for g, out := range outs {
		for _, term := range out {
			if term.class < len(base) {
				f.Base[g] += term.sign * base[term.class]
			}
		}
	}
	nTrees, err := appendTrees(n, f, nodes, index, outs, double)
	if err != nil {
		return nil, err
	}
	if trees.Divide != 1 { // AVERAGE: the base is added after the division
		trees.Divide = float64(nTrees)
		for g := range f.Base {
			f.Base[g] *= trees.Divide
		}
	}
	if err := trees.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", ref(n), err)
	}
	e.Trees = trees
	return e, nil
}

// readTreeNodes reads the nodes_* attributes and indexes the nodes by
// (tree id, node id).
func readTreeNodes(a *treeAttrs, nFeatures int) ([]treeNode, map[[2]int64]int, error) {
	n := a.n
	treeIDs := a.ints("nodes_treeids")
	count := len(treeIDs)
	if count == 0 {
		return nil, nil, fmt.Errorf("%s: attribute nodes_treeids is empty: the ensemble has no nodes", ref(n))
	}
	values, err := a.floats("nodes_values", true)
	if err != nil {
		return nil, nil, err
	}
	lists := []struct {
		name string
		n    int
	}{
		{"nodes_nodeids", len(a.ints("nodes_nodeids"))},
		{"nodes_featureids", len(a.ints("nodes_featureids"))},
		{"nodes_modes", len(a.strings("nodes_modes"))},
		{"nodes_values", len(values)},
		{"nodes_truenodeids", len(a.ints("nodes_truenodeids"))},
		{"nodes_falsenodeids", len(a.ints("nodes_falsenodeids"))},
	}
	for _, l := range lists {
		if l.n != count {
			return nil, nil, fmt.Errorf("%s: attribute %s has %d values, nodes_treeids %d; want one per node", ref(n), l.name, l.n, count)
		}
	}
	tracks := a.ints("nodes_missing_value_tracks_true")
	if len(tracks) != 0 && len(tracks) != count {
		return nil, nil, fmt.Errorf("%s: attribute nodes_missing_value_tracks_true has %d values for %d nodes; want one per node, or none", ref(n), len(tracks), count)
	}
	ids, feats, modes := a.ints("nodes_nodeids"), a.ints("nodes_featureids"), a.strings("nodes_modes")
	yes, no := a.ints("nodes_truenodeids"), a.ints("nodes_falsenodeids")

	nodes := make([]treeNode, count)
	index := make(map[[2]int64]int, count)
	done := map[int64]bool{} // trees whose run of nodes has ended
	for i := range nodes {
		nd := &nodes[i]
		nd.tree, nd.id, nd.feature, nd.mode = treeIDs[i], ids[i], feats[i], modes[i]
		nd.value, nd.yes, nd.no = values[i], yes[i], no[i]
		where := fmt.Sprintf("tree %d node %d", nd.tree, nd.id)
		if len(tracks) > 0 {
			switch tracks[i] {
			case 0:
			case 1:
				nd.nanYes = true
			default:
				return nil, nil, fmt.Errorf("%s: %s: nodes_missing_value_tracks_true is %d, want 0 or 1", ref(n), where, tracks[i])
			}
		}
		key := [2]int64{nd.tree, nd.id}
		if _, dup := index[key]; dup {
			return nil, nil, fmt.Errorf("%s: %s is listed twice", ref(n), where)
		}
		index[key] = i
		if i == 0 || treeIDs[i-1] != nd.tree {
			// ONNX Runtime starts a tree at each run of one tree id; a
			// tree listed in two runs would be read as two trees.
			if done[nd.tree] {
				return nil, nil, fmt.Errorf("%s: the nodes of tree %d are not listed together (node %d follows other trees' nodes); list each tree's nodes in one run", ref(n), nd.tree, nd.id)
			}
			done[nd.tree] = true
			nd.firstOfTree = true
		}
		switch nd.mode {
		case "LEAF":
			continue
		case "BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ":
		default:
			return nil, nil, fmt.Errorf("%s: %s: unknown mode %s (known: BRANCH_LEQ, BRANCH_LT, BRANCH_GTE, BRANCH_GT, BRANCH_EQ, BRANCH_NEQ, LEAF)", ref(n), where, model.Quote(nd.mode))
		}
		if nd.feature < 0 || nd.feature >= int64(nFeatures) {
			return nil, nil, fmt.Errorf("%s: %s splits on feature %d, but the input has %d features", ref(n), where, nd.feature, nFeatures)
		}
	}
	for i := range nodes {
		nd := &nodes[i]
		if nd.mode == "LEAF" {
			continue
		}
		for _, c := range [2]struct {
			which string
			id    int64
		}{{"true", nd.yes}, {"false", nd.no}} {
			if _, ok := index[[2]int64{nd.tree, c.id}]; !ok {
				return nil, nil, fmt.Errorf("%s: tree %d node %d: %s child %d does not exist in tree %d", ref(n), nd.tree, nd.id, c.which, c.id, nd.tree)
			}
		}
	}
	return nodes, index, nil
}

// treeLabels reads classlabels_int64s or classlabels_strings: exactly one,
// with at least two labels.
func treeLabels(a *treeAttrs) ([]string, error) {
	n := a.n
	var labels []string
	switch {
	case a.has("classlabels_int64s") && a.has("classlabels_strings"):
		return nil, fmt.Errorf("%s: both classlabels_int64s and classlabels_strings are set; the spec allows one", ref(n))
	case a.has("classlabels_int64s"):
		for _, v := range a.ints("classlabels_int64s") {
			labels = append(labels, strconv.FormatInt(v, 10))
		}
	case a.has("classlabels_strings"):
		labels = slices.Clone(a.strings("classlabels_strings"))
	default:
		return nil, fmt.Errorf("%s: neither classlabels_int64s nor classlabels_strings is set; the spec requires one", ref(n))
	}
	if len(labels) < 2 {
		return nil, fmt.Errorf("%s: %d class label(s), want at least 2", ref(n), len(labels))
	}
	return labels, nil
}

// readLeafWeights attaches the class_* (or target_*) weights to their
// leaves. It returns which classes have weights and whether every weight
// is >= 0.
func readLeafWeights(a *treeAttrs, prefix string, width int, nodes []treeNode, index map[[2]int64]int) (used []bool, allPositive bool, err error) {
	n := a.n
	trees, ids, classes := a.ints(prefix+"treeids"), a.ints(prefix+"nodeids"), a.ints(prefix+"ids")
	weights, err := a.floats(prefix+"weights", false)
	if err != nil {
		return nil, false, err
	}
	if len(ids) != len(trees) || len(classes) != len(trees) || len(weights) != len(trees) {
		return nil, false, fmt.Errorf("%s: attributes %streeids, %snodeids, %sids and %sweights have %d, %d, %d and %d values; want the same number", ref(n), prefix, prefix, prefix, prefix, len(trees), len(ids), len(classes), len(weights))
	}
	what := "class"
	if prefix == "target_" {
		what = "target"
	}
	used = make([]bool, width)
	allPositive = true
	for i := range trees {
		k, ok := index[[2]int64{trees[i], ids[i]}]
		if !ok {
			return nil, false, fmt.Errorf("%s: %sweights[%d] is for tree %d node %d, which does not exist", ref(n), prefix, i, trees[i], ids[i])
		}
		nd := &nodes[k]
		if nd.mode != "LEAF" {
			return nil, false, fmt.Errorf("%s: %sweights[%d] is for tree %d node %d, a %s node, not a leaf", ref(n), prefix, i, trees[i], ids[i], nd.mode)
		}
		c := classes[i]
		if c < 0 || c >= int64(width) {
			return nil, false, fmt.Errorf("%s: %sids[%d] (tree %d node %d) is %s %d, out of range [0,%d)", ref(n), prefix, i, trees[i], ids[i], what, c, width)
		}
		used[c] = true
		allPositive = allPositive && weights[i] >= 0
		nd.weights = append(nd.weights, leafWeight{int(c), weights[i]})
	}
	return used, allPositive, nil
}

// classifierOutputs chooses the link and the output groups of a
// classifier with labels e.Labels. Binary models output p, the
// probability of Labels[1]; they follow ONNX Runtime 1.x's readings of the
// two-class layouts (TreeAggregatorClassifier), where it is defined:
//
//	weights for one class only (skl2onnx: random forests, class id 0 with
//	class 1's probability; gradient boosting, class id 0 with the margin):
//	the summed weights plus base_values[0] are the positive class's score.
//	  NONE      p = score (ONNX Runtime outputs [1-p, p]); refused if a
//	            weight is negative (it then outputs |score|)
//	  LOGISTIC  p = sigmoid(score), as the spec and scikit-learn say (ONNX
//	            Runtime skips the sigmoid when no weight is negative)
//	  SOFTMAX   refused: ONNX Runtime leaves a single score untransformed
//	weights for both classes: score_k = base_values[k] + class k's weights
//	  NONE      p = score_1;  LOGISTIC  p = sigmoid(score_1)
//	  SOFTMAX   p = sigmoid(score_1 - score_0) (softmax's second column)
//
// Three or more classes give one margin per class: NONE (probabilities,
// model.LinkProbability), LOGISTIC (independent sigmoids) or SOFTMAX.
// SOFTMAX_ZERO and PROBIT are refused: predictd has no such link.
func classifierOutputs(n *nodeProto, e *ensemble, t *model.Trees, post string, base []float64, used []bool, allPositive bool) ([]treeOutput, error) {
	k := len(e.Labels)
	switch post {
	case "NONE", "LOGISTIC", "SOFTMAX":
	case "SOFTMAX_ZERO", "PROBIT":
		return nil, fmt.Errorf("%s: post_transform %s is not supported: predictd has no such link (supported: NONE, LOGISTIC, SOFTMAX)", ref(n), post)
	default:
		return nil, fmt.Errorf("%s: post_transform %s is unknown (supported: NONE, LOGISTIC, SOFTMAX)", ref(n), model.Quote(post))
	}
	if k > 2 {
		if len(base) != 0 && len(base) != k {
			return nil, fmt.Errorf("%s: base_values has %d values for %d classes; want %d, or none", ref(n), len(base), k, k)
		}
		e.Task, e.Classes = model.TaskMulticlass, k
		t.Link = map[string]model.Link{"NONE": model.LinkProbability, "LOGISTIC": model.LinkSigmoid, "SOFTMAX": model.LinkSoftmax}[post]
		outs := make([]treeOutput, k)
		for c := range outs {
			outs[c] = treeOutput{{c, 1}}
		}
		return outs, nil
	}
	e.Task = model.TaskBinary
	var out treeOutput
	switch {
	case used[0] != used[1]: // one class's weights
		c := 0
		if used[1] {
			c = 1
		}
		switch {
		case len(base) == 2:
			return nil, fmt.Errorf("%s: base_values has 2 values but only class %d has weights; ONNX Runtime then outputs a constant probability for %s; write one base value", ref(n), c, model.Quote(e.Labels[1]))
		case len(base) == 1 && c == 1:
			return nil, fmt.Errorf("%s: base_values has 1 value and only class 1 has weights; ONNX Runtime adds it to class 0's score, which the probability of %s does not use; write the base into the weights", ref(n), model.Quote(e.Labels[1]))
		case len(base) > 2:
			return nil, fmt.Errorf("%s: base_values has %d values for 2 classes", ref(n), len(base))
		}
		out = treeOutput{{c, 1}}
		switch post {
		case "NONE":
			if !allPositive {
				return nil, fmt.Errorf("%s: post_transform NONE with weights for one class, some negative: ONNX Runtime then outputs |score| as the probability of %s; use LOGISTIC for margins", ref(n), model.Quote(e.Labels[1]))
			}
			t.Link = model.LinkProbability
		case "LOGISTIC":
			t.Link = model.LinkSigmoid
		case "SOFTMAX":
			return nil, fmt.Errorf("%s: post_transform SOFTMAX with weights for one class only is ambiguous (ONNX Runtime leaves the score untransformed); write weights for both classes, or use LOGISTIC", ref(n))
		}
	case used[0] && used[1]:
		switch len(base) {
		case 0:
		case 2:
			if base[0] != 0 || base[1] != 0 {
				return nil, fmt.Errorf("%s: base_values %v with weights for both classes: ONNX Runtime 1.x scores class 1 as base_values[1] plus class 0's weights, not the spec's sum; fold the base values into the leaves' weights", ref(n), base)
			}
		default:
			return nil, fmt.Errorf("%s: base_values has %d values for 2 classes with weights for both; want 2, or none", ref(n), len(base))
		}
		switch post {
		case "NONE":
			t.Link, out = model.LinkProbability, treeOutput{{1, 1}}
		case "LOGISTIC":
			t.Link, out = model.LinkSigmoid, treeOutput{{1, 1}}
		case "SOFTMAX":
			t.Link, out = model.LinkSigmoid, treeOutput{{1, 1}, {0, -1}}
		}
	default:
		return nil, fmt.Errorf("%s: no class has weights (class_ids is empty)", ref(n))
	}
	return []treeOutput{out}, nil
}

// regressorOutputs reads n_targets' outputs: aggregate_function SUM or
// AVERAGE, post_transform NONE (or, for two targets or more, LOGISTIC or
// SOFTMAX, which ONNX Runtime ignores for one target).
func regressorOutputs(a *treeAttrs, e *ensemble, t *model.Trees, post string, base []float64) ([]treeOutput, error) {
	n := a.n
	agg, err := a.str("aggregate_function", "SUM")
	if err != nil {
		return nil, err
	}
	switch agg {
	case "SUM":
	case "AVERAGE":
		t.Divide = 0 // marks AVERAGE: treeEnsemble sets it to the number of trees
	case "MIN", "MAX":
		return nil, fmt.Errorf("%s: aggregate_function %s is not supported: predictd's forests add their trees (supported: SUM, AVERAGE)", ref(n), agg)
	default:
		return nil, fmt.Errorf("%s: aggregate_function %s is unknown (supported: SUM, AVERAGE)", ref(n), model.Quote(agg))
	}
	k := e.Targets
	switch {
	case post == "NONE":
		t.Link = model.LinkIdentity
	case (post == "LOGISTIC" || post == "SOFTMAX") && k == 1:
		return nil, fmt.Errorf("%s: post_transform %s with n_targets 1 is ambiguous (ONNX Runtime ignores it for one target); use NONE", ref(n), post)
	case post == "LOGISTIC":
		t.Link = model.LinkSigmoid
	case post == "SOFTMAX":
		t.Link = model.LinkSoftmax
	case post == "SOFTMAX_ZERO" || post == "PROBIT":
		return nil, fmt.Errorf("%s: post_transform %s is not supported: predictd has no such link (supported: NONE, LOGISTIC, SOFTMAX)", ref(n), post)
	default:
		return nil, fmt.Errorf("%s: post_transform %s is unknown (supported: NONE, LOGISTIC, SOFTMAX)", ref(n), model.Quote(post))
	}
	if len(base) != 0 && len(base) != k {
		return nil, fmt.Errorf("%s: base_values has %d values for n_targets %d; want %d, or none", ref(n), len(base), k, k)
	}
	e.Task = model.TaskRegression
	outs := make([]treeOutput, k)
	for c := range outs {
		outs[c] = treeOutput{{c, 1}}
	}
	return outs, nil
}

// appendTrees lays out every tree of nodes into f, once per output group
// its leaves contribute to, and returns the number of trees in the file.
func appendTrees(n *nodeProto, f *kernels.Forest, nodes []treeNode, index map[[2]int64]int, outs []treeOutput, double bool) (int, error) {
	groupsOf := map[int][]int{} // class -> the output groups it feeds
	for g, out := range outs {
		for _, term := range out {
			groupsOf[term.class] = append(groupsOf[term.class], g)
		}
	}
	count := 0
	budget := maxCopiedNodes
	for root := range nodes {
		if !nodes[root].firstOfTree {
			continue
		}
		count++
		tree := nodes[root].tree
		listed := 0
		for i := root; i < len(nodes) && nodes[i].tree == tree; i++ {
			listed++
		}
		x := &treeExpander{double: double, limit: listed + budget, nodes: nodes, index: index, onPath: map[int]bool{}, seen: map[int]bool{}}
		if _, err := x.build(root); err != nil {
			return 0, fmt.Errorf("%s: tree %d: %w", ref(n), tree, err)
		}
		for i := root; i < root+listed; i++ {
			if !x.seen[i] {
				return 0, fmt.Errorf("%s: tree %d: node %d is not reachable from the tree's first node %d", ref(n), tree, nodes[i].id, nodes[root].id)
			}
		}
		var groups []int
		for _, leaf := range x.leafOf {
			if leaf < 0 {
				continue
			}
			for _, w := range nodes[leaf].weights {
				for _, g := range groupsOf[w.class] {
					if !slices.Contains(groups, g) {
						groups = append(groups, g)
					}
				}
			}
		}
		slices.Sort(groups)
		// The copies are laid out once per group: charge them that often.
		copied := (len(x.out) - listed) * max(1, len(groups))
		if copied > budget {
			return 0, fmt.Errorf("%s: tree %d: %s", ref(n), tree, errTooManyCopies)
		}
		budget -= copied
		src := make([]model.SourceNode, len(x.out))
		for _, g := range groups {
			copy(src, x.out)
			for j, leaf := range x.leafOf {
				if leaf < 0 {
					continue
				}
				var v float64
				for _, w := range nodes[leaf].weights {
					for _, term := range outs[g] {
						if term.class == w.class {
							v += term.sign * w.w
						}
					}
				}
				src[j].Value = v
			}
			if err := model.AppendTree(f, src, 0, g); err != nil {
				return 0, fmt.Errorf("%s: tree %d: %w", ref(n), tree, err)
			}
		}
	}
	return count, nil
}

// treeExpander turns one ONNX tree into model.SourceNodes: every split
// becomes "x < bound" splits, shared subtrees are copied, cycles refused.
type treeExpander struct {
	double bool // compare float64 inputs (kernels.LessEqFloat64)
	nodes  []treeNode
	index  map[[2]int64]int
	onPath map[int]bool
	seen   map[int]bool
	out    []model.SourceNode
	leafOf []int // ONNX node behind each leaf of out; -1 for splits
	limit  int   // the most nodes the tree may expand to
}

func (x *treeExpander) child(nd *treeNode, id int64) int { return x.index[[2]int64{nd.tree, id}] }

func (x *treeExpander) add(s model.SourceNode, leaf int) (int, error) {
	if len(x.out) >= x.limit {
		return 0, fmt.Errorf("%s", errTooManyCopies)
	}
	x.out = append(x.out, s)
	x.leafOf = append(x.leafOf, leaf)
	return len(x.out) - 1, nil
}

// build lays out the subtree at node i and returns its index in x.out.
func (x *treeExpander) build(i int) (int, error) {
	nd := &x.nodes[i]
	x.seen[i] = true
	if nd.mode == "LEAF" {
		return x.add(model.SourceNode{Leaf: true}, i)
	}
	if x.onPath[i] {
		return 0, fmt.Errorf("node %d is its own descendant (the tree has a cycle)", nd.id)
	}
	x.onPath[i] = true
	defer delete(x.onPath, i)

	// nanYes: where ONNX Runtime sends NaN; != is the one comparison NaN
	// satisfies.
	nanYes := nd.nanYes || nd.mode == "BRANCH_NEQ"
	yes, no := x.child(nd, nd.yes), x.child(nd, nd.no)
	if nd.mode == "BRANCH_EQ" || nd.mode == "BRANCH_NEQ" {
		if below, upTo, ok := eqBounds(nd.value, x.double); ok {
			// x == t exactly when x fails the split at below and passes the
			// one at upTo. NEQ exchanges the branches.
			eq, ne := yes, no
			if nd.mode == "BRANCH_NEQ" {
				eq, ne = no, yes
			}
			nanEq := nanYes == (nd.mode == "BRANCH_EQ")
			return x.split(nd.feature, below, ne, -1, !nanEq, func() (int, error) {
				return x.splitOne(nd.feature, upTo, eq, ne, nanEq)
			})
		}
	}
	var bound float64
	var negate bool
	if x.double {
		bound, negate = splitBound64(nd.mode, nd.value)
	} else {
		b, neg := splitBound32(nd.mode, nd.value)
		bound, negate = float64(b), neg
	}
	left, right := yes, no
	if negate {
		left, right = no, yes
	}
	return x.splitOne(nd.feature, bound, left, right, nanYes != negate)
}

// splitOne adds a split (x < bound, or x <= bound for double inputs) with
// ONNX subtrees left and right; nanLeft sends NaN left.
func (x *treeExpander) splitOne(feature int64, bound float64, left, right int, nanLeft bool) (int, error) {
	return x.split(feature, bound, left, right, nanLeft, nil)
}

// split adds a split at bound: its left child (where a value passing the
// comparison goes) is ONNX subtree left, its right child ONNX subtree right,
// or what rightFn builds when set.
func (x *treeExpander) split(feature int64, bound float64, left, right int, nanLeft bool, rightFn func() (int, error)) (int, error) {
	s := model.SourceNode{Feature: int(feature), Value: bound}
	if nanLeft {
		s.Flags = kernels.FlagDefaultLeft
	}
	me, err := x.add(s, -1)
	if err != nil {
		return 0, err
	}
	l, err := x.build(left)
	if err != nil {
		return 0, err
	}
	var r int
	if rightFn != nil {
		r, err = rightFn()
	} else {
		r, err = x.build(right)
	}
	if err != nil {
		return 0, err
	}
	x.out[me].Left, x.out[me].Right = l, r
	return me, nil
}

// splitBound32 returns the float32 bound b and whether the comparison is
// negated such that, for every non-NaN float32 x, "x mode t" holds exactly
// when (x < b) != negate. t is a float32 threshold, or a double one
// compared with the float32 x exactly.
func splitBound32(mode string, t float64) (b float32, negate bool) {
	switch mode {
	case "BRANCH_LT":
		return ceil32(t), false
	case "BRANCH_GTE":
		return ceil32(t), true
	case "BRANCH_LEQ", "BRANCH_GT":
		negate = mode == "BRANCH_GT"
		f := floor32(t)
		if math.IsInf(float64(f), 1) {
			// x <= +Inf always: "not x < -Inf".
			return float32(math.Inf(-1)), !negate
		}
		return math.Nextafter32(f, float32(math.Inf(1))), negate
	case "BRANCH_EQ", "BRANCH_NEQ":
		// Only when eqBounds found no two-split form.
		negate = mode == "BRANCH_NEQ"
		f := float32(t)
		switch {
		case float64(f) != t: // no float32 equals t
			return float32(math.Inf(-1)), negate
		case math.IsInf(float64(f), 1): // x == +Inf: not x < +Inf
			return f, !negate
		default: // -Inf: x < the least finite float32
			return math.Nextafter32(f, float32(math.Inf(1))), negate
		}
	}
	panic("BUG: splitBound32 of mode " + mode)
}

// eqBounds returns the bounds of BRANCH_EQ t's two splits: x == t exactly
// when x fails the comparison with below and passes the one with upTo
// (float32: x < t, x < next(t); double: x <= prev(t), x <= t). It reports
// false for thresholds no input equals and for infinities, which need one
// split (splitBound32, splitBound64).
func eqBounds(t float64, double bool) (below, upTo float64, ok bool) {
	if math.IsInf(t, 0) {
		return 0, 0, false
	}
	if double {
		return math.Nextafter(t, math.Inf(-1)), t, true
	}
	f := float32(t)
	if float64(f) != t {
		return 0, 0, false
	}
	return float64(f), float64(math.Nextafter32(f, float32(math.Inf(1)))), true
}

// splitBound64 is splitBound32 for double inputs (kernels.LessEqFloat64):
// "x mode t" holds exactly when (x <= b) != negate, for every non-NaN
// float64 x.
func splitBound64(mode string, t float64) (b float64, negate bool) {
	switch mode {
	case "BRANCH_LEQ":
		return t, false
	case "BRANCH_GT":
		return t, true
	case "BRANCH_LT", "BRANCH_GTE":
		negate = mode == "BRANCH_GTE"
		if math.IsInf(t, -1) {
			// x < -Inf never: "not x <= +Inf".
			return math.Inf(1), !negate
		}
		return math.Nextafter(t, math.Inf(-1)), negate
	case "BRANCH_EQ", "BRANCH_NEQ":
		// Only when eqBounds found no two-split form: t is infinite.
		negate = mode == "BRANCH_NEQ"
		if math.IsInf(t, 1) { // x == +Inf: not x <= MaxFloat64
			return math.MaxFloat64, !negate
		}
		return t, negate // x == -Inf: x <= -Inf
	}
	panic("BUG: splitBound64 of mode " + mode)
}

// floor32 is the greatest float32 <= t; ceil32 the least float32 >= t.
func floor32(t float64) float32 {
	f := float32(t)
	if float64(f) > t {
		f = math.Nextafter32(f, float32(math.Inf(-1)))
	}
	return f
}

func ceil32(t float64) float32 {
	f := float32(t)
	if float64(f) < t {
		f = math.Nextafter32(f, float32(math.Inf(1)))
	}
	return f
}
