package materialize

//go:generate go run ./testdata/gen

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
)

// userStatsDefs describe testdata/user_stats.{csv,parquet}, written by
// testdata/gen.
const userStatsDefs = `
entities:
  - {name: user, join_key: user_id, key_type: string}
feature_views:
  - name: user_stats
    entity: user
    ttl: 24h
    source: t
    features:
      - {name: spend_7d, type: float}
      - {name: orders_30d, type: int}
      - {name: segment, type: categorical}
`

// fixtureUntil is the cut-off the fixture's rows straddle.
var fixtureUntil = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

func openStore(t *testing.T) featcache.Store {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func view(t *testing.T, defsYAML, name string) *featcache.View {
	t.Helper()
	d, err := featcache.ParseDefs([]byte(defsYAML), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, ok := d.View(name)
	if !ok {
		t.Fatalf("no view %s", name)
	}
	return v
}

// contents reads entities of view v from st.
// checkRefused fails the test unless err names path and contains want,
// and the store holds none of entities: a refused file writes nothing.
func checkRefused(t *testing.T, name, path, want string, err error, st featcache.Store, v *featcache.View, entities ...string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("%s: File error %v, want one naming %s and containing %q", name, err, path, want)
	}
	for _, r := range contents(t, st, v, entities) {
		if r.Found {
			t.Errorf("%s: File failed but wrote %+v", name, r)
		}
	}
}

func contents(t *testing.T, st featcache.Store, v *featcache.View, entities []string) []featcache.Record {
	t.Helper()
	keys := make([]featcache.Key, len(entities))
	for i, e := range entities {
		keys[i] = featcache.Key{View: v.Name, Entity: e}
	}
	recs, err := st.Get(context.Background(), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func sameRecord(a, b featcache.Record) bool {
	if a.Found != b.Found || !a.EventTime.Equal(b.EventTime) || len(a.Values) != len(b.Values) {
		return false
	}
	for i := range a.Values {
		if a.Values[i] != b.Values[i] && !(math.IsNaN(a.Values[i]) && math.IsNaN(b.Values[i])) {
			return false
		}
	}
	return true
}

// TestParquetMatchesCSV materializes the fixture from Parquet and from the
// same rows in CSV (the oracle) and compares the stats and the stores.
func TestParquetMatchesCSV(t *testing.T) {
	v := view(t, userStatsDefs, "user_stats")
	// The fixture must keep the reader crossing row groups.
	fh, err := os.Open(filepath.Join("testdata", "user_stats.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	fi, _ := fh.Stat()
	pf, err := parquet.OpenFile(fh, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pf.RowGroups()); n < 2 {
		t.Errorf("testdata/user_stats.parquet has %d row group, want several", n)
	}
	users := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"}
	for _, until := range []time.Time{fixtureUntil, {}} {
		ctx := context.Background()
		opts := Options{View: v, Until: until, BatchRows: 3}
		csvStore, pqStore := openStore(t), openStore(t)
		csvStats, err := File(ctx, csvStore, filepath.Join("testdata", "user_stats.csv"), opts)
		if err != nil {
			t.Fatal(err)
		}
		pqStats, err := File(ctx, pqStore, filepath.Join("testdata", "user_stats.parquet"), opts)
		if err != nil {
			t.Fatal(err)
		}
		if pqStats != csvStats {
			t.Errorf("until %v: Parquet stats %+v, want CSV's %+v", until, pqStats, csvStats)
		}
		if csvStats.Rows != 41 || csvStats.Entities != 9 || (csvStats.Late == 0) != until.IsZero() {
			t.Errorf("until %v: CSV stats %+v: the fixture no longer has 41 rows of 9 users with some after the cut-off", until, csvStats)
		}
		want := contents(t, csvStore, v, users)
		got := contents(t, pqStore, v, users)
		nullOrders := 0
		for i, u := range users {
			if !sameRecord(got[i], want[i]) {
				t.Errorf("until %v: %s from Parquet = %+v, want (from CSV) %+v", until, u, got[i], want[i])
			}
			if got[i].Found && math.IsNaN(got[i].Values[1]) {
				nullOrders++
			}
		}
		if nullOrders == 0 {
			t.Errorf("until %v: no stored row has orders_30d missing; the fixture should exercise nulls", until)
		}
	}
}

// pqCol is one column of a Parquet file written by writeParquet.
type pqCol struct {
	name string
	node parquet.Node
	vals []any // one per row: a Go value parquet.ValueOf takes, a parquet.Value, or nil for null
}

// writeParquet writes a Parquet file with cols to a temporary directory
// and returns its path.
func writeParquet(t *testing.T, cols ...pqCol) string {
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
			var pv parquet.Value
			switch x := c.vals[i].(type) {
			case nil:
				rows[i][leaf.ColumnIndex] = parquet.NullValue().Level(0, 0, leaf.ColumnIndex)
				continue
			case parquet.Value:
				pv = x
			default:
				pv = parquet.ValueOf(x)
			}
			rows[i][leaf.ColumnIndex] = pv.Level(0, leaf.MaxDefinitionLevel, leaf.ColumnIndex)
		}
	}
	path := filepath.Join(t.TempDir(), "in.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewWriter(f, schema)
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

var (
	ts20 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ts22 = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
)

func micros(ts ...time.Time) []any {
	out := make([]any, len(ts))
	for i, x := range ts {
		out[i] = x.UnixMicro()
	}
	return out
}

func tsMicros() parquet.Node { return parquet.Timestamp(parquet.Microsecond) }

// TestParquetKeys checks join keys of each accepted type are canonicalized
// as CSV ones are: "007", int64 7 and int32 7 are all entity "7" of an int
// entity, and an int64 key of a string entity is its decimal text.
func TestParquetKeys(t *testing.T) {
	intView := view(t, defs, "stats")
	strView := view(t, strings.Replace(defs, "key_type: int", "key_type: string", 1), "stats")
	for _, c := range []struct {
		name string
		v    *featcache.View
		key  pqCol
		want string // the stored entity
	}{
		{"int64", intView, pqCol{"user_id", parquet.Int(64), []any{int64(7), int64(7)}}, "7"},
		{"int32", intView, pqCol{"user_id", parquet.Leaf(parquet.Int32Type), []any{int32(7), int32(7)}}, "7"},
		{"uint64", intView, pqCol{"user_id", parquet.Uint(64), []any{uint64(7), uint64(7)}}, "7"},
		{"string", intView, pqCol{"user_id", parquet.String(), []any{"007", " +7 "}}, "7"},
		{"int64 into string entity", strView, pqCol{"user_id", parquet.Leaf(parquet.Int64Type), []any{int64(-7), int64(-7)}}, "-7"},
	} {
		path := writeParquet(t, c.key,
			pqCol{"event_time", tsMicros(), micros(ts20, ts22)},
			pqCol{"spend", parquet.Leaf(parquet.DoubleType), []any{1.5, 2.5}},
			pqCol{"orders", parquet.Leaf(parquet.Int64Type), []any{int64(1), int64(2)}},
		)
		st := openStore(t)
		stats, err := File(context.Background(), st, path, Options{View: c.v})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if want := (Stats{Rows: 2, Entities: 1, Written: 1}); stats != want {
			t.Errorf("%s: stats %+v, want %+v", c.name, stats, want)
		}
		got := contents(t, st, c.v, []string{c.want})[0]
		if want := (featcache.Record{Found: true, EventTime: ts22, Values: []float64{2.5, 2}}); !sameRecord(got, want) {
			t.Errorf("%s: entity %q = %+v, want %+v", c.name, c.want, got, want)
		}
	}
}

// TestParquetTimes checks every accepted event time encoding reads as the
// same UTC instant.
func TestParquetTimes(t *testing.T) {
	v := view(t, defs, "stats")
	at := time.Date(2026, 11, 22, 13, 14, 15, 123456789, time.UTC)
	// INT96: nanoseconds of the day, then the Julian day (2440588 is
	// 1970-01-01).
	day := at.Unix() / 86400
	nod := uint64(at.Sub(time.Unix(day*86400, 0)))
	int96 := parquet.Int96Value(deprecated.Int96{uint32(nod), uint32(nod >> 32), uint32(day + 2440588)})
	for _, c := range []struct {
		name string
		col  pqCol
		want time.Time
	}{
		{"millis", pqCol{"event_time", parquet.Timestamp(parquet.Millisecond), []any{at.UnixMilli()}}, at.Truncate(time.Millisecond)},
		{"micros", pqCol{"event_time", tsMicros(), []any{at.UnixMicro()}}, at.Truncate(time.Microsecond)},
		{"nanos", pqCol{"event_time", parquet.Timestamp(parquet.Nanosecond), []any{at.UnixNano()}}, at},
		{"micros not UTC-adjusted", pqCol{"event_time", parquet.TimestampAdjusted(parquet.Microsecond, false), []any{at.UnixMicro()}}, at.Truncate(time.Microsecond)},
		{"optional micros", pqCol{"event_time", parquet.Optional(tsMicros()), []any{at.UnixMicro()}}, at.Truncate(time.Microsecond)},
		{"int96", pqCol{"event_time", parquet.Leaf(parquet.Int96Type), []any{int96}}, at},
		{"string", pqCol{"event_time", parquet.String(), []any{"2026-11-22T14:14:15.123456789+01:00"}}, at},
	} {
		path := writeParquet(t, c.col,
			pqCol{"user_id", parquet.String(), []any{"1"}},
			pqCol{"spend", parquet.Leaf(parquet.FloatType), []any{float32(0.5)}},
			pqCol{"orders", parquet.Optional(parquet.Int(32)), []any{nil}},
		)
		st := openStore(t)
		if _, err := File(context.Background(), st, path, Options{View: v}); err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got := contents(t, st, v, []string{"1"})[0]
		if want := (featcache.Record{Found: true, EventTime: c.want, Values: []float64{0.5, math.NaN()}}); !sameRecord(got, want) {
			t.Errorf("%s: entity 1 = %+v, want %+v", c.name, got, want)
		}
	}
}

// TestParquetErrors checks each refusal names the file, the column and
// (for a bad value) the row, and that nothing is written: entity 1's good
// row comes first, and a writer that did not check the whole file first
// would have stored it (BatchRows is 1).
func TestParquetErrors(t *testing.T) {
	v := view(t, defs, "stats")
	key := pqCol{"user_id", parquet.Int(64), []any{int64(1), int64(2)}}
	tm := pqCol{"event_time", tsMicros(), micros(ts20, ts22)}
	spend := pqCol{"spend", parquet.Leaf(parquet.DoubleType), []any{1.0, 2.0}}
	orders := pqCol{"orders", parquet.Optional(parquet.Int(64)), []any{int64(1), nil}}
	rename := func(c pqCol, name string) pqCol { c.name = name; return c }
	for _, c := range []struct {
		name string
		cols []pqCol
		want string
	}{
		{"no join key", []pqCol{rename(key, "id"), tm, spend, orders}, `no column "user_id" (the join key of entity user)`},
		{"no time", []pqCol{key, rename(tm, "time"), spend, orders}, `no column "event_time" (the event time)`},
		{"no feature", []pqCol{key, tm, spend, rename(orders, "orders_7d")}, `no column "orders" (feature of view stats)`},
		{"double key", []pqCol{{"user_id", parquet.Leaf(parquet.DoubleType), []any{1.0, 2.0}}, tm, spend, orders},
			`column "user_id" has type DOUBLE, want a string (BYTE_ARRAY) or an integer (INT32, INT64) join key`},
		{"bare int64 time", []pqCol{key, {"event_time", parquet.Leaf(parquet.Int64Type), micros(ts20, ts22)}, spend, orders},
			`column "event_time" has type INT64 (INT(64,true)), want a TIMESTAMP (millis, micros or nanos; taken as UTC), an INT96 timestamp or a string of times such as 2026-11-25T12:00:00Z`},
		{"date time", []pqCol{key, {"event_time", parquet.Date(), []any{int32(1), int32(2)}}, spend, orders},
			`column "event_time" has type INT32 (DATE), want a TIMESTAMP`},
		{"string feature", []pqCol{key, tm, {"spend", parquet.String(), []any{"1", "2"}}, orders},
			`column "spend" has type BYTE_ARRAY (STRING), want a number (BOOLEAN, INT32, INT64, FLOAT, DOUBLE or DECIMAL)`},
		{"timestamp feature", []pqCol{key, tm, {"spend", tsMicros(), micros(ts20, ts22)}, orders},
			`column "spend" has type INT64 (TIMESTAMP`},
		{"list feature", []pqCol{key, tm, {"spend", parquet.Repeated(parquet.Leaf(parquet.DoubleType)), []any{1.0, 2.0}}, orders},
			`column "spend" is repeated (a list), want one value per row`},
		{"bad time", []pqCol{key, {"event_time", parquet.String(), []any{"2026-11-20T00:00:00Z", "yesterday"}}, spend, orders},
			`row 1: column "event_time": "yesterday" is not a time in a known form; want RFC 3339`},
		{"null time", []pqCol{key, {"event_time", parquet.Optional(tsMicros()), []any{ts20.UnixMicro(), nil}}, spend, orders},
			`row 1: column "event_time": null is not a time`},
		{"bad key", []pqCol{{"user_id", parquet.String(), []any{"1", "abc"}}, tm, spend, orders},
			`row 1: column "user_id": entity user: user_id "abc" is not an int64`},
		{"null key", []pqCol{{"user_id", parquet.Optional(parquet.String()), []any{"1", nil}}, tm, spend, orders},
			`row 1: column "user_id": null is not a valid int key`},
		{"fraction into int", []pqCol{key, tm, spend, {"orders", parquet.Leaf(parquet.DoubleType), []any{1.0, 2.5}}},
			`row 1: column "orders": want an integer (int feature), got 2.5`},
		{"+Inf", []pqCol{key, tm, {"spend", parquet.Leaf(parquet.DoubleType), []any{1.0, math.Inf(1)}}, orders},
			`row 1: column "spend": +Inf is not a finite number`},
		{"-Inf float", []pqCol{key, tm, {"spend", parquet.Leaf(parquet.FloatType), []any{float32(1), float32(math.Inf(-1))}}, orders},
			`row 1: column "spend": -Inf is not a finite number`},
	} {
		path := writeParquet(t, c.cols...)
		st := openStore(t)
		_, err := File(context.Background(), st, path, Options{View: v, BatchRows: 1})
		checkRefused(t, c.name, path, c.want, err, st, v, "1", "2")
	}
}

// TestParquetCorrupt checks a truncated or garbled file is refused with an
// error naming it, and nothing is written.
func TestParquetCorrupt(t *testing.T) {
	v := view(t, userStatsDefs, "user_stats")
	good, err := os.ReadFile(filepath.Join("testdata", "user_stats.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	// A footer that claims the whole file, over garbage.
	garbage := []byte("PAR1" + strings.Repeat("\xff", 64))
	garbage = append(garbage, byte(len(garbage)-4), 0, 0, 0)
	garbage = append(garbage, "PAR1"...)
	for name, in := range map[string][]byte{
		"empty":         nil,
		"half":          good[:len(good)/2],
		"no magic":      good[:len(good)-1],
		"magic only":    []byte("PAR1PAR1"),
		"garbage":       garbage,
		"footer zeroed": append(append([]byte{}, good[:len(good)-200]...), append(make([]byte, 192), good[len(good)-8:]...)...),
	} {
		path := filepath.Join(t.TempDir(), "user_stats.parquet")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		st := openStore(t)
		_, err := File(context.Background(), st, path, Options{View: v})
		checkRefused(t, fmt.Sprintf("%s (%d bytes)", name, len(in)), path, "", err, st, v, "u0", "u1", "u2", "u3")
	}
}

func TestFileExtension(t *testing.T) {
	v := view(t, defs, "stats")
	_, err := File(context.Background(), openStore(t), "rows.json", Options{View: v})
	if want := `materialize: rows.json: want a .csv or .parquet file (got ".json")`; err == nil || err.Error() != want {
		t.Errorf("File(rows.json) error %v, want %q", err, want)
	}
}

// FuzzParquet feeds arbitrary bytes to the Parquet reader: it must return
// rows or an error naming the file, never panic.
func FuzzParquet(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "user_stats.parquet"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, n := range []int{len(good) - 1, len(good) / 2, 4, 0} {
		f.Add(good[:n])
	}
	f.Add([]byte("PAR1PAR1"))
	d, err := featcache.ParseDefs([]byte(userStatsDefs), "defs.yaml")
	if err != nil {
		f.Fatal(err)
	}
	v, _ := d.View("user_stats")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		path := filepath.Join(dir, "in.parquet")
		if err := os.WriteFile(path, in, 0o600); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		latest, st, err := readParquet(fh, int64(len(in)), path, Options{View: v, TimeColumn: "event_time", Until: fixtureUntil})
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name %s", err, path)
			}
			return
		}
		if st.Entities != len(latest) || st.Rows < st.Late+st.Entities {
			t.Fatalf("stats %+v with %d entities kept", st, len(latest))
		}
		for k, r := range latest {
			if featcache.CheckKey(k) != nil || r.Entity != k || len(r.Values) != len(v.Features) || r.EventTime.After(fixtureUntil) || featcache.CheckEventTime(r.EventTime) != nil {
				t.Fatalf("kept row %q: %+v", k, r)
			}
		}
	})
}
