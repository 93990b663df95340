package quality

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

var benchSink float64

// BenchmarkEstimateAUC is CBPE's per-window work on n calibrated scores,
// beside ROCAUC on the same rows with labels (its peer once labels
// arrive).
func BenchmarkEstimateAUC(b *testing.B) {
	for _, n := range []int{2000, 10000} {
		rng := rand.New(rand.NewPCG(7, uint64(n)))
		y, p := window(rng, n, 0, 1.5, identity)
		b.Run("rows="+strconv.Itoa(n)+"/fn=EstimateAUC", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink = EstimateAUC(p)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run("rows="+strconv.Itoa(n)+"/fn=ROCAUC", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink = ROCAUC(y, p)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run("rows="+strconv.Itoa(n)+"/fn=EstimateAccuracy", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink = EstimateAccuracy(p, 0.5)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
