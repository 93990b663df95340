package predlog

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The DuckDB cross-check: testdata/log is a log written by this package
// (TestWriteFixture, run by hand), testdata/duckdb_rows.jsonl and
// testdata/duckdb_types.jsonl are what DuckDB reads from it
// (testdata/gen/predlog_duckdb.mjs, run by hand). make test needs neither
// node nor a rewrite.

const (
	fixtureEnv     = "PREDLOG_WRITE_FIXTURE"
	fixtureRecords = 50
)

// TestWriteFixture rewrites testdata/log when PREDLOG_WRITE_FIXTURE=1;
// otherwise it returns at once.
func TestWriteFixture(t *testing.T) {
	if os.Getenv(fixtureEnv) != "1" {
		return
	}
	dir := filepath.Join("testdata", "log")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	o := testOptions(t, dir)
	o.MaxSegmentRecords = 20
	o.Now = func() time.Time { return time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC) }
	l := mustNew(t, o)
	m := mustLogger(t, l, testSchema())
	recs := testRecords(fixtureRecords)
	for i := range recs {
		for !m.Log(&recs[i]) {
			time.Sleep(time.Millisecond)
		}
	}
	closeLog(t, l)
	// A segment being written when the fixture was taken: a reader's
	// *.parquet glob must skip it.
	segs := segments(t, dir)
	tmp := filepath.Join(filepath.Dir(segs[0]), ".seg-20261203T220000.000000Z-000099.parquet.tmp")
	if err := os.WriteFile(tmp, []byte("PAR1 half a segment"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFixtureReadsBack: the committed log reads back as written, with both
// readers here.
func TestFixtureReadsBack(t *testing.T) {
	_, key := writeKey(t)
	recs := testRecords(fixtureRecords)
	var got []row
	var segs []string
	filepath.WalkDir(filepath.Join("testdata", "log"), func(p string, d os.DirEntry, err error) error {
		if err == nil && isSegment(d.Name()) {
			segs = append(segs, p)
		}
		return err
	})
	if len(segs) != 3 {
		t.Fatalf("testdata/log holds %d segments %v, want 3 (50 records, 20 per segment)", len(segs), segs)
	}
	for _, s := range segs {
		got = append(got, readParquetGo(t, s)...)
	}
	if len(got) != len(recs) {
		t.Fatalf("testdata/log: %d rows, want %d", len(got), len(recs))
	}
	for i := range recs {
		if w := want(recs[i], key); !sameRow(got[i], w) {
			t.Errorf("testdata/log row %d: %v, want %v", i, got[i], w)
		}
	}
}

// TestDuckDBReadsLog holds DuckDB's reading of testdata/log to the records
// written: every value, null, NaN, ±Inf and the column types.
func TestDuckDBReadsLog(t *testing.T) {
	_, key := writeKey(t)
	recs := testRecords(fixtureRecords)
	rows := readJSONL(t, filepath.Join("testdata", "duckdb_rows.jsonl"))
	if len(rows) != len(recs)+1 {
		t.Fatalf("duckdb_rows.jsonl: %d lines, want a header and %d rows (the .tmp file skipped)", len(rows), len(recs))
	}
	header := rows[0]
	for i, rec := range recs {
		w := want(rec, key)
		for j, name := range header {
			got := rows[i+1][j]
			var wantText string
			switch v := w[name].(type) {
			case nil:
				wantText = "null"
			case string:
				wantText = v
			case float64:
				wantText = jsFloat(v)
			case int64:
				wantText = strconv.FormatInt(v, 10)
			}
			if name == "time" {
				wantText = strconv.FormatInt(rec.Time.UnixMicro(), 10)
			}
			if got != wantText {
				t.Errorf("DuckDB row %d column %s: %q, want %q", i, name, got, wantText)
			}
		}
	}
	types := readJSONL(t, filepath.Join("testdata", "duckdb_types.jsonl"))
	var got []string
	for _, r := range types {
		got = append(got, r[0]+" "+r[1])
	}
	wantTypes := "id VARCHAR, time TIMESTAMP WITH TIME ZONE, model VARCHAR, version INTEGER, age DOUBLE, country VARCHAR, user_id VARCHAR, clicks DOUBLE, p DOUBLE, q DOUBLE, latency_us BIGINT, slice VARCHAR, empty VARCHAR"
	if g := strings.Join(got, ", "); g != wantTypes {
		t.Errorf("DuckDB's column types\n%s\nwant\n%s", g, wantTypes)
	}
}

// jsFloat is JavaScript's String(x) for the values the fixture holds.
func jsFloat(x float64) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "Infinity"
	case math.IsInf(x, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// readJSONL reads lines of JSON arrays of strings (null as "null").
func readJSONL(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var raw []*string
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r := make([]string, len(raw))
		for i, s := range raw {
			if s == nil {
				r[i] = "null"
			} else {
				r[i] = *s
			}
		}
		out = append(out, r)
	}
	return out
}
