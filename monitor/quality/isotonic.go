package quality

import (
	"fmt"
	"math"
	"slices"
)

// Isotonic is a fitted isotonic calibration map from scores to
// probabilities: scikit-learn 1.2.1's IsotonicRegression(increasing=True,
// out_of_bounds="clip") fitted on (score, label) pairs, the calibration
// NannyML's CBPE applies, fitted on a reference set with labels, before it
// estimates on scores without labels. An Isotonic is immutable and may be
// shared.
type Isotonic struct {
	x, y []float64 // the distinct scores, ascending, and their fitted values
}

// isotonicEps is numpy's finfo(float64).resolution: scikit-learn's
// _make_unique merges scores closer than this to the first of a run.
const isotonicEps = 1e-15

// FitIsotonic fits the calibration map on labels y (1 positive, anything
// else negative) and scores p. Rows are ordered by score; a run of scores
// within 1e-15 of its first becomes one point at that first score with the
// run's fraction of positives, weighted by its row count; the pool-adjacent-
// violators algorithm then makes the points non-decreasing. It returns an
// error naming the row of a NaN or infinite score, or for no rows.
func FitIsotonic(y, p []float64) (*Isotonic, error) {
	if len(y) != len(p) {
		panic("quality: BUG: FitIsotonic: labels and scores differ in length")
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("isotonic calibration: no rows")
	}
	type row struct{ p, y float64 }
	rows := make([]row, len(p))
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("isotonic calibration: row %d: score %v is not a finite number", i, v)
		}
		t := 0.0
		if y[i] == 1 {
			t = 1
		}
		rows[i] = row{v, t}
	}
	// np.lexsort((y, X)): by score, then label.
	slices.SortFunc(rows, func(a, b row) int {
		if a.p != b.p {
			if a.p < b.p {
				return -1
			}
			return 1
		}
		if a.y != b.y {
			if a.y < b.y {
				return -1
			}
			return 1
		}
		return 0
	})
	// Blocks of the pool-adjacent-violators algorithm: a block spans the
	// points [start, end) and holds their weighted mean.
	type block struct {
		sum, w     float64
		start, end int
	}
	var xs []float64
	var blocks []block
	for i := 0; i < len(rows); {
		x0 := rows[i].p
		sum, w := 0.0, 0.0
		for ; i < len(rows) && rows[i].p-x0 < isotonicEps; i++ {
			sum += rows[i].y
			w++
		}
		k := len(xs)
		xs = append(xs, x0)
		b := block{sum: sum, w: w, start: k, end: k + 1}
		// Pool while the previous block's mean is above this one's.
		for len(blocks) > 0 {
			prev := blocks[len(blocks)-1]
			if prev.sum/prev.w <= b.sum/b.w {
				break
			}
			b = block{sum: prev.sum + b.sum, w: prev.w + b.w, start: prev.start, end: b.end}
			blocks = blocks[:len(blocks)-1]
		}
		blocks = append(blocks, b)
	}
	ys := make([]float64, len(xs))
	for _, b := range blocks {
		for k := b.start; k < b.end; k++ {
			ys[k] = b.sum / b.w
		}
	}
	return &Isotonic{x: xs, y: ys}, nil
}

// Calibrate appends to dst the calibrated probability of each score in p
// and returns the extended slice: a score below the smallest fitted score
// (or above the largest) is clipped to it, and one between two fitted
// scores is linearly interpolated between their values, as scipy's
// interp1d does for scikit-learn. A NaN score gives NaN.
func (c *Isotonic) Calibrate(dst, p []float64) []float64 {
	lo, hi := c.x[0], c.x[len(c.x)-1]
	for _, v := range p {
		if v != v {
			dst = append(dst, math.NaN())
			continue
		}
		if len(c.x) == 1 {
			dst = append(dst, c.y[0])
			continue
		}
		v = min(max(v, lo), hi)
		// scipy: the first fitted score >= v, kept within [1, n-1].
		j, _ := slices.BinarySearch(c.x, v)
		j = min(max(j, 1), len(c.x)-1)
		x0, x1, y0, y1 := c.x[j-1], c.x[j], c.y[j-1], c.y[j]
		dst = append(dst, (y1-y0)/(x1-x0)*(v-x0)+y0)
	}
	return dst
}
