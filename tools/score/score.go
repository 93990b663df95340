package score

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// RowReader is a source of feature rows; CSVReader and ParquetReader are
// the two this package provides.
type RowReader interface {
	// Read stores up to len(dst)/NumFeatures rows in dst, row-major in the
	// model's feature order with NaN for a missing value, and returns how
	// many it stored. Like io.Reader, it may return rows together with an
	// error; err is io.EOF after the last row.
	Read(dst []float64) (int, error)
}

// RowWriter is a sink of predictions; CSVWriter and ParquetWriter are the
// two this package provides.
type RowWriter interface {
	// Write writes rows of values, row-major with one value per output.
	Write(values []float64) error
	// Close flushes what is buffered and writes any trailer; it does not
	// close the underlying io.Writer.
	Close() error
}

// ScoreFile scores the rows of the file at inPath with p and writes the
// predictions to outPath, one row per input row, in input order.
//
// The input format follows the name: ".csv" (see CSVReader) or ".parquet"
// (see ParquetReader); "-" reads CSV from standard input. The output
// follows its name too: ".parquet" (see ParquetWriter) or ".csv" (see
// CSVWriter); "" or "-" writes CSV to standard output. Any other name
// (out.json, out) is an error before the input is opened. The output's
// first columns are opts.Keep, copied from the input (see Options.Keep).
// ScoreFile reads a missing cell as NaN whatever p is: ScoreModelFile
// applies the server's rules, which depend on the version's kind.
//
// A file outPath is written to a temporary file in the same folder and
// renamed over outPath only when every row is written, so on error, or when
// ctx is canceled, nothing is left at outPath and a file already there is
// untouched. Standard output cannot be taken back: rows before an error may
// have been written there.
func ScoreFile(ctx context.Context, p model.Predictor, opts Options, inPath, outPath string) (Stats, error) {
	return scoreFile(ctx, p, opts, inPath, outPath, func() (RowReader, func(), error) {
		return OpenInput(inPath, opts.Features)
	})
}

// ScoreModelFile is ScoreFile for the loaded version l, its rows read by
// OpenModelInput: a version with feature transforms scores a file of its
// raw inputs (l.Manifest.Features), any other version is ScoreFile with
// l.Model. opts.Features are the columns l.Model takes,
// l.Manifest.Columns(): nil means those, any other list is an error.
func ScoreModelFile(ctx context.Context, l *model.Loaded, opts Options, inPath, outPath string) (Stats, error) {
	cols := l.Manifest.Columns()
	if opts.Features == nil {
		opts.Features = cols
	} else if !slices.Equal(opts.Features, cols) {
		return Stats{}, fmt.Errorf("score options: Features lists %d features (%s), model %s v%d takes its %d columns (%s): leave Features nil", len(opts.Features), quoteList(featureNames(opts.Features)), l.Manifest.Name, l.Manifest.Version, len(cols), quoteList(featureNames(cols)))
	}
	return scoreFile(ctx, l.Model, opts, inPath, outPath, func() (RowReader, func(), error) {
		return OpenModelInput(inPath, l)
	})
}

func scoreFile(ctx context.Context, p model.Predictor, opts Options, inPath, outPath string, open func() (RowReader, func(), error)) (Stats, error) {
	start := time.Now()
	if err := opts.check(p); err != nil {
		return Stats{}, err
	}
	if outPath != "" && outPath != "-" && !hasExt(outPath, ".csv") && !hasExt(outPath, ".parquet") {
		return Stats{}, fmt.Errorf("output %s: unknown format %q: want a .csv or .parquet file, or - for CSV on standard output", outPath, filepath.Ext(outPath))
	}
	if err := checkKeep(opts.Keep, opts.Outputs); err != nil {
		return Stats{}, err
	}
	var keep *keepReader
	if len(opts.Keep) > 0 {
		var err error
		if keep, err = openKeep(inPath, opts.Keep); err != nil {
			return Stats{}, err
		}
		defer keep.Close()
	}
	in, closeIn, err := open()
	if err != nil {
		return Stats{}, err
	}
	defer closeIn()
	var st Stats
	if outPath == "" || outPath == "-" {
		var w *CSVWriter
		if w, err = newCSVWriter(os.Stdout, opts.Keep, opts.Outputs); err == nil {
			st, err = score(ctx, p, opts, in, w, keep)
		}
	} else {
		err = writeAtomic(outPath, func(f *os.File) error {
			w, err := newFileWriter(outPath, f, opts.Keep, opts.Outputs)
			if err != nil {
				return err
			}
			st, err = score(ctx, p, opts, in, w, keep)
			return err
		})
	}
	st.Elapsed = time.Since(start)
	return st, err
}

func hasExt(path, ext string) bool {
	return strings.EqualFold(filepath.Ext(path), ext)
}

// OpenInput opens inPath as a RowReader of features, by its extension: a
// CSVReader for .csv (or "-", standard input), a ParquetReader for
// .parquet. Call the returned function to close it. features are the
// columns read, matched by name: a version's raw Features, which for a
// version without feature transforms are the columns its model takes.
// Tools that score a loaded version (score, eval, profile, drift,
// candidates, bench) read its rows through OpenModelInput, which calls
// this for such a version.
func OpenInput(inPath string, features []model.Feature) (RowReader, func(), error) {
	if inPath == "-" {
		r, err := NewCSVReader(os.Stdin, "stdin", features)
		return r, func() {}, err
	}
	csv, parquet := hasExt(inPath, ".csv"), hasExt(inPath, ".parquet")
	if !csv && !parquet {
		return nil, nil, fmt.Errorf("input %s: unknown format: want a .csv or .parquet file", inPath)
	}
	f, err := os.Open(inPath)
	if err != nil {
		return nil, nil, err
	}
	if csv {
		r, err := NewCSVReader(f, inPath, features)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return r, func() { f.Close() }, nil
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	r, err := NewParquetReader(f, fi.Size(), inPath, features)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, func() { r.Close(); f.Close() }, nil
}

func newFileWriter(outPath string, f io.Writer, keep, outputs []string) (RowWriter, error) {
	if hasExt(outPath, ".parquet") {
		return newParquetWriter(f, keep, outputs)
	}
	return newCSVWriter(f, keep, outputs)
}

// writeAtomic calls write with a temporary file next to path and renames it
// to path if write succeeds; otherwise it removes the temporary file.
func writeAtomic(path string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("create output: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	// CreateTemp makes the file private (0600); give it the mode of the file
	// it replaces, or the usual 0644.
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm()
	}
	if err = f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Score reads every row from r, predicts it with p on opts.Workers
// goroutines and writes the predictions to w in input order. It closes w
// when it returns, after an error too, so the rows written are flushed.
// opts.Features must list the columns r yields, the predictor's
// (Manifest.Columns()). It stops at the
// first error in input order, or when ctx is canceled, and returns
// context.Cause of ctx then. Stats.Rows counts the rows written.
func Score(ctx context.Context, p model.Predictor, opts Options, r RowReader, w RowWriter) (Stats, error) {
	if len(opts.Keep) > 0 {
		w.Close()
		return Stats{}, fmt.Errorf("score options: Keep (%s) needs the input file: use ScoreFile or ScoreModelFile", quoteList(opts.Keep))
	}
	return score(ctx, p, opts, r, w, nil)
}

// score is Score, with the kept columns (Options.Keep) read by keep when
// it is not nil; w is then a writer newFileWriter made for them.
func score(ctx context.Context, p model.Predictor, opts Options, r RowReader, w RowWriter, keep *keepReader) (Stats, error) {
	start := time.Now()
	if err := opts.check(p); err != nil {
		w.Close()
		return Stats{}, err
	}
	if fr, ok := r.(interface{ numFeatures() int }); ok && fr.numFeatures() != len(opts.Features) {
		w.Close()
		return Stats{}, fmt.Errorf("score: the reader was opened for %d features, Options.Features lists %d", fr.numFeatures(), len(opts.Features))
	}
	s := &scorer{p: p, opts: opts, r: r, w: w, keep: keep}
	s.csvIn, _ = r.(*CSVReader)
	if t, ok := r.(*transformReader); ok && !t.buffered() {
		s.tabIn = t
	}
	s.csvOut, _ = w.(*CSVWriter)
	s.pqOut, _ = w.(*ParquetWriter)
	if keep != nil && s.csvOut == nil && s.pqOut == nil {
		panic(fmt.Sprintf("BUG: score: kept columns with a %T", w))
	}
	rows, err := s.run(ctx)
	// Close on error too, so that what was written ends on a whole row.
	if cerr := w.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("write output: %w", cerr)
	}
	return Stats{Rows: rows, Elapsed: time.Since(start)}, err
}

// chunk is up to BatchRows rows on their way through the pipeline. It is
// owned by one stage at a time: the free list, the reader, a worker, or the
// writer; the channel hand-offs order the accesses.
type chunk struct {
	rows int
	in   []float64 // rows·NumFeatures
	out  []float64 // rows·len(Outputs)
	text textBatch // CSV input: the cells, parsed by the worker
	csv  []byte    // CSV output: the lines, encoded by the worker
	// A transformed version's input: the raw rows, transformed by the
	// worker with raw as its scratch.
	tab table.Chunk
	raw transform.Row
	// The kept input cells (Options.Keep) of the rows, read by the reader.
	keep keepBatch
	// readErr is the error that stopped reading after this chunk's rows.
	readErr error
	// err is the first error of this chunk in input order, set by the
	// worker; the writer reports it.
	err  error
	done chan struct{} // the worker is finished with the chunk
}

type scorer struct {
	p    model.Predictor
	opts Options
	r    RowReader
	w    RowWriter
	// Set when the ends can split and parse, or encode and write, in
	// separate steps, so that the parsing and encoding run on the workers.
	csvIn  *CSVReader
	csvOut *CSVWriter
	pqOut  *ParquetWriter
	// keep reads the kept input columns, on the reader goroutine; nil
	// when Options.Keep is empty.
	keep *keepReader
	// Set when the input is a transformed version's raw rows, so that the
	// transforms run on the workers.
	tabIn *transformReader

	free, work, order chan *chunk
	complete          bool // the reader reached the end of the input
}

func (s *scorer) run(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// Every channel can hold every chunk, so sends never block and the
	// reader only waits for a free chunk: that wait is the back-pressure
	// that bounds memory.
	n := 2 * s.opts.Workers
	s.free = make(chan *chunk, n)
	s.work = make(chan *chunk, n)
	s.order = make(chan *chunk, n)
	for range n {
		s.free <- &chunk{done: make(chan struct{}, 1)}
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.read(ctx) })
	for range s.opts.Workers {
		wg.Go(func() { s.predict(ctx) })
	}
	rows, err := s.write(ctx)
	if err != nil {
		cancel(err)
	}
	wg.Wait()
	return rows, err
}

// read fills chunks from the input and queues them, in order, to the
// workers and the writer.
func (s *scorer) read(ctx context.Context) {
	defer close(s.order)
	defer close(s.work)
	nf := len(s.opts.Features)
	for ctx.Err() == nil {
		var c *chunk
		select {
		case c = <-s.free:
		case <-ctx.Done():
			return
		}
		var err error
		switch {
		case s.csvIn != nil:
			s.csvIn.readBatch(&c.text, s.opts.BatchRows)
			c.rows, err = c.text.rows, c.text.err
		case s.tabIn != nil:
			c.rows, err = s.tabIn.readChunk(&c.tab, s.opts.BatchRows)
		default:
			if c.in == nil {
				c.in = make([]float64, s.opts.BatchRows*nf)
			}
			c.rows, err = s.r.Read(c.in)
		}
		end := err != nil
		if err == io.EOF {
			err = nil
		}
		if s.keep != nil && c.rows > 0 {
			if kerr := s.keep.read(&c.keep, c.rows); kerr != nil {
				// The chunk's rows fail with it, so it comes first.
				err, end = kerr, true
			}
		}
		c.readErr, c.err = err, nil
		if c.rows == 0 && err == nil {
			s.free <- c
		} else {
			s.order <- c
			s.work <- c
		}
		if end {
			s.complete = err == nil
			return
		}
	}
}

// predict turns queued chunks' inputs into outputs.
func (s *scorer) predict(ctx context.Context) {
	for c := range s.work {
		if ctx.Err() != nil {
			c.err = context.Cause(ctx)
		} else {
			c.err = s.predictChunk(c)
		}
		c.done <- struct{}{}
	}
}

func (s *scorer) predictChunk(c *chunk) error {
	nf, no := len(s.opts.Features), len(s.opts.Outputs)
	if s.csvIn != nil {
		if c.in == nil {
			c.in = make([]float64, s.opts.BatchRows*nf)
		}
		if _, err := s.csvIn.decode(c.in, &c.text); err != nil {
			return err
		}
	}
	if s.tabIn != nil && c.rows > 0 {
		if c.in == nil {
			c.in = make([]float64, s.opts.BatchRows*nf)
		}
		if err := s.tabIn.decode(c.in[:c.rows*nf], &c.tab, &c.raw); err != nil {
			return err
		}
	}
	if c.readErr != nil {
		return c.readErr
	}
	c.out = s.p.Predict(c.out[:0], c.in[:c.rows*nf], s.opts.Raw)
	if len(c.out) != c.rows*no {
		return fmt.Errorf("model gave %d values for %d rows, want %d per row", len(c.out), c.rows, no)
	}
	if s.csvOut != nil {
		c.csv = s.csvOut.encode(c.csv[:0], c.out, c.keep.cells)
	}
	return nil
}

// write writes chunks in input order, waiting for each in turn, and returns
// the number of rows written.
func (s *scorer) write(ctx context.Context) (int64, error) {
	var rows int64
	for c := range s.order {
		select {
		case <-c.done:
		case <-ctx.Done():
			return rows, context.Cause(ctx)
		}
		if c.err != nil {
			return rows, c.err
		}
		var err error
		switch {
		case s.csvOut != nil:
			err = s.csvOut.writeEncoded(c.csv)
		case s.pqOut != nil:
			err = s.pqOut.write(c.out, c.keep.cells)
		default:
			err = s.w.Write(c.out)
		}
		if err != nil {
			return rows, fmt.Errorf("write output: %w", err)
		}
		rows += int64(c.rows)
		s.free <- c
	}
	// The reader closed order; complete was set before that. If it stopped
	// early without queuing an error, it saw ctx canceled.
	if !s.complete {
		err := context.Cause(ctx)
		if err == nil {
			panic("BUG: score reader stopped early without an error")
		}
		return rows, err
	}
	return rows, nil
}
