package onnx

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestSmallParses(t *testing.T) {
	imp, err := Parse(small().model())
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{0.3, -1.2, 2.5, 0.75, -0.5, 1, -2, 3}
	got := imp.Model.Predict(nil, x, false)
	for r := 0; r < 2; r++ {
		want := smallWant(x[4*r : 4*r+4])
		for j, w := range want {
			if math.Abs(got[2*r+j]-w) > 1e-15 {
				t.Errorf("row %d: Predict = %v, want %v", r, got[2*r:2*r+2], want)
			}
		}
	}
}

// TestErrors checks that each broken graph is refused with a message that
// names the node, its operator and what to change.
func TestErrors(t *testing.T) {
	type mut func(g *gr)
	setNode := func(i int, n nd) mut { return func(g *gr) { g.nodes[i] = n } }
	// insert puts n before node i, which then reads n's output.
	insert := func(i int, n nd) mut {
		return func(g *gr) {
			g.nodes = append(g.nodes[:i], append([]nd{n}, g.nodes[i:]...)...)
			g.nodes[i+1].in = append([]string{n.out[0]}, g.nodes[i+1].in[1:]...)
		}
	}
	setInit := func(i int, t pb) mut { return func(g *gr) { g.inits[i] = t } }
	lc := func(attrs ...pb) mut {
		return func(g *gr) {
			g.nodes = []nd{{"ml.LinearClassifier", "lc", ins("x"), ins("label", "scores"), attrs}}
			g.inits = nil
			g.outputs = []pb{vinfo("label", dtInt64, "N"), vinfo("scores", dtFloat, "N", 2)}
		}
	}
	coef8 := attrFloats("coefficients", 1, 2, 3, 4, 5, 6, 7, 8)
	for _, tc := range []struct {
		name string
		mut  mut
		want string
	}{
		{"unsupported op named", insert(2, nd{"LayerNormalization", "fc3", ins("a1"), ins("ln"), nil}),
			`node "fc3" (op LayerNormalization): operator not supported (supported: Identity, Flatten, Reshape, Constant, Cast, Concat, Gather, Gemm, MatMul, Add, Sub, Relu, Tanh, Sigmoid, Softmax, ArgMax; ai.onnx.ml: Scaler, Imputer, OneHotEncoder, Normalizer, ArrayFeatureExtractor, LinearClassifier, LinearRegressor, TreeEnsembleClassifier, TreeEnsembleRegressor, ZipMap)`},
		{"unsupported op unnamed", setNode(1, nd{"Elu", "", ins("h1"), ins("a1"), nil}),
			`node 1 (op Elu, unnamed): operator not supported`},
		{"unsupported op off the chain", func(g *gr) {
			g.nodes = append(g.nodes, nd{"Conv", "side", ins("w1", "w2"), ins("c"), nil})
		}, `node "side" (op Conv): operator not supported`},
		{"custom domain", setNode(0, nd{"com.microsoft:FusedGemm", "fc1", ins("x", "w1", "b1"), ins("h1"), nil}),
			`node "fc1" (op com.microsoft.FusedGemm): operator not supported`},
		{"ml op in default domain", insert(0, nd{"Scaler", "s", ins("x"), ins("xs"), nil}),
			`Scaler is supported in domain ai.onnx.ml, this node's domain is ""`},
		{"two inputs, same name", func(g *gr) { g.inputs = append(g.inputs, vinfo("x", dtFloat, "N", 1)) },
			`input "x" is listed twice`},
		{"two inputs, same feature name", func(g *gr) { g.inputs = append(g.inputs, vinfo("x_1", dtFloat, "N", 1)) },
			`inputs "x" and "x_1" both give a feature named "x_1"; rename one input`},
		{"no input", func(g *gr) { g.inputs = nil }, `graph has no input`},
		{"dynamic features", func(g *gr) { g.inputs[0] = vinfo("x", dtFloat, "N", "F") },
			`input "x" dimension 1 is "F"; the feature dimensions must be fixed`},
		{"bool input", func(g *gr) { g.inputs[0] = vinfo("x", 9, "N", 4) },
			`input "x" has element type BOOL; predictd's features are FLOAT, DOUBLE, INT64 or STRING`},
		{"rank 1 input", func(g *gr) { g.inputs[0] = vinfo("x", dtFloat, 4) }, `input "x" has rank 1; want [batch, features]`},
		{"no shape", func(g *gr) { g.inputs[0] = pb(nil).str(1, "x").bytes(2, pb(nil).bytes(1, pb(nil).varint(1, dtFloat))) },
			`input "x" has no shape`},
		{"transA", setNode(0, nd{"Gemm", "fc1", ins("x", "w1", "b1"), ins("h1"), []pb{attrI("transB", 1), attrI("transA", 1)}}),
			`node "fc1" (op Gemm): transA=1`},
		{"weights not constant", setNode(0, nd{"Gemm", "fc1", ins("x", "wx", "b1"), ins("h1"), []pb{attrI("transB", 1)}}),
			`node "fc1" (op Gemm): input B "wx" is not an initializer or Constant`},
		{"weights first", setNode(0, nd{"Gemm", "fc1", ins("w1", "x", "b1"), ins("h1"), []pb{attrI("transB", 1)}}),
			`node "fc1" (op Gemm): input A must be "x"`},
		{"shape mismatch", setNode(0, nd{"Gemm", "fc1", ins("x", "w1", "b1"), ins("h1"), nil}),
			`node "fc1" (op Gemm): input B "w1" has shape [3 4] (transB=0): 3 inputs, but the chain carries 4`},
		{"bias shape", setInit(1, tensor("b1", []int64{3, 1}, 1, 2, 3)),
			`node "fc1" (op Gemm): input C "b1" has shape [3 1]`},
		{"nan weight", setInit(0, tensor("w1", []int64{3, 4}, 1, 0, 0, float32(math.NaN()), 0, 1, 0, 0, 0, 0, 1, -1)),
			`node "fc1" (op Gemm): input B "w1": element 3 is NaN`},
		{"float16 weights", setInit(0, pb(nil).varint(1, 3).varint(1, 4).varint(2, 10).str(8, "w1").bytes(9, make([]byte, 24))),
			`input B "w1": data type FLOAT16, want FLOAT or DOUBLE`},
		{"short raw data", setInit(0, pb(nil).varint(1, 3).varint(1, 4).varint(2, dtFloat).str(8, "w1").bytes(9, make([]byte, 44))),
			`input B "w1": raw_data has 44 bytes, shape [3 4] needs 48`},
		{"forged shape", setInit(0, pb(nil).varint(1, 1<<40).varint(1, 1<<40).varint(2, dtFloat).str(8, "w1").bytes(9, make([]byte, 48))),
			`node "fc1" (op Gemm): input B "w1": shape [1099511627776 1099511627776] has more than 2147483648 elements`},
		{"external data", setInit(0, pb(nil).varint(1, 3).varint(1, 4).varint(2, dtFloat).str(8, "w1").varint(14, 1)),
			`input B "w1": data is stored in an external file`},
		{"matmul weights first", setNode(2, nd{"MatMul", "mm", ins("w2", "a1"), ins("h2"), nil}),
			`node "mm" (op MatMul): first input must be "a1"`},
		{"add after activation", insert(2, nd{"Add", "late_bias", ins("a1", "b1"), ins("a1b"), nil}),
			`node "late_bias" (op Add): predictd reads Add only as the bias of the Gemm or MatMul right before it`},
		{"add of two chains", insert(1, nd{"Add", "add", ins("h1", "h1"), ins("h1b"), nil}),
			`node "add" (op Add): input bias "h1" is not an initializer or Constant`},
		{"relu output", func(g *gr) { g.nodes[3] = nd{"Relu", "relu_out", ins("h2"), ins("y"), nil} },
			`node "relu_out" (op Relu) ends the graph; predictd's output transforms are identity, Sigmoid and Softmax`},
		{"two activations", insert(2, nd{"Tanh", "t", ins("a1"), ins("a1t"), nil}),
			`node "t" (op Tanh): an activation must follow a Gemm or MatMul`},
		{"softmax axis", setNode(3, nd{"Softmax", "sm", ins("h2"), ins("y"), []pb{attrI("axis", 0)}}),
			`node "sm" (op Softmax): axis 0`},
		{"softmax on one unit", func(g *gr) {
			g.inits[2] = tensor("w2", []int64{3, 1}, 1, 2, 3)
			g.inits[3] = tensor("b2", []int64{1}, 0)
		}, `node "sm" (op Softmax): softmax over 1 unit`},
		{"op after softmax", func(g *gr) {
			g.nodes = append(g.nodes, nd{"Relu", "r", ins("y"), ins("z"), nil})
			g.outputs[0] = vinfo("z", dtFloat, "N", 2)
		}, `node "r" (op Relu) follows node "sm" (op Softmax), which fixes the model's output`},
		{"fork", func(g *gr) {
			g.nodes = append(g.nodes, nd{"Relu", "side", ins("h1"), ins("s"), nil})
			g.outputs = append(g.outputs, vinfo("s", dtFloat, "N", 3))
		}, `tensor "h1" feeds 2 nodes (node "relu1" (op Relu), node "side" (op Relu)); predictd imports a single chain`},
		{"intermediate output", func(g *gr) { g.outputs = append(g.outputs, vinfo("a1", dtFloat, "N", 3)) },
			`graph output "a1" is not computed by the chain, which ends at "y"`},
		{"chain end not an output", func(g *gr) { g.outputs[0] = vinfo("h2", dtFloat, "N", 2) },
			`graph output "h2" is not computed by the chain`},
		{"no outputs", func(g *gr) { g.outputs = nil }, `the chain ends at tensor "y", which is not a graph output`},
		{"node off the chain", func(g *gr) { g.nodes = append(g.nodes, nd{"Relu", "loose", ins("b1"), ins("lb"), nil}) },
			`node "loose" (op Relu) is not on the path from input "x" to the output`},
		{"cycle", func(g *gr) {
			g.nodes = []nd{{"Identity", "a", ins("x"), ins("t"), nil}, {"Identity", "b", ins("t"), ins("x"), nil}}
		}, `node "b" (op Identity): output "x" is computed already (a graph input, or another node's output); the graph has a cycle`},
		{"no layer", func(g *gr) {
			g.nodes = []nd{{"Identity", "id", ins("x"), ins("y"), nil}}
			g.outputs[0] = vinfo("y", dtFloat, "N", 4)
		}, `graph has no Gemm, MatMul, LinearClassifier, LinearRegressor or TreeEnsemble node reading input "x"`},
		{"rank 3 without flatten", func(g *gr) { g.inputs[0] = vinfo("x", dtFloat, "N", 2, 2) },
			`node "fc1" (op Gemm) gets a rank-3 tensor "x"; flatten it to [batch, features] first`},
		{"flatten axis", func(g *gr) {
			g.inputs[0] = vinfo("img", dtFloat, "N", 2, 2)
			g.nodes = append([]nd{{"Flatten", "fl", ins("img"), ins("x"), []pb{attrI("axis", 2)}}}, g.nodes...)
		}, `node "fl" (op Flatten): axis 2 on a rank-3 tensor; predictd needs axis=1`},
		{"reshape shape", func(g *gr) {
			g.inputs[0] = vinfo("img", dtFloat, "N", 2, 2)
			g.inits = append(g.inits, tensorI64("shape", []int64{3}, 0, 2, 3))
			g.nodes = append([]nd{{"Reshape", "rs", ins("img", "shape"), ins("x"), nil}}, g.nodes...)
		}, `node "rs" (op Reshape): shape [0 2 3]; predictd imports a Reshape that keeps the batch dimension and the 4 values of a row`},
		{"scaler after the first layer", func(g *gr) {
			g.nodes = append(g.nodes[:2], append([]nd{{"ml.Scaler", "s2", ins("a1"), ins("a1s"), []pb{attrFloats("offset", 1), attrFloats("scale", 2)}}}, g.nodes[2:]...)...)
			g.nodes[3].in[0] = "a1s"
		}, `node "s2" (op ai.onnx.ml.Scaler): predictd reads one Scaler, before the first layer`},
		{"scaler length", func(g *gr) {
			g.nodes = append([]nd{{"ml.Scaler", "s", ins("in"), ins("x"), []pb{attrFloats("offset", 1, 2), attrFloats("scale", 2)}}}, g.nodes...)
			g.inputs[0] = vinfo("in", dtFloat, "N", 4)
		}, `node "s" (op ai.onnx.ml.Scaler): offset has 2 values and scale 1, want 1 or 4`},
		{"scaler overflow", func(g *gr) {
			g.nodes = append([]nd{{"ml.Scaler", "s", ins("in"), ins("x"), []pb{attrFloats("scale", 3e38)}}}, g.nodes...)
			g.inputs[0] = vinfo("in", dtFloat, "N", 4)
			g.inits[0] = tensorD("w1", []int64{3, 4}, 1e300, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -1)
		}, `node "fc1" (op Gemm): weight [0][0] is +Inf after applying alpha and the Scaler`},
		{"ml domain not imported", func(g *gr) {
			lc(coef8, attrFloats("intercepts", 0, 0), attrInts("classlabels_ints", 0, 1))(g)
			g.opsets = map[string]int64{"": 13}
		}, `node "lc" (op ai.onnx.ml.LinearClassifier): domain ai.onnx.ml is not imported by the model`},
		{"no default opset", func(g *gr) { g.opsets = map[string]int64{mlDomain: 1} },
			`model imports no opset for the default domain`},
		{"classifier softmax one row", lc(attrFloats("coefficients", 1, 2, 3, 4), attrFloats("intercepts", 0), attrInts("classlabels_ints", 0, 1), attrS("post_transform", "SOFTMAX")),
			`node "lc" (op ai.onnx.ml.LinearClassifier): post_transform SOFTMAX with one coefficient row is ambiguous`},
		{"classifier probit", lc(coef8, attrInts("classlabels_ints", 0, 1), attrS("post_transform", "PROBIT")),
			`post_transform "PROBIT" not supported (supported: NONE, LOGISTIC, SOFTMAX)`},
		{"classifier coefficients", lc(attrFloats("coefficients", 1, 2, 3, 4, 5), attrInts("classlabels_ints", 0, 1)),
			`node "lc" (op ai.onnx.ml.LinearClassifier): 5 coefficients and 0 intercepts for 4 features`},
		{"classifier intercepts", lc(coef8, attrFloats("intercepts", 1, 2, 3), attrInts("classlabels_ints", 0, 1)),
			`node "lc" (op ai.onnx.ml.LinearClassifier): 8 coefficients and 3 intercepts for 4 features; want 4 coefficients per row`},
		{"classifier labels", lc(coef8, attrInts("classlabels_ints", 0, 1, 2)),
			`2 coefficient rows but 3 class labels`},
		{"classifier binary labels", lc(attrFloats("coefficients", 1, 2, 3, 4), attrInts("classlabels_ints", 1)),
			`one coefficient row (binary) needs 2 class labels, got 1`},
		{"classifier both labels", lc(coef8, attrInts("classlabels_ints", 0, 1), attrStrings("classlabels_strings", "a", "b")),
			`both classlabels_ints and classlabels_strings are set`},
		{"classifier no labels", lc(coef8), `neither classlabels_ints nor classlabels_strings is set`},
		{"classifier without scores", func(g *gr) {
			lc(coef8, attrInts("classlabels_ints", 0, 1))(g)
			g.nodes[0].out = ins("label")
			g.outputs = g.outputs[:1]
		}, `node "lc" (op ai.onnx.ml.LinearClassifier): no scores output`},
		{"classifier after gemm", func(g *gr) {
			g.nodes = append(g.nodes[:1], nd{"ml.LinearClassifier", "lc", ins("h1"), ins("l", "y"), []pb{coef8}})
		}, `node "lc" (op ai.onnx.ml.LinearClassifier): a LinearClassifier must come before any other layer`},
		{"regressor post transform", func(g *gr) {
			g.nodes = []nd{{"ml.LinearRegressor", "lr", ins("x"), ins("y"), []pb{attrFloats("coefficients", 1, 2, 3, 4), attrS("post_transform", "LOGISTIC")}}}
		}, `node "lr" (op ai.onnx.ml.LinearRegressor): post_transform "LOGISTIC" not supported (supported: NONE)`},
		{"regressor targets", func(g *gr) {
			g.nodes = []nd{{"ml.LinearRegressor", "lr", ins("x"), ins("y"), []pb{coef8, attrI("targets", 3)}}}
		}, `node "lr" (op ai.onnx.ml.LinearRegressor): 8 coefficients for targets=3 and 4 features, want 12`},
		{"zipmap after regression", func(g *gr) {
			g.nodes = []nd{
				{"ml.LinearRegressor", "lr", ins("x"), ins("v"), []pb{attrFloats("coefficients", 1, 2, 3, 4)}},
				{"ml.ZipMap", "zm", ins("v"), ins("y"), nil},
			}
		}, `node "zm" (op ai.onnx.ml.ZipMap): ZipMap after a regression output`},
		{"constant without value", func(g *gr) {
			g.nodes = append([]nd{{"Constant", "c", nil, ins("b9"), []pb{attrF("value_float", 1)}}}, g.nodes...)
		}, `node "c" (op Constant): predictd reads a Constant only through its tensor attribute "value"`},
		{"int attribute as float", setNode(0, nd{"Gemm", "fc1", ins("x", "w1", "b1"), ins("h1"), []pb{attrF("transB", 1)}}),
			`node "fc1" (op Gemm): attribute transB has no integer value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := small()
			tc.mut(&g)
			imp, err := Parse(g.model())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to contain\n\t%s", err, tc.want)
			}
			if imp != nil {
				t.Errorf("Parse returned a model with the error")
			}
		})
	}
}

// TestModelErrors: what is wrong above the graph.
func TestModelErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "model has no graph"},
		{"no graph", pb(nil).varint(1, 8).str(2, "x").bytes(8, pb(nil).str(1, "").varint(2, 13)), "model has no graph"},
		{"not protobuf", []byte("{\"learner\": {}}"), "not a valid ONNX model: truncated protobuf"},
		{"graph is a varint", pb(nil).varint(7, 3), "ModelProto field 7: field 7 is varint, want length-delimited"},
		{"bad node", pb(nil).bytes(7, pb(nil).bytes(1, pb(nil).varint(4, 1))), "graph: node 0: NodeProto field 4"},
		{"bad attribute", pb(nil).bytes(7, pb(nil).bytes(1, pb(nil).bytes(5, pb(nil).str(1, "alpha").varint(2, 1)))),
			`graph: node 0: attribute "alpha": AttributeProto field 2: field 2 is varint, want fixed32`},
		{"bad initializer", pb(nil).bytes(7, pb(nil).bytes(5, pb(nil).bytes(4, []byte{1, 2, 3}))),
			"graph: initializer 0: TensorProto field 4: field 4: packed floats of 3 bytes, not a multiple of 4"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Parse error = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestLargeGraphs: the walk is linear in the graph's size, so a crafted
// file cannot stall the import (a node reading its input 2^18 times, a
// chain of 2^16 Identity nodes).
func TestLargeGraphs(t *testing.T) {
	g := small()
	many := make([]string, 1<<18)
	for i := range many {
		many[i] = "x"
	}
	g.nodes[0].in = append(ins("x", "w1", "b1"), many...)
	if _, err := Parse(g.model()); err == nil || !strings.Contains(err.Error(), `node "fc1" (op Gemm): 262147 inputs, want A, B and optionally C`) {
		t.Errorf("a Gemm with 2^18 extra inputs: Parse error = %v", err)
	}
	g = small()
	const n = 1 << 16
	chain := make([]nd, 0, n+len(g.nodes))
	prev := "x"
	for i := 0; i < n; i++ {
		out := fmt.Sprintf("id%d", i)
		chain = append(chain, nd{"Identity", "", ins(prev), ins(out), nil})
		prev = out
	}
	g.nodes[0].in[0] = prev
	g.nodes = append(chain, g.nodes...)
	imp, err := Parse(g.model())
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Features) != 4 {
		t.Errorf("%d features", len(imp.Features))
	}
}

// TestErrorsQuoteBriefly: names from the file (a node's name, an unknown
// operator, a domain, a tensor) of 10 MB with control bytes are cut and
// escaped in the error, and a list of many graph inputs is cut too.
func TestErrorsQuoteBriefly(t *testing.T) {
	huge := "\x1b[2J" + strings.Repeat("x", 10<<20)
	for _, tc := range []struct {
		name string
		mut  func(g *gr)
	}{
		{"node name", func(g *gr) { g.nodes[1] = nd{"Elu", huge, ins("h1"), ins("a1"), nil} }},
		{"operator", func(g *gr) { g.nodes[1] = nd{huge, "n", ins("h1"), ins("a1"), nil} }},
		{"domain", func(g *gr) { g.nodes[0] = nd{huge + ":Gemm", "fc1", ins("x", "w1", "b1"), ins("h1"), nil} }},
		{"tensor", func(g *gr) { g.outputs = []pb{vinfo(huge, dtFloat, "N", 2)} }},
		{"many inputs", func(g *gr) {
			g.nodes, g.inputs = nil, nil
			for i := range 1000 {
				g.inputs = append(g.inputs, vinfo(fmt.Sprintf("%s%d", huge[:100], i), dtFloat, "N", 4))
			}
		}},
	} {
		g := small()
		tc.mut(&g)
		_, err := Parse(g.model())
		if err == nil || len(err.Error()) > 600 || strings.ContainsRune(err.Error(), 0x1b) || !strings.Contains(err.Error(), `\x1b[2Jxxx`) {
			t.Errorf("%s: Parse error = %.800v (%d bytes), want a short one quoting the value's start", tc.name, err, len(fmt.Sprint(err)))
		}
	}
}
