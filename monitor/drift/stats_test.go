package drift

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestStatsEdgeCases(t *testing.T) {
	nan := math.NaN()
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	for _, tc := range []struct {
		name     string
		ref, win []int64
		psi, js  float64
		chi, p   float64
		dof      int
	}{
		{"empty window", []int64{1, 2}, []int64{0, 0}, nan, nan, nan, nan, 0},
		{"empty reference", []int64{0, 0}, []int64{1, 2}, nan, nan, nan, nan, 0},
		{"no bins", nil, nil, nan, nan, nan, nan, 0},
		{"one category", []int64{5}, []int64{9}, 0, 0, 0, 1, 0},
		{"one category kept", []int64{0, 5, 0}, []int64{0, 9, 0}, 0, 0, 0, 1, 0},
		{"equal proportions", []int64{1, 3}, []int64{10, 30}, 0, 0, 0, 1, 1},
	} {
		if got := PSI(tc.ref, tc.win); !same(got, tc.psi) {
			t.Errorf("PSI(%s) = %v, want %v", tc.name, got, tc.psi)
		}
		if got := JSDistance(tc.ref, tc.win); !same(got, tc.js) {
			t.Errorf("JSDistance(%s) = %v, want %v", tc.name, got, tc.js)
		}
		chi, p, dof := ChiSquare(tc.ref, tc.win)
		if !same(chi, tc.chi) || !same(p, tc.p) || dof != tc.dof {
			t.Errorf("ChiSquare(%s) = %v, %v, %d; want %v, %v, %d", tc.name, chi, p, dof, tc.chi, tc.p, tc.dof)
		}
	}
	// Disjoint supports: JS distance is exactly its maximum.
	if got := JSDistance([]int64{3, 0}, []int64{0, 8}); got != 1 {
		t.Errorf("JSDistance(disjoint) = %v, want 1", got)
	}
	for _, tc := range []struct {
		name string
		a, b []float64
		d, p float64
	}{
		{"empty a", nil, []float64{1}, nan, nan},
		{"empty b", []float64{1}, nil, nan, nan},
		{"equal", []float64{1, 2, 3}, []float64{1, 2, 3}, 0, 1},
		{"one each", []float64{1}, []float64{2}, 1, 1},
		{"one each, tied", []float64{1}, []float64{1}, 0, 1},
	} {
		d, p := KS(tc.a, tc.b)
		if !same(d, tc.d) || !same(p, tc.p) {
			t.Errorf("KS(%s) = %v, %v; want %v, %v", tc.name, d, p, tc.d, tc.p)
		}
	}
	if got := Wasserstein(nil, []float64{1}); !math.IsNaN(got) {
		t.Errorf("Wasserstein(empty) = %v, want NaN", got)
	}
	if got := Wasserstein([]float64{0, 0}, []float64{3}); got != 3 {
		t.Errorf("Wasserstein({0,0}, {3}) = %v, want 3", got)
	}
}

// TestKSExactBruteForce holds the exact p-value to a count over every
// ordering of two small samples: P(D ≥ d) is the share of the C(m+n, m)
// orderings (as subsets: which positions hold the first sample) whose
// statistic is at least d. Independent of scipy, for every pair of sizes up
// to 7 and every statistic they can reach, equal sizes included.
func TestKSExactBruteForce(t *testing.T) {
	for m := 1; m <= 7; m++ {
		for n := 1; n <= 7; n++ {
			total := m + n
			var ds []float64 // D of every ordering
			for mask := 0; mask < 1<<total; mask++ {
				if popcount(mask) != m {
					continue
				}
				var a, b []float64
				for k := 0; k < total; k++ {
					if mask&(1<<k) != 0 {
						a = append(a, float64(k))
					} else {
						b = append(b, float64(k))
					}
				}
				ds = append(ds, KSStatistic(a, b))
			}
			for _, d := range unique(ds) {
				atLeast := 0
				for _, x := range ds {
					if x >= d-1e-12 {
						atLeast++
					}
				}
				want := float64(atLeast) / float64(len(ds))
				_, got := ksPValue(m, n, d)
				if math.Abs(got-want) > 1e-14 {
					t.Errorf("ksPValue(%d, %d, %v) = %v, want %v (%d of %d orderings)", m, n, d, got, want, atLeast, len(ds))
				}
			}
		}
	}
}

func popcount(x int) int {
	c := 0
	for ; x != 0; x &= x - 1 {
		c++
	}
	return c
}

func unique(xs []float64) []float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return slices.Compact(s)
}

// TestKSSymmetric: the test does not depend on which sample is first.
func TestKSSymmetric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		a := make([]float64, 1+rng.IntN(300))
		b := make([]float64, 1+rng.IntN(300))
		for i := range a {
			a[i] = rng.NormFloat64()
		}
		for i := range b {
			b[i] = rng.NormFloat64() + 0.3
		}
		slices.Sort(a)
		slices.Sort(b)
		d1, p1 := KS(a, b)
		d2, p2 := KS(b, a)
		if d1 != d2 || math.Abs(p1-p2) > 1e-13 {
			t.Errorf("KS(a, b) = %v, %v; KS(b, a) = %v, %v (sizes %d, %d)", d1, p1, d2, p2, len(a), len(b))
		}
		if w1, w2 := Wasserstein(a, b), Wasserstein(b, a); math.Abs(w1-w2) > 1e-13 {
			t.Errorf("Wasserstein(a, b) = %v, (b, a) = %v", w1, w2)
		}
	}
}

// TestStatsAllocs: the binned statistics and the sample statistics but KS's
// p-value do not allocate, so the online monitor may call them on every
// evaluation without garbage.
func TestStatsAllocs(t *testing.T) {
	ref := []int64{10, 20, 30, 0, 5}
	win := []int64{12, 18, 25, 3, 0}
	a := []float64{1, 2, 3, 4, 5, 6}
	b := []float64{1.5, 2.5, 9}
	var sink float64
	n := testing.AllocsPerRun(100, func() {
		s, p, _ := ChiSquare(ref, win)
		sink += PSI(ref, win) + JSDistance(ref, win) + s + p + KSStatistic(a, b) + Wasserstein(a, b)
	})
	if n != 0 {
		t.Errorf("PSI, JSDistance, ChiSquare, KSStatistic and Wasserstein allocate %v times per call", n)
	}
	_ = sink
}

func TestReservoir(t *testing.T) {
	fill := func(seed uint64) []float64 {
		r := NewReservoir(100, seed, 3)
		for i := range 10000 {
			r.Add(float64(i))
		}
		if r.Seen() != 10000 || len(r.Values()) != 100 {
			t.Fatalf("reservoir saw %d and holds %d, want 10000 and 100", r.Seen(), len(r.Values()))
		}
		return slices.Clone(r.Values())
	}
	a, b := fill(7), fill(7)
	if !slices.Equal(a, b) {
		t.Errorf("the same seed drew different samples")
	}
	if slices.Equal(a, fill(8)) {
		t.Errorf("different seeds drew the same sample")
	}
	// A uniform sample of 0..9999: its mean is near 5000 (sd about 290).
	var mean float64
	for _, x := range a {
		mean += x / 100
	}
	if math.Abs(mean-5000) > 1500 {
		t.Errorf("sample mean %v, want about 5000", mean)
	}
	small := NewReservoir(10, 1, 1)
	small.Add(1)
	small.Add(2)
	if !slices.Equal(small.Values(), []float64{1, 2}) {
		t.Errorf("a reservoir that is not full holds %v, want every value", small.Values())
	}
	if n := testing.AllocsPerRun(100, func() { small.Add(3) }); n != 0 {
		t.Errorf("Add to a full reservoir allocates %v times", n)
	}
}
