package score

import (
	"errors"
	"io"
	"math"
	"testing"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

func feats(names ...string) []model.Feature {
	fs := make([]model.Feature, len(names))
	for i, n := range names {
		fs[i] = model.Feature{Name: n, Type: model.FeatureFloat}
	}
	return fs
}

// linearModel is a real model.Dense with one identity layer over the
// features x, y, z:
//
//	sum  = 1 + 2x - y + 0.5z
//	diff = -x + 0y + 3z
//
// With small dyadic inputs every product and sum is exact, so the test's own
// arithmetic is an independent oracle. A missing y (NaN) makes both NaN.
func linearModel(t testing.TB) *model.Dense {
	t.Helper()
	d := &model.Dense{
		Layers: []model.Layer{{
			In: 3, Out: 2,
			Weights:    []float64{2, -1, 0.5, -1, 0, 3},
			Bias:       []float64{1, 0},
			Activation: kernels.ActIdentity,
		}},
		Link: model.LinkIdentity,
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

func linearWant(x, y, z float64) (sum, diff float64) {
	return 1 + 2*x - y + 0.5*z, -x + 0*y + 3*z
}

func linearOptions() Options {
	o := DefaultOptions()
	o.Features = feats("x", "y", "z")
	o.Outputs = []string{"sum", "diff"}
	return o
}

// readAll reads every row from r, batch rows at a time, and returns them
// with the first error other than io.EOF.
func readAll(r RowReader, nf, batch int) ([]float64, error) {
	buf := make([]float64, nf*batch)
	var all []float64
	for {
		n, err := r.Read(buf)
		all = append(all, buf[:n*nf]...)
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return all, err
		}
	}
}

// sameFloats compares bit for bit, except that any NaN equals any NaN.
func sameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.IsNaN(a[i]) && math.IsNaN(b[i]) {
			continue
		}
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
