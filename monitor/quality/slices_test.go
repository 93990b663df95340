package quality

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"
)

func eceBins10(y, p []float64) float64 {
	c, ok := CalibrationCurve(y, p, 10)
	if !ok {
		return math.NaN()
	}
	return c.ECE()
}

// checkSlices compares BySlice of one key type with the oracle's
// per-slice metrics, and the spread with the one recomputed from them.
func checkSlices[S cmp.Ordered](t *testing.T, f *fairnessFile, k int, key []S, wantKeys []S) {
	t.Helper()
	c := f.Slices[k]
	for _, m := range []struct {
		name   string
		fn     func(y, p []float64) float64
		higher bool
		want   func(i int) *float64
	}{
		{"roc_auc", ROCAUC, true, func(i int) *float64 { return c.Want[i].ROCAUC }},
		{"log_loss", LogLoss, false, func(i int) *float64 { return c.Want[i].LogLoss }},
		{"brier", Brier, false, func(i int) *float64 { return c.Want[i].Brier }},
		{"ece", eceBins10, false, func(i int) *float64 { return c.Want[i].ECE }},
	} {
		got := BySlice(c.Y, c.P, key, m.fn, m.higher)
		if len(got.Slices) != len(c.Want) {
			t.Fatalf("%s %s: %d slices, want %d", c.Name, m.name, len(got.Slices), len(c.Want))
		}
		best, worst := -1, -1
		var undefined []S
		for i, s := range got.Slices {
			w := m.want(i)
			if s.Slice != wantKeys[i] || s.Rows != c.Want[i].Rows || !near(s.Metric, w) {
				t.Errorf("%s %s: slice %v rows %d = %v; want %v rows %d = %v", c.Name, m.name, s.Slice, s.Rows, s.Metric,
					wantKeys[i], c.Want[i].Rows, show(w))
			}
			if w == nil {
				undefined = append(undefined, wantKeys[i])
				continue
			}
			sign := 1.0
			if !m.higher {
				sign = -1
			}
			if best < 0 || sign**w > sign**m.want(best) {
				best = i
			}
			if worst < 0 || sign**w < sign**m.want(worst) {
				worst = i
			}
		}
		if !slices.Equal(got.Undefined, undefined) {
			t.Errorf("%s %s: undefined slices %v, want %v", c.Name, m.name, got.Undefined, undefined)
		}
		wantSpread := math.Abs(*m.want(best) - *m.want(worst))
		if got.Best != wantKeys[best] || got.Worst != wantKeys[worst] || !near(got.Spread, &wantSpread) {
			t.Errorf("%s %s: best %v worst %v spread %v; want %v %v %v", c.Name, m.name, got.Best, got.Worst, got.Spread,
				wantKeys[best], wantKeys[worst], wantSpread)
		}
	}
}

func TestBySliceOracle(t *testing.T) {
	f := loadFairness(t)
	for k, c := range f.Slices {
		strs, ints, ok := keys(c.Slices)
		var wv []any
		for _, w := range c.Want {
			wv = append(wv, w.Slice)
		}
		wantStrs, wantInts, ok2 := keys(wv)
		if !ok || !ok2 {
			t.Fatalf("%s: slice values of mixed types", c.Name)
		}
		if strs != nil {
			checkSlices(t, f, k, strs, wantStrs)
		} else {
			checkSlices(t, f, k, ints, wantInts)
		}
	}
}

func TestBySliceEdges(t *testing.T) {
	// Every slice undefined: no best or worst, NaN spread.
	got := BySlice([]float64{1, 1, 0}, []float64{0.5, 0.6, 0.2}, []string{"a", "a", "b"}, ROCAUC, true)
	if !math.IsNaN(got.Spread) || got.Best != "" || got.Worst != "" || !slices.Equal(got.Undefined, []string{"a", "b"}) {
		t.Errorf("BySlice(one class per slice) = %+v, want NaN spread, no best/worst, undefined [a b]", got)
	}
	// Ties: the first slice in ascending order wins both ends.
	gi := BySlice([]float64{1, 0, 1, 0}, []float64{0.5, 0.5, 0.5, 0.5}, []int{2, 2, 1, 1}, Brier, false)
	if gi.Best != 1 || gi.Worst != 1 || gi.Spread != 0 {
		t.Errorf("BySlice(tied slices) = %+v, want best = worst = 1, spread 0", gi)
	}
	// Rows reach the metric in their original order.
	var seen []string
	BySlice([]float64{0, 0, 0}, []float64{0.3, 0.1, 0.2}, []string{"x", "x", "x"}, func(y, p []float64) float64 {
		seen = append(seen, fmt.Sprint(p))
		return 0
	}, true)
	if !slices.Equal(seen, []string{"[0.3 0.1 0.2]"}) {
		t.Errorf("BySlice passed %v, want the rows in order [[0.3 0.1 0.2]]", seen)
	}
	if got := BySlice[string](nil, nil, nil, ROCAUC, true); len(got.Slices) != 0 || !math.IsNaN(got.Spread) {
		t.Errorf("BySlice(no rows) = %+v, want no slices, NaN spread", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("BySlice with a short slice-value slice did not panic")
		}
	}()
	BySlice([]float64{1}, []float64{1}, []string{}, ROCAUC, true)
}
