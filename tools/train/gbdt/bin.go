package gbdt

import (
	"math"
	"slices"
	"sort"
	"sync"
)

// missingBin is the bin code of a NaN value; real bins are 0..MaxBin-1.
const missingBin = 255

// histStride is the number of histogram slots per feature: every bin code.
const histStride = 256

// cutsFor returns the cut values of one feature from its training values
// (NaN skipped): bin b+1 starts at cuts[b]. Every cut is a training value, the
// cuts rise strictly, and the first is above the smallest value, so no bin is
// empty on the training rows. With at most maxBin distinct values each gets a
// bin; otherwise the cuts are the values at ranks i·n/maxBin, i = 1..maxBin-1,
// where a value repeated past several of those
// ranks gets one bin and the next cut is the next distinct value.
func cutsFor(vals []float64, maxBin int) []float64 {
	sorted := make([]float64, 0, len(vals))
	for _, v := range vals {
		if v == v {
			sorted = append(sorted, v)
		}
	}
	if len(sorted) == 0 {
		return nil
	}
	slices.Sort(sorted)
	distinct := 1
	for i := 1; i < len(sorted) && distinct <= maxBin; i++ {
		if sorted[i] != sorted[i-1] {
			distinct++
		}
	}
	var cuts []float64
	if distinct <= maxBin {
		for i := 1; i < len(sorted); i++ {
			if sorted[i] != sorted[i-1] {
				cuts = append(cuts, sorted[i])
			}
		}
		return cuts
	}
	n := len(sorted)
	prev := sorted[0]
	for i := 1; i < maxBin; i++ {
		v := sorted[int(int64(i)*int64(n)/int64(maxBin))]
		if v <= prev {
			// A value repeated past several quantiles fills its own bin;
			// the next cut is the next distinct value above it.
			j, _ := slices.BinarySearch(sorted, math.Nextafter(prev, math.Inf(1)))
			if j == n {
				break
			}
			v = sorted[j]
		}
		cuts = append(cuts, v)
		prev = v
	}
	return cuts
}

// binOf returns the bin code of x under cuts: the number of cuts <= x, or
// missingBin for NaN.
func binOf(cuts []float64, x float64) uint8 {
	if x != x {
		return missingBin
	}
	return uint8(sort.Search(len(cuts), func(i int) bool { return cuts[i] > x }))
}

// threshold is the split value stored for "left when x < cut" under the
// kernels' LessEqFloat64 rule (x <= threshold): the float64 just below cut.
func threshold(cut float64) float64 { return math.Nextafter(cut, math.Inf(-1)) }

// binned is a row-major matrix of bin codes.
type binned struct {
	codes []uint8
	rows  int
	nf    int
}

// parallel runs fn(i) for i in [0, n) on up to threads goroutines, each
// taking a contiguous block; results must not depend on the split.
func parallel(threads, n int, fn func(lo, hi int)) {
	if threads <= 1 || n < 2 {
		fn(0, n)
		return
	}
	threads = min(threads, n)
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		lo, hi := t*n/threads, (t+1)*n/threads
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}

// computeCuts finds every feature's cuts from row-major rows.
func computeCuts(rows []float64, n, nf, maxBin, threads int) [][]float64 {
	cuts := make([][]float64, nf)
	parallel(threads, nf, func(lo, hi int) {
		col := make([]float64, n)
		for f := lo; f < hi; f++ {
			for r := 0; r < n; r++ {
				col[r] = rows[r*nf+f]
			}
			cuts[f] = cutsFor(col, maxBin)
		}
	})
	return cuts
}

// binRows codes row-major rows with cuts.
func binRows(rows []float64, n, nf int, cuts [][]float64, threads int) *binned {
	b := &binned{codes: make([]uint8, n*nf), rows: n, nf: nf}
	parallel(threads, n, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			for f := 0; f < nf; f++ {
				b.codes[r*nf+f] = binOf(cuts[f], rows[r*nf+f])
			}
		}
	})
	return b
}
