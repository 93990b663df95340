package score

import (
	"fmt"
	"io"
	"strings"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// OpenModelInput opens inPath as a RowReader of the columns the loaded
// version l's payload takes (l.Manifest.Columns()), row-major in their
// order. Call the returned function to close it.
//
// For a version without feature transforms it is OpenInput(inPath,
// l.Manifest.Features) under the server's rules for a value
// (wire.NewSchema and its decoders), so that a row the server would refuse
// is refused here too: a tree ensemble reads a missing cell as NaN, a
// dense model (linear, mlp) takes none, so a missing cell (CSV: blank, NA,
// NaN, nan, N/A, null; Parquet: null or NaN) is an error wrapping
// model.ErrMissingValue; an infinite value (inf, or a number too large for
// float64) is an error; a categorical feature's value must be an integer.
// The error names the file, the row and the column:
//
//	in.csv:7: column "age": missing value; model kind linear takes no missing values (the server refuses null here too)
//	in.parquet row 6: column "age": missing value; ...
//	in.csv:9: column "plan": 2.5 is not a category: a categorical feature takes integer values (the server refuses it too)
//
// Columns the model does not use are ignored, where the server refuses an
// unknown field (see the package doc).
// For a version with them (l.Transform) the file
// holds the raw inputs, l.Manifest.Features, matched by name (other columns
// are ignored): a .csv or .parquet file read with internal/table (a blank
// CSV cell, NA, NaN, null or N/A, a Parquet null or NaN is missing; a
// category is the cell's text as it is), each row turned into model columns
// by model.TransformRow, the function serving calls on a request's row, so
// a file row and a request row with the same values predict the same bits.
// Standard input ("-") is refused for such a version: internal/table reads
// files only. Inputs the file lacks are an error naming all of them; an
// error in a row names the file, the row (CSV: the physical line, the
// header being line 1; Parquet: "row N", data rows counted from 0) and the
// column:
//
//	in.csv:7: column amount: missing value; the model takes none (...)
//	in.csv:3: column country: unknown category "FR" (...)
//
// Rows come before an error as RowReader says, except that the good rows
// read with a malformed record (up to a chunk, 1024 rows, before it) may
// be left out: internal/table drops them. The error is the first in input
// order all the same.
//
// The file is read in chunks: memory is bounded by the chunk, not the file.
// When Score reads it, the transforms run on Score's workers, in parallel.
func OpenModelInput(inPath string, l *model.Loaded) (RowReader, func(), error) {
	m := l.Manifest
	if l.Transform == nil {
		if m.Transform != nil {
			return nil, nil, fmt.Errorf("model %s v%d: the manifest lists feature transforms (%s) but none are loaded: open the version with model.Open", m.Name, m.Version, m.Transform.File)
		}
		r, closeIn, err := OpenInput(inPath, m.Features)
		if err == nil {
			applyRules(r, m)
		}
		return r, closeIn, err
	}
	if inPath == "-" {
		return nil, nil, fmt.Errorf("input -: model %s v%d transforms its raw inputs, which are read from a .csv or .parquet file, not standard input: save the rows to a file and pass its path", m.Name, m.Version)
	}
	r, err := newTransformReader(inPath, l.Transform, m.Kind == model.KindTrees, len(m.Columns()))
	if err != nil {
		return nil, nil, err
	}
	return r, func() { r.Close() }, nil
}

// transformReader reads a raw-input file with internal/table and turns its
// rows into model columns with model.TransformRow. Read does both on the
// caller's goroutine; Score instead reads table chunks on its reader
// goroutine (readChunk) and transforms them on its workers (decode), which
// only read the reader's immutable fields.
//
// Why on the workers: reading the file is the serial stage, and the
// transform costs as much per row as the read. BenchmarkTransformReaderParts
// on a shared 2-core amd64 VM (load average 3.5-5; the test's 4 raw inputs
// into 10 columns, 100k rows, -count 5, medians): reading CSV chunks 4.6M
// rows/s, transforming them 4.4M rows/s; Parquet 2.1M and 4.9M. With the
// transform in Read the serial stage caps a CSV run at about 2.2M rows/s
// however many cores; on the workers, at the read's 4.6M. On this machine
// the whole run (BenchmarkScoreTransformed, 2 workers, -count 5 and 6) is
// bound by its two busy cores either way and the two paths differ by less
// than the noise: CSV 1.9-2.1M rows/s on the workers against 2.2-2.3M on
// the reader goroutine, Parquet 1.6-1.8M against 1.5-1.6M.
type transformReader struct {
	t            *table.Reader
	p            *transform.Pipeline
	takesMissing bool
	idx          []int // input i is column idx[i] of the file
	width        int   // model columns per row
	rows         int64 // rows readChunk has returned

	// Read's state.
	c   table.Chunk
	pos int // next row of c
	raw transform.Row
	err error // sticky
}

// transformChunkRows is how many raw rows Read asks internal/table for at a
// time.
const transformChunkRows = DefaultBatchRows

var transformTableOptions = table.Options{MaxRecordBytes: maxRecordBytes}

func newTransformReader(path string, p *transform.Pipeline, takesMissing bool, width int) (*transformReader, error) {
	if width != p.Width() {
		return nil, fmt.Errorf("BUG: score: the manifest lists %d model columns, the transform writes %d", width, p.Width())
	}
	t, err := table.Open(path, transformTableOptions)
	if err != nil {
		return nil, err
	}
	r := &transformReader{t: t, p: p, takesMissing: takesMissing, width: width, idx: make([]int, len(p.Inputs()))}
	var missing []string
	for i, name := range p.Inputs() {
		if r.idx[i] = t.Index(name); r.idx[i] < 0 {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Close()
		return nil, missingColumns(path, missing)
	}
	return r, nil
}

func (r *transformReader) numFeatures() int { return r.width }

// Close releases the file.
func (r *transformReader) Close() error { return r.t.Close() }

// Read stores up to len(dst)/width rows of model columns in dst; see
// RowReader. An error is sticky.
func (r *transformReader) Read(dst []float64) (int, error) {
	w, n := r.width, 0
	for (n+1)*w <= len(dst) {
		if r.pos == r.c.Len() {
			if r.err == nil {
				// On error Next leaves c empty, so pos 0 is its end too.
				_, r.err = r.readChunk(&r.c, transformChunkRows)
				r.pos = 0
			}
			if r.err != nil {
				return n, r.err
			}
		}
		if err := r.row(dst[n*w:n*w:(n+1)*w], &r.c, r.pos, &r.raw); err != nil {
			r.err, r.pos = err, r.c.Len()
			return n, err
		}
		r.pos++
		n++
	}
	return n, nil
}

// buffered reports whether Read holds rows it has not returned yet.
func (r *transformReader) buffered() bool { return r.pos < r.c.Len() }

// readChunk fills c with the next raw rows, at most maxRows, as
// table.Reader.Next does, except that when Next fails the error is the
// first in input order (see firstError).
func (r *transformReader) readChunk(c *table.Chunk, maxRows int) (int, error) {
	n, err := r.t.Next(c, maxRows)
	if err != nil && err != io.EOF {
		return 0, r.firstError(err)
	}
	r.rows += int64(n)
	return n, err
}

// firstError is the error of the first bad row after the r.rows rows
// readChunk returned, given the error readErr that ended the read (a
// malformed record, say). Next drops every row of a call that fails, so a
// row before the malformed record in that call, with a value the
// transforms refuse, would otherwise be reported after it. firstError
// reads the file again: the rows before in chunks, without transforming
// them, then one row at a time until a row's transform fails (that error)
// or the read does (readErr). It costs a second read of the file up to the
// error, once, on a run that fails; a table.Reader.Next that returned the
// rows before a failed record would make it unnecessary.
func (r *transformReader) firstError(readErr error) error {
	t, err := table.Open(r.t.Path(), transformTableOptions)
	if err != nil {
		return readErr
	}
	defer t.Close()
	var c table.Chunk
	for skip := r.rows; skip > 0; {
		n, err := t.Next(&c, int(min(skip, transformChunkRows)))
		if err != nil {
			return readErr
		}
		skip -= int64(n)
	}
	dst := make([]float64, 0, r.width)
	var raw transform.Row
	for {
		if _, err := t.Next(&c, 1); err != nil {
			return readErr
		}
		if err := r.row(dst, &c, 0, &raw); err != nil {
			return err
		}
	}
}

// decode transforms the rows of c into dst (c.Len()·width values); raw is
// the caller's scratch. It stops at the first bad row.
func (r *transformReader) decode(dst []float64, c *table.Chunk, raw *transform.Row) error {
	w := r.width
	for j := range c.Len() {
		if err := r.row(dst[j*w:j*w:(j+1)*w], c, j, raw); err != nil {
			return err
		}
	}
	return nil
}

// row transforms row j of c into dst (length 0, capacity width).
func (r *transformReader) row(dst []float64, c *table.Chunk, j int, raw *transform.Row) error {
	var err error
	// ChunkRow's errors name the row and column already.
	if *raw, err = r.p.ChunkRow(*raw, c, j, r.idx); err != nil {
		return err
	}
	if _, err = model.TransformRow(dst, r.p, r.takesMissing, *raw); err != nil {
		return &rowError{where: c.Where(j), err: err}
	}
	return nil
}

// rowError names the row of a transform's error ("in.csv:7: column
// amount: ...").
type rowError struct {
	where string
	err   error
}

func (e *rowError) Error() string {
	return e.where + ": " + strings.TrimPrefix(e.err.Error(), "transform: ")
}

func (e *rowError) Unwrap() error { return e.err }
