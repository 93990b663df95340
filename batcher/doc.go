// Package batcher groups the concurrent requests for one model version
// into batched Predict calls. A dense model can cost much less per row in
// a batch than row by row (at batch 1 an MLP reads all its weights for one
// row), so under load batches serve more rows per second on the same
// cores; a lone request, though, must not wait for company that will not
// come.
//
// Requests join one bounded FIFO (Options.MaxQueueRows rows; a request
// that does not fit is refused at once with ErrQueueFull). A free worker
// takes, in arrival order, as many whole requests as fit
// Options.MaxBatchRows and runs them as one Predict call. Whether it takes
// them now or first waits for more is Decide: a pure function of the
// queue, the measured rate of rows that could join, the fitted cost of a
// batch t(b) = a + c·b and the clock. It dispatches at once unless bigger
// batches are needed to keep up with the load, waiting saves more worker
// time than it idles, and the wait fits both what is left of
// Options.MaxWait and the Options.TargetP99 budget (the rule is documented
// on decide). The estimates are updated online from the same injected
// clock (Options.Now), so the datadriven scripts in testdata/ replay
// arrivals, decisions and completions deterministically (queue.go holds
// the state machine they drive; batcher.go only adds goroutines).
//
// Stats reports the counters and estimates; the histograms of batch
// sizes, compute times and queue waits are not kept here but reported as
// they are measured to Options.Observer (the daemon's is
// monitor.BatcherHistograms), so the daemon has one histogram type.
//
// A request that arrives to an empty queue with a Predict slot free, when
// Decide says to dispatch, is computed by its own caller, without a
// handoff to a worker goroutine: one client at a time pays nothing for
// the batcher but two uncontended lock acquisitions.
//
// Invariants:
//   - A request's rows are never split: they are computed by one Predict
//     call, together with the requests taken with them, and its
//     predictions are exactly the ones its own rows produce.
//   - Batches are taken from the head in arrival order; a request bigger
//     than MaxBatchRows runs alone.
//   - A request is answered exactly once: with its predictions, or with
//     ErrQueueFull, ErrClosed (refused, at once), ErrDeadline (its
//     deadline passed before a worker started computing it) or ErrGone
//     (its client left while it waited). None of the errors computes the
//     request, and each is counted in Stats (ErrClosed excepted).
//   - The queue never holds more than MaxQueueRows rows; no Submit waits
//     for queue space.
//   - At most Options.Workers Predict calls run at once, except calls
//     whose fitted cost is under inlineCost (5µs), which callers make
//     themselves rather than queue.
//   - The waits of one head request add up to at most MaxWait.
//   - Submit does not allocate on the warm path (requests and their
//     channels are pooled; each worker owns its batch buffers).
//
// Concurrency: Submit, Stats and Close may be called from any goroutine.
// Predict is called from the worker goroutines and from Submit's callers
// at once, so the Predictor must be safe for concurrent use
// (model.Predictor is). One mutex guards the queue, the estimators and
// the counters; Predict, the copies of rows and predictions, and the gone
// checks run outside it. At most one worker waits on a timer for more
// rows at a time; the others sleep until there is work and a free slot.
package batcher
