package onnx

import (
	"math"
	"strings"
	"testing"

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
	if err != nil {
		if strings.Contains(err.Error(), "BUG") {
			t.Fatalf("Parse hit a broken invariant: %v", err)
		}
		if imp != nil {
			t.Fatalf("Parse returned a model and an error: %v", err)
		}
		return
	}
	d, ok := imp.Model.(*model.Dense)
	if !ok {
		t.Fatalf("model is %T, want *model.Dense", imp.Model)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("accepted model fails Validate: %v", err)
	}
	if len(imp.Features) != d.NumFeatures() || len(imp.Outputs) != d.NumOutputs() || len(imp.RawOutputs) != d.NumMargins() {
		t.Fatalf("%d features, %d outputs, %d raw outputs for a model of %d, %d, %d",
			len(imp.Features), len(imp.Outputs), len(imp.RawOutputs), d.NumFeatures(), d.NumOutputs(), d.NumMargins())
	}
	if (imp.Task == model.TaskMulticlass) != (imp.Classes >= 2) {
		t.Fatalf("task %s with %d classes", imp.Task, imp.Classes)
	}
	if imp.Source.Format != "onnx" {
		t.Fatalf("source format %q", imp.Source.Format)
	}
	nf := d.NumFeatures()
	if nf*len(fuzzValues) > 1<<20 {
		return // too wide to predict on cheaply; Validate has passed
	}
	rows := make([]float64, 0, len(fuzzValues)*nf)
	for _, v := range fuzzValues {
		for j := 0; j < nf; j++ {
			rows = append(rows, v)
		}
	}
	n := len(fuzzValues)
	if got := d.Predict(nil, rows, true); len(got) != n*d.NumMargins() {
		t.Fatalf("raw predict gave %d values for %d rows", len(got), n)
	}
	if got := d.Predict(nil, rows, false); len(got) != n*d.NumOutputs() {
		t.Fatalf("predict gave %d values for %d rows", len(got), n)
	}
}
