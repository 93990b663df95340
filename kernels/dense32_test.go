package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// actSweep: [−lim, lim] at a step of 1e-4, every 4096th float32 in
// [−2^−6, 2^−6], the tanh branch point ±0.625 ± a few ulps, and
// specials.
func actSweep(lim float64) []float32 {
	var xs []float32
	for x := -lim; x <= lim; x += 1e-4 {
		xs = append(xs, float32(x))
	}
	hi := math.Float32bits(0x1p-6)
	for u := uint32(0); u <= hi; u += 4096 {
		xs = append(xs, math.Float32frombits(u), -math.Float32frombits(u))
	}
	for d := -4; d <= 4; d++ {
		v := math.Float32frombits(uint32(int32(math.Float32bits(tanhSmall)) + int32(d)))
		xs = append(xs, v, -v)
	}
	return xs
}

var specials = []float32{
	0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
	float32(math.NaN()), 1e-45, -1e-45, 100, -100, 1e30, -1e30,
}

// sameBits is bit equality, except that any NaN matches any NaN.
func sameBits(x, y float32) bool {
	return math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y)
}

// checkLevels runs f on a copy of xs at every level and wants the portable
// level's bits from all of them.
func checkLevels(t *testing.T, name string, xs []float32, f func(simdLevel, []float32)) []float32 {
	t.Helper()
	var want []float32
	for _, lv := range availableLevels() {
		got := append([]float32(nil), xs...)
		f(lv, got)
		if want == nil {
			want = got
			continue
		}
		for i := range got {
			if !sameBits(got[i], want[i]) {
				t.Errorf("%s %v: x = %v: %v, portable %v", name, lv, xs[i], got[i], want[i])
				break
			}
		}
	}
	return want
}

func TestTanh32(t *testing.T) {
	xs := append(actSweep(10), specials...)
	got := checkLevels(t, "Tanh32", xs, tanh32Slice)
	var worst, worstX float64
	for i, x := range xs {
		want := math.Tanh(float64(x))
		g := float64(got[i])
		switch {
		case x != x:
			if g == g {
				t.Errorf("Tanh32(NaN) = %v", g)
			}
			continue
		case want == 0:
			if g != 0 || math.Signbit(g) != math.Signbit(float64(x)) {
				t.Errorf("Tanh32(%v) = %v, want %v", x, g, want)
			}
			continue
		}
		if e := math.Abs(g-want) / math.Abs(want); e > worst {
			worst, worstX = e, float64(x)
		}
	}
	t.Logf("Tanh32: max relative error %.4g at x = %v", worst, worstX)
	if worst > Tanh32MaxErr {
		t.Errorf("Tanh32: max relative error %.4g at x = %v, want ≤ %g", worst, worstX, Tanh32MaxErr)
	}
}

func TestSigmoid32(t *testing.T) {
	xs := append(actSweep(30), specials...)
	for x := float32(-104); x < -30; x += 0.01 {
		xs = append(xs, x)
	}
	got := checkLevels(t, "Sigmoid32", xs, sigmoid32Slice)
	var worst, worstX float64
	for i, x := range xs {
		want := 1 / (1 + math.Exp(-float64(x)))
		g := float64(got[i])
		if x != x {
			if g == g {
				t.Errorf("Sigmoid32(NaN) = %v", g)
			}
			continue
		}
		if x < -87 {
			if math.Abs(g-want) > 0x1p-126 {
				t.Errorf("Sigmoid32(%v) = %v, want %v ± 2^-126", x, g, want)
			}
			continue
		}
		if e := math.Abs(g-want) / want; e > worst {
			worst, worstX = e, float64(x)
		}
	}
	t.Logf("Sigmoid32: max relative error %.4g at x = %v", worst, worstX)
	if worst > Sigmoid32MaxErr {
		t.Errorf("Sigmoid32: max relative error %.4g at x = %v, want ≤ %g", worst, worstX, Sigmoid32MaxErr)
	}
}

func TestRelu32(t *testing.T) {
	xs := append(actSweep(1), specials...)
	got := checkLevels(t, "Relu32", xs, relu32)
	for i, x := range xs {
		want := x
		if !(x > 0) {
			want = 0
		}
		if math.Float32bits(got[i]) != math.Float32bits(want) {
			t.Errorf("Relu32(%v) = %v, want %v", x, got[i], want)
		}
	}
}

func TestSoftmax32(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 2, 7, 8, 9, 10, 100, 1000, 1003} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 10)
		}
		x64 := make([]float64, n)
		for i, v := range x {
			x64[i] = float64(v)
		}
		Softmax64(x64)
		got := checkLevels(t, "Softmax32", x, softmax32)
		mx := slices.Max(x)
		// The stated bound: exp's error, the rounding of x−max, the sum's
		// n/8 + 3 pairwise roundings and the division.
		tol := ExpMaxRelErr + float64(n/8+6)*0x1p-24
		var sum float64
		for i := range got {
			sum += float64(got[i])
			tol := tol + float64(mx-x[i])*0x1p-24
			if e := math.Abs(float64(got[i]) - x64[i]); e > tol*x64[i]+0x1p-149 {
				t.Errorf("n=%d: Softmax32[%d] = %v, want %v (rel err %.3g > %.3g)", n, i, got[i], x64[i], e/x64[i], tol)
			}
		}
		if math.Abs(sum-1) > tol {
			t.Errorf("n=%d: Softmax32 sums to %v", n, sum)
		}
	}
	// Large margins do not overflow; a NaN poisons everything.
	x := []float32{1000, 0, -1000}
	Softmax32(x)
	if x[0] != 1 || x[1] != 0 || x[2] != 0 {
		t.Errorf("Softmax32(1000, 0, -1000) = %v, want [1 0 0]", x)
	}
	x = []float32{1, float32(math.NaN()), 2}
	Softmax32(x)
	for i, v := range x {
		if v == v {
			t.Errorf("Softmax32 with NaN: x[%d] = %v, want NaN", i, v)
		}
	}
	Softmax32(nil)
}

func TestActivationsAllocs(t *testing.T) {
	x := make([]float32, 1000)
	for _, tc := range []struct {
		name string
		f    func([]float32)
	}{
		{"Relu32", Relu32}, {"Tanh32", Tanh32}, {"Sigmoid32", Sigmoid32}, {"Softmax32", Softmax32},
		{"Activate32", func(x []float32) { Activate32(x, ActTanh) }},
	} {
		if n := testing.AllocsPerRun(50, func() { tc.f(x) }); n != 0 {
			t.Errorf("%s: %v allocs, want 0", tc.name, n)
		}
	}
}
