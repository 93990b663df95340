package table

import (
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
	"github.com/predictd/predictd/featcache"
)

// readAll reads every chunk of path with chunks of maxRows rows.
func readAll(t testing.TB, path string, maxRows int) (*Reader, []*Chunk) {
	t.Helper()
	r, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*Chunk
	for {
		c := new(Chunk)
		n, err := r.Next(c, maxRows)
		if err == io.EOF {
			if n != 0 {
				t.Fatalf("Next = %d, io.EOF; want 0 rows at the end", n)
			}
			return r, out
		}
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 || n > maxRows || n != c.Len() {
			t.Fatalf("Next = %d rows (Len %d), want 1..%d", n, c.Len(), maxRows)
		}
		out = append(out, c)
	}
}

type tcol struct {
	name string
	node parquet.Node
	vals []any // per row: a parquet.Value, a value parquet.ValueOf takes, or nil for null
}

// writeParquet writes cols with at most groupRows rows per row group.
func writeParquet(t testing.TB, groupRows int64, cols ...tcol) string {
	t.Helper()
	g := parquet.Group{}
	for _, c := range cols {
		g[c.name] = c.node
	}
	schema := parquet.NewSchema("row", g)
	rows := make([]parquet.Row, len(cols[0].vals))
	for i := range rows {
		rows[i] = make(parquet.Row, len(cols))
		for _, c := range cols {
			leaf, _ := schema.Lookup(c.name)
			if c.vals[i] == nil {
				rows[i][leaf.ColumnIndex] = parquet.NullValue().Level(0, 0, leaf.ColumnIndex)
				continue
			}
			v, ok := c.vals[i].(parquet.Value)
			if !ok {
				v = parquet.ValueOf(c.vals[i])
			}
			rows[i][leaf.ColumnIndex] = v.Level(0, leaf.MaxDefinitionLevel, leaf.ColumnIndex)
		}
	}
	path := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, schema, parquet.MaxRowsPerRowGroup(groupRows), parquet.PageBufferSize(256))
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t testing.TB, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSameChunks writes the same rows as CSV and as Parquet (parquet-go,
// several row groups and pages) and checks that every accessor answers the
// same for every cell, whatever the chunk size.
func TestSameChunks(t *testing.T) {
	const n = 53
	base := time.Date(2026, 11, 20, 1, 2, 3, 456789000, time.UTC)
	id, name, x, f32, flag, ts := make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n), make([]any, n)
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	w.Write([]string{"id", "name", "x", "f32", "flag", "ts"})
	names := []string{"card", "a,b", `say "hi"`, "two\nlines", " padded ", "café"}
	for i := range n {
		id[i] = int64(i*1000003 - 7)
		rec := []string{strconv.FormatInt(int64(i*1000003-7), 10), "", "", "", "", ""}
		if i%5 != 2 {
			name[i] = names[i%len(names)]
			rec[1] = names[i%len(names)]
		}
		if i%4 != 1 {
			v := float64(i)/7 - 3
			x[i], rec[2] = v, strconv.FormatFloat(v, 'g', -1, 64)
		}
		v32 := float32(i) / 3
		f32[i], rec[3] = v32, strconv.FormatFloat(float64(v32), 'g', -1, 32)
		if i%6 != 0 {
			flag[i], rec[4] = i%2 == 0, strconv.FormatBool(i%2 == 0)
		}
		at := base.Add(time.Duration(i) * 77777 * time.Millisecond)
		ts[i], rec[5] = at.UnixMicro(), at.Format(time.RFC3339Nano)
		w.Write(rec)
	}
	w.Flush()
	csvPath := writeFile(t, "in.csv", sb.String())
	pqPath := writeParquet(t, 10,
		tcol{"id", parquet.Int(64), id},
		tcol{"name", parquet.Optional(parquet.String()), name},
		tcol{"x", parquet.Optional(parquet.Leaf(parquet.DoubleType)), x},
		tcol{"f32", parquet.Leaf(parquet.FloatType), f32},
		tcol{"flag", parquet.Optional(parquet.Leaf(parquet.BooleanType)), flag},
		tcol{"ts", parquet.Timestamp(parquet.Microsecond), ts},
	)
	wantTypes := map[string]Type{"id": Int, "name": String, "x": Float, "f32": Float, "flag": Bool, "ts": Time}
	for _, maxRows := range []int{1, 7, 10, 1000} {
		cr, cc := readAll(t, csvPath, maxRows)
		pr, pc := readAll(t, pqPath, maxRows)
		if len(cr.Columns()) != 6 || len(pr.Columns()) != 6 {
			t.Fatalf("columns: CSV %v, Parquet %v", cr.Columns(), pr.Columns())
		}
		for _, col := range pr.Columns() {
			if col.Type != wantTypes[col.Name] {
				t.Errorf("Parquet column %s has type %s, want %s", col.Name, col.Type, wantTypes[col.Name])
			}
			if ct := cr.Columns()[cr.Index(col.Name)].Type; ct != String {
				t.Errorf("CSV column %s has type %s, want string", col.Name, ct)
			}
		}
		rows := 0
		for k := range cc {
			if k >= len(pc) {
				t.Fatalf("maxRows %d: CSV has %d chunks, Parquet %d", maxRows, len(cc), len(pc))
			}
			c, p := cc[k], pc[k]
			rows += c.Len()
			if c.Len() != p.Len() {
				t.Fatalf("maxRows %d chunk %d: CSV %d rows, Parquet %d", maxRows, k, c.Len(), p.Len())
			}
			for _, col := range pr.Columns() {
				pj, cj := pr.Index(col.Name), cr.Index(col.Name)
				for i := range c.Len() {
					if cn, pn := c.Null(cj, i), p.Null(pj, i); cn != pn {
						t.Fatalf("%s %s: Null CSV %v, Parquet %v", p.Where(i), col.Name, cn, pn)
					}
					if ct, pt := c.Text(cj, i), p.Text(pj, i); ct != pt {
						t.Fatalf("%s %s: Text CSV %q, Parquet %q", p.Where(i), col.Name, ct, pt)
					}
					cf, cerr := c.Float(cj, i)
					pf, perr := p.Float(pj, i)
					if (cerr == nil) != (perr == nil) && col.Name != "flag" {
						t.Fatalf("%s %s: Float errors CSV %v, Parquet %v", p.Where(i), col.Name, cerr, perr)
					}
					if col.Name == "f32" {
						// A FLOAT widens exactly; its text is its shortest
						// float32 form, which parses to another float64.
						cf, pf = float64(float32(cf)), float64(float32(pf))
					}
					if cerr == nil && perr == nil && !(cf == pf || math.IsNaN(cf) && math.IsNaN(pf)) {
						t.Fatalf("%s %s: Float CSV %v, Parquet %v", p.Where(i), col.Name, cf, pf)
					}
					if col.Name == "ts" {
						ctm, err1 := c.Time(cj, i)
						ptm, err2 := p.Time(pj, i)
						if err1 != nil || err2 != nil || !ctm.Equal(ptm) {
							t.Fatalf("%s: Time CSV %v (%v), Parquet %v (%v)", p.Where(i), ctm, err1, ptm, err2)
						}
					}
				}
			}
		}
		if rows != n || len(cc) != len(pc) {
			t.Fatalf("maxRows %d: %d rows in %d CSV chunks and %d Parquet chunks, want %d rows", maxRows, rows, len(cc), len(pc), n)
		}
	}
}

// TestOtherWriter reads a file DuckDB wrote (testdata/gen/table_fixture.mjs)
// and checks every cell against DuckDB's own reading of it.
func TestOtherWriter(t *testing.T) {
	pr, pc := readAll(t, "../../testdata/table/mixed.duckdb.parquet", 333)
	er, ec := readAll(t, "../../testdata/table/mixed.expected.csv", 1000)
	want := []Column{{"id", Int}, {"i32", Int}, {"u64", Int}, {"x", Float}, {"f", Float}, {"dec", Float}, {"b", Bool},
		{"s", String}, {"ts", Time}, {"tsns", Time}, {"tz", Time}, {"d", Time}}
	if got := pr.Columns(); len(got) != len(want) {
		t.Fatalf("columns %v, want %v", got, want)
	}
	for i, c := range pr.Columns() {
		if c != want[i] {
			t.Errorf("column %d is %v, want %v", i, c, want[i])
		}
	}
	// Flatten the expected cells.
	var exp [][]string
	for _, c := range ec {
		for i := range c.Len() {
			row := make([]string, len(er.Columns()))
			for j := range row {
				row[j] = c.Text(j, i)
			}
			exp = append(exp, row)
		}
	}
	r := 0
	for _, c := range pc {
		for i := range c.Len() {
			if r >= len(exp) {
				t.Fatalf("Parquet has more rows than the %d DuckDB read", len(exp))
			}
			if w := c.Where(i); w != "../../testdata/table/mixed.duckdb.parquet row "+strconv.Itoa(r) {
				t.Fatalf("Where(%d) = %q at file row %d", i, w, r)
			}
			for j, col := range want {
				e := exp[r][j]
				where := c.Where(i) + " " + col.Name
				// DuckDB's NaN is a value, here missing as in CSV.
				if got := c.Null(j, i); got != (e == "" || e == "NaN") {
					t.Fatalf("%s: Null = %v, DuckDB read %q", where, got, e)
				}
				if e == "" || e == "NaN" {
					continue
				}
				switch col.Type {
				case Int, Float, Bool:
					got, err := c.Float(j, i)
					wf, _ := strconv.ParseFloat(e, 64)
					if err != nil || got != wf {
						t.Fatalf("%s: Float = %v, %v; DuckDB read %s", where, got, err, e)
					}
				case String:
					if got := c.Text(j, i); got != e {
						t.Fatalf("%s: Text = %q, DuckDB read %q", where, got, e)
					}
				case Time:
					got, err := c.Time(j, i)
					ns, _ := strconv.ParseInt(e, 10, 64)
					if err != nil || got.UnixNano() != ns {
						t.Fatalf("%s: Time = %v, %v; DuckDB read %d ns", where, got, err, ns)
					}
					if txt := c.Text(j, i); txt != time.Unix(0, ns).UTC().Format(time.RFC3339Nano) {
						t.Fatalf("%s: Text = %q, want RFC 3339 of %d ns", where, txt, ns)
					}
				}
			}
			r++
		}
	}
	if r != len(exp) || r != 3000 {
		t.Fatalf("read %d Parquet rows, DuckDB read %d, want 3000", r, len(exp))
	}
}

func TestWhereCSVPhysicalLines(t *testing.T) {
	path := writeFile(t, "w.csv", "a,b\n1,\"x\ny\"\n\n2,z\n3,\"p\n\nq\"\n4,w\n")
	_, cs := readAll(t, path, 2)
	var got []string
	for _, c := range cs {
		for i := range c.Len() {
			got = append(got, c.Where(i))
		}
	}
	want := []string{path + ":2", path + ":5", path + ":6", path + ":9"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Where = %v, want %v", got, want)
	}
}

func TestMissingCells(t *testing.T) {
	path := writeFile(t, "m.csv", "v\n\nNA\n NaN \nnan\nnull\nN/A\nna\n0\n")
	_, cs := readAll(t, path, 100)
	c := cs[0]
	// encoding/csv skips the empty line: 7 rows.
	want := []bool{true, true, true, true, true, false, false}
	if c.Len() != len(want) {
		t.Fatalf("%d rows, want %d", c.Len(), len(want))
	}
	for i, w := range want {
		if c.Null(0, i) != w {
			t.Errorf("Null(%q) = %v, want %v", c.Text(0, i), !w, w)
		}
		x, err := c.Float(0, i)
		if w && (err != nil || !math.IsNaN(x)) {
			t.Errorf("Float(%q) = %v, %v; want NaN", c.Text(0, i), x, err)
		}
	}
	if _, err := c.Float(0, 5); err == nil || !strings.Contains(err.Error(), path+":8: column \"v\": \"na\" is not a finite number") {
		t.Errorf("Float(na) error = %v", err)
	}
}

func TestErrors(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct {
		name, file, data string
		opts             Options
		want             string // in the error of Open or Next
	}{
		{"extension", "a.txt", "a\n1\n", Options{}, `want a .csv or .parquet file (got ".txt")`},
		{"empty", "a.csv", "", Options{}, "a.csv: empty file, want a header row"},
		{"duplicate", "a.csv", "a, b ,b\n1,2,3\n", Options{}, `a.csv: column "b" appears twice in the header, as columns 2 and 3`},
		{"field count", "a.csv", "a,b\n1,2\n3\n", Options{}, "a.csv:3: a record of 1 fields, want 2"},
		{"quote", "a.csv", "a,b\n1,2\n3,x\"y\n", Options{}, `a.csv:3: byte 4 of the line: bare " in non-quoted-field`},
		{"too long", "a.csv", "a\n1\n" + long + "\n", Options{MaxRecordBytes: 50}, "a.csv:3: record longer than 50 bytes (Options.MaxRecordBytes)"},
		{"too long quoted", "a.csv", "a\n1\n\"x\n" + long + "\"\n", Options{MaxRecordBytes: 50}, "a.csv:3: record longer than 50 bytes"},
		{"negative", "a.csv", "a\n", Options{MaxRecordBytes: -1}, "Options.MaxRecordBytes is -1"},
		{"not parquet", "a.parquet", "hello, this is not a parquet file", Options{}, "a.parquet: not a readable Parquet file: no PAR1 magic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.file, tc.data)
			r, err := Open(path, tc.opts)
			if err == nil {
				defer r.Close()
				var c Chunk
				for err == nil {
					_, err = r.Next(&c, 1)
				}
				if _, again := r.Next(&c, 1); again != err {
					t.Errorf("Next after %v = %v, want the same error", err, again)
				}
			}
			if err == nil || err == io.EOF || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestParquetErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cols []tcol
		want string
	}{
		{"list", []tcol{{"a", parquet.Repeated(parquet.Leaf(parquet.DoubleType)), []any{1.0}}}, `column "a" is repeated (a list)`},
		{"time of day", []tcol{{"a", parquet.Time(parquet.Millisecond), []any{int32(5)}}}, `column "a" has type INT32 (TIME(`},
		{"too long", []tcol{{"a", parquet.String(), []any{strings.Repeat("y", DefaultMaxRecordBytes+1)}}}, ` row 0: column "a": a value of 1048577 bytes, longer than the 1048576-byte limit`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeParquet(t, 10, tc.cols...)
			r, err := Open(path, Options{})
			if err == nil {
				defer r.Close()
				_, err = r.Next(new(Chunk), 10)
			}
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s and containing %q", err, path, tc.want)
			}
		})
	}
}

func TestParquetGroupRefused(t *testing.T) {
	type inner struct{ B float64 }
	type row struct {
		N int64
		A inner
	}
	path := filepath.Join(t.TempDir(), "g.parquet")
	if err := parquet.WriteFile(path, []row{{1, inner{2}}}); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), path+`: column "A" is a group of columns, want one value per row`) {
		t.Fatalf("error %v, want the group refused", err)
	}
}

func TestAccessorErrors(t *testing.T) {
	path := writeParquet(t, 10,
		tcol{"ts", parquet.Optional(parquet.Timestamp(parquet.Millisecond)), []any{int64(0), nil, int64(math.MaxInt64 / 2)}},
		tcol{"n", parquet.Int(64), []any{int64(1), int64(2), int64(3)}},
		tcol{"inf", parquet.Leaf(parquet.DoubleType), []any{math.Inf(1), 1.0, 2.0}},
		tcol{"s", parquet.String(), []any{"2026-01-01T00:00:00Z", " 1.5 ", "x"}},
	)
	r, cs := readAll(t, path, 10)
	c := cs[0]
	ts, n, inf, str := r.Index("ts"), r.Index("n"), r.Index("inf"), r.Index("s")
	check := func(err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one containing %q", err, want)
		}
	}
	if tm, err := c.Time(ts, 0); err != nil || !tm.Equal(time.Unix(0, 0)) {
		t.Errorf("Time(ts, 0) = %v, %v", tm, err)
	}
	_, err := c.Time(ts, 1)
	check(err, path+" row 1: column \"ts\": a missing value is not a time")
	_, err = c.Time(ts, 2)
	check(err, "row 2: column \"ts\": ")
	check(err, "is outside the years 1678..2262")
	_, err = c.Time(n, 0)
	check(err, "row 0: column \"n\": a int column (1) holds no times")
	_, err = c.Float(inf, 0)
	check(err, "row 0: column \"inf\": +Inf is not a finite number")
	_, err = c.Float(ts, 0)
	check(err, "column \"ts\": a time (1970-01-01T00:00:00Z) is not a number")
	if tm, err := c.Time(str, 0); err != nil || tm.Year() != 2026 {
		t.Errorf("Time(s, 0) = %v, %v", tm, err)
	}
	if x, err := c.Float(str, 1); err != nil || x != 1.5 {
		t.Errorf("Float(s, 1) = %v, %v", x, err)
	}
	_, err = c.Float(str, 2)
	check(err, "row 2: column \"s\": \"x\" is not a finite number")
}

func TestDuplicateParquetColumns(t *testing.T) {
	// parquet-go's writer keeps one of two equal names, so the footer is
	// written by hand: a schema of two leaves named "a".
	path := filepath.Join(t.TempDir(), "dup.parquet")
	if err := os.WriteFile(path, dupSchemaFile(t), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), `column "a" appears twice in the schema, as columns 1 and 2`) {
		t.Fatalf("error %v, want the duplicate named with both positions", err)
	}
}

func TestRecordTooLongError(t *testing.T) {
	r := LimitRecords(strings.NewReader("ab\n\"c\nd\"\nxyz\n"), 3)
	_, err := io.ReadAll(r)
	var tl *RecordTooLongError
	if !errors.As(err, &tl) || tl.Line != 2 {
		t.Fatalf("error %v, want a RecordTooLongError at line 2", err)
	}
}

// dupSchemaFile is a Parquet file of no rows whose schema has two
// top-level INT64 columns named "a".
func dupSchemaFile(t *testing.T) []byte {
	t.Helper()
	i64 := thrift.Null[format.Type]{V: format.Int64, Valid: true}
	req := thrift.Null[format.FieldRepetitionType]{V: format.Required, Valid: true}
	two := thrift.Null[int32]{V: 2, Valid: true}
	meta := format.FileMetaData{
		Version: 1,
		Schema: []format.SchemaElement{
			{Name: "row", NumChildren: two},
			{Name: "a", Type: i64, RepetitionType: req},
			{Name: "a", Type: i64, RepetitionType: req},
		},
	}
	b, err := thrift.Marshal(new(thrift.CompactProtocol), &meta)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte("PAR1"), b...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
	return append(out, "PAR1"...)
}

// TestMaxRecordBytesBound: a CSV record of exactly MaxRecordBytes bytes
// (newline excluded) is read, one byte more is refused; a Parquet string
// of exactly MaxRecordBytes bytes is read, one more is refused.
func TestMaxRecordBytesBound(t *testing.T) {
	const max = 64
	for _, tc := range []struct {
		n  int
		ok bool
	}{{max, true}, {max + 1, false}} {
		path := writeFile(t, "a.csv", "a,b\n"+strings.Repeat("x", tc.n-2)+",y\n")
		r, err := Open(path, Options{MaxRecordBytes: max})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Next(new(Chunk), 10)
		r.Close()
		if (err == nil) != tc.ok {
			t.Errorf("CSV record of %d bytes with MaxRecordBytes %d: %v", tc.n, max, err)
		}
		pq := writeParquet(t, 10, tcol{"s", parquet.String(), []any{strings.Repeat("z", tc.n)}})
		r, err = Open(pq, Options{MaxRecordBytes: max})
		if err != nil {
			t.Fatal(err)
		}
		var c Chunk
		_, err = r.Next(&c, 10)
		r.Close()
		if (err == nil) != tc.ok || tc.ok && len(c.Text(0, 0)) != tc.n {
			t.Errorf("Parquet string of %d bytes with MaxRecordBytes %d: %v", tc.n, max, err)
		}
	}
}

func TestInt(t *testing.T) {
	const big = int64(1)<<60 + 1 // not exact as a float64
	pq := writeParquet(t, 10,
		tcol{"i", parquet.Optional(parquet.Int(64)), []any{big, int64(-7), nil, int64(0)}},
		tcol{"u", parquet.Uint(64), []any{uint64(1) << 63, uint64(5), uint64(6), uint64(7)}},
		tcol{"x", parquet.Leaf(parquet.DoubleType), []any{3.0, 2.5, 1e19, -0.0}},
		tcol{"b", parquet.Leaf(parquet.BooleanType), []any{true, false, true, false}},
		tcol{"s", parquet.String(), []any{" 12 ", "x", "9223372036854775808", "-9223372036854775808"}},
		tcol{"t", parquet.Timestamp(parquet.Millisecond), []any{int64(0), int64(1), int64(2), int64(3)}},
	)
	r, cs := readAll(t, pq, 10)
	c := cs[0]
	col := func(name string) int { return r.Index(name) }
	for _, tc := range []struct {
		col  string
		row  int
		want int64
		err  string
	}{
		{"i", 0, big, ""}, {"i", 1, -7, ""}, {"i", 2, 0, `row 2: column "i": a missing value is not an integer`},
		{"u", 0, 0, `column "u": 9223372036854775808 is beyond int64`}, {"u", 1, 5, ""},
		{"x", 0, 3, ""}, {"x", 1, 0, `column "x": 2.5 is not an integer within int64`}, {"x", 2, 0, "1e+19 is not an integer within int64"}, {"x", 3, 0, ""},
		{"b", 0, 1, ""}, {"b", 1, 0, ""},
		{"s", 0, 12, ""}, {"s", 1, 0, `column "s": "x" is not an integer`}, {"s", 2, 0, `"9223372036854775808" is not an integer within int64`}, {"s", 3, math.MinInt64, ""},
		{"t", 0, 0, `column "t": a time (1970-01-01T00:00:00Z) is not an integer`},
	} {
		got, err := c.Int(col(tc.col), tc.row)
		if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), pq)) {
			t.Errorf("Int(%s, %d) = %d, %v; want %d, error %q", tc.col, tc.row, got, err, tc.want, tc.err)
		}
	}
	csvPath := writeFile(t, "i.csv", "n\n1152921504606846977\n -3 \nNA\n4.0\n")
	_, cs = readAll(t, csvPath, 10)
	c = cs[0]
	for row, want := range []int64{big, -3} {
		if got, err := c.Int(0, row); err != nil || got != want {
			t.Errorf("CSV Int(row %d) = %d, %v; want %d", row, got, err, want)
		}
	}
	if _, err := c.Int(0, 2); err == nil || !strings.Contains(err.Error(), csvPath+":4: column \"n\": a missing value") {
		t.Errorf("CSV Int(NA) error %v", err)
	}
	if _, err := c.Int(0, 3); err == nil || !strings.Contains(err.Error(), `"4.0" is not an integer`) {
		t.Errorf("CSV Int(4.0) error %v", err)
	}
}

func TestAccessorsDoNotAllocate(t *testing.T) {
	pq := writeParquet(t, 10,
		tcol{"i", parquet.Int(64), []any{int64(5)}},
		tcol{"s", parquet.String(), []any{"12"}},
		tcol{"x", parquet.Leaf(parquet.DoubleType), []any{1.5}},
	)
	_, cs := readAll(t, pq, 10)
	c := cs[0]
	csvPath := writeFile(t, "a.csv", "i,x\n 7 ,2.5\n")
	_, ccs := readAll(t, csvPath, 10)
	cc := ccs[0]
	var sink float64
	allocs := testing.AllocsPerRun(100, func() {
		a, _ := c.Int(0, 0)
		b, _ := c.Int(1, 0)
		x, _ := c.Float(2, 0)
		y, _ := c.Float(1, 0)
		d, _ := cc.Int(0, 0)
		z, _ := cc.Float(1, 0)
		sink += float64(a+b+d) + x + y + z
		if c.Null(0, 0) || cc.Null(1, 0) {
			sink++
		}
	})
	if allocs != 0 || sink == 0 {
		t.Errorf("Int, Float and Null allocate %v times per run, want 0", allocs)
	}
}

// TestParquetTypes: the logical types Open maps, by a parquet-go writer.
func TestParquetTypes(t *testing.T) {
	pq := writeParquet(t, 10,
		tcol{"json", parquet.JSON(), []any{`{"a":1}`}},
		tcol{"enum", parquet.Enum(), []any{"RED"}},
		tcol{"uuid", parquet.UUID(), []any{parquet.FixedLenByteArrayValue([]byte("0123456789abcdef"))}},
		tcol{"fixed", parquet.Leaf(parquet.FixedLenByteArrayType(3)), []any{parquet.FixedLenByteArrayValue([]byte("abc"))}},
		tcol{"day", parquet.Date(), []any{int32(20454)}},
		tcol{"f32", parquet.Leaf(parquet.FloatType), []any{float32(math.NaN())}},
		tcol{"i8", parquet.Int(8), []any{int32(-3)}},
		tcol{"dec", parquet.Decimal(3, 18, parquet.Int64Type), []any{int64(12345)}},
	)
	r, cs := readAll(t, pq, 10)
	c := cs[0]
	for _, w := range []struct {
		name string
		typ  Type
		text string
	}{
		{"json", String, `{"a":1}`}, {"enum", String, "RED"}, {"uuid", String, "0123456789abcdef"}, {"fixed", String, "abc"},
		{"day", Time, "2026-01-01T00:00:00Z"}, {"f32", Float, "NaN"}, {"i8", Int, "-3"}, {"dec", Float, "12.345"},
	} {
		j := r.Index(w.name)
		if j < 0 || r.Columns()[j].Type != w.typ || c.Text(j, 0) != w.text {
			t.Errorf("column %s: %+v, text %q; want %s %q", w.name, r.Columns()[max(j, 0)], c.Text(max(j, 0), 0), w.typ, w.text)
		}
	}
	if !c.Null(r.Index("f32"), 0) {
		t.Errorf("a FLOAT NaN is not missing")
	}
}

// TestCSVTimeForms: Chunk.Time reads the CSV time forms pandas, Spark and
// DuckDB write (featcache.ParseEventTime; no offset means UTC), and an
// unknown form is an error naming the file, line and column.
func TestCSVTimeForms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.csv")
	body := "id,ts\n1,2026-12-01 00:00:00\n2,2026-12-01 00:00:00.5+00:00\n3,2026-12-01T00:00:00.000Z\n4,2026-12-01 01:00:00+01\n5,12/01/2026\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r, cs := readAll(t, path, 10)
	c := cs[0]
	ts := r.Index("ts")
	midnight := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i, want := range []time.Time{midnight, midnight.Add(500 * time.Millisecond), midnight, midnight} {
		if got, err := c.Time(ts, i); err != nil || !got.Equal(want) {
			t.Errorf("Time(ts, %d) of %q = %v, %v, want %v", i, c.Text(ts, i), got, err, want)
		}
	}
	_, err := c.Time(ts, 4)
	want := path + `:6: column "ts": "12/01/2026" is not a time in a known form; want ` + featcache.EventTimeForms
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Time(ts, 4) error %v, want one containing %q", err, want)
	}
}
