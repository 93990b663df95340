package canary

import (
	"math"
	"math/bits"
)

// Side is the version a request goes to.
type Side uint8

const (
	Stable Side = iota
	Candidate
)

func (s Side) String() string {
	if s == Candidate {
		return "candidate"
	}
	return "stable"
}

// Buckets is the number of buckets the split hashes keys into: one per
// basis point of traffic.
const Buckets = 10000

// FNV-1a, 64 bit (the constants of hash/fnv).
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Bucket is the key's bucket in [0, Buckets): FNV-1a 64 of the bytes, then
// MurmurHash3's 64-bit finalizer (fmix64), then the top of the product
// with Buckets (h·Buckets / 2^64). It is a fixed function of the bytes:
// every replica, and every restart, puts a key in the same bucket (a
// golden table in the tests holds it). It does not allocate.
func Bucket(key []byte) int {
	h := uint64(fnvOffset64)
	for _, c := range key {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return toBucket(h)
}

// seqBucket is Bucket of requestSeq's 8 bytes, little-endian.
func seqBucket(seq uint64) int {
	h := uint64(fnvOffset64)
	for range 8 {
		h ^= seq & 0xff
		h *= fnvPrime64
		seq >>= 8
	}
	return toBucket(h)
}

func toBucket(h uint64) int {
	// FNV-1a alone leaves the high bits of short, similar keys (user ids
	// that differ in the last digit) correlated; fmix64 spreads every input
	// bit over the whole word before the high bits pick the bucket.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	hi, _ := bits.Mul64(h, Buckets)
	return int(hi)
}

// Assign says which side a request goes to when the candidate has percent
// of the traffic. With a key (non-empty), the request goes to the
// candidate iff Bucket(key) < round(percent·100), so a key stays on its
// side for as long as the percentage does, and a key on the candidate at
// p% is on the candidate at every q > p. Without a key, requestSeq (a
// per-request counter) is hashed the same way, so consecutive requests
// spread evenly. percent ≤ 0 sends everything to the stable version,
// ≥ 100 everything to the candidate. It does not allocate.
func Assign(key []byte, requestSeq uint64, percent float64) Side {
	var b int
	if len(key) > 0 {
		b = Bucket(key)
	} else {
		b = seqBucket(requestSeq)
	}
	if float64(b) < math.Round(percent*100) {
		return Candidate
	}
	return Stable
}
