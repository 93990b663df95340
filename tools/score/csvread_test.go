package score

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

var nan = math.NaN()

// readCSV reads in with both the fast path and encoding/csv for every
// record, at two batch sizes, and fails unless all four agree.
func readCSV(t *testing.T, in string, features []model.Feature) ([]float64, error) {
	t.Helper()
	var firstRows []float64
	var firstErr error
	for i, force := range []bool{false, true} {
		for j, batch := range []int{1, 1000} {
			var rows []float64
			r, err := newCSVReader(strings.NewReader(in), "input.csv", features, force)
			if err == nil {
				rows, err = readAll(r, len(features), batch)
			}
			if i == 0 && j == 0 {
				firstRows, firstErr = rows, err
				continue
			}
			if !sameFloats(rows, firstRows) || errString(err) != errString(firstErr) {
				t.Fatalf("read %q with forceCSV=%v batch=%d = %v, %v; fast path with batch=1 gave %v, %v",
					in, force, batch, rows, err, firstRows, firstErr)
			}
		}
	}
	return firstRows, firstErr
}

func TestCSVReader(t *testing.T) {
	long := strings.Repeat("x", 100<<10) // past the 64 KiB line buffer
	tests := []struct {
		name string
		in   string
		want []float64
	}{
		{"plain", "x,y,z\n1,2,3\n4,5,6\n", []float64{1, 2, 3, 4, 5, 6}},
		{"reordered", "z,x,y\n3,1,2\n", []float64{1, 2, 3}},
		{"extra columns", "id,z,name,x,y,w\n7,3,bob,1,2,9\n", []float64{1, 2, 3}},
		{"missing markers", "x,y,z\n,NA,NaN\nnan,N/A,null\n", []float64{nan, nan, nan, nan, nan, nan}},
		{"spaces", "x,y,z\n 1 ,\t2,3  \n  ,  NA  , -4.5e1\n", []float64{1, 2, 3, nan, nan, -45}},
		{"infinities", "x,y,z\ninf,-inf,+Inf\n", []float64{math.Inf(1), math.Inf(-1), math.Inf(1)}},
		{"out of range", "x,y,z\n1e400,-1e400,1e-400\n", []float64{math.Inf(1), math.Inf(-1), 0}},
		{"exponents and signs", "x,y,z\n-0,+1.5,1E3\n", []float64{math.Copysign(0, -1), 1.5, 1000}},
		{"quoted cells", "x,y,z\n\"1\",\" 2 \",\"\"\n", []float64{1, 2, nan}},
		{"quoted ignored column", "x,note,y,z\n1,\"a, \"\"quoted\"\" note\",2,3\n", []float64{1, 2, 3}},
		{"quoted newline", "x,note,y,z\n1,\"line one\nline two\",2,3\n4,,5,6\n", []float64{1, 2, 3, 4, 5, 6}},
		{"quoted header", "\"x\",\"y\",\"z\"\n1,2,3\n", []float64{1, 2, 3}},
		{"header spaces", "x, y ,z\n1,2,3\n", []float64{1, 2, 3}},
		{"crlf", "x,y,z\r\n1,2,3\r\n4,5,6\r\n", []float64{1, 2, 3, 4, 5, 6}},
		{"crlf quoted", "x,y,z\r\n\"1\",2,3\r\n", []float64{1, 2, 3}},
		{"no final newline", "x,y,z\n1,2,3", []float64{1, 2, 3}},
		{"cr before eof", "x,y,z\n1,2,3\r", []float64{1, 2, 3}},
		{"blank lines", "\nx,y,z\n\n1,2,3\n\r\n\n4,5,6\n\n", []float64{1, 2, 3, 4, 5, 6}},
		{"byte order mark", "\xEF\xBB\xBFx,y,z\n1,2,3\n", []float64{1, 2, 3}},
		{"header only", "x,y,z\n", nil},
		{"header only no newline", "x,y,z", nil},
		{"long ignored cell", "x,y,note,z\n1,2," + long + ",3\n4,5,,6\n", []float64{1, 2, 3, 4, 5, 6}},
		{"long quoted cell", "x,y,note,z\n1,2,\"" + long + "\n" + long + "\",3\n4,5,,6\n", []float64{1, 2, 3, 4, 5, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readCSV(t, tt.in, feats("x", "y", "z"))
			if err != nil {
				t.Fatalf("read %.60q: %v", tt.in, err)
			}
			if !sameFloats(got, tt.want) {
				t.Errorf("read %.60q = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCSVReaderErrors(t *testing.T) {
	// goodRows returns n valid data lines.
	goodRows := func(n int) string { return strings.Repeat("1,2,3\n", n) }
	tests := []struct {
		name     string
		features []string
		in       string
		want     string
	}{
		{"missing columns", []string{"income", "x", "age"}, "x,y\n1,2\n",
			"input.csv: missing columns the model needs: income, age"},
		{"duplicate columns", []string{"x"}, "a,x,b,a,b,a\n",
			`input.csv:1: the header names these columns more than once: "a" (columns 1, 4 and 6), "b" (columns 3 and 5)`},
		{"duplicate after trimming", []string{"x"}, "x, x\n", `input.csv:1: the header names these columns more than once: "x" (columns 1 and 2)`},
		{"duplicate column a model reads", []string{"user_id", "x"}, "user_id,x,user_id\n", `input.csv:1: the header names these columns more than once: "user_id" (columns 1 and 3)`},
		{"empty file", []string{"x"}, "", "input.csv: empty file: want a header line naming the columns"},
		{"blank file", []string{"x"}, "\n\r\n\n", "input.csv: empty file: want a header line naming the columns"},
		{"not a number at line 17", []string{"x", "age", "z"}, "x,age,z\n" + goodRows(15) + "1,abc,3\n",
			`input.csv:17: column "age": "abc" is not a number`},
		{"not a number keeps its spaces in the message", []string{"x"}, "x\n 1 2 \n",
			`input.csv:2: column "x": " 1 2 " is not a number`},
		{"long bad cell is cut", []string{"x"}, "x\n" + strings.Repeat("9", 30) + "z" + strings.Repeat("9", 30) + "\n",
			`input.csv:2: column "x": "999999999999999999999999999999z999999999..." is not a number`},
		{"lines count blanks", []string{"x", "y", "z"}, "x,y,z\n\n1,2,3\n\n\nNA,-,3\n",
			`input.csv:6: column "y": "-" is not a number`},
		{"lines count quoted newlines", []string{"x", "y", "z"}, "x,y,z,note\n1,2,3,\"a\nb\nc\"\n1,2,?,\n",
			`input.csv:5: column "z": "?" is not a number`},
		{"cell on the second line of its record", []string{"x", "y", "z"}, "x,note,y,z\n1,\"a\nb\",2,x3\n",
			`input.csv:3: column "z": "x3" is not a number`},
		{"too few fields", []string{"x", "y", "z"}, "x,y,z\n1,2,3\n1,2\n", "input.csv:3: row has 2 fields, the header has 3"},
		{"too many fields", []string{"x", "y", "z"}, "x,y,z\n1,2,3,4\n", "input.csv:2: row has 4 fields, the header has 3"},
		{"quoted wrong count", []string{"x", "y", "z"}, "x,y,z\n\n\"1\",2\n", "input.csv:3: row has 2 fields, the header has 3"},
		{"bare quote", []string{"x", "y"}, "x,y\n1,2\"5\n", `input.csv:2:4: bare " in non-quoted-field`},
		{"unclosed quote", []string{"x", "y"}, "x,y\n1,2\n1,\"2\n3,4\n", `input.csv:4:5: extraneous or missing " in quoted-field`},
		{"not a number only because of a comma", []string{"x", "y"}, "x,y\n\"1,5\",2\n", `input.csv:2: column "x": "1,5" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readCSV(t, tt.in, feats(tt.features...))
			if errString(err) != tt.want {
				t.Errorf("read %.80q:\n got  %v\n want %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestCSVReaderRecordTooLong(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 17 MB")
	}
	// An unclosed quote would otherwise read the rest of the file into one
	// field.
	in := "x,y\n1,\"2\n" + strings.Repeat("3,4\n", (maxRecordBytes/4)+10)
	r, err := NewCSVReader(strings.NewReader(in), "input.csv", feats("x", "y"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(r, 2, 10)
	want := fmt.Sprintf("input.csv:2: record is longer than %d bytes (is a quote left open?)", maxRecordBytes)
	if errString(err) != want {
		t.Errorf("got %v, want %s", err, want)
	}

	in = "x,y\n1," + strings.Repeat("2", maxRecordBytes+1) + "\n"
	r, err = NewCSVReader(strings.NewReader(in), "input.csv", feats("x", "y"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(r, 2, 10)
	want = fmt.Sprintf("input.csv:2: line is longer than %d bytes", maxRecordBytes)
	if errString(err) != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestCSVReaderRowsBeforeError checks the io.Reader-like contract: the rows
// before a bad cell come back with the error, and the error sticks.
func TestCSVReaderRowsBeforeError(t *testing.T) {
	r, err := NewCSVReader(strings.NewReader("x\n1\n2\nbad\n4\n"), "input.csv", feats("x"))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 10)
	n, err := r.Read(dst)
	if n != 2 || !sameFloats(dst[:n], []float64{1, 2}) || err == nil {
		t.Fatalf("Read = %d %v, %v; want 2 rows [1 2] and an error", n, dst[:n], err)
	}
	if n, err2 := r.Read(dst); n != 0 || errString(err2) != errString(err) {
		t.Errorf("Read after error = %d, %v; want 0, %v", n, err2, err)
	}
}

func TestParseCellAllocs(t *testing.T) {
	cells := [][]byte{[]byte("12345.678901"), []byte(" -1e-7 "), []byte("NA"), []byte("")}
	allocs := testing.AllocsPerRun(100, func() {
		for _, c := range cells {
			parseCell(c)
		}
	})
	if allocs != 0 {
		t.Errorf("parseCell allocates %v times per run, want 0", allocs)
	}
}

func TestCSVReaderReadAllocs(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("x,y,z\n")
	for i := range 5000 {
		fmt.Fprintf(&in, "%d,%d.5,-%d\n", i, i, i)
	}
	r, err := NewCSVReader(&in, "input.csv", feats("x", "y", "z"))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float64, 3*100)
	r.Read(dst) // grow the batch buffers
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := r.Read(dst); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("CSVReader.Read of 100 unquoted rows allocates %v times, want 0", allocs)
	}
}

// oracleCSV reads in with encoding/csv alone, record by record, following
// the rules CSVReader documents; FuzzCSVReader compares the two.
func oracleCSV(in []byte, name string, features []model.Feature) ([]float64, error) {
	in = bytes.TrimPrefix(in, utf8BOM)
	cr := csv.NewReader(bytes.NewReader(in))
	cr.FieldsPerRecord = -1
	parseErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d:%d: %v", name, pe.Line, pe.Column, pe.Err)
		}
		return err
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: want a header line naming the columns", name)
	}
	if err != nil {
		return nil, parseErr(err)
	}
	headerLine, _ := cr.FieldPos(0)
	trimmed := make([]string, len(header))
	for i, h := range header {
		trimmed[i] = strings.Trim(h, " \t")
	}
	if dups := duplicateColumns(trimmed); dups != "" {
		return nil, fmt.Errorf("%s:%d: the header names these columns more than once: %s", name, headerLine, dups)
	}
	cols := make([]int, len(features))
	var missing []string
	for f, feat := range features {
		cols[f] = slices.IndexFunc(header, func(h string) bool { return strings.Trim(h, " \t") == feat.Name })
		if cols[f] < 0 {
			missing = append(missing, feat.Name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: missing columns the model needs: %s", name, strings.Join(missing, ", "))
	}
	var rows []float64
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, parseErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return rows, fmt.Errorf("%s:%d: row has %d fields, the header has %d", name, line, len(rec), len(header))
		}
		row := make([]float64, len(features))
		for f, col := range cols {
			v, ok := parseCell([]byte(rec[col]))
			if !ok {
				line, _ := cr.FieldPos(col)
				cell := rec[col]
				if len(cell) > 40 {
					cell = cell[:40] + "..."
				}
				return rows, fmt.Errorf("%s:%d: column %q: %q is not a number", name, line, features[f].Name, cell)
			}
			row[f] = v
		}
		rows = append(rows, row...)
	}
}

// FuzzCSVReader feeds arbitrary bytes to CSVReader, through the fast path and
// through encoding/csv for every record, in batches of 2 rows, and compares
// both with oracleCSV: the same rows, and the same error, line and column
// included.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n",
		"c,a,b,extra\n3,1,2,x\n\n4,5,6,\"q\"\"\"\n",
		"a,b,c\r\n1,NA,\"3\"\r\n\"4\n\",5,6",
		"\xEF\xBB\xBFa,b,c\n1,2,3\r",
		"a,b,c\n1,2\n",
		"a,b,a\n",
		"a,b,c\n1,\"2,3\n",
		"a,b,c\n1,2\"x,3\n",
		"a, b ,c\n inf ,-1e400, nan\n",
		"\"a\",\"b\"\n1,2\n",
	} {
		f.Add([]byte(s))
	}
	features := feats("a", "b", "c")
	f.Fuzz(func(t *testing.T, in []byte) {
		want, wantErr := oracleCSV(in, "in.csv", features)
		for _, force := range []bool{false, true} {
			var got []float64
			r, err := newCSVReader(bytes.NewReader(in), "in.csv", features, force)
			if err == nil {
				got, err = readAll(r, len(features), 2)
			}
			if errString(err) != errString(wantErr) || !sameFloats(got, want) {
				t.Fatalf("read %q (forceCSV=%v):\n got  %v, %v\n want %v, %v", in, force, got, err, want, wantErr)
			}
		}
	})
}
