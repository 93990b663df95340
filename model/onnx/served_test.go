package onnx

import (
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// TestServedParity holds what predict, score and serve run for each graph
// (written and opened with its default precision) to the numpy float64
// oracle: a linear graph in float64 within 1e-12 of each row's scale, an
// MLP graph of DOUBLE tensors in float64 within 1e-9, a FLOAT MLP graph in
// float32 (as ONNX Runtime runs it) within model.Float32Bound.
func TestServedParity(t *testing.T) {
	for _, c := range readCases(t).Cases {
		imp, err := Parse(readModel(t, c.Name))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		bound := model.Float32Bound
		switch {
		case imp.Kind == model.KindLinear:
			bound = 1e-12
		case imp.Precision == model.PrecisionFloat64: // a graph of DOUBLE tensors
			bound = 1e-9
		}
		fixture.CheckServedDense(t, "onnx", c.Name, imp, bound)
	}
}
