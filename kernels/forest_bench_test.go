package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

var benchSink []float64

// benchForest is a complete-depth random forest like a trained XGBoost
// model: trees trees of the given depth over nf features.
func benchForest(trees, depth, nf int) (*Forest, []float64) {
	rng := rand.New(rand.NewPCG(9, 9))
	vals := make([]float64, 64)
	for i := range vals {
		vals[i] = rng.NormFloat64()
	}
	f := &Forest{NumFeatures: nf, Compare: LessFloat32, Float32Sum: true, Base: []float64{0}}
	var build func(d int)
	build = func(d int) {
		if d == depth {
			f.Nodes = append(f.Nodes, Node{Value: rng.NormFloat64() * 0.01, Feature: -1})
			return
		}
		at := len(f.Nodes)
		f.Nodes = append(f.Nodes, Node{Feature: int32(rng.IntN(nf)), Value: vals[rng.IntN(len(vals))], Flags: uint8(rng.IntN(2))})
		build(d + 1)
		f.Nodes[at].Right = int32(len(f.Nodes))
		build(d + 1)
	}
	for t := 0; t < trees; t++ {
		f.Roots = append(f.Roots, int32(len(f.Nodes)))
		f.Groups = append(f.Groups, 0)
		build(0)
	}
	rows := make([]float64, 4096*nf)
	for i := range rows {
		rows[i] = rng.NormFloat64()
	}
	return f, rows
}

// BenchmarkTrees compares the reference walk with FastForest on the same
// forest and rows, from one goroutine with GOMAXPROCS set to threads
// (FastForest shares batches of 128 rows or more over that many cores).
func BenchmarkTrees(b *testing.B) {
	const trees, depth, nf = 300, 6, 20
	f, rows := benchForest(trees, depth, nf)
	ff, err := NewFastForest(f)
	if err != nil {
		b.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		for _, batch := range []int{1, 32, 256} {
			for _, impl := range []string{"reference", "fast"} {
				b.Run(fmt.Sprintf("trees=%d/depth=%d/batch=%d/threads=%d/impl=%s", trees, depth, batch, threads, impl), func(b *testing.B) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
					dst := make([]float64, 0, batch)
					nrows := len(rows) / nf
					r := 0
					b.ReportAllocs()
					for b.Loop() {
						// Move through the rows, so that branch predictors cannot
						// learn one row's paths.
						if r+batch > nrows {
							r = 0
						}
						in := rows[r*nf : (r+batch)*nf]
						r += batch
						if impl == "fast" {
							dst = ff.Margins(dst[:0], in)
						} else {
							dst = f.Margins(dst[:0], in)
						}
					}
					benchSink = dst
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
				})
			}
		}
	}
}
