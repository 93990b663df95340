// Package bench measures one model's prediction speed on this machine: the
// cost per row and the latency of a call, for each batch size and thread
// count asked for. It is the logic behind `predictd bench`; the peer
// comparisons (leaves, XGBoost) live beside it in BenchmarkPeers and in the
// repository's bench/ scripts.
//
// # What a measurement is
//
// For each (batch, threads) cell, Run sets runtime.GOMAXPROCS(threads) (the
// kernels share a large batch over that many cores through their persistent
// pool), warms up, then calls Predictor.Predict on consecutive windows of
// batch rows, cycling through the input rows, until Duration has passed. It
// reports the wall time per row (ns_per_row, rows_per_second: the loop's
// total time over the rows it predicted, clock reads included) and the
// median and 99th percentile of the per-call latency, from an HDR histogram
// of every call. GOMAXPROCS is restored after each cell.
//
// Input rows come from a file (ReadRows: CSV or Parquet through tools/score's
// readers) or are drawn to exercise the model (SyntheticRows: for a tree
// ensemble, values between and around its own split thresholds, with some
// missing; standard normal for other models).
//
// # Concurrency
//
// Run changes the process-wide GOMAXPROCS while it measures, so it must not
// run concurrently with another Run or with work whose speed matters. The
// other functions are pure and safe for concurrent use.
package bench
