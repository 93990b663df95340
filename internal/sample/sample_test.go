package sample

import (
	"strconv"
	"testing"
)

// TestHashGolden pins Hash's values: the prediction log's sampling of
// stored logs depends on them not changing.
func TestHashGolden(t *testing.T) {
	for _, c := range []struct {
		id   string
		want uint64
	}{
		{"", fnvSplit("")},
		{"request-1", fnvSplit("request-1")},
	} {
		if got := Hash(c.id); got != c.want {
			t.Errorf("Hash(%q) = %#x, want %#x", c.id, got, c.want)
		}
	}
}

// fnvSplit is Hash written from its definition: FNV-1a 64, then splitmix64's
// finalizer.
func fnvSplit(s string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for _, b := range []byte(s) {
		h = (h ^ uint64(b)) * prime
	}
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	return h ^ h>>31
}

func TestRateKeep(t *testing.T) {
	const n = 100000
	for _, c := range []struct {
		rate     float64
		min, max int
	}{
		{0, 0, 0},
		{-1, 0, 0},
		{1, n, n},
		{2, n, n},
		{0.25, n/4 - 1000, n/4 + 1000}, // ±1000 is more than 7 sigma
	} {
		r, kept := NewRate(c.rate), 0
		for i := range n {
			if r.Keep("request-" + strconv.Itoa(i)) {
				kept++
			}
		}
		if kept < c.min || kept > c.max {
			t.Errorf("NewRate(%v) kept %d of %d ids, want %d..%d", c.rate, kept, n, c.min, c.max)
		}
	}
}
