package model

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"

	"github.com/predictd/predictd/kernels"
)

// This file draws rows that exercise a model: for warming a version before
// it serves, for calibrating it, and for `predictd bench` when no rows are
// given.

// MissingRate is the share of missing (NaN) values in SyntheticRows' rows of
// a tree ensemble, so the default directions are exercised too.
const MissingRate = 0.05

// SyntheticRows returns n rows (row-major) drawn from a generator seeded
// with seed, to exercise p's computation. For a *Trees, each feature a
// numerical split tests takes values spread over the intervals its
// thresholds (SplitPoints) cut the line into, each interval as likely as
// any other, so every split sends rows both ways; a feature a categorical
// split tests takes the categories its sets name and one past them; and any
// value is missing with probability MissingRate. Features no split uses,
// and every feature of other models, are standard normal.
func SyntheticRows(p Predictor, n int, seed uint64) []float64 {
	nf := p.NumFeatures()
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	rows := make([]float64, n*nf)
	t, ok := p.(*Trees)
	if !ok {
		for i := range rows {
			rows[i] = rng.NormFloat64()
		}
		return rows
	}
	points := SplitPoints(&t.Forest)
	cats := maxCategories(&t.Forest)
	for r := 0; r < n; r++ {
		row := rows[r*nf : (r+1)*nf]
		for j := range row {
			switch {
			case rng.Float64() < MissingRate:
				row[j] = math.NaN()
			case cats[j] > 0:
				row[j] = float64(rng.IntN(cats[j] + 1))
			case len(points[j]) > 0:
				row[j] = between(rng, points[j])
			default:
				row[j] = rng.NormFloat64()
			}
		}
	}
	return rows
}

// between draws a value in one of the len(ts)+1 intervals that the sorted
// thresholds ts cut the line into, chosen uniformly: inside an interval
// uniformly, and past either end within one mean gap (or 1) of it.
func between(rng *rand.Rand, ts []float64) float64 {
	k := rng.IntN(len(ts) + 1)
	u := rng.Float64()
	step := 1.0
	if len(ts) > 1 {
		step = (ts[len(ts)-1] - ts[0]) / float64(len(ts)-1)
	}
	switch k {
	case 0:
		return ts[0] - step*(u+1e-3)
	case len(ts):
		return ts[len(ts)-1] + step*u
	}
	lo, hi := ts[k-1], ts[k]
	return lo + (hi-lo)*u
}

// SplitPoints returns, for each feature of f, the distinct thresholds of the
// numerical splits that test it, ascending; nil for a feature that none
// tests.
func SplitPoints(f *kernels.Forest) [][]float64 {
	pts := make([][]float64, f.NumFeatures)
	for i := range f.Nodes {
		nd := &f.Nodes[i]
		if nd.IsLeaf() || nd.Flags&kernels.FlagCategorical != 0 {
			continue
		}
		pts[nd.Feature] = append(pts[nd.Feature], nd.Value)
	}
	for j := range pts {
		slices.Sort(pts[j])
		pts[j] = slices.Compact(pts[j])
	}
	return pts
}

// maxCategories returns, per feature, the largest category any categorical
// split on it names, or 0 for a feature without categorical splits.
func maxCategories(f *kernels.Forest) []int {
	out := make([]int, f.NumFeatures)
	for i := range f.Nodes {
		nd := &f.Nodes[i]
		if nd.IsLeaf() || nd.Flags&kernels.FlagCategorical == 0 {
			continue
		}
		k := int(nd.Value)
		words := f.CatSets[f.CatBounds[k]:f.CatBounds[k+1]]
		for w := len(words) - 1; w >= 0; w-- {
			if words[w] != 0 {
				top := 32*w + 31 - bits.LeadingZeros32(words[w])
				out[nd.Feature] = max(out[nd.Feature], top, 1)
				break
			}
		}
	}
	return out
}
