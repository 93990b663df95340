//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// The vector node loops of the bitvector trees (see forest_bv.go). A pass
// holds the leaf masks of 4 vectors of rows (32 rows on AVX-512, 16 on
// AVX2) in registers and streams the tree's splits once: per split, two
// broadcasts, and per vector one load, one compare and one masked AND.
// Node offsets are within the block by construction (compileTree), and a
// pass reads only the vectors below the block's rows rounded up to a
// vector.

func bvSplitsAVX512(masks *[bvBlock]uint64, g bvGroups, blk []float64, b int) {
	nv := (b + 7) / 8
	base := unsafe.Pointer(unsafe.SliceData(blk))
	v := 0
	for ; nv-v >= 4; v += 4 {
		l0, l1, l2, l3 := bvPass512x4(g, base, v)
		out := masks[v*8:]
		l0.Store((*[8]uint64)(out[0:8]))
		l1.Store((*[8]uint64)(out[8:16]))
		l2.Store((*[8]uint64)(out[16:24]))
		l3.Store((*[8]uint64)(out[24:32]))
	}
	for ; v < nv; v++ {
		bvPass512x1(masks, g, base, v)
	}
}

// bvPass512x4 applies the splits to rows v*8 .. v*8+31 of a block. Four
// vectors, not eight: the compiler allocates 16 vector registers, and
// eight masks with their eight loads would spill.
func bvPass512x4(g bvGroups, base unsafe.Pointer, v int) (l0, l1, l2, l3 archsimd.Uint64x8) {
	all := archsimd.BroadcastUint64x8(math.MaxUint64)
	l0, l1, l2, l3 = all, all, all, all
	base = unsafe.Add(base, v*64)
	for k := range g.num {
		bn := &g.num[k]
		p := unsafe.Add(base, bn.off)
		bound := archsimd.BroadcastFloat64x8(bn.bound)
		keep := archsimd.BroadcastUint64x8(bn.keep)
		x0 := archsimd.LoadFloat64x8((*[8]float64)(p))
		l0 = l0.And(keep).Merge(l0, x0.GreaterEqual(bound))
		x1 := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(p, 64)))
		l1 = l1.And(keep).Merge(l1, x1.GreaterEqual(bound))
		x2 := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(p, 128)))
		l2 = l2.And(keep).Merge(l2, x2.GreaterEqual(bound))
		x3 := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(p, 192)))
		l3 = l3.And(keep).Merge(l3, x3.GreaterEqual(bound))
	}
	if len(g.in)+len(g.inNaN)+len(g.out) == 0 {
		return
	}
	var zero archsimd.Uint64x8
	one := archsimd.BroadcastUint64x8(1)
	nan := archsimd.BroadcastUint64x8(catNaN)
	ld := func(p unsafe.Pointer) archsimd.Uint64x8 { return archsimd.LoadUint64x8((*[8]uint64)(p)) }
	for k := range g.in {
		bn := &g.in[k]
		p := unsafe.Add(base, bn.off)
		set := archsimd.BroadcastFloat64x8(bn.bound).AsUint64x8()
		keep := archsimd.BroadcastUint64x8(bn.keep)
		l0 = l0.And(keep).Merge(l0, set.ShiftRight(ld(p)).And(one).NotEqual(zero))
		l1 = l1.And(keep).Merge(l1, set.ShiftRight(ld(unsafe.Add(p, 64))).And(one).NotEqual(zero))
		l2 = l2.And(keep).Merge(l2, set.ShiftRight(ld(unsafe.Add(p, 128))).And(one).NotEqual(zero))
		l3 = l3.And(keep).Merge(l3, set.ShiftRight(ld(unsafe.Add(p, 192))).And(one).NotEqual(zero))
	}
	for k := range g.inNaN {
		bn := &g.inNaN[k]
		p := unsafe.Add(base, bn.off)
		set := archsimd.BroadcastFloat64x8(bn.bound).AsUint64x8()
		keep := archsimd.BroadcastUint64x8(bn.keep)
		c0 := ld(p)
		l0 = l0.And(keep).Merge(l0, set.ShiftRight(c0).And(one).NotEqual(zero).Or(c0.Equal(nan)))
		c1 := ld(unsafe.Add(p, 64))
		l1 = l1.And(keep).Merge(l1, set.ShiftRight(c1).And(one).NotEqual(zero).Or(c1.Equal(nan)))
		c2 := ld(unsafe.Add(p, 128))
		l2 = l2.And(keep).Merge(l2, set.ShiftRight(c2).And(one).NotEqual(zero).Or(c2.Equal(nan)))
		c3 := ld(unsafe.Add(p, 192))
		l3 = l3.And(keep).Merge(l3, set.ShiftRight(c3).And(one).NotEqual(zero).Or(c3.Equal(nan)))
	}
	for k := range g.out {
		bn := &g.out[k]
		p := unsafe.Add(base, bn.off)
		set := archsimd.BroadcastFloat64x8(bn.bound).AsUint64x8()
		keep := archsimd.BroadcastUint64x8(bn.keep)
		l0 = l0.And(keep).Merge(l0, set.ShiftRight(ld(p)).And(one).Equal(zero))
		l1 = l1.And(keep).Merge(l1, set.ShiftRight(ld(unsafe.Add(p, 64))).And(one).Equal(zero))
		l2 = l2.And(keep).Merge(l2, set.ShiftRight(ld(unsafe.Add(p, 128))).And(one).Equal(zero))
		l3 = l3.And(keep).Merge(l3, set.ShiftRight(ld(unsafe.Add(p, 192))).And(one).Equal(zero))
	}
	return
}

// bvPass512x1 applies the splits to rows v*8 .. v*8+7 of a block.
func bvPass512x1(masks *[bvBlock]uint64, g bvGroups, base unsafe.Pointer, v int) {
	l := archsimd.BroadcastUint64x8(math.MaxUint64)
	base = unsafe.Add(base, v*64)
	for k := range g.num {
		bn := &g.num[k]
		x := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(base, bn.off)))
		l = l.And(archsimd.BroadcastUint64x8(bn.keep)).Merge(l, x.GreaterEqual(archsimd.BroadcastFloat64x8(bn.bound)))
	}
	var zero archsimd.Uint64x8
	one := archsimd.BroadcastUint64x8(1)
	cat := func(nodes []bvNode, kind int) {
		for k := range nodes {
			bn := &nodes[k]
			c := archsimd.LoadUint64x8((*[8]uint64)(unsafe.Add(base, bn.off)))
			set := archsimd.BroadcastFloat64x8(bn.bound).AsUint64x8()
			bit := set.ShiftRight(c).And(one)
			var right archsimd.Mask64x8
			switch kind {
			case splitIn:
				right = bit.NotEqual(zero)
			case splitInNaN:
				right = bit.NotEqual(zero).Or(c.Equal(archsimd.BroadcastUint64x8(catNaN)))
			default:
				right = bit.Equal(zero)
			}
			l = l.And(archsimd.BroadcastUint64x8(bn.keep)).Merge(l, right)
		}
	}
	cat(g.in, splitIn)
	cat(g.inNaN, splitInNaN)
	cat(g.out, splitOut)
	l.Store((*[8]uint64)(masks[v*8 : v*8+8]))
}

func bvSplitsAVX2(masks *[bvBlock]uint64, g bvGroups, blk []float64, b int) {
	nv := (b + 3) / 4
	base := unsafe.Pointer(unsafe.SliceData(blk))
	v := 0
	for ; nv-v >= 4; v += 4 {
		bvPass256x4(masks, g.num, base, v)
	}
	for ; v < nv; v++ {
		bvPass256x1(masks, g.num, base, v)
	}
	bvCats256(masks, g, base, nv)
}

// bvPass256x4 applies the numerical splits to rows v*4 .. v*4+15.
func bvPass256x4(masks *[bvBlock]uint64, nodes []bvNode, base unsafe.Pointer, v int) {
	all := archsimd.BroadcastUint64x4(math.MaxUint64)
	l0, l1, l2, l3 := all, all, all, all
	base = unsafe.Add(base, v*32)
	for k := range nodes {
		bn := &nodes[k]
		p := unsafe.Add(base, bn.off)
		bound := archsimd.BroadcastFloat64x4(bn.bound)
		keep := archsimd.BroadcastUint64x4(bn.keep)
		x0 := archsimd.LoadFloat64x4((*[4]float64)(p))
		l0 = l0.And(keep).Merge(l0, x0.GreaterEqual(bound))
		x1 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(p, 32)))
		l1 = l1.And(keep).Merge(l1, x1.GreaterEqual(bound))
		x2 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(p, 64)))
		l2 = l2.And(keep).Merge(l2, x2.GreaterEqual(bound))
		x3 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(p, 96)))
		l3 = l3.And(keep).Merge(l3, x3.GreaterEqual(bound))
	}
	out := masks[v*4:]
	l0.Store((*[4]uint64)(out[0:4]))
	l1.Store((*[4]uint64)(out[4:8]))
	l2.Store((*[4]uint64)(out[8:12]))
	l3.Store((*[4]uint64)(out[12:16]))
}

// bvPass256x1 applies the numerical splits to rows v*4 .. v*4+3.
func bvPass256x1(masks *[bvBlock]uint64, nodes []bvNode, base unsafe.Pointer, v int) {
	l0 := archsimd.BroadcastUint64x4(math.MaxUint64)
	base = unsafe.Add(base, v*32)
	for k := range nodes {
		bn := &nodes[k]
		x0 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(base, bn.off)))
		l0 = l0.And(archsimd.BroadcastUint64x4(bn.keep)).Merge(l0, x0.GreaterEqual(archsimd.BroadcastFloat64x4(bn.bound)))
	}
	l0.Store((*[4]uint64)(masks[v*4 : v*4+4]))
}

// bvCats256 applies the categorical splits to the nv vectors of 4 rows,
// over the masks the numerical splits left.
func bvCats256(masks *[bvBlock]uint64, g bvGroups, base unsafe.Pointer, nv int) {
	var zero archsimd.Uint64x4
	one := archsimd.BroadcastUint64x4(1)
	nan := archsimd.BroadcastUint64x4(catNaN)
	cat := func(nodes []bvNode, kind int) {
		for k := range nodes {
			bn := &nodes[k]
			set := archsimd.BroadcastFloat64x4(bn.bound).AsUint64x4()
			keep := archsimd.BroadcastUint64x4(bn.keep)
			for v := 0; v < nv; v++ {
				c := archsimd.LoadUint64x4((*[4]uint64)(unsafe.Add(base, uintptr(bn.off)+uintptr(v*32))))
				bit := set.ShiftRight(c).And(one)
				var right archsimd.Mask64x4
				switch kind {
				case splitIn:
					right = bit.NotEqual(zero)
				case splitInNaN:
					right = bit.NotEqual(zero).Or(c.Equal(nan))
				default:
					right = bit.Equal(zero)
				}
				m := (*[4]uint64)(masks[v*4 : v*4+4])
				l := archsimd.LoadUint64x4(m)
				l.And(keep).Merge(l, right).Store(m)
			}
		}
	}
	cat(g.in, splitIn)
	cat(g.inNaN, splitInNaN)
	cat(g.out, splitOut)
}

// leafSink says where bvLeavesAVX512 puts each row's leaf value: into
// vals, or added (rounded to float32 and times w32 when weighted) to acc32,
// or (times w64 when weighted) to acc64. Only the first b rows are written;
// acc32 and acc64 hold exactly those.
type leafSink struct {
	vals     *[fastBlockRows]float64
	acc32    []float32
	acc64    []float64
	w32      float32
	w64      float64
	weighted bool
}

// put delivers the leaf values x of rows v*8 .. v*8+7.
func (s *leafSink) put(v int, x archsimd.Float64x8) {
	lo := v * 8
	switch {
	case s.acc32 != nil:
		y := x.ConvertToFloat32()
		if s.weighted {
			y = y.Mul(archsimd.BroadcastFloat32x8(s.w32))
		}
		if len(s.acc32)-lo >= 8 {
			p := (*[8]float32)(s.acc32[lo : lo+8])
			archsimd.LoadFloat32x8(p).Add(y).Store(p)
			return
		}
		part := s.acc32[lo:]
		archsimd.LoadFloat32x8SlicePart(part).Add(y).StoreSlicePart(part)
	case s.acc64 != nil:
		if s.weighted {
			x = x.Mul(archsimd.BroadcastFloat64x8(s.w64))
		}
		if len(s.acc64)-lo >= 8 {
			p := (*[8]float64)(s.acc64[lo : lo+8])
			archsimd.LoadFloat64x8(p).Add(x).Store(p)
			return
		}
		part := s.acc64[lo:]
		archsimd.LoadFloat64x8SlicePart(part).Add(x).StoreSlicePart(part)
	default:
		x.Store((*[8]float64)(s.vals[lo : lo+8]))
	}
}

// bvLeavesAVX512 is bvSplitsAVX512 for a tree of vector splits only,
// followed in registers by each row's leaf (the mask's leading zeros), its
// value from tab (the tree's leaves, zero-padded to 8, 16, 32 or 64), and
// the sink, for the first b rows.
func bvLeavesAVX512(sink *leafSink, g bvGroups, blk []float64, b int, tab []float64) {
	nv := (b + 7) / 8
	base := unsafe.Pointer(unsafe.SliceData(blk))
	var t leafTable
	t.load(tab)
	v := 0
	for ; nv-v >= 4; v += 4 {
		l0, l1, l2, l3 := bvPass512x4(g, base, v)
		sink.put(v, t.lookup(l0.LeadingZeros()))
		sink.put(v+1, t.lookup(l1.LeadingZeros()))
		sink.put(v+2, t.lookup(l2.LeadingZeros()))
		sink.put(v+3, t.lookup(l3.LeadingZeros()))
	}
	var masks [bvBlock]uint64
	for ; v < nv; v++ {
		bvPass512x1(&masks, g, base, v)
		l := archsimd.LoadUint64x8((*[8]uint64)(masks[v*8 : v*8+8]))
		sink.put(v, t.lookup(l.LeadingZeros()))
	}
}

// leafTable holds a tree's leaf values (up to 64) in registers.
type leafTable struct {
	n                              int
	t0, t1, t2, t3, t4, t5, t6, t7 archsimd.Float64x8
}

func (t *leafTable) load(tab []float64) {
	t.n = len(tab)
	ld := func(i int) archsimd.Float64x8 { return archsimd.LoadFloat64x8((*[8]float64)(tab[i*8 : i*8+8])) }
	t.t0 = ld(0)
	if t.n >= 16 {
		t.t1 = ld(1)
	}
	if t.n >= 32 {
		t.t2, t.t3 = ld(2), ld(3)
	}
	if t.n == 64 {
		t.t4, t.t5, t.t6, t.t7 = ld(4), ld(5), ld(6), ld(7)
	}
}

// lookup returns the leaf values at indices idx (each below t.n).
func (t *leafTable) lookup(idx archsimd.Uint64x8) archsimd.Float64x8 {
	switch t.n {
	case 8:
		return t.t0.Permute(idx)
	case 16:
		return t.t0.ConcatPermute(t.t1, idx)
	}
	sixteen := archsimd.BroadcastUint64x8(16)
	bit4 := idx.And(sixteen).Equal(sixteen)
	lo := t.t2.ConcatPermute(t.t3, idx).Merge(t.t0.ConcatPermute(t.t1, idx), bit4)
	if t.n == 32 {
		return lo
	}
	hi := t.t6.ConcatPermute(t.t7, idx).Merge(t.t4.ConcatPermute(t.t5, idx), bit4)
	return hi.Merge(lo, idx.Greater(archsimd.BroadcastUint64x8(31)))
}

// pure reports whether every split of tr is a vector split, so that the
// whole tree runs in the AVX-512 kernels.
func (bf *bvForest) pure(tr *bvTree) bool {
	if bf.level != levelAVX512 {
		return false
	}
	for _, sg := range bf.segs[tr.seg : tr.seg+tr.words] {
		if sg.scalar != sg.hi {
			return false
		}
	}
	return true
}

func (bf *bvForest) add32(sums []float32, w float64, tr *bvTree, blk []float64) bool {
	if !bf.pure(tr) {
		return false
	}
	sink := leafSink{acc32: sums, w32: float32(w), weighted: w != 1}
	bf.leavesAVX512(&sink, tr, blk, len(sums))
	return true
}

func (bf *bvForest) add64(sums []float64, w float64, tr *bvTree, blk []float64) bool {
	if !bf.pure(tr) {
		return false
	}
	sink := leafSink{acc64: sums, w64: w, weighted: w != 1}
	bf.leavesAVX512(&sink, tr, blk, len(sums))
	return true
}

// leavesAVX512 puts the leaf values of the first b rows of blk in tr into
// sink.
func (bf *bvForest) leavesAVX512(sink *leafSink, tr *bvTree, blk []float64, b int) {
	if tr.words == 1 {
		sg := &bf.segs[tr.seg]
		bvLeavesAVX512(sink, bf.groups(sg), blk, b, bf.tabs[tr.tab:tr.tab+tr.tabLen])
		return
	}
	// Word by word, each row's value is looked up in the word's table, and
	// kept when the word is the row's first with a leaf left.
	nv := (b + 7) / 8
	base := unsafe.Pointer(unsafe.SliceData(blk))
	var vals [fastBlockRows]float64
	var done [bvBlock / 8]uint8
	var zero archsimd.Uint64x8
	pick := func(v int, l archsimd.Uint64x8, t *leafTable) {
		nz := l.NotEqual(zero).ToBits()
		sel := nz &^ done[v]
		done[v] |= nz
		t.lookup(l.LeadingZeros()).StoreMasked((*[8]float64)(vals[v*8:v*8+8]), archsimd.Mask64x8FromBits(sel))
	}
	for w := range tr.words {
		sg := &bf.segs[tr.seg+w]
		g := bf.groups(sg)
		var t leafTable
		t.load(bf.tabs[tr.tab+w*tr.tabLen : tr.tab+(w+1)*tr.tabLen])
		v := 0
		for ; nv-v >= 4; v += 4 {
			l0, l1, l2, l3 := bvPass512x4(g, base, v)
			pick(v, l0, &t)
			pick(v+1, l1, &t)
			pick(v+2, l2, &t)
			pick(v+3, l3, &t)
		}
		var masks [bvBlock]uint64
		for ; v < nv; v++ {
			bvPass512x1(&masks, g, base, v)
			pick(v, archsimd.LoadUint64x8((*[8]uint64)(masks[v*8:v*8+8])), &t)
		}
	}
	for v := 0; v < nv; v++ {
		sink.put(v, archsimd.LoadFloat64x8((*[8]float64)(vals[v*8:v*8+8])))
	}
}
