package canary

import (
	"math"
	"strconv"
	"testing"
)

// TestBucketGolden: the split is a fixed function of the key bytes, the
// same on every replica and after every restart; a change of hash fails
// here. The table is testdata/gen/buckets.py's output, an implementation
// of the documented function written apart from this one.
func TestBucketGolden(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want int
	}{
		{"a", 5102},
		{"user-1", 2563},
		{"user-2", 6638},
		{"user-10", 6702},
		{"42", 5040},
		{"alice@example.com", 3277},
		{"m\xc3\xbcller", 8137},
		{"\x00", 7227},
		{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 7246},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 3453},
	} {
		if got := Bucket([]byte(tc.key)); got != tc.want {
			t.Errorf("Bucket(%q) = %d, want %d", tc.key, got, tc.want)
		}
	}
	for _, tc := range []struct {
		seq  uint64
		want int
	}{
		{0, 4836},
		{1, 2899},
		{2, 4041},
		{1000, 4401},
		{9223372036854775808, 4259},
		{18446744073709551615, 4163},
	} {
		if got := seqBucket(tc.seq); got != tc.want {
			t.Errorf("seqBucket(%d) = %d, want %d", tc.seq, got, tc.want)
		}
	}
}

// TestAssignBuckets: a keyed request goes to the candidate iff its
// bucket is below the share in basis points; the request counter is
// ignored when there is a key; 0% and 100% send everything one way.
func TestAssignBuckets(t *testing.T) {
	for i := range 2000 {
		key := []byte("k" + strconv.Itoa(i))
		b := Bucket(key)
		for _, pct := range []float64{0, 0.01, 0.07, 1, 5, 25, 50, 99.99, 100} {
			want := Stable
			if float64(b) < math.Round(pct*100) {
				want = Candidate
			}
			for _, seq := range []uint64{0, 1, uint64(i), math.MaxUint64} {
				if got := Assign(key, seq, pct); got != want {
					t.Fatalf("Assign(%q (bucket %d), %d, %g) = %v, want %v", key, b, seq, pct, got, want)
				}
			}
		}
		if got := Assign(key, 0, 0); got != Stable {
			t.Fatalf("Assign(%q, 0, 0%%) = %v, want stable", key, got)
		}
		if got := Assign(key, 0, 100); got != Candidate {
			t.Fatalf("Assign(%q, 0, 100%%) = %v, want candidate", key, got)
		}
	}
}

// TestAssignMonotone: a key on the candidate at p% is on the candidate at
// every q > p.
func TestAssignMonotone(t *testing.T) {
	steps := []float64{0.01, 0.5, 1, 2.5, 5, 10, 25, 33.33, 50, 75, 99.99, 100}
	for i := range 20000 {
		key := []byte("user-" + strconv.Itoa(i))
		on := false
		for _, p := range steps {
			c := Assign(key, 0, p) == Candidate
			if on && !c {
				t.Fatalf("Assign(%q) left the candidate at %g%% after joining it below", key, p)
			}
			on = c
		}
		if !on {
			t.Fatalf("Assign(%q, 0, 100) = stable, want candidate", key)
		}
	}
}

// TestAssignUniform: over n = 10^5 keys (user-0 … user-99999: similar
// keys, the hard case for a plain FNV) and over n request numbers, the
// candidate's share at p% is within 5σ of p, σ = sqrt(n·p·(1−p)) the
// binomial's standard deviation if the buckets were independent and
// uniform (such a split fails this with probability below 6·10^-7 per
// share); and the counts over 100 groups of 100 buckets have a
// chi-square statistic below 99 + 5·sqrt(2·99) = 169 (99 degrees of
// freedom: mean 99, sd 14).
func TestAssignUniform(t *testing.T) {
	const n = 100000
	for _, keyed := range []bool{true, false} {
		var groups [100]int
		var key []byte
		bucketOf := func(i int) int {
			if !keyed {
				return seqBucket(uint64(i))
			}
			key = strconv.AppendInt(append(key[:0], "user-"...), int64(i), 10)
			return Bucket(key)
		}
		for i := range n {
			groups[bucketOf(i)/100]++
		}
		for _, pct := range []float64{1, 5, 25, 50} {
			got := 0
			for i := range n {
				if keyed {
					key = strconv.AppendInt(append(key[:0], "user-"...), int64(i), 10)
					if Assign(key, 0, pct) == Candidate {
						got++
					}
				} else if Assign(nil, uint64(i), pct) == Candidate {
					got++
				}
			}
			p := pct / 100
			mean, sd := n*p, math.Sqrt(n*p*(1-p))
			if math.Abs(float64(got)-mean) > 5*sd {
				t.Errorf("keyed=%v: %d of %d on the candidate at %g%%, want %g ± %.0f (5σ)", keyed, got, n, pct, mean, 5*sd)
			}
		}
		var chi2 float64
		for _, c := range groups {
			d := float64(c) - n/100
			chi2 += d * d / (n / 100)
		}
		if limit := 99 + 5*math.Sqrt(2*99); chi2 > limit {
			t.Errorf("keyed=%v: chi-square over 100 bucket groups = %.1f, want ≤ %.1f; counts %v", keyed, chi2, limit, groups)
		}
	}
}

func TestAssignAllocs(t *testing.T) {
	key := []byte("user-12345")
	var sink Side
	if a := testing.AllocsPerRun(1000, func() { sink ^= Assign(key, 7, 5) }); a != 0 {
		t.Errorf("Assign(key) allocates %v times, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() { sink ^= Assign(nil, 7, 5) }); a != 0 {
		t.Errorf("Assign(no key) allocates %v times, want 0", a)
	}
	_ = sink
}
