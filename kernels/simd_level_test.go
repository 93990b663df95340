package kernels

import "testing"

func TestCapLevel(t *testing.T) {
	for _, c := range []struct {
		detected simdLevel
		limit    string
		want     simdLevel
	}{
		{levelAVX512, "", levelAVX512},
		{levelAVX512, "avx2", levelAVX2},
		{levelAVX512, "portable", levelPortable},
		{levelAVX2, "avx2", levelAVX2},
		{levelPortable, "avx2", levelPortable},
		{levelAVX512, "avx512", levelAVX512},
		{levelAVX512, "sse", levelAVX512},
	} {
		if got := capLevel(c.detected, c.limit); got != c.want {
			t.Errorf("capLevel(%v, %q) = %v, want %v", c.detected, c.limit, got, c.want)
		}
	}
}
