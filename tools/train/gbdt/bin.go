package gbdt

import (
	"math"
	"slices"
	"sync"
)

// missingBin is the bin code of a NaN value; real bins are 0..MaxBin-1.
const missingBin = 255

// histStride is the number of histogram slots per feature: every bin code.
const histStride = 256

// cutsFor returns the cut values of one feature from its training values
// (NaN skipped): bin b+1 starts at cuts[b]. Every cut is a training value, the
// cuts rise strictly, and the first is above the smallest value, so no bin is
// empty on the training rows. The cuts are those XGBoost 1.7.4's hist method
// takes from an exact quantile summary (every row weighing 1): with fewer
// than maxBin distinct values each gets a bin; otherwise the summary is
// pruned to maxBin+1 entries at evenly spaced ranks (WQSummary::SetPrune, in
// float32 rank arithmetic as there) and the entries after the smallest
// become the cuts (AddCutPoint).
func cutsFor(vals []float64, maxBin int) []float64 {
	return new(cutScratch).cuts(vals, maxBin)
}

// cutScratch holds cutsFor's buffers for reuse from one feature to the next.
type cutScratch struct {
	sorted    []float64
	keys, tmp []uint64
	sum       []summaryEntry
}

// summaryEntry is a distinct value with the number of values below it
// (rmin), at or below it (rmax) and equal to it (w), in float32 as
// XGBoost's WQSummary keeps ranks.
type summaryEntry struct {
	v             float64
	rmin, rmax, w float32
}

func (sc *cutScratch) cuts(vals []float64, maxBin int) []float64 {
	sorted := sc.sorted[:0]
	for _, v := range vals {
		if v == v {
			sorted = append(sorted, v)
		}
	}
	if len(sorted) == 0 {
		return nil
	}
	sc.sorted = sorted
	sc.sortFloats(sorted)
	// The exact summary.
	type entry = summaryEntry
	sum := sc.sum[:0]
	for i := 0; i < len(sorted); {
		j := i + 1
		for j < len(sorted) && sorted[j] == sorted[i] {
			j++
		}
		sum = append(sum, entry{v: sorted[i], rmin: float32(i), rmax: float32(j), w: float32(j - i)})
		i = j
	}
	sc.sum = sum
	maxsize := maxBin + 1
	pruned := sum
	if len(sum) > maxsize {
		pruned = []entry{sum[0]}
		begin := sum[0].rmax
		rng := sum[len(sum)-1].rmin - sum[0].rmax
		n := maxsize - 1
		i, last := 1, 0
		for k := 1; k < n; k++ {
			dx2 := 2 * ((float32(k)*rng)/float32(n) + begin)
			for i < len(sum)-1 && dx2 >= sum[i+1].rmax+sum[i+1].rmin {
				i++
			}
			if i == len(sum)-1 {
				break
			}
			if dx2 < (sum[i].rmin+sum[i].w)+(sum[i+1].rmax-sum[i+1].w) {
				if i != last {
					pruned = append(pruned, sum[i])
					last = i
				}
			} else if i+1 != last {
				pruned = append(pruned, sum[i+1])
				last = i + 1
			}
		}
		if last != len(sum)-1 {
			pruned = append(pruned, sum[len(sum)-1])
		}
	}
	var cuts []float64
	for i := 1; i < min(len(pruned), maxBin); i++ {
		if len(cuts) == 0 || pruned[i].v > cuts[len(cuts)-1] {
			cuts = append(cuts, pruned[i].v)
		}
	}
	return cuts
}

// binOf returns the bin code of x under cuts: the number of cuts <= x, or
// missingBin for NaN.
func binOf(cuts []float64, x float64) uint8 {
	if x != x {
		return missingBin
	}
	lo, hi := 0, len(cuts)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if cuts[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return uint8(lo)
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
		sc := new(cutScratch)
		for f := lo; f < hi; f++ {
			for r := 0; r < n; r++ {
				col[r] = rows[r*nf+f]
			}
			cuts[f] = sc.cuts(col, maxBin)
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

// radixMin is the least number of values sortFloats radix-sorts; below it
// slices.Sort is faster.
const radixMin = 4096

// sortFloats sorts vals (no NaN) ascending. Large inputs go through an LSD
// radix sort of order-preserving integer keys, 16 bits a pass: for 200,000
// values 4 passes instead of pdqsort's comparisons (the cut search sorted
// every feature's column and was 17% of a 1-thread fit).
func sortFloats(vals []float64) { new(cutScratch).sortFloats(vals) }

func (sc *cutScratch) sortFloats(vals []float64) {
	if len(vals) < radixMin {
		slices.Sort(vals)
		return
	}
	if cap(sc.keys) < len(vals) {
		sc.keys, sc.tmp = make([]uint64, len(vals)), make([]uint64, len(vals))
	}
	keys, tmp := sc.keys[:len(vals)], sc.tmp[:len(vals)]
	for i, v := range vals {
		b := math.Float64bits(v)
		if b>>63 != 0 {
			b = ^b
		} else {
			b |= 1 << 63
		}
		keys[i] = b
	}
	var count [1 << 16]int
	for shift := uint(0); shift < 64; shift += 16 {
		clear(count[:])
		for _, k := range keys {
			count[k>>shift&0xffff]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range keys {
			d := k >> shift & 0xffff
			tmp[count[d]] = k
			count[d]++
		}
		keys, tmp = tmp, keys
	}
	for i, b := range keys {
		if b>>63 != 0 {
			b &^= 1 << 63
		} else {
			b = ^b
		}
		vals[i] = math.Float64frombits(b)
	}
}
