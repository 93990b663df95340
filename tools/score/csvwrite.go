package score

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
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
	keep    int // kept input columns written first (Options.Keep)
	buf     []byte
}

// NewCSVWriter returns a writer to w for rows of len(outputs) values and
// buffers the header line, so an input without rows gives a header-only file.
func NewCSVWriter(w io.Writer, outputs []string) (*CSVWriter, error) {
	return newCSVWriter(w, nil, outputs)
}

// newCSVWriter is NewCSVWriter with the kept input columns keep written
// first, as text (see Options.Keep).
func newCSVWriter(w io.Writer, keep, outputs []string) (*CSVWriter, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("csv writer: no output columns")
	}
	cw := &CSVWriter{w: bufio.NewWriterSize(w, 64<<10), outputs: len(outputs), keep: len(keep)}
	// encoding/csv quotes a name that holds a comma, quote or newline.
	h := csv.NewWriter(cw.w)
	if err := h.Write(append(slices.Clip(keep), outputs...)); err != nil {
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
	if w.keep > 0 {
		return fmt.Errorf("csv writer: opened with kept columns; Score writes their cells")
	}
	w.buf = w.encode(w.buf[:0], values, nil)
	_, err := w.w.Write(w.buf)
	return err
}

// encode appends values to dst as CSV lines, each led by its row's kept
// cells (keep, w.keep a row). It reads only w.outputs and w.keep, so
// workers call it concurrently to format chunks before they are written.
func (w *CSVWriter) encode(dst []byte, values []float64, keep []string) []byte {
	n := w.outputs
	for i, v := range values {
		if i%n == 0 && w.keep > 0 {
			for _, cell := range keep[i/n*w.keep : (i/n+1)*w.keep] {
				dst = appendCSVField(dst, cell)
				dst = append(dst, ',')
			}
		}
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
