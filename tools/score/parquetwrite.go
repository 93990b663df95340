package score

import (
	"fmt"
	"io"

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
	vals    []parquet.Value // backing store of rows
	rows    []parquet.Row
	inGroup int // rows written to the open row group
}

// NewParquetWriter returns a writer to w for rows of len(outputs) values.
func NewParquetWriter(w io.Writer, outputs []string) (*ParquetWriter, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("parquet writer: no output columns")
	}
	nodes := make([]parquet.Node, len(outputs))
	for i := range nodes {
		nodes[i] = parquet.Required(parquet.Leaf(parquet.DoubleType))
	}
	schema := parquetio.OrderedSchema("predictions", outputs, nodes)
	pw := parquet.NewWriter(w, schema, parquet.Compression(&parquet.Snappy))
	return &ParquetWriter{w: pw, outputs: len(outputs)}, nil
}

// Write writes values, row-major with len(outputs) values per row.
func (w *ParquetWriter) Write(values []float64) error {
	n := w.outputs
	if len(values)%n != 0 {
		return fmt.Errorf("parquet writer: %d values is not a whole number of rows of %d", len(values), n)
	}
	for len(values) > 0 {
		rows := min(len(values)/n, ParquetRowGroupRows-w.inGroup, 4096)
		w.vals = w.vals[:0]
		for i, v := range values[:rows*n] {
			w.vals = append(w.vals, parquet.DoubleValue(v).Level(0, 0, i%n))
		}
		w.rows = w.rows[:0]
		for i := range rows {
			w.rows = append(w.rows, w.vals[i*n:(i+1)*n:(i+1)*n])
		}
		if _, err := w.w.WriteRows(w.rows); err != nil {
			return err
		}
		values = values[rows*n:]
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
