package kernels

import (
	"fmt"
	"math"
)

// float32 exp: Cody–Waite range reduction to r in [−ln2/2, ln2/2], the
// Cephes expf polynomial for e^r, and a scale by 2^n applied as two powers of
// two (2^⌊n/2⌋·2^(n−⌊n/2⌋)) so that n = 128 (x up to 88.72) and the
// subnormal results (x down to −103.97) come out right without a branch.
// Every step is a single float32 operation (no FMA), written the same way in
// the scalar code below and in the vector code in simd_amd64.go, so both give
// identical bits.
const (
	expClampHi = 89   // e^89 overflows float32: the scale makes it +Inf
	expClampLo = -104 // e^−104 < 2^−150: rounds to 0
	log2e32    = 1.44269504088896341
	ln2Hi32    = 0.693359375 // 9 significant bits: n·ln2Hi32 is exact for |n| ≤ 2^15
	ln2Lo32    = -2.12194440e-4
	expP0      = 1.9875691500e-4
	expP1      = 1.3981999507e-3
	expP2      = 8.3334519073e-3
	expP3      = 4.1665795894e-2
	expP4      = 1.6666665459e-1
	expP5      = 5.0000001201e-1
)

// ExpMaxRelErr bounds the relative error of Exp32 and ExpSlice32 against
// the exact e^x for x in [−87, 88], where the result is a normal float32:
// 1.4·2^−24. TestExhaustive found at most 8.31e-8 (1.394·2^−24, at
// x = −81.4432) over every float32 of the range with |x| ≥ 2^−25; below
// that the result is the rounding of 1+x, within half an ulp.
const ExpMaxRelErr = 1.4 * 0x1p-24

// Exp32 returns e^x in float32 within relative error ExpMaxRelErr for x in
// [−87, 88.7228] (the largest float32 whose exponential is finite). Above
// that, +Inf included, it returns +Inf; below −103.97, −Inf included, 0; in
// between −103.97 and −87 the result is subnormal and within ExpMaxRelErr
// of e^x plus half the smallest subnormal. Exp32(NaN) is NaN.
func Exp32(x float32) float32 {
	if x != x {
		return x
	}
	x = max(x, expClampLo)
	x = min(x, expClampHi)
	n := float32(math.RoundToEven(float64(x * log2e32)))
	r := x - float32(n*ln2Hi32)
	r = r - float32(n*ln2Lo32)
	p := float32(expP0)
	p = float32(p*r) + expP1
	p = float32(p*r) + expP2
	p = float32(p*r) + expP3
	p = float32(p*r) + expP4
	p = float32(p*r) + expP5
	y := float32(float32(p*r)*r) + r
	y = y + 1
	ni := int32(n)
	n1 := ni >> 1
	n2 := ni - n1
	y = y * math.Float32frombits(uint32(n1+127)<<23)
	return y * math.Float32frombits(uint32(n2+127)<<23)
}

// ExpSlice32 sets dst[i] = Exp32(x[i]) for every i, with the same bits as
// Exp32 (and so the same error bound) on every SIMD level. dst and x must
// have the same length; they may be the same slice, but must not otherwise
// overlap.
func ExpSlice32(dst, x []float32) {
	if len(dst) != len(x) {
		panic(fmt.Sprintf("kernels: ExpSlice32: len(dst) = %d, len(x) = %d", len(dst), len(x)))
	}
	expSlice32(activeLevel, dst, x)
}

func expSlice32(lv simdLevel, dst, x []float32) {
	if lv >= levelAVX2 {
		expSliceAVX2(dst, x)
		return
	}
	expSlicePortable(dst, x)
}

func expSlicePortable(dst, x []float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		dst[i] = Exp32(v)
	}
}
