package eval

import (
	"fmt"
	"testing"
)

// TestRegressionCurveBins: bins of equal count by ascending prediction,
// the first len%Bins one row more, none empty.
func TestRegressionCurveBins(t *testing.T) {
	for _, c := range []struct {
		n, bins int
		counts  string
	}{{10, 3, "[4 3 3]"}, {2, 5, "[1 1]"}, {6, 3, "[2 2 2]"}, {1, 1, "[1]"}} {
		y, p := make([]float64, c.n), make([]float64, c.n)
		for i := range p {
			p[i] = float64(c.n - i) // descending: the curve sorts
			y[i] = 2 * p[i]
		}
		e := evaluator{o: &Options{Bins: c.bins}, md: modeValue, width: 1}
		r := e.regressionCurve(y, p).Regression
		if got := fmt.Sprint(r.Count); got != c.counts {
			t.Errorf("%d rows, %d bins: counts %s, want %s", c.n, c.bins, got, c.counts)
		}
		for i := range r.Count {
			if r.MeanLabel[i] != 2*r.MeanPredicted[i] || (i > 0 && r.MeanPredicted[i] <= r.MeanPredicted[i-1]) {
				t.Errorf("%d rows, %d bins: bin %d mean prediction %v label %v", c.n, c.bins, i, r.MeanPredicted[i], r.MeanLabel[i])
			}
		}
	}
}
