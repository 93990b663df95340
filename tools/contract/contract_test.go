package contract

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	mc "github.com/predictd/predictd/model/contract"
)

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func f64(x float64) *float64 { return &x }

// TestOracle holds the skew distances to scipy's (testdata/gen/contract_oracle.py).
func TestOracle(t *testing.T) {
	var want struct {
		JSProfile, JSAgainst, LInfProfile, LInfAgainst float64
		CurRows                                        int64 `json:"cur_rows"`
		CurNewCountries                                int64 `json:"cur_new_countries"`
	}
	b, err := os.ReadFile("../../testdata/contract/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]float64
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	want.JSProfile, want.JSAgainst, want.LInfProfile, want.LInfAgainst = raw["js_profile"], raw["js_against"], raw["linf_profile"], raw["linf_against"]
	want.CurRows, want.CurNewCountries = int64(raw["cur_rows"]), int64(raw["cur_new_countries"])
	c, err := mc.Load("../../testdata/contract/contract.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cur := "../../testdata/contract/cur.csv"
	for _, tc := range []struct {
		against  string
		js, lInf float64
		baseline string
	}{
		{"", want.JSProfile, want.LInfProfile, "profile"},
		{"../../testdata/contract/base.csv", want.JSAgainst, want.LInfAgainst, "../../testdata/contract/base.csv"},
	} {
		rep, err := Validate(context.Background(), c, cur, tc.against, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != want.CurRows || len(rep.Skew) != 2 {
			t.Fatalf("against %q: %d rows, skew %+v", tc.against, rep.Rows, rep.Skew)
		}
		for _, s := range rep.Skew {
			w := map[string]float64{"amount": tc.js, "country": tc.lInf}[s.Column]
			if math.Abs(s.Distance-w) > 1e-9 || s.Baseline != tc.baseline || s.Threshold != 0.1 {
				t.Errorf("against %q: %s %s = %.17g (baseline %s), scipy %.17g", tc.against, s.Column, s.Metric, s.Distance, s.Baseline, w)
			}
		}
		kinds := map[string]Anomaly{}
		for _, a := range rep.Anomalies {
			kinds[a.Column+" "+a.Kind] = a
		}
		if len(kinds) != 3 || kinds["amount skew_jensen_shannon"].Column == "" || kinds["country skew_l_infinity"].Column == "" {
			t.Errorf("against %q: anomalies %+v, want skew in amount and country and a new category", tc.against, rep.Anomalies)
		}
		nc := kinds["country new_category"]
		if nc.Count != want.CurNewCountries || len(nc.Examples) != 3 || !strings.HasPrefix(nc.Examples[0].Where, cur+":") || nc.Examples[0].Value != "NL" || !strings.Contains(nc.Found, `such as "NL"`) {
			t.Errorf("new category anomaly %+v, want %d values of NL with 3 examples", nc, want.CurNewCountries)
		}
	}
}

const inferCSV = `id,price,flag,when,name,note,empty
1,2.5,true,2026-01-01T00:00:00Z,a,x1,
2,NA,False,2026-01-02T00:00:00Z,b,x2,
3,4,TRUE,2026-01-03T00:00:00Z,a,x3,
4,-1e3,false,2026-01-04T00:00:00+01:00, b ,x4,
`

func TestInfer(t *testing.T) {
	path := writeFile(t, "in.csv", inferCSV)
	c, err := Infer(context.Background(), path, Options{MaxCategories: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := &mc.Contract{UnexpectedColumns: mc.UnexpectedError, Columns: []mc.Column{
		{Name: "id", Type: mc.Int, Required: true, Min: f64(1), Max: f64(4),
			Profile: &mc.Profile{Edges: []float64{2, 3, 4}, Proportions: []float64{0.25, 0.25, 0.25, 0.25}}},
		{Name: "price", Type: mc.Float, Required: true, MaxMissing: 0.25, Min: f64(-1000), Max: f64(4),
			Profile: &mc.Profile{Edges: []float64{2.5, 4}, Proportions: []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}}},
		{Name: "flag", Type: mc.Bool, Required: true, Categories: []string{"false", "true"},
			Profile: &mc.Profile{Values: []string{"false", "true"}, Proportions: []float64{0.5, 0.5}}},
		{Name: "when", Type: mc.Time, Required: true},
		{Name: "name", Type: mc.String, Required: true, Categories: []string{"a", "b"},
			Profile: &mc.Profile{Values: []string{"a", "b"}, Proportions: []float64{0.5, 0.5}}},
		{Name: "note", Type: mc.String, Required: true,
			Profile: &mc.Profile{Values: []string{"x1", "x2", "x3"}, Proportions: []float64{0.25, 0.25, 0.25}, Other: 0.25}},
		{Name: "empty", Type: mc.String, Required: true, MaxMissing: 1},
	}}
	// Proportions are rounded to 6 decimals.
	want.Columns[1].Profile.Proportions = []float64{0.333333, 0.333333, 0.333333}
	if !reflect.DeepEqual(c, want) {
		got, _ := mc.Write(c, "")
		t.Fatalf("Infer =\n%s\nwant %+v", got, want)
	}
}

// TestInferSameFromParquet: the same rows as typed Parquet columns give
// the same contract as CSV.
func TestInferSameFromParquet(t *testing.T) {
	type row struct {
		ID    int64     `parquet:"id"`
		Price *float64  `parquet:"price,optional"`
		Flag  bool      `parquet:"flag"`
		When  time.Time `parquet:"when,timestamp(microsecond)"`
		Name  string    `parquet:"name"`
	}
	at := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	rows := []row{{1, f64(2.5), true, at(1), "a"}, {2, nil, false, at(2), "b"}, {3, f64(4), true, at(3), "a"}, {4, f64(-1000), false, at(4), "b"}}
	pq := filepath.Join(t.TempDir(), "in.parquet")
	if err := parquet.WriteFile(pq, rows); err != nil {
		t.Fatal(err)
	}
	csvPath := writeFile(t, "in.csv", "id,price,flag,when,name\n1,2.5,true,2026-01-01T00:00:00Z,a\n2,,false,2026-01-02T00:00:00Z,b\n3,4,true,2026-01-03T00:00:00Z,a\n4,-1000,false,2026-01-04T00:00:00Z,b\n")
	a, err := Infer(context.Background(), pq, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Infer(context.Background(), csvPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		x, _ := mc.Write(a, "")
		y, _ := mc.Write(b, "")
		t.Fatalf("Parquet contract\n%s\nCSV contract\n%s", x, y)
	}
}

// TestInferBoundedSample: a column of more numbers than SampleSize is
// profiled from a sample of SampleSize, and its range is still exact.
func TestInferBoundedSample(t *testing.T) {
	var b strings.Builder
	b.WriteString("x\n")
	for i := range 5000 {
		b.WriteString(strconv.Itoa(i) + "\n")
	}
	path := writeFile(t, "big.csv", b.String())
	c, err := Infer(context.Background(), path, Options{SampleSize: 1000, Bins: 4, ChunkRows: 333})
	if err != nil {
		t.Fatal(err)
	}
	col := c.Columns[0]
	if *col.Min != 0 || *col.Max != 4999 || len(col.Profile.Edges) != 3 {
		t.Fatalf("column %+v, profile %+v", col, col.Profile)
	}
	for i, e := range col.Profile.Edges {
		// The quartiles of 0..4999 are 1250, 2500, 3750; a sample of
		// 1000 puts them within a few hundred.
		if want := 1250.0 * float64(i+1); math.Abs(e-want) > 300 {
			t.Errorf("edge %d = %v, want about %v", i, e, want)
		}
	}
}

const validContract = `columns:
  - name: id
    type: int
    min: 1
    max: 100
  - name: price
    type: float
    max_missing: 0.25
  - name: flag
    type: bool
  - name: when
    type: time
  - name: kind
    type: string
    categories: [a, b]
  - name: code
    type: int
    categories: [0, 1]
    max_missing: 1
  - name: gone
    type: float
  - name: optional
    type: float
    required: false
`

func TestValidateAnomalies(t *testing.T) {
	c, err := mc.Parse([]byte(validContract), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "in.csv", `id,price,flag,when,kind,code,extra
1,1.5,true,2026-01-01T00:00:00Z,a,0,x
2.5,NA,1,2026-01-01T00:00:00Z,b,1,x
101,,maybe,yesterday,c,2,x
0,abc,FALSE,2026-01-01T00:00:00Z, a ,1.0,x
"7",3,0,2026-01-01T00:00:00Z,d,,x
`)
	rep, err := Validate(context.Background(), c, path, "", Options{MaxExamples: 2})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ col, kind string }
	got := map[key]Anomaly{}
	var order []key
	for _, a := range rep.Anomalies {
		got[key{a.Column, a.Kind}] = a
		order = append(order, key{a.Column, a.Kind})
	}
	want := []struct {
		col, kind string
		count     int64
		where     []string
		found     string
	}{
		{"id", "unexpected_type", 1, []string{":3"}, "1 values that are not integers"},
		{"id", "out_of_range", 2, []string{":4", ":5"}, "2 values outside, from 0 to 101"},
		{"price", "unexpected_type", 1, []string{":5"}, "not finite numbers"},
		{"price", "missing_rate", 2, []string{":3", ":4"}, "40% missing (2 of 5 rows)"},
		{"flag", "unexpected_type", 1, []string{":4"}, "not bools"},
		{"when", "unexpected_type", 1, []string{":4"}, "not RFC 3339 times"},
		{"kind", "new_category", 2, []string{":4", ":6"}, `such as "c", "d"`},
		{"code", "new_category", 1, []string{":4"}, `such as "2"`},
		{"gone", "column_missing", 0, nil, "no such column in " + path},
		{"extra", "unexpected_column", 0, nil, "a column the contract does not list"},
	}
	if len(rep.Anomalies) != len(want) {
		t.Errorf("%d anomalies %v, want %d", len(rep.Anomalies), order, len(want))
	}
	for i, w := range want {
		a, ok := got[key{w.col, w.kind}]
		if !ok {
			t.Errorf("no %s anomaly in %s; got %v", w.kind, w.col, order)
			continue
		}
		if i < len(order) && order[i] != (key{w.col, w.kind}) {
			t.Errorf("anomaly %d is %v, want %s %s", i, order[i], w.col, w.kind)
		}
		if a.Count != w.count || !strings.Contains(a.Found, w.found) || len(a.Examples) != len(w.where) {
			t.Errorf("%s %s: %+v, want count %d, found containing %q, examples at %v", w.col, w.kind, a, w.count, w.found, w.where)
			continue
		}
		for j, e := range a.Examples {
			if e.Where != path+w.where[j] {
				t.Errorf("%s %s example %d at %s, want %s%s", w.col, w.kind, j, e.Where, path, w.where[j])
			}
		}
	}
	if a := got[key{"gone", "column_missing"}]; !strings.Contains(a.Expected, "the contract's line 20") {
		t.Errorf("column_missing expected %q, want the contract's line", a.Expected)
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if s := text.String(); !strings.HasPrefix(s, path+": 5 rows, 10 anomalies\n") || !strings.Contains(s, "e.g. "+path+":4: \"101\"") {
		t.Errorf("text report:\n%s", s)
	}
	c.UnexpectedColumns = mc.UnexpectedIgnore
	rep, _ = Validate(context.Background(), c, path, "", Options{})
	for _, a := range rep.Anomalies {
		if a.Kind == "unexpected_column" {
			t.Errorf("unexpected_columns: ignore still reports %+v", a)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0 anomalies", 1: "1 anomaly", 2: "2 anomalies"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestValidateErrors(t *testing.T) {
	c, _ := mc.Parse([]byte(validContract), "c.yaml")
	bad := writeFile(t, "bad.csv", "id,price\n1,2\n3\n")
	if _, err := Validate(context.Background(), c, bad, "", Options{}); err == nil || !strings.Contains(err.Error(), bad+":3: a record of 1 fields, want 2") {
		t.Errorf("malformed CSV: %v", err)
	}
	ok := writeFile(t, "ok.csv", "id\n1\n")
	if _, err := Validate(context.Background(), c, ok, filepath.Join(t.TempDir(), "nope.csv"), Options{}); err == nil || !strings.Contains(err.Error(), "nope.csv") {
		t.Errorf("missing baseline: %v", err)
	}
	if _, err := Validate(context.Background(), c, ok, "", Options{ChunkRows: -1}); err == nil || !strings.Contains(err.Error(), "Options.ChunkRows is -1") {
		t.Errorf("negative option: %v", err)
	}
	if _, err := Infer(context.Background(), writeFile(t, "idx.csv", ",a\n0,1\n"), Options{}); err == nil || !strings.Contains(err.Error(), "idx.csv: column 1 (counted from 1) has no name") {
		t.Errorf("Infer with an unnamed column: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Infer(ctx, ok, Options{}); err != context.Canceled {
		t.Errorf("Infer with a cancelled context: %v", err)
	}
}

// TestInferBounds holds Infer's documented bounds: categories listed at
// exactly MaxCategories distinct values and not one more; max_missing
// rounded up to a multiple of 0.001; values first seen after MaxTracked
// distinct ones counted as other.
func TestInferBounds(t *testing.T) {
	// Two columns: encoding/csv skips a blank line, so a one-column file
	// cannot hold an empty cell.
	csv := func(vals ...string) string { return "c,k\n" + strings.Join(vals, ",k\n") + ",k\n" }
	infer := func(data string, o Options) mc.Column {
		t.Helper()
		c, err := Infer(context.Background(), writeFile(t, "in.csv", data), o)
		if err != nil {
			t.Fatal(err)
		}
		return c.Columns[0]
	}
	if col := infer(csv("a", "b", "c"), Options{MaxCategories: 3}); len(col.Categories) != 3 {
		t.Errorf("3 distinct values, MaxCategories 3: categories %v, want all 3", col.Categories)
	}
	if col := infer(csv("a", "b", "c", "d"), Options{MaxCategories: 3}); col.Categories != nil || len(col.Profile.Values) != 3 || col.Profile.Other != 0.25 {
		t.Errorf("4 distinct values, MaxCategories 3: categories %v, profile %+v; want none, and 3 values with other 0.25", col.Categories, col.Profile)
	}
	vals := make([]string, 3000)
	for i := range vals {
		vals[i] = "1"
	}
	vals[7] = "" // 1 of 3000 missing: 0.000333 rounds up to 0.001
	if col := infer(csv(vals...), Options{}); col.MaxMissing != 0.001 {
		t.Errorf("1 missing in 3000: max_missing %v, want 0.001", col.MaxMissing)
	}
	vals[8] = ""               // 2 of 3000: 0.000667 rounds up to 0.001
	vals[9], vals[10] = "", "" // 4 of 3000: 0.00133 rounds up to 0.002
	if col := infer(csv(vals...), Options{}); col.MaxMissing != 0.002 {
		t.Errorf("4 missing in 3000: max_missing %v, want 0.002", col.MaxMissing)
	}
	// MaxTracked 2: a and b are counted, c and d (first seen later) are
	// other, however often they come.
	col := infer(csv("a", "b", "c", "c", "c", "d"), Options{MaxCategories: 2, MaxTracked: 2})
	if p := col.Profile; col.Categories != nil || len(p.Values) != 2 || p.Values[0] != "a" || p.Proportions[0] != round6(1.0/6) || math.Abs(p.Other-4.0/6) > 1e-6 {
		t.Errorf("MaxTracked 2: categories %v, profile %+v", col.Categories, col.Profile)
	}
	// Repeated values give fewer edges than bins.
	if col := infer(csv("1", "1", "1", "1", "2"), Options{Bins: 4}); len(col.Profile.Edges) != 0 || len(col.Profile.Proportions) != 1 {
		t.Errorf("values 1,1,1,1,2 in 4 bins: profile %+v", col.Profile)
	}
}

func TestInferInfinity(t *testing.T) {
	type row struct {
		X float64 `parquet:"x"`
	}
	pq := filepath.Join(t.TempDir(), "inf.parquet")
	if err := parquet.WriteFile(pq, []row{{1}, {math.Inf(1)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Infer(context.Background(), pq, Options{}); err == nil || !strings.Contains(err.Error(), pq+` row 1: column "x": +Inf is not a finite number`) {
		t.Errorf("Infer of a Parquet +Inf: %v", err)
	}
	c, err := Infer(context.Background(), writeFile(t, "inf.csv", "x\n1\ninf\n"), Options{})
	if err != nil || c.Columns[0].Type != mc.String {
		t.Errorf("Infer of a CSV inf: %v, type %v; want string", err, c.Columns[0].Type)
	}
}
