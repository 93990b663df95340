// Package predlog is the prediction log: each sampled prediction of a
// model version (id, time, the inputs after the feature join that the
// model's allowlist keeps, the outputs, the latency and the join fields)
// written off the request path into rotated, zstd-compressed Parquet
// segments that pandas, DuckDB and `predictd eval` read as they are.
// docs/prediction-log.md is the user's guide: layout, schema, options, the
// privacy step and the crash guarantee.
//
// Layout: Dir/<model>/<version>/<UTC date>/seg-<start>-<seq>.parquet,
// where start is the segment's first record's clock time in UTC
// (20060102T150405.000000Z) and seq a per-Log sequence number, so names
// sort in start order. Columns, in order: id (STRING), time
// (TIMESTAMP(MICROS, UTC)), model (STRING), version (INT32), the kept
// inputs (optional DOUBLE or STRING; null when missing), the outputs
// (DOUBLE, named as the model's outputs), latency_us (INT64), the join
// fields (optional STRING).
//
// Invariants:
//   - A request is never delayed: Model.Log is a non-blocking take of a
//     free slot from a bounded pool, a copy and a send; when no slot is
//     free the record is dropped and counted (Stats.Dropped). Warm, it
//     allocates nothing (TestLogDoesNotAllocate). Hashing, encoding,
//     compression and disk writes happen in the writer goroutine.
//   - Only inputs in the model's Policy.Fields are copied out of the
//     request; identifiers the Policy names are replaced by Hash before
//     they reach the disk.
//   - A segment is written under a temporary name (.seg-...parquet.tmp,
//     which pandas/pyarrow and a *.parquet glob skip), fsynced, renamed
//     into place and its directory fsynced: a reader never sees a partial
//     segment, and a crash loses only the records of segments not yet
//     completed (at most FlushEvery of them) plus the buffer. New removes
//     the temporary files a crash left.
//   - A disk error never panics and never blocks Log: it is counted
//     (Stats.Errors, Stats.Lost), reported through Options.Logf, the
//     segment is given up and the next record starts a new one.
//
// Concurrency: Model.Log, Model.ShouldLog and the Stats methods may be
// called from any goroutine; Log.Logger and Model.Retire too. Close once,
// after which Log drops. One writer goroutine per Log owns the open
// segments. One Log per Dir: New removes the temporary files under Dir,
// which would be another Log's open segments.
package predlog
