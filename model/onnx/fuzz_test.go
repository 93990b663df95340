package onnx

import (
	"math"
	"os"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// FuzzParse: Parse never panics, and whatever it accepts is a valid dense
// model whose shape agrees with its manifest fields and which predicts,
// raw and transformed, on ordinary, extreme and missing values.
//
// An accepted graph with preprocessing carries a transform whose output
// columns are the model's features, which it computes from any row of
// numbers and strings.
//
// The seeds are the fixtures except mlp512_softmax (2.2 MB: the mutator
// would spend its time copying it; small() covers the same Gemm/Relu/
// Softmax path), the scikit-learn graphs of testdata/onnx/sklearn but the
// forests (the 12 KB gradient-boosting one stands for them) and
// hand-made graphs for the remaining operators.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"matmul_tanh_binary", "scaler_linear_softmax", "scaler_linreg",
		"flatten_gemm_sigmoid", "double_mlp_regression", "sklearn_binary_logistic", "unsupported_conv"} {
		f.Add(readModel(f, name))
	}
	for _, name := range []string{"coltrans_onehot", "coltrans_select", "imputer_logreg", "normalizer_logreg",
		"logreg_ovr", "minmax_ridge", "mlp_binary", "mlp_classifier", "mlp_regressor", "gb_classifier_binary"} {
		data, err := os.ReadFile(fixture.Path("onnx", "sklearn", name+".onnx"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(small().model())
	g := small()
	g.inputs[0] = vinfo("img", dtFloat, "N", 2, 2)
	g.inits = append(g.inits, tensorI64("shape", []int64{2}, 0, -1))
	g.nodes = append([]nd{{"Reshape", "rs", ins("img", "shape"), ins("x"), nil}}, g.nodes...)
	f.Add(g.model())
	f.Add(gr{
		nodes: []nd{{"ml.LinearClassifier", "lc", ins("x"), ins("l", "y"), []pb{
			attrFloats("coefficients", 1, 2, 3, 4), attrFloats("intercepts", 1), attrInts("classlabels_ints", 0, 1), attrS("post_transform", "LOGISTIC")}}},
		inputs:  []pb{vinfo("x", dtFloat, "N", 4)},
		outputs: []pb{vinfo("l", dtInt64, "N"), vinfo("y", dtFloat, "N", 2)},
	}.model())
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParsed(t, data)
	})
}

var fuzzValues = []float64{0, 1, -1, 0.5, -3, 1e-300, 1e300, -1e300, math.NaN(), math.Inf(1), math.Inf(-1)}

// checkParsed runs Parse on data and checks the invariants FuzzParse
// states.
func checkParsed(t *testing.T, data []byte) {
	t.Helper()
	imp, err := Parse(data)
	if !fixture.CheckImported(t, imp, err, fuzzValues...) {
		return
	}
	switch imp.Model.(type) {
	case *model.Dense:
	case *model.Trees:
		if imp.Kind != model.KindTrees {
			t.Fatalf("a tree ensemble of kind %s", imp.Kind)
		}
	default:
		t.Fatalf("model is %T, want *model.Dense or *model.Trees", imp.Model)
	}
	if p := imp.Transform; p != nil {
		if p.Width() != len(imp.Features) {
			t.Fatalf("transform writes %d columns for %d features", p.Width(), len(imp.Features))
		}
		for j, name := range p.Names() {
			if imp.Features[j].Name != name {
				t.Fatalf("feature %d is %q, the transform's column %q", j, imp.Features[j].Name, name)
			}
		}
		raw := make(transform.Row, len(p.Inputs()))
		for _, v := range []transform.Value{{}, transform.Num(1.5), transform.Str("x")} {
			for i := range raw {
				raw[i] = v
				if v.Kind == transform.Number && !p.Numeric(i) {
					raw[i] = transform.Str("1.5")
				}
			}
			x, err := p.Apply(nil, raw)
			if err == nil && len(x) != len(imp.Features) {
				t.Fatalf("transform wrote %d columns, want %d", len(x), len(imp.Features))
			}
			if err == nil {
				imp.Model.Predict(nil, x, false)
			}
		}
	}
	if imp.Source.Format != "onnx" {
		t.Fatalf("source format %q", imp.Source.Format)
	}
}
