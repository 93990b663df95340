//go:build goexperiment.simd && amd64

package kernels

// Vector kernels for GOEXPERIMENT=simd on amd64: the sgemm tiles for AVX2
// and AVX-512, and AVX2 loops for exp, the activations and softmax's sum.
// The dispatchers in sgemm.go, exp32.go and dense32.go pick these only when
// activeLevel (or a test's explicit level) allows.
//
// Hot loops use raw addresses (unsafe): each kernel checks the extent it
// will touch with one bounds check per slice on entry, and the loops then
// run without any. A pointer advances only after the loop's exit test, so
// none ever points past its slice (Go forbids even a transient pointer one
// past the end of an allocation; -race's checkptr would catch it), and
// constant offsets from it fold into the loads' addressing.
//
// Writing hot loops for the Go compiler: the scheduler orders a block's
// values by source position once they are ready, preferring values used
// within the block. A loop whose body is a separate block from its phis
// puts every load first (they have uses in the block, the accumulators do
// not), which for a 2×32 tile means 8 live broadcasts and spills. The loops
// below are therefore written as `for { ...; n--; if n == 0 { break };
// advance }` — phis and body in one block — with each load on the line
// before its use and no helper calls inside (an inlined helper carries its
// own file position). With that, `go build -gcflags=-S` shows the AVX2 tile
// loop as 4 vector loads, 2 scalar loads + broadcasts, 8 VMULPS, 8 VADDPS,
// one LEAQ and the loop test: no spills, no moves.

import (
	"simd/archsimd"
	"unsafe"
)

func detectLevel() simdLevel {
	switch {
	case archsimd.X86.AVX512():
		return levelAVX512
	case archsimd.X86.AVX2():
		return levelAVX2
	default:
		return levelPortable
	}
}

type f32x8 = archsimd.Float32x8
type f32x16 = archsimd.Float32x16

func ld8(p unsafe.Pointer, off uintptr) f32x8 {
	return archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p, off)))
}

func st8(p unsafe.Pointer, off uintptr, v f32x8) {
	v.Store((*[8]float32)(unsafe.Add(p, off)))
}

func ld16(p unsafe.Pointer, off uintptr) f32x16 {
	return archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, off)))
}

func st16(p unsafe.Pointer, off uintptr, v f32x16) {
	v.Store((*[16]float32)(unsafe.Add(p, off)))
}

func ptr(s []float32) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(s)) }

// relu8 zeroes the lanes that are not > 0 (NaN and −0 included), exactly as
// relu32Portable does.
func relu8(v f32x8) f32x8 {
	var zero f32x8
	return v.Masked(v.Greater(zero))
}

func relu16(v f32x16) f32x16 {
	var zero f32x16
	return v.Masked(v.Greater(zero))
}

// tile2x32AVX2 is tileKernel's 2×32 tile: 8 ymm accumulators, the 4 B
// vectors of a row of the panel, one broadcast of A at a time and one
// product temporary — 14 of the 15 ymm registers. It multiplies and adds
// separately (VMULPS, VADDPS; see the table in sgemm.go for why not FMA),
// which also keeps it bit-identical to tilePortable.
func tile2x32AVX2(kc int, a []float32, lda int, b, init []float32, ldi int, c []float32, ldc int, relu bool) {
	_ = init[ldi+sgemmNR-1]
	_ = c[ldc+sgemmNR-1]
	pi, li := ptr(init), uintptr(ldi)*4
	c00, c01, c02, c03 := ld8(pi, 0), ld8(pi, 32), ld8(pi, 64), ld8(pi, 96)
	c10, c11, c12, c13 := ld8(pi, li), ld8(pi, li+32), ld8(pi, li+64), ld8(pi, li+96)
	if kc > 0 {
		_ = a[lda+kc-1]
		_ = b[kc*sgemmNR-1]
		pa, pb := ptr(a), ptr(b)
		la := uintptr(lda) * 4
		n := kc
		var z archsimd.Float32x4
		for {
			b0 := archsimd.LoadFloat32x8((*[8]float32)(pb))
			b1 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 32)))
			b2 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 64)))
			b3 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 96)))
			x0 := z.SetElem(0, *(*float32)(pa)).Broadcast1To8()
			c00 = c00.Add(x0.Mul(b0))
			c01 = c01.Add(x0.Mul(b1))
			c02 = c02.Add(x0.Mul(b2))
			c03 = c03.Add(x0.Mul(b3))
			x1 := z.SetElem(0, *(*float32)(unsafe.Add(pa, la))).Broadcast1To8()
			c10 = c10.Add(x1.Mul(b0))
			c11 = c11.Add(x1.Mul(b1))
			c12 = c12.Add(x1.Mul(b2))
			c13 = c13.Add(x1.Mul(b3))
			n--
			if n == 0 {
				break
			}
			pa = unsafe.Add(pa, 4)
			pb = unsafe.Add(pb, sgemmNR*4)
		}
	}
	if relu {
		c00, c01, c02, c03 = relu8(c00), relu8(c01), relu8(c02), relu8(c03)
		c10, c11, c12, c13 = relu8(c10), relu8(c11), relu8(c12), relu8(c13)
	}
	pc, lc := ptr(c), uintptr(ldc)*4
	st8(pc, 0, c00)
	st8(pc, 32, c01)
	st8(pc, 64, c02)
	st8(pc, 96, c03)
	st8(pc, lc, c10)
	st8(pc, lc+32, c11)
	st8(pc, lc+64, c12)
	st8(pc, lc+96, c13)
}

// tile1x32AVX2 is the one-row tile for the last row when m is odd. Four
// accumulator chains leave it bound by VADDPS latency (3 cycles a step);
// it runs at most once per panel and k block.
func tile1x32AVX2(kc int, a, b, init, c []float32, relu bool) {
	_ = init[sgemmNR-1]
	_ = c[sgemmNR-1]
	pi := ptr(init)
	c0, c1, c2, c3 := ld8(pi, 0), ld8(pi, 32), ld8(pi, 64), ld8(pi, 96)
	if kc > 0 {
		_ = a[kc-1]
		_ = b[kc*sgemmNR-1]
		pa, pb := ptr(a), ptr(b)
		n := kc
		var z archsimd.Float32x4
		for {
			x := z.SetElem(0, *(*float32)(pa)).Broadcast1To8()
			b0 := archsimd.LoadFloat32x8((*[8]float32)(pb))
			c0 = c0.Add(x.Mul(b0))
			b1 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 32)))
			c1 = c1.Add(x.Mul(b1))
			b2 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 64)))
			c2 = c2.Add(x.Mul(b2))
			b3 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 96)))
			c3 = c3.Add(x.Mul(b3))
			n--
			if n == 0 {
				break
			}
			pa = unsafe.Add(pa, 4)
			pb = unsafe.Add(pb, sgemmNR*4)
		}
	}
	if relu {
		c0, c1, c2, c3 = relu8(c0), relu8(c1), relu8(c2), relu8(c3)
	}
	pc := ptr(c)
	st8(pc, 0, c0)
	st8(pc, 32, c1)
	st8(pc, 64, c2)
	st8(pc, 96, c3)
}

// row64AVX2 is the m = 1 kernel: one row of A against two panels, 8
// accumulator chains (enough to hide VADDPS latency) fed by 8 loads a step.
func row64AVX2(k int, a, b0, b1, init, c []float32, relu bool) {
	_ = init[2*sgemmNR-1]
	_ = c[2*sgemmNR-1]
	pi := ptr(init)
	c0, c1, c2, c3 := ld8(pi, 0), ld8(pi, 32), ld8(pi, 64), ld8(pi, 96)
	c4, c5, c6, c7 := ld8(pi, 128), ld8(pi, 160), ld8(pi, 192), ld8(pi, 224)
	if k > 0 {
		_ = a[k-1]
		_ = b0[k*sgemmNR-1]
		_ = b1[k*sgemmNR-1]
		pa, p0, p1 := ptr(a), ptr(b0), ptr(b1)
		n := k
		var z archsimd.Float32x4
		for {
			x := z.SetElem(0, *(*float32)(pa)).Broadcast1To8()
			t0 := archsimd.LoadFloat32x8((*[8]float32)(p0))
			c0 = c0.Add(x.Mul(t0))
			t1 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p0, 32)))
			c1 = c1.Add(x.Mul(t1))
			t2 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p0, 64)))
			c2 = c2.Add(x.Mul(t2))
			t3 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p0, 96)))
			c3 = c3.Add(x.Mul(t3))
			t4 := archsimd.LoadFloat32x8((*[8]float32)(p1))
			c4 = c4.Add(x.Mul(t4))
			t5 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p1, 32)))
			c5 = c5.Add(x.Mul(t5))
			t6 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p1, 64)))
			c6 = c6.Add(x.Mul(t6))
			t7 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(p1, 96)))
			c7 = c7.Add(x.Mul(t7))
			n--
			if n == 0 {
				break
			}
			pa = unsafe.Add(pa, 4)
			p0 = unsafe.Add(p0, sgemmNR*4)
			p1 = unsafe.Add(p1, sgemmNR*4)
		}
	}
	if relu {
		c0, c1, c2, c3 = relu8(c0), relu8(c1), relu8(c2), relu8(c3)
		c4, c5, c6, c7 = relu8(c4), relu8(c5), relu8(c6), relu8(c7)
	}
	pc := ptr(c)
	st8(pc, 0, c0)
	st8(pc, 32, c1)
	st8(pc, 64, c2)
	st8(pc, 96, c3)
	st8(pc, 128, c4)
	st8(pc, 160, c5)
	st8(pc, 192, c6)
	st8(pc, 224, c7)
}

// tile4x32AVX512 is the AVX-512 tile: 4 rows × 2 zmm = 8 accumulators with
// VFMADD213PS (on AVX-512 parts FADD and FMUL share the FMA ports, so a
// separate multiply and add would halve the peak). Fused rounding makes it
// differ from the other levels in the last bits, within the same bound.
// Written like tile2x32AVX2; not run on the development machine, which
// has no AVX-512 (the tests run it wherever the CPU has it).
func tile4x32AVX512(kc int, a []float32, lda int, b, init []float32, ldi int, c []float32, ldc int, relu bool) {
	_ = init[3*ldi+sgemmNR-1]
	_ = c[3*ldc+sgemmNR-1]
	pi, li := ptr(init), uintptr(ldi)*4
	c00, c01 := ld16(pi, 0), ld16(pi, 64)
	c10, c11 := ld16(pi, li), ld16(pi, li+64)
	c20, c21 := ld16(pi, 2*li), ld16(pi, 2*li+64)
	c30, c31 := ld16(pi, 3*li), ld16(pi, 3*li+64)
	if kc > 0 {
		_ = a[3*lda+kc-1]
		_ = b[kc*sgemmNR-1]
		pa, pb := ptr(a), ptr(b)
		la := uintptr(lda) * 4
		la2, la3 := 2*la, 3*la
		n := kc
		var z archsimd.Float32x4
		for {
			b0 := archsimd.LoadFloat32x16((*[16]float32)(pb))
			b1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 64)))
			x0 := z.SetElem(0, *(*float32)(pa)).Broadcast1To16()
			c00 = x0.MulAdd(b0, c00)
			c01 = x0.MulAdd(b1, c01)
			x1 := z.SetElem(0, *(*float32)(unsafe.Add(pa, la))).Broadcast1To16()
			c10 = x1.MulAdd(b0, c10)
			c11 = x1.MulAdd(b1, c11)
			x2 := z.SetElem(0, *(*float32)(unsafe.Add(pa, la2))).Broadcast1To16()
			c20 = x2.MulAdd(b0, c20)
			c21 = x2.MulAdd(b1, c21)
			x3 := z.SetElem(0, *(*float32)(unsafe.Add(pa, la3))).Broadcast1To16()
			c30 = x3.MulAdd(b0, c30)
			c31 = x3.MulAdd(b1, c31)
			n--
			if n == 0 {
				break
			}
			pa = unsafe.Add(pa, 4)
			pb = unsafe.Add(pb, sgemmNR*4)
		}
	}
	if relu {
		c00, c01, c10, c11 = relu16(c00), relu16(c01), relu16(c10), relu16(c11)
		c20, c21, c30, c31 = relu16(c20), relu16(c21), relu16(c30), relu16(c31)
	}
	pc, lc := ptr(c), uintptr(ldc)*4
	st16(pc, 0, c00)
	st16(pc, 64, c01)
	st16(pc, lc, c10)
	st16(pc, lc+64, c11)
	st16(pc, 2*lc, c20)
	st16(pc, 2*lc+64, c21)
	st16(pc, 3*lc, c30)
	st16(pc, 3*lc+64, c31)
}

// tile1x32AVX512 is the one-row AVX-512 tile for the m mod 4 leftover rows.
func tile1x32AVX512(kc int, a, b, init, c []float32, relu bool) {
	_ = init[sgemmNR-1]
	_ = c[sgemmNR-1]
	pi := ptr(init)
	c0, c1 := ld16(pi, 0), ld16(pi, 64)
	if kc > 0 {
		_ = a[kc-1]
		_ = b[kc*sgemmNR-1]
		pa, pb := ptr(a), ptr(b)
		n := kc
		var z archsimd.Float32x4
		for {
			x := z.SetElem(0, *(*float32)(pa)).Broadcast1To16()
			b0 := archsimd.LoadFloat32x16((*[16]float32)(pb))
			c0 = x.MulAdd(b0, c0)
			b1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, 64)))
			c1 = x.MulAdd(b1, c1)
			n--
			if n == 0 {
				break
			}
			pa = unsafe.Add(pa, 4)
			pb = unsafe.Add(pb, sgemmNR*4)
		}
	}
	if relu {
		c0, c1 = relu16(c0), relu16(c1)
	}
	pc := ptr(c)
	st16(pc, 0, c0)
	st16(pc, 64, c1)
}

// row64AVX512 is the m = 1 kernel on AVX-512: two panels, 4 zmm chains.
func row64AVX512(k int, a, b0, b1, init, c []float32, relu bool) {
	_ = init[2*sgemmNR-1]
	_ = c[2*sgemmNR-1]
	pi := ptr(init)
	c0, c1, c2, c3 := ld16(pi, 0), ld16(pi, 64), ld16(pi, 128), ld16(pi, 192)
	if k > 0 {
		_ = a[k-1]
		_ = b0[k*sgemmNR-1]
		_ = b1[k*sgemmNR-1]
		pa, p0, p1 := ptr(a), ptr(b0), ptr(b1)
		n := k
		var z archsimd.Float32x4
		for {
			x := z.SetElem(0, *(*float32)(pa)).Broadcast1To16()
			t0 := archsimd.LoadFloat32x16((*[16]float32)(p0))
			c0 = x.MulAdd(t0, c0)
			t1 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p0, 64)))
			c1 = x.MulAdd(t1, c1)
			t2 := archsimd.LoadFloat32x16((*[16]float32)(p1))
			c2 = x.MulAdd(t2, c2)
			t3 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p1, 64)))
			c3 = x.MulAdd(t3, c3)
			n--
			if n == 0 {
				break
			}
			pa = unsafe.Add(pa, 4)
			p0 = unsafe.Add(p0, sgemmNR*4)
			p1 = unsafe.Add(p1, sgemmNR*4)
		}
	}
	if relu {
		c0, c1, c2, c3 = relu16(c0), relu16(c1), relu16(c2), relu16(c3)
	}
	pc := ptr(c)
	st16(pc, 0, c0)
	st16(pc, 64, c1)
	st16(pc, 128, c2)
	st16(pc, 192, c3)
}

// Constants of the vector exp and tanh, splatted to 8 lanes; a load from
// here is one VMOVUPS, where archsimd.BroadcastFloat32x8 of a constant is a
// load and a broadcast, and Go does not hoist either out of a loop.
var vk = struct {
	lo, hi, log2e, ln2Hi, ln2Lo             [8]float32
	p0, p1, p2, p3, p4, p5, one, two, small [8]float32
	t0, t1, t2, t3, t4                      [8]float32
	bias                                    [8]int32
	abs, sign                               [8]uint32
}{
	lo:    splat(expClampLo),
	hi:    splat(expClampHi),
	log2e: splat(log2e32),
	ln2Hi: splat(ln2Hi32),
	ln2Lo: splat(ln2Lo32),
	p0:    splat(expP0),
	p1:    splat(expP1),
	p2:    splat(expP2),
	p3:    splat(expP3),
	p4:    splat(expP4),
	p5:    splat(expP5),
	one:   splat(1),
	two:   splat(2),
	small: splat(tanhSmall),
	t0:    splat(tanhP0),
	t1:    splat(tanhP1),
	t2:    splat(tanhP2),
	t3:    splat(tanhP3),
	t4:    splat(tanhP4),
	bias:  [8]int32{127, 127, 127, 127, 127, 127, 127, 127},
	abs:   [8]uint32{1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1, 1<<31 - 1},
	sign:  [8]uint32{signBit32, signBit32, signBit32, signBit32, signBit32, signBit32, signBit32, signBit32},
}

func splat(v float32) [8]float32 { return [8]float32{v, v, v, v, v, v, v, v} }

func k8(p *[8]float32) f32x8 { return archsimd.LoadFloat32x8(p) }

// exp8 is Exp32 on 8 lanes, operation for operation (for loop tails; it
// runs exp8x2 with the vector twice).
func exp8(x f32x8) f32x8 {
	y, _ := exp8x2(x, x)
	return y
}

// exp8x2 is exp8 on two vectors with their operations interleaved. One exp
// is a chain of ~20 dependent operations (~75 cycles); two chains side by
// side keep the pipes busier: ExpSlice32 on 1024 values went from 1.8 to
// 1.0 ns per value (BenchmarkActivations32, Zen 3).
func exp8x2(x, u f32x8) (f32x8, f32x8) {
	xn, un := x.IsNaN(), u.IsNaN()
	lo, hi := k8(&vk.lo), k8(&vk.hi)
	t, s := x.Max(lo).Min(hi), u.Max(lo).Min(hi)
	log2e := k8(&vk.log2e)
	n, m := t.Mul(log2e).RoundToEven(), s.Mul(log2e).RoundToEven()
	c := k8(&vk.ln2Hi)
	r, q := t.Sub(n.Mul(c)), s.Sub(m.Mul(c))
	c = k8(&vk.ln2Lo)
	r, q = r.Sub(n.Mul(c)), q.Sub(m.Mul(c))
	c, d := k8(&vk.p0), k8(&vk.p1)
	p, o := c.Mul(r).Add(d), c.Mul(q).Add(d)
	d = k8(&vk.p2)
	p, o = p.Mul(r).Add(d), o.Mul(q).Add(d)
	d = k8(&vk.p3)
	p, o = p.Mul(r).Add(d), o.Mul(q).Add(d)
	d = k8(&vk.p4)
	p, o = p.Mul(r).Add(d), o.Mul(q).Add(d)
	d = k8(&vk.p5)
	p, o = p.Mul(r).Add(d), o.Mul(q).Add(d)
	d = k8(&vk.one)
	y, v := p.Mul(r).Mul(r).Add(r).Add(d), o.Mul(q).Mul(q).Add(q).Add(d)
	ni, mi := n.ConvertToInt32(), m.ConvertToInt32()
	n1, m1 := ni.ShiftAllRight(1), mi.ShiftAllRight(1)
	n2, m2 := ni.Sub(n1), mi.Sub(m1)
	bias := archsimd.LoadInt32x8(&vk.bias)
	y = y.Mul(n1.Add(bias).ShiftAllLeft(23).AsFloat32x8())
	v = v.Mul(m1.Add(bias).ShiftAllLeft(23).AsFloat32x8())
	y = y.Mul(n2.Add(bias).ShiftAllLeft(23).AsFloat32x8())
	v = v.Mul(m2.Add(bias).ShiftAllLeft(23).AsFloat32x8())
	return x.Merge(y, xn), u.Merge(v, un)
}

// tanh8x2 is tanh32 on two vectors: both branches, blended, then the sign.
func tanh8x2(x, u f32x8) (f32x8, f32x8) {
	abs := archsimd.LoadUint32x8(&vk.abs)
	ax := x.AsUint32x8().And(abs).AsFloat32x8()
	au := u.AsUint32x8().And(abs).AsFloat32x8()
	e, f := exp8x2(ax.Add(ax), au.Add(au))
	return tanhFinish(x, ax, e), tanhFinish(u, au, f)
}

// tanhFinish is the rest of tanh32 given ax = |x| and e = Exp32(2|x|).
func tanhFinish(x, ax, e f32x8) f32x8 {
	small := ax.Less(k8(&vk.small))
	z := ax.Mul(ax)
	p := k8(&vk.t0).Mul(z).Add(k8(&vk.t1))
	p = p.Mul(z).Add(k8(&vk.t2))
	p = p.Mul(z).Add(k8(&vk.t3))
	p = p.Mul(z).Add(k8(&vk.t4))
	p = p.Mul(z)
	ys := p.Mul(ax).Add(ax)
	one := k8(&vk.one)
	yl := one.Sub(k8(&vk.two).Div(e.Add(one)))
	y := ys.Merge(yl, small)
	sign := x.AsUint32x8().And(archsimd.LoadUint32x8(&vk.sign))
	return y.AsUint32x8().Or(sign).AsFloat32x8()
}

// sigmoid8x2 is sigmoid32 on two vectors; −x flips the sign bit as Go's
// unary minus does.
func sigmoid8x2(x, u f32x8) (f32x8, f32x8) {
	sign := archsimd.LoadUint32x8(&vk.sign)
	e, f := exp8x2(x.AsUint32x8().Xor(sign).AsFloat32x8(), u.AsUint32x8().Xor(sign).AsFloat32x8())
	one := k8(&vk.one)
	return one.Div(one.Add(e)), one.Div(one.Add(f))
}

// map8x2 applies f to x in place, 16 values a call, with scalar for the
// tail (the same bits, by construction).
func map8x2(x []float32, f func(x, u f32x8) (f32x8, f32x8), scalar func(float32) float32) {
	i := 0
	for ; i+16 <= len(x); i += 16 {
		y, v := f(archsimd.LoadFloat32x8Slice(x[i:]), archsimd.LoadFloat32x8Slice(x[i+8:]))
		y.StoreSlice(x[i:])
		v.StoreSlice(x[i+8:])
	}
	for ; i < len(x); i++ {
		x[i] = scalar(x[i])
	}
}

func expSliceAVX2(dst, x []float32) {
	dst = dst[:len(x)]
	i := 0
	for ; i+16 <= len(x); i += 16 {
		y, v := exp8x2(archsimd.LoadFloat32x8Slice(x[i:]), archsimd.LoadFloat32x8Slice(x[i+8:]))
		y.StoreSlice(dst[i:])
		v.StoreSlice(dst[i+8:])
	}
	for ; i+8 <= len(x); i += 8 {
		exp8(archsimd.LoadFloat32x8Slice(x[i:])).StoreSlice(dst[i:])
	}
	for ; i < len(x); i++ {
		dst[i] = Exp32(x[i])
	}
}

func reluSliceAVX2(x []float32) {
	i := 0
	for ; i+8 <= len(x); i += 8 {
		relu8(archsimd.LoadFloat32x8Slice(x[i:])).StoreSlice(x[i:])
	}
	relu32Portable(x[i:])
}

func tanhSliceAVX2(x []float32) { map8x2(x, tanh8x2, tanh32) }

func sigmoidSliceAVX2(x []float32) { map8x2(x, sigmoid8x2, sigmoid32) }

// sum8AVX2 is sum8Portable: lane l of acc is partial sum l; the tail is
// added as a zero-padded vector, which leaves the other lanes unchanged.
func sum8AVX2(x []float32) float32 {
	var acc f32x8
	i := 0
	for ; i+8 <= len(x); i += 8 {
		acc = acc.Add(archsimd.LoadFloat32x8Slice(x[i:]))
	}
	if i < len(x) {
		// Not LoadFloat32x8SlicePart: its masked load converts the short
		// slice to *[8]float32, which -race's checkptr rejects.
		var t [8]float32
		copy(t[:], x[i:])
		acc = acc.Add(archsimd.LoadFloat32x8(&t))
	}
	var s [8]float32
	acc.Store(&s)
	return reduce8(&s)
}

func divSliceAVX2(x []float32, d float32) {
	dv := archsimd.BroadcastFloat32x8(d)
	i := 0
	for ; i+8 <= len(x); i += 8 {
		archsimd.LoadFloat32x8Slice(x[i:]).Div(dv).StoreSlice(x[i:])
	}
	for ; i < len(x); i++ {
		x[i] /= d
	}
}
