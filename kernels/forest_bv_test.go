package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBitvectorWideTrees holds trees of more than 64 leaves (one to four
// mask words: complete trees of depth 7 and 8, and lopsided ones like
// LightGBM's leaf-wise growth) against the reference, and checks that they
// do take the bitvector path.
func TestBitvectorWideTrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	vals := testValues(rng)
	for iter := 0; iter < 40; iter++ {
		cmp := Compare(iter % 2)
		f := &Forest{NumFeatures: 6, Compare: cmp, Float32Sum: iter%4 < 2, Base: []float64{rng.NormFloat64(), 0}}
		var build func(depth, maxDepth int, lopsided bool)
		build = func(depth, maxDepth int, lopsided bool) {
			if depth == maxDepth {
				f.Nodes = append(f.Nodes, Node{Value: rng.NormFloat64(), Feature: -1})
				return
			}
			nd := Node{Feature: int32(rng.IntN(6)), Value: vals[rng.IntN(len(vals))]}
			if rng.IntN(2) == 0 {
				nd.Flags |= FlagDefaultLeft
			}
			at := len(f.Nodes)
			f.Nodes = append(f.Nodes, nd)
			if lopsided {
				// A leaf-wise tree: a long spine, short branches.
				build(depth+1, maxDepth, true)
				f.Nodes[at].Right = int32(len(f.Nodes))
				build(depth+1, min(maxDepth, depth+3), false)
				return
			}
			build(depth+1, maxDepth, false)
			f.Nodes[at].Right = int32(len(f.Nodes))
			build(depth+1, maxDepth, false)
		}
		for tr := 0; tr < 6; tr++ {
			f.Roots = append(f.Roots, int32(len(f.Nodes)))
			f.Groups = append(f.Groups, int32(tr%2))
			switch tr % 3 {
			case 0:
				build(0, 8, false) // 256 leaves, 4 words
			case 1:
				build(0, 7, false) // 128 leaves, 2 words
			default:
				build(0, 40, true) // lopsided, 40 levels
			}
		}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		bf := compileBV(f, levelPortable)
		for tr, k := range bf.tree {
			if k < 0 {
				t.Fatalf("iteration %d: tree %d is walked, want bitvector", iter, tr)
			}
		}
		if w := bf.trees[bf.tree[0]].words; w != 4 {
			t.Fatalf("a tree of 256 leaves has %d mask words, want 4", w)
		}
		checkFastMatches(t, f, rng, vals, 8+rng.IntN(150))
	}
}

// TestBitvectorCategories holds categorical splits against the reference
// with sets spanning categories 0-63 (one and two 32-bit words, one 64-bit
// word) and past 64 (split tested row by row), under both libraries'
// rules, on values that probe the rules' edges: negatives, fractions
// either side of an integer, NaN, 2^24, 2^31.
func TestBitvectorCategories(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	vals := []float64{-1, -0.5, 0, 0.999999999, 1, 1.5, 31, 31.9999999, 32, 33, 40, 63, 63.5, 64, 70, 100, 1 << 24, 1 << 31, math.NaN()}
	for i := 0; i < 64; i++ {
		vals = append(vals, float64(i))
	}
	sets := [][]uint32{
		{0b1011_0110},                   // categories below 32
		{0x8000_0001, 0x0000_0301},      // 0, 31, 32, 40, 41
		{0, 0x8000_0000},                // 63 only
		{0xffff_ffff, 0xffff_ffff},      // all of 0-63
		{0x0000_0010, 0, 0x0000_0001},   // 4 and 64: past one 64-bit word
		{0x0000_0004, 0x0000_0000, 0x0}, // 2, with a zero third word
	}
	for iter := 0; iter < 60; iter++ {
		cmp := Compare(iter % 2)
		f := &Forest{NumFeatures: 3, Compare: cmp, Float32Sum: cmp == LessFloat32, Base: []float64{0}}
		for _, set := range sets {
			f.CatBounds = append(f.CatBounds, int32(len(f.CatSets)))
			f.CatSets = append(f.CatSets, set...)
		}
		f.CatBounds = append(f.CatBounds, int32(len(f.CatSets)))
		var build func(depth int)
		build = func(depth int) {
			if depth == 5 {
				f.Nodes = append(f.Nodes, Node{Value: rng.NormFloat64(), Feature: -1})
				return
			}
			set := rng.IntN(len(sets))
			if iter%4 < 2 && set == 4 {
				set = 3 // half the forests stay within 64 categories: the float32 form
			}
			nd := Node{Feature: int32(rng.IntN(3)), Value: float64(set), Flags: FlagCategorical}
			if cmp == LessFloat32 {
				nd.Flags |= FlagCategoryRight
			}
			if rng.IntN(2) == 0 {
				nd.Flags |= FlagDefaultLeft
			}
			if rng.IntN(4) == 0 {
				nd = Node{Feature: int32(rng.IntN(3)), Value: float64(rng.IntN(70)) - 0.5}
			}
			at := len(f.Nodes)
			f.Nodes = append(f.Nodes, nd)
			build(depth + 1)
			f.Nodes[at].Right = int32(len(f.Nodes))
			build(depth + 1)
		}
		for tr := 0; tr < 8; tr++ {
			f.Roots = append(f.Roots, int32(len(f.Nodes)))
			f.Groups = append(f.Groups, 0)
			build(0)
		}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		if iter%4 == 0 && compileBV32(f) == nil {
			t.Fatalf("iteration %d: an XGBoost forest with categories below 64 has no float32 form", iter)
		}
		checkFastMatches(t, f, rng, vals, 8+rng.IntN(150))
	}
}
