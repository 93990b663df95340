package table

import (
	"encoding/csv"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// FuzzCSV holds the CSV path to encoding/csv: the same header (names
// trimmed, a leading byte order mark dropped), the same records cell for
// cell, each at the line encoding/csv says it starts on, and an error
// (naming the file) exactly where encoding/csv has one. A header naming a
// column twice must be refused instead.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\n1,2\n3\n", "a\n\"x\ny\"\n\n2\n", "\ufeffa, b \r\n1,\"q\"\"\"\r\n",
		"a,a\n1,2\n", "", "a\n\"unterminated\n", "a,b\n1,x\"y\n", "x\n NA \nnull\n\n\n1e9\n",
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(3))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte, rows uint8) {
		maxRows := 1 + int(rows%5)
		path := filepath.Join(dir, "in.csv")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		cr := csv.NewReader(strings.NewReader(string(in)))
		header, herr := cr.Read()
		r, err := Open(path, Options{})
		if herr != nil {
			if err == nil {
				r.Close()
				t.Fatalf("Open succeeded where encoding/csv fails on the header: %v", herr)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
			return
		}
		names := map[string]bool{}
		dup := false
		for i, h := range header {
			if i == 0 {
				h = strings.TrimPrefix(h, "\ufeff")
			}
			h = strings.TrimSpace(h)
			dup = dup || names[h]
			names[h] = true
			if err == nil && r.Columns()[i] != (Column{h, String}) {
				t.Fatalf("column %d = %v, want %q", i, r.Columns()[i], h)
			}
		}
		if dup {
			if err == nil || !strings.Contains(err.Error(), "appears twice") {
				t.Fatalf("header %q: Open error %v, want a duplicate refused", header, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer r.Close()
		var c Chunk
		var got [][]string
		var lines []string
		var rerr error
		for {
			n, err := r.Next(&c, maxRows)
			if err != nil {
				rerr = err
				break
			}
			for i := range n {
				rec := make([]string, len(header))
				for j := range rec {
					rec[j] = c.Text(j, i)
				}
				got = append(got, rec)
				lines = append(lines, c.Where(i))
			}
		}
		for k := 0; ; k++ {
			want, werr := cr.Read()
			if werr != nil {
				if werr == io.EOF {
					if rerr != io.EOF || k != len(got) {
						t.Fatalf("encoding/csv ends after %d records; table read %d and then %v", k, len(got), rerr)
					}
				} else {
					if rerr == io.EOF || k < len(got) || !strings.Contains(rerr.Error(), path) {
						t.Fatalf("encoding/csv fails at record %d (%v); table read %d and then %v", k, werr, len(got), rerr)
					}
				}
				return
			}
			if k >= len(got) {
				if rerr == io.EOF {
					t.Fatalf("table ends after %d records, encoding/csv reads %q", len(got), want)
				}
				continue // table dropped the chunk that failed
			}
			line, _ := cr.FieldPos(0)
			if strings.Join(want, "\x00") != strings.Join(got[k], "\x00") || lines[k] != path+":"+strconv.Itoa(line) {
				t.Fatalf("record %d: table %q at %s, encoding/csv %q at line %d", k, got[k], lines[k], want, line)
			}
		}
	})
}

// FuzzParquet feeds arbitrary bytes to the Parquet path: it must give
// chunks whose every accessor answers, or an error naming the file; never
// a panic.
//
// The seeds are small files of every type (a few rows, two row groups):
// the fuzzer minimizes each input that finds new code, which takes minutes
// for a file of tens of kilobytes such as the DuckDB fixture.
func FuzzParquet(f *testing.F) {
	good := smallParquet(f)
	f.Add(good)
	for _, n := range []int{len(good) - 1, len(good) / 2, 4, 0} {
		f.Add(good[:n])
	}
	f.Add([]byte("PAR1PAR1"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(dir, "in.parquet")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		named := func(err error) {
			if err != nil && err != io.EOF && !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
		}
		r, err := Open(path, Options{})
		if err != nil {
			named(err)
			return
		}
		defer r.Close()
		var c Chunk
		// A mutated row count or RLE run can make a file of billions of
		// valid rows; the first few chunks are enough to exercise them.
		for range 50 {
			n, err := r.Next(&c, 100)
			if err != nil {
				named(err)
				return
			}
			for j := range r.Columns() {
				for i := range n {
					c.Null(j, i)
					c.Text(j, i)
					_, err := c.Float(j, i)
					named(err)
					_, err = c.Time(j, i)
					named(err)
				}
			}
		}
	})
}

// smallParquet is a Parquet file of five rows in two row groups, with a
// column of each type table maps, nulls included.
func smallParquet(f testing.TB) []byte {
	path := writeParquet(f, 3,
		tcol{"i", parquet.Optional(parquet.Int(64)), []any{int64(1), nil, int64(-3), int64(4), int64(5)}},
		tcol{"u", parquet.Uint(32), []any{uint32(1), uint32(2), uint32(3), uint32(4), uint32(1 << 31)}},
		tcol{"x", parquet.Optional(parquet.Leaf(parquet.DoubleType)), []any{1.5, nil, math.NaN(), -2.0, 3.0}},
		tcol{"d", parquet.Decimal(2, 9, parquet.Int32Type), []any{int32(150), int32(-1), int32(0), int32(7), int32(99)}},
		tcol{"b", parquet.Leaf(parquet.BooleanType), []any{true, false, true, false, true}},
		tcol{"s", parquet.Optional(parquet.String()), []any{"a", "b,c", nil, "", "é"}},
		tcol{"t", parquet.Timestamp(parquet.Millisecond), []any{int64(0), int64(1), int64(2), int64(3), int64(4)}},
		tcol{"day", parquet.Date(), []any{int32(0), int32(1), int32(20000), int32(-5), int32(3)}},
	)
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzLimitRecords holds LimitRecords (with its IndexByte fast path) to
// the byte-by-byte rule it documents, read in pieces of any size: the
// same bytes pass, and a record too long is refused at the same line.
func FuzzLimitRecords(f *testing.F) {
	f.Add([]byte("ab\n\"c\nd\"\nxyz\n"), uint8(3), uint8(2))
	f.Add([]byte("abc\ndefgh\n"), uint8(4), uint8(7))
	f.Add([]byte("\"a\"\"b\"\n1234567\n"), uint8(6), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, max, piece uint8) {
		m, k := int(max%16)+1, int(piece%9)+1
		// The rule, byte by byte.
		wantN, wantLine := len(in), 0
		cur, quoted, line, recLine := 0, false, 1, 1
		for i, c := range in {
			switch c {
			case '"':
				quoted = !quoted
			case '\n':
				line++
				if !quoted {
					cur, recLine = 0, line
					continue
				}
			}
			if cur++; cur > m {
				wantN, wantLine = i, recLine
				break
			}
		}
		r := LimitRecords(&pieces{b: in, k: k}, m)
		got, err := io.ReadAll(r)
		var tl *RecordTooLongError
		gotLine := 0
		if errors.As(err, &tl) {
			gotLine = tl.Line
		} else if err != nil {
			t.Fatal(err)
		}
		if len(got) != wantN || gotLine != wantLine {
			t.Fatalf("LimitRecords(%q, %d) in pieces of %d: passed %d bytes, line %d; want %d bytes, line %d", in, m, k, len(got), gotLine, wantN, wantLine)
		}
	})
}

// pieces reads b at most k bytes at a time.
type pieces struct {
	b []byte
	k int
}

func (p *pieces) Read(dst []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	n := copy(dst[:min(len(dst), p.k)], p.b)
	p.b = p.b[n:]
	return n, nil
}
