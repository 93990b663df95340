package kernels

import (
	"flag"
	"math"
	"runtime"
	"sync"
	"testing"
)

var exhaustive = flag.Bool("exhaustive", false, "check Exp32, Tanh32 and Sigmoid32 on every float32 of their stated ranges (about 8 minutes on 2 cores)")

// sweepBits evaluates f on every float32 whose bits lie in [lo, hi] (one
// sign, increasing magnitude), in chunks spread over GOMAXPROCS goroutines,
// and returns the largest err(x, f(x)) and its x.
func sweepBits(lo, hi uint32, neg bool, f func(dst, x []float32), err func(x, got float32) float64) (worst float64, worstX float32) {
	const chunk = 1 << 16
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := uint64(lo)
	workers := runtime.GOMAXPROCS(0)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, y := make([]float32, chunk), make([]float32, chunk)
			for {
				mu.Lock()
				start := next
				next += chunk
				mu.Unlock()
				if start > uint64(hi) {
					return
				}
				n := min(uint64(chunk), uint64(hi)-start+1)
				for i := range n {
					b := uint32(start + i)
					if neg {
						b |= signBit32
					}
					x[i] = math.Float32frombits(b)
				}
				f(y[:n], x[:n])
				var w float64
				var wx float32
				for i := range n {
					if e := err(x[i], y[i]); e > w {
						w, wx = e, x[i]
					}
				}
				mu.Lock()
				if w > worst {
					worst, worstX = w, wx
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return worst, worstX
}

func relErr(got float32, want float64) float64 { return math.Abs(float64(got)-want) / want }

// TestExhaustive backs the stated bounds ExpMaxRelErr, Tanh32MaxErr and
// Sigmoid32MaxErr with every float32 of their ranges down to a magnitude of
// 2^-25 (2^-20 for tanh), where the answer is 1 (or 0.5, or x) to within
// rounding; smaller inputs are sampled by the regular tests (every 4096th
// float32), because below about 2^-63 the polynomials underflow into
// microcode assists and a full sweep would take hours. Run with
// go test ./kernels/ -run Exhaustive -args -exhaustive (about 8 minutes on 2 cores).
func TestExhaustive(t *testing.T) {
	if !*exhaustive {
		t.Skip("needs -exhaustive")
	}
	bits := math.Float32bits
	expErr := func(x, got float32) float64 { return relErr(got, math.Exp(float64(x))) }
	for _, r := range []struct {
		name   string
		lo, hi float32
		neg    bool
		f      func(dst, x []float32)
		err    func(x, got float32) float64
		bound  float64
	}{
		{"Exp32 [2^-25, 88]", 0x1p-25, 88, false, ExpSlice32, expErr, ExpMaxRelErr},
		{"Exp32 [-87, -2^-25]", 0x1p-25, 87, true, ExpSlice32, expErr, ExpMaxRelErr},
		{"Tanh32 [2^-20, 10]", 0x1p-20, 10, false, func(dst, x []float32) { copy(dst, x); Tanh32(dst) },
			func(x, got float32) float64 { return relErr(got, math.Tanh(float64(x))) }, Tanh32MaxErr},
		{"Sigmoid32 [2^-25, 88]", 0x1p-25, 88, false, func(dst, x []float32) { copy(dst, x); Sigmoid32(dst) },
			func(x, got float32) float64 { return relErr(got, 1/(1+math.Exp(-float64(x)))) }, Sigmoid32MaxErr},
		{"Sigmoid32 [-87, -2^-25]", 0x1p-25, 87, true, func(dst, x []float32) { copy(dst, x); Sigmoid32(dst) },
			func(x, got float32) float64 { return relErr(got, 1/(1+math.Exp(-float64(x)))) }, Sigmoid32MaxErr},
	} {
		worst, x := sweepBits(bits(r.lo), bits(r.hi), r.neg, r.f, r.err)
		t.Logf("%s (%s): max relative error %.5g = %.3f·2^-24 at x = %v", r.name, SIMDLevel(), worst, worst/0x1p-24, x)
		if worst > r.bound {
			t.Errorf("%s: max relative error %.5g at x = %v, want ≤ %g", r.name, worst, x, r.bound)
		}
	}
}
