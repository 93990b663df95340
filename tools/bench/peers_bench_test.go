package bench

import (
	"fmt"
	"runtime"
	"testing"
)

// BenchmarkPeers times predictd and leaves on the same LightGBM model (300
// trees of depth 6, from TestPeersAgree) and the same rows, raw margins,
// batch by batch. threads=N runs with GOMAXPROCS N and gives leaves
// nThreads N. ns/row is the figure to compare; bench/compare-trees.sh puts
// the pairs side by side.
func BenchmarkPeers(b *testing.B) {
	pf := loadPeers(b)
	n := len(pf.rows) / pf.nf
	for _, lib := range []string{"predictd", "leaves"} {
		for _, batch := range []int{1, 32, 256} {
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("lib=%s/trees=%d/depth=%d/batch=%d/threads=%d", lib, peerTrees, peerDepth, batch, threads)
				b.Run(name, func(b *testing.B) {
					prev := runtime.GOMAXPROCS(threads)
					defer runtime.GOMAXPROCS(prev)
					in := cycleRows(pf.rows, pf.nf, batch)
					dst := make([]float64, batch)
					next := 0
					b.ReportAllocs()
					for b.Loop() {
						w := in[next*pf.nf : (next+batch)*pf.nf]
						next = (next + batch) % n
						if lib == "predictd" {
							dst = pf.fromLGB.Predict(dst[:0], w, true)
						} else if err := pf.leaves.PredictDense(w, batch, pf.nf, dst, 0, threads); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(float64(b.N)*float64(batch)), "ns/row")
				})
			}
		}
	}
}
