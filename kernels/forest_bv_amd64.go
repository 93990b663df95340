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
// broadcasts, and per vector one load, one compare and one blend. Node
// offsets are within the block by construction (compileTree), and a pass
// reads only the vectors below the block's rows rounded up to a vector.

func bvSplitsAVX512(masks *[bvBlock]uint64, nodes []bvNode, nanLeft int, blk []float64, b int) {
	nv := (b + 7) / 8
	base := unsafe.Pointer(unsafe.SliceData(blk))
	v := 0
	for ; nv-v >= 4; v += 4 {
		bvPass512x4(masks, nodes, nanLeft, base, v)
	}
	for ; v < nv; v++ {
		bvPass512x1(masks, nodes, nanLeft, base, v)
	}
}

func bvPass512x4(masks *[bvBlock]uint64, nodes []bvNode, nanLeft int, base unsafe.Pointer, v int) {
	all := archsimd.BroadcastUint64x8(math.MaxUint64)
	l0, l1, l2, l3 := all, all, all, all
	base = unsafe.Add(base, v*64)
	for k := range nodes[:nanLeft] {
		bn := &nodes[k]
		p := unsafe.Add(base, bn.off)
		bound := archsimd.BroadcastFloat64x8(bn.bound)
		keep := archsimd.BroadcastUint64x8(bn.keep)
		x0 := archsimd.LoadFloat64x8((*[8]float64)(p))
		l0 = l0.Merge(l0.And(keep), x0.Less(bound))
		x1 := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(p, 64)))
		l1 = l1.Merge(l1.And(keep), x1.Less(bound))
		x2 := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(p, 128)))
		l2 = l2.Merge(l2.And(keep), x2.Less(bound))
		x3 := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(p, 192)))
		l3 = l3.Merge(l3.And(keep), x3.Less(bound))
	}
	for k := range nodes[nanLeft:] {
		bn := &nodes[nanLeft+k]
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
	out := masks[v*8:]
	l0.Store((*[8]uint64)(out[0:8]))
	l1.Store((*[8]uint64)(out[8:16]))
	l2.Store((*[8]uint64)(out[16:24]))
	l3.Store((*[8]uint64)(out[24:32]))
}

func bvPass512x1(masks *[bvBlock]uint64, nodes []bvNode, nanLeft int, base unsafe.Pointer, v int) {
	l0 := archsimd.BroadcastUint64x8(math.MaxUint64)
	base = unsafe.Add(base, v*64)
	for k := range nodes[:nanLeft] {
		bn := &nodes[k]
		x0 := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(base, bn.off)))
		l0 = l0.Merge(l0.And(archsimd.BroadcastUint64x8(bn.keep)), x0.Less(archsimd.BroadcastFloat64x8(bn.bound)))
	}
	for k := range nodes[nanLeft:] {
		bn := &nodes[nanLeft+k]
		x0 := archsimd.LoadFloat64x8((*[8]float64)(unsafe.Add(base, bn.off)))
		l0 = l0.And(archsimd.BroadcastUint64x8(bn.keep)).Merge(l0, x0.GreaterEqual(archsimd.BroadcastFloat64x8(bn.bound)))
	}
	l0.Store((*[8]uint64)(masks[v*8 : v*8+8]))
}

func bvSplitsAVX2(masks *[bvBlock]uint64, nodes []bvNode, nanLeft int, blk []float64, b int) {
	nv := (b + 3) / 4
	base := unsafe.Pointer(unsafe.SliceData(blk))
	v := 0
	for ; nv-v >= 4; v += 4 {
		bvPass256x4(masks, nodes, nanLeft, base, v)
	}
	for ; v < nv; v++ {
		bvPass256x1(masks, nodes, nanLeft, base, v)
	}
}

func bvPass256x4(masks *[bvBlock]uint64, nodes []bvNode, nanLeft int, base unsafe.Pointer, v int) {
	all := archsimd.BroadcastUint64x4(math.MaxUint64)
	l0, l1, l2, l3 := all, all, all, all
	base = unsafe.Add(base, v*32)
	for k := range nodes[:nanLeft] {
		bn := &nodes[k]
		p := unsafe.Add(base, bn.off)
		bound := archsimd.BroadcastFloat64x4(bn.bound)
		keep := archsimd.BroadcastUint64x4(bn.keep)
		x0 := archsimd.LoadFloat64x4((*[4]float64)(p))
		l0 = l0.Merge(l0.And(keep), x0.Less(bound))
		x1 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(p, 32)))
		l1 = l1.Merge(l1.And(keep), x1.Less(bound))
		x2 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(p, 64)))
		l2 = l2.Merge(l2.And(keep), x2.Less(bound))
		x3 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(p, 96)))
		l3 = l3.Merge(l3.And(keep), x3.Less(bound))
	}
	for k := range nodes[nanLeft:] {
		bn := &nodes[nanLeft+k]
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

func bvPass256x1(masks *[bvBlock]uint64, nodes []bvNode, nanLeft int, base unsafe.Pointer, v int) {
	l0 := archsimd.BroadcastUint64x4(math.MaxUint64)
	base = unsafe.Add(base, v*32)
	for k := range nodes[:nanLeft] {
		bn := &nodes[k]
		x0 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(base, bn.off)))
		l0 = l0.Merge(l0.And(archsimd.BroadcastUint64x4(bn.keep)), x0.Less(archsimd.BroadcastFloat64x4(bn.bound)))
	}
	for k := range nodes[nanLeft:] {
		bn := &nodes[nanLeft+k]
		x0 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(base, bn.off)))
		l0 = l0.And(archsimd.BroadcastUint64x4(bn.keep)).Merge(l0, x0.GreaterEqual(archsimd.BroadcastFloat64x4(bn.bound)))
	}
	l0.Store((*[4]uint64)(masks[v*4 : v*4+4]))
}
