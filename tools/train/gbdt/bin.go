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
// (NaN skipped), in row order: bin b+1 starts at cuts[b]. The values are
// rounded to float32 first, as XGBoost stores them, so every cut is a
// training value so rounded; the cuts rise strictly, and the first is above the
// smallest value, so no bin is empty on the training rows. The cuts are the
// ones XGBoost 1.7.4's hist method takes (HostSketchContainer, every row
// weighing 1): the values stream, in row order, through a weighted quantile
// sketch (WQuantileSketch with eps 1/(8·maxBin)), whose summary is pruned to
// 8·maxBin entries and then to maxBin+1 (WQSummary::SetPrune, ranks in
// float32 as there), and the entries after the smallest become the cuts
// (AddCutPoint). With few rows the sketch keeps an exact summary, and with
// fewer than maxBin distinct values each gets a bin.
func cutsFor(vals []float64, maxBin int) []float64 {
	return new(cutScratch).cuts(vals, maxBin)
}

// cutScratch holds cutsFor's buffers for reuse from one feature to the next.
type cutScratch struct {
	sorted    []float64
	keys, tmp []uint64
	a, b      []wqEntry
}

// wqEntry is an entry of XGBoost's WQSummary: a value with the least and
// most total weight that can be below it (rmin) and at or below it (rmax),
// and its own weight, in float32 as XGBoost keeps them.
type wqEntry struct {
	v                float64
	rmin, rmax, wmin float32
}

func (e *wqEntry) rminNext() float32 { return e.rmin + e.wmin }
func (e *wqEntry) rmaxPrev() float32 { return e.rmax - e.wmin }

// qEntry is a value waiting in the sketch's input queue with its weight
// (consecutive equal values are merged).
type qEntry struct {
	v float64
	w float32
}

// wqSketch is XGBoost's QuantileSketchTemplate over WQSummary: values go to
// a queue of 2·limit entries; a full queue is summarised exactly and the
// summary pushed down levels of pruned summaries of at most limit entries,
// merged level by level.
type wqSketch struct {
	limit  int
	levels [][]wqEntry // levels[0] is scratch
	temp   []wqEntry
	queue  []qEntry
	ones   bool // every queued weight is 1
	n      int  // the non-missing values the column has
}

// sketchLimit is XGBoost's LimitSizeLevel: the entries a level keeps for
// maxn values at error eps.
func sketchLimit(maxn int, eps float64) int {
	for nlevel := 1; ; nlevel++ {
		limit := min(maxn, int(math.Ceil(float64(nlevel)/eps))+1)
		if (1<<nlevel)*limit >= maxn {
			return limit
		}
	}
}

// summarize sorts q and writes its exact summary to dst. ones says every
// weight in q is 1: the values are then radix-sorted on their own (pdqsort
// of the entries took 3/4 of the cut search, 1M x 40 rows).
func (sc *cutScratch) summarize(dst []wqEntry, q []qEntry, ones bool) []wqEntry {
	dst = dst[:0]
	if ones {
		sorted := sc.sorted[:0]
		for _, e := range q {
			sorted = append(sorted, e.v)
		}
		sc.sortFloats(sorted)
		sc.sorted = sorted
		for i := 0; i < len(sorted); {
			j := i + 1
			for j < len(sorted) && sorted[j] == sorted[i] {
				j++
			}
			// Integer weights below 2^24 are exact in float32.
			dst = append(dst, wqEntry{v: sorted[i], rmin: float32(i), rmax: float32(j), wmin: float32(j - i)})
			i = j
		}
		return dst
	}
	slices.SortFunc(q, func(a, b qEntry) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	var wsum float32
	for i := 0; i < len(q); {
		j, w := i+1, q[i].w
		for j < len(q) && q[j].v == q[i].v {
			w += q[j].w
			j++
		}
		dst = append(dst, wqEntry{v: q[i].v, rmin: wsum, rmax: wsum + w, wmin: w})
		wsum += w
		i = j
	}
	return dst
}

// prune is WQSummary::SetPrune: src cut to at most maxsize entries at evenly
// spaced ranks, the first and last kept, written to dst.
func prune(dst, src []wqEntry, maxsize int) []wqEntry {
	dst = dst[:0]
	if len(src) <= maxsize {
		return append(dst, src...)
	}
	begin := src[0].rmax
	rng := src[len(src)-1].rmin - src[0].rmax
	n := maxsize - 1
	dst = append(dst, src[0])
	i, last := 1, 0
	for k := 1; k < n; k++ {
		dx2 := 2 * ((float32(k)*rng)/float32(n) + begin)
		for i < len(src)-1 && dx2 >= src[i+1].rmax+src[i+1].rmin {
			i++
		}
		if i == len(src)-1 {
			break
		}
		if dx2 < src[i].rminNext()+src[i+1].rmaxPrev() {
			if i != last {
				dst = append(dst, src[i])
				last = i
			}
		} else if i+1 != last {
			dst = append(dst, src[i+1])
			last = i + 1
		}
	}
	if last != len(src)-1 {
		dst = append(dst, src[len(src)-1])
	}
	return dst
}

// combine is WQSummary::SetCombine: the merged summary of a and b, its
// ranks then made consistent (FixError), written to dst.
func combine(dst, a, b []wqEntry) []wqEntry {
	dst = dst[:0]
	if len(a) == 0 {
		return append(dst, b...)
	}
	if len(b) == 0 {
		return append(dst, a...)
	}
	var aprev, bprev float32
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := &a[i], &b[j]
		switch {
		case x.v == y.v:
			dst = append(dst, wqEntry{v: x.v, rmin: x.rmin + y.rmin, rmax: x.rmax + y.rmax, wmin: x.wmin + y.wmin})
			aprev, bprev = x.rminNext(), y.rminNext()
			i++
			j++
		case x.v < y.v:
			dst = append(dst, wqEntry{v: x.v, rmin: x.rmin + bprev, rmax: x.rmax + y.rmaxPrev(), wmin: x.wmin})
			aprev = x.rminNext()
			i++
		default:
			dst = append(dst, wqEntry{v: y.v, rmin: y.rmin + aprev, rmax: y.rmax + x.rmaxPrev(), wmin: y.wmin})
			bprev = y.rminNext()
			j++
		}
	}
	if i < len(a) {
		brmax := b[len(b)-1].rmax
		for ; i < len(a); i++ {
			dst = append(dst, wqEntry{v: a[i].v, rmin: a[i].rmin + bprev, rmax: a[i].rmax + brmax, wmin: a[i].wmin})
		}
	}
	if j < len(b) {
		armax := a[len(a)-1].rmax
		for ; j < len(b); j++ {
			dst = append(dst, wqEntry{v: b[j].v, rmin: b[j].rmin + aprev, rmax: b[j].rmax + armax, wmin: b[j].wmin})
		}
	}
	// FixError: rmin and rmax never fall, rmax covers rmin+wmin.
	var prevMin, prevMax float32
	for k := range dst {
		e := &dst[k]
		if e.rmin < prevMin {
			e.rmin = prevMin
		} else {
			prevMin = e.rmin
		}
		if e.rmax < prevMax {
			e.rmax = prevMax
		}
		if e.rmax < e.rminNext() {
			e.rmax = e.rminNext()
		}
		prevMax = e.rmax
	}
	return dst
}

// pushSummary is PushTemp: the summary in sk.temp goes down the levels,
// merged with each full level until the merge fits in limit entries.
func (sk *wqSketch) pushSummary() {
	for l := 1; ; l++ {
		for len(sk.levels) < l+1 {
			sk.levels = append(sk.levels, nil)
		}
		if len(sk.levels[l]) == 0 {
			sk.levels[l] = prune(sk.levels[l], sk.temp, sk.limit)
			return
		}
		sk.levels[0] = prune(sk.levels[0], sk.temp, sk.limit)
		sk.temp = combine(sk.temp, sk.levels[0], sk.levels[l])
		if len(sk.temp) > sk.limit {
			sk.levels[l] = sk.levels[l][:0]
		} else {
			sk.levels[l] = append(sk.levels[l][:0], sk.temp...)
			return
		}
	}
}

func (sc *cutScratch) cuts(vals []float64, maxBin int) []float64 {
	var sk wqSketch
	n := 0
	for _, v := range vals {
		if v == v {
			n++
		}
	}
	sk.init(n, maxBin)
	for _, v := range vals {
		sk.push(round32(v), sc)
	}
	return sk.finish(sc, maxBin)
}

// init readies the sketch for a column of n non-missing values, as
// HostSketchContainer does: eps from the bins the column can have.
func (sk *wqSketch) init(n, maxBin int) {
	sk.n = n
	if n == 0 {
		return
	}
	nbins := max(1, min(maxBin, n))
	sk.limit = sketchLimit(n, 1/float64(nbins*8))
	sk.queue = make([]qEntry, 0, 2*sk.limit)
	sk.ones = true
}

// push adds a value (NaN skipped); sc is scratch.
func (sk *wqSketch) push(v float64, sc *cutScratch) {
	if v != v {
		return
	}
	q := sk.queue
	if len(q) == 2*sk.limit && q[len(q)-1].v != v {
		sk.temp = sc.summarize(sk.temp, q, sk.ones)
		q, sk.ones = q[:0], true
		sk.pushSummary()
	}
	if len(q) > 0 && q[len(q)-1].v == v {
		q[len(q)-1].w++
		sk.ones = false
	} else {
		q = append(q, qEntry{v: v, w: 1})
	}
	sk.queue = q
}

// finish returns the column's cuts: GetSummary, then AllReduce's and
// MakeCuts' prunes and AddCutPoint.
func (sk *wqSketch) finish(sc *cutScratch, maxBin int) []float64 {
	if sk.n == 0 {
		return nil
	}
	out := sc.summarize(sc.a, sk.queue, sk.ones)
	if len(sk.levels) > 0 {
		sk.levels[0] = prune(sk.levels[0], out, sk.limit)
		for l := 1; l < len(sk.levels); l++ {
			if len(sk.levels[l]) == 0 {
				continue
			}
			if len(sk.levels[0]) == 0 {
				sk.levels[0] = append(sk.levels[0], sk.levels[l]...)
			} else {
				out = combine(out, sk.levels[0], sk.levels[l])
				sk.levels[0] = prune(sk.levels[0], out, sk.limit)
			}
		}
		out = append(out[:0], sk.levels[0]...)
	} else if len(out) > sk.limit {
		sc.b = prune(sc.b, out, sk.limit)
		out, sc.b = sc.b, out
	}
	sc.a = out
	numCuts := min(sk.n, maxBin*8)
	sc.b = prune(sc.b, out, numCuts)
	maxNumBins := min(numCuts, maxBin)
	final := prune(sc.a, sc.b, maxNumBins+1)
	sc.a = final
	var cuts []float64
	for i := 1; i < min(len(final), maxNumBins); i++ {
		if len(cuts) == 0 || final[i].v > cuts[len(cuts)-1] {
			cuts = append(cuts, final[i].v)
		}
	}
	*sk = wqSketch{} // drop the buffers
	return cuts
}

// binOf returns the bin code of x under cuts: the number of cuts <= x
// rounded to float32, or missingBin for NaN. A split after bin b (code <= b
// goes left) is so the kernels' LessFloat32 rule with threshold cuts[b]:
// float32(x) < cuts[b], the cuts being float32 values.
func binOf(cuts []float64, x float64) uint8 {
	if x != x {
		return missingBin
	}
	x = round32(x)
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

// round32 is x rounded to float32, as XGBoost reads every value (±Inf
// beyond float32's range, NaN kept).
func round32(x float64) float64 { return float64(float32(x)) }

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

// computeCuts finds every feature's cuts from row-major rows. Each thread
// takes a range of features and streams the rows once through a sketch per
// feature (after a pass counting the missing values), as XGBoost pushes them (gathering each column first read the
// whole matrix once per feature: 2.1 s for 1M x 40 rows on one thread).
func computeCuts(rows []float64, n, nf, maxBin, threads int) [][]float64 {
	cuts := make([][]float64, nf)
	parallel(threads, nf, func(lo, hi int) {
		sc := new(cutScratch)
		sks := make([]wqSketch, hi-lo)
		count := make([]int, hi-lo)
		for r := 0; r < n; r++ {
			for j, v := range rows[r*nf+lo : r*nf+hi] {
				if v == v {
					count[j]++
				}
			}
		}
		for j := range sks {
			sks[j].init(count[j], maxBin)
		}
		for r := 0; r < n; r++ {
			row := rows[r*nf+lo : r*nf+hi]
			for j, v := range row {
				sks[j].push(round32(v), sc)
			}
		}
		for j := range sks {
			cuts[lo+j] = sks[j].finish(sc, maxBin)
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

// radixBits is the width of a radix sort digit: 6 passes of 11 bits. The
// sketch sorts its queue of up to 2·limit values (28,562 for 1M rows);
// 16-bit digits spent more on clearing and summing their 65,536 counts than
// on the values (the sort was 1/3 of the cut search, 1M x 40 rows).
const radixBits = 11

// sortFloats sorts vals (no NaN) ascending. Large inputs go through an LSD
// radix sort of order-preserving integer keys, radixBits a pass, instead of
// pdqsort's comparisons (the cut search, then sorting every feature's whole
// column, was 17% of a 1-thread fit).
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
	var count [1 << radixBits]int
	for shift := uint(0); shift < 64; shift += radixBits {
		clear(count[:])
		for _, k := range keys {
			count[k>>shift&(1<<radixBits-1)]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range keys {
			d := k >> shift & (1<<radixBits - 1)
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
