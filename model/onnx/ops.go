package onnx

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// The mapping of each supported operator onto the chain's layers. Each
// method checks the node's inputs and attributes, updates the converter
// and moves c.cur to the node's output.

// advance checks that n's first input is the chain's tensor and moves the
// chain to n's first output.
func (c *converter) advance(n *nodeProto) error {
	if len(n.inputs) == 0 || n.inputs[0] != c.cur {
		return fmt.Errorf("%s: first input is not %s, the tensor the chain has reached", ref(n), model.Quote(c.cur))
	}
	c.cur = n.outputs[0]
	return nil
}

func (c *converter) attr(n *nodeProto, name string) *attribute {
	for i := range n.attrs {
		if n.attrs[i].name == name {
			return &n.attrs[i]
		}
	}
	return nil
}

func (c *converter) intAttr(n *nodeProto, name string, def int64) (int64, error) {
	a := c.attr(n, name)
	if a == nil {
		return def, nil
	}
	if !a.hasI {
		return 0, fmt.Errorf("%s: attribute %s has no integer value", ref(n), name)
	}
	return a.i, nil
}

func (c *converter) floatAttr(n *nodeProto, name string, def float64) (float64, error) {
	a := c.attr(n, name)
	if a == nil {
		return def, nil
	}
	if !a.hasF {
		return 0, fmt.Errorf("%s: attribute %s has no float value", ref(n), name)
	}
	v := float64(a.f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s: attribute %s is %v", ref(n), name, v)
	}
	return v, nil
}

func (c *converter) stringAttr(n *nodeProto, name, def string) (string, error) {
	a := c.attr(n, name)
	if a == nil {
		return def, nil
	}
	if !a.hasS {
		return "", fmt.Errorf("%s: attribute %s has no string value", ref(n), name)
	}
	return a.s, nil
}

func (c *converter) floatsAttr(n *nodeProto, name string) ([]float64, error) {
	a := c.attr(n, name)
	if a == nil {
		return nil, nil
	}
	out := make([]float64, len(a.floats))
	for i, v := range a.floats {
		out[i] = float64(v)
		if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
			return nil, fmt.Errorf("%s: attribute %s[%d] is %v", ref(n), name, i, v)
		}
	}
	return out, nil
}

// constant returns the values of n's input i, which must be an initializer
// or a Constant's output.
func (c *converter) constant(n *nodeProto, i int, role string) ([]float64, []int64, error) {
	if i >= len(n.inputs) || n.inputs[i] == "" {
		return nil, nil, fmt.Errorf("%s: input %s is missing", ref(n), role)
	}
	name := n.inputs[i]
	t, ok := c.consts[name]
	if !ok {
		return nil, nil, fmt.Errorf("%s: input %s %s is not an initializer or Constant; predictd imports %s with constant weights", ref(n), role, model.Quote(name), n.opType)
	}
	v, err := t.float64s()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: input %s %s: %w", ref(n), role, model.Quote(name), err)
	}
	for j, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil, fmt.Errorf("%s: input %s %s: element %d is %v", ref(n), role, model.Quote(name), j, x)
		}
	}
	return v, t.dims, nil
}

// flatten and reshape after the model's first operator keep [batch,
// width] as it is (before it, graph.go maps them).
func (c *converter) flatten(n *nodeProto) error {
	axis, err := c.intAttr(n, "axis", 1)
	if err != nil {
		return err
	}
	if axis < 0 {
		axis += int64(c.rank)
	}
	if axis != 1 {
		return fmt.Errorf("%s: axis %d on a rank-%d tensor; predictd needs axis=1 (keep the batch dimension)", ref(n), axis, c.rank)
	}
	c.rank = 2
	return c.advance(n)
}

func (c *converter) reshape(n *nodeProto) error {
	if len(n.inputs) < 2 || n.inputs[1] == "" {
		return fmt.Errorf("%s: input shape is missing", ref(n))
	}
	t, ok := c.consts[n.inputs[1]]
	if !ok {
		return fmt.Errorf("%s: input shape %s is not an initializer or Constant", ref(n), model.Quote(n.inputs[1]))
	}
	shape, err := t.int64s()
	if err != nil {
		return fmt.Errorf("%s: input shape %s: %w", ref(n), model.Quote(n.inputs[1]), err)
	}
	allowZero, err := c.intAttr(n, "allowzero", 0)
	if err != nil {
		return err
	}
	w := int64(c.width)
	ok = len(shape) == 2 &&
		((shape[0] == 0 && allowZero == 0 && (shape[1] == -1 || shape[1] == w)) ||
			(shape[0] == -1 && shape[1] == w))
	if !ok {
		return fmt.Errorf("%s: shape %v; predictd imports a Reshape to [batch, %d] only: [0, -1], [0, %d] or [-1, %d]", ref(n), shape, w, w, w)
	}
	c.rank = 2
	return c.advance(n)
}

// broadcastBias expands a bias tensor to n values: a scalar, [1], [n],
// [1, 1] or [1, n] (what broadcasts to [batch, n] without the batch).
func broadcastBias(v []float64, dims []int64, n int) ([]float64, bool) {
	if len(dims) > 2 || (len(dims) == 2 && dims[0] != 1) {
		return nil, false
	}
	switch len(v) {
	case n:
		return slices.Clone(v), true
	case 1:
		out := make([]float64, n)
		for i := range out {
			out[i] = v[0]
		}
		return out, true
	}
	return nil, false
}

func (c *converter) gemm(n *nodeProto) error {
	if len(n.inputs) < 2 || len(n.inputs) > 3 {
		return fmt.Errorf("%s: %d inputs, want A, B and optionally C", ref(n), len(n.inputs))
	}
	if n.inputs[0] != c.cur {
		return fmt.Errorf("%s: input A must be %s, the tensor the chain has reached (the weights go in B)", ref(n), model.Quote(c.cur))
	}
	transA, err := c.intAttr(n, "transA", 0)
	if err != nil {
		return err
	}
	if transA != 0 {
		return fmt.Errorf("%s: transA=%d; predictd needs A as [batch, features] (transA=0)", ref(n), transA)
	}
	transB, err := c.intAttr(n, "transB", 0)
	if err != nil {
		return err
	}
	alpha, err := c.floatAttr(n, "alpha", 1)
	if err != nil {
		return err
	}
	beta, err := c.floatAttr(n, "beta", 1)
	if err != nil {
		return err
	}
	b, dims, err := c.constant(n, 1, "B")
	if err != nil {
		return err
	}
	if len(dims) != 2 {
		return fmt.Errorf("%s: input B %s has shape %v, want 2-D", ref(n), model.Quote(n.inputs[1]), dims)
	}
	k, out := int(dims[0]), int(dims[1])
	if transB != 0 {
		k, out = out, k
	}
	if k != c.width {
		return fmt.Errorf("%s: input B %s has shape %v (transB=%d): %d inputs, but the chain carries %d", ref(n), model.Quote(n.inputs[1]), dims, transB, k, c.width)
	}
	w := make([]float64, out*k)
	for o := 0; o < out; o++ {
		for i := 0; i < k; i++ {
			v := b[i*out+o]
			if transB != 0 {
				v = b[o*k+i]
			}
			// alpha·(A·B) = A·(alpha·B) exactly in real arithmetic; the
			// product of two float32 values is exact in float64.
			w[o*k+i] = alpha * v
		}
	}
	bias := make([]float64, out)
	if len(n.inputs) > 2 && n.inputs[2] != "" {
		cv, cdims, err := c.constant(n, 2, "C")
		if err != nil {
			return err
		}
		full, ok := broadcastBias(cv, cdims, out)
		if !ok {
			return fmt.Errorf("%s: input C %s has shape %v; want a shape that broadcasts to [batch, %d] without the batch: [], [1], [%d] or [1, %d]", ref(n), model.Quote(n.inputs[2]), cdims, out, out, out)
		}
		for i, v := range full {
			bias[i] = beta * v
		}
	}
	return c.addLayer(n, k, out, w, bias)
}

func (c *converter) matmul(n *nodeProto) error {
	if len(n.inputs) != 2 || n.inputs[0] != c.cur {
		return fmt.Errorf("%s: first input must be %s, the tensor the chain has reached, and the second the weights", ref(n), model.Quote(c.cur))
	}
	b, dims, err := c.constant(n, 1, "B")
	if err != nil {
		return err
	}
	if len(dims) != 2 {
		return fmt.Errorf("%s: input B %s has shape %v, want 2-D [inputs, outputs]", ref(n), model.Quote(n.inputs[1]), dims)
	}
	k, out := int(dims[0]), int(dims[1])
	if k != c.width {
		return fmt.Errorf("%s: input B %s has shape %v: %d inputs, but the chain carries %d", ref(n), model.Quote(n.inputs[1]), dims, k, c.width)
	}
	w := make([]float64, out*k)
	for o := 0; o < out; o++ {
		for i := 0; i < k; i++ {
			w[o*k+i] = b[i*out+o]
		}
	}
	return c.addLayer(n, k, out, w, make([]float64, out))
}

// addLayer appends a layer of out units over in inputs, folding in a
// pending Scaler, and moves the chain to n's output.
func (c *converter) addLayer(n *nodeProto, in, out int, w, bias []float64) error {
	if in == 0 || out == 0 {
		return fmt.Errorf("%s: a layer of %d×%d weights", ref(n), out, in)
	}
	if s := c.scaler; s != nil && c.opts.scalerLayer {
		if in > 1<<12 {
			return fmt.Errorf("%s: %d features are too many for a diagonal layer", ref(s.node), in)
		}
		diag := model.Layer{In: in, Out: in, Weights: make([]float64, in*in), Bias: make([]float64, in)}
		for j := 0; j < in; j++ {
			diag.Weights[j*in+j] = at(s.scale, j)
			diag.Bias[j] = -at(s.offset, j) * at(s.scale, j)
		}
		c.layers = append(c.layers, diag)
		c.scaler = nil
	}
	if s := c.scaler; s != nil {
		// (x - offset)·scale into W x + b: W' = W·diag(scale),
		// b' = b - W'·offset. See "Scaler" in doc.go for the measured
		// rounding of this fold against a separate diagonal layer.
		for o := 0; o < out; o++ {
			row := w[o*in : (o+1)*in]
			var sum float64
			for j := range row {
				row[j] *= at(s.scale, j)
				sum += row[j] * at(s.offset, j)
			}
			bias[o] -= sum
		}
		c.scaler = nil
	}
	for i, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: weight [%d][%d] is %v after applying alpha and the Scaler", ref(n), i/in, i%in, v)
		}
	}
	for i, v := range bias {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: bias [%d] is %v after applying beta and the Scaler", ref(n), i, v)
		}
	}
	c.layers = append(c.layers, model.Layer{In: in, Out: out, Weights: w, Bias: bias})
	c.width = out
	c.stage = stageLinear
	c.cur = n.outputs[0]
	return nil
}

func (c *converter) add(n *nodeProto) error {
	if c.stage != stageLinear {
		return fmt.Errorf("%s: predictd reads Add only as the bias of the Gemm or MatMul right before it", ref(n))
	}
	if len(n.inputs) != 2 {
		return fmt.Errorf("%s: %d inputs, want 2", ref(n), len(n.inputs))
	}
	other := 1
	if n.inputs[1] == c.cur {
		other = 0
	}
	if n.inputs[1-other] != c.cur {
		return fmt.Errorf("%s: neither input is %s, the tensor the chain has reached", ref(n), model.Quote(c.cur))
	}
	v, dims, err := c.constant(n, other, "bias")
	if err != nil {
		return err
	}
	full, ok := broadcastBias(v, dims, c.width)
	if !ok {
		return fmt.Errorf("%s: bias %s has shape %v; want [], [1], [%d] or [1, %d]", ref(n), model.Quote(n.inputs[other]), dims, c.width, c.width)
	}
	l := &c.layers[len(c.layers)-1]
	for i, x := range full {
		l.Bias[i] += x
	}
	c.cur = n.outputs[0]
	return nil
}

var activations = map[string]kernels.Activation{
	"Relu": kernels.ActReLU, "Tanh": kernels.ActTanh, "Sigmoid": kernels.ActSigmoid,
}

func (c *converter) activation(n *nodeProto) error {
	if c.stage != stageLinear {
		return fmt.Errorf("%s: an activation must follow a Gemm or MatMul (with its Add)", ref(n))
	}
	c.layers[len(c.layers)-1].Activation = activations[n.opType]
	c.actNode = n
	c.stage = stageActivated
	return c.advance(n)
}

func (c *converter) softmax(n *nodeProto) error {
	if c.stage != stageLinear {
		return fmt.Errorf("%s: Softmax must directly follow the last Gemm or MatMul (with its Add)", ref(n))
	}
	axis, err := c.intAttr(n, "axis", -1)
	if err != nil {
		return err
	}
	// Opset 13 defaults to -1, earlier opsets to 1; on [batch, k] both are
	// the class axis.
	if axis != 1 && axis != -1 {
		return fmt.Errorf("%s: axis %d; predictd applies softmax over the last axis of [batch, classes] (axis 1 or -1)", ref(n), axis)
	}
	if c.width < 2 {
		return fmt.Errorf("%s: softmax over %d unit; a binary model needs Sigmoid on one unit, or Softmax on two", ref(n), c.width)
	}
	c.link, c.task = model.LinkSoftmax, model.TaskMulticlass
	c.stage, c.finalNode = stageDone, n
	return c.advance(n)
}

func (c *converter) scale(n *nodeProto) error {
	if c.stage != stageInput || c.scaler != nil {
		return fmt.Errorf("%s: predictd reads one Scaler, before the first layer", ref(n))
	}
	offset, err := c.floatsAttr(n, "offset")
	if err != nil {
		return err
	}
	scale, err := c.floatsAttr(n, "scale")
	if err != nil {
		return err
	}
	if len(offset) == 0 {
		offset = []float64{0}
	}
	if len(scale) == 0 {
		scale = []float64{1}
	}
	if len(offset) != 1 && len(offset) != c.width || len(scale) != 1 && len(scale) != c.width {
		return fmt.Errorf("%s: offset has %d values and scale %d, want 1 or %d (the features) each", ref(n), len(offset), len(scale), c.width)
	}
	c.scaler = &scaler{node: n, offset: offset, scale: scale}
	return c.advance(n)
}

// classLabels returns a LinearClassifier's labels as text: exactly one of
// classlabels_ints and classlabels_strings must be set.
func (c *converter) classLabels(n *nodeProto) ([]string, error) {
	ints, strs := c.attr(n, "classlabels_ints"), c.attr(n, "classlabels_strings")
	switch {
	case ints != nil && strs != nil:
		return nil, fmt.Errorf("%s: both classlabels_ints and classlabels_strings are set; the spec allows one", ref(n))
	case ints != nil:
		out := make([]string, len(ints.ints))
		for i, v := range ints.ints {
			out[i] = strconv.FormatInt(v, 10)
		}
		return out, nil
	case strs != nil:
		return slices.Clone(strs.strings), nil
	}
	return nil, fmt.Errorf("%s: neither classlabels_ints nor classlabels_strings is set; the spec requires one", ref(n))
}

// linearCoefficients reads coefficients (rows × width, row-major) and
// intercepts (rows values, or none) of an ML linear operator.
func (c *converter) linearCoefficients(n *nodeProto, rows int) (w, b []float64, err error) {
	w, err = c.floatsAttr(n, "coefficients")
	if err != nil {
		return nil, nil, err
	}
	b, err = c.floatsAttr(n, "intercepts")
	if err != nil {
		return nil, nil, err
	}
	if rows > 0 && len(w) != rows*c.width {
		// LinearRegressor: targets fixes the rows.
		return nil, nil, fmt.Errorf("%s: %d coefficients for targets=%d and %d features, want %d", ref(n), len(w), rows, c.width, rows*c.width)
	}
	if rows == 0 {
		// LinearClassifier: as many rows as intercepts, or as the
		// coefficients hold whole rows of features.
		if len(b) > 0 {
			rows = len(b)
		} else if len(w)%c.width == 0 {
			rows = len(w) / c.width
		}
	}
	if rows == 0 || len(w) != rows*c.width {
		return nil, nil, fmt.Errorf("%s: %d coefficients and %d intercepts for %d features; want %d coefficients per row (class or target) and one intercept per row", ref(n), len(w), len(b), c.width, c.width)
	}
	if len(b) == 0 {
		b = make([]float64, rows)
	}
	if len(b) != rows {
		return nil, nil, fmt.Errorf("%s: %d intercepts for %d coefficient rows", ref(n), len(b), rows)
	}
	return w, b, nil
}

func (c *converter) linearClassifier(n *nodeProto) error {
	if c.stage != stageInput {
		return fmt.Errorf("%s: a LinearClassifier must come before any other layer", ref(n))
	}
	if len(n.outputs) < 2 || n.outputs[1] == "" {
		return fmt.Errorf("%s: no scores output (the second output, Z); predictd serves scores, not labels", ref(n))
	}
	labels, err := c.classLabels(n)
	if err != nil {
		return err
	}
	post, err := c.stringAttr(n, "post_transform", "NONE")
	if err != nil {
		return err
	}
	w, b, err := c.linearCoefficients(n, 0)
	if err != nil {
		return err
	}
	f := c.width
	rows := len(b)
	if rows == 1 && len(labels) != 2 {
		return fmt.Errorf("%s: one coefficient row (binary) needs 2 class labels, got %d", ref(n), len(labels))
	}
	if rows > 1 && len(labels) != rows {
		return fmt.Errorf("%s: %d coefficient rows but %d class labels", ref(n), rows, len(labels))
	}
	// skl2onnx writes a binary model as two mirrored rows [-w; w], [-b, b],
	// so that the scores are [1-p, p] (LOGISTIC) or [-m, m] (NONE).
	mirrored := rows == 2 && b[1] == -b[0]
	for j := 0; mirrored && j < f; j++ {
		mirrored = w[f+j] == -w[j]
	}
	binary := rows == 1 || mirrored
	var lw, lb []float64
	if binary {
		// The positive class's row: the only one, or the second.
		lw, lb = w[(rows-1)*f:], b[rows-1:]
	}
	switch post {
	case "LOGISTIC":
		// With one row and two labels, onnxruntime (1.30) and the ONNX
		// reference evaluator both give [1-p, p] with p = sigmoid(score).
		c.link = model.LinkSigmoid
	case "NONE":
		// With one row, onnxruntime gives [1-s, s] and the reference
		// [-s, s]: they agree on the positive class's score s, which is
		// what predictd outputs.
		c.link, c.scores = model.LinkIdentity, true
	case "SOFTMAX":
		switch {
		case rows == 1:
			return fmt.Errorf("%s: post_transform SOFTMAX with one coefficient row is ambiguous (onnxruntime outputs [1-s, s] untransformed, the ONNX reference softmax([-s, s])); write one row per class", ref(n))
		case rows == 2:
			// softmax(m0, m1)[1] = sigmoid(m1 - m0): one row.
			lw = make([]float64, f)
			for j := range lw {
				lw[j] = w[f+j] - w[j]
			}
			lb = []float64{b[1] - b[0]}
			binary = true
			c.link = model.LinkSigmoid
		default:
			c.link = model.LinkSoftmax
		}
	default:
		return fmt.Errorf("%s: post_transform %s not supported (supported: NONE, LOGISTIC, SOFTMAX)", ref(n), model.Quote(post))
	}
	if binary {
		c.task, c.labels = model.TaskBinary, labels
	} else {
		lw, lb = w, b
		c.task, c.labels = model.TaskMulticlass, labels
	}
	c.ignored[n.outputs[0]] = n.outputs[0] != ""
	if err := c.addLayer(n, f, len(lb), slices.Clone(lw), slices.Clone(lb)); err != nil {
		return err
	}
	c.cur = n.outputs[1]
	c.stage, c.finalNode = stageDone, n
	return nil
}

func (c *converter) linearRegressor(n *nodeProto) error {
	if c.stage != stageInput {
		return fmt.Errorf("%s: a LinearRegressor must come before any other layer", ref(n))
	}
	post, err := c.stringAttr(n, "post_transform", "NONE")
	if err != nil {
		return err
	}
	if post != "NONE" {
		return fmt.Errorf("%s: post_transform %s not supported (supported: NONE)", ref(n), model.Quote(post))
	}
	targets, err := c.intAttr(n, "targets", 1)
	if err != nil {
		return err
	}
	if targets < 1 || targets > math.MaxInt32 {
		return fmt.Errorf("%s: targets %d, want a positive number", ref(n), targets)
	}
	w, b, err := c.linearCoefficients(n, int(targets))
	if err != nil {
		return err
	}
	c.link, c.task = model.LinkIdentity, model.TaskRegression
	if err := c.addLayer(n, c.width, int(targets), w, b); err != nil {
		return err
	}
	c.stage, c.finalNode = stageDone, n
	return nil
}
