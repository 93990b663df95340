package score

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model/transform"
)

var benchSink int64

// linearInput returns n CSV rows of id, x, y, z with realistic numbers.
func linearInput(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,x,y,z\n")
	var line []byte
	for i := range n {
		line = strconv.AppendInt(line[:0], int64(i), 10)
		line = append(line, ',')
		line = strconv.AppendFloat(line, float64(i%1000)*0.37, 'g', -1, 64)
		line = append(line, ',')
		line = strconv.AppendFloat(line, float64(i%17-8)/3, 'g', -1, 64)
		line = append(line, ',')
		line = strconv.AppendFloat(line, float64(i%101)*1e-3, 'g', -1, 64)
		line = append(line, '\n')
		b.Write(line)
	}
	return b.Bytes()
}

// BenchmarkScoreCSV scores CSV held in memory to io.Discard with a linear
// model, so the reading, parsing and formatting dominate.
func BenchmarkScoreCSV(b *testing.B) {
	const rows = 100_000
	data := linearInput(rows)
	p := linearModel(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("rows=%d/workers=%d", rows, workers), func(b *testing.B) {
			opts := linearOptions()
			opts.Workers = workers
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r, err := NewCSVReader(bytes.NewReader(data), "bench.csv", opts.Features)
				if err != nil {
					b.Fatal(err)
				}
				w, _ := NewCSVWriter(io.Discard, opts.Outputs)
				st, err := Score(context.Background(), p, opts, r, w)
				if err != nil {
					b.Fatal(err)
				}
				benchSink += st.Rows
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkScoreParquet scores a Parquet file to Parquet.
func BenchmarkScoreParquet(b *testing.B) {
	const rows = 100_000
	inPath, _ := writeParquetInput(b, rows)
	p := linearModel(b)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("rows=%d/workers=%d", rows, workers), func(b *testing.B) {
			opts := linearOptions()
			opts.Workers = workers
			outPath := filepath.Join(b.TempDir(), "out.parquet")
			b.ReportAllocs()
			for b.Loop() {
				st, err := ScoreFile(context.Background(), p, opts, inPath, outPath)
				if err != nil {
					b.Fatal(err)
				}
				benchSink += st.Rows
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCSVReader compares CSVReader's fast path for lines without quotes
// with encoding/csv doing all the splitting (forceCSV), on one goroutine,
// parsing included. The split alone is the serial stage of Score: the
// parsing runs on the workers.
//
// Measured on a shared 2-core amd64 VM (go1.26, 100k rows of 4 columns,
// -count 5, medians); ScoreCSV is there for scale:
//
//	BenchmarkCSVSplit/path=fast                 7.7M rows/s      15 allocs/op
//	BenchmarkCSVSplit/path=encoding-csv         2.5M rows/s  100029 allocs/op
//	BenchmarkCSVReader/path=fast                2.2M rows/s      58 allocs/op
//	BenchmarkCSVReader/path=encoding-csv        1.6M rows/s  100071 allocs/op
//	BenchmarkScoreCSV/rows=100000/workers=1     1.7M rows/s     165 allocs/op
//	BenchmarkScoreCSV/rows=100000/workers=2     3.1M rows/s     300 allocs/op
//
// The split is the part that cannot run in parallel, and the fast path does
// it 3.1 times faster with no allocation per row.
func BenchmarkCSVReader(b *testing.B) {
	const rows = 100_000
	data := linearInput(rows)
	for _, path := range []string{"fast", "encoding-csv"} {
		b.Run("path="+path, func(b *testing.B) {
			dst := make([]float64, 3*DefaultBatchRows)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r, err := newCSVReader(bytes.NewReader(data), "bench.csv", feats("x", "y", "z"), path == "encoding-csv")
				if err != nil {
					b.Fatal(err)
				}
				for {
					n, err := r.Read(dst)
					benchSink += int64(n)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkCSVSplit measures the reader's serial stage alone: splitting
// records into a batch without parsing the numbers.
func BenchmarkCSVSplit(b *testing.B) {
	const rows = 100_000
	data := linearInput(rows)
	for _, path := range []string{"fast", "encoding-csv"} {
		b.Run("path="+path, func(b *testing.B) {
			var batch textBatch
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				r, err := newCSVReader(bytes.NewReader(data), "bench.csv", feats("x", "y", "z"), path == "encoding-csv")
				if err != nil {
					b.Fatal(err)
				}
				for batch.err == nil {
					r.readBatch(&batch, DefaultBatchRows)
					benchSink += int64(batch.rows)
				}
				batch.err = nil
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestBenchInputsScore keeps the benchmarks' inputs honest.
func TestBenchInputsScore(t *testing.T) {
	data := linearInput(100)
	path := filepath.Join(t.TempDir(), "in.csv")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	st, err := ScoreFile(context.Background(), linearModel(t), linearOptions(), path, filepath.Join(t.TempDir(), "out.csv"))
	require.NoError(t, err)
	require.EqualValues(t, 100, st.Rows)
}

// BenchmarkScoreTransformed scores a transformed version's raw inputs (the
// test's linear version: amount, age, country, device into 10 columns)
// from a file to io.Discard as CSV, with the transforms on Score's workers
// (transform=workers, what OpenModelInput's reader gets) or, its type
// hidden, inside Read on the reader goroutine (transform=reader).
func BenchmarkScoreTransformed(b *testing.B) {
	const rows = 100_000
	l := transformedLinear(b)
	raw := rawRows(rows, false)
	dir := b.TempDir()
	inputs := map[string]string{"csv": writeRawCSV(b, dir, raw), "parquet": writeRawParquet(b, dir, raw)}
	for _, format := range []string{"csv", "parquet"} {
		for _, where := range []string{"workers", "reader"} {
			for _, workers := range []int{1, 2} {
				b.Run(fmt.Sprintf("format=%s/transform=%s/workers=%d", format, where, workers), func(b *testing.B) {
					opts := transformOptions(l)
					opts.Workers, opts.BatchRows = workers, DefaultBatchRows
					b.ReportAllocs()
					for b.Loop() {
						r, closeIn, err := OpenModelInput(inputs[format], l)
						if err != nil {
							b.Fatal(err)
						}
						var rr RowReader = r
						if where == "reader" {
							rr = hideType{r}
						}
						w, _ := NewCSVWriter(io.Discard, opts.Outputs)
						st, err := Score(context.Background(), l.Model, opts, rr, w)
						closeIn()
						if err != nil {
							b.Fatal(err)
						}
						benchSink += st.Rows
					}
					b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		}
	}
}

// BenchmarkTransformReaderParts splits OpenModelInput's work on one
// goroutine: part=table reads the raw file's chunks (internal/table, the
// serial stage), part=transform turns chunks already read into model
// columns (ChunkRow + model.TransformRow, what the workers do).
func BenchmarkTransformReaderParts(b *testing.B) {
	const rows = 100_000
	l := transformedLinear(b)
	raw := rawRows(rows, false)
	dir := b.TempDir()
	inputs := map[string]string{"csv": writeRawCSV(b, dir, raw), "parquet": writeRawParquet(b, dir, raw)}
	for _, format := range []string{"csv", "parquet"} {
		b.Run(fmt.Sprintf("format=%s/part=table", format), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := newTransformReader(inputs[format], l.Transform, false, l.Transform.Width())
				if err != nil {
					b.Fatal(err)
				}
				var c table.Chunk
				for {
					n, err := r.readChunk(&c, DefaultBatchRows)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					benchSink += int64(n)
				}
				r.Close()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
		b.Run(fmt.Sprintf("format=%s/part=transform", format), func(b *testing.B) {
			r, err := newTransformReader(inputs[format], l.Transform, false, l.Transform.Width())
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			var c table.Chunk
			n, err := r.readChunk(&c, DefaultBatchRows)
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]float64, n*r.width)
			var scratch transform.Row
			b.ReportAllocs()
			for b.Loop() {
				if err := r.decode(dst, &c, &scratch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
