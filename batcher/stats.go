package batcher

import "time"

// Observer receives a Batcher's measurements as they are made, for the
// daemon's histograms (monitor.BatcherHistograms is one). Its methods are
// called with the Batcher's lock held: they must be quick, must not
// allocate or block, and must not call back into the Batcher.
type Observer interface {
	// ObserveBatch records one Predict call of rows rows that took
	// compute.
	ObserveBatch(rows int, compute time.Duration)
	// ObserveQueueWait records, per computed request, the time from
	// Submit to the start of its batch's Predict call.
	ObserveQueueWait(wait time.Duration)
}

// Stats is a snapshot of a Batcher's counters and estimates.
type Stats struct {
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

// counters is the Batcher's running Stats, kept under its lock; obs, if
// set, receives the measurements its histograms are made of.
type counters struct {
	obs                 Observer
	batches, rows       uint64
	shed, expired, gone uint64
	waits               uint64 // times a worker slept on a timer
}
