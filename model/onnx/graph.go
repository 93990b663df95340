package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// The feature path: from the graph inputs to the tensor the model's first
// operator (Gemm, MatMul, LinearClassifier, LinearRegressor or a tree
// ensemble) reads. Each tensor on it is a block of columns, and each
// column says how a transform computes it from one raw input column, so
// the preprocessing a graph states (skl2onnx's ColumnTransformer: Concat,
// ArrayFeatureExtractor, Imputer, Scaler, OneHotEncoder, Normalizer) becomes
// either a Scaler folded into a dense first layer or a transform.Pipeline.

// rawCol is one raw input column: an element of a graph input's row.
type rawCol struct {
	name    string
	numeric bool
}

// col is one column of a block.
type col struct {
	raw   int              // index into converter.raws
	steps []transform.Step // numeric steps, in order
	enc   *encoder         // set: column k of enc's one-hot encoding of raw
	k     int
}

// encoder is an OneHotEncoder node's categories.
type encoder struct {
	node  *nodeProto
	cats  []string
	zeros bool // an unknown category gives zeros (zeros=1), else it is an error
}

// block is a tensor on the feature path.
type block struct {
	cols    []col
	shape   []int64 // a row's dimensions (the tensor's without the batch); their product is len(cols)
	numeric bool    // numbers (FLOAT, DOUBLE, INT64), else STRING
	double  bool    // DOUBLE elements
	// norm is set by a Normalizer over the block: transform.NormL1 or
	// NormL2, applied after every column is computed.
	norm     string
	normNode *nodeProto
}

// modelOps are the operators that start the model; the tensor they read is
// the end of the feature path.
var modelOps = map[string]bool{
	"Gemm": true, "MatMul": true,
	mlDomain + ".LinearClassifier": true, mlDomain + ".LinearRegressor": true,
	mlDomain + ".TreeEnsembleClassifier": true, mlDomain + ".TreeEnsembleRegressor": true,
}

// setInputs reads the graph inputs into raw columns and a block each.
func (c *converter) setInputs() error {
	var ins []valueInfo
	for _, v := range c.g.inputs {
		// Before IR version 4, initializers are listed as inputs too; they
		// are constants here (a caller cannot override them).
		if _, isConst := c.consts[v.name]; !isConst {
			ins = append(ins, v)
		}
	}
	if len(ins) == 0 {
		return errors.New("graph has no input; predictd imports graphs whose inputs are [batch, features] tensors")
	}
	c.blocks = map[string]*block{}
	seen := map[string]string{}
	for _, in := range ins {
		switch {
		case in.name == "":
			return errors.New("graph input has no name")
		case c.blocks[in.name] != nil:
			return fmt.Errorf("input %s is listed twice", model.Quote(in.name))
		case !in.isTensor:
			return fmt.Errorf("input %s is not a tensor", model.Quote(in.name))
		case in.elemType != dtFloat && in.elemType != dtDouble && in.elemType != dtInt64 && in.elemType != dtString:
			return fmt.Errorf("input %s has element type %s; predictd's features are FLOAT, DOUBLE, INT64 or STRING", model.Quote(in.name), dataTypeName(in.elemType))
		case !in.hasShape:
			return fmt.Errorf("input %s has no shape; its feature dimension must be a fixed number", model.Quote(in.name))
		case len(in.dims) < 2:
			return fmt.Errorf("input %s has rank %d; want [batch, features]", model.Quote(in.name), len(in.dims))
		}
		feat := make([]int64, 0, len(in.dims)-1)
		for i, d := range in.dims[1:] {
			if !d.hasValue || d.value <= 0 {
				what := "unknown"
				if d.param != "" {
					what = strconv.Quote(d.param)
				} else if d.hasValue {
					what = strconv.FormatInt(d.value, 10)
				}
				return fmt.Errorf("input %s dimension %d is %s; the feature dimensions must be fixed positive numbers (only the batch dimension may vary)", model.Quote(in.name), i+1, what)
			}
			feat = append(feat, d.value)
		}
		w, err := numElements(feat)
		if err != nil {
			return fmt.Errorf("input %s: %w", model.Quote(in.name), err)
		}
		b := &block{shape: feat, numeric: in.elemType != dtString, double: in.elemType == dtDouble, cols: make([]col, w)}
		for j := range b.cols {
			// [batch, 1]: one column named as the input (a DataFrame
			// column, as skl2onnx users convert them); else <input>_<j>.
			name := in.name
			if w > 1 || len(feat) > 1 {
				name = fmt.Sprintf("%s_%d", in.name, j)
			}
			if other, dup := seen[name]; dup {
				return fmt.Errorf("inputs %s and %s both give a feature named %s; rename one input", model.Quote(other), model.Quote(in.name), model.Quote(name))
			}
			seen[name] = in.name
			b.cols[j] = col{raw: len(c.raws)}
			c.raws = append(c.raws, rawCol{name: name, numeric: b.numeric})
		}
		c.blocks[in.name] = b
		c.inputNames = append(c.inputNames, in.name)
	}
	return nil
}

// preprocess maps the nodes on the feature path, in the graph's order
// (the spec requires topological order), up to the first model operator,
// which it returns (nil if there is none).
func (c *converter) preprocess() (*nodeProto, error) {
	for i := range c.g.nodes {
		n := &c.g.nodes[i]
		if c.constNodes[n] {
			continue
		}
		onPath := false
		for _, in := range n.inputs {
			onPath = onPath || c.blocks[in] != nil
		}
		if !onPath {
			continue
		}
		key := opKey(n)
		if !supported[key] {
			return nil, unsupported(n)
		}
		if modelOps[key] {
			return n, nil
		}
		if c.visited[n] {
			return nil, fmt.Errorf("%s: the graph has a cycle", ref(n))
		}
		c.visited[n] = true
		b, err := c.featureOp(n)
		if err != nil {
			return nil, err
		}
		if len(n.outputs) != 1 {
			return nil, fmt.Errorf("%s: %d outputs, want 1", ref(n), len(n.outputs))
		}
		if c.blocks[n.outputs[0]] != nil {
			return nil, fmt.Errorf("%s: output %s is computed already (a graph input, or another node's output); the graph has a cycle or writes a tensor twice", ref(n), model.Quote(n.outputs[0]))
		}
		c.blocks[n.outputs[0]] = b
	}
	return nil, nil
}

// featureOps are what preprocess maps, for messages.
const featureOps = "Identity, Cast, Concat, Gather, Flatten, Reshape; " + mlDomain + ": ArrayFeatureExtractor, Imputer, Scaler, OneHotEncoder, Normalizer"

// featureOp maps one node on the feature path to the block it outputs.
func (c *converter) featureOp(n *nodeProto) (*block, error) {
	key := opKey(n)
	var in []*block
	for i, name := range n.inputs {
		b := c.blocks[name]
		switch {
		case b != nil:
			in = append(in, b)
		case i == 1 && (key == mlDomain+".ArrayFeatureExtractor" || key == "Gather" || key == "Reshape"):
		default:
			return nil, fmt.Errorf("%s: input %s is not computed from the graph inputs; before the model predictd reads %s over the inputs (constants only for indices and shapes)", ref(n), model.Quote(name), featureOps)
		}
	}
	if len(in) == 0 || c.blocks[n.inputs[0]] == nil {
		return nil, fmt.Errorf("%s: first input is not computed from the graph inputs", ref(n))
	}
	b := in[0]
	for _, x := range in {
		if x.norm != "" && key != "Identity" && key != "Cast" && key != "Flatten" && key != "Reshape" {
			return nil, fmt.Errorf("%s follows the Normalizer %s; predictd applies a Normalizer over the whole row, as the last step before the model", ref(n), ref(x.normNode))
		}
	}
	numeric := func() error {
		if !b.numeric {
			return fmt.Errorf("%s: input %s holds strings; %s takes numbers (strings go through a OneHotEncoder)", ref(n), model.Quote(n.inputs[0]), n.opType)
		}
		return nil
	}
	switch key {
	case "Identity":
		return b, nil
	case "Cast":
		to, err := c.intAttr(n, "to", 0)
		if err != nil {
			return nil, err
		}
		if to != dtFloat && to != dtDouble {
			return nil, fmt.Errorf("%s: cast to %s on the feature path; predictd reads Cast to FLOAT or DOUBLE of numbers", ref(n), dataTypeName(to))
		}
		if err := numeric(); err != nil {
			return nil, err
		}
		out := *b
		out.double = to == dtDouble
		return &out, nil
	case "Flatten":
		axis, err := c.intAttr(n, "axis", 1)
		if err != nil {
			return nil, err
		}
		rank := int64(len(b.shape) + 1)
		if axis < 0 {
			axis += rank
		}
		if axis != 1 {
			return nil, fmt.Errorf("%s: axis %d on a rank-%d tensor; predictd needs axis=1 (keep the batch dimension)", ref(n), axis, rank)
		}
		out := *b
		out.shape = []int64{int64(len(b.cols))}
		return &out, nil
	case "Reshape":
		return c.reshapeBlock(n, b)
	case "Concat":
		return c.concatBlocks(n, in)
	case mlDomain + ".ArrayFeatureExtractor", "Gather":
		return c.extract(n, b)
	case mlDomain + ".Imputer":
		if err := numeric(); err != nil {
			return nil, err
		}
		return c.imputer(n, b)
	case mlDomain + ".Scaler":
		if err := numeric(); err != nil {
			return nil, err
		}
		offset, err := c.floatsAttr(n, "offset")
		if err != nil {
			return nil, err
		}
		scale, err := c.floatsAttr(n, "scale")
		if err != nil {
			return nil, err
		}
		if len(offset) == 0 {
			offset = []float64{0}
		}
		if len(scale) == 0 {
			scale = []float64{1}
		}
		w := len(b.cols)
		if len(offset) != 1 && len(offset) != w || len(scale) != 1 && len(scale) != w {
			return nil, fmt.Errorf("%s: offset has %d values and scale %d, want 1 or %d (the features) each", ref(n), len(offset), len(scale), w)
		}
		out := b.derive()
		for j := range out.cols {
			out.cols[j].steps = append(slices.Clip(out.cols[j].steps), transform.Step{Op: transform.OpScaler, Offset: at(offset, j), Scale: at(scale, j)})
		}
		c.scalerNode = n
		return out, nil
	case mlDomain + ".OneHotEncoder":
		return c.oneHot(n, b)
	case mlDomain + ".Normalizer":
		if err := numeric(); err != nil {
			return nil, err
		}
		norm, err := c.stringAttr(n, "norm", "MAX")
		if err != nil {
			return nil, err
		}
		out := *b
		switch norm {
		case "L1":
			out.norm = transform.NormL1
		case "L2":
			out.norm = transform.NormL2
		default:
			return nil, fmt.Errorf("%s: norm %s not supported (supported: L1, L2; MAX divides by the largest value in ONNX but by the largest absolute value in scikit-learn)", ref(n), model.Quote(norm))
		}
		if len(b.shape) != 1 {
			return nil, fmt.Errorf("%s: input of rank %d; predictd normalizes [batch, features] rows", ref(n), len(b.shape)+1)
		}
		out.normNode = n
		return &out, nil
	}
	if modelOps[key] {
		panic("BUG: featureOp called for a model operator " + key)
	}
	return nil, fmt.Errorf("%s: operator not supported before the model (supported there: %s)", ref(n), featureOps)
}

// derive is a copy of b whose columns can be changed.
func (b *block) derive() *block {
	out := *b
	out.cols = slices.Clone(b.cols)
	return &out
}

// reshapeBlock maps a Reshape that keeps the batch dimension and a row's
// values: shape [0 or -1, d1, ...] whose product is the row's width, with
// one -1 allowed after a leading 0.
func (c *converter) reshapeBlock(n *nodeProto, b *block) (*block, error) {
	if len(n.inputs) < 2 || n.inputs[1] == "" {
		return nil, fmt.Errorf("%s: input shape is missing", ref(n))
	}
	t, ok := c.consts[n.inputs[1]]
	if !ok {
		return nil, fmt.Errorf("%s: input shape %s is not an initializer or Constant", ref(n), model.Quote(n.inputs[1]))
	}
	shape, err := t.int64s()
	if err != nil {
		return nil, fmt.Errorf("%s: input shape %s: %w", ref(n), model.Quote(n.inputs[1]), err)
	}
	allowZero, err := c.intAttr(n, "allowzero", 0)
	if err != nil {
		return nil, err
	}
	w := int64(len(b.cols))
	bad := fmt.Errorf("%s: shape %v; predictd imports a Reshape that keeps the batch dimension and the %d values of a row: [0, -1], [0, %d], [-1, %d] or more dimensions of product %d", ref(n), shape, w, w, w, w)
	if len(shape) < 2 || !(shape[0] == -1 || shape[0] == 0 && allowZero == 0) {
		return nil, bad
	}
	dims := slices.Clone(shape[1:])
	infer, prod := -1, int64(1)
	for i, d := range dims {
		switch {
		case d == -1 && infer < 0 && shape[0] == 0:
			infer = i
		case d > 0 && d <= w:
			prod *= d
		default:
			return nil, bad
		}
	}
	if infer >= 0 {
		if prod == 0 || w%prod != 0 {
			return nil, bad
		}
		dims[infer] = w / prod
		prod = w
	}
	if prod != w {
		return nil, bad
	}
	out := *b
	out.shape = dims
	return &out, nil
}

// concatBlocks maps Concat over blocks along any axis but the batch.
func (c *converter) concatBlocks(n *nodeProto, in []*block) (*block, error) {
	a := c.attr(n, "axis")
	if a == nil || !a.hasI {
		return nil, fmt.Errorf("%s: attribute axis is missing", ref(n))
	}
	rank := int64(len(in[0].shape) + 1)
	axis := a.i
	if axis < 0 {
		axis += rank
	}
	if axis < 1 || axis >= rank {
		return nil, fmt.Errorf("%s: axis %d on rank-%d tensors; predictd concatenates along a feature axis (1 to %d)", ref(n), a.i, rank, rank-1)
	}
	out := &block{numeric: in[0].numeric, double: in[0].double, shape: slices.Clone(in[0].shape)}
	out.shape[axis-1] = 0
	for i, b := range in {
		if b.numeric != in[0].numeric {
			return nil, fmt.Errorf("%s: inputs %s and %s hold numbers and strings", ref(n), model.Quote(n.inputs[0]), model.Quote(n.inputs[i]))
		}
		ok := len(b.shape) == len(in[0].shape)
		for d := 0; ok && d < len(b.shape); d++ {
			ok = d == int(axis-1) || b.shape[d] == in[0].shape[d]
		}
		if !ok {
			return nil, fmt.Errorf("%s: input %s has row shape %v, input %s %v; they differ off axis %d", ref(n), model.Quote(n.inputs[0]), in[0].shape, model.Quote(n.inputs[i]), b.shape, axis)
		}
		out.shape[axis-1] += b.shape[axis-1]
		out.double = out.double || b.double
	}
	outer := 1
	for _, d := range in[0].shape[:axis-1] {
		outer *= int(d)
	}
	for o := 0; o < outer; o++ {
		for _, b := range in {
			part := len(b.cols) / outer
			out.cols = append(out.cols, b.cols[o*part:(o+1)*part]...)
		}
	}
	return out, nil
}

// extract maps ArrayFeatureExtractor (the last axis) and Gather (its axis
// attribute, a feature axis) with constant indices: the columns at those
// indices along that axis. Gather's indices may count from the end.
func (c *converter) extract(n *nodeProto, b *block) (*block, error) {
	if len(n.inputs) != 2 {
		return nil, fmt.Errorf("%s: %d inputs, want the data and the indices", ref(n), len(n.inputs))
	}
	t, ok := c.consts[n.inputs[1]]
	if !ok {
		return nil, fmt.Errorf("%s: indices %s are not an initializer or Constant; predictd selects fixed columns", ref(n), model.Quote(n.inputs[1]))
	}
	idx, err := t.int64s()
	if err != nil {
		return nil, fmt.Errorf("%s: indices %s: %w", ref(n), model.Quote(n.inputs[1]), err)
	}
	if len(idx) == 0 || len(t.dims) != 1 {
		return nil, fmt.Errorf("%s: indices %s have shape %v; predictd selects columns by a 1-D list of indices", ref(n), model.Quote(n.inputs[1]), t.dims)
	}
	rank := int64(len(b.shape) + 1)
	axis := rank - 1
	gather := n.opType == "Gather"
	if gather {
		if axis, err = c.intAttr(n, "axis", 0); err != nil {
			return nil, err
		}
		if axis < 0 {
			axis += rank
		}
		if axis < 1 || axis >= rank {
			return nil, fmt.Errorf("%s: axis %d on a rank-%d tensor; predictd gathers along a feature axis (1 to %d)", ref(n), axis, rank, rank-1)
		}
	}
	dim := int(b.shape[axis-1])
	inner := 1
	for _, d := range b.shape[axis:] {
		inner *= int(d)
	}
	outer := len(b.cols) / (dim * inner)
	out := &block{numeric: b.numeric, double: b.double, shape: slices.Clone(b.shape)}
	out.shape[axis-1] = int64(len(idx))
	for o := 0; o < outer; o++ {
		for _, i := range idx {
			if gather && i < 0 {
				i += int64(dim)
			}
			if i < 0 || i >= int64(dim) {
				return nil, fmt.Errorf("%s: index %d outside the %d columns of %s", ref(n), i, dim, model.Quote(n.inputs[0]))
			}
			start := (o*dim + int(i)) * inner
			out.cols = append(out.cols, b.cols[start:start+inner]...)
		}
	}
	return out, nil
}

// imputer maps an Imputer of NaN with floats: an impute step per column.
func (c *converter) imputer(n *nodeProto, b *block) (*block, error) {
	if a := c.attr(n, "imputed_value_int64s"); a != nil {
		return nil, fmt.Errorf("%s: imputed_value_int64s; predictd imputes numbers with imputed_value_floats", ref(n))
	}
	a := c.attr(n, "replaced_value_float")
	if a == nil || !a.hasF || !math.IsNaN(float64(a.f)) {
		v := "0 (the default)"
		if a != nil {
			v = fmt.Sprint(a.f)
		}
		return nil, fmt.Errorf("%s: replaced_value_float is %s; predictd imputes missing values (NaN) only", ref(n), v)
	}
	vals, err := c.floatsAttr(n, "imputed_value_floats")
	if err != nil {
		return nil, err
	}
	w := len(b.cols)
	if len(vals) != 1 && len(vals) != w {
		return nil, fmt.Errorf("%s: imputed_value_floats has %d values, want 1 or %d (the features)", ref(n), len(vals), w)
	}
	out := b.derive()
	for j := range out.cols {
		for _, s := range out.cols[j].steps {
			if s.Op == transform.OpImpute {
				return nil, fmt.Errorf("%s: column %d of %s was imputed already; predictd imputes a column once", ref(n), j, model.Quote(n.inputs[0]))
			}
		}
		out.cols[j].steps = append(slices.Clip(out.cols[j].steps), transform.Step{Op: transform.OpImpute, Strategy: "constant", Fill: at(vals, j)})
	}
	return out, nil
}

// oneHot maps a OneHotEncoder of raw string columns: each becomes its
// categories' columns, in a new last axis.
func (c *converter) oneHot(n *nodeProto, b *block) (*block, error) {
	if b.numeric {
		return nil, fmt.Errorf("%s: input %s holds numbers; predictd one-hot encodes strings (cats_strings)", ref(n), model.Quote(n.inputs[0]))
	}
	if c.attr(n, "cats_int64s") != nil {
		return nil, fmt.Errorf("%s: cats_int64s; predictd one-hot encodes string inputs (cats_strings)", ref(n))
	}
	a := c.attr(n, "cats_strings")
	if a == nil || len(a.strings) == 0 {
		return nil, fmt.Errorf("%s: cats_strings is missing or empty", ref(n))
	}
	cats := a.strings
	for i := 1; i < len(cats); i++ {
		if cats[i] <= cats[i-1] {
			return nil, fmt.Errorf("%s: cats_strings[%d] %s is not after %s; predictd needs the categories in increasing byte order, as scikit-learn's categories_ are", ref(n), i, model.Quote(cats[i]), model.Quote(cats[i-1]))
		}
	}
	if len(cats) > transform.MaxBuckets {
		return nil, fmt.Errorf("%s: %d categories, more than %d", ref(n), len(cats), transform.MaxBuckets)
	}
	zeros, err := c.intAttr(n, "zeros", 1)
	if err != nil {
		return nil, err
	}
	e := &encoder{node: n, cats: slices.Clone(cats), zeros: zeros != 0}
	out := &block{numeric: true, shape: append(slices.Clone(b.shape), int64(len(cats)))}
	for _, in := range b.cols {
		if in.enc != nil || len(in.steps) > 0 {
			panic("BUG: a string column with steps")
		}
		for k := range cats {
			out.cols = append(out.cols, col{raw: in.raw, enc: e, k: k})
		}
	}
	return out, nil
}

// modelInput fixes the model's feature columns from the block its first
// operator n reads: the raw inputs themselves, a Scaler folded into a
// dense first layer, or a transform.Pipeline for everything else.
func (c *converter) modelInput(n *nodeProto, b *block) error {
	if !b.numeric {
		return fmt.Errorf("%s reads strings from %s; predictd's models take numbers (one-hot encode strings with a OneHotEncoder)", ref(n), model.Quote(n.inputs[0]))
	}
	if len(b.shape) != 1 {
		return fmt.Errorf("%s gets a rank-%d tensor %s; flatten it to [batch, features] first (Flatten with axis=1)", ref(n), len(b.shape)+1, model.Quote(n.inputs[0]))
	}
	dense := !treeOps[opKey(n)]
	plain := b.norm == "" && len(b.cols) == len(c.raws)
	for i, cl := range b.cols {
		plain = plain && cl.raw == i && cl.enc == nil &&
			(len(cl.steps) == 0 || dense && len(cl.steps) == 1 && cl.steps[0].Op == transform.OpScaler)
	}
	c.width, c.rank, c.double = len(b.cols), 2, b.double
	if plain {
		c.featNames = make([]string, len(c.raws))
		var s *scaler
		for i, cl := range b.cols {
			c.featNames[i] = c.raws[i].name
			if len(cl.steps) == 0 {
				continue
			}
			if s == nil {
				s = &scaler{node: c.scalerNode, offset: make([]float64, len(b.cols)), scale: make([]float64, len(b.cols))}
				for j := range s.scale {
					s.scale[j] = 1
				}
			}
			s.offset[i], s.scale[i] = cl.steps[0].Offset, cl.steps[0].Scale
		}
		c.scaler = s
		return nil
	}
	var fs []transform.Feature
	uses := map[string]int{}
	name := func(raw string) string {
		uses[raw]++
		if uses[raw] == 1 {
			return raw
		}
		return fmt.Sprintf("%s_%d", raw, uses[raw])
	}
	for i := 0; i < len(b.cols); {
		cl := b.cols[i]
		raw := c.raws[cl.raw].name
		if cl.enc == nil {
			fs = append(fs, transform.Feature{Name: name(raw), Columns: []string{raw}, Steps: cl.steps})
			i++
			continue
		}
		e := cl.enc
		for k := range e.cats {
			if i+k >= len(b.cols) || b.cols[i+k].enc != e || b.cols[i+k].raw != cl.raw || b.cols[i+k].k != k {
				return fmt.Errorf("%s: the one-hot columns of %s reach %s in part or out of order; predictd keeps an input's one-hot columns together, in category order", ref(e.node), model.Quote(raw), ref(n))
			}
		}
		unknown := "error"
		if e.zeros {
			unknown = "zeros"
		}
		fs = append(fs, transform.Feature{Name: name(raw), Columns: []string{raw},
			Encode: &transform.Encoding{Op: transform.EncOneHot, Categories: e.cats, Unknown: unknown}})
		i += len(e.cats)
	}
	p, err := transform.Build(fs, b.norm)
	if err != nil {
		return fmt.Errorf("the preprocessing before %s: %w", ref(n), err)
	}
	c.transform = p
	c.featNames = p.Names()
	return nil
}

var treeOps = map[string]bool{mlDomain + ".TreeEnsembleClassifier": true, mlDomain + ".TreeEnsembleRegressor": true}
