package gbdt

import (
	"context"
	"fmt"
	"testing"
)

var benchSink *Result

// BenchmarkTrain trains 20 rounds of depth-6 trees, and of best-first trees
// of 31 leaves, on synthetic rows (5% missing), reporting training rows/s
// (rows / fit time).
func BenchmarkTrain(b *testing.B) {
	const rows, feats = 100000, 40
	d := synthetic(rows, feats, 0.05, 9)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("rows=%d/features=%d/depth=6/trees=20/threads=%d", rows, feats, threads), func(b *testing.B) {
			o := DefaultOptions()
			o.Rounds, o.Threads = 20, threads
			b.ReportAllocs()
			for b.Loop() {
				res, err := Train(context.Background(), d, nil, o)
				if err != nil {
					b.Fatal(err)
				}
				benchSink = res
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("rows=%d/features=%d/policy=lossguide/leaves=31/trees=20/threads=%d", rows, feats, threads), func(b *testing.B) {
			o := DefaultOptions()
			o.Rounds, o.Threads, o.GrowPolicy, o.MaxDepth, o.MaxLeaves = 20, threads, LossGuide, 0, 31
			b.ReportAllocs()
			for b.Loop() {
				res, err := Train(context.Background(), d, nil, o)
				if err != nil {
					b.Fatal(err)
				}
				benchSink = res
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
