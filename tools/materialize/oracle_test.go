package materialize

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/fixture"
)

// otherWritersDefs describe testdata/parquet/features.*.parquet, written by
// testdata/gen/parquet_oracle.mjs with DuckDB and with @dsnp/parquetjs:
// view stats over both files; stats_balance adds the DuckDB file's
// DECIMAL(38,2) column; stats_by_uid keys the same entities by the integer
// uid (100000 plus the digits of user_id). extra is added to the features
// of stats.
func otherWritersDefs(extra string) string {
	const feats = "{name: spend_7d, type: float}, {name: orders_30d, type: int}, {name: segment, type: categorical}"
	return `
entities:
  - {name: user, join_key: user_id, key_type: string}
  - {name: user_n, join_key: uid, key_type: int}
feature_views:
  - {name: stats, entity: user, ttl: 24h, source: t, features: [` + feats + extra + `]}
  - {name: stats_balance, entity: user, ttl: 24h, source: t, features: [` + feats + `, {name: balance, type: float}]}
  - {name: stats_by_uid, entity: user_n, ttl: 24h, source: t, features: [` + feats + `, {name: balance, type: float}]}
`
}

// latestRow is one row of a features.*.latest.csv: DuckDB's answer for an
// entity.
type latestRow struct {
	key    string
	at     time.Time
	values []float64
}

func readLatest(t *testing.T, path string) (header []string, rows []latestRow) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("%s: %d records, %v", path, len(recs), err)
	}
	for i, rec := range recs[1:] {
		us, err := strconv.ParseInt(rec[1], 10, 64)
		if err != nil {
			t.Fatalf("%s:%d: event_time_us: %v", path, i+2, err)
		}
		r := latestRow{key: rec[0], at: time.UnixMicro(us).UTC()}
		for j, s := range rec[2:] {
			x := math.NaN()
			if s != "" {
				if x, err = strconv.ParseFloat(s, 64); err != nil {
					t.Fatalf("%s:%d: column %d: %v", path, i+2, j+3, err)
				}
			}
			r.values = append(r.values, x)
		}
		rows = append(rows, r)
	}
	return recs[0][2:], rows
}

// TestParquetOtherWriters materializes feature files written by DuckDB and
// by parquetjs, not by parquet-go, and compares what the store holds for
// every entity with DuckDB's own answer from its reading of the same file
// (features.*.latest.csv): the latest event time at or before the cut-off,
// the first in file order of equal times, and its values (null as NaN).
// The files hold several row groups, dictionary pages, data page v2,
// snappy and gzip, FIXED_LEN_BYTE_ARRAY decimals, and every time encoding:
// TIMESTAMP in micros, millis and nanos, UTC-adjusted or not, the legacy
// converted type TIMESTAMP_MILLIS and INT96.
func TestParquetOtherWriters(t *testing.T) {
	defs, err := featcache.ParseDefs([]byte(otherWritersDefs("")), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byUID := func(k string) string { // "u0042" -> "100042"
		n, err := strconv.Atoi(strings.TrimPrefix(k, "u"))
		if err != nil {
			t.Fatalf("key %q: %v", k, err)
		}
		return strconv.Itoa(100000 + n)
	}
	same := func(k string) string { return k }
	for _, tc := range []struct {
		file, latest, view, timeCol string
		key                         func(string) string
	}{
		{"features.duckdb.parquet", "features.duckdb.latest.csv", "stats_balance", "ts", same},
		{"features.duckdb.parquet", "features.duckdb.latest.csv", "stats_balance", "ts_ms", same},
		{"features.duckdb.parquet", "features.duckdb.latest.csv", "stats_balance", "ts_ns", same},
		{"features.duckdb.parquet", "features.duckdb.latest.csv", "stats_balance", "ts_tz", same},
		{"features.duckdb.parquet", "features.duckdb.latest.csv", "stats_by_uid", "ts", byUID},
		{"features.parquetjs.parquet", "features.parquetjs.latest.csv", "stats", "ts_96", same},
		{"features.parquetjs.parquet", "features.parquetjs.latest.csv", "stats", "ts_ms", same},
	} {
		name := tc.file + "/" + tc.view + "/" + tc.timeCol
		v, _ := defs.View(tc.view)
		header, want := readLatest(t, fixture.Path("parquet", tc.latest))
		for i, ft := range v.Features {
			if header[i] != ft.Name {
				t.Fatalf("%s: %s column %d is %s, want feature %s", name, tc.latest, i+3, header[i], ft.Name)
			}
		}
		st := openStore(t)
		stats, err := File(context.Background(), st, fixture.Path("parquet", tc.file), Options{
			View: v, Until: fixtureUntil, TimeColumn: tc.timeCol, Now: func() time.Time { return fixtureUntil },
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if stats.Entities != len(want) || stats.Written != len(want) || stats.Late == 0 {
			t.Errorf("%s: stats %+v, want %d entities written and some rows after the cut-off", name, stats, len(want))
		}
		keys := make([]string, len(want))
		for i, w := range want {
			keys[i] = tc.key(w.key)
		}
		bad := 0
		for i, rec := range contents(t, st, v, keys) {
			w := featcache.Record{Found: true, EventTime: want[i].at, Values: want[i].values[:len(v.Features)]}
			if !sameRecord(rec, w) {
				if bad++; bad <= 5 {
					t.Errorf("%s: entity %s: store holds %+v, DuckDB's answer %+v", name, keys[i], rec, w)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d entities differ from DuckDB's answer", name, bad, len(want))
		}
	}
}

// TestParquetOtherWritersRefused: the parquetjs file's repeated column, and
// a TIMESTAMP as a feature, are refused naming the file and the column,
// and nothing is written.
func TestParquetOtherWritersRefused(t *testing.T) {
	for _, tc := range []struct{ file, feature, want string }{
		{"features.parquetjs.parquet", "tags", `column "tags" is repeated (a list), want one value per row`},
		{"features.duckdb.parquet", "ts_ms", `column "ts_ms" has type INT64 (TIMESTAMP(isAdjustedToUTC=false,unit=MILLIS)), want a number`},
	} {
		defs := otherWritersDefs(", {name: " + tc.feature + ", type: float}")
		v := view(t, defs, "stats")
		st := openStore(t)
		path := fixture.Path("parquet", tc.file)
		timeCol := "ts"
		if strings.Contains(tc.file, "parquetjs") {
			timeCol = "ts_96"
		}
		_, err := File(context.Background(), st, path, Options{View: v, Until: fixtureUntil, TimeColumn: timeCol, Now: func() time.Time { return fixtureUntil }})
		checkRefused(t, tc.feature, path, tc.want, err, st, v, "u0000", "u0001")
	}
}
