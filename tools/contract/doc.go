// Package contract infers data contracts (model/contract) from CSV and
// Parquet files and validates files against them, the offline half of
// predictd's contracts; the daemon enforces the per-value half
// (contract.Checker) on requests.
//
// Infer reads a file once, in chunks of Options.ChunkRows rows through
// internal/table, keeping per column a few counters, at most
// Options.MaxTracked distinct values with their counts, and a uniform
// reservoir sample of at most Options.SampleSize numbers: memory is bounded
// by the number of columns times those, whatever the file's length.
// Validate reads the file (and a baseline file, with Against) the same way
// and reports anomalies in TensorFlow Data Validation's manner, each naming
// the column, the kind, what was expected, what was found, how many values
// and example rows.
//
// Functions are safe for concurrent use on different files.
package contract
