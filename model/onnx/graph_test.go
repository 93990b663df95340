package onnx

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// frame is the graph skl2onnx writes for a ColumnTransformer over a
// DataFrame, smaller: inputs a, b (FLOAT [N,1]) and color (STRING [N,1]);
// Concat(a, b) -> Imputer -> Scaler; OneHotEncoder(color) -> Reshape [-1, 3];
// Concat -> binary LinearClassifier (LOGISTIC) -> Normalizer L1 -> ZipMap,
// with the label Cast.
func frame() gr {
	return gr{
		nodes: []nd{
			{"Concat", "num", ins("a", "b"), ins("ab"), []pb{attrI("axis", 1)}},
			{"ml.Imputer", "imp", ins("ab"), ins("abi"), []pb{attrFloats("imputed_value_floats", 10, 20), attrF("replaced_value_float", float32(math.NaN()))}},
			{"ml.Scaler", "sc", ins("abi"), ins("abs"), []pb{attrFloats("offset", 1, 2), attrFloats("scale", 0.5, 4)}},
			{"ml.OneHotEncoder", "ohe", ins("color"), ins("oh"), []pb{attrStrings("cats_strings", "blue", "green", "red"), attrI("zeros", 1)}},
			{"Reshape", "rs", ins("oh", "shape"), ins("ohr"), nil},
			{"Concat", "all", ins("abs", "ohr"), ins("feats"), []pb{attrI("axis", 1)}},
			{"ml.LinearClassifier", "lc", ins("feats"), ins("label", "prob"), []pb{
				attrFloats("coefficients", -1, -2, -3, -4, -5, 1, 2, 3, 4, 5), attrFloats("intercepts", 0.5, -0.5),
				attrStrings("classlabels_strings", "no", "yes"), attrS("post_transform", "LOGISTIC")}},
			{"ml.Normalizer", "norm", ins("prob"), ins("probn"), []pb{attrS("norm", "L1")}},
			{"Cast", "cast", ins("label"), ins("output_label"), []pb{attrI("to", dtString)}},
			{"ml.ZipMap", "zm", ins("probn"), ins("output_probability"), []pb{attrStrings("classlabels_strings", "no", "yes")}},
		},
		inits:   []pb{tensorI64("shape", []int64{2}, -1, 3)},
		inputs:  []pb{vinfo("a", dtFloat, "N", 1), vinfo("b", dtFloat, "N", 1), vinfo("color", dtString, "N", 1)},
		outputs: []pb{vinfo("output_label", dtString, "N"), vinfo("output_probability", dtFloat, "N", 2)},
	}
}

// TestFrame holds the mapping of frame(): the transform's inputs, columns
// and steps, and predictions against the graph evaluated by hand.
func TestFrame(t *testing.T) {
	imp, err := Parse(frame().model())
	if err != nil {
		t.Fatal(err)
	}
	p := imp.Transform
	if p == nil {
		t.Fatal("no transform")
	}
	if got, want := p.Inputs(), []string{"a", "b", "color"}; !slices.Equal(got, want) {
		t.Errorf("transform inputs %v, want %v", got, want)
	}
	if got, want := p.Names(), []string{"a", "b", "color=blue", "color=green", "color=red"}; !slices.Equal(got, want) {
		t.Errorf("transform columns %v, want %v", got, want)
	}
	var names []string
	for _, f := range imp.Features {
		names = append(names, f.Name)
	}
	if !slices.Equal(names, p.Names()) {
		t.Errorf("features %v, want the transform's columns %v", names, p.Names())
	}
	if s := p.Features()[0].Steps; len(s) != 2 || s[0].Op != transform.OpImpute || s[0].Fill != 10 || s[1].Op != transform.OpScaler || s[1].Offset != 1 || s[1].Scale != 0.5 {
		t.Errorf("steps of a: %+v, want impute 10 then scaler (1, 0.5)", s)
	}
	if e := p.Features()[2].Encode; e == nil || e.Unknown != "zeros" {
		t.Errorf("color's encoding %+v, want onehot with unknown zeros", e)
	}
	if imp.Task != model.TaskBinary || !strings.Contains(imp.Outputs[0].Meaning, `"yes"`) || !strings.Contains(imp.Outputs[0].Meaning, `"no"`) {
		t.Errorf("task %s, outputs %v: want binary naming yes and no", imp.Task, imp.Outputs)
	}
	for _, c := range []struct {
		a, b  transform.Value
		color string
	}{
		{transform.Num(3), transform.Num(-1), "green"},
		{transform.Value{}, transform.Num(2.5), "red"},
		{transform.Num(0), transform.Value{}, "purple"}, // unseen: all zeros
	} {
		x, err := model.TransformRow(nil, p, false, transform.Row{c.a, c.b, transform.Str(c.color)})
		if err != nil {
			t.Fatalf("TransformRow(%v): %v", c, err)
		}
		a, b := c.a.Num, c.b.Num
		if c.a.Kind == transform.Missing {
			a = 10
		}
		if c.b.Kind == transform.Missing {
			b = 20
		}
		m := (a-1)*0.5*1 + (b-2)*4*2 - 0.5
		switch c.color {
		case "blue":
			m += 3
		case "green":
			m += 4
		case "red":
			m += 5
		}
		want := 1 / (1 + math.Exp(-m))
		got := imp.Model.Predict(nil, x, false)
		if len(got) != 1 || math.Abs(got[0]-want) > 1e-15 {
			t.Errorf("row %v: p = %v, want %v", c, got, want)
		}
	}
}

// TestGraphRefusals: what the feature path and the output side refuse,
// each naming the node, its operator and what predictd reads instead.
func TestGraphRefusals(t *testing.T) {
	node := func(name string) func(g *gr) *nd {
		return func(g *gr) *nd {
			for i := range g.nodes {
				if g.nodes[i].name == name {
					return &g.nodes[i]
				}
			}
			panic("no node " + name)
		}
	}
	for _, tc := range []struct {
		name string
		mut  func(g *gr)
		want string
	}{
		{"normalizer max", func(g *gr) {
			n := node("norm")(g)
			n.in, n.out = ins("feats"), ins("featsn")
			n.attrs = []pb{attrS("norm", "MAX")}
			node("lc")(g).in = ins("featsn")
			node("zm")(g).in = ins("prob")
		}, `node "norm" (op ai.onnx.ml.Normalizer): norm "MAX" not supported (supported: L1, L2; MAX divides by the largest value in ONNX but by the largest absolute value in scikit-learn)`},
		{"normalizer before concat", func(g *gr) {
			g.nodes = append(g.nodes[:3], append([]nd{{"ml.Normalizer", "n2", ins("abs"), ins("absn"), []pb{attrS("norm", "L2")}}}, g.nodes[3:]...)...)
			node("all")(g).in = ins("absn", "ohr")
		}, `node "all" (op Concat) follows the Normalizer node "n2" (op ai.onnx.ml.Normalizer); predictd applies a Normalizer over the whole row, as the last step before the model`},
		{"categories out of order", func(g *gr) {
			node("ohe")(g).attrs = []pb{attrStrings("cats_strings", "green", "blue", "red")}
		}, `node "ohe" (op ai.onnx.ml.OneHotEncoder): cats_strings[1] "blue" is not after "green"; predictd needs the categories in increasing byte order`},
		{"integer categories", func(g *gr) {
			node("ohe")(g).attrs = []pb{attrInts("cats_int64s", 1, 2, 3)}
		}, `node "ohe" (op ai.onnx.ml.OneHotEncoder): cats_int64s; predictd one-hot encodes string inputs (cats_strings)`},
		{"one-hot of numbers", func(g *gr) {
			node("ohe")(g).in = ins("a")
		}, `node "ohe" (op ai.onnx.ml.OneHotEncoder): input "a" holds numbers; predictd one-hot encodes strings (cats_strings)`},
		{"imputer of zeros", func(g *gr) {
			node("imp")(g).attrs = []pb{attrFloats("imputed_value_floats", 1)}
		}, `node "imp" (op ai.onnx.ml.Imputer): replaced_value_float is 0 (the default); predictd imputes missing values (NaN) only`},
		{"imputer width", func(g *gr) {
			node("imp")(g).attrs = []pb{attrFloats("imputed_value_floats", 1, 2, 3), attrF("replaced_value_float", float32(math.NaN()))}
		}, `node "imp" (op ai.onnx.ml.Imputer): imputed_value_floats has 3 values, want 1 or 2 (the features)`},
		{"cast to int", func(g *gr) {
			g.nodes = append([]nd{{"Cast", "ci", ins("a"), ins("ai"), []pb{attrI("to", dtInt64)}}}, g.nodes...)
			node("num")(g).in = ins("ai", "b")
		}, `node "ci" (op Cast): cast to INT64 on the feature path; predictd reads Cast to FLOAT or DOUBLE of numbers`},
		{"strings into the model", func(g *gr) {
			node("all")(g).in = ins("abs", "color")
		}, `node "all" (op Concat): inputs "abs" and "color" hold numbers and strings`},
		{"one-hot columns split", func(g *gr) {
			g.inits = append(g.inits, tensorI64("pick", []int64{2}, 2, 0))
			g.nodes = append(g.nodes[:5], append([]nd{{"ml.ArrayFeatureExtractor", "pick", ins("ohr", "pick"), ins("ohp"), nil}}, g.nodes[5:]...)...)
			node("all")(g).in = ins("abs", "ohp", "a", "a", "a")
		}, `node "ohe" (op ai.onnx.ml.OneHotEncoder): the one-hot columns of "color" reach node "lc" (op ai.onnx.ml.LinearClassifier) in part or out of order`},
		{"index out of range", func(g *gr) {
			g.inits = append(g.inits, tensorI64("pick", []int64{1}, 7))
			g.nodes = append([]nd{{"ml.ArrayFeatureExtractor", "pick", ins("a", "pick"), ins("ap"), nil}}, g.nodes...)
			node("num")(g).in = ins("ap", "b")
		}, `node "pick" (op ai.onnx.ml.ArrayFeatureExtractor): index 7 outside the 1 columns of "a"`},
		{"gather on the batch axis", func(g *gr) {
			g.inits = append(g.inits, tensorI64("pick", []int64{1}, 0))
			g.nodes = append([]nd{{"Gather", "g", ins("a", "pick"), ins("ap"), []pb{attrI("axis", 0)}}}, g.nodes...)
			node("num")(g).in = ins("ap", "b")
		}, `node "g" (op Gather): axis 0 on a rank-2 tensor; predictd gathers along a feature axis (1 to 1)`},
		{"indices not constant", func(g *gr) {
			g.nodes = append([]nd{{"ml.ArrayFeatureExtractor", "pick", ins("a", "b"), ins("ap"), nil}}, g.nodes...)
			node("num")(g).in = ins("ap", "b")
		}, `node "pick" (op ai.onnx.ml.ArrayFeatureExtractor): indices "b" are not an initializer or Constant`},
		{"concat shapes", func(g *gr) {
			node("all")(g).in = ins("abs", "oh")
		}, `node "all" (op Concat): input "abs" has row shape [2], input "oh" [1 3]`},
		{"rank 3 into the model", func(g *gr) {
			node("rs")(g).in = ins("oh", "shape3")
			g.inits = append(g.inits, tensorI64("shape3", []int64{3}, -1, 1, 3))
			node("all")(g).attrs = []pb{attrI("axis", -1)}
			node("all")(g).in = ins("ohr")
		}, `node "lc" (op ai.onnx.ml.LinearClassifier) gets a rank-3 tensor "feats"; flatten it to [batch, features] first`},
		{"unsupported op on the feature path", func(g *gr) {
			g.nodes = append([]nd{{"Abs", "abs", ins("a"), ins("aa"), nil}}, g.nodes...)
			node("num")(g).in = ins("aa", "b")
		}, `node "abs" (op Abs): operator not supported`},
		{"default-domain op not for features", func(g *gr) {
			g.nodes = append([]nd{{"Relu", "r", ins("a"), ins("aa"), nil}}, g.nodes...)
			node("num")(g).in = ins("aa", "b")
		}, `node "r" (op Relu): operator not supported before the model (supported there: Identity, Cast, Concat, Gather, Flatten, Reshape; ai.onnx.ml: ArrayFeatureExtractor, Imputer, Scaler, OneHotEncoder, Normalizer)`},
		{"l2 normalizer after the classifier", func(g *gr) {
			node("norm")(g).attrs = []pb{attrS("norm", "L2")}
		}, `node "norm" (op ai.onnx.ml.Normalizer): norm "L2" after the model; predictd reads an L1 Normalizer over a classifier's probabilities`},
		{"normalizer over raw scores", func(g *gr) {
			node("lc")(g).attrs[3] = attrS("post_transform", "NONE")
		}, `node "norm" (op ai.onnx.ml.Normalizer) after node "lc" (op ai.onnx.ml.LinearClassifier): predictd reads a Normalizer after the model only over a LinearClassifier's or a network's probabilities`},
		{"tensor written twice", func(g *gr) {
			node("num")(g).out = ins("b")
		}, `node "num" (op Concat): output "b" is computed already (a graph input, or another node's output)`},
		{"unused feature branch", func(g *gr) {
			g.nodes = append(g.nodes, nd{"ml.Scaler", "loose", ins("a"), ins("as"), nil})
		}, `node "loose" (op ai.onnx.ml.Scaler) is not on the path from input "a", "b", "color" to the output`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := frame()
			tc.mut(&g)
			imp, err := Parse(g.model())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse error = %v, want it to contain\n\t%s", err, tc.want)
			}
			if imp != nil {
				t.Error("Parse returned a model with the error")
			}
		})
	}
}

// TestPlainInputs: [N,1] inputs are features named as the input; a graph
// that only concatenates numeric inputs in order (and casts them) needs
// no transform, and a Scaler is folded as for one input; an input the
// model does not read is not a feature of a transformed version.
func TestPlainInputs(t *testing.T) {
	g := gr{
		nodes: []nd{
			{"Cast", "c", ins("n"), ins("nf"), []pb{attrI("to", dtFloat)}},
			{"Concat", "cat", ins("a", "nf"), ins("x"), []pb{attrI("axis", -1)}},
			{"ml.Scaler", "sc", ins("x"), ins("xs"), []pb{attrFloats("offset", 1, 2), attrFloats("scale", 2, 3)}},
			{"ml.LinearRegressor", "lr", ins("xs"), ins("y"), []pb{attrFloats("coefficients", 5, 7), attrFloats("intercepts", 0.25)}},
		},
		inputs:  []pb{vinfo("a", dtFloat, "N", 1), vinfo("n", dtInt64, "N", 1)},
		outputs: []pb{vinfo("y", dtFloat, "N", 1)},
	}
	imp, err := Parse(g.model())
	if err != nil {
		t.Fatal(err)
	}
	if imp.Transform != nil || len(imp.Features) != 2 || imp.Features[0].Name != "a" || imp.Features[1].Name != "n" {
		t.Fatalf("features %v, transform %v: want a, n and no transform", imp.Features, imp.Transform)
	}
	got := imp.Model.Predict(nil, []float64{3, 4}, false)
	if want := (3-1)*2*5.0 + (4-2)*3*7.0 + 0.25; len(got) != 1 || math.Abs(got[0]-want) > 1e-12 {
		t.Errorf("Predict(3, 4) = %v, want %v", got, want)
	}

	// An unread input: the transform reads only a and n.
	g.inputs = append(g.inputs, vinfo("z", dtString, "N", 1))
	imp, err = Parse(g.model())
	if err != nil {
		t.Fatal(err)
	}
	if imp.Transform == nil || !slices.Equal(imp.Transform.Inputs(), []string{"a", "n"}) {
		t.Fatalf("with an unread input z: transform %v, want one reading a, n", imp.Transform)
	}
	x, err := imp.Transform.Apply(nil, transform.Row{transform.Num(3), transform.Num(4)})
	if err != nil {
		t.Fatal(err)
	}
	if got2 := imp.Model.Predict(nil, x, false); math.Abs(got2[0]-got[0]) > 1e-12 {
		t.Errorf("through the transform: %v, want %v", got2, got)
	}
}

// TestBinaryMLPRefusals: after a binary Sigmoid predictd reads Sub and
// Concat only as [1-p, p].
func TestBinaryMLPRefusals(t *testing.T) {
	base := func() gr {
		return gr{
			nodes: []nd{
				{"MatMul", "mm", ins("x", "w"), ins("h"), nil},
				{"Sigmoid", "sig", ins("h"), ins("p"), nil},
				{"Sub", "sub", ins("one", "p"), ins("q"), nil},
				{"Concat", "cat", ins("q", "p"), ins("probs"), []pb{attrI("axis", 1)}},
				{"ArgMax", "am", ins("probs"), ins("idx"), []pb{attrI("axis", 1)}},
				{"ml.ArrayFeatureExtractor", "lab", ins("classes", "idx"), ins("label"), nil},
				{"ml.ZipMap", "zm", ins("probs"), ins("out"), []pb{attrInts("classlabels_int64s", 4, 9)}},
			},
			inits:   []pb{tensor("w", []int64{2, 1}, 1, -1), tensor("one", nil, 1), tensorI64("classes", []int64{2}, 4, 9)},
			inputs:  []pb{vinfo("x", dtFloat, "N", 2)},
			outputs: []pb{vinfo("label", dtInt64, "N"), vinfo("out", dtFloat, "N", 2)},
		}
	}
	imp, err := Parse(base().model())
	if err != nil {
		t.Fatal(err)
	}
	if got := imp.Model.Predict(nil, []float64{2, 1}, false); imp.Task != model.TaskBinary || len(got) != 1 || math.Abs(got[0]-1/(1+math.Exp(-1))) > 1e-15 {
		t.Errorf("task %s, Predict(2, 1) = %v, want binary sigmoid(1)", imp.Task, got)
	}
	if m := imp.Outputs[0].Meaning; !strings.Contains(m, `"9"`) || !strings.Contains(m, `"4"`) {
		t.Errorf("meaning %q: want the labels 4 and 9 from the class-label branch", m)
	}
	for _, tc := range []struct {
		name string
		mut  func(g *gr)
		want string
	}{
		{"sub from two", func(g *gr) { g.inits[1] = tensor("one", nil, 2) },
			`node "sub" (op Sub): input A "one" is [2]; predictd reads a Sub after a binary Sigmoid only as 1 - p`},
		{"sub reversed", func(g *gr) { g.nodes[2].in = ins("p", "one") },
			`node "sub" (op Sub): predictd reads a Sub after a binary Sigmoid only as 1 - p, with p = "p"`},
		{"concat reversed", func(g *gr) { g.nodes[3].in = ins("p", "q") },
			`node "cat" (op Concat): predictd reads a Concat after a binary Sigmoid only as [1-p, p] along axis 1`},
	} {
		g := base()
		tc.mut(&g)
		if _, err := Parse(g.model()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Parse error = %v, want it to contain\n\t%s", tc.name, err, tc.want)
		}
	}
}

// TestFeaturePathDetails: a raw column read twice gives <raw>, <raw>_2;
// a classifier without ZipMap is the same model; OneHotEncoder zeros=0 refuses an unseen category; Cast and Reshape after
// the model's output leave it as it is; a Scaler before a tree ensemble is
// a transform step.
func TestFeaturePathDetails(t *testing.T) {
	g := gr{
		nodes: []nd{
			{"Concat", "cat", ins("a", "a"), ins("x"), []pb{attrI("axis", 1)}},
			{"ml.LinearRegressor", "lr", ins("x"), ins("y"), []pb{attrFloats("coefficients", 2, 3)}},
			{"Cast", "c", ins("y"), ins("yc"), []pb{attrI("to", dtDouble)}},
			{"Reshape", "rs", ins("yc", "shape"), ins("out"), nil},
		},
		inits:   []pb{tensorI64("shape", []int64{2}, -1, 1)},
		inputs:  []pb{vinfo("a", dtFloat, "N", 1)},
		outputs: []pb{vinfo("out", dtDouble, "N", 1)},
	}
	imp, err := Parse(g.model())
	if err != nil {
		t.Fatal(err)
	}
	if imp.Transform == nil || !slices.Equal(imp.Transform.Names(), []string{"a", "a_2"}) {
		t.Fatalf("transform %v, want columns a, a_2", imp.Transform)
	}
	x, err := imp.Transform.Apply(nil, transform.Row{transform.Num(4)})
	if err != nil {
		t.Fatal(err)
	}
	if got := imp.Model.Predict(nil, x, false); len(got) != 1 || got[0] != 20 {
		t.Errorf("Predict(a=4) = %v, want [20]", got)
	}

	// skl2onnx's options={"zipmap": False}: the probabilities are the output.
	f := frame()
	f.nodes = f.nodes[:len(f.nodes)-1]
	f.outputs[1] = vinfo("probn", dtFloat, "N", 2)
	noZip, err := Parse(f.model())
	if err != nil {
		t.Fatalf("without ZipMap: %v", err)
	}
	withZip, _ := Parse(frame().model())
	row := []float64{0.5, -1, 0, 1, 0}
	if a, b := noZip.Model.Predict(nil, row, false), withZip.Model.Predict(nil, row, false); len(a) != 1 || a[0] != b[0] {
		t.Errorf("without ZipMap %v, with %v: want the same", a, b)
	}

	f = frame()
	f.nodes[3].attrs = []pb{attrStrings("cats_strings", "blue", "green", "red"), attrI("zeros", 0)}
	imp, err = Parse(f.model())
	if err != nil {
		t.Fatal(err)
	}
	_, err = imp.Transform.Apply(nil, transform.Row{transform.Num(1), transform.Num(2), transform.Str("purple")})
	if err == nil || !strings.Contains(err.Error(), `column color: unknown category "purple"`) {
		t.Errorf("zeros=0, unseen color: Apply error = %v, want unknown category", err)
	}

	f = frame()
	f.nodes[1].attrs = []pb{attrInts("imputed_value_int64s", 1)}
	if _, err := Parse(f.model()); err == nil || !strings.Contains(err.Error(), `node "imp" (op ai.onnx.ml.Imputer): imputed_value_int64s; predictd imputes numbers with imputed_value_floats`) {
		t.Errorf("Imputer of int64s: error %v", err)
	}

	// x [N,1] -> Scaler -> one tree: x·2 - 1 <= 0.5 ? 10 : 20.
	tree := func(attrs ...pb) []pb {
		return append([]pb{
			attrInts("nodes_treeids", 0, 0, 0), attrInts("nodes_nodeids", 0, 1, 2), attrInts("nodes_featureids", 0, 0, 0),
			attrStrings("nodes_modes", "BRANCH_LEQ", "LEAF", "LEAF"), attrFloats("nodes_values", 0.5, 0, 0),
			attrInts("nodes_truenodeids", 1, 0, 0), attrInts("nodes_falsenodeids", 2, 0, 0),
			attrInts("target_treeids", 0, 0), attrInts("target_nodeids", 1, 2), attrInts("target_ids", 0, 0),
			attrFloats("target_weights", 10, 20), attrI("n_targets", 1),
		}, attrs...)
	}
	tg := gr{
		nodes: []nd{
			{"ml.Scaler", "sc", ins("x"), ins("xs"), []pb{attrFloats("offset", 0.5), attrFloats("scale", 2)}},
			{"ml.TreeEnsembleRegressor", "te", ins("xs"), ins("y"), tree()},
		},
		inputs:  []pb{vinfo("x", dtFloat, "N", 1)},
		outputs: []pb{vinfo("y", dtFloat, "N", 1)},
	}
	imp, err = Parse(tg.model())
	if err != nil {
		t.Fatal(err)
	}
	if imp.Kind != model.KindTrees || imp.Transform == nil || imp.Transform.Features()[0].Steps[0].Op != transform.OpScaler {
		t.Fatalf("kind %s, transform %v: want trees with a scaler step", imp.Kind, imp.Transform)
	}
	for _, c := range []struct{ x, want float64 }{{0.5, 10}, {0.75, 10}, {0.76, 20}} {
		x, err := model.TransformRow(nil, imp.Transform, true, transform.Row{transform.Num(c.x)})
		if err != nil {
			t.Fatal(err)
		}
		if got := imp.Model.Predict(nil, x, false); len(got) != 1 || got[0] != c.want {
			t.Errorf("tree over scaled x=%v: %v, want %v", c.x, got, c.want)
		}
	}
}
