package onnx

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

const mlDomain = "ai.onnx.ml"

// supported lists the operators Parse maps, by domain-qualified name.
var supported = map[string]bool{
	"Identity": true, "Flatten": true, "Reshape": true, "Constant": true,
	"Gemm": true, "MatMul": true, "Add": true,
	"Relu": true, "Tanh": true, "Sigmoid": true, "Softmax": true,
	"Cast": true, "Concat": true, "Gather": true, "Sub": true, "ArgMax": true,
	mlDomain + ".Scaler": true, mlDomain + ".LinearClassifier": true,
	mlDomain + ".LinearRegressor": true, mlDomain + ".ZipMap": true,
	mlDomain + ".Imputer": true, mlDomain + ".OneHotEncoder": true,
	mlDomain + ".Normalizer": true, mlDomain + ".ArrayFeatureExtractor": true,
	mlDomain + ".TreeEnsembleClassifier": true, mlDomain + ".TreeEnsembleRegressor": true,
}

const supportedList = "Identity, Flatten, Reshape, Constant, Cast, Concat, Gather, Gemm, MatMul, Add, Sub, Relu, Tanh, Sigmoid, Softmax, ArgMax; " +
	mlDomain + ": Scaler, Imputer, OneHotEncoder, Normalizer, ArrayFeatureExtractor, LinearClassifier, LinearRegressor, TreeEnsembleClassifier, TreeEnsembleRegressor, ZipMap"

// opKey is the node's operator qualified by its domain ("" and "ai.onnx"
// are the default domain and stay unqualified).
func opKey(n *nodeProto) string {
	if n.domain == "" || n.domain == "ai.onnx" {
		return n.opType
	}
	return n.domain + "." + n.opType
}

// ref names a node for messages: by its name, or by its position when it
// has none. Names, and operators Parse does not know, come from the file
// and are quoted with model.Quote.
func ref(n *nodeProto) string {
	op := opKey(n)
	if !supported[op] && !plainOp(op) {
		op = model.Quote(op)
	}
	if n.name == "" {
		return fmt.Sprintf("node %d (op %s, unnamed)", n.index, op)
	}
	return fmt.Sprintf("node %s (op %s)", model.Quote(n.name), op)
}

// plainOp reports whether an operator name can go in a message unquoted:
// a short name of letters, digits, '.' and '_', as real operators are
// ("Conv", "com.microsoft.FusedGemm").
func plainOp(op string) bool {
	if op == "" || len(op) > model.QuoteMaxBytes {
		return false
	}
	for _, c := range op {
		if !(c == '.' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// maxListed is how many names a message lists before it says how many
// there are in all.
const maxListed = 4

// nameList joins up to maxListed of names, the first of total, for a
// message.
func nameList(names []string, total int) string {
	if total <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, ... (%d in all)", strings.Join(names[:maxListed], ", "), total)
}

// stage is where the chain walk stands.
type stage int

const (
	// stageInput: before the first linear layer (Flatten, Reshape, Scaler
	// and the ML linear operators go here).
	stageInput stage = iota
	// stageLinear: just after a Gemm or MatMul (or an Add into its bias);
	// the layer has no activation yet.
	stageLinear
	// stageActivated: the last layer has its activation.
	stageActivated
	// stageDone: the output transform is fixed (Softmax, or an ML linear
	// operator); only Identity and ZipMap may follow.
	stageDone
)

// Parse reads an ONNX model (a serialized ModelProto) of a dense network
// or an ai.onnx.ml linear model and returns it as a *model.Dense. Errors
// name the node (by name, or by position if it has none), its operator,
// and the input or attribute at fault.
func Parse(data []byte) (*model.Imported, error) {
	return parse(data, options{})
}

// options are the choices Parse makes that tests compare alternatives of.
type options struct {
	// scalerLayer keeps a Scaler as its own diagonal layer instead of
	// folding it into the next layer: the alternative doc.go measures
	// ("Scaler"), kept for TestScalerFold and BenchmarkScaler.
	scalerLayer bool
}

func parse(data []byte, opts options) (*model.Imported, error) {
	m, err := decodeModel(data)
	if err != nil {
		return nil, fmt.Errorf("not a valid ONNX model: %w", err)
	}
	if m.graph == nil {
		return nil, errors.New("model has no graph")
	}
	if _, ok := m.opsets[""]; !ok {
		return nil, errors.New("model imports no opset for the default domain (opset_import); it is not a complete ONNX model")
	}
	c := &converter{m: m, g: m.graph, opts: opts}
	imp, err := c.run()
	if err != nil {
		return nil, err
	}
	imp.Source = model.Source{Format: "onnx", Library: m.producerName, LibraryVersion: m.producerVersion}
	if c.double && imp.Kind == model.KindMLP {
		// ONNX Runtime runs a graph of DOUBLE tensors in float64: so
		// does predictd (a float graph defaults to float32).
		imp.Precision = model.PrecisionFloat64
	}
	return imp, nil
}

// converter walks the graph from its input along the single chain of
// nodes and builds the layers.
type converter struct {
	m    *modelProto
	g    *graphProto
	opts options

	consts    map[string]*tensorProto // initializers and Constant outputs
	consumers map[string][]*nodeProto
	// constNodes are the nodes index evaluated (Constant, Identity of a
	// constant); they are not on the chain.
	constNodes map[*nodeProto]bool
	visited    map[*nodeProto]bool
	ignored    map[string]bool // the classifier's label output and what derives from it

	// The feature path (graph.go): raw input columns, the blocks of
	// columns computed from them, and what the model takes.
	raws       []rawCol
	inputNames []string
	blocks     map[string]*block
	scalerNode *nodeProto
	featNames  []string
	transform  *transform.Pipeline
	double     bool // the model reads DOUBLE tensors
	ens        *ensemble

	cur       string // the tensor flowing along the chain
	rank      int
	width     int // features (or units) of cur, per row
	stage     stage
	layers    []model.Layer
	actNode   *nodeProto // node that set the last layer's activation
	scaler    *scaler    // a Scaler not yet folded into a layer
	link      model.Link
	task      model.Task
	scores    bool     // a classifier with NONE: outputs are scores, not probabilities
	labels    []string // class labels, per output (may be nil)
	finalNode *nodeProto
}

// scaler is an ai.onnx.ml Scaler: y = (x - offset) * scale, each of
// length 1 (broadcast) or the row width.
type scaler struct {
	node          *nodeProto
	offset, scale []float64
}

func at(v []float64, j int) float64 {
	if len(v) == 1 {
		return v[0]
	}
	return v[j]
}

func (c *converter) run() (*model.Imported, error) {
	if err := c.index(); err != nil {
		return nil, err
	}
	if err := c.setInputs(); err != nil {
		return nil, err
	}
	c.visited = map[*nodeProto]bool{}
	c.ignored = map[string]bool{}
	entry, err := c.preprocess()
	if err != nil {
		return nil, err
	}
	if entry == nil {
		return nil, fmt.Errorf("graph has no Gemm, MatMul, LinearClassifier, LinearRegressor or TreeEnsemble node reading input %s", c.inputList())
	}
	// The block the model reads: its first input, or (for a Gemm or MatMul
	// that reads the features second) the one the chain then refuses.
	for _, in := range entry.inputs {
		if c.blocks[in] != nil {
			c.cur = in
			break
		}
	}
	if err := c.modelInput(entry, c.blocks[c.cur]); err != nil {
		return nil, err
	}
	for {
		cons := c.consumers[c.cur]
		if c.stage == stageDone {
			cons = c.dropLabels(cons)
		}
		if len(cons) == 0 {
			break
		}
		for _, n := range cons {
			if !supported[opKey(n)] {
				return nil, unsupported(n)
			}
		}
		if len(cons) == 2 && c.stage == stageActivated {
			if ok, err := c.binaryPair(cons); ok || err != nil {
				if err != nil {
					return nil, err
				}
				continue
			}
		}
		if len(cons) > 1 {
			names := make([]string, min(len(cons), maxListed))
			for i := range names {
				names[i] = ref(cons[i])
			}
			return nil, fmt.Errorf("tensor %s feeds %d nodes (%s); predictd imports a single chain of nodes", model.Quote(c.cur), len(cons), nameList(names, len(cons)))
		}
		n := cons[0]
		if c.visited[n] {
			return nil, fmt.Errorf("%s: the graph has a cycle", ref(n))
		}
		c.visited[n] = true
		if err := c.step(n); err != nil {
			return nil, err
		}
	}
	if err := c.checkCovered(); err != nil {
		return nil, err
	}
	return c.finish()
}

// inputList names the graph inputs for a message.
func (c *converter) inputList() string {
	names := make([]string, min(len(c.inputNames), maxListed))
	for i := range names {
		names[i] = model.Quote(c.inputNames[i])
	}
	return nameList(names, len(c.inputNames))
}

// index collects the constants (initializers, Constant nodes, and
// Identity nodes over constants, which some exporters write for shared
// weights) and maps each other tensor to the nodes that consume it.
func (c *converter) index() error {
	c.consts = map[string]*tensorProto{}
	c.constNodes = map[*nodeProto]bool{}
	for i := range c.g.initializers {
		t := &c.g.initializers[i]
		c.consts[t.name] = t
	}
	c.consumers = map[string][]*nodeProto{}
	for i := range c.g.nodes {
		n := &c.g.nodes[i]
		key := opKey(n)
		if n.domain == mlDomain && supported[key] {
			if _, ok := c.m.opsets[mlDomain]; !ok {
				return fmt.Errorf("%s: domain %s is not imported by the model (opset_import)", ref(n), mlDomain)
			}
		}
		if len(n.outputs) == 0 || n.outputs[0] == "" {
			return fmt.Errorf("%s: no output", ref(n))
		}
		switch {
		case key == "Constant":
			t, err := constantValue(n)
			if err != nil {
				return err
			}
			c.consts[n.outputs[0]], c.constNodes[n] = t, true
			continue
		case key == "Identity" && len(n.inputs) == 1 && c.consts[n.inputs[0]] != nil:
			c.consts[n.outputs[0]], c.constNodes[n] = c.consts[n.inputs[0]], true
			continue
		}
		for _, in := range n.inputs {
			// A node that reads a tensor twice consumes it once.
			if l := c.consumers[in]; in == "" || len(l) > 0 && l[len(l)-1] == n {
				continue
			}
			c.consumers[in] = append(c.consumers[in], n)
		}
	}
	return nil
}

// unsupported is the error for a node whose operator Parse does not map.
func unsupported(n *nodeProto) error {
	hint := ""
	if supported[mlDomain+"."+n.opType] {
		hint = fmt.Sprintf("; %s is supported in domain %s, this node's domain is %s", n.opType, mlDomain, model.Quote(n.domain))
	} else if supported[n.opType] {
		hint = fmt.Sprintf("; %s is supported in the default domain, this node's domain is %s", n.opType, model.Quote(n.domain))
	}
	return fmt.Errorf("%s: operator not supported (supported: %s)%s", ref(n), supportedList, hint)
}

func constantValue(n *nodeProto) (*tensorProto, error) {
	for _, a := range n.attrs {
		if a.name == "value" && a.t != nil {
			return a.t, nil
		}
	}
	return nil, fmt.Errorf("%s: predictd reads a Constant only through its tensor attribute \"value\"", ref(n))
}

// step maps one node of the chain.
func (c *converter) step(n *nodeProto) error {
	key := opKey(n)
	if !supported[key] {
		return unsupported(n)
	}
	if c.stage == stageDone && !afterOutput[key] {
		return fmt.Errorf("%s follows %s, which fixes the model's output; only Identity, Cast, Reshape, Flatten (and ZipMap, or a Normalizer after a LinearClassifier) may follow it", ref(n), ref(c.finalNode))
	}
	if c.rank != 2 && key != "Flatten" && key != "Reshape" && key != "Identity" {
		return fmt.Errorf("%s gets a rank-%d tensor %s; flatten it to [batch, features] first (Flatten with axis=1)", ref(n), c.rank, model.Quote(c.cur))
	}
	switch key {
	case "Identity":
		return c.advance(n)
	case "Flatten":
		return c.flatten(n)
	case "Reshape":
		return c.reshape(n)
	case "Gemm":
		return c.gemm(n)
	case "MatMul":
		return c.matmul(n)
	case "Add":
		return c.add(n)
	case "Relu", "Tanh", "Sigmoid":
		return c.activation(n)
	case "Softmax":
		return c.softmax(n)
	case mlDomain + ".Scaler":
		return c.scale(n)
	case mlDomain + ".LinearClassifier":
		return c.linearClassifier(n)
	case mlDomain + ".LinearRegressor":
		return c.linearRegressor(n)
	case mlDomain + ".ZipMap":
		if c.task == model.TaskRegression {
			return fmt.Errorf("%s: ZipMap after a regression output", ref(n))
		}
		return c.advance(n)
	case "Cast":
		to, err := c.intAttr(n, "to", 0)
		if err != nil {
			return err
		}
		if to != dtFloat && to != dtDouble {
			return fmt.Errorf("%s: cast to %s; predictd reads Cast to FLOAT or DOUBLE after the model's first operator", ref(n), dataTypeName(to))
		}
		return c.advance(n)
	case mlDomain + ".Normalizer":
		return c.normalizeScores(n)
	case mlDomain + ".TreeEnsembleClassifier", mlDomain + ".TreeEnsembleRegressor":
		return c.treeNode(n)
	case "Sub", "Concat", "Gather", "ArgMax", mlDomain + ".ArrayFeatureExtractor", mlDomain + ".Imputer", mlDomain + ".OneHotEncoder":
		return fmt.Errorf("%s: predictd reads %s before the model's first operator (Concat and Sub also as the [1-p, p] after a binary Sigmoid, ArgMax and ArrayFeatureExtractor in the class label branch), not after %s", ref(n), n.opType, model.Quote(c.cur))
	}
	panic("BUG: supported operator without a mapping: " + key)
}

// afterOutput are the operators that may follow the one that fixes the
// model's output: they leave the values as they are (Normalizer: see
// normalizeScores).
var afterOutput = map[string]bool{
	"Identity": true, "Cast": true, "Reshape": true, "Flatten": true,
	mlDomain + ".ZipMap": true, mlDomain + ".Normalizer": true,
}

// checkCovered refuses graphs that compute more than the chain: every node
// must be on it, be a constant, or derive only from a classifier's label
// output; every graph output must be the chain's end or such a label. One
// pass in node order finds the label's descendants: the spec requires
// nodes in topological order.
func (c *converter) checkCovered() error {
	for i := range c.g.nodes {
		n := &c.g.nodes[i]
		if c.visited[n] || c.constNodes[n] {
			continue
		}
		fromLabel := false
		for _, in := range n.inputs {
			if in == "" {
				continue
			}
			if _, isConst := c.consts[in]; isConst {
				continue
			}
			if !c.ignored[in] {
				fromLabel = false
				break
			}
			fromLabel = true
		}
		if fromLabel {
			c.visited[n] = true
			for _, out := range n.outputs {
				c.ignored[out] = out != ""
			}
		}
	}
	for i := range c.g.nodes {
		n := &c.g.nodes[i]
		if c.visited[n] || c.constNodes[n] {
			continue
		}
		if !supported[opKey(n)] {
			return unsupported(n)
		}
		return fmt.Errorf("%s is not on the path from input %s to the output; predictd imports graphs whose nodes all compute the model's features or output (or its class label)", ref(n), c.inputList())
	}
	found := false
	for _, o := range c.g.outputs {
		switch {
		case o.name == c.cur:
			found = true
		case c.ignored[o.name]:
		default:
			return fmt.Errorf("graph output %s is not computed by the chain, which ends at %s", model.Quote(o.name), model.Quote(c.cur))
		}
	}
	if !found {
		return fmt.Errorf("the chain ends at tensor %s, which is not a graph output", model.Quote(c.cur))
	}
	return nil
}

// finish fixes the link and task, validates, and names the outputs.
func (c *converter) finish() (*model.Imported, error) {
	if c.ens != nil {
		return c.finishTrees()
	}
	if len(c.layers) == 0 {
		return nil, fmt.Errorf("graph has no Gemm, MatMul, LinearClassifier or LinearRegressor after input %s", c.inputList())
	}
	last := &c.layers[len(c.layers)-1]
	switch c.stage {
	case stageLinear:
		c.link, c.task = model.LinkIdentity, model.TaskRegression
	case stageActivated:
		if last.Activation != kernels.ActSigmoid {
			return nil, fmt.Errorf("%s ends the graph; predictd's output transforms are identity, Sigmoid and Softmax", ref(c.actNode))
		}
		c.link = model.LinkSigmoid
		c.task = model.TaskBinary
		if last.Out > 1 {
			// Independent sigmoids: one-vs-rest or multi-label.
			c.task = model.TaskMulticlass
		}
	}
	last.Activation = kernels.ActIdentity
	d := &model.Dense{Layers: c.layers, Link: c.link}
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("BUG: imported dense model is invalid: %v", err)
	}
	imp := &model.Imported{Kind: model.KindMLP, Task: c.task, Model: d}
	if len(c.layers) == 1 {
		imp.Kind = model.KindLinear
	}
	if c.task == model.TaskMulticlass {
		imp.Classes = last.Out
	}
	c.setFeatures(imp)
	imp.Outputs, imp.RawOutputs = c.outputs(last.Out)
	c.setClassLabels(imp)
	return imp, nil
}

// setClassLabels gives a classifier imp the graph's class labels as its
// ClassLabels when they name its classes (one each, as
// model.CheckClassLabels wants) and it has a class label to name
// (model.HasClassLabel); otherwise they stay in the outputs' meanings only.
func (c *converter) setClassLabels(imp *model.Imported) {
	if c.labels == nil || !model.HasClassLabel(imp.Task, imp.Model.NumOutputs(), model.LinkOf(imp.Model)) {
		return
	}
	if model.CheckClassLabels(imp.Task, imp.Classes, c.labels) == nil {
		imp.ClassLabels = slices.Clone(c.labels)
	}
}

// setFeatures gives imp the model's feature names and transform.
func (c *converter) setFeatures(imp *model.Imported) {
	imp.Features = make([]model.Feature, len(c.featNames))
	for j, name := range c.featNames {
		imp.Features[j] = model.Feature{Name: name, Type: model.FeatureFloat}
	}
	imp.Transform = c.transform
}

// outputs names the predictions and margins. Classifiers follow
// model.DefaultOutputs, with the class labels in the meanings when the
// file has them; regression with k > 1 targets gives value0..value{k-1}.
func (c *converter) outputs(k int) (outputs, raw []model.Output) {
	switch {
	case c.task == model.TaskRegression:
		if k == 1 {
			return []model.Output{{Name: "value", Meaning: "predicted value"}},
				[]model.Output{{Name: "margin", Meaning: "predicted value (the link is identity)"}}
		}
		for j := 0; j < k; j++ {
			outputs = append(outputs, model.Output{Name: fmt.Sprintf("value%d", j), Meaning: fmt.Sprintf("predicted value of target %d (column %d of %s)", j, j, model.Quote(c.cur))})
			raw = append(raw, model.Output{Name: fmt.Sprintf("margin%d", j), Meaning: fmt.Sprintf("predicted value of target %d (the link is identity)", j)})
		}
		return outputs, raw
	case c.scores && c.task == model.TaskMulticlass:
		for j := 0; j < k; j++ {
			outputs = append(outputs, model.Output{Name: fmt.Sprintf("score%d", j), Meaning: "untransformed score of class " + c.label(j)})
			raw = append(raw, model.Output{Name: fmt.Sprintf("margin%d", j), Meaning: "untransformed score of class " + c.label(j)})
		}
		return outputs, raw
	}
	outputs, raw = model.DefaultOutputs(c.task, k, c.link)
	if c.labels == nil {
		return outputs, raw
	}
	if c.task == model.TaskBinary {
		switch c.link {
		case model.LinkSigmoid, model.LinkProbability:
			outputs[0].Meaning = "probability of class " + c.label(1) + "; class " + c.label(0) + " has 1-p"
		default:
			outputs[0].Meaning = "untransformed score; higher means class " + c.label(1) + ", lower class " + c.label(0)
		}
		raw[0].Meaning = "raw margin of class " + c.label(1)
		return outputs, raw
	}
	for j := range outputs {
		outputs[j].Meaning = strings.Replace(outputs[j].Meaning, fmt.Sprintf("class %d", j), "class "+c.label(j), 1)
		raw[j].Meaning = "raw margin of class " + c.label(j)
	}
	return outputs, raw
}

// label describes class j by its ONNX label.
func (c *converter) label(j int) string {
	return fmt.Sprintf("%d (label %s)", j, model.Quote(c.labels[j]))
}
