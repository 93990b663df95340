// Package table is predictd's one reader of arbitrary tabular files, CSV
// and Parquet, for the offline tools (tools/contract, tools/dataset,
// tools/eval): it hands out a file's rows in chunks of a bounded number of
// rows, with every column, so a file of any length is read in memory
// bounded by the chunk size and the widest record, not the file.
//
// Both formats give the same chunks for the same data: a CSV cell is text
// that the Chunk accessors parse (Null, Float, Time), a Parquet value is
// decoded by its type and the same accessors answer the same way. Missing
// values are the same set everywhere: Missing says which CSV cells they
// are (materialize reads feature cells with it too), and a Parquet null or
// floating-point NaN is missing.
//
// Errors name the file and the place: CSV "path:LINE" (physical line,
// the header is line 1), Parquet "path row N" (data rows counted from 0),
// and the column.
//
// A Reader and the Chunks it fills are used by one goroutine at a time;
// separate Readers are independent.
package table
