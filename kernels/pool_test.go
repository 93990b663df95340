package kernels

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// TestParallelMatchesSerial checks that a batch split over the pool gives
// the same margins as one goroutine, with many callers at once (run with
// -race).
func TestParallelMatchesSerial(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs 2 or more cores")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	vals := testValues(rng)
	f := randomForest(rng, LessFloat32, true, 3, 40, 6, 5, vals, false)
	ff, err := NewFastForest(f)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	rows := make([]float64, n*f.NumFeatures)
	for i := range rows {
		rows[i] = vals[rng.IntN(len(vals))]
	}
	want := make([]float64, n*f.NumGroups())
	ff.marginsInto(want, rows)
	var wg sync.WaitGroup
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := 0; it < 20; it++ {
				got := ff.Margins(nil, rows)
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("margin %d: parallel %v, serial %v", i, got[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestParallelAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	f := randomForest(rng, LessEqFloat64, false, 1, 20, 6, 4, testValues(rng), false)
	ff, err := NewFastForest(f)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]float64, 512*f.NumFeatures)
	dst := make([]float64, 0, 512)
	ff.Margins(dst, rows) // warm the pools
	if n := testing.AllocsPerRun(50, func() { dst = ff.Margins(dst[:0], rows) }); n != 0 {
		t.Errorf("a parallel Margins call allocates %v times, want 0", n)
	}
}
