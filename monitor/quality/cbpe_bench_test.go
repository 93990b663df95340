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

// BenchmarkIsotonicCalibrate maps a window of 10,000 scores through a
// map fitted on 20,000 reference rows, into a reused buffer.
func BenchmarkIsotonicCalibrate(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 8))
	ry, rp := window(rng, 20000, 0, 1.5, func(p float64) float64 { return p * p * p })
	iso, err := FitIsotonic(ry, rp)
	if err != nil {
		b.Fatal(err)
	}
	_, p := window(rng, 10000, 0, 1.5, identity)
	dst := make([]float64, 0, len(p))
	b.Run("reference=20000/rows=10000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst = iso.Calibrate(dst[:0], p)
		}
		benchSink = dst[0]
		b.ReportMetric(float64(len(p))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// BenchmarkGrouped is GroupFairness and BySlice(ROCAUC) over 10,000 rows
// in 4 groups.
func BenchmarkGrouped(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	y, p := window(rng, 10000, 0, 1.5, identity)
	g := make([]string, len(p))
	for i := range g {
		g[i] = []string{"de", "fr", "uk", "us"}[rng.IntN(4)]
	}
	b.Run("rows=10000/groups=4/fn=GroupFairness", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchSink = GroupFairness(y, p, g, 0.5).DemographicParityDifference
		}
		b.ReportMetric(float64(len(p))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("rows=10000/groups=4/fn=BySlice-ROCAUC", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchSink = BySlice(y, p, g, ROCAUC, true).Spread
		}
		b.ReportMetric(float64(len(p))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
