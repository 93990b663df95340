package batcher

import (
	"slices"
	"time"
)

// Histogram counts observations in buckets: Counts[i] counts the values v
// with Bounds[i-1] < v ≤ Bounds[i] (Prometheus' "le"), and the last count,
// Counts[len(Bounds)], those above every bound. Counts are per bucket, not
// cumulative.
type Histogram struct {
	Bounds []float64
	Counts []uint64
	Sum    float64
	Count  uint64
}

// newHistogram returns an empty histogram over bounds, which it keeps.
func newHistogram(bounds []float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]uint64, len(bounds)+1)}
}

// observe counts v. It does not allocate.
func (h *Histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.Bounds, v)
	h.Counts[i]++
	h.Sum += v
	h.Count++
}

// clone returns a copy that shares nothing mutable with h.
func (h *Histogram) clone() Histogram {
	c := *h
	c.Bounds = slices.Clone(h.Bounds)
	c.Counts = slices.Clone(h.Counts)
	return c
}

// secondsBounds are the bucket bounds of the time histograms: 10µs to 10s
// in 1-2.5-5 steps, which covers a single-row tree model's compute and a
// queue wait near a client's timeout alike.
var secondsBounds = []float64{
	10e-6, 25e-6, 50e-6,
	100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3,
	10e-3, 25e-3, 50e-3,
	100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10,
}

// rowsBounds are the bucket bounds of the batch-size histogram: powers of
// two below maxBatch, then maxBatch. Requests bigger than maxBatch run
// alone and land in the last (+Inf) bucket.
func rowsBounds(maxBatch int) []float64 {
	var b []float64
	for v := 1; v < maxBatch; v *= 2 {
		b = append(b, float64(v))
	}
	return append(b, float64(maxBatch))
}

// Stats is a snapshot of a Batcher's counters and estimates.
type Stats struct {
	// BatchRows counts rows per Predict call.
	BatchRows Histogram
	// QueueWait counts, per computed request, the seconds from Submit to
	// the start of its batch's Predict call.
	QueueWait Histogram
	// Compute counts the seconds of each Predict call.
	Compute Histogram
	// Batches and Rows count the Predict calls and the rows they computed.
	Batches, Rows uint64
	// Shed counts requests refused for queue space (ErrQueueFull, and
	// requests bigger than the whole queue); Expired those answered
	// ErrDeadline; Gone those answered ErrGone. None of them was computed.
	Shed, Expired, Gone uint64
	// QueuedRows is the rows waiting now.
	QueuedRows int
	// Busy is the number of Predict calls running now (workers' and
	// callers' own).
	Busy int
	// Wait is the wait the last decision chose (0 if it dispatched).
	Wait time.Duration
	// CostFixed and CostPerRow are the fitted cost of a Predict call,
	// t(b) = CostFixed + CostPerRow·b; zero until the first batch.
	CostFixed, CostPerRow time.Duration
	// ArrivalRowsPerSecond is the measured rate of rows admitted to the
	// queue, decayed over about 100ms.
	ArrivalRowsPerSecond float64
}

// counters is the Batcher's running Stats, kept under its lock.
type counters struct {
	batchRows, queueWait, compute Histogram
	batches, rows                 uint64
	shed, expired, gone           uint64
	waits                         uint64 // times a worker slept on a timer
}

func newCounters(maxBatch int) counters {
	return counters{
		batchRows: newHistogram(rowsBounds(maxBatch)),
		queueWait: newHistogram(secondsBounds),
		compute:   newHistogram(secondsBounds),
	}
}
