package score

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// CSVWriter writes predictions as CSV: a header line naming the outputs, then
// one line per row with each value formatted by strconv.AppendFloat(v, 'g',
// -1, 64), the shortest text that reads back as the same float64 (NaN, +Inf
// and -Inf as such). Lines end in "\n".
//
// A CSVWriter is not safe for concurrent use.
type CSVWriter struct {
	w       *bufio.Writer
	outputs int
	buf     []byte
}

// NewCSVWriter returns a writer to w for rows of len(outputs) values and
// buffers the header line, so an input without rows gives a header-only file.
func NewCSVWriter(w io.Writer, outputs []string) (*CSVWriter, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("csv writer: no output columns")
	}
	cw := &CSVWriter{w: bufio.NewWriterSize(w, 64<<10), outputs: len(outputs)}
	// encoding/csv quotes a name that holds a comma, quote or newline.
	h := csv.NewWriter(cw.w)
	if err := h.Write(outputs); err != nil {
		return nil, err
	}
	h.Flush()
	return cw, h.Error()
}

// Write writes values, row-major with len(outputs) values per row.
func (w *CSVWriter) Write(values []float64) error {
	if len(values)%w.outputs != 0 {
		return fmt.Errorf("csv writer: %d values is not a whole number of rows of %d", len(values), w.outputs)
	}
	w.buf = w.encode(w.buf[:0], values)
	_, err := w.w.Write(w.buf)
	return err
}

// encode appends values to dst as CSV lines. It reads only w.outputs, so
// workers call it concurrently to format chunks before they are written.
func (w *CSVWriter) encode(dst []byte, values []float64) []byte {
	n := w.outputs
	for i, v := range values {
		dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
		if (i+1)%n == 0 {
			dst = append(dst, '\n')
		} else {
			dst = append(dst, ',')
		}
	}
	return dst
}

// writeEncoded writes lines made by encode.
func (w *CSVWriter) writeEncoded(p []byte) error {
	_, err := w.w.Write(p)
	return err
}

// Close flushes buffered lines. It does not close the underlying io.Writer.
func (w *CSVWriter) Close() error {
	return w.w.Flush()
}
