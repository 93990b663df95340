package kernels

import (
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
