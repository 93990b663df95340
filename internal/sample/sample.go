// Package sample decides, from an id alone, whether an id is in a sample
// of a given rate: the same id is always in or out, so that a replay, a
// second replica or a second consumer (the prediction log, the shadow)
// samples the same ids. It allocates nothing and is safe for concurrent
// use (it keeps no state).
package sample

// Hash maps an id to a uniform 64-bit value: FNV-1a over its bytes, then
// the splitmix64 finalizer, because FNV-1a's high bits barely change
// between ids that differ only in their last bytes (request-1,
// request-2, ...), and a rate compares against the whole value.
func Hash(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// Rate is a sampling rate in [0, 1] as Keep compares it.
type Rate struct {
	below uint64 // keep iff Hash(id) < below
	all   bool   // rate ≥ 1
}

// NewRate returns the rate r: 0 keeps nothing, 1 (or more) everything, in
// between about r of distinct ids. A NaN rate keeps nothing.
func NewRate(r float64) Rate {
	if r >= 1 {
		return Rate{all: true}
	}
	if !(r > 0) {
		return Rate{}
	}
	return Rate{below: uint64(r * (1 << 64))}
}

// Keep reports whether id is in the sample.
func (r Rate) Keep(id string) bool { return r.all || Hash(id) < r.below }
