package gbdt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSketchLimit: the entries a sketch level keeps, as XGBoost's
// LimitSizeLevel gives them for maxBin 255 (eps 1/2040): every value while
// 2 levels of 2041 hold them, then the least limit with 2^levels·limit >= n.
func TestSketchLimit(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{1, 1}, {1500, 1500}, {4082, 2041}, {4083, 4081}, {5000, 4081}, {150000, 10201}, {1000000, 14281},
	} {
		if got := sketchLimit(c.n, 1/float64(255*8)); got != c.want {
			t.Errorf("sketchLimit(%d, 1/2040) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestCutsRankError: over 200,000 distinct values in random order (value =
// rank), where the sketch prunes and merges, each cut's rank is within
// eps·n (eps 1/2040, the sketch's bound) of its ideal quantile (i+1)·n/255.
func TestCutsRankError(t *testing.T) {
	const n = 200000
	rng := rand.New(rand.NewPCG(7, 8))
	vals := make([]float64, n)
	for i, p := range rng.Perm(n) {
		vals[i] = float64(p)
	}
	cuts := cutsFor(vals, 255)
	if len(cuts) != 254 {
		t.Fatalf("%d cuts, want 254", len(cuts))
	}
	worst := 0.0
	for i, c := range cuts {
		worst = max(worst, math.Abs(c-float64(i+1)*n/255))
	}
	t.Logf("largest rank error %v of %d rows", worst, n)
	if worst > n/2040.0 {
		t.Fatalf("largest rank error %v, want at most %v", worst, n/2040.0)
	}
}
