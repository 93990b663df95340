package quality

import (
	"cmp"
	"math"
	"slices"
)

// SliceValue is one slice's metric.
type SliceValue[S cmp.Ordered] struct {
	Slice  S
	Rows   int64
	Metric float64 // NaN when the metric is undefined on the slice's rows
}

// SliceSpread is a metric per slice and the spread between the best and
// the worst slice.
type SliceSpread[S cmp.Ordered] struct {
	// Slices holds every slice value present, ascending (cmp.Compare),
	// undefined ones included.
	Slices []SliceValue[S]
	// Best and Worst are the slices with the best and the worst defined
	// metric (by HigherIsBetter); on a tie, the first in Slices' order.
	// Zero values when no slice's metric is defined.
	Best, Worst S
	// Spread is |best metric - worst metric| ≥ 0; NaN when no slice's
	// metric is defined.
	Spread float64
	// Undefined lists, ascending, the slices whose metric is NaN: they
	// are left out of Best, Worst and Spread.
	Undefined []S
}

// BySlice computes metric (ROCAUC, LogLoss, Brier, or any function of
// labels and scores) on the rows of each slice value: slice[i] is row i's
// value. higherIsBetter says which end is best (true for ROC AUC, false
// for log loss and Brier). The rows are gathered per slice in their
// original order, into buffers reused from slice to slice: metric must
// not keep them. The slices must have one length (else it panics with a
// BUG message).
func BySlice[S cmp.Ordered](y, p []float64, slice []S, metric func(y, p []float64) float64, higherIsBetter bool) SliceSpread[S] {
	if len(y) != len(p) || len(p) != len(slice) {
		panic("quality: BUG: BySlice: labels, scores and slice values differ in length")
	}
	rows := make(map[S][]int)
	for i, s := range slice {
		rows[s] = append(rows[s], i)
	}
	var out SliceSpread[S]
	for s := range rows {
		out.Slices = append(out.Slices, SliceValue[S]{Slice: s})
	}
	slices.SortFunc(out.Slices, func(a, b SliceValue[S]) int { return cmp.Compare(a.Slice, b.Slice) })
	var ys, ps []float64
	best, worst := -1, -1
	for k := range out.Slices {
		v := &out.Slices[k]
		ys, ps = ys[:0], ps[:0]
		for _, i := range rows[v.Slice] {
			ys, ps = append(ys, y[i]), append(ps, p[i])
		}
		v.Rows, v.Metric = int64(len(ys)), metric(ys, ps)
		if math.IsNaN(v.Metric) {
			out.Undefined = append(out.Undefined, v.Slice)
			continue
		}
		better := func(a, b float64) bool { return a > b }
		if !higherIsBetter {
			better = func(a, b float64) bool { return a < b }
		}
		if best < 0 || better(v.Metric, out.Slices[best].Metric) {
			best = k
		}
		if worst < 0 || better(out.Slices[worst].Metric, v.Metric) {
			worst = k
		}
	}
	if best < 0 {
		out.Spread = math.NaN()
		return out
	}
	out.Best, out.Worst = out.Slices[best].Slice, out.Slices[worst].Slice
	out.Spread = math.Abs(out.Slices[best].Metric - out.Slices[worst].Metric)
	return out
}
