package onnx

import (
	"math"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

func sigmoid(m float64) float64 { return 1 / (1 + math.Exp(-m)) }

// TestSemantics checks hand-made graphs against predictions worked out by
// hand from the operator definitions (Operators.md, Operators-ml.md and the
// ONNX reference evaluator; the LinearClassifier cases were also run
// through onnxruntime 1.30, which agrees on every column predictd keeps).
func TestSemantics(t *testing.T) {
	x := []float64{1, -2, 0.5, 3} // one row of the 4 features
	dot := func(w []float64) float64 { return w[0]*x[0] + w[1]*x[1] + w[2]*x[2] + w[3]*x[3] }
	w0, w1, w2 := []float64{1, 2, 3, 4}, []float64{-1, 0.5, 0, 2}, []float64{0.25, -0.5, 1, 0}
	m0, m1, m2 := dot(w0)+0.5, dot(w1)-1, dot(w2)+0.25
	softmax := func(z ...float64) []float64 {
		mx := z[0]
		for _, v := range z {
			mx = max(mx, v)
		}
		var s float64
		out := make([]float64, len(z))
		for i, v := range z {
			out[i] = math.Exp(v - mx)
			s += out[i]
		}
		for i := range out {
			out[i] /= s
		}
		return out
	}
	classifier := func(coef []float64, icpt []float64, labels int, post string, extra ...pb) gr {
		var cf, ic []float32
		for _, v := range coef {
			cf = append(cf, float32(v))
		}
		for _, v := range icpt {
			ic = append(ic, float32(v))
		}
		ls := make([]int64, labels)
		for i := range ls {
			ls[i] = int64(i)
		}
		attrs := append([]pb{attrFloats("coefficients", cf...), attrInts("classlabels_ints", ls...), attrS("post_transform", post)}, extra...)
		if icpt != nil {
			attrs = append(attrs, attrFloats("intercepts", ic...))
		}
		return gr{
			nodes:   []nd{{"ml.LinearClassifier", "lc", ins("x"), ins("label", "scores"), attrs}},
			inputs:  []pb{vinfo("x", dtFloat, "N", 4)},
			outputs: []pb{vinfo("label", dtInt64, "N"), vinfo("scores", dtFloat, "N", labels)},
		}
	}
	neg := func(w []float64) []float64 {
		out := make([]float64, len(w))
		for i, v := range w {
			out[i] = -v
		}
		return out
	}
	cat := func(ws ...[]float64) []float64 {
		var out []float64
		for _, w := range ws {
			out = append(out, w...)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		g       gr
		task    model.Task
		outputs string
		want    []float64
	}{
		{"classifier one row LOGISTIC", classifier(w0, []float64{0.5}, 2, "LOGISTIC"),
			model.TaskBinary, "p", []float64{sigmoid(m0)}},
		{"classifier one row NONE", classifier(w0, []float64{0.5}, 2, "NONE"),
			model.TaskBinary, "score", []float64{m0}},
		{"classifier mirrored LOGISTIC (skl2onnx binary)", classifier(cat(neg(w0), w0), []float64{-0.5, 0.5}, 2, "LOGISTIC"),
			model.TaskBinary, "p", []float64{sigmoid(m0)}},
		{"classifier mirrored NONE", classifier(cat(neg(w0), w0), []float64{-0.5, 0.5}, 2, "NONE"),
			model.TaskBinary, "score", []float64{m0}},
		{"classifier mirrored SOFTMAX", classifier(cat(neg(w0), w0), []float64{-0.5, 0.5}, 2, "SOFTMAX"),
			model.TaskBinary, "p", []float64{softmax(-m0, m0)[1]}},
		{"classifier two rows SOFTMAX", classifier(cat(w1, w0), []float64{-1, 0.5}, 2, "SOFTMAX"),
			model.TaskBinary, "p", []float64{softmax(m1, m0)[1]}},
		{"classifier two rows LOGISTIC", classifier(cat(w1, w0), []float64{-1, 0.5}, 2, "LOGISTIC"),
			model.TaskMulticlass, "p0,p1", []float64{sigmoid(m1), sigmoid(m0)}},
		{"classifier three rows SOFTMAX", classifier(cat(w0, w1, w2), []float64{0.5, -1, 0.25}, 3, "SOFTMAX", attrI("multi_class", 1)),
			model.TaskMulticlass, "p0,p1,p2", softmax(m0, m1, m2)},
		{"classifier three rows LOGISTIC (one-vs-rest)", classifier(cat(w0, w1, w2), []float64{0.5, -1, 0.25}, 3, "LOGISTIC"),
			model.TaskMulticlass, "p0,p1,p2", []float64{sigmoid(m0), sigmoid(m1), sigmoid(m2)}},
		{"classifier three rows NONE", classifier(cat(w0, w1, w2), []float64{0.5, -1, 0.25}, 3, "NONE"),
			model.TaskMulticlass, "score0,score1,score2", []float64{m0, m1, m2}},
		{"classifier without intercepts", classifier(cat(w0, w1, w2), nil, 3, "NONE"),
			model.TaskMulticlass, "score0,score1,score2", []float64{m0 - 0.5, m1 + 1, m2 - 0.25}},
		{"classifier label branch through Cast", func() gr {
			g := classifier(w0, []float64{0.5}, 2, "LOGISTIC")
			g.nodes = append(g.nodes, nd{"Cast", "cast_label", ins("label"), ins("label_f"), []pb{attrI("to", 1)}},
				nd{"ml.ZipMap", "zm", ins("scores"), ins("probs"), []pb{attrInts("classlabels_int64s", 0, 1)}})
			g.outputs = []pb{vinfo("label_f", dtFloat, "N"), pb(nil).str(1, "probs")}
			return g
		}(), model.TaskBinary, "p", []float64{sigmoid(m0)}},
		{"scaler broadcast and regressor", gr{
			nodes: []nd{
				{"ml.Scaler", "s", ins("x"), ins("xs"), []pb{attrFloats("offset", 1), attrFloats("scale", 2, 4, 0.5, 1)}},
				{"ml.LinearRegressor", "lr", ins("xs"), ins("y"), []pb{attrFloats("coefficients", 1, 2, 3, 4), attrFloats("intercepts", 0.5)}},
			},
			inputs:  []pb{vinfo("x", dtFloat, "N", 4)},
			outputs: []pb{vinfo("y", dtFloat, "N", 1)},
		}, model.TaskRegression, "value", []float64{(x[0]-1)*2*1 + (x[1]-1)*4*2 + (x[2]-1)*0.5*3 + (x[3]-1)*1*4 + 0.5}},
		{"reshape, constant bias, identity weights, matmul without add, gemm without C", gr{
			nodes: []nd{
				{"Reshape", "rs", ins("img", "shape"), ins("x"), nil},
				{"Constant", "cb", nil, ins("bias"), []pb{attrT("value", tensor("", []int64{1, 2}, 0.5, -1))}},
				{"Identity", "shared", ins("w"), ins("w_shared"), nil},
				{"MatMul", "mm", ins("x", "w_shared"), ins("h"), nil},
				{"Add", "add", ins("bias", "h"), ins("hb"), nil},
				{"Relu", "r", ins("hb"), ins("a"), nil},
				{"Gemm", "g", ins("a", "v"), ins("y"), []pb{attrF("alpha", 2)}},
			},
			inits: []pb{
				tensorI64("shape", []int64{2}, 0, -1),
				tensor("w", []int64{4, 2}, 1, -1, 2, 0.5, 3, 0, 4, 1), // [K, N]
				tensor("v", []int64{2, 1}, 1, -2),
			},
			inputs:  []pb{vinfo("img", dtFloat, "N", 2, 2)},
			outputs: []pb{vinfo("y", dtFloat, "N", 1)},
		}, model.TaskRegression, "value", func() []float64 {
			h0 := max(dot([]float64{1, 2, 3, 4})+0.5, 0)
			h1 := max(dot([]float64{-1, 0.5, 0, 1})-1, 0)
			return []float64{2 * (h0 - 2*h1)}
		}()},
		{"gemm with C [1, N], sigmoid on two units, initializers listed as inputs", gr{
			nodes: []nd{{"Gemm", "g", ins("x", "w", "c"), ins("z"), []pb{attrI("transB", 1), attrF("beta", 0.5)}},
				{"Sigmoid", "s", ins("z"), ins("y"), nil}},
			inits:   []pb{tensor("w", []int64{2, 4}, 1, 2, 3, 4, -1, 0.5, 0, 2), tensor("c", []int64{1, 2}, 1, -2)},
			inputs:  []pb{vinfo("x", dtFloat, "N", 4), vinfo("w", dtFloat, 2, 4), vinfo("c", dtFloat, 1, 2)},
			outputs: []pb{vinfo("y", dtFloat, "N", 2)},
		}, model.TaskMulticlass, "p0,p1", []float64{sigmoid(dot(w0) + 0.5), sigmoid(dot(w1) - 1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imp, err := Parse(tc.g.model())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if imp.Task != tc.task {
				t.Errorf("task %s, want %s", imp.Task, tc.task)
			}
			if got := strings.Join(outputNames(imp.Outputs), ","); got != tc.outputs {
				t.Errorf("outputs %s, want %s", got, tc.outputs)
			}
			got := imp.Model.Predict(nil, x, false)
			if len(got) != len(tc.want) {
				t.Fatalf("Predict = %v, want %v", got, tc.want)
			}
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 1e-12*max(1, math.Abs(tc.want[i])) {
					t.Errorf("Predict = %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
}

// TestManifestFields checks names, meanings and source on two shapes of
// model: a classifier with string labels and an MLP regression.
func TestManifestFields(t *testing.T) {
	g := gr{
		nodes: []nd{{"ml.LinearClassifier", "lc", ins("float_input"), ins("label", "probabilities"), []pb{
			attrFloats("coefficients", 1, 2, 3, 4, 5, 6), attrFloats("intercepts", 0, 1, 2),
			attrStrings("classlabels_strings", "setosa", "versicolor", "virginica"), attrS("post_transform", "SOFTMAX")}}},
		inputs:   []pb{vinfo("float_input", dtFloat, "N", 2)},
		outputs:  []pb{vinfo("label", 8, "N"), vinfo("probabilities", dtFloat, "N", 3)},
		producer: "skl2onnx",
	}
	imp, err := Parse(g.model())
	if err != nil {
		t.Fatal(err)
	}
	if imp.Kind != model.KindLinear || imp.Classes != 3 || imp.Source.Library != "skl2onnx" || imp.Source.LibraryVersion != "0.1" {
		t.Errorf("kind %s, classes %d, source %+v", imp.Kind, imp.Classes, imp.Source)
	}
	if imp.Features[0].Name != "float_input_0" || imp.Features[1].Name != "float_input_1" {
		t.Errorf("features %v", imp.Features)
	}
	if m := imp.Outputs[2].Meaning; m != `probability of class 2 (label "virginica")` {
		t.Errorf("output 2 meaning %q", m)
	}
	if m := imp.RawOutputs[0].Meaning; m != `raw margin of class 0 (label "setosa")` {
		t.Errorf("raw output 0 meaning %q", m)
	}
}

// TestUnknownFields: fields the importer does not read, of every wire type
// and in every message it decodes, are skipped, groups included.
func TestUnknownFields(t *testing.T) {
	junk := pb(nil).varint(1000, 7).fixed32(1001, 1).bytes(1002, []byte("doc")).
		key(1003, wireFixed64)
	junk = append(junk, 1, 2, 3, 4, 5, 6, 7, 8)
	group := pb(nil).key(1004, wireStartGroup).varint(1, 5).key(2, wireStartGroup).key(2, wireEndGroup).key(1004, wireEndGroup)
	junk = append(junk, group...)

	g := small()
	for i := range g.inits {
		g.inits[i] = append(append(pb(nil), junk...), g.inits[i]...)
	}
	for i := range g.nodes {
		g.nodes[i].attrs = append(g.nodes[i].attrs, pb(nil).str(1, "unused").str(13, "doc").varint(20, 2).varint(3, 1))
	}
	g.inputs[0] = append(g.inputs[0], junk...)
	data := append(g.model(), junk...)
	data = append(data, pb(nil).bytes(14, pb(nil).str(1, "k").str(2, "v"))...) // metadata_props
	imp, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	want := smallWant([]float64{1, 2, 3, 4})
	if got := imp.Model.Predict(nil, []float64{1, 2, 3, 4}, false); math.Abs(got[0]-want[0]) > 1e-15 {
		t.Errorf("Predict = %v, want %v", got, want)
	}
}
