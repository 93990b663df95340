package table

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/parquetio"
)

// Type is a column's type: what a Parquet column's schema says, or for
// CSV always String (its cells are text; the Chunk accessors parse them).
// Unknown is for callers inferring a type from values, before any non-null
// one is seen; Open never reports it.
type Type int

const (
	Unknown Type = iota
	Bool
	Int
	Float
	String
	Time
)

var typeNames = [...]string{Unknown: "unknown", Bool: "bool", Int: "int", Float: "float", String: "string", Time: "time"}

// String is the type's lower-case name: unknown, bool, int, float, string
// or time.
func (t Type) String() string {
	if t < 0 || int(t) >= len(typeNames) {
		return "Type(" + strconv.Itoa(int(t)) + ")"
	}
	return typeNames[t]
}

// ParseType is String's inverse.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames {
		if n == s {
			return Type(i), true
		}
	}
	return Unknown, false
}

// Column is one column of a file: its name (a CSV header cell with
// surrounding spaces trimmed, or a Parquet top-level field) and its Type.
type Column struct {
	Name string
	Type Type
}

// Options configure Open.
type Options struct {
	// MaxRecordBytes bounds one CSV record (a line, or several when a
	// quoted field spans lines) and one Parquet string (BYTE_ARRAY) value:
	// a longer one is an error naming its line or row, raised before a CSV
	// record is read whole. 0 means DefaultMaxRecordBytes; negative is an
	// error. (parquet-go reads a Parquet page whole: a page is bounded by
	// the writer, not by this.)
	MaxRecordBytes int
}

// DefaultMaxRecordBytes is Options.MaxRecordBytes' default, 1 MiB.
const DefaultMaxRecordBytes = 1 << 20

// Missing reports whether a CSV cell, with surrounding spaces already
// trimmed, is a missing value: empty, NA, NaN, nan, null or N/A.
func Missing(s string) bool {
	switch s {
	case "", "NA", "NaN", "nan", "null", "N/A":
		return true
	}
	return false
}

// Reader reads a file's rows in chunks; see Open.
type Reader struct {
	path  string
	cols  []Column
	meta  []colMeta
	index map[string]int
	f     *os.File
	csv   *csvReader
	pq    *pqReader
	err   error // sticky: once Next fails it keeps failing
}

// colMeta is how a column's values are decoded (Parquet) or read (CSV).
type colMeta struct {
	name string
	typ  Type
	kind parquet.Kind       // Parquet physical type
	num  parquetio.Num      // Parquet Bool, Int and Float columns
	unit parquetio.TimeUnit // Parquet Time columns
}

// Open opens the file at path, its format by its extension: .csv (a header
// row naming the columns, then one record per row, as encoding/csv reads
// them: a blank line is skipped, so a one-column file writes a missing
// value as NA or "") or .parquet (top-level columns of one value per row: a group or a
// repeated column is refused). A column name given twice is refused, naming
// both positions. Parquet types map to Types as BOOLEAN→Bool; INT32, INT64
// (signed or unsigned)→Int; FLOAT, DOUBLE, DECIMAL (however stored)→Float;
// BYTE_ARRAY (plain, STRING, ENUM, JSON) and FIXED_LEN_BYTE_ARRAY→String;
// INT64 TIMESTAMP (millis, micros, nanos), INT96, INT32 DATE→Time. Any
// other annotation (TIME, INTERVAL, FLOAT16, ...) is refused naming the
// column. Errors name the file.
func Open(path string, opts Options) (*Reader, error) {
	if opts.MaxRecordBytes < 0 {
		return nil, fmt.Errorf("table: Options.MaxRecordBytes is %d, want a positive size or 0 for the default (%d)", opts.MaxRecordBytes, DefaultMaxRecordBytes)
	}
	if opts.MaxRecordBytes == 0 {
		opts.MaxRecordBytes = DefaultMaxRecordBytes
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".csv" && ext != ".parquet" {
		return nil, fmt.Errorf("%s: want a .csv or .parquet file (got %q)", path, ext)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := &Reader{path: path, f: f}
	if ext == ".csv" {
		r.csv, r.meta, err = openCSV(f, path, opts.MaxRecordBytes)
	} else {
		r.pq, r.meta, err = openParquet(f, path, opts.MaxRecordBytes)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	r.cols = make([]Column, len(r.meta))
	r.index = make(map[string]int, len(r.meta))
	for i, m := range r.meta {
		r.cols[i] = Column{Name: m.name, Type: m.typ}
		if j, dup := r.index[m.name]; dup {
			f.Close()
			where := "in the header"
			if r.pq != nil {
				where = "in the schema"
			}
			return nil, fmt.Errorf("%s: column %q appears twice %s, as columns %d and %d (counted from 1); rename or drop one", path, m.name, where, j+1, i+1)
		}
		r.index[m.name] = i
	}
	return r, nil
}

// Path is the path the Reader was opened with.
func (r *Reader) Path() string { return r.path }

// Columns returns the file's columns in file order. The caller must not
// modify the slice.
func (r *Reader) Columns() []Column { return r.cols }

// Index is the position of the column named name in Columns, or -1.
func (r *Reader) Index(name string) int {
	if i, ok := r.index[name]; ok {
		return i
	}
	return -1
}

// Next fills c with the next rows of the file, at most maxRows (> 0) and
// at least one, reusing c's buffers, and returns how many; at the end of
// the file it returns 0 and io.EOF. Fewer than maxRows rows does not mean
// the end. Values a previous call put in c are overwritten (strings
// returned by Text stay valid). An error (a malformed record or value,
// naming the file, line or row, and column) ends the read: the rows read
// in that call are dropped and every later call returns the same error.
func (r *Reader) Next(c *Chunk, maxRows int) (int, error) {
	if maxRows <= 0 {
		return 0, fmt.Errorf("table: Next with maxRows %d, want > 0", maxRows)
	}
	if r.err != nil {
		return 0, r.err
	}
	c.reset(r, maxRows)
	var err error
	if r.csv != nil {
		err = r.csv.next(c, maxRows)
	} else {
		err = r.pq.next(c, maxRows)
	}
	if err != nil {
		c.n = 0
		r.err = err
		return 0, err
	}
	if c.n == 0 {
		r.err = io.EOF
		return 0, io.EOF
	}
	return c.n, nil
}

// Close releases the file.
func (r *Reader) Close() error {
	if r.pq != nil {
		r.pq.close()
	}
	if r.err == nil {
		r.err = errors.New("table: read after Close")
	}
	return r.f.Close()
}

// Chunk holds rows read by Reader.Next, column by column. Accessors take a
// column index (as in Reader.Columns) and a row (0..Len()-1) and panic when
// either is out of range. The zero Chunk is ready to use.
type Chunk struct {
	n     int
	path  string
	meta  []colMeta
	text  [][]string        // CSV: text[col][row]
	lines []int             // CSV: the physical line each row starts on
	vals  [][]parquet.Value // Parquet: vals[col][row]
	arena [][]byte          // Parquet: per column, the bytes of its byte array values
	first int64             // Parquet: the file row of row 0
}

func (c *Chunk) reset(r *Reader, maxRows int) {
	c.n, c.path, c.meta = 0, r.path, r.meta
	if r.csv != nil {
		c.vals, c.arena = nil, nil
		c.text = grow(c.text, len(r.meta))
		for i := range c.text {
			c.text[i] = grow(c.text[i], maxRows)
		}
		c.lines = grow(c.lines, maxRows)
		return
	}
	c.text, c.lines = nil, nil
	c.vals = grow(c.vals, len(r.meta))
	c.arena = grow(c.arena, len(r.meta))
	for i := range c.vals {
		c.vals[i] = grow(c.vals[i], maxRows)
		c.arena[i] = c.arena[i][:0]
	}
}

// grow returns s with length n, reusing its array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// Len is the number of rows in the chunk.
func (c *Chunk) Len() int { return c.n }

func (c *Chunk) check(col, row int) {
	if row < 0 || row >= c.n || col < 0 || col >= len(c.meta) {
		panic(fmt.Sprintf("BUG: table.Chunk: cell (col %d, row %d) outside %d columns by %d rows", col, row, len(c.meta), c.n))
	}
}

// Where names row as an error should: "path:LINE" for CSV (the physical
// line the record starts on, the header being line 1), "path row N" for
// Parquet (data rows counted from 0 over the whole file).
func (c *Chunk) Where(row int) string {
	if row < 0 || row >= c.n {
		panic(fmt.Sprintf("BUG: table.Chunk.Where(%d) outside %d rows", row, c.n))
	}
	if c.text != nil {
		return c.path + ":" + strconv.Itoa(c.lines[row])
	}
	return c.path + " row " + strconv.FormatInt(c.first+int64(row), 10)
}

// Null reports whether a cell is missing: a CSV cell Missing says is (after
// trimming spaces), a Parquet null, or a Parquet FLOAT or DOUBLE NaN.
func (c *Chunk) Null(col, row int) bool {
	c.check(col, row)
	if c.text != nil {
		return Missing(strings.TrimSpace(c.text[col][row]))
	}
	v := c.vals[col][row]
	if v.IsNull() {
		return true
	}
	switch v.Kind() {
	case parquet.Float:
		return math.IsNaN(float64(v.Float()))
	case parquet.Double:
		return math.IsNaN(v.Double())
	}
	return false
}

// Text is the cell as text: a CSV cell as it is in the file (spaces kept);
// a Parquet value formatted: "" for null, true or false, integers in
// decimal, floats by strconv 'g' with the shortest precision that reads
// back the same (FLOAT as float32), times in RFC 3339 with nanoseconds in
// UTC, strings as they are.
func (c *Chunk) Text(col, row int) string {
	c.check(col, row)
	if c.text != nil {
		return c.text[col][row]
	}
	m := &c.meta[col]
	v := c.vals[col][row]
	if v.IsNull() {
		return ""
	}
	switch m.typ {
	case Bool:
		return strconv.FormatBool(v.Boolean())
	case Int:
		switch {
		case v.Kind() == parquet.Int32 && m.num.Unsigned:
			return strconv.FormatUint(uint64(v.Uint32()), 10)
		case v.Kind() == parquet.Int32:
			return strconv.FormatInt(int64(v.Int32()), 10)
		case m.num.Unsigned:
			return strconv.FormatUint(v.Uint64(), 10)
		}
		return strconv.FormatInt(v.Int64(), 10)
	case Float:
		if v.Kind() == parquet.Float {
			return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
		}
		return strconv.FormatFloat(parquetio.Number(v, m.num), 'g', -1, 64)
	case Time:
		t, err := parquetio.Time(v, m.unit)
		if err != nil {
			return "" // an INT96 whose time of day is not within a day
		}
		return t.Format(time.RFC3339Nano)
	}
	return string(v.ByteArray())
}

// Float is the cell as a number: NaN for a missing cell (see Null). A CSV
// cell, or a Parquet string, is parsed by strconv.ParseFloat after
// trimming spaces; a Parquet BOOLEAN is 1 or 0, an integer or DECIMAL the
// nearest float64, a FLOAT its exact float64 widening (as NumPy and DuckDB
// widen it; its Text, the shortest float32 form, parses to a float64 equal
// to it as a float32). ±Inf, text that is not a number and a time are errors
// naming the place (Where), the column and what was found. It does not
// allocate unless it fails; nor does Null.
func (c *Chunk) Float(col, row int) (float64, error) {
	c.check(col, row)
	if c.text != nil {
		return c.parseFloat(col, row, c.text[col][row])
	}
	m := &c.meta[col]
	v := c.vals[col][row]
	if v.IsNull() {
		return math.NaN(), nil
	}
	switch m.typ {
	case String:
		return c.parseFloat(col, row, unsafeString(v.ByteArray()))
	case Time:
		return 0, fmt.Errorf("%s: column %q: a time (%s) is not a number", c.Where(row), m.name, c.Text(col, row))
	}
	x := parquetio.Number(v, m.num)
	if math.IsInf(x, 0) {
		return 0, fmt.Errorf("%s: column %q: %v is not a finite number", c.Where(row), m.name, x)
	}
	return x, nil
}

func (c *Chunk) parseFloat(col, row int, s string) (float64, error) {
	s = strings.TrimSpace(s)
	if Missing(s) {
		return math.NaN(), nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%s: column %q: %s is not a finite number", c.Where(row), c.meta[col].name, quoteShort(s))
	}
	return x, nil
}

// Int is the cell as an integer, exact where Float is exact only below
// 2^53: a Parquet INT32 or INT64 (an unsigned one up to 2^63-1), a BOOLEAN
// as 1 or 0, an integral FLOAT, DOUBLE or DECIMAL within int64; a CSV cell
// or Parquet string by strconv.ParseInt after trimming spaces. A missing
// cell, a fraction, text that is not an integer, a value beyond int64 and a
// time are errors naming the place, the column and what was found. It does
// not allocate unless it fails.
func (c *Chunk) Int(col, row int) (int64, error) {
	c.check(col, row)
	if c.Null(col, row) {
		return 0, fmt.Errorf("%s: column %q: a missing value is not an integer", c.Where(row), c.meta[col].name)
	}
	if c.text != nil {
		return c.parseInt(col, row, c.text[col][row])
	}
	m := &c.meta[col]
	v := c.vals[col][row]
	switch m.typ {
	case String:
		return c.parseInt(col, row, unsafeString(v.ByteArray()))
	case Int:
		switch {
		case v.Kind() == parquet.Int32 && m.num.Unsigned:
			return int64(v.Uint32()), nil
		case v.Kind() == parquet.Int32:
			return int64(v.Int32()), nil
		case m.num.Unsigned && v.Uint64() > math.MaxInt64:
			return 0, fmt.Errorf("%s: column %q: %d is beyond int64", c.Where(row), m.name, v.Uint64())
		}
		return v.Int64(), nil
	case Bool:
		if v.Boolean() {
			return 1, nil
		}
		return 0, nil
	case Float:
		x := parquetio.Number(v, m.num)
		// -2^63 is exact in float64; 2^63 is the first value past int64.
		if x != math.Trunc(x) || x < -(1<<63) || x >= 1<<63 {
			return 0, fmt.Errorf("%s: column %q: %s is not an integer within int64", c.Where(row), m.name, c.Text(col, row))
		}
		return int64(x), nil
	}
	return 0, fmt.Errorf("%s: column %q: a time (%s) is not an integer", c.Where(row), m.name, c.Text(col, row))
}

func (c *Chunk) parseInt(col, row int, s string) (int64, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: column %q: %s is not an integer within int64", c.Where(row), c.meta[col].name, quoteShort(s))
	}
	return n, nil
}

// unsafeString views b as a string without copying, for a parse that does
// not keep it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Time is the cell as a time: CSV text and Parquet strings (spaces
// trimmed) by featcache.ParseEventTime, in the forms of
// featcache.EventTimeForms (RFC 3339, and 2026-11-25 12:00:00 as pandas,
// Spark and DuckDB write times; no offset means UTC); Parquet TIMESTAMP, INT96 and DATE
// values decoded as materialize decodes them (as UTC) and checked by
// featcache.CheckEventTime. A missing cell, a number and a time outside the
// years 1678..2262 are errors naming the place, the column and what was
// found.
func (c *Chunk) Time(col, row int) (time.Time, error) {
	c.check(col, row)
	m := &c.meta[col]
	if c.Null(col, row) {
		return time.Time{}, fmt.Errorf("%s: column %q: a missing value is not a time", c.Where(row), m.name)
	}
	var s string
	if c.text != nil {
		s = c.text[col][row]
	} else {
		v := c.vals[col][row]
		switch m.typ {
		case Time:
			t, err := parquetio.Time(v, m.unit)
			if err == nil {
				err = featcache.CheckEventTime(t)
			}
			if err != nil {
				return time.Time{}, fmt.Errorf("%s: column %q: %v", c.Where(row), m.name, err)
			}
			return t, nil
		case String:
			s = string(v.ByteArray())
		default:
			return time.Time{}, fmt.Errorf("%s: column %q: a %s column (%s) holds no times; want a TIMESTAMP, INT96, DATE or a string of times such as 2026-11-25T12:00:00Z", c.Where(row), m.name, m.typ, c.Text(col, row))
		}
	}
	t, err := featcache.ParseEventTime(strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: column %q: %v", c.Where(row), m.name, err)
	}
	return t, nil
}

// quoteShort quotes s for a message, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}
