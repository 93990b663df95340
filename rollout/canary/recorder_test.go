package canary

import (
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

func newTestRecorder(t testing.TB, size int) *Recorder {
	r, err := NewRecorder(RecorderOptions{SampleSize: size, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRecorderSnapshot: counts, error rate, quantiles within the
// histogram's 1%, and the sample: answered requests only, sorted, NaN
// left out; latencies outside [1µs, 1m] counted at the ends.
func TestRecorderSnapshot(t *testing.T) {
	r := newTestRecorder(t, 4096)
	var want []float64
	for i := 1; i <= 1000; i++ {
		pred := float64(1000 - i)
		r.Observe(Candidate, time.Duration(i)*time.Millisecond, false, pred)
		want = append(want, pred)
	}
	for range 10 {
		r.Observe(Candidate, time.Hour, true, 99) // failed: counted, nothing else
	}
	r.Observe(Stable, 0, false, math.NaN())
	r.Observe(Stable, 2*time.Hour, false, 1)
	o := r.Snapshot()
	c := o.Candidate
	if c.Requests != 1010 || c.Errors != 10 || c.Answered != 1000 || math.Abs(c.ErrorRate-10.0/1010) > 1e-15 {
		t.Errorf("candidate requests/errors/answered/rate = %d/%d/%d/%g, want 1010/10/1000/%g", c.Requests, c.Errors, c.Answered, c.ErrorRate, 10.0/1010)
	}
	for _, q := range []struct {
		name      string
		got, want time.Duration
	}{{"p50", c.P50, 500 * time.Millisecond}, {"p99", c.P99, 990 * time.Millisecond}} {
		if rel := math.Abs(float64(q.got-q.want)) / float64(q.want); rel > 0.01 {
			t.Errorf("candidate %s = %v, want %v within 1%%", q.name, q.got, q.want)
		}
	}
	slices.Sort(want)
	if !slices.Equal(c.Predictions, want) {
		t.Errorf("candidate sample = %d values from %v, want the 1000 answered predictions sorted", len(c.Predictions), c.Predictions[:3])
	}
	s := o.Stable
	if s.Requests != 2 || s.Answered != 2 || !slices.Equal(s.Predictions, []float64{1}) {
		t.Errorf("stable = %d requests, %d answered, sample %v; want 2, 2, [1] (NaN left out)", s.Requests, s.Answered, s.Predictions)
	}
	if s.P50 < minLatency || s.P50 > minLatency+minLatency/50 || s.P99 < maxLatency-maxLatency/50 || s.P99 > maxLatency+maxLatency/50 {
		t.Errorf("stable p50, p99 = %v, %v; want the ends %v and %v (within 2%%)", s.P50, s.P99, minLatency, maxLatency)
	}
	// The snapshot is a copy: more observations do not change it.
	r.Observe(Candidate, time.Millisecond, false, -1)
	if c.Predictions[0] != 0 {
		t.Errorf("snapshot sample changed after Observe: first %v, want 0", c.Predictions[0])
	}
}

// TestRecorderSampleBound: past SampleSize predictions the sample stays
// at SampleSize values, all of them observed ones.
func TestRecorderSampleBound(t *testing.T) {
	r := newTestRecorder(t, 64)
	for i := range 10000 {
		r.Observe(Stable, time.Millisecond, false, float64(i))
	}
	got := r.Snapshot().Stable.Predictions
	if len(got) != 64 || !slices.IsSorted(got) || got[0] < 0 || got[63] > 9999 {
		t.Fatalf("sample of 10000 at size 64 = %d values %v, want 64 sorted values in [0, 9999]", len(got), got)
	}
	if _, err := NewRecorder(RecorderOptions{SampleSize: 0}); err == nil {
		t.Fatalf("NewRecorder(SampleSize 0) = nil error, want one naming SampleSize")
	}
}

// TestRecorderConcurrent: Observe from many goroutines while Snapshot
// reads: no count is lost (run it under -race).
func TestRecorderConcurrent(t *testing.T) {
	r := newTestRecorder(t, 4096)
	const workers, each = 8, 5000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				o := r.Snapshot()
				if o.Candidate.Errors > o.Candidate.Requests {
					t.Errorf("snapshot: %d errors of %d requests", o.Candidate.Errors, o.Candidate.Requests)
					return
				}
			}
		}
	}()
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				side := Side(i & 1)
				r.Observe(side, time.Duration(w*each+i)*time.Microsecond, i%20 < 2, float64(i)) // one in ten of each side fails
			}
		})
	}
	wg.Wait()
	close(stop)
	<-done
	o := r.Snapshot()
	for _, s := range []*SideStats{&o.Stable, &o.Candidate} {
		if s.Requests != workers*each/2 || s.Errors != workers*each/20 || s.Answered != s.Requests-s.Errors || len(s.Predictions) != 4096 {
			t.Errorf("side = %d requests, %d errors, %d answered, %d sampled; want %d, %d, %d, 4096",
				s.Requests, s.Errors, s.Answered, len(s.Predictions), workers*each/2, workers*each/20, workers*each/2-workers*each/20)
		}
	}
}

// TestRecorderObserveAllocs: once the samples are full, Observe does not
// allocate.
func TestRecorderObserveAllocs(t *testing.T) {
	r := newTestRecorder(t, 4096)
	for i := range 5000 {
		r.Observe(Stable, time.Millisecond, false, float64(i))
		r.Observe(Candidate, time.Millisecond, false, float64(i))
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() {
		i++
		r.Observe(Side(i&1), time.Duration(i)*time.Microsecond, i%7 == 0, float64(i))
	}); a != 0 {
		t.Errorf("Observe allocates %v times per call, want 0", a)
	}
}
