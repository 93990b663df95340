package shadow

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/predictd/predictd/model"
)

// compare records the batch of k rows from start, and releases it:
// shadow and live hold k rows of Outputs values each, lat the live latency
// of each row, took the Predict call's time.
func (s *Shadow) compare(start int64, shadow, live []float64, lat []time.Duration, took time.Duration) {
	out, k := s.opts.Outputs, len(lat)
	s.smu.Lock()
	defer s.smu.Unlock()
	defer s.release(start)
	st := &s.st
	st.batches++
	record(st.shadowBatch, took, 1)
	record(st.shadowRow, took/time.Duration(k), int64(k))
	// An offer's rows share its latency: record each run of equal ones
	// once.
	for i := 0; i < k; {
		j := i + 1
		for j < k && lat[j] == lat[i] {
			j++
		}
		record(st.liveLat, lat[i], int64(j-i))
		i = j
	}
	for i := range k {
		st.compared++
		l, sh := live[i*out:(i+1)*out], shadow[i*out:(i+1)*out]
		switch s.opts.Task {
		case model.TaskBinary:
			s.compareBinary(l[0], sh[0])
		case model.TaskMulticlass:
			s.compareMulticlass(l, sh)
		default:
			s.compareRegression(l[0], sh[0])
		}
	}
}

// diff counts one row's agreement and difference.
func (st *stats) diff(agree bool, d float64) {
	if agree {
		st.agreed++
	}
	st.diffRows++
	st.sumDiff += d
	st.maxDiff = max(st.maxDiff, d)
}

func (s *Shadow) compareBinary(l, sh float64) {
	st := &s.st
	if math.IsNaN(l) || math.IsNaN(sh) {
		st.nan++
		return
	}
	th := s.opts.Threshold
	st.diff((l >= th) == (sh >= th), math.Abs(l-sh))
	st.liveBins[probBin(l, len(st.liveBins))]++
	st.shadowBins[probBin(sh, len(st.shadowBins))]++
}

// probBin is p's bin among n equal bins of [0, 1]: [i/n, (i+1)/n), the
// last also holding 1; values outside [0, 1] go to the end bins.
func probBin(p float64, n int) int {
	return min(max(int(p*float64(n)), 0), n-1)
}

func (s *Shadow) compareMulticlass(l, sh []float64) {
	st := &s.st
	if slices.ContainsFunc(l, math.IsNaN) || slices.ContainsFunc(sh, math.IsNaN) {
		st.nan++
		return
	}
	cl, cs := argmax(l), argmax(sh)
	st.diff(cl == cs, math.Abs(l[cl]-sh[cl]))
	st.liveBins[cl]++
	st.shadowBins[cs]++
}

// argmax is the index of xs' largest value, the first of equal ones.
func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func (s *Shadow) compareRegression(l, sh float64) {
	st := &s.st
	if math.IsNaN(l) || math.IsNaN(sh) {
		st.nan++
		return
	}
	d := 0.0
	if l != sh {
		d = math.Abs(l - sh)
	}
	st.diff(d <= s.opts.Tolerance, d)
	if st.edges != nil {
		st.liveBins[edgeBin(st.edges, l)]++
		st.shadowBins[edgeBin(st.edges, sh)]++
		return
	}
	st.edgeLive = append(st.edgeLive, l)
	st.edgeShadow = append(st.edgeShadow, sh)
	if len(st.edgeLive) < s.opts.EdgeRows {
		return
	}
	// Enough live values: fix the edges and bin what waited for them.
	st.edges = quantileEdges(st.edgeLive, s.opts.Bins)
	binInto(st.liveBins, st.edges, st.edgeLive)
	binInto(st.shadowBins, st.edges, st.edgeShadow)
	st.edgeLive, st.edgeShadow = nil, nil
}

// quantileEdges returns the quantiles i/bins, i = 1..bins−1, of xs (the
// sorted values' element at index ⌊i·len/bins⌋), duplicates merged. It
// does not change xs.
func quantileEdges(xs []float64, bins int) []float64 {
	if len(xs) == 0 {
		return []float64{}
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	edges := make([]float64, 0, bins-1)
	for i := 1; i < bins; i++ {
		e := sorted[i*len(sorted)/bins]
		if len(edges) == 0 || e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	return edges
}

// edgeBin is x's bin among len(edges)+1: the number of edges below x, so
// that bin i holds edges[i−1] < x ≤ edges[i].
func edgeBin(edges []float64, x float64) int {
	return sort.SearchFloat64s(edges, x)
}

// binInto counts each of xs in its bin of edges.
func binInto(counts []int64, edges, xs []float64) {
	for _, x := range xs {
		counts[edgeBin(edges, x)]++
	}
}
