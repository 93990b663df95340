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
// # One row path with the server
//
// A row predicts offline only if `predictd serve` would predict it online,
// to the same bits: ScoreModelFile and OpenModelInput hold a version's
// values to the server's rules (wire.NewSchema and its decoders). A
// version with feature transforms turns each raw row into model columns
// with model.TransformRow, the function serving calls. For one without,
// a missing value (a blank, NA, NaN, nan, N/A or null cell; a Parquet null
// or NaN) is NaN for a tree ensemble and an error naming the file, row and
// column for a dense model (linear, mlp), as the server answers null there
// with 400; an infinite value is an error, and a categorical feature takes
// integers only. TestRowRulesMatchServer feeds the same rows to this
// package's reader and to wire's decoder and holds them to the same values
// or the same refusal. (ScoreFile, given a bare model.Predictor, has no
// kind to go by and reads a missing cell as NaN.)
//
// The two differ on purpose in one thing: columns the model does not use.
// The server refuses a request field it does not know, because there a
// typo ("agee") would otherwise silently drop a feature from every
// request. A file routinely carries ids, labels and other columns beside
// the features, so this package ignores the columns it does not need; a
// feature the file lacks is still an error naming every one of them.
// Options.Keep copies chosen input columns (ids) to the output, ahead of
// the predictions.
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
