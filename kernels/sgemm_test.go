package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// gamma is γ(n) = n·u/(1−n·u), the classic bound on n chained roundings
// with unit roundoff u.
func gamma(n int, u float64) float64 { return float64(n) * u / (1 - float64(n)*u) }

// gemmRef is the float64 oracle: the exact pre-activation value (products of
// float32s are exact in float64; the float64 sum's own error is counted in
// tol) and the error bound the float32 kernels must meet.
type gemmRef struct {
	pre, tol []float64
}

func newGemmRef(a []float32, m int, b []float32, k, n int, bias []float32) gemmRef {
	r := gemmRef{pre: make([]float64, m*n), tol: make([]float64, m*n)}
	// Each element: bias + k products, k+1 roundings of a product or a sum
	// in float32 (k adds, k multiplies; γ(k+1) covers a product's rounding
	// folded into its add, the standard dot-product bound γ(k) plus the bias
	// add).
	g := gamma(k+1, 0x1p-24) + gamma(k+1, 0x1p-53)
	for i := range m {
		for j := range n {
			var s, abs float64
			if bias != nil {
				s, abs = float64(bias[j]), math.Abs(float64(bias[j]))
			}
			for p := range k {
				t := float64(a[i*k+p]) * float64(b[p*n+j])
				s += t
				abs += math.Abs(t)
			}
			r.pre[i*n+j], r.tol[i*n+j] = s, g*abs
		}
	}
	return r
}

// within reports whether got (an element of act(c)) agrees with the exact
// act(pre) given |c − pre| ≤ tol: each activation is Lipschitz (ReLU and
// tanh with constant 1, sigmoid 1/4) and adds its own stated error.
func within(act Activation, got float32, pre, tol float64) bool {
	g := float64(got)
	switch act {
	case ActIdentity:
		return math.Abs(g-pre) <= tol
	case ActReLU:
		return math.Abs(g-max(pre, 0)) <= tol
	case ActTanh:
		want := math.Tanh(pre)
		return math.Abs(g-want) <= tol+Tanh32MaxErr*(math.Abs(want)+tol)
	case ActSigmoid:
		want := 1 / (1 + math.Exp(-pre))
		return math.Abs(g-want) <= tol/4+Sigmoid32MaxErr*(want+tol/4)+0x1p-126
	}
	return false
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}

var allActs = []Activation{ActIdentity, ActReLU, ActTanh, ActSigmoid}

// TestGemmBiasActOracle runs every shape of the table, every activation and
// every SIMD level this CPU has against the float64 oracle, and checks that
// the portable and AVX2 levels agree bit for bit (the AVX-512 level fuses
// multiply-adds, so it only has to meet the bound).
func TestGemmBiasActOracle(t *testing.T) {
	ms := []int{1, 2, 3, 7, 32, 33, 256}
	ns := []int{1, 5, 16, 17, 64, 256, 512}
	ks := []int{1, 3, 256, 257}
	rng := rand.New(rand.NewPCG(1, 2))
	levels := availableLevels()
	t.Logf("levels: %v", levels)
	for _, m := range ms {
		for _, n := range ns {
			for _, k := range ks {
				a, b := randSlice(rng, m*k), randSlice(rng, k*n)
				bias := randSlice(rng, n)
				if (m+n+k)%3 == 0 {
					bias = nil // every few shapes without a bias
				}
				pb := PackB(k, n, b)
				ref := newGemmRef(a, m, b, k, n, bias)
				for _, act := range allActs {
					var first []float32
					for _, lv := range levels {
						c := make([]float32, m*n)
						gemmBiasAct(lv, c, a, m, pb, bias, act)
						bad := 0
						for e, got := range c {
							if !within(act, got, ref.pre[e], ref.tol[e]) {
								if bad++; bad <= 3 {
									t.Errorf("%v m=%d n=%d k=%d act=%d: c[%d][%d] = %v, want %v ± %.3g (pre-activation)",
										lv, m, n, k, act, e/n, e%n, got, ref.pre[e], ref.tol[e])
								}
							}
						}
						if lv == levelPortable {
							first = c
						} else if lv == levelAVX2 {
							if e := firstBitDiff(first, c); e >= 0 {
								t.Errorf("m=%d n=%d k=%d act=%d: avx2 c[%d] = %v, portable %v: want identical bits",
									m, n, k, act, e, c[e], first[e])
							}
						}
					}
				}
			}
		}
	}
}

func firstBitDiff(x, y []float32) int {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return i
		}
	}
	return -1
}

// TestGemmBiasActEdges covers the degenerate shapes, that only c[:m·N] is
// written, and non-finite inputs.
func TestGemmBiasActEdges(t *testing.T) {
	for _, lv := range availableLevels() {
		// k = 0: c = act(bias).
		pb := PackB(0, 3, nil)
		c := []float32{9, 9, 9, 9, 9, 9, 7}
		gemmBiasAct(lv, c, nil, 2, pb, []float32{-1, 0.5, 2}, ActReLU)
		if want := []float32{0, 0.5, 2, 0, 0.5, 2, 7}; fmt.Sprint(c) != fmt.Sprint(want) {
			t.Errorf("%v k=0: c = %v, want %v", lv, c, want)
		}
		gemmBiasAct(lv, c[:2], nil, 1, PackB(0, 2, nil), nil, ActSigmoid)
		if c[0] != 0.5 || c[1] != 0.5 {
			t.Errorf("%v k=0, no bias, sigmoid: c = %v, want [0.5 0.5 ...]", lv, c[:2])
		}
		// m = 0 and n = 0 touch nothing.
		gemmBiasAct(lv, c, nil, 0, PackB(4, 4, make([]float32, 16)), nil, ActIdentity)
		gemmBiasAct(lv, c, make([]float32, 8), 2, PackB(4, 0, nil), nil, ActIdentity)
		if c[6] != 7 {
			t.Errorf("%v: empty products wrote c", lv)
		}
		// Only c[:m·N] is written, for every tile shape at the edges.
		for _, m := range []int{1, 2, 3, 5} {
			for _, n := range []int{1, 31, 33, 65} {
				a := make([]float32, m*4)
				c := make([]float32, m*n+5)
				for i := range c {
					c[i] = 42
				}
				gemmBiasAct(lv, c, a, m, PackB(4, n, make([]float32, 4*n)), nil, ActIdentity)
				for i, v := range c {
					if want := float32(0); i >= m*n {
						want = 42
						if v != want {
							t.Errorf("%v m=%d n=%d: c[%d] = %v, want %v (past m·N)", lv, m, n, i, v, want)
						}
					} else if v != want {
						t.Errorf("%v m=%d n=%d: c[%d] = %v, want %v", lv, m, n, i, v, want)
					}
				}
			}
		}
		// NaN propagates through the sum and becomes 0 under ReLU; an
		// overflowing sum is +Inf and saturates tanh and sigmoid.
		a := []float32{float32(math.NaN()), 1, 3e38, 3e38}
		pb = PackB(2, 1, []float32{1, 1})
		for _, tc := range []struct {
			act  Activation
			want [2]float32
		}{
			{ActIdentity, [2]float32{float32(math.NaN()), float32(math.Inf(1))}},
			{ActReLU, [2]float32{0, float32(math.Inf(1))}},
			{ActTanh, [2]float32{float32(math.NaN()), 1}},
			{ActSigmoid, [2]float32{float32(math.NaN()), 1}},
		} {
			c := make([]float32, 2)
			gemmBiasAct(lv, c, a, 2, pb, nil, tc.act)
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(tc.want[i]) && !(c[i] != c[i] && tc.want[i] != tc.want[i]) {
					t.Errorf("%v act=%d: c[%d] = %v, want %v", lv, tc.act, i, c[i], tc.want[i])
				}
			}
		}
	}
}

func TestPackWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][2]int{{1, 1}, {5, 3}, {33, 7}, {64, 256}, {100, 31}} {
		out, in := sz[0], sz[1]
		w := randSlice(rng, out*in)
		bt := make([]float32, in*out) // wᵀ, in×out
		for o := range out {
			for i := range in {
				bt[i*out+o] = w[o*in+i]
			}
		}
		got, want := PackWeights(out, in, w), PackB(in, out, bt)
		if got.K() != in || got.N() != out || firstBitDiff(got.data, want.data) >= 0 || len(got.data) != len(want.data) {
			t.Errorf("PackWeights(%d, %d) differs from PackB of the transpose", out, in)
		}
	}
}

// TestDenseMatchesFloat64 checks the dense-layer reading of the API against
// DenseForward, the float64 layer: same weights layout, same answer within
// the float32 bound.
func TestDenseMatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const out, in = 37, 70
	w, bias, x := randSlice(rng, out*in), randSlice(rng, out), randSlice(rng, in)
	w64, b64, x64 := make([]float64, out*in), make([]float64, out), make([]float64, in)
	for i, v := range w {
		w64[i] = float64(v)
	}
	for i, v := range bias {
		b64[i] = float64(v)
	}
	for i, v := range x {
		x64[i] = float64(v)
	}
	for _, act := range allActs {
		want := make([]float64, out)
		DenseForward(want, w64, b64, x64, act)
		got := make([]float32, out)
		GemmBiasAct(got, x, 1, PackWeights(out, in, w), bias, act)
		for o := range out {
			if d := math.Abs(float64(got[o]) - want[o]); d > 1e-5 {
				t.Errorf("act=%d: unit %d = %v, DenseForward %v", act, o, got[o], want[o])
			}
		}
	}
}

func TestGemmBiasActPanics(t *testing.T) {
	pb := PackB(3, 4, make([]float32, 12))
	for _, tc := range []struct {
		name string
		f    func()
		want string
	}{
		{"short a", func() { GemmBiasAct(make([]float32, 8), make([]float32, 5), 2, pb, nil, ActIdentity) }, "len(a) = 5"},
		{"short c", func() { GemmBiasAct(make([]float32, 7), make([]float32, 6), 2, pb, nil, ActIdentity) }, "len(c) = 7"},
		{"bias", func() { GemmBiasAct(make([]float32, 8), make([]float32, 6), 2, pb, make([]float32, 3), ActIdentity) }, "len(bias) = 3"},
		{"m", func() { GemmBiasAct(nil, nil, -1, pb, nil, ActIdentity) }, "m = -1"},
		{"act", func() { GemmBiasAct(make([]float32, 8), make([]float32, 6), 2, pb, nil, Activation(9)) }, "unknown activation"},
		{"PackB", func() { PackB(3, 4, make([]float32, 11)) }, "len(b) = 11"},
		{"PackWeights", func() { PackWeights(4, 3, make([]float32, 11)) }, "len(w) = 11"},
		{"negative", func() { PackB(-1, 4, nil) }, "negative"},
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.want) {
					t.Errorf("%s: panic %v, want one containing %q", tc.name, r, tc.want)
				}
			}()
			tc.f()
		}()
	}
}

// TestGemmBiasActAllocs: no allocation per call, for the m = 1 path, the
// tiled path and the edge-panel path, with every activation.
func TestGemmBiasActAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sh := range [][3]int{{1, 256, 256}, {33, 70, 17}, {64, 256, 256}} {
		m, k, n := sh[0], sh[1], sh[2]
		a, pb, bias := randSlice(rng, m*k), PackB(k, n, randSlice(rng, k*n)), randSlice(rng, n)
		c := make([]float32, m*n)
		for _, act := range allActs {
			if got := testing.AllocsPerRun(20, func() { GemmBiasAct(c, a, m, pb, bias, act) }); got != 0 {
				t.Errorf("m=%d k=%d n=%d act=%d: %v allocs per call, want 0", m, k, n, act, got)
			}
		}
	}
}

func TestSIMDLevel(t *testing.T) {
	got := SIMDLevel()
	if got != "portable" && got != "avx2" && got != "avx512" {
		t.Fatalf("SIMDLevel() = %q", got)
	}
	t.Logf("SIMDLevel() = %s", got)
}
