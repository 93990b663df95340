// Package shadow runs a shadow model beside a live one: the server offers
// sampled requests (their rows, the live model's outputs and latency) after
// the live response has been sent, and the shadow's workers predict them
// on spare capacity and compare the two sides. The shadow is another
// version of the model, or another model with the same inputs; the package
// knows it only as Options.Predict.
//
// # The live path never waits
//
// Offer copies the rows and the live outputs into a ring preallocated by
// New (Options.QueueRows rows) and wakes a worker with a non-blocking
// send. It takes a mutex that is held only for such copies and for the
// workers' index updates, never while the shadow predicts. An offer that
// does not fit whole is dropped and counted (Report.DroppedRows), as is
// every offer after Close. Warm or cold, Offer allocates nothing
// (TestOfferAllocs).
//
// # Workers
//
// Options.Workers goroutines each take up to Options.BatchRows queued
// rows, oldest first, into one Predict call, reading them in place from
// the ring (a batch never wraps past the ring's end, so it may be shorter
// than BatchRows), then compare each row with its live outputs. When
// Options.Idle is set a worker starts a batch only while Idle returns
// true, re-checking every Options.IdleWait otherwise; what arrives
// meanwhile beyond the queue's bound is dropped, never waited for.
//
// # Comparison, per Options.Task
//
//   - binary: output 0 is the probability of class 1; the sides agree
//     when both are at or above Options.Threshold, or both below. The
//     difference is |live − shadow| of output 0. The distributions are
//     output 0 over Options.Bins equal bins of [0, 1] (bin i holds
//     [i/Bins, (i+1)/Bins), the last also 1; values below 0 or above 1 count
//     in the end bins).
//   - multiclass: one probability per class (Outputs ≥ 2); the sides agree
//     when their argmax classes are equal (a tie goes to the lower class).
//     The difference is that of the probabilities both sides give the live
//     side's class, |live[c] − shadow[c]| with c the live argmax, so it is
//     how far the shadow moves the live answer's confidence. The
//     distributions count each side's argmax class (one bin per class).
//   - regression, count, positive: output 0 is the value; the sides agree
//     when |live − shadow| ≤ Options.Tolerance (equal infinities agree,
//     with difference 0). The distributions are over quantile bins of the
//     live side: the first Options.EdgeRows compared live values set
//     Options.Bins−1 edges (their quantiles i/Bins, duplicates merged),
//     fixed from then on; bin 0 holds x ≤ Edges[0], bin i holds
//     Edges[i−1] < x ≤ Edges[i], the last x > the last edge. Until then a
//     Snapshot computes provisional edges from the live values so far.
//
// A row where either side's compared output is NaN (for multiclass: any
// of its probabilities) counts as compared and disagreeing, in
// Report.NaNRows, and is left out of the differences and the
// distributions. Report.JSDistance is the Jensen-Shannon distance (base 2,
// monitor/drift.JSDistance) between the two sides' distributions.
//
// # Latency
//
// Report.ShadowBatchLatency is the wall time of each Predict call (by
// Options.Now), Report.ShadowRowLatency that time divided by the batch's
// rows, recorded once per row; Report.LiveLatency is the latency the
// server gave Offer for the request, recorded once per compared row. The
// live figure includes decoding and the server's queueing; the shadow's is
// the model call alone, batched: they are not the same measure, only the
// same rows.
//
// # Ids, for joining labels
//
// OfferID is Offer with an id and a time for the offer (the server's
// request id and answer time). With Options.IDBytes positive, each row
// keeps a copy of its offer's id in the preallocated ring (IDBytes bytes
// a row; a longer id is not kept), its index among the offer's rows, and
// the time; Options.Predicted is then given each predicted batch (Batch:
// the rows' ids, places, times, shadow and live outputs) before it is
// compared, so that the caller can record the shadow's predictions under
// the ids (the server records them in the labels store). OfferID
// allocates nothing either (TestOfferIDAllocs).
//
// # Errors and Close
//
// A Predict call that returns an error, panics or returns the wrong
// number of values counts once in Report.Errors and its rows in
// Report.ErrorRows, with the last error's text in Report.LastError; the
// line is logged through Options.Logf at most once a minute with a count
// of the rest. Close stops taking batches, drops and counts the queued
// rows, cancels the context given to Predict and waits for the batches in
// flight: a batch whose Predict fails after the cancel counts its rows as
// dropped, not as errors.
//
// # Concurrency
//
// Offer and Snapshot may be called from any goroutine, concurrently with
// each other and with Close; Close may be called more than once.
package shadow
