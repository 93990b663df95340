package dataset

import (
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/predictd/predictd/internal/parquetio"
)

// outKind is an output column's Parquet type.
type outKind int

const (
	outInt    outKind = iota // INT64
	outFloat                 // DOUBLE
	outString                // BYTE_ARRAY (STRING)
	outTime                  // INT64 TIMESTAMP(NANOS, UTC)
	outBool                  // BOOLEAN
)

func (k outKind) node() parquet.Node {
	switch k {
	case outInt:
		return parquet.Optional(parquet.Int(64))
	case outFloat:
		return parquet.Optional(parquet.Leaf(parquet.DoubleType))
	case outTime:
		return parquet.Optional(parquet.Timestamp(parquet.Nanosecond))
	case outBool:
		return parquet.Optional(parquet.Leaf(parquet.BooleanType))
	}
	return parquet.Optional(parquet.String())
}

// outRowGroupRows is the rows per output row group: parquet-go holds a
// row group's pages in memory until it ends, so this bounds the writer's
// memory at about this many rows' encoded values.
const outRowGroupRows = 1 << 16

// outBatchRows is how many rows are handed to parquet-go at once.
const outBatchRows = 256

// outWriter writes the training set: every column optional (nullable), in
// the order given. Rows are built in place (begin, the add calls, end) and
// handed to parquet-go in batches.
type outWriter struct {
	w       *parquet.Writer
	rows    []parquet.Row // rows[:n] are built; their arrays are reused
	n       int
	row     parquet.Row // the row being built
	strs    []byte      // the batch's string bytes
	inGroup int
}

func newOutWriter(w io.Writer, names []string, kinds []outKind) *outWriter {
	nodes := make([]parquet.Node, len(names))
	for i := range names {
		nodes[i] = kinds[i].node()
	}
	schema := parquetio.OrderedSchema("training_set", names, nodes)
	return &outWriter{
		w:    parquet.NewWriter(w, schema, parquet.Compression(&parquet.Snappy)),
		rows: make([]parquet.Row, outBatchRows),
	}
}

// begin starts a row.
func (o *outWriter) begin() { o.row = o.rows[o.n][:0] }

// Each add appends the next column's value.
func (o *outWriter) addNull() {
	o.row = append(o.row, parquet.NullValue().Level(0, 0, len(o.row)))
}

func (o *outWriter) addInt(x int64) {
	o.row = append(o.row, parquet.Int64Value(x).Level(0, 1, len(o.row)))
}

func (o *outWriter) addFloat(x float64) {
	o.row = append(o.row, parquet.DoubleValue(x).Level(0, 1, len(o.row)))
}

func (o *outWriter) addBool(x bool) {
	o.row = append(o.row, parquet.BooleanValue(x).Level(0, 1, len(o.row)))
}

// addString copies s: the batch is written after the call returns. The
// values point into strs, which is not reused before the batch is written.
func (o *outWriter) addString(s string) {
	if cap(o.strs)-len(o.strs) < len(s) {
		// A new array: values of this batch may point into the old one.
		o.strs = make([]byte, 0, max(64<<10, 2*len(s)))
	}
	o.strs = append(o.strs, s...)
	b := o.strs[len(o.strs)-len(s) : len(o.strs) : len(o.strs)]
	o.row = append(o.row, parquet.ByteArrayValue(b).Level(0, 1, len(o.row)))
}

// end finishes the row, writing the batch when full.
func (o *outWriter) end() error {
	o.rows[o.n] = o.row
	if o.n++; o.n == len(o.rows) {
		return o.flushRows()
	}
	return nil
}

func (o *outWriter) flushRows() error {
	if o.n == 0 {
		return nil
	}
	if _, err := o.w.WriteRows(o.rows[:o.n]); err != nil {
		return err
	}
	o.inGroup += o.n
	o.n = 0
	o.strs = o.strs[:0]
	if o.inGroup >= outRowGroupRows {
		o.inGroup = 0
		return o.w.Flush()
	}
	return nil
}

// close writes the last row group and the footer; it does not close the
// file.
func (o *outWriter) close() error {
	if err := o.flushRows(); err != nil {
		return err
	}
	return o.w.Close()
}
