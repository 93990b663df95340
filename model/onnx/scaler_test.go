package onnx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// TestScalerFold measures the Scaler fold (doc.go, "Scaler") against the
// alternative of a separate diagonal layer, on the fixtures whose columns
// have large offsets. Both run the same Dot64 over the same rows, so their
// difference is the fold's rounding alone.
func TestScalerFold(t *testing.T) {
	for _, name := range []string{"scaler_linear_softmax", "scaler_linreg", "sklearn_binary_logistic"} {
		data := readModel(t, name)
		folded, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		layered, err := parse(data, options{scalerLayer: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(layered.Model.(*model.Dense).Layers); n != 2 {
			t.Fatalf("%s: the diagonal alternative has %d layers", name, n)
		}
		rows := fixture.ReadTable(t, fixture.Path("onnx", name+".csv")).Flat()
		oracle := fixture.ReadTable(t, fixture.Path("onnx", name+".raw.csv"))
		k := len(oracle.Header)
		f := folded.Model.Predict(nil, rows, true)
		l := layered.Model.Predict(nil, rows, true)
		var rel, rowRel, relLayerOracle float64
		for r, row := range oracle.Rows {
			scale := 0.0
			for _, v := range row {
				scale = max(scale, math.Abs(v))
			}
			for j, want := range row {
				d := math.Abs(f[r*k+j] - l[r*k+j])
				rel = max(rel, d/math.Abs(l[r*k+j]))
				rowRel = max(rowRel, d/scale)
				relLayerOracle = max(relLayerOracle, fixture.RelErr(l[r*k+j], want))
			}
		}
		t.Logf("%s: fold vs diagonal layer: max relative %.3g, max relative to the row's largest margin %.3g; diagonal layer vs numpy: max relative %.3g",
			name, rel, rowRel, relLayerOracle)
		if rowRel > 1e-13 {
			t.Errorf("%s: the fold moves a margin by %.3g of its row's scale", name, rowRel)
		}
	}
}

// scalerClassifier is a Scaler and a 3-class LinearClassifier over f
// features, with offsets and scales like unstandardised columns.
func scalerClassifier(f int) []byte {
	rng := rand.New(rand.NewPCG(1, uint64(f)))
	offset, scale, coef := make([]float32, f), make([]float32, f), make([]float32, 3*f)
	for j := range offset {
		offset[j] = float32(rng.NormFloat64() * 100)
		scale[j] = float32(1 / (1 + rng.Float64()*50))
	}
	for i := range coef {
		coef[i] = float32(rng.NormFloat64())
	}
	return gr{
		nodes: []nd{
			{"ml.Scaler", "s", ins("x"), ins("xs"), []pb{attrFloats("offset", offset...), attrFloats("scale", scale...)}},
			{"ml.LinearClassifier", "lc", ins("xs"), ins("label", "p"), []pb{attrFloats("coefficients", coef...),
				attrFloats("intercepts", 0.5, -0.5, 0), attrInts("classlabels_ints", 0, 1, 2), attrS("post_transform", "SOFTMAX")}},
		},
		inputs:  []pb{vinfo("x", dtFloat, "N", f)},
		outputs: []pb{vinfo("label", dtInt64, "N"), vinfo("p", dtFloat, "N", 3)},
	}.model()
}

var sink []float64

// BenchmarkScaler prices the rejected alternative: a Scaler kept as a
// diagonal layer costs features² multiply-adds per row on top of the
// classifier's 3·features.
func BenchmarkScaler(b *testing.B) {
	const batch = 64
	for _, f := range []int{8, 64, 512} {
		data := scalerClassifier(f)
		rows := make([]float64, batch*f)
		for i := range rows {
			rows[i] = float64(i%17) * 10
		}
		for _, form := range []string{"folded", "layer"} {
			b.Run(fmt.Sprintf("features=%d/form=%s", f, form), func(b *testing.B) {
				imp, err := parse(data, options{scalerLayer: form == "layer"})
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]float64, 0, batch*3)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					dst = imp.Model.Predict(dst[:0], rows, false)
				}
				sink = dst
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
			})
		}
	}
}

// BenchmarkParse reads the 2.2 MB MLP fixture.
func BenchmarkParse(b *testing.B) {
	data := readModel(b, "mlp512_softmax")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
