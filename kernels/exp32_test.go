package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// expSweep is the test set for exp: a uniform sweep of [−87, 88] at a step
// of 5e-5 (3.5 million points), every 4096th float32 in [−2^−10, 2^−10]
// (470 000 points) and 200 000 random points.
func expSweep() []float32 {
	var xs []float32
	for i := 0; ; i++ {
		x := -87 + float64(i)*5e-5
		if x > 88 {
			break
		}
		xs = append(xs, float32(x))
	}
	lim := math.Float32bits(0x1p-10)
	for u := uint32(0); u <= lim; u += 4096 {
		xs = append(xs, math.Float32frombits(u), -math.Float32frombits(u))
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 200000 {
		xs = append(xs, float32(-87+175*rng.Float64()))
	}
	return xs
}

func TestExp32Sweep(t *testing.T) {
	xs := expSweep()
	var worst, worstX float64
	for _, x := range xs {
		want := math.Exp(float64(x))
		got := float64(Exp32(x))
		if e := math.Abs(got-want) / want; e > worst {
			worst, worstX = e, float64(x)
		}
	}
	t.Logf("Exp32: max relative error %.4g (%.3f ulp of 2^-24) at x = %v over %d points", worst, worst/0x1p-24, worstX, len(xs))
	if worst > ExpMaxRelErr {
		t.Errorf("Exp32: max relative error %.4g at x = %v, want ≤ ExpMaxRelErr = %g", worst, worstX, ExpMaxRelErr)
	}
	// Every level's ExpSlice32 returns Exp32's bits.
	want := make([]float32, len(xs))
	for i, x := range xs {
		want[i] = Exp32(x)
	}
	for _, lv := range availableLevels() {
		got := make([]float32, len(xs))
		expSlice32(lv, got, xs)
		if i := firstBitDiff(got, want); i >= 0 {
			t.Errorf("%v: ExpSlice32 x = %v: %v, Exp32 %v", lv, xs[i], got[i], want[i])
		}
	}
}

func TestExp32Special(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	maxX := float32(88.72283) // largest float32 with e^x < MaxFloat32
	for _, tc := range []struct {
		x, want float32
	}{
		{0, 1},
		{float32(math.Copysign(0, -1)), 1},
		{inf, inf},
		{-inf, 0},
		{89, inf},
		{88.7229, inf},
		{1e30, inf},
		{-104, 0},
		{-1e30, 0},
		{math.MaxFloat32, inf},
		{-math.MaxFloat32, 0},
	} {
		if got := Exp32(tc.x); got != tc.want {
			t.Errorf("Exp32(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if got := Exp32(nan); got == got {
		t.Errorf("Exp32(NaN) = %v, want NaN", got)
	}
	if got := Exp32(maxX); math.IsInf(float64(got), 0) || math.Abs(float64(got)-math.Exp(float64(maxX)))/math.Exp(float64(maxX)) > ExpMaxRelErr {
		t.Errorf("Exp32(%v) = %v, want %v", maxX, got, math.Exp(float64(maxX)))
	}
	// Subnormal results: relative error against the unrounded value, plus
	// half the smallest subnormal for the final rounding.
	for x := float32(-103.97); x < -87; x += 0.001 {
		want := math.Exp(float64(x))
		if got := float64(Exp32(x)); math.Abs(got-want) > ExpMaxRelErr*want+0x1p-150 {
			t.Errorf("Exp32(%v) = %v, want %v", x, got, want)
		}
	}
	// The vector path on the same specials and a mix around them.
	xs := []float32{0, inf, -inf, nan, 89, 88.7229, maxX, -104, -103.9, -87.5, 1, -1, 1e30, -1e30, nan, 0.5, 3}
	want := make([]float32, len(xs))
	for i, x := range xs {
		want[i] = Exp32(x)
	}
	for _, lv := range availableLevels() {
		got := make([]float32, len(xs))
		expSlice32(lv, got, xs)
		for i := range xs {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Errorf("%v: ExpSlice32 x = %v: %v, Exp32 %v", lv, xs[i], got[i], want[i])
			}
		}
	}
}

func TestExpSlice32InPlaceAndAllocs(t *testing.T) {
	x := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, -1}
	want := make([]float32, len(x))
	for i, v := range x {
		want[i] = Exp32(v)
	}
	ExpSlice32(x, x)
	if i := firstBitDiff(x, want); i >= 0 {
		t.Errorf("in place: x[%d] = %v, want %v", i, x[i], want[i])
	}
	buf := make([]float32, 1000)
	if n := testing.AllocsPerRun(50, func() { ExpSlice32(buf, buf) }); n != 0 {
		t.Errorf("ExpSlice32: %v allocs, want 0", n)
	}
	defer func() {
		if recover() == nil {
			t.Errorf("ExpSlice32 with mismatched lengths did not panic")
		}
	}()
	ExpSlice32(make([]float32, 2), make([]float32, 3))
}
