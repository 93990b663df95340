package kernels

import "math"

// float32 activations over slices, in place. Each is written once as scalar
// Go (used by the portable level and for the tails of vector loops) and once
// with 8-wide vectors (simd_amd64.go) doing the same float32 operations in
// the same order, so every level returns identical bits (tested).

const (
	signBit32 = 1 << 31
	// tanhSmall splits Tanh32: below it, an odd polynomial (Cephes tanhf);
	// at or above it, 1 − 2/(e^{2|x|}+1), whose cancellation is mild there.
	tanhSmall = 0.625
	tanhP0    = -5.70498872745e-3
	tanhP1    = 2.06390887954e-2
	tanhP2    = -5.37397155531e-2
	tanhP3    = 1.33314422036e-1
	tanhP4    = -3.33332819422e-1
)

// Tanh32MaxErr bounds |Tanh32(x) − tanh(x)| / |tanh(x)| for every finite
// float32 x ≠ 0: 2.5·2^−24. TestExhaustive found at most 1.424e-7
// (2.39·2^−24, at x = 0.62831, just past the polynomial's range) over every
// float32 with 2^−20 ≤ |x| ≤ 10; beyond 10 the result is ±1, correctly
// rounded, and below 2^−20 the polynomial is x within half an ulp.
const Tanh32MaxErr = 2.5 * 0x1p-24

// Sigmoid32MaxErr bounds the relative error of Sigmoid32 for x ≥ −87, where
// the result is a normal float32: 2.5·2^−24. TestExhaustive found at most
// 1.479e-7 (2.48·2^−24, at x = −16.636) over every float32 in [−87, 88]
// with |x| ≥ 2^−25. Below −87 the absolute error is under 2^−126
// (TestSigmoid32).
const Sigmoid32MaxErr = 2.5 * 0x1p-24

// Relu32 replaces every x[i] that is not > 0 with 0, NaN included (as
// Activate does for float64).
func Relu32(x []float32) { relu32(activeLevel, x) }

// Tanh32 replaces x[i] with tanh(x[i]) within relative error Tanh32MaxErr;
// ±Inf gives ±1, ±0 gives ±0, NaN gives NaN.
func Tanh32(x []float32) { tanh32Slice(activeLevel, x) }

// Sigmoid32 replaces x[i] with 1/(1+e^−x[i]) within Sigmoid32MaxErr (see
// there for the range); −Inf gives 0, +Inf gives 1, NaN gives NaN.
func Sigmoid32(x []float32) { sigmoid32Slice(activeLevel, x) }

// Activate32 applies act to x in place; it panics on an unknown activation.
func Activate32(x []float32, act Activation) { activate32(activeLevel, x, act) }

// Softmax32 replaces x with exp(x−max)/Σexp(x−max), in place. Subtracting the
// maximum keeps every exponent ≤ 0, so nothing overflows and the largest term
// is exactly 1. The sum is kept in 8 interleaved float32 partial sums (lane
// i mod 8) added pairwise at the end — the order the vector code uses, so
// every level returns identical bits. Output i is within ExpMaxRelErr +
// (|x[i]−max| + len(x)/8 + 6)·2^−24 relative of the exact softmax of the
// float32 inputs (the first term in the bracket is the rounding of x[i]−max,
// which exp turns into a relative error). An input with NaN or +Inf makes
// the whole output NaN.
func Softmax32(x []float32) { softmax32(activeLevel, x) }

func activate32(lv simdLevel, x []float32, act Activation) {
	switch act {
	case ActIdentity:
	case ActReLU:
		relu32(lv, x)
	case ActTanh:
		tanh32Slice(lv, x)
	case ActSigmoid:
		sigmoid32Slice(lv, x)
	default:
		panic("kernels: Activate32: unknown activation")
	}
}

func relu32(lv simdLevel, x []float32) {
	if lv >= levelAVX2 {
		reluSliceAVX2(x)
		return
	}
	relu32Portable(x)
}

func relu32Portable(x []float32) {
	for i, v := range x {
		if !(v > 0) {
			x[i] = 0
		}
	}
}

func tanh32Slice(lv simdLevel, x []float32) {
	if lv >= levelAVX2 {
		tanhSliceAVX2(x)
		return
	}
	for i, v := range x {
		x[i] = tanh32(v)
	}
}

func sigmoid32Slice(lv simdLevel, x []float32) {
	if lv >= levelAVX2 {
		sigmoidSliceAVX2(x)
		return
	}
	for i, v := range x {
		x[i] = sigmoid32(v)
	}
}

// tanh32 is Cephes tanhf on |x| with the sign of x put back last (so
// tanh(−0) = −0), without Cephes' |x| > 44 shortcut: there e^{2|x|} is +Inf
// and 1 − 2/(Inf+1) is exactly 1.
func tanh32(x float32) float32 {
	ax := math.Float32frombits(math.Float32bits(x) &^ signBit32)
	var y float32
	if ax < tanhSmall {
		z := ax * ax
		p := float32(tanhP0)
		p = float32(p*z) + tanhP1
		p = float32(p*z) + tanhP2
		p = float32(p*z) + tanhP3
		p = float32(p*z) + tanhP4
		p = float32(p * z)
		y = float32(p*ax) + ax
	} else {
		e := Exp32(ax + ax)
		y = 1 - 2/(e+1)
	}
	return math.Float32frombits(math.Float32bits(y) | math.Float32bits(x)&signBit32)
}

func sigmoid32(x float32) float32 {
	return 1 / (1 + Exp32(-x))
}

func softmax32(lv simdLevel, x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	for i := range x {
		x[i] -= mx
	}
	expSlice32(lv, x, x)
	if lv >= levelAVX2 {
		divSliceAVX2(x, sum8AVX2(x))
		return
	}
	s := sum8Portable(x)
	for i := range x {
		x[i] /= s
	}
}

// sum8Portable adds x in 8 interleaved partial sums, then pairwise.
func sum8Portable(x []float32) float32 {
	var s [8]float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		for l := range s {
			s[l] += x[i+l]
		}
	}
	for l := 0; i+l < len(x); l++ {
		s[l] += x[i+l]
	}
	return reduce8(&s)
}

func reduce8(s *[8]float32) float32 {
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}
