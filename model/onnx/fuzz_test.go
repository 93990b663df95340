package onnx

import (
	"math"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// FuzzParse: Parse never panics, and whatever it accepts is a valid dense
// model whose shape agrees with its manifest fields and which predicts,
// raw and transformed, on ordinary, extreme and missing values.
//
// The seeds are the fixtures except mlp512_softmax (2.2 MB: the mutator
// would spend its time copying it; small() covers the same Gemm/Relu/
// Softmax path) and hand-made graphs for the remaining operators.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"matmul_tanh_binary", "scaler_linear_softmax", "scaler_linreg",
		"flatten_gemm_sigmoid", "double_mlp_regression", "sklearn_binary_logistic", "unsupported_conv"} {
		f.Add(readModel(f, name))
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
	if _, ok := imp.Model.(*model.Dense); !ok {
		t.Fatalf("model is %T, want *model.Dense", imp.Model)
	}
	if imp.Source.Format != "onnx" {
		t.Fatalf("source format %q", imp.Source.Format)
	}
}
