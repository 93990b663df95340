package linear

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

var benchSink *Fit

// synthetic returns n rows of p standard normal features and labels drawn
// from a logistic model with weights 1/sqrt(p)·(±1), seeded.
func synthetic(n, p, classes int) (*mat.Dense, []int) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, n*p)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	y := make([]int, n)
	for i := range y {
		best, bestV := 0, math.Inf(-1)
		for k := 0; k < classes; k++ {
			var z float64
			for j := 0; j < p; j++ {
				if (j+k)%3 == 0 {
					z += x[i*p+j]
				}
			}
			// Gumbel noise: the argmax is a draw from the softmax.
			z += -math.Log(-math.Log(r.Float64()))
			if z > bestV {
				best, bestV = k, z
			}
		}
		y[i] = best
	}
	return mat.NewDense(n, p, x), y
}

func BenchmarkLogisticL2(b *testing.B) {
	for _, bc := range []struct{ n, p, k int }{{569, 30, 2}, {100000, 40, 2}, {20000, 40, 5}} {
		x, y := synthetic(bc.n, bc.p, bc.k)
		b.Run(fmt.Sprintf("rows=%d/cols=%d/classes=%d", bc.n, bc.p, bc.k), func(b *testing.B) {
			opts := DefaultLogisticOptions()
			opts.Tol = 1e-4
			b.ReportAllocs()
			for b.Loop() {
				f, err := LogisticL2(x, y, opts)
				if err != nil {
					b.Fatal(err)
				}
				benchSink = f
			}
			b.ReportMetric(float64(benchSink.Iterations), "iterations")
			b.ReportMetric(float64(bc.n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
