// Package labels joins delayed labels to predictions and reports live
// quality from the joined rows. docs/labels.md is the user's guide.
//
// For every prediction the server records (sampled into the prediction
// log or not), a Store keeps what the join needs and nothing more: the
// id, model, version, prediction time, the outputs, and the slice values
// (the model's slice columns and protected attribute, as strings); never
// the inputs. Labels arrive later (Label), are joined by id, and Report
// computes the metrics of monitor/quality over the joined rows per time
// window, by slice and by protected group, with NannyML's CBPE estimate
// over the predictions still waiting for a label.
//
// Layout in the embedded Pebble store (one directory, one process):
//   - 'p' model 0x00 version(u32 BE) time(u64 BE, sign bit flipped) id:
//     a prediction without a label; value: outputs and slice values.
//   - 'j' + the same: a prediction with its label; value: the same plus
//     the label and the label time. Label moves a row from 'p' to 'j'.
//   - 'i' model 0x00 id: the version and time of the id's prediction.
//
// A model is any non-empty name without 0x00 (the server also records a
// shadow's predictions under "<model>@shadow:<label>"): the 0x00 ends it,
// so a name that begins another keeps its ids, labels and reports apart
// (TestModelNamesPrefix).
//
// Rows sort by model, version, prediction time, so a window is a range
// read and retention a range deletion per model version.
//
// Invariants:
//   - Record never blocks and, warm, never allocates: a slot from a
//     bounded pool (Options.QueueRecords), a copy, a send; no free slot,
//     the prediction is dropped and counted (Stats.Dropped).
//   - Predictions are committed by one writer goroutine in batches
//     without fsync: a process crash loses the queue and what Pebble had
//     not yet written to its log; a machine crash also loses what the OS
//     had not written. Close flushes. Labels are committed with fsync.
//   - A prediction has at most one label: the first one joined is kept,
//     later ones are counted Duplicate.
//   - Every label's outcome (Joined, Unknown, Duplicate, Late, Invalid)
//     is counted; none fails a call.
//   - Rows older than JoinWindow, and the oldest beyond MaxBytes, are
//     deleted by Retain (periodic), with their index entries.
//
// Concurrency: every method may be called from any goroutine. Record runs
// concurrently with everything; the writer's commits, Label and Retain
// run one at a time; Report reads one Pebble snapshot without blocking
// writes.
// Close once; later calls return ErrClosed and Record drops.
package labels
