package materialize

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/parquetio"
)

// pqChunkRows is how many rows readParquet decodes per column before it
// walks them: memory is this many values per read column, whatever the
// length of the file or its row groups.
const pqChunkRows = 512

// pqRole says how a column's values are read.
type pqRole int

const (
	pqKey     pqRole = iota // the join key: a string or an integer
	pqTime                  // the event time: a TIMESTAMP or a string (featcache.EventTimeForms)
	pqFeature               // a feature value: a number, a boolean or null
)

// pqColumn is one column readParquet reads: the join key, the time column
// or a feature.
type pqColumn struct {
	name     string
	index    int // leaf column index in the file
	role     pqRole
	feature  featcache.Feature  // pqFeature only
	unit     parquetio.TimeUnit // pqTime only: a binary time, or 0 for text
	unsigned bool               // an unsigned INT annotation
	bytes    bool               // physical type BYTE_ARRAY: values point into the page
	num      parquetio.Num      // pqFeature only: how its values are numbers
	// maxBytes bounds a BYTE_ARRAY value that is kept: a longer one is
	// kept cut to maxBytes+1 bytes, its length in long, so that a huge
	// value is not copied out of its page.
	maxBytes int
	long     []int // per row of buf: the length of a value cut short, or 0

	pages  parquet.Pages
	page   parquet.Page
	values parquet.ValueReader
	buf    []parquet.Value // the current chunk's values, one per row
}

// readParquet is readCSV for the Parquet file in f (size bytes): the same
// columns by name (top-level columns; others are ignored), the same
// latest-per-entity rule and the same order of checks, so that the two
// formats refuse the same rows. Errors name path, the 0-based data row
// ("row N") and the column.
//
// Columns are read one chunk of pqChunkRows rows at a time, only the
// columns the view needs.
func readParquet(f io.ReaderAt, size int64, path string, opts Options) (latest map[string]featcache.Row, st Stats, err error) {
	// parquet-go v0.32 panics on some malformed files (bad page headers,
	// offsets past the end of a buffer) instead of returning an error, and
	// an input file is untrusted: report the panic as an error naming the
	// file so that a bad file cannot take down the caller.
	defer func() {
		if e := recover(); e != nil {
			latest, err = nil, fmt.Errorf("materialize: %s: corrupt Parquet file: %v", path, e)
		}
	}()
	opts = opts.withDefaults()
	pf, err := parquetio.Open(f, size)
	if err != nil {
		return nil, Stats{}, fmt.Errorf("materialize: %s: not a readable Parquet file: %v", path, err)
	}
	cols, err := pqColumns(pf, path, opts)
	if err != nil {
		return nil, Stats{}, err
	}
	defer closePages(cols)
	key, tc, feats := &cols[0], &cols[1], cols[2:]
	v := opts.View
	latest = make(map[string]featcache.Row)
	row := 0 // index of the next data row in the file
	now := opts.Now()
	meta := pf.Metadata()
	for g, rg := range pf.RowGroups() {
		closePages(cols)
		if err := checkKeyChunk(meta, g, key, path); err != nil {
			return nil, st, err
		}
		chunks := rg.ColumnChunks()
		for j := range cols {
			cols[j].pages = chunks[cols[j].index].Pages()
		}
		for left := rg.NumRows(); left > 0; {
			k := int(min(left, pqChunkRows))
			for j := range cols {
				if err := cols[j].read(k, path, g, rg.NumRows()); err != nil {
					return nil, st, err
				}
			}
			left -= int64(k)
			// The checks below are readCSV's, in the same order.
			for i := 0; i < k; i, row = i+1, row+1 {
				st.Rows++
				at, err := tc.time(i)
				if err != nil {
					return nil, st, fmt.Errorf("materialize: %s: row %d: column %q: %v", path, row, tc.name, err)
				}
				if !opts.Until.IsZero() && at.After(opts.Until) {
					st.Late++
					continue
				}
				if err := featcache.CheckFuture(at, now, opts.MaxFutureSkew); err != nil {
					return nil, st, fmt.Errorf("materialize: %s: row %d: column %q: %v", path, row, tc.name, err)
				}
				kv := key.buf[i]
				if kv.IsNull() {
					return nil, st, fmt.Errorf("materialize: %s: row %d: column %q: null is not a valid %s key", path, row, key.name, v.Entity.KeyType)
				}
				if n := key.long[i]; n > 0 {
					return nil, st, fmt.Errorf("materialize: %s: row %d: column %q: entity %s: %s of %d bytes, longer than the %d-byte limit on entity keys", path, row, key.name, v.Entity.Name, v.Entity.JoinKey, n, featcache.MaxKeyBytes)
				}
				ent, err := v.Entity.CanonicalKey(key.keyText(kv))
				if err != nil {
					return nil, st, fmt.Errorf("materialize: %s: row %d: column %q: %v", path, row, key.name, err)
				}
				if old, ok := latest[ent]; ok && !at.After(old.EventTime) {
					continue
				}
				vals := make([]float64, len(feats))
				for j := range feats {
					c := &feats[j]
					x, err := c.float(i)
					if err != nil {
						return nil, st, fmt.Errorf("materialize: %s: row %d: column %q: %v", path, row, c.name, err)
					}
					vals[j] = x
				}
				latest[ent] = featcache.Row{Entity: ent, EventTime: at, Values: vals}
			}
		}
	}
	st.Entities = len(latest)
	return latest, st, nil
}

// pqColumns maps the join key, the time column and the view's features
// (in that order) to the file's top-level columns and checks their types.
func pqColumns(pf *parquet.File, path string, opts Options) ([]pqColumn, error) {
	v := opts.View
	schema := pf.Schema()
	top := make(map[string]parquet.Field)
	pos := make(map[string]int)
	for i, fld := range schema.Fields() {
		if j, dup := pos[fld.Name()]; dup {
			return nil, fmt.Errorf("materialize: %s: column %q appears twice in the schema, as top-level columns %d and %d (counted from 1); rename or drop one", path, fld.Name(), j+1, i+1)
		}
		top[fld.Name()], pos[fld.Name()] = fld, i
	}
	cols := make([]pqColumn, 0, 2+len(v.Features))
	add := func(name string, role pqRole, what string) (*pqColumn, error) {
		fld, ok := top[name]
		if !ok {
			return nil, fmt.Errorf("materialize: %s: no column %q (%s)", path, name, what)
		}
		if !fld.Leaf() {
			return nil, fmt.Errorf("materialize: %s: column %q is a group of columns, want one value per row", path, name)
		}
		if fld.Repeated() {
			return nil, fmt.Errorf("materialize: %s: column %q is repeated (a list), want one value per row", path, name)
		}
		leaf, ok := schema.Lookup(name)
		if !ok {
			panic(fmt.Sprintf("BUG: parquet schema has top-level leaf %q but Lookup does not find it", name))
		}
		cols = append(cols, pqColumn{name: name, index: leaf.ColumnIndex, role: role, buf: make([]parquet.Value, pqChunkRows), long: make([]int, pqChunkRows)})
		c := &cols[len(cols)-1]
		t := fld.Type()
		// A FIXED_LEN_BYTE_ARRAY (a DECIMAL feature) points into its page
		// too, and is copied out as a BYTE_ARRAY is.
		c.bytes = t.Kind() == parquet.ByteArray || t.Kind() == parquet.FixedLenByteArray
		// A key longer than this is refused, and so is a time string (35
		// bytes at most, spaces aside).
		c.maxBytes = featcache.MaxKeyBytes
		var lt format.LogicalTypeValue
		if l := t.LogicalType(); l != nil {
			lt = l.Value
		}
		if it, ok := lt.(*format.IntType); ok {
			c.unsigned = !it.IsSigned
		}
		var ok2 bool
		switch role {
		case pqKey:
			switch t.Kind() {
			case parquet.ByteArray:
				switch lt.(type) {
				case nil, *format.StringType, *format.EnumType:
					ok2 = true
				}
			case parquet.Int32, parquet.Int64:
				switch lt.(type) {
				case nil, *format.IntType:
					ok2 = true
				}
			}
			if !ok2 {
				return nil, fmt.Errorf("materialize: %s: column %q has type %s, want a string (BYTE_ARRAY) or an integer (INT32, INT64) join key", path, name, parquetio.TypeName(t))
			}
		case pqTime:
			// A DATE is not an event time here: it has no time of day.
			if u, ok := parquetio.TimeColumn(t); ok && u != parquetio.Days {
				ok2, c.unit = true, u
			}
			switch t.Kind() {
			case parquet.ByteArray:
				switch lt.(type) {
				case nil, *format.StringType:
					ok2, c.unit = true, 0
				}
			}
			if !ok2 {
				// A bare INT64 is refused: seconds, millis, micros and
				// nanos since the epoch are all common, and a wrong guess
				// silently files every row decades away.
				return nil, fmt.Errorf("materialize: %s: column %q has type %s, want a TIMESTAMP (millis, micros or nanos; taken as UTC), an INT96 timestamp or a string of times such as 2026-11-25T12:00:00Z", path, name, parquetio.TypeName(t))
			}
		case pqFeature:
			num, err := parquetio.NumberColumn(t)
			if err != nil {
				return nil, fmt.Errorf("materialize: %s: column %q %v", path, name, err)
			}
			c.num = num
		}
		return c, nil
	}
	if _, err := add(v.Entity.JoinKey, pqKey, "the join key of entity "+v.Entity.Name); err != nil {
		return nil, err
	}
	if _, err := add(opts.TimeColumn, pqTime, "the event time"); err != nil {
		return nil, err
	}
	for _, ft := range v.Features {
		c, err := add(ft.Name, pqFeature, "feature of view "+v.Name)
		if err != nil {
			return nil, err
		}
		c.feature = ft
	}
	return cols, nil
}

// read decodes the next k (at most pqChunkRows) values of c into c.buf,
// reading further pages as needed. Byte array values are copied out of
// the page, which is released once read. g and rows name the row group in
// errors.
func (c *pqColumn) read(k int, path string, g int, rows int64) error {
	for got := 0; got < k; {
		if c.values == nil {
			p, err := c.pages.ReadPage()
			if err == io.EOF {
				return fmt.Errorf("materialize: %s: column %q: row group %d ends before its %d rows", path, c.name, g, rows)
			}
			if err != nil {
				return fmt.Errorf("materialize: %s: column %q: %v", path, c.name, err)
			}
			c.page, c.values = p, p.Values()
		}
		m, err := c.values.ReadValues(c.buf[got:k])
		if c.bytes {
			for i := got; i < got+m; i++ {
				c.long[i] = 0
				if b := c.buf[i].ByteArray(); len(b) > c.maxBytes && !c.buf[i].IsNull() {
					c.long[i] = len(b)
					c.buf[i] = parquet.ByteArrayValue(b[:c.maxBytes+1]).Level(c.buf[i].RepetitionLevel(), c.buf[i].DefinitionLevel(), c.buf[i].Column())
				}
				c.buf[i] = c.buf[i].Clone()
			}
		}
		got += m
		switch {
		case err == io.EOF:
			c.releasePage()
		case err != nil:
			return fmt.Errorf("materialize: %s: column %q: %v", path, c.name, err)
		case m == 0:
			return fmt.Errorf("materialize: %s: column %q: page yields no values", path, c.name)
		}
	}
	return nil
}

// time reads the event time of row i of the chunk; every encoding is taken
// as UTC, and checked as push checks a time (featcache.ParseEventTime,
// featcache.CheckEventTime): a millisecond or microsecond count, an INT96 or
// a string beyond the years 1678..2262 is refused, not wrapped.
func (c *pqColumn) time(i int) (time.Time, error) {
	v := c.buf[i]
	if v.IsNull() {
		return time.Time{}, fmt.Errorf("null is not a time")
	}
	var t time.Time
	switch c.unit {
	case parquetio.Millis, parquetio.Micros, parquetio.Nanos, parquetio.Int96:
		var err error
		if t, err = parquetio.Time(v, c.unit); err != nil {
			return time.Time{}, err
		}
	case 0: // text
		if n := c.long[i]; n > 0 {
			return time.Time{}, fmt.Errorf("a string of %d bytes is not a time; want %s", n, featcache.EventTimeForms)
		}
		return featcache.ParseEventTime(strings.TrimSpace(string(v.ByteArray())))
	default:
		panic(fmt.Sprintf("BUG: time column %q has unit %d", c.name, c.unit))
	}
	if err := featcache.CheckEventTime(t); err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// checkKeyChunk refuses row group g when its join key column chunk is
// larger, uncompressed, than keys of featcache.MaxKeyBytes can make it:
// parquet-go reads a page whole, so a file holding a 200 MB key would
// otherwise be read into memory before the key is looked at. Keys of at
// most MaxKeyBytes take at most MaxKeyBytes+4 bytes per row (PLAIN) and a
// dictionary page no more; the slack covers levels and page headers.
func checkKeyChunk(meta *format.FileMetaData, g int, key *pqColumn, path string) error {
	if !key.bytes || g >= len(meta.RowGroups) || key.index >= len(meta.RowGroups[g].Columns) {
		return nil
	}
	rows := min(max(meta.RowGroups[g].NumRows, 0), 1<<40) // no overflow below
	limit := rows*2*(featcache.MaxKeyBytes+4+16) + 1<<20
	if size := meta.RowGroups[g].Columns[key.index].MetaData.TotalUncompressedSize; size > limit {
		return fmt.Errorf("materialize: %s: row group %d: column %q holds %d bytes for %d rows, more than keys of at most %d bytes take: refused before reading it (a join key may have at most %d bytes)",
			path, g, key.name, size, rows, featcache.MaxKeyBytes, featcache.MaxKeyBytes)
	}
	return nil
}

// keyText is the join key value as text, trimmed of spaces as readCSV
// does so that the two formats agree on every key; "" for null.
func (c *pqColumn) keyText(v parquet.Value) string {
	switch {
	case v.IsNull():
		return ""
	case v.Kind() == parquet.Int32 && c.unsigned:
		return strconv.FormatUint(uint64(v.Uint32()), 10)
	case v.Kind() == parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case v.Kind() == parquet.Int64 && c.unsigned:
		return strconv.FormatUint(v.Uint64(), 10)
	case v.Kind() == parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	}
	return strings.TrimSpace(string(v.ByteArray()))
}

// float reads the feature value of row i of the chunk: null and NaN are missing, ±Inf is refused
// (as readCSV's cell does), and the value must pass Feature.CheckValue.
func (c *pqColumn) float(i int) (float64, error) {
	v := c.buf[i]
	if c.long[i] > 0 {
		return 0, fmt.Errorf("a DECIMAL of %d bytes is longer than the %d-byte limit", c.long[i], c.maxBytes)
	}
	if v.IsNull() {
		return math.NaN(), nil
	}
	x := parquetio.Number(v, c.num)
	if math.IsInf(x, 0) {
		return 0, fmt.Errorf("%v is not a finite number", x)
	}
	return x, c.feature.CheckValue(x)
}

func (c *pqColumn) releasePage() {
	if c.page != nil {
		parquet.Release(c.page)
	}
	c.page, c.values = nil, nil
}

func closePages(cols []pqColumn) {
	for j := range cols {
		c := &cols[j]
		c.releasePage()
		if c.pages != nil {
			c.pages.Close()
			c.pages = nil
		}
	}
}
