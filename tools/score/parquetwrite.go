package score

import (
	"fmt"
	"io"
	"reflect"

	"github.com/parquet-go/parquet-go"
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
	schema := parquet.NewSchema("predictions", newOrderedGroup(outputs))
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

// orderedGroup is a Parquet group whose columns keep the order they are
// given in; parquet.Group sorts them by name, which would put prob_10
// before prob_2.
type orderedGroup struct {
	parquet.Group // the methods every group shares; the rest are below
	fields        []parquet.Field
	goType        reflect.Type
}

type orderedField struct {
	parquet.Node
	name  string
	index int
}

func (f *orderedField) Name() string { return f.name }

// Value returns the field of a struct of the group's GoType.
func (f *orderedField) Value(base reflect.Value) reflect.Value { return base.Field(f.index) }

func newOrderedGroup(names []string) *orderedGroup {
	g := &orderedGroup{Group: parquet.Group{}}
	sf := make([]reflect.StructField, len(names))
	for i, n := range names {
		g.fields = append(g.fields, &orderedField{Node: parquet.Required(parquet.Leaf(parquet.DoubleType)), name: n, index: i})
		sf[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: reflect.TypeFor[float64]()}
	}
	g.goType = reflect.StructOf(sf)
	return g
}

func (g *orderedGroup) Fields() []parquet.Field { return g.fields }
func (g *orderedGroup) GoType() reflect.Type    { return g.goType }
func (g *orderedGroup) String() string {
	s := "group predictions {"
	for _, f := range g.fields {
		s += " required double " + f.Name() + ";"
	}
	return s + " }"
}
