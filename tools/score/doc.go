// Package score is the streaming batch-scoring engine behind `predictd score`:
// it reads feature rows from a CSV or Parquet file, predicts them with a
// model.Predictor on every core, and writes one output row per input row, in
// input order, as CSV or Parquet.
//
// # Pipeline
//
// Score runs three stages over a fixed set of 2·Workers chunks, each holding
// up to BatchRows rows:
//
//   - one reader goroutine fills a free chunk from the input and queues it;
//   - Workers goroutines each take a queued chunk, finish decoding it (a CSV
//     chunk arrives as text, its numbers are parsed here; a transformed
//     version's chunk arrives as raw rows, see OpenModelInput, and is
//     transformed here; both in parallel), call Predictor.Predict on it and
//     encode the predictions (CSV text, again in parallel);
//   - the calling goroutine writes chunks strictly in input order, waiting for
//     the oldest chunk if a later one finishes first, then returns the chunk to
//     the free list.
//
// Because the chunks are allocated once and recycled, memory is bounded by
// 2·Workers·BatchRows rows (inputs, outputs, their text or raw cells),
// whatever the length of the input. No queue can grow: a chunk is always in
// exactly one of the free list, the work queue or the write queue, each
// sized for all of them.
//
// # Errors
//
// Errors are reported in input order: if line 10 holds a bad number and line
// 5000 has the wrong number of fields, the error names line 10, whichever the
// goroutines happened to notice first. A message names the file, and for CSV
// the physical line (1-based, the header is line 1) and the column.
//
// ScoreFile never leaves a partial file: it writes to a temporary file in the
// output's folder and renames it over the output only on success.
//
// # Concurrency
//
// Score and ScoreFile may run concurrently with each other. A CSVReader,
// ParquetReader, CSVWriter or ParquetWriter belongs to one caller at a time;
// Score is that caller while it runs.
package score
