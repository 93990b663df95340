package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// sinkF32 keeps benchmark results alive.
var sinkF32 float32

// BenchmarkSgemm is c = a·B + bias for m×256 by 256×256 on the active level,
// the shapes bench/sgemm_numpy.py times OpenBLAS at (run both in one session
// and divide: that ratio is the claim, not these numbers alone).
func BenchmarkSgemm(b *testing.B) {
	for _, m := range []int{1, 32, 64, 128, 256} {
		const k, n = 256, 256
		b.Run(fmt.Sprintf("m=%d/k=%d/n=%d", m, k, n), func(b *testing.B) {
			benchGemm(b, activeLevel, m, k, n)
		})
	}
}

// BenchmarkSgemmLevels runs the same products on every level this build and
// CPU have, portable included, so one run shows what the vectors buy.
func BenchmarkSgemmLevels(b *testing.B) {
	for _, lv := range availableLevels() {
		for _, m := range []int{1, 32, 256} {
			const k, n = 256, 256
			b.Run(fmt.Sprintf("level=%v/m=%d/k=%d/n=%d", lv, m, k, n), func(b *testing.B) {
				benchGemm(b, lv, m, k, n)
			})
		}
	}
}

func benchGemm(b *testing.B, lv simdLevel, m, k, n int) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, pb, bias := randSlice(rng, m*k), PackB(k, n, randSlice(rng, k*n)), randSlice(rng, n)
	c := make([]float32, m*n)
	b.ReportAllocs()
	b.SetBytes(int64(4 * (m*k + m*n)))
	for b.Loop() {
		gemmBiasAct(lv, c, a, m, pb, bias, ActIdentity)
	}
	sinkF32 = c[0]
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
}

// BenchmarkMLP is a 3-layer perceptron, 256 → 256 → 256 → 256 with ReLU,
// the way a dense model would run it: PackWeights once, GemmBiasAct per
// layer into ping-pong buffers.
func BenchmarkMLP(b *testing.B) {
	const layers, width = 3, 256
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("layers=%d/width=%d/batch=%d", layers, width, batch), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, 2))
			ws := make([]*PackedB, layers)
			bs := make([][]float32, layers)
			for l := range ws {
				// Scaled so activations neither vanish nor blow up.
				w := randSlice(rng, width*width)
				for i := range w {
					w[i] *= 0.1
				}
				ws[l], bs[l] = PackWeights(width, width, w), randSlice(rng, width)
			}
			x := randSlice(rng, batch*width)
			h0, h1 := make([]float32, batch*width), make([]float32, batch*width)
			b.ReportAllocs()
			for b.Loop() {
				in, out := x, h0
				for l := range ws {
					GemmBiasAct(out, in, batch, ws[l], bs[l], ActReLU)
					in, out = out, h1
					if l%2 == 1 {
						out = h0
					}
				}
				sinkF32 = in[0]
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/prediction")
		})
	}
}

// BenchmarkActivations32 times the slice activations on 1024 values.
func BenchmarkActivations32(b *testing.B) {
	const n = 1024
	rng := rand.New(rand.NewPCG(3, 3))
	src := randSlice(rng, n)
	for i := range src {
		src[i] *= 8
	}
	x := make([]float32, n)
	for _, tc := range []struct {
		name string
		f    func([]float32)
	}{
		{"Exp", func(x []float32) { ExpSlice32(x, x) }},
		{"Relu", Relu32},
		{"Tanh", Tanh32},
		{"Sigmoid", Sigmoid32},
		{"Softmax", Softmax32},
	} {
		b.Run(fmt.Sprintf("f=%s/n=%d", tc.name, n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(4 * n)
			for b.Loop() {
				copy(x, src)
				tc.f(x)
			}
			sinkF32 = x[0]
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/value")
		})
	}
}
