package canary

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/predictd/predictd/monitor/drift"
)

// RecorderOptions configure a Recorder.
type RecorderOptions struct {
	// SampleSize is how many predictions each side keeps in its uniform
	// sample (≥ 1). Default 4096.
	SampleSize int
	// Seed seeds the samples' random choices, so that one stream of
	// observations in one order draws the same samples.
	Seed uint64
}

// DefaultRecorderOptions: 4096 predictions per side, seed 1.
func DefaultRecorderOptions() RecorderOptions {
	return RecorderOptions{SampleSize: 4096, Seed: 1}
}

// Latency range of the recorder's histograms: 1µs to 1 minute, 2
// significant digits (a quantile within 1% of the true value). A latency
// outside is counted at the nearest end.
const (
	minLatency = time.Microsecond
	maxLatency = time.Minute
)

// Recorder counts what each side of one rollout step does: requests,
// errors, the latency of answered requests and a sample of their
// predictions. Observe is safe for concurrent use with itself and with
// Snapshot. Use a new Recorder for each step (each new State.Generation).
type Recorder struct {
	sides [2]sideRecorder
}

type sideRecorder struct {
	requests atomic.Int64
	errors   atomic.Int64

	mu   sync.Mutex
	hist *hdrhistogram.Histogram // answered requests' latency, in ns
	pred *drift.Reservoir        // answered requests' predictions
	_    [64]byte                // keep the two sides' locks off one cache line
}

// NewRecorder returns an empty recorder, or an error naming the bad
// option.
func NewRecorder(o RecorderOptions) (*Recorder, error) {
	if o.SampleSize < 1 {
		return nil, fmt.Errorf("canary: RecorderOptions.SampleSize %d: want at least 1", o.SampleSize)
	}
	r := &Recorder{}
	for i := range r.sides {
		r.sides[i].hist = hdrhistogram.New(1, int64(maxLatency), 2) // ns; 30 kB
		r.sides[i].pred = drift.NewReservoir(o.SampleSize, o.Seed, uint64(i))
	}
	return r, nil
}

// Observe counts one request that side answered: err says it failed; the
// latency and the prediction (the value of Checks.PredictionOutput) of a
// failed request are not used. Safe for concurrent use; it takes the
// side's lock for the histogram and sample, and does not allocate once
// the sample is full.
func (r *Recorder) Observe(side Side, latency time.Duration, err bool, prediction float64) {
	s := &r.sides[side&1]
	s.requests.Add(1)
	if err {
		s.errors.Add(1)
		return
	}
	v := int64(min(max(latency, minLatency), maxLatency))
	s.mu.Lock()
	_ = s.hist.RecordValue(v)    // in range by the clamp above: no error
	if !math.IsNaN(prediction) { // a NaN has no place in a sorted sample
		s.pred.Add(prediction)
	}
	s.mu.Unlock()
}

// SideStats is what one side did at a step.
type SideStats struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	// ErrorRate is Errors/Requests, 0 without requests.
	ErrorRate float64 `json:"error_rate"`
	// Answered is the number of latencies behind P50 and P99: the
	// requests that did not fail.
	Answered int64         `json:"answered"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	// Predictions is a uniform sample of the answered requests'
	// predictions, sorted ascending. Not in JSON (it is large).
	Predictions []float64 `json:"-"`
}

// Observation is both sides of a step.
type Observation struct {
	Stable    SideStats `json:"stable"`
	Candidate SideStats `json:"candidate"`
}

// Side returns the stats of side s.
func (o *Observation) Side(s Side) *SideStats {
	if s == Candidate {
		return &o.Candidate
	}
	return &o.Stable
}

// Snapshot reads both sides. Safe to call while Observe runs; an
// observation in flight may be in the counts and not yet in the
// histogram. It allocates the prediction samples.
func (r *Recorder) Snapshot() Observation {
	var o Observation
	for i := range r.sides {
		s := &r.sides[i]
		st := o.Side(Side(i))
		s.mu.Lock()
		st.Requests = s.requests.Load()
		st.Errors = s.errors.Load()
		st.Answered = s.hist.TotalCount()
		if st.Answered > 0 {
			st.P50 = time.Duration(s.hist.ValueAtQuantile(50))
			st.P99 = time.Duration(s.hist.ValueAtQuantile(99))
		}
		st.Predictions = slices.Clone(s.pred.Values())
		s.mu.Unlock()
		slices.Sort(st.Predictions)
		if st.Requests > 0 {
			st.ErrorRate = float64(st.Errors) / float64(st.Requests)
		}
	}
	return o
}
