package gbdt

import (
	"container/heap"
	"math"
)

// rtEps is XGBoost's kRtEps: a split must reduce the loss by more than it.
const rtEps = 1e-6

// parallelWork is the least rows×features for which histogram building is
// split between threads; below it a goroutine costs more than it saves.
const parallelWork = 1 << 15

// grower grows one tree at a time over the binned training rows.
type grower struct {
	opts *Options
	b    *binned
	cuts [][]float64
	nf   int
	pool [][]gh  // free histograms
	mds  float64 // Options.maxDeltaStep()
}

// gh is one histogram slot: gradient and hessian sums.
type gh struct{ g, h float64 }

// work is a node of the current level: its rows are rows[lo:hi].
type work struct {
	node   int
	lo, hi int
	g, h   float64
	hist   []gh // f*histStride+code
}

type split struct {
	gain        float64
	feat        int
	bin         uint8
	defaultLeft bool
	lg, lh      float64
}

func (gr *grower) getHist() []gh {
	if n := len(gr.pool); n > 0 {
		h := gr.pool[n-1]
		gr.pool = gr.pool[:n-1]
		return h
	}
	return make([]gh, gr.nf*histStride)
}

func thresholdL1(g, alpha float64) float64 {
	switch {
	case g > alpha:
		return g - alpha
	case g < -alpha:
		return g + alpha
	}
	return 0
}

// weightOf is XGBoost's CalcWeight.
func (gr *grower) weightOf(g, h float64) float64 {
	o := gr.opts
	if h < o.MinChildWeight || h <= 0 {
		return 0
	}
	w := -thresholdL1(g, o.Alpha) / (h + o.Lambda)
	if gr.mds != 0 && math.Abs(w) > gr.mds {
		w = math.Copysign(gr.mds, w)
	}
	return w
}

// blockRows is the number of a node's rows whose histograms are built
// together. A node with more rows is built block by block, the blocks
// shared between threads, and the blocks' histograms are added in block
// order: each thread then reads only its own rows, which, scattered over
// the row-major codes at depth, cost a cache miss each (split over
// features, both threads missed on every row: 2 threads took 17.2 s of CPU
// in builds where 1 took 13.1 s, 1M x 40 rows, 50 trees). The blocks are
// fixed by the row count, so the sums do not depend on the threads.
const blockRows = 1 << 15

// build fills hist (for feats only) from rows (ascending).
func (gr *grower) build(hist []gh, rows []int32, feats []int, gp []gh) {
	nb := (len(rows) + blockRows - 1) / blockRows
	if nb <= 1 {
		threads := gr.opts.Threads
		if len(rows)*len(feats) < parallelWork {
			threads = 1
		}
		parallel(threads, len(feats), func(lo, hi int) {
			gr.buildRange(hist, rows, feats[lo:hi], len(feats) == gr.nf, lo, gp)
		})
		return
	}
	parts := make([][]gh, nb)
	for b := range parts {
		parts[b] = gr.getHist()
	}
	parallel(gr.opts.Threads, nb, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			gr.buildRange(parts[b], rows[b*blockRows:min(len(rows), (b+1)*blockRows)], feats, len(feats) == gr.nf, 0, gp)
		}
	})
	for _, f := range feats {
		dst := hist[f*histStride : (f+1)*histStride]
		copy(dst, parts[0][f*histStride:(f+1)*histStride])
		for _, p := range parts[1:] {
			src := p[f*histStride : (f+1)*histStride]
			for j := range dst {
				dst[j].g += src[j].g
				dst[j].h += src[j].h
			}
		}
	}
	gr.pool = append(gr.pool, parts...)
}

// buildRange fills hist for the features fs (clearing them first) from rows,
// each feature's bins summed in row order. all says fs is every feature from
// first on, in order, so a row's codes can be read as one slice.
func (gr *grower) buildRange(hist []gh, rows []int32, fs []int, all bool, first int, gp []gh) {
	for _, f := range fs {
		clear(hist[f*histStride : (f+1)*histStride])
	}
	nf := gr.nf
	codes := gr.b.codes
	// One fixed-size array per feature: indexing it with a uint8 code
	// needs no bounds check.
	var hpBuf [64]*[histStride]gh
	hp := hpBuf[:0]
	for _, f := range fs {
		hp = append(hp, (*[histStride]gh)(hist[f*histStride:(f+1)*histStride]))
	}
	if all {
		// Features first..first+len(fs)-1: a slice of each row.
		lo, hi := first, first+len(fs)
		for _, r := range rows {
			row := codes[int(r)*nf+lo : int(r)*nf+hi]
			row = row[:len(hp)]
			g, h := gp[r].g, gp[r].h
			for j, c := range row {
				s := &hp[j][c]
				s.g += g
				s.h += h
			}
		}
		return
	}
	for _, r := range rows {
		row := codes[int(r)*nf : int(r)*nf+nf]
		g, h := gp[r].g, gp[r].h
		for j, f := range fs {
			s := &hp[j][row[f]]
			s.g += g
			s.h += h
		}
	}
}

// childGain is XGBoost's CalcGainGivenWeight for a child, rounded to
// float32 as XGBoost's split evaluator returns it (min_child_weight is
// checked by the caller, or, with a max delta step, gives weight 0).
func (gr *grower) childGain(g, h float64) float32 {
	if h <= 0 {
		return 0
	}
	if gr.mds != 0 {
		// From the bounded weight, in float32 as XGBoost's
		// CalcGainGivenWeight<float> (which has no alpha term).
		w := float32(gr.weightOf(g, h))
		gf, hf := float32(g), float32(h)
		return -(float32(2*gf*w) + float32((hf+float32(gr.opts.Lambda))*w)*w)
	}
	t := thresholdL1(g, gr.opts.Alpha)
	return float32(t * t / (h + gr.opts.Lambda))
}

// best finds the best split of a node with sums w.g, w.h from its histogram,
// as XGBoost 1.7.4's HistEvaluator does: gains in float32 (so near-equal
// gains tie as they do there), features in ascending order, a forward pass
// with missing values sent right (bins 0..b left, for every bin b including
// the last, which splits the missing values from the rest), then, when the
// node has missing values, a backward pass with them sent left. A candidate
// replaces the best only with a strictly higher gain, so ties go to the
// lower feature and to the split found first.
func (gr *grower) best(w *work, feats []int) split {
	root := gr.childGain(w.g, w.h)
	mcw := gr.opts.MinChildWeight
	bs := split{feat: -1}
	var bestGain float32
	try := func(f int, b int, lg, lh float64, defLeft bool) {
		rg, rh := w.g-lg, w.h-lh
		if lh < mcw || rh < mcw {
			return
		}
		gain := gr.childGain(lg, lh) + gr.childGain(rg, rh) - root
		if bs.feat < 0 || gain > bestGain {
			bestGain = gain
			bs = split{gain: float64(gain), feat: f, bin: uint8(b), defaultLeft: defLeft, lg: lg, lh: lh}
		}
	}
	for _, f := range feats {
		nb := len(gr.cuts[f]) + 1
		h := w.hist[f*histStride : (f+1)*histStride]
		missing := h[missingBin].h > 0
		last := nb - 2
		if missing {
			last = nb - 1
		}
		lg, lh := 0.0, 0.0
		for b := 0; b <= last; b++ {
			lg += h[b].g
			lh += h[b].h
			try(f, b, lg, lh, false)
		}
		if !missing {
			continue
		}
		rg, rh := 0.0, 0.0
		for b := nb - 1; b >= 1; b-- {
			rg += h[b].g
			rh += h[b].h
			// Left: bins below b and the missing values.
			try(f, b-1, w.g-rg, w.h-rh, true)
		}
	}
	return bs
}

// grow grows one tree on rows (ascending) with the features feats, by the
// options' GrowPolicy.
func (gr *grower) grow(rows []int32, feats []int, gp []gh) tree {
	if gr.opts.GrowPolicy == LossGuide {
		return gr.growLossGuide(rows, feats, gp)
	}
	return gr.growDepthWise(rows, feats, gp)
}

// splittable says whether a node's best split s is made: XGBoost's driver
// takes a split whose gain is above kRtEps and Gamma.
func (gr *grower) splittable(s *split) bool {
	return s.feat >= 0 && s.gain > rtEps && s.gain > gr.opts.Gamma
}

// growDepthWise grows one tree depth-wise on rows (ascending) with the features feats.
// Each level first finds every node's split and partitions its rows, the
// nodes shared between threads (each node owns its rows[lo:hi] and
// scratch[lo:hi], and its result goes to its own slot), then lays out the
// children in node order and builds their histograms one node at a time,
// each build split over features: the tree does not depend on the number
// of threads.
func (gr *grower) growDepthWise(rows []int32, feats []int, gp []gh) tree {
	o := gr.opts
	t := tree{nodes: []tnode{{}}}
	root := work{node: 0, lo: 0, hi: len(rows)}
	for _, r := range rows {
		root.g += gp[r].g
		root.h += gp[r].h
	}
	root.hist = gr.getHist()
	gr.build(root.hist, rows, feats, gp)
	level := []work{root}
	scratch := make([]int32, len(rows))
	type decision struct {
		split bool
		s     split
		nl    int
	}
	var dec []decision
	// leaves counts the tree's leaves for MaxLeaves; expand says the
	// level's nodes may be split (they have histograms).
	leaves, expand := 1, true
	for depth := 0; len(level) > 0; depth++ {
		dec = append(dec[:0], make([]decision, len(level))...)
		threads := o.Threads
		if len(level) < 2 {
			threads = 1
		}
		parallel(threads, len(level), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				w := &level[i]
				if !expand || w.hi-w.lo < 2 {
					continue
				}
				s := gr.best(w, feats)
				if !gr.splittable(&s) {
					continue
				}
				dec[i] = decision{split: true, s: s, nl: gr.partition(rows[w.lo:w.hi], scratch[w.lo:w.hi], &s)}
			}
		})
		// XGBoost's driver takes a level's splits in node order while the
		// tree has fewer than MaxLeaves leaves, then lets the children be
		// split only if it still has (a node left unsplit keeps its rows,
		// partitioned or not).
		for i := range dec {
			if dec[i].split {
				if o.MaxLeaves > 0 && leaves >= o.MaxLeaves {
					dec[i].split = false
				} else {
					leaves++
				}
			}
		}
		expand = depth+1 < o.MaxDepth && (o.MaxLeaves == 0 || leaves < o.MaxLeaves)
		var next []work
		for i := range level {
			w := &level[i]
			if !dec[i].split {
				t.nodes[w.node] = tnode{leaf: true, value: o.LearningRate * gr.weightOf(w.g, w.h)}
				t.leaves = append(t.leaves, leafRows{node: w.node, lo: w.lo, hi: w.hi})
				if w.hist != nil {
					gr.pool = append(gr.pool, w.hist)
				}
				continue
			}
			s, nl := &dec[i].s, dec[i].nl
			li, ri := len(t.nodes), len(t.nodes)+1
			t.nodes = append(t.nodes, tnode{}, tnode{})
			t.nodes[w.node] = tnode{feat: s.feat, bin: s.bin, defaultLeft: s.defaultLeft, left: li, right: ri}
			// The children's sums are the split's, from the histogram, as
			// XGBoost takes them (left summed over bins, right the parent's
			// minus left); no pass over the rows.
			lw := work{node: li, lo: w.lo, hi: w.lo + nl, g: s.lg, h: s.lh}
			rw := work{node: ri, lo: w.lo + nl, hi: w.hi, g: w.g - s.lg, h: w.h - s.lh}
			if expand {
				gr.childHists(w, &lw, &rw, rows, feats, gp)
			} else {
				gr.pool = append(gr.pool, w.hist)
			}
			w.hist = nil
			next = append(next, lw, rw)
		}
		level = next
	}
	t.rows = rows
	return t
}

// childHists gives the children lw and rw of w their histograms: the one
// with fewer rows is built, the other is w's minus it, in w's histogram.
func (gr *grower) childHists(w, lw, rw *work, rows []int32, feats []int, gp []gh) {
	small, large := lw, rw
	if lw.hi-lw.lo > rw.hi-rw.lo {
		small, large = rw, lw
	}
	small.hist = gr.getHist()
	gr.build(small.hist, rows[small.lo:small.hi], feats, gp)
	large.hist = w.hist
	for _, f := range feats {
		lh := large.hist[f*histStride : (f+1)*histStride]
		sh := small.hist[f*histStride : (f+1)*histStride]
		for j := range lh {
			lh[j].g -= sh[j].g
			lh[j].h -= sh[j].h
		}
	}
}

// candidate is a LossGuide leaf with its best split, waiting to be split.
type candidate struct {
	w     work
	s     split
	depth int
}

// candidates is a max-heap of LossGuide leaves: the highest gain first and,
// among equal gains, the lowest node id, as XGBoost's LossGuide comparator
// orders its priority queue (gains are float32 values, so near-equal gains
// tie as there).
type candidates []candidate

func (q candidates) Len() int { return len(q) }
func (q candidates) Less(i, j int) bool {
	if q[i].s.gain != q[j].s.gain {
		return q[i].s.gain > q[j].s.gain
	}
	return q[i].w.node < q[j].w.node
}
func (q candidates) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *candidates) Push(x any)   { *q = append(*q, x.(candidate)) }
func (q *candidates) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// growLossGuide grows one tree best-first on rows (ascending) with the
// features feats, as XGBoost 1.7.4's hist updater under its lossguide
// driver: the root's best split is found; then, while the tree has fewer
// than MaxLeaves leaves and the best waiting leaf's split gains more than
// Gamma, that leaf is split, and, if the children may still be split (depth
// below MaxDepth, fewer than MaxLeaves leaves), the smaller child's
// histogram is built, the larger's is the parent's minus it, and each
// child's best split joins the queue if it gains more than kRtEps. Every
// leaf waiting in the queue keeps its histogram. The order is a total order
// on (gain, node id) and each build is deterministic, so the tree does not
// depend on the number of threads.
func (gr *grower) growLossGuide(rows []int32, feats []int, gp []gh) tree {
	o := gr.opts
	t := tree{nodes: []tnode{{}}}
	root := work{node: 0, lo: 0, hi: len(rows)}
	for _, r := range rows {
		root.g += gp[r].g
		root.h += gp[r].h
	}
	root.hist = gr.getHist()
	gr.build(root.hist, rows, feats, gp)
	scratch := make([]int32, len(rows))
	leaf := func(w *work) {
		t.nodes[w.node] = tnode{leaf: true, value: o.LearningRate * gr.weightOf(w.g, w.h)}
		t.leaves = append(t.leaves, leafRows{node: w.node, lo: w.lo, hi: w.hi})
		if w.hist != nil {
			gr.pool = append(gr.pool, w.hist)
			w.hist = nil
		}
	}
	var q candidates
	// offer finds the best splits of ws (at depth), the nodes shared
	// between threads, and queues those gaining more than kRtEps; the
	// others become leaves.
	var found [2]split
	offer := func(depth int, ws ...*work) {
		threads := o.Threads
		if len(ws) < 2 {
			threads = 1
		}
		parallel(threads, len(ws), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				found[i] = split{feat: -1}
				if ws[i].hi-ws[i].lo >= 2 {
					found[i] = gr.best(ws[i], feats)
				}
			}
		})
		for i, w := range ws {
			if found[i].feat >= 0 && found[i].gain > rtEps {
				heap.Push(&q, candidate{w: *w, s: found[i], depth: depth})
			} else {
				leaf(w)
			}
		}
	}
	offer(0, &root)
	leaves := 1
	for len(q) > 0 {
		// XGBoost's driver ends the tree when the best waiting split is
		// not taken: any other gains no more.
		if !gr.splittable(&q[0].s) || (o.MaxLeaves > 0 && leaves >= o.MaxLeaves) {
			break
		}
		c := heap.Pop(&q).(candidate)
		leaves++
		w, s := &c.w, &c.s
		nl := gr.partition(rows[w.lo:w.hi], scratch[w.lo:w.hi], s)
		li, ri := len(t.nodes), len(t.nodes)+1
		t.nodes = append(t.nodes, tnode{}, tnode{})
		t.nodes[w.node] = tnode{feat: s.feat, bin: s.bin, defaultLeft: s.defaultLeft, left: li, right: ri}
		lw := work{node: li, lo: w.lo, hi: w.lo + nl, g: s.lg, h: s.lh}
		rw := work{node: ri, lo: w.lo + nl, hi: w.hi, g: w.g - s.lg, h: w.h - s.lh}
		if (o.MaxDepth == 0 || c.depth+1 < o.MaxDepth) && (o.MaxLeaves == 0 || leaves < o.MaxLeaves) {
			gr.childHists(w, &lw, &rw, rows, feats, gp)
			offer(c.depth+1, &lw, &rw)
		} else {
			gr.pool = append(gr.pool, w.hist)
			leaf(&lw)
			leaf(&rw)
		}
		w.hist = nil
	}
	for i := range q {
		leaf(&q[i].w)
	}
	t.rows = rows
	return t
}

// partition reorders seg stably, rows going left by s first, using scratch
// (as long as seg), and returns how many go left.
func (gr *grower) partition(seg, scratch []int32, s *split) int {
	nl, nr := 0, 0
	codes := gr.b.codes
	nf := gr.nf
	for _, r := range seg {
		c := codes[int(r)*nf+s.feat]
		var left bool
		if c == missingBin {
			left = s.defaultLeft
		} else {
			left = c <= s.bin
		}
		if left {
			seg[nl] = r
			nl++
		} else {
			scratch[nr] = r
			nr++
		}
	}
	copy(seg[nl:], scratch[:nr])
	return nl
}
