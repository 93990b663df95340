package score

import (
	"fmt"
	"io"
	"slices"

	"github.com/parquet-go/parquet-go"

	"github.com/predictd/predictd/internal/parquetio"
)

// ParquetRowGroupRows is the number of rows per row group a ParquetWriter
// writes. parquet-go holds a row group's pages in memory until it ends, so
// this bounds the writer's memory: about 8 bytes per row per output.
const ParquetRowGroupRows = 1 << 18

// ParquetWriter writes predictions as a Parquet file with one required
// DOUBLE column per output, in the order of the output names, Snappy
// compressed, in row groups of ParquetRowGroupRows rows.
//
// A ParquetWriter is not safe for concurrent use.
type ParquetWriter struct {
	w       *parquet.Writer
	outputs int
	keep    int             // kept input columns written first (Options.Keep)
	vals    []parquet.Value // backing store of rows
	rows    []parquet.Row
	inGroup int // rows written to the open row group
}

// NewParquetWriter returns a writer to w for rows of len(outputs) values.
func NewParquetWriter(w io.Writer, outputs []string) (*ParquetWriter, error) {
	return newParquetWriter(w, nil, outputs)
}

// newParquetWriter is NewParquetWriter with the kept input columns keep
// written first, each a required STRING column (see Options.Keep).
func newParquetWriter(w io.Writer, keep, outputs []string) (*ParquetWriter, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("parquet writer: no output columns")
	}
	nodes := make([]parquet.Node, 0, len(keep)+len(outputs))
	for range keep {
		nodes = append(nodes, parquet.Required(parquet.String()))
	}
	for range outputs {
		nodes = append(nodes, parquet.Required(parquet.Leaf(parquet.DoubleType)))
	}
	schema := parquetio.OrderedSchema("predictions", append(slices.Clip(keep), outputs...), nodes)
	pw := parquet.NewWriter(w, schema, parquet.Compression(&parquet.Snappy))
	return &ParquetWriter{w: pw, outputs: len(outputs), keep: len(keep)}, nil
}

// Write writes values, row-major with len(outputs) values per row.
func (w *ParquetWriter) Write(values []float64) error {
	if w.keep > 0 {
		return fmt.Errorf("parquet writer: opened with kept columns; Score writes their cells")
	}
	return w.write(values, nil)
}

// write writes values, each row led by its kept cells (keep, w.keep a
// row).
func (w *ParquetWriter) write(values []float64, keep []string) error {
	n, nk := w.outputs, w.keep
	if len(values)%n != 0 {
		return fmt.Errorf("parquet writer: %d values is not a whole number of rows of %d", len(values), n)
	}
	for len(values) > 0 {
		rows := min(len(values)/n, ParquetRowGroupRows-w.inGroup, 4096)
		w.vals = w.vals[:0]
		for r := range rows {
			for j, cell := range keep[r*nk : (r+1)*nk] {
				w.vals = append(w.vals, parquet.ByteArrayValue([]byte(cell)).Level(0, 0, j))
			}
			for j, v := range values[r*n : (r+1)*n] {
				w.vals = append(w.vals, parquet.DoubleValue(v).Level(0, 0, nk+j))
			}
		}
		w.rows = w.rows[:0]
		m := nk + n
		for i := range rows {
			w.rows = append(w.rows, w.vals[i*m:(i+1)*m:(i+1)*m])
		}
		if _, err := w.w.WriteRows(w.rows); err != nil {
			return err
		}
		values = values[rows*n:]
		keep = keep[rows*nk:]
		if w.inGroup += rows; w.inGroup == ParquetRowGroupRows {
			if err := w.w.Flush(); err != nil {
				return err
			}
			w.inGroup = 0
		}
	}
	return nil
}

// Close writes the last row group and the footer. It does not close the
// underlying io.Writer.
func (w *ParquetWriter) Close() error {
	return w.w.Close()
}
