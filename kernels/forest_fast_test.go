package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLessBound32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inf32 := float32(math.Inf(1))
	thresholds := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 0.3, -0.3, 1e-45, -1e-45, 1.2e-38,
		math.MaxFloat32, -math.MaxFloat32, inf32, -inf32, 16777216, 3}
	for i := 0; i < 2000; i++ {
		thresholds = append(thresholds, math.Float32frombits(rng.Uint32()))
	}
	for _, th := range thresholds {
		if th != th {
			continue
		}
		b := lessBound32(th)
		p := math.Nextafter32(th, -inf32)
		var probes []float64
		for _, c := range []float64{b, float64(th), float64(p), (float64(p) + float64(th)) / 2} {
			if math.IsInf(c, 0) || c != c {
				probes = append(probes, c)
				continue
			}
			probes = append(probes, c, math.Nextafter(c, math.Inf(1)), math.Nextafter(c, math.Inf(-1)))
		}
		probes = append(probes, math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 0)
		for _, x := range probes {
			if want, got := float32(x) < th, x < b; got != want {
				t.Fatalf("threshold %v (bound %v): x=%v: x<bound is %v, float32(x)<t is %v", th, b, x, got, want)
			}
		}
	}
}

// randomForest builds a forest of random trees whose splits use thresholds
// drawn from vals, so rows drawn from the same values hit them exactly.
func randomForest(rng *rand.Rand, cmp Compare, f32 bool, groups, trees, maxDepth, nf int, vals []float64, exotic bool) *Forest {
	f := &Forest{NumFeatures: nf, Compare: cmp, Float32Sum: f32, Base: make([]float64, groups)}
	for g := range f.Base {
		f.Base[g] = rng.NormFloat64()
	}
	if exotic {
		f.CatSets = []uint32{0b1011, 1 << 7}
		f.CatBounds = []int32{0, 1, 2}
		f.LinConst = []float64{0.5}
		f.LinBounds = []int32{0, 2}
		f.LinFeatures = []int32{0, int32(nf - 1)}
		f.LinCoeffs = []float64{0.25, -2}
	}
	var build func(depth int)
	build = func(depth int) {
		if depth >= maxDepth || (depth > 0 && rng.IntN(4) == 0) {
			nd := Node{Value: rng.NormFloat64(), Feature: -1}
			if exotic && cmp == LessEqFloat64 && rng.IntN(8) == 0 {
				nd.Linear = 1
			}
			f.Nodes = append(f.Nodes, nd)
			return
		}
		nd := Node{Feature: int32(rng.IntN(nf)), Value: vals[rng.IntN(len(vals))]}
		if rng.IntN(2) == 0 {
			nd.Flags |= FlagDefaultLeft
		}
		if cmp == LessEqFloat64 {
			switch rng.IntN(6) {
			case 0:
				nd.Flags |= FlagNaNIsZero
			case 1:
				if exotic {
					nd.Flags |= FlagMissingZero
				}
			}
		}
		if exotic && rng.IntN(10) == 0 {
			nd.Flags = FlagCategorical | nd.Flags&FlagDefaultLeft
			if cmp == LessFloat32 {
				nd.Flags |= FlagCategoryRight
			}
			nd.Value = float64(rng.IntN(2))
		}
		at := len(f.Nodes)
		f.Nodes = append(f.Nodes, nd)
		build(depth + 1)
		f.Nodes[at].Right = int32(len(f.Nodes))
		build(depth + 1)
	}
	for t := 0; t < trees; t++ {
		f.Roots = append(f.Roots, int32(len(f.Nodes)))
		f.Groups = append(f.Groups, int32(t%groups))
		build(0)
	}
	if rng.IntN(2) == 0 {
		for range f.Roots {
			f.Weights = append(f.Weights, rng.Float64())
		}
	}
	return f
}

func testValues(rng *rand.Rand) []float64 {
	vals := []float64{0, math.Copysign(0, -1), 1e-36, -1e-36, 0.3, float64(float32(0.3)), 1, 2, 3, math.Inf(1), math.Inf(-1)}
	for i := 0; i < 20; i++ {
		v := rng.NormFloat64() * 10
		vals = append(vals, v, float64(float32(v)), math.Nextafter(v, 100), math.Nextafter(float64(float32(v)), -100))
	}
	return vals
}

// checkFastMatches compares FastForest with the reference Margins bit for
// bit on rows drawn from the thresholds' own values, NaN included: on every
// SIMD level this build and CPU have, and with the bitvector trees on the
// plain-Go node loop (bvSplitsScalar) as well as without them.
func checkFastMatches(t *testing.T, f *Forest, rng *rand.Rand, vals []float64, nrows int) {
	t.Helper()
	rows := make([]float64, nrows*f.NumFeatures)
	for i := range rows {
		switch rng.IntN(10) {
		case 0:
			rows[i] = math.NaN()
		default:
			rows[i] = vals[rng.IntN(len(vals))]
		}
	}
	want := f.Margins(nil, rows)
	type variant struct {
		name string
		ff   *FastForest
	}
	var variants []variant
	for _, level := range availableLevels() {
		ff, err := newFastForest(f, level)
		if err != nil {
			t.Fatalf("newFastForest(%v): %v", level, err)
		}
		variants = append(variants, variant{level.String(), ff})
	}
	scalar, err := newFastForest(f, levelPortable)
	if err != nil {
		t.Fatal(err)
	}
	scalar.bv = compileBV(f, levelPortable)
	variants = append(variants, variant{"bitvector in plain Go", scalar})
	if bv32 := compileBV32(f); bv32 != nil {
		scalar32, err := newFastForest(f, levelPortable)
		if err != nil {
			t.Fatal(err)
		}
		scalar32.bv32 = bv32
		variants = append(variants, variant{"float32 bitvector in plain Go", scalar32})
	}
	for _, v := range variants {
		got := v.ff.Margins(nil, rows)
		if len(got) != len(want) {
			t.Fatalf("%s: got %d margins, want %d", v.name, len(got), len(want))
		}
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("%s: margin %d (row %d): fast %v, reference %v", v.name, i, i/f.NumGroups(), got[i], want[i])
			}
		}
	}
}

func TestFastForestMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 300; iter++ {
		cmp := Compare(rng.IntN(2))
		f32 := rng.IntN(2) == 0
		groups := 1 + rng.IntN(3)
		if iter%50 == 0 {
			groups = 20 // more than the stack accumulators hold
		}
		depth := 1 + rng.IntN(8)
		if iter%7 == 0 {
			depth = 16 // past the lockstep limit
		}
		vals := testValues(rng)
		f := randomForest(rng, cmp, f32, groups, 1+rng.IntN(30), depth, 1+rng.IntN(6), vals, iter%3 == 0)
		if err := f.Validate(); err != nil {
			t.Fatalf("iteration %d: random forest invalid: %v", iter, err)
		}
		checkFastMatches(t, f, rng, vals, 1+rng.IntN(200))
	}
}

func TestFastForestUsesFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	f := randomForest(rng, LessFloat32, true, 1, 10, 6, 4, testValues(rng), false)
	ff, err := NewFastForest(f)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range ff.trees {
		if tr.slow {
			t.Errorf("tree %d of a plain numerical forest takes the slow path", i)
		}
	}
	rows := make([]float64, 64*4)
	dst := make([]float64, 0, 64)
	if n := testing.AllocsPerRun(50, func() { dst = ff.Margins(dst[:0], rows) }); n != 0 {
		t.Errorf("Margins allocates %v times per call, want 0", n)
	}
}

func FuzzFastForest(f *testing.F) {
	f.Add(uint64(1), uint8(0), uint8(6))
	f.Add(uint64(2), uint8(3), uint8(14))
	f.Fuzz(func(t *testing.T, seed uint64, mode, depth uint8) {
		rng := rand.New(rand.NewPCG(seed, uint64(mode)))
		vals := testValues(rng)
		forest := randomForest(rng, Compare(mode&1), mode&2 != 0, 1+int(mode>>2&3), 1+rng.IntN(10), 1+int(depth%18), 1+rng.IntN(5), vals, mode&16 != 0)
		if err := forest.Validate(); err != nil {
			t.Fatal(err)
		}
		checkFastMatches(t, forest, rng, vals, 1+rng.IntN(130))
	})
}
