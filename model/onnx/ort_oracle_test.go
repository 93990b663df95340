package onnx

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// ortSteps is how far predictd may be from ONNX Runtime 1.30 (the
// NAME.ort.{pred,raw}.csv files testdata/gen/onnx_ort_oracle.mjs wrote), in
// float32 steps at the row's scale: |got - ort| <= steps * ulp32(s), where s
// is 1 for probabilities and max(1, the row's largest |ort|) for margins and
// regression values (a value near 0 is a difference of larger terms, so its
// error is absolute). ONNX Runtime computes the float32 graphs in float32
// and the double graph in float64; predictd serves each model in its
// default precision (Manifest.DensePrecision: float64 for linear graphs
// and for a graph of DOUBLE tensors, the float32 kernels for other MLPs).
// Measured worst cases, pred / raw (the float32 cases with the generic
// kernels, then the GOEXPERIMENT=simd build on amd64):
//
//	mlp512_softmax          float32  9.9 / 12.0, simd 7.1 / 17.0 (three 512-wide layers summed in another order)
//	matmul_tanh_binary      float32  0.6 / 2.4,  simd 0.5 / 2.0
//	scaler_linear_softmax   float64  1.2 / 2.2
//	scaler_linreg           float64  6.4 / 6.4  (ONNX Runtime's float32 Scaler and sum over offsets up to 52000)
//	flatten_gemm_sigmoid    float64  0.6 / 1.9
//	double_mlp_regression   float64  within 4 float64 steps (it was 4.9 float32 steps when a double graph was served on the float32 kernels)
//	sklearn_binary_logistic float64  0.7 / 2.5
//
// The default bound is 3 steps; the two cases above it get their measured
// figure with a little margin.
func ortSteps(name string) float64 {
	switch name {
	case "mlp512_softmax":
		return 20
	case "scaler_linreg":
		return 8
	}
	return 3
}

// ortFloat64 lists the graphs ONNX Runtime runs in float64 (double
// tensors throughout): predictd serves them in float64 too, and must agree
// to float64 rounding: at most 6 float64 steps of the row's scale (4
// measured).
var ortFloat64 = map[string]bool{"double_mlp_regression": true}

// ulp32 is the spacing of float32 values at |v|.
func ulp32(v float64) float64 {
	f := float32(math.Abs(v))
	return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
}

// TestORTOracle holds every ONNX fixture, imported and opened as predict,
// score and serve open it, to ONNX Runtime's own outputs on the same rows.
// A missing oracle file fails the test, naming it.
func TestORTOracle(t *testing.T) {
	cs := readCases(t)
	cases := map[string]bool{}
	for _, c := range cs.Cases {
		cases[c.Name] = true
	}
	for _, e := range cs.Errors {
		cases[e.Name] = true
	}
	// Every committed .onnx is either a case with an oracle or an error
	// fixture that Parse refuses (TestErrorFixtures), so a new fixture
	// cannot slip past ONNX Runtime.
	files, err := filepath.Glob(fixture.Path("onnx", "*.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if name := strings.TrimSuffix(filepath.Base(f), ".onnx"); !cases[name] {
			t.Errorf("%s is in neither cases nor errors of testdata/onnx/cases.json", f)
		}
	}
	for _, c := range cs.Cases {
		t.Run(c.Name, func(t *testing.T) {
			imp, err := Parse(readModel(t, c.Name))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			m, vdir, err := model.Write(t.TempDir(), "m", imp, model.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			l, err := model.OpenDir(vdir)
			if err != nil {
				t.Fatal(err)
			}
			rows := fixture.ReadTable(t, fixture.Path("onnx", c.Name+".csv")).Flat()
			for _, kind := range []string{"pred", "raw"} {
				path := fixture.Path("onnx", c.Name+".ort."+kind+".csv")
				if _, err := os.Stat(path); err != nil {
					t.Fatalf("ONNX Runtime oracle %s is missing (run testdata/gen/onnx_ort_oracle.mjs, see testdata/README.md): %v", path, err)
				}
				want := fixture.ReadTable(t, path)
				wantNames := c.Outputs
				if kind == "raw" {
					wantNames = c.RawOutputs
				}
				if !slices.Equal(want.Header, wantNames) || len(want.Rows) != c.Rows {
					t.Fatalf("%s: header %v and %d rows, want %v and %d", path, want.Header, len(want.Rows), wantNames, c.Rows)
				}
				got := l.Model.Predict(nil, rows, kind == "raw")
				if len(got) != c.Rows*len(wantNames) {
					t.Fatalf("%s: %d values, want %d", kind, len(got), c.Rows*len(wantNames))
				}
				var maxAbs, maxRel, maxSteps float64
				worstAt := 0
				for r, wr := range want.Rows {
					scale := 1.0 // probabilities, and margins near 0 (absolute error)
					if kind == "raw" || c.Task == "regression" {
						for _, w := range wr {
							scale = max(scale, math.Abs(w))
						}
					}
					for j, w := range wr {
						i := r*len(wr) + j
						d := math.Abs(got[i] - w)
						maxAbs = max(maxAbs, d)
						maxRel = max(maxRel, fixture.RelErr(got[i], w))
						if s := d / ulp32(scale); s > maxSteps || math.IsNaN(d) {
							maxSteps, worstAt = s, i
						}
					}
				}
				t.Logf("%s (%s): max abs %.3g, max rel %.3g, max %.2f float32 steps of the row's scale (value %d: got %.17g, ONNX Runtime %.17g)",
					kind, m.DensePrecision(), maxAbs, maxRel, maxSteps, worstAt, got[worstAt], want.Flat()[worstAt])
				if ortFloat64[c.Name] {
					if p := m.DensePrecision(); p != model.PrecisionFloat64 {
						t.Fatalf("a graph of DOUBLE tensors is served in %s, want float64 as ONNX Runtime runs it", p)
					}
					ref := got
					worst := 0.0
					for r, wr := range want.Rows {
						scale := 1.0
						for _, w := range wr {
							scale = max(scale, math.Abs(w))
						}
						ulp64 := math.Nextafter(scale, math.Inf(1)) - scale
						for j, w := range wr {
							worst = max(worst, math.Abs(ref[r*len(wr)+j]-w)/ulp64)
						}
					}
					t.Logf("%s (float64): max %.2f float64 steps of the row's scale", kind, worst)
					if !(worst <= 6) {
						t.Errorf("%s (float64): %.2f float64 steps of the row's scale from ONNX Runtime's float64, want at most 6", kind, worst)
					}
				}
				if bound := ortSteps(c.Name); !(maxSteps <= bound) {
					t.Errorf("%s (%s) value %d: got %.17g, ONNX Runtime %.17g: %.2f float32 steps of the row's scale, want at most %g",
						kind, m.DensePrecision(), worstAt, got[worstAt], want.Flat()[worstAt], maxSteps, bound)
				}
			}
		})
	}
}
