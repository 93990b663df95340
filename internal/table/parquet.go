package table

import (
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/predictd/predictd/internal/parquetio"
)

type pqReader struct {
	path     string
	maxBytes int
	groups   []parquet.RowGroup
	g        int   // the row group being read; len(groups) at the end
	left     int64 // rows of group g not read yet
	row      int64 // file row of the next row
	cols     []pqCol
}

// pqCol is the read state of one column.
type pqCol struct {
	name   string
	index  int  // leaf column index
	bytes  bool // BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY: values point into the page
	pages  parquet.Pages
	page   parquet.Page
	values parquet.ValueReader
}

// openParquet reads the footer and maps the top-level columns to Types.
func openParquet(f *os.File, path string, maxBytes int) (r *pqReader, meta []colMeta, err error) {
	defer func() {
		if e := recover(); e != nil {
			r, meta, err = nil, nil, fmt.Errorf("%s: corrupt Parquet file: %v", path, e)
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	pf, err := parquetio.Open(f, fi.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a readable Parquet file: %v", path, err)
	}
	schema := pf.Schema()
	fields := schema.Fields()
	r = &pqReader{path: path, maxBytes: maxBytes, groups: pf.RowGroups(), g: -1}
	meta = make([]colMeta, len(fields))
	r.cols = make([]pqCol, len(fields))
	for i, fld := range fields {
		name := fld.Name()
		if !fld.Leaf() {
			return nil, nil, fmt.Errorf("%s: column %q is a group of columns, want one value per row", path, name)
		}
		if fld.Repeated() {
			return nil, nil, fmt.Errorf("%s: column %q is repeated (a list), want one value per row", path, name)
		}
		m, err := pqType(fld.Type())
		if err != nil {
			return nil, nil, fmt.Errorf("%s: column %q %v", path, name, err)
		}
		m.name = name
		meta[i] = m
		leaf, ok := schema.Lookup(name)
		if !ok {
			// Lookup finds every leaf but the second of two equal names:
			// Open refuses those, naming both, once meta is complete.
			leaf.ColumnIndex = -1
		}
		r.cols[i] = pqCol{name: name, index: leaf.ColumnIndex, bytes: m.kind == parquet.ByteArray || m.kind == parquet.FixedLenByteArray}
	}
	return r, meta, nil
}

// pqType maps a column type to a Type and says how to decode it.
func pqType(t parquet.Type) (colMeta, error) {
	m := colMeta{kind: t.Kind()}
	if u, ok := parquetio.TimeColumn(t); ok {
		m.typ, m.unit = Time, u
		return m, nil
	}
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	if num, err := parquetio.NumberColumn(t); err == nil {
		m.num = num
		switch {
		case num.Decimal:
			m.typ = Float
		case t.Kind() == parquet.Boolean:
			m.typ = Bool
		case t.Kind() == parquet.Int32 || t.Kind() == parquet.Int64:
			m.typ = Int
		default:
			m.typ = Float
		}
		return m, nil
	}
	switch t.Kind() {
	case parquet.ByteArray:
		switch lt.(type) {
		case nil, *format.StringType, *format.EnumType, *format.JsonType:
			m.typ = String
			return m, nil
		}
	case parquet.FixedLenByteArray:
		switch lt.(type) {
		case nil, *format.UUIDType:
			m.typ = String
			return m, nil
		}
	}
	return m, fmt.Errorf("has type %s, which predictd does not read (want a BOOLEAN, an integer, a FLOAT, DOUBLE or DECIMAL, a string, a TIMESTAMP, INT96 or DATE)", parquetio.TypeName(t))
}

func (r *pqReader) next(ch *Chunk, maxRows int) (err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("%s: corrupt Parquet file near row %d: %v", r.path, r.row, e)
		}
	}()
	ch.first = r.row
	for ch.n < maxRows {
		for r.left == 0 {
			if r.g+1 >= len(r.groups) {
				r.g = len(r.groups)
				return nil
			}
			r.closePages()
			r.g++
			rg := r.groups[r.g]
			chunks := rg.ColumnChunks()
			for j := range r.cols {
				r.cols[j].pages = chunks[r.cols[j].index].Pages()
			}
			r.left = rg.NumRows()
		}
		k := int(min(int64(maxRows-ch.n), r.left))
		for j := range r.cols {
			if err := r.read(j, ch, k); err != nil {
				return err
			}
		}
		ch.n += k
		r.left -= int64(k)
		r.row += int64(k)
	}
	return nil
}

// read decodes the next k values of column j into rows ch.n.. of ch,
// reading further pages as needed and copying byte arrays out of the page
// (into the chunk's arena), which is released once read.
func (r *pqReader) read(j int, ch *Chunk, k int) error {
	c := &r.cols[j]
	buf := ch.vals[j][ch.n : ch.n+k]
	for got := 0; got < k; {
		if c.values == nil {
			p, err := c.pages.ReadPage()
			if err == io.EOF {
				return fmt.Errorf("%s: column %q: row group %d ends before its %d rows", r.path, c.name, r.g, r.groups[r.g].NumRows())
			}
			if err != nil {
				return fmt.Errorf("%s: column %q: %v", r.path, c.name, err)
			}
			c.page, c.values = p, p.Values()
		}
		m, err := c.values.ReadValues(buf[got:])
		if c.bytes {
			for i := got; i < got+m; i++ {
				v := buf[i]
				if v.IsNull() {
					continue
				}
				b := v.ByteArray()
				if len(b) > r.maxBytes {
					return fmt.Errorf("%s row %d: column %q: a value of %d bytes, longer than the %d-byte limit (Options.MaxRecordBytes)", r.path, r.row+int64(ch.n+i), c.name, len(b), r.maxBytes)
				}
				// The arena may move as it grows; values already in it keep
				// pointing at the old array, which stays alive through them.
				at := len(ch.arena[j])
				ch.arena[j] = append(ch.arena[j], b...)
				nb := ch.arena[j][at:len(ch.arena[j]):len(ch.arena[j])]
				if v.Kind() == parquet.FixedLenByteArray {
					buf[i] = parquet.FixedLenByteArrayValue(nb).Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column())
				} else {
					buf[i] = parquet.ByteArrayValue(nb).Level(v.RepetitionLevel(), v.DefinitionLevel(), v.Column())
				}
			}
		}
		got += m
		switch {
		case err == io.EOF:
			c.release()
		case err != nil:
			return fmt.Errorf("%s: column %q: %v", r.path, c.name, err)
		case m == 0:
			return fmt.Errorf("%s: column %q: page yields no values", r.path, c.name)
		}
	}
	return nil
}

func (c *pqCol) release() {
	if c.page != nil {
		parquet.Release(c.page)
	}
	c.page, c.values = nil, nil
}

func (r *pqReader) closePages() {
	for j := range r.cols {
		c := &r.cols[j]
		c.release()
		if c.pages != nil {
			c.pages.Close()
			c.pages = nil
		}
	}
}

func (r *pqReader) close() { r.closePages() }
