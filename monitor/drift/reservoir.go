package drift

import "math/rand/v2"

// Reservoir keeps a uniform random sample of at most a fixed number of the
// values added to it (Vitter's Algorithm R): after n additions each value
// is in the sample with probability min(1, capacity/n). The sample depends
// only on the seed, the stream number and the order of the values, so a
// profile or a drift run over the same file draws the same sample every
// time. Not safe for concurrent use. Add does not allocate once the sample
// is full.
type Reservoir struct {
	vals []float64
	cap  int
	seen int64
	rng  *rand.Rand
}

// NewReservoir returns an empty reservoir of the given capacity (> 0) whose
// random choices come from PCG(seed, stream): give each distribution its own
// stream.
func NewReservoir(capacity int, seed, stream uint64) *Reservoir {
	if capacity <= 0 {
		panic("BUG: drift: reservoir capacity must be positive")
	}
	return &Reservoir{
		cap:  capacity,
		vals: make([]float64, 0, min(capacity, 1024)),
		rng:  rand.New(rand.NewPCG(seed, stream)),
	}
}

// Add offers x to the sample.
func (r *Reservoir) Add(x float64) {
	r.seen++
	if len(r.vals) < r.cap {
		r.vals = append(r.vals, x)
		return
	}
	// x is the seen-th value: it replaces a random slot with probability
	// cap/seen.
	if j := r.rng.Int64N(r.seen); j < int64(r.cap) {
		r.vals[j] = x
	}
}

// Seen is the number of values offered.
func (r *Reservoir) Seen() int64 { return r.seen }

// Values is the sample, in no particular order. It shares the reservoir's
// memory: copy it before the next Add if it must not change.
func (r *Reservoir) Values() []float64 { return r.vals }
