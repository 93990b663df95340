package drift

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

var benchSink float64

func sortedNormal(rng *rand.Rand, n int, mu float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = mu + rng.NormFloat64()
	}
	slices.Sort(v)
	return v
}

// BenchmarkKS: the exact p-value's cost by sample sizes and shift (the
// statistic d grows with it). The online monitor calls KS once per numeric
// feature per evaluation, with a 1,000-value reference sample.
func BenchmarkKS(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range [][2]int{{1000, 1000}, {1000, 10000}, {10000, 10000}} {
		for _, shift := range []float64{0, 0.5} {
			x, y := sortedNormal(rng, n[0], 0), sortedNormal(rng, n[1], shift)
			b.Run(fmt.Sprintf("ref=%d/window=%d/shift=%g", n[0], n[1], shift), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, p := KS(x, y)
					benchSink += p
				}
			})
		}
	}
}

func BenchmarkBinned(b *testing.B) {
	ref := []int64{0, 95, 101, 99, 100, 98, 103, 97, 100, 102, 96, 100, 99, 101, 100, 98, 102, 100, 99, 101, 110, 0}
	win := []int64{2, 90, 105, 95, 100, 99, 100, 99, 98, 103, 100, 97, 101, 100, 100, 99, 100, 101, 96, 100, 108, 3}
	b.Run("stat=psi+js+chi2/bins=22", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s, p, _ := ChiSquare(ref, win)
			benchSink += PSI(ref, win) + JSDistance(ref, win) + s + p
		}
	})
}
