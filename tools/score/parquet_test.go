package score

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/require"

	"github.com/predictd/predictd/internal/fixture"
)

// pqInput is the test's Parquet input row: a nullable double, an int64, a
// nullable int32, a string and a boolean the model does not need, and an
// unsigned int.
type pqInput struct {
	Name string   `parquet:"name"`
	Z    *float64 `parquet:"z,optional"`
	X    int64    `parquet:"x"`
	Y    *int32   `parquet:"y,optional"`
	Flag bool     `parquet:"flag"`
	U    uint32   `parquet:"u"`
}

// writeParquetInput writes n rows to a Parquet file in small row groups and
// pages, so that batches cross both, and returns the path and the rows as
// the model sees x, y, z.
func writeParquetInput(t testing.TB, n int) (string, [][3]float64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "input.parquet")
	f, err := os.Create(path)
	require.NoError(t, err)
	w := parquet.NewGenericWriter[pqInput](f, parquet.MaxRowsPerRowGroup(700), parquet.PageBufferSize(1024))
	want := make([][3]float64, n)
	rows := make([]pqInput, n)
	for i := range rows {
		r := pqInput{Name: fmt.Sprintf("row %d", i), X: int64(i), Flag: i%2 == 0, U: uint32(math.MaxUint32 - i)}
		want[i] = [3]float64{float64(i), math.NaN(), math.NaN()}
		if i%3 != 0 {
			y := int32(i%7 - 3)
			r.Y, want[i][1] = &y, float64(y)
		}
		if i%5 != 0 {
			z := float64(i%9) / 4
			r.Z, want[i][2] = &z, z
		}
		rows[i] = r
	}
	_, err = w.Write(rows)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	return path, want
}

func TestParquetReader(t *testing.T) {
	path, want := writeParquetInput(t, 2000)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	fi, _ := f.Stat()
	r, err := NewParquetReader(f, fi.Size(), "input.parquet", feats("x", "y", "z", "flag", "u"))
	require.NoError(t, err)
	defer r.Close()
	got, err := readAll(r, 5, 333)
	require.NoError(t, err)
	require.Len(t, got, 5*len(want))
	for i, w := range want {
		flag := 0.0
		if i%2 == 0 {
			flag = 1
		}
		row := []float64{w[0], w[1], w[2], flag, float64(math.MaxUint32 - i)}
		if !sameFloats(got[5*i:5*i+5], row) {
			t.Fatalf("row %d = %v, want %v", i, got[5*i:5*i+5], row)
		}
	}
}

func TestParquetRoundTrip(t *testing.T) {
	inPath, want := writeParquetInput(t, 3000)
	p := linearModel(t)
	opts := linearOptions()
	opts.Workers, opts.BatchRows = 4, 50
	// Output names out of alphabetical order: the columns keep this order.
	opts.Outputs = []string{"sum", "diff"}
	dir := t.TempDir()

	t.Run("csv", func(t *testing.T) {
		outPath := filepath.Join(dir, "out.csv")
		st, err := ScoreFile(context.Background(), p, opts, inPath, outPath)
		require.NoError(t, err)
		require.EqualValues(t, len(want), st.Rows)
		text, err := os.ReadFile(outPath)
		require.NoError(t, err)
		header, got := parseOutput(t, string(text))
		require.Equal(t, opts.Outputs, header)
		for i, w := range want {
			sum, diff := linearWant(w[0], w[1], w[2])
			if !sameFloats(got[i], []float64{sum, diff}) {
				t.Fatalf("row %d (x, y, z = %v) = %v, want [%v %v]", i, w, got[i], sum, diff)
			}
		}
	})

	t.Run("parquet", func(t *testing.T) {
		outPath := filepath.Join(dir, "out.parquet")
		st, err := ScoreFile(context.Background(), p, opts, inPath, outPath)
		require.NoError(t, err)
		require.EqualValues(t, len(want), st.Rows)
		f, err := os.Open(outPath)
		require.NoError(t, err)
		defer f.Close()
		fi, _ := f.Stat()
		pf, err := parquet.OpenFile(f, fi.Size())
		require.NoError(t, err)
		var names []string
		for _, fld := range pf.Schema().Fields() {
			names = append(names, fld.Name())
			if fld.Type().Kind() != parquet.Double || !fld.Required() {
				t.Errorf("column %s is %v required=%v, want a required DOUBLE", fld.Name(), fld.Type(), fld.Required())
			}
		}
		require.Equal(t, opts.Outputs, names, "output columns keep the order of Outputs")
		// Read the predictions back through this package's reader.
		r, err := NewParquetReader(f, fi.Size(), outPath, feats("diff", "sum"))
		require.NoError(t, err)
		got, err := readAll(r, 2, 1000)
		require.NoError(t, err)
		require.Len(t, got, 2*len(want))
		for i, w := range want {
			sum, diff := linearWant(w[0], w[1], w[2])
			if !sameFloats(got[2*i:2*i+2], []float64{diff, sum}) {
				t.Fatalf("row %d (x, y, z = %v) = %v, want [%v %v]", i, w, got[2*i:2*i+2], diff, sum)
			}
		}
	})
}

// TestParquetWriterRowGroups writes more than a row group's worth of rows
// and checks they are split into row groups and read back in order.
func TestParquetWriterRowGroups(t *testing.T) {
	n := ParquetRowGroupRows + 1000
	var buf bytes.Buffer
	w, err := NewParquetWriter(&buf, []string{"v"})
	require.NoError(t, err)
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = float64(i)
	}
	// Uneven writes, as the pipeline's chunks may be.
	for off := 0; off < n; {
		k := min(n-off, 777)
		require.NoError(t, w.Write(vals[off:off+k]))
		off += k
	}
	require.NoError(t, w.Close())
	pf, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	if got := len(pf.RowGroups()); got != 2 {
		t.Errorf("%d rows in %d row groups, want 2", n, got)
	}
	r, err := NewParquetReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "out.parquet", feats("v"))
	require.NoError(t, err)
	got, err := readAll(r, 1, 4096)
	require.NoError(t, err)
	if !sameFloats(got, vals) {
		t.Errorf("read back %d values, not the %d written in order", len(got), n)
	}
}

func TestParquetEmpty(t *testing.T) {
	// An input with a schema and no rows gives an output with no rows.
	inPath := filepath.Join(t.TempDir(), "input.parquet")
	f, err := os.Create(inPath)
	require.NoError(t, err)
	w := parquet.NewGenericWriter[pqInput](f)
	require.NoError(t, w.Close())
	require.NoError(t, f.Close())
	for _, out := range []string{"out.csv", "out.parquet"} {
		outPath := filepath.Join(t.TempDir(), out)
		st, err := ScoreFile(context.Background(), linearModel(t), linearOptions(), inPath, outPath)
		require.NoError(t, err)
		require.EqualValues(t, 0, st.Rows)
		if strings.HasSuffix(out, ".csv") {
			got, _ := os.ReadFile(outPath)
			require.Equal(t, "sum,diff\n", string(got))
			continue
		}
		g, err := os.Open(outPath)
		require.NoError(t, err)
		fi, _ := g.Stat()
		pf, err := parquet.OpenFile(g, fi.Size())
		require.NoError(t, err)
		require.EqualValues(t, 0, pf.NumRows())
		require.Len(t, pf.Schema().Fields(), 2)
		g.Close()
	}
}

func TestParquetReaderErrors(t *testing.T) {
	path, _ := writeParquetInput(t, 10)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	fi, _ := f.Stat()
	tests := []struct {
		features []string
		want     string
	}{
		{[]string{"income", "x", "age"}, "input.parquet: missing columns the model needs: income, age"},
		{[]string{"x", "name"}, `input.parquet: column "name" has type BYTE_ARRAY (STRING), want a number (BOOLEAN, INT32, INT64, FLOAT, DOUBLE or DECIMAL)`},
	}
	for _, tt := range tests {
		_, err := NewParquetReader(f, fi.Size(), "input.parquet", feats(tt.features...))
		if errString(err) != tt.want {
			t.Errorf("NewParquetReader for %v = %v, want %s", tt.features, err, tt.want)
		}
	}
}

func TestParquetReaderNestedColumns(t *testing.T) {
	type inner struct {
		A float64 `parquet:"a"`
	}
	type row struct {
		G    inner     `parquet:"g"`
		List []float64 `parquet:"list,list"`
		Rep  []int32   `parquet:"rep"`
		X    float64   `parquet:"x"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	_, err := w.Write([]row{{X: 1}})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	tests := []struct{ feature, want string }{
		{"g", `input.parquet: column "g" is a group of columns, want one number per row`},
		{"list", `input.parquet: column "list" is a group of columns, want one number per row`},
		{"rep", `input.parquet: column "rep" is repeated (a list), want one number per row`},
		{"a", "input.parquet: missing columns the model needs: a"},
	}
	for _, tt := range tests {
		_, err := NewParquetReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "input.parquet", feats("x", tt.feature))
		if errString(err) != tt.want {
			t.Errorf("NewParquetReader for %q = %v, want %s", tt.feature, err, tt.want)
		}
	}
}

// FuzzParquetReader opens arbitrary bytes as Parquet: an error or rows,
// never a panic or a hang.
func FuzzParquetReader(f *testing.F) {
	path, _ := writeParquetInput(f, 50)
	seed, err := os.ReadFile(path)
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte("PAR1PAR1"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := NewParquetReader(bytes.NewReader(in), int64(len(in)), "in.parquet", feats("x", "y", "z"))
		if err != nil {
			return
		}
		defer r.Close()
		readAll(r, 3, 64)
	})
}

// TestParquetReaderDuplicateColumns: a schema naming a column twice was
// read from whichever one the name lookup found. parquet-go writes no such
// file, so this one is patched: "xX" renamed "x1", the same length.
func TestParquetReaderDuplicateColumns(t *testing.T) {
	type row struct {
		X1 float64 `parquet:"x1"`
		Y  float64 `parquet:"y"`
		XX float64 `parquet:"xX"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	_, err := w.Write([]row{{X1: 1, Y: 2, XX: 3}})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	data := bytes.ReplaceAll(buf.Bytes(), []byte("xX"), []byte("x1"))
	_, err = NewParquetReader(bytes.NewReader(data), int64(len(data)), "input.parquet", feats("x1", "y"))
	want := `input.parquet: the schema names these top-level columns more than once: "x1" (columns 1 and 3)`
	if errString(err) != want {
		t.Errorf("NewParquetReader(two x1 columns) = %v, want %s", err, want)
	}
}

// TestParquetOtherWriters reads testdata/parquet/rows.duckdb.parquet,
// written by DuckDB (every numeric type a score input may hold: DOUBLE,
// FLOAT, TINYINT..BIGINT, UBIGINT, BOOLEAN, DECIMAL stored as INT32, INT64
// and FIXED_LEN_BYTE_ARRAY, with nulls, dictionary pages, zstd and three
// row groups), and compares every value with DuckDB's own reading of the
// file cast to DOUBLE (rows.duckdb.csv, from testdata/gen/parquet_oracle.mjs):
// the same float64, NaN for null. Its string, LIST and STRUCT columns are
// refused as features, naming the column.
func TestParquetOtherWriters(t *testing.T) {
	path := fixture.Path("parquet", "rows.duckdb.parquet")
	want := fixture.ReadTable(t, fixture.Path("parquet", "rows.duckdb.csv"))
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	r, err := NewParquetReader(f, fi.Size(), "rows.duckdb.parquet", feats(want.Header...))
	require.NoError(t, err)
	defer r.Close()
	nf := len(want.Header)
	got, err := readAll(r, nf, 1000)
	require.NoError(t, err)
	require.Len(t, got, nf*len(want.Rows), "values read")
	bad := 0
	for i, row := range want.Rows {
		for j, w := range row {
			g := got[i*nf+j]
			if g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
				if bad++; bad <= 10 {
					t.Errorf("row %d column %s = %v, DuckDB reads %v", i, want.Header[j], g, w)
				}
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d values differ from DuckDB's", bad, len(got))
	}

	for _, tt := range []struct{ col, want string }{
		{"name", `column "name" has type BYTE_ARRAY (STRING), want a number`},
		{"lst", `column "lst" is a group of columns, want one number per row`},
		{"st", `column "st" is a group of columns, want one number per row`},
	} {
		_, err := NewParquetReader(f, fi.Size(), "rows.duckdb.parquet", feats("d", tt.col))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rows.duckdb.parquet") {
			t.Errorf("NewParquetReader with feature %s: error %v, want one naming the file and containing %q", tt.col, err, tt.want)
		}
	}
}
