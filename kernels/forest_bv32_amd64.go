//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// The AVX-512 node loops of the float32 bitvector trees (forest_bv32.go).
// A pass holds the 32-bit leaf masks of 4 vectors of 16 rows (the whole
// 64-row block) in registers and streams one word's splits once.

// bv32Pass applies one word's splits to the nv (1 to 4) vectors of 16 rows
// of a block; masks of vectors past nv are all ones.
func bv32Pass(nodes []bv32Node, sg *bv32Seg, base unsafe.Pointer, nv int) (l0, l1, l2, l3 archsimd.Uint32x16) {
	all := archsimd.BroadcastUint32x16(math.MaxUint32)
	l0, l1, l2, l3 = all, all, all, all
	if nv == 4 {
		for k := range nodes[sg.lo:sg.in] {
			bn := &nodes[int(sg.lo)+k]
			p := unsafe.Add(base, bn.off)
			bound := archsimd.BroadcastFloat32x16(bn.bound)
			keep := archsimd.BroadcastUint32x16(bn.keep)
			x0 := archsimd.LoadFloat32x16((*[16]float32)(p))
			l0 = l0.And(keep).Merge(l0, x0.GreaterEqual(bound))
			x1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 64)))
			l1 = l1.And(keep).Merge(l1, x1.GreaterEqual(bound))
			x2 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 128)))
			l2 = l2.And(keep).Merge(l2, x2.GreaterEqual(bound))
			x3 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 192)))
			l3 = l3.And(keep).Merge(l3, x3.GreaterEqual(bound))
		}
	} else {
		for k := range nodes[sg.lo:sg.in] {
			bn := &nodes[int(sg.lo)+k]
			p := unsafe.Add(base, bn.off)
			bound := archsimd.BroadcastFloat32x16(bn.bound)
			keep := archsimd.BroadcastUint32x16(bn.keep)
			x0 := archsimd.LoadFloat32x16((*[16]float32)(p))
			l0 = l0.And(keep).Merge(l0, x0.GreaterEqual(bound))
			if nv > 1 {
				x1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 64)))
				l1 = l1.And(keep).Merge(l1, x1.GreaterEqual(bound))
			}
			if nv > 2 {
				x2 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 128)))
				l2 = l2.And(keep).Merge(l2, x2.GreaterEqual(bound))
			}
		}
	}
	if sg.in == sg.hi {
		return
	}
	var zero archsimd.Uint32x16
	one := archsimd.BroadcastUint32x16(1)
	nan := archsimd.BroadcastUint32x16(cat32NaN)
	thirtyTwo := archsimd.BroadcastUint32x16(32)
	for k := sg.in; k < sg.hi; k++ {
		bn := &nodes[k]
		p := unsafe.Add(base, bn.off)
		set := archsimd.BroadcastFloat32x16(bn.bound).AsUint32x16()
		set1 := archsimd.BroadcastUint32x16(bn.set1)
		keep := archsimd.BroadcastUint32x16(bn.keep)
		withNaN := k >= sg.inNaN
		// A shift by 32 or more gives 0: codes 0-31 find their bit in
		// set, 32-63 in set1 (c-32 wraps around below 32), others none.
		right := func(c archsimd.Uint32x16) archsimd.Mask32x16 {
			m := set.ShiftRight(c).Or(set1.ShiftRight(c.Sub(thirtyTwo))).And(one).NotEqual(zero)
			if withNaN {
				m = m.Or(c.Equal(nan))
			}
			return m
		}
		l0 = l0.And(keep).Merge(l0, right(archsimd.LoadUint32x16((*[16]uint32)(p))))
		l1 = l1.And(keep).Merge(l1, right(archsimd.LoadUint32x16((*[16]uint32)(unsafe.Add(p, 64)))))
		l2 = l2.And(keep).Merge(l2, right(archsimd.LoadUint32x16((*[16]uint32)(unsafe.Add(p, 128)))))
		l3 = l3.And(keep).Merge(l3, right(archsimd.LoadUint32x16((*[16]uint32)(unsafe.Add(p, 192)))))
	}
	return
}

// leafTable32 holds one word's leaf values (up to 32) in registers.
type leafTable32 struct {
	n      int32
	t0, t1 archsimd.Float32x16
}

func (t *leafTable32) load(tab []float32) {
	t.n = int32(len(tab))
	t.t0 = archsimd.LoadFloat32x16((*[16]float32)(tab[0:16]))
	if t.n == 32 {
		t.t1 = archsimd.LoadFloat32x16((*[16]float32)(tab[16:32]))
	}
}

func (t *leafTable32) lookup(idx archsimd.Uint32x16) archsimd.Float32x16 {
	if t.n == 16 {
		return t.t0.Permute(idx)
	}
	return t.t0.ConcatPermute(t.t1, idx)
}

// addAVX512 is addScalar on AVX-512.
func (bf *bv32Forest) addAVX512(sums []float32, w float64, tr *bv32Tree, blk []float32) {
	b := len(sums)
	nv := (b + 15) / 16
	base := unsafe.Pointer(unsafe.SliceData(blk))
	var vals [bvBlock]float32
	var l [4]archsimd.Uint32x16
	if tr.words == 1 {
		sg := &bf.segs[tr.seg]
		var t leafTable32
		t.load(bf.tabs[tr.tab : tr.tab+tr.tabLen])
		l[0], l[1], l[2], l[3] = bv32Pass(bf.nodes, sg, base, nv)
		for v := 0; v < nv; v++ {
			t.lookup(l[v].LeadingZeros()).Store((*[16]float32)(vals[v*16 : v*16+16]))
		}
	} else {
		// Word by word: a row's value comes from its first word with a
		// leaf left.
		var done [4]uint16
		var zero archsimd.Uint32x16
		for wd := range tr.words {
			sg := &bf.segs[tr.seg+wd]
			var t leafTable32
			t.load(bf.tabs[tr.tab+wd*tr.tabLen : tr.tab+(wd+1)*tr.tabLen])
			l[0], l[1], l[2], l[3] = bv32Pass(bf.nodes, sg, base, nv)
			for v := 0; v < nv; v++ {
				nz := l[v].NotEqual(zero).ToBits()
				sel := nz &^ done[v]
				done[v] |= nz
				t.lookup(l[v].LeadingZeros()).StoreMasked((*[16]float32)(vals[v*16:v*16+16]), archsimd.Mask32x16FromBits(sel))
			}
		}
	}
	weighted := w != 1
	w32 := archsimd.BroadcastFloat32x16(float32(w))
	for v := 0; v < nv; v++ {
		x := archsimd.LoadFloat32x16((*[16]float32)(vals[v*16 : v*16+16]))
		if weighted {
			x = x.Mul(w32)
		}
		if b-v*16 >= 16 {
			p := (*[16]float32)(sums[v*16 : v*16+16])
			archsimd.LoadFloat32x16(p).Add(x).Store(p)
			continue
		}
		part := sums[v*16:]
		archsimd.LoadFloat32x16SlicePart(part).Add(x).StoreSlicePart(part)
	}
}

// addAVX2 is addScalar on AVX2: the splits on vectors of 8 rows, 4
// vectors a pass; each row's leaf and its value found in registers too
// (lz8, leafTable8), since going through memory costs a stalled load per
// row (a scalar load of a vector store).
func (bf *bv32Forest) addAVX2(sums []float32, w float64, tr *bv32Tree, blk []float32) {
	b := len(sums)
	nv := (b + 7) / 8
	base := unsafe.Pointer(unsafe.SliceData(blk))
	var vals [bvBlock]float32
	var zero archsimd.Uint32x8
	// pending[v] marks the rows of vector v whose words so far were all
	// empty.
	var pending [bvBlock / 8]archsimd.Mask32x8
	first := true
	// put keeps, for vector v, the values of rows whose first word with a
	// leaf left is this one.
	put := func(v int, l archsimd.Uint32x8, t *leafTable8) {
		x := t.lookup(lz8(l))
		p := (*[8]float32)(vals[v*8 : v*8+8])
		if tr.words == 1 {
			x.Store(p)
			return
		}
		if first {
			x.Store(p)
			pending[v] = l.Equal(zero)
			return
		}
		x.Merge(archsimd.LoadFloat32x8(p), l.NotEqual(zero).And(pending[v])).Store(p)
		pending[v] = pending[v].And(l.Equal(zero))
	}
	for wd := range tr.words {
		sg := &bf.segs[tr.seg+wd]
		var t leafTable8
		t.load(bf.tabs[tr.tab+wd*tr.tabLen : tr.tab+(wd+1)*tr.tabLen])
		v := 0
		for ; nv-v >= 4; v += 4 {
			l0, l1, l2, l3 := bv32Pass256(bf.nodes, sg, base, v, 4)
			put(v, l0, &t)
			put(v+1, l1, &t)
			put(v+2, l2, &t)
			put(v+3, l3, &t)
		}
		for ; v < nv; v++ {
			l0, _, _, _ := bv32Pass256(bf.nodes, sg, base, v, 1)
			put(v, l0, &t)
		}
		first = false
	}
	weighted := w != 1
	w32 := archsimd.BroadcastFloat32x8(float32(w))
	for v := 0; v < nv; v++ {
		x := archsimd.LoadFloat32x8((*[8]float32)(vals[v*8 : v*8+8]))
		if weighted {
			x = x.Mul(w32)
		}
		if b-v*8 >= 8 {
			p := (*[8]float32)(sums[v*8 : v*8+8])
			archsimd.LoadFloat32x8(p).Add(x).Store(p)
			continue
		}
		part := sums[v*8:]
		archsimd.LoadFloat32x8SlicePart(part).Add(x).StoreSlicePart(part)
	}
}

// lz8 is the leading zeros of each nonzero m (AVX2 has no vector count):
// the highest bit alone, converted to float32, whose exponent is its
// place. A zero m gives a value of 32 or more.
func lz8(m archsimd.Uint32x8) archsimd.Uint32x8 {
	x := m.Or(m.ShiftAllRight(1))
	x = x.Or(x.ShiftAllRight(2))
	x = x.Or(x.ShiftAllRight(4))
	x = x.Or(x.ShiftAllRight(8))
	x = x.Or(x.ShiftAllRight(16))
	hb := x.AndNot(x.ShiftAllRight(1))
	// 2^k converts exactly (2^31 as -2^31): its exponent field is 127+k.
	e := hb.AsInt32x8().ConvertToFloat32().AsUint32x8().ShiftAllRight(23).And(archsimd.BroadcastUint32x8(0xff))
	return archsimd.BroadcastUint32x8(158).Sub(e)
}

// leafTable8 holds one word's leaf values (16 or 32) in registers, 8 a
// register.
type leafTable8 struct {
	n              int32
	t0, t1, t2, t3 archsimd.Float32x8
}

func (t *leafTable8) load(tab []float32) {
	t.n = int32(len(tab))
	ld := func(i int) archsimd.Float32x8 { return archsimd.LoadFloat32x8((*[8]float32)(tab[i*8 : i*8+8])) }
	t.t0, t.t1 = ld(0), ld(1)
	if t.n == 32 {
		t.t2, t.t3 = ld(2), ld(3)
	}
}

// lookup returns the values at idx (below t.n): a permute per register,
// then the register chosen by bits 3 and 4.
func (t *leafTable8) lookup(idx archsimd.Uint32x8) archsimd.Float32x8 {
	eight := archsimd.BroadcastUint32x8(8)
	bit3 := idx.And(eight).Equal(eight)
	lo := t.t1.Permute(idx).Merge(t.t0.Permute(idx), bit3)
	if t.n == 16 {
		return lo
	}
	hi := t.t3.Permute(idx).Merge(t.t2.Permute(idx), bit3)
	sixteen := archsimd.BroadcastUint32x8(16)
	return hi.Merge(lo, idx.And(sixteen).Equal(sixteen))
}

// bv32Pass256 applies one word's splits to vectors v .. v+n-1 (n 1 or 4)
// of 8 rows; the masks of vectors past n are all ones.
func bv32Pass256(nodes []bv32Node, sg *bv32Seg, base unsafe.Pointer, v, n int) (l0, l1, l2, l3 archsimd.Uint32x8) {
	all := archsimd.BroadcastUint32x8(math.MaxUint32)
	l0, l1, l2, l3 = all, all, all, all
	base = unsafe.Add(base, v*32)
	if n == 4 {
		for k := range nodes[sg.lo:sg.in] {
			bn := &nodes[int(sg.lo)+k]
			p := unsafe.Add(base, bn.off)
			bound := archsimd.BroadcastFloat32x8(bn.bound)
			keep := archsimd.BroadcastUint32x8(bn.keep)
			x0 := archsimd.LoadFloat32x8((*[8]float32)(p))
			l0 = l0.And(keep).Merge(l0, x0.GreaterEqual(bound))
			x1 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 32)))
			l1 = l1.And(keep).Merge(l1, x1.GreaterEqual(bound))
			x2 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 64)))
			l2 = l2.And(keep).Merge(l2, x2.GreaterEqual(bound))
			x3 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, 96)))
			l3 = l3.And(keep).Merge(l3, x3.GreaterEqual(bound))
		}
	} else {
		for k := range nodes[sg.lo:sg.in] {
			bn := &nodes[int(sg.lo)+k]
			x0 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(base, bn.off)))
			l0 = l0.And(archsimd.BroadcastUint32x8(bn.keep)).Merge(l0, x0.GreaterEqual(archsimd.BroadcastFloat32x8(bn.bound)))
		}
	}
	if sg.in == sg.hi {
		return
	}
	var zero archsimd.Uint32x8
	one := archsimd.BroadcastUint32x8(1)
	nan := archsimd.BroadcastUint32x8(cat32NaN)
	thirtyTwo := archsimd.BroadcastUint32x8(32)
	for k := sg.in; k < sg.hi; k++ {
		bn := &nodes[k]
		p := unsafe.Add(base, bn.off)
		set := archsimd.BroadcastFloat32x8(bn.bound).AsUint32x8()
		set1 := archsimd.BroadcastUint32x8(bn.set1)
		keep := archsimd.BroadcastUint32x8(bn.keep)
		withNaN := k >= sg.inNaN
		right := func(c archsimd.Uint32x8) archsimd.Mask32x8 {
			m := set.ShiftRight(c).Or(set1.ShiftRight(c.Sub(thirtyTwo))).And(one).NotEqual(zero)
			if withNaN {
				m = m.Or(c.Equal(nan))
			}
			return m
		}
		l0 = l0.And(keep).Merge(l0, right(archsimd.LoadUint32x8((*[8]uint32)(p))))
		if n == 4 {
			l1 = l1.And(keep).Merge(l1, right(archsimd.LoadUint32x8((*[8]uint32)(unsafe.Add(p, 32)))))
			l2 = l2.And(keep).Merge(l2, right(archsimd.LoadUint32x8((*[8]uint32)(unsafe.Add(p, 64)))))
			l3 = l3.And(keep).Merge(l3, right(archsimd.LoadUint32x8((*[8]uint32)(unsafe.Add(p, 96)))))
		}
	}
	return
}
