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

// FuzzCutsFor: for any values (NaN, ±Inf and duplicates among them) and
// MaxBin, the cuts rise strictly, are at most MaxBin-1, are values of the
// input rounded to float32, lie above the smallest, and leave no bin empty.
func FuzzCutsFor(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint8(4), uint16(0))
	f.Add([]byte{0, 0, 0, 0, 255, 255}, uint8(2), uint16(5000))
	long := make([]byte, 200)
	for i := range long {
		long[i] = byte(i * 37)
	}
	f.Add(long, uint8(253), uint16(127)) // 12,800 values: the sketch prunes
	f.Fuzz(func(t *testing.T, data []byte, mb uint8, repeat uint16) {
		maxBin := 2 + int(mb)%254
		// Values from 2-byte codes: small integers (many duplicates),
		// scaled fractions, NaN and ±Inf; repeated to reach the sketch's
		// pruning (past 2·limit values).
		var vals []float64
		for r := 0; r <= int(repeat)%128; r++ {
			for i := 0; i+1 < len(data); i += 2 {
				c := int(data[i])<<8 | int(data[i+1])
				switch {
				case c == 0xffff:
					vals = append(vals, math.NaN())
				case c == 0xfffe:
					vals = append(vals, math.Inf(1))
				case c == 0xfffd:
					vals = append(vals, math.Inf(-1))
				case c&1 == 0:
					vals = append(vals, float64(c>>1%97))
				default:
					vals = append(vals, float64(c)/3+float64(r)*1e-3)
				}
			}
		}
		cuts := cutsFor(vals, maxBin)
		if len(cuts) > maxBin-1 {
			t.Fatalf("%d cuts for maxBin %d", len(cuts), maxBin)
		}
		in := map[float64]bool{}
		lo := math.Inf(1)
		for _, v := range vals {
			if v == v {
				in[round32(v)] = true
				lo = min(lo, round32(v))
			}
		}
		for i, c := range cuts {
			if !in[c] || c <= lo || (i > 0 && c <= cuts[i-1]) {
				t.Fatalf("cut %d = %v: want a rounded input value above the smallest %v and above cut %d; cuts %v", i, c, lo, i-1, cuts)
			}
		}
		count := make([]int, len(cuts)+1)
		for _, v := range vals {
			if v == v {
				count[binOf(cuts, v)]++
			}
		}
		for b, c := range count {
			if c == 0 && len(in) > 0 {
				t.Fatalf("bin %d of %d is empty (cuts %v)", b, len(count), cuts)
			}
		}
	})
}
