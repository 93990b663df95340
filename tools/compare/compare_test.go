package compare

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/predictd/predictd/internal/table"
)

func write(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type pqRow struct {
	P0 float64  `parquet:"p0"`
	P1 *float64 `parquet:"p1,optional"`
}

func writeParquet(t *testing.T, rows []pqRow) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "got.parquet")
	if err := parquet.WriteFile(p, rows); err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr(x float64) *float64 { return &x }

func TestFiles(t *testing.T) {
	a := write(t, "a.csv", "p0,p1\n0.5,0.25\n1,\n0,2\n")
	b := write(t, "b.csv", "p0,p1\n0.5,0.2501\n1,\n0,2.1\n")
	rep, err := Compare(a, b, Tolerance{Rel: 1e-6})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 3 {
		t.Fatalf("Rows = %d, want 3", rep.Rows)
	}
	p1 := rep.Columns[1]
	if p1.Over != 2 || p1.WorstRow != 3 || p1.WorstWhere != a+":4" || p1.WorstGot != 2 || p1.WorstWant != 2.1 {
		t.Errorf("p1 = %+v, want 2 over tolerance and worst row 3 (%s:4), got 2 want 2.1", p1, a)
	}
	if rep.Columns[0].Over != 0 || rep.Columns[0].MaxAbs != 0 {
		t.Errorf("p0 = %+v, want exact agreement", rep.Columns[0])
	}
	if rep.OK() {
		t.Error("OK() = true with values over tolerance")
	}
}

// TestTolerance holds the pass rule to numpy.isclose's, |got-want| <=
// abs + rel*|want|, value by value, with missing and infinite values
// matching only themselves.
func TestTolerance(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	ch := oneRow(t, write(t, "x.csv", "p\n1\n")) // for Column.add's WorstWhere
	for _, c := range []struct {
		got, want float64
		tol       Tolerance
		ok        bool
	}{
		{1, 1, Tolerance{}, true},
		{1, 1 + 1e-15, Tolerance{}, false},
		{1.000001, 1, Tolerance{Rel: 1e-5}, true},
		{1.0001, 1, Tolerance{Rel: 1e-5}, false},
		{1e-12, 2e-12, Tolerance{Rel: 1e-3}, false}, // 50% off: relative error near zero
		{1e-12, 2e-12, Tolerance{Rel: 1e-3, Abs: 1e-9}, true},
		{1e-9, 0, Tolerance{Rel: 1}, false}, // nothing is relatively close to 0
		{1e-9, 0, Tolerance{Abs: 1e-9}, true},
		{0.5 + 1.5e-9, 0.5, Tolerance{Abs: 1e-9, Rel: 2e-9}, true}, // within abs + rel*|want| = 2e-9, not within either alone
		{0.5 + 1.5e-9, 0.5, Tolerance{Abs: 1e-9}, false},
		{0.5 + 1.5e-9, 0.5, Tolerance{Rel: 2e-9}, false},
		{0.5 + 2.5e-9, 0.5, Tolerance{Abs: 1e-9, Rel: 2e-9}, false},
		{-2.0001, -2, Tolerance{Rel: 1e-4}, true}, // |want| of a negative value
		{nan, nan, Tolerance{}, true},
		{nan, 1, Tolerance{Abs: 1e9}, false},
		{1, nan, Tolerance{Abs: 1e9}, false},
		{inf, inf, Tolerance{}, true},
		{inf, -inf, Tolerance{Abs: 1e9}, false},
		{1e300, inf, Tolerance{Rel: 1}, false},
	} {
		var col Column
		col.add(c.got, c.want, c.tol, 1, ch, 0)
		if ok := col.Over == 0; ok != c.ok {
			t.Errorf("got %v want %v with %s: within = %v, want %v", c.got, c.want, c.tol, ok, c.ok)
		}
	}
}

// TestCompareParquet reads Parquet beside CSV, either side, and names the
// worst value's Parquet row.
func TestCompareParquet(t *testing.T) {
	got := writeParquet(t, []pqRow{{0.5, ptr(0.25)}, {1, nil}, {0, ptr(2)}})
	same := write(t, "want.csv", "p0,p1\n0.5,0.25\n1,NA\n0,2\n")
	for _, c := range [][2]string{{got, same}, {same, got}, {got, got}} {
		rep, err := Compare(c[0], c[1], Tolerance{})
		if err != nil || !rep.OK() || rep.Rows != 3 || rep.Err() != nil {
			t.Errorf("Compare(%s, %s) = %+v, %v; want 3 rows equal", c[0], c[1], rep, err)
		}
	}
	off := write(t, "want.csv", "p0,p1\n0.5,0.25\n1,\n0,2.5\n")
	rep, err := Compare(got, off, Tolerance{Rel: 1e-6, Abs: 1e-9})
	if err != nil {
		t.Fatal(err)
	}
	err = rep.Err()
	want := got + ` differs from ` + off + `: 1 values outside |got-want| <= 1e-09 + 1e-06*|want|; worst: column "p1" at ` + got + ` row 2 (data row 3), got 2 want 2.5`
	if err == nil || err.Error() != want {
		t.Errorf("Err() = %v\nwant %s", err, want)
	}
}

// TestWorstColumn: the worst value of all is the one furthest beyond what
// the tolerance allows it, not the largest absolute difference.
func TestWorstColumn(t *testing.T) {
	a := write(t, "a.csv", "big,small\n1000.5,0.001\n1000,0.0015\n")
	b := write(t, "b.csv", "big,small\n1000,0.001\n1000,0.001\n")
	rep, err := Compare(a, b, Tolerance{Rel: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	// big: 0.5 against 1 allowed (ok); small: 0.0005 against 1e-6 allowed.
	if w := rep.Worst(); w != 1 || rep.Columns[1].WorstRow != 2 || rep.Columns[0].Over != 0 || rep.Columns[1].Over != 1 {
		t.Errorf("Worst() = %d, columns %+v; want column 1 (small), row 2, 1 over", w, rep.Columns)
	}
	var b2 strings.Builder
	rep.Print(&b2)
	for _, s := range []string{"2 rows compared, tolerance |got-want| <= 0 + 0.001*|want|", `worst: column "small" at ` + a + `:3 (data row 2): got 0.0015 want 0.001`} {
		if !strings.Contains(b2.String(), s) {
			t.Errorf("Print:\n%s\nwant it to contain %q", b2.String(), s)
		}
	}
}

func TestFilesErrors(t *testing.T) {
	a := write(t, "a.csv", "p\n1\n2\n")
	for _, tc := range []struct{ b, want string }{
		{"p\n1\n", "differ in length: " + "%B ends after 1 data rows"},
		{"p\n1\n2\n3\n", "differ in length: %A ends after 2 data rows"},
		{"p,q\n1,2\n2,3\n", "has 1 columns"},
		{"p\n1\nx\n", `b.csv:3: column "p": "x" is not a finite number`},
	} {
		b := write(t, "b.csv", tc.b)
		want := strings.NewReplacer("%A", a, "%B", b).Replace(tc.want)
		_, err := Compare(a, b, Tolerance{Rel: 1e-6})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compare(%q) error = %v, want %q", tc.b, err, want)
		}
	}
	for _, tc := range []struct {
		tol  Tolerance
		want string
	}{
		{Tolerance{Rel: -1}, "relative tolerance (--rel) -1: want a finite number >= 0"},
		{Tolerance{Abs: math.NaN()}, "absolute tolerance (--abs) NaN"},
		{Tolerance{Abs: math.Inf(1)}, "absolute tolerance (--abs) +Inf"},
	} {
		if _, err := Compare(a, a, tc.tol); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Compare with %+v: error %v, want %q", tc.tol, err, tc.want)
		}
	}
	if _, err := Compare(a, write(t, "b.txt", "p\n1\n2\n"), Tolerance{}); err == nil || !strings.Contains(err.Error(), "want a .csv or .parquet file") {
		t.Errorf("Compare with a .txt: error %v, want one asking for .csv or .parquet", err)
	}
}

// TestManyRows crosses chunk boundaries of both readers at different
// places (CSV and Parquet chunk the same count of rows, but the cursor
// must not assume it).
func TestManyRows(t *testing.T) {
	const n = 3*chunkRows + 7
	var sb strings.Builder
	sb.WriteString("p0,p1\n")
	rows := make([]pqRow, n)
	for i := range rows {
		rows[i] = pqRow{float64(i), ptr(float64(i) / 3)}
		sb.WriteString(num(float64(i)) + "," + num(float64(i)/3) + "\n")
	}
	rows[n-2].P0 += 1
	rep, err := Compare(writeParquet(t, rows), write(t, "want.csv", sb.String()), Tolerance{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != n || rep.Columns[0].Over != 1 || rep.Columns[0].WorstRow != n-1 || rep.Columns[1].Over != 0 {
		t.Errorf("Compare over %d rows: %+v, want p0 off once at data row %d", n, rep, n-1)
	}
}

// oneRow reads the first chunk of path.
func oneRow(t *testing.T, path string) *table.Chunk {
	t.Helper()
	r, err := table.Open(path, table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c := new(table.Chunk)
	if _, err := r.Next(c, 1); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestInfinities: an infinite prediction (CSV "Inf", "-Inf") matches only
// itself; internal/table alone refuses it as a number.
func TestInfinities(t *testing.T) {
	a := write(t, "a.csv", "p\nInf\n-Inf\n1\n")
	rep, err := Compare(a, write(t, "b.csv", "p\n+Inf\n-inf\n1\n"), Tolerance{})
	if err != nil || !rep.OK() {
		t.Errorf("Compare(Inf, -Inf against +Inf, -inf) = %+v, %v; want equal", rep, err)
	}
	rep, err = Compare(a, write(t, "b.csv", "p\nInf\n1\n1\n"), Tolerance{Abs: 1e300})
	if err != nil || rep.OK() || rep.Columns[0].WorstRow != 2 {
		t.Errorf("Compare(-Inf against 1) = %+v, %v; want row 2 over", rep, err)
	}
}
