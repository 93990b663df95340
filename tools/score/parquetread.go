package score

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/predictd/predictd/internal/parquetio"
	"github.com/predictd/predictd/model"
)

// ParquetReader reads feature rows from a Parquet file, one page of each
// column at a time, so memory does not depend on the file's length. Features
// are matched by name to the file's top-level columns; other columns are
// ignored. A feature column must hold one number per row, as
// parquetio.NumberColumn accepts it (BOOLEAN as 0 or 1, INT32, INT64,
// FLOAT, DOUBLE, and DECIMAL however it is stored); a null reads as NaN.
//
// A ParquetReader is not safe for concurrent use.
type ParquetReader struct {
	name   string
	file   *parquet.File
	cols   []pqColumn // one per feature
	groups []parquet.RowGroup
	next   int   // the next row group to open
	left   int64 // rows not yet read in the open row group
	vals   []parquet.Value
	err    error
	// rows counts the rows Read has returned, for error messages.
	rows int64
	// rules, when set, are the server's rules a value must pass
	// (OpenModelInput); nil: any number, NaN for a null.
	rules *rowRules
}

type pqColumn struct {
	name  string
	index int           // leaf column index in the file
	num   parquetio.Num // how its values are numbers

	pages  parquet.Pages
	page   parquet.Page
	values parquet.ValueReader
}

// NewParquetReader opens the Parquet file in f (size bytes) and maps its
// columns to features. name is the file name used in error messages. It
// reports every feature the file lacks, with the same message as
// NewCSVReader, and a feature column that is not a number.
func NewParquetReader(f io.ReaderAt, size int64, name string, features []model.Feature) (*ParquetReader, error) {
	if err := checkFeatures(name, features); err != nil {
		return nil, err
	}
	pf, err := parquetio.Open(f, size)
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable Parquet file: %w", name, err)
	}
	schema := pf.Schema()
	top := make(map[string]parquet.Field)
	var names []string
	for _, fld := range schema.Fields() {
		top[fld.Name()] = fld
		names = append(names, fld.Name())
	}
	// parquet-go writes no such schema, but a file may hold one; which of
	// the two columns Lookup finds is then a guess.
	if dups := duplicateColumns(names); dups != "" {
		return nil, fmt.Errorf("%s: the schema names these top-level columns more than once: %s", name, dups)
	}
	var missing []string
	for _, feat := range features {
		if _, ok := top[feat.Name]; !ok {
			missing = append(missing, feat.Name)
		}
	}
	if len(missing) > 0 {
		return nil, missingColumns(name, missing)
	}
	r := &ParquetReader{
		name:   name,
		file:   pf,
		cols:   make([]pqColumn, len(features)),
		groups: pf.RowGroups(),
		vals:   make([]parquet.Value, 512),
	}
	for i, feat := range features {
		fld := top[feat.Name]
		c := &r.cols[i]
		c.name = feat.Name
		if !fld.Leaf() {
			return nil, fmt.Errorf("%s: column %q is a group of columns, want one number per row", name, feat.Name)
		}
		if fld.Repeated() {
			return nil, fmt.Errorf("%s: column %q is repeated (a list), want one number per row", name, feat.Name)
		}
		num, err := parquetio.NumberColumn(fld.Type())
		if err != nil {
			return nil, fmt.Errorf("%s: column %q %v", name, feat.Name, err)
		}
		c.num = num
		leaf, ok := schema.Lookup(feat.Name)
		if !ok {
			return nil, fmt.Errorf("BUG: parquet schema has top-level leaf %q but Lookup does not find it", feat.Name)
		}
		c.index = leaf.ColumnIndex
	}
	return r, nil
}

// Read stores up to len(dst)/len(features) rows in dst, row-major in the
// model's feature order, and returns how many it stored. Like io.Reader, it
// may return rows together with an error; err is io.EOF after the last row.
func (r *ParquetReader) Read(dst []float64) (n int, err error) {
	// parquet-go v0.32 can panic on a malformed page; report it as an error.
	defer func() {
		if e := recover(); e != nil {
			r.err = fmt.Errorf("%s: corrupt file: %v", r.name, e)
			n, err = 0, r.err
		}
	}()
	nf := len(r.cols)
	maxRows := len(dst) / nf
	if maxRows == 0 {
		return 0, io.ErrShortBuffer
	}
	for n < maxRows && r.err == nil {
		if r.left == 0 {
			r.err = r.openNextGroup()
			continue
		}
		k := int(min(int64(maxRows-n), r.left))
		for j := range r.cols {
			if err := r.readColumn(j, dst[n*nf:], k); err != nil {
				r.err = err
				r.rows += int64(n)
				return n, err
			}
		}
		if r.rules != nil {
			if i := r.firstBad(dst[n*nf : (n+k)*nf]); i >= 0 {
				row := n + i/nf
				r.err = r.rules.check(dst[n*nf+i], i%nf, fmt.Sprintf("%s row %d", r.name, r.rows+int64(row)), "")
				// The rows before the bad one are whole and valid.
				r.left -= int64(row - n)
				r.rows += int64(row)
				return row, r.err
			}
		}
		n += k
		r.left -= int64(k)
	}
	r.rows += int64(n)
	if n == 0 {
		return 0, r.err
	}
	return n, nil
}

// firstBad returns the index in v of the first value r.rules refuses, or -1.
func (r *ParquetReader) firstBad(v []float64) int {
	nf := len(r.cols)
	for i, x := range v {
		if !r.rules.ok(x, i%nf) {
			return i
		}
	}
	return -1
}

func (r *ParquetReader) openNextGroup() error {
	r.closePages()
	if r.next == len(r.groups) {
		return io.EOF
	}
	g := r.groups[r.next]
	r.next++
	r.left = g.NumRows()
	chunks := g.ColumnChunks()
	for j := range r.cols {
		r.cols[j].pages = chunks[r.cols[j].index].Pages()
	}
	return nil
}

// readColumn stores k values of column j into dst, one every len(r.cols)
// values, reading further pages as needed.
func (r *ParquetReader) readColumn(j int, dst []float64, k int) error {
	c := &r.cols[j]
	nf := len(r.cols)
	for got := 0; got < k; {
		if c.values == nil {
			p, err := c.pages.ReadPage()
			if err == io.EOF {
				return fmt.Errorf("%s: column %q: row group %d ends before its %d rows", r.name, c.name, r.next-1, r.groups[r.next-1].NumRows())
			}
			if err != nil {
				return fmt.Errorf("%s: column %q: %w", r.name, c.name, err)
			}
			c.page, c.values = p, p.Values()
		}
		m, err := c.values.ReadValues(r.vals[:min(k-got, len(r.vals))])
		for i, v := range r.vals[:m] {
			dst[(got+i)*nf+j] = c.float(v)
		}
		got += m
		switch {
		case err == io.EOF:
			c.releasePage()
		case err != nil:
			return fmt.Errorf("%s: column %q: %w", r.name, c.name, err)
		case m == 0:
			return fmt.Errorf("%s: column %q: page yields no values", r.name, c.name)
		}
	}
	return nil
}

func (c *pqColumn) float(v parquet.Value) float64 {
	return parquetio.Number(v, c.num)
}

func (c *pqColumn) releasePage() {
	if c.page != nil {
		parquet.Release(c.page)
	}
	c.page, c.values = nil, nil
}

func (r *ParquetReader) closePages() {
	for j := range r.cols {
		c := &r.cols[j]
		c.releasePage()
		if c.pages != nil {
			c.pages.Close()
			c.pages = nil
		}
	}
}

// Close releases the pages held by r. It does not close the file.
func (r *ParquetReader) Close() error {
	r.closePages()
	return nil
}

func (r *ParquetReader) numFeatures() int { return len(r.cols) }
