package materialize

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"

	"github.com/predictd/predictd/featcache"
)

// hardNow is the clock of these tests: rows of ts20 and ts22 are in its
// past.
var hardNow = time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)

// stringDefs has a string join key, for keys an int key type would refuse
// anyway.
const stringDefs = `
entities:
  - {name: user, join_key: user_id, key_type: string}
feature_views:
  - name: stats
    entity: user
    ttl: 24h
    features:
      - {name: spend, type: float}
      - {name: orders, type: int}
`

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCSVHardening: times outside 1678..2262 were stored wrapped (9999 as
// 1816, 0001 as 1754) and future times accepted; duplicate columns used one
// of the two; keys with control bytes reached the store. Each is now
// refused with the line and column, and nothing is written.
func TestCSVHardening(t *testing.T) {
	v := view(t, stringDefs, "stats")
	const head = "user_id,event_time,spend,orders\nu1,2026-11-20T00:00:00Z,1,1\n"
	for _, c := range []struct{ name, csv, want string }{
		{"year 9999", head + "u2,9999-12-31T00:00:00Z,1,1\n", `:3: column "event_time": "9999-12-31T00:00:00Z" is outside the years 1678..2262`},
		{"year 1", head + "u2,0001-01-01T00:00:00Z,1,1\n", `:3: column "event_time": "0001-01-01T00:00:00Z" is outside the years 1678..2262`},
		{"year 2100", head + "u2,2100-01-01T00:00:00Z,1,1\n", `:3: column "event_time": 2100-01-01T00:00:00Z is`},
		{"25h ahead", head + "u2,2026-11-26T01:00:00Z,1,1\n", `in the future`},
		{"NUL key", head + "a\x00b,2026-11-20T00:00:00Z,1,1\n", `:3: column "user_id": entity user: user_id "a\x00b" contains a NUL byte`},
		{"long key", head + strings.Repeat("k", featcache.MaxKeyBytes+1) + ",2026-11-20T00:00:00Z,1,1\n", `:3: column "user_id": entity user: user_id "kkkk`},
		{"duplicate key column", "user_id,event_time,spend,orders,user_id\nu1,2026-11-20T00:00:00Z,1,1,u9\n", `:1: column "user_id" appears twice in the header, as columns 1 and 5`},
		{"duplicate after trimming", "user_id,event_time,spend, spend ,orders\nu1,2026-11-20T00:00:00Z,1,2,1\n", `column "spend" appears twice in the header, as columns 3 and 4`},
		{"duplicate ignored column", "user_id,event_time,spend,orders,x,x\nu1,2026-11-20T00:00:00Z,1,1,a,b\n", `column "x" appears twice`},
	} {
		path := writeFile(t, "in.csv", []byte(c.csv))
		st := openStore(t)
		_, err := File(context.Background(), st, path, Options{View: v, BatchRows: 1, MaxFutureSkew: time.Hour, Now: func() time.Time { return hardNow }})
		checkRefused(t, c.name, path, c.want, err, st, v, "u1", "u2")
		if err != nil && len(err.Error()) > 600 {
			t.Errorf("%s: error of %d bytes: a message must not echo the whole input", c.name, len(err.Error()))
		}
	}
	// Within the bound, and a future row after Until (ignored, never
	// stored), are fine.
	path := writeFile(t, "in.csv", []byte(head+"u2,2026-11-25T00:59:00Z,1,1\nu3,2100-01-01T00:00:00Z,1,1\n"))
	st := openStore(t)
	stats, err := File(context.Background(), st, path, Options{View: v, MaxFutureSkew: time.Hour, Until: hardNow.Add(time.Hour), Now: func() time.Time { return hardNow }})
	if err != nil || stats.Written != 2 || stats.Late != 1 {
		t.Errorf("rows within the future bound: %+v, %v; want 2 written, 1 late", stats, err)
	}
}

func TestOptionsRefused(t *testing.T) {
	v := view(t, stringDefs, "stats")
	path := writeFile(t, "in.csv", []byte("user_id,event_time,spend,orders\n"))
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{View: v, MaxFutureSkew: -time.Second}, "Options.MaxFutureSkew is -1s"},
		{Options{View: v, MaxRecordBytes: -1}, "Options.MaxRecordBytes is -1"},
	} {
		if _, err := File(context.Background(), openStore(t), path, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("File(%+v) error %v, want one containing %q", c.opts, err, c.want)
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestCSVHugeField: a 64 MiB key took about 16 times its size through
// encoding/csv (a 200 MB one, 3.2 GB RSS). It is refused with its line,
// having allocated a few megabytes at most.
func TestCSVHugeField(t *testing.T) {
	v := view(t, stringDefs, "stats")
	var b bytes.Buffer
	b.WriteString("user_id,event_time,spend,orders\nu1,2026-11-20T00:00:00Z,1,1\n\"")
	b.Write(bytes.Repeat([]byte("k\n"), 32<<20))
	b.WriteString("\",2026-11-20T00:00:00Z,1,1\n")
	path := writeFile(t, "huge.csv", b.Bytes())
	b = bytes.Buffer{}
	st := openStore(t)
	var err error
	n := allocated(func() { _, err = File(context.Background(), st, path, Options{View: v}) })
	if err == nil || !strings.Contains(err.Error(), path+":3: record longer than 1048576 bytes") {
		t.Errorf("File(64 MiB quoted key) error %v, want one naming %s:3 and the record limit", err, path)
	}
	if n > 8<<20 {
		t.Errorf("File(64 MiB quoted key) allocated %d bytes, want at most 8 MiB", n)
	}
	// The same bound on one long line, under a smaller limit.
	path = writeFile(t, "long.csv", []byte("user_id,event_time,spend,orders\n"+strings.Repeat("k", 5000)+",2026-11-20T00:00:00Z,1,1\n"))
	_, err = File(context.Background(), st, path, Options{View: v, MaxRecordBytes: 1000})
	if err == nil || !strings.Contains(err.Error(), path+":2: record longer than 1000 bytes") {
		t.Errorf("File(5000-byte line, limit 1000) error %v, want one naming %s:2", err, path)
	}
	// A record at the limit is read.
	const header, rec = "user_id,event_time,spend,orders", "u1,2026-11-20T00:00:00Z,1.000,1" // 31 bytes each
	path = writeFile(t, "ok.csv", []byte(header+"\n"+rec+"\n"))
	if _, err := File(context.Background(), st, path, Options{View: v, MaxRecordBytes: len(rec)}); err != nil {
		t.Errorf("File(record of exactly MaxRecordBytes) = %v, want nil", err)
	}
}

// TestParquetHardening is TestCSVHardening for Parquet: binary times
// (micros, INT96) and strings outside the years 1678..2262 were wrapped.
func TestParquetHardening(t *testing.T) {
	v := view(t, stringDefs, "stats")
	key := pqCol{"user_id", parquet.String(), []any{"u1", "u2"}}
	spend := pqCol{"spend", parquet.Leaf(parquet.DoubleType), []any{1.0, 2.0}}
	orders := pqCol{"orders", parquet.Leaf(parquet.Int64Type), []any{int64(1), int64(2)}}
	y9999 := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	int96 := func(day int64, nod uint64) parquet.Value {
		return parquet.Int96Value(deprecated.Int96{uint32(nod), uint32(nod >> 32), uint32(day + 2440588)})
	}
	for _, c := range []struct {
		name string
		cols []pqCol
		want string
	}{
		{"micros 9999", []pqCol{key, {"event_time", tsMicros(), []any{ts20.UnixMicro(), y9999.UnixMicro()}}, spend, orders},
			`row 1: column "event_time": 9999-12-31T00:00:00Z is outside the years 1678..2262`},
		{"millis 0001", []pqCol{key, {"event_time", parquet.Timestamp(parquet.Millisecond), []any{ts20.UnixMilli(), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()}}, spend, orders},
			`row 1: column "event_time": 0001-01-01T00:00:00Z is outside the years 1678..2262`},
		{"int96 9999", []pqCol{key, {"event_time", parquet.Leaf(parquet.Int96Type), []any{int96(ts20.Unix()/86400, 0), int96(y9999.Unix()/86400, 0)}}, spend, orders},
			`row 1: column "event_time": 9999-12-31T00:00:00Z is outside the years 1678..2262`},
		{"int96 nanos past the day", []pqCol{key, {"event_time", parquet.Leaf(parquet.Int96Type), []any{int96(ts20.Unix()/86400, 0), int96(ts20.Unix()/86400, 86400e9)}}, spend, orders},
			`row 1: column "event_time": INT96 timestamp with 86400000000000 nanoseconds of the day`},
		{"string 9999", []pqCol{key, {"event_time", parquet.String(), []any{"2026-11-20T00:00:00Z", "9999-12-31T00:00:00Z"}}, spend, orders},
			`row 1: column "event_time": "9999-12-31T00:00:00Z" is outside the years 1678..2262`},
		{"long time string", []pqCol{key, {"event_time", parquet.String(), []any{"2026-11-20T00:00:00Z", strings.Repeat("9", 100000)}}, spend, orders},
			`row 1: column "event_time": a string of 100000 bytes is not a time; want RFC 3339`},
		{"2100", []pqCol{key, {"event_time", tsMicros(), micros(ts20, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC))}, spend, orders},
			`row 1: column "event_time": 2100-01-01T00:00:00Z is`},
		{"NUL key", []pqCol{{"user_id", parquet.String(), []any{"u1", "a\x00b"}}, {"event_time", tsMicros(), micros(ts20, ts22)}, spend, orders},
			`row 1: column "user_id": entity user: user_id "a\x00b" contains a NUL byte`},
		{"long key", []pqCol{{"user_id", parquet.String(), []any{"u1", strings.Repeat("k", featcache.MaxKeyBytes+1)}}, {"event_time", tsMicros(), micros(ts20, ts22)}, spend, orders},
			`row 1: column "user_id": entity user: user_id of 257 bytes, longer than the 256-byte limit on entity keys`},
	} {
		path := writeParquet(t, c.cols...)
		st := openStore(t)
		_, err := File(context.Background(), st, path, Options{View: v, BatchRows: 1, Now: func() time.Time { return hardNow }})
		checkRefused(t, c.name, path, c.want, err, st, v, "u1", "u2")
	}
}

// TestParquetHugeKey: a row group whose key column is bigger than keys of
// MaxKeyBytes can make is refused before its pages are read. What is left
// is parquet-go reading the footer, which holds the key twice (the column's
// min and max statistics); a footer over parquetio.MaxFooterBytes is
// refused before it is read.
func TestParquetHugeKey(t *testing.T) {
	v := view(t, stringDefs, "stats")
	for _, c := range []struct {
		keyBytes, maxAlloc int
		want               string
	}{
		{4 << 20, 12 << 20, `row group 0: column "user_id" holds`},
		{16 << 20, 1 << 20, `footer of`},
	} {
		huge := strings.Repeat("k", c.keyBytes)
		path := writeParquet(t,
			pqCol{"user_id", parquet.String(), []any{"u1", huge}},
			pqCol{"event_time", tsMicros(), micros(ts20, ts22)},
			pqCol{"spend", parquet.Leaf(parquet.DoubleType), []any{1.0, 2.0}},
			pqCol{"orders", parquet.Leaf(parquet.Int64Type), []any{int64(1), int64(2)}},
		)
		huge = ""
		st := openStore(t)
		var err error
		n := allocated(func() { _, err = File(context.Background(), st, path, Options{View: v}) })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("File(%d-byte key) error %v, want one containing %q", c.keyBytes, err, c.want)
		}
		if n > uint64(c.maxAlloc) {
			t.Errorf("File(%d-byte key) allocated %d bytes, want at most %d", c.keyBytes, n, c.maxAlloc)
		}
	}
}

// TestParquetDuplicateColumn: a schema naming user_id twice (parquet-go
// writes no such file; this one is patched) is refused naming both.
func TestParquetDuplicateColumn(t *testing.T) {
	v := view(t, stringDefs, "stats")
	path := writeParquet(t,
		pqCol{"user_id", parquet.String(), []any{"u1"}},
		pqCol{"user_iX", parquet.String(), []any{"u9"}},
		pqCol{"event_time", tsMicros(), micros(ts20)},
		pqCol{"spend", parquet.Leaf(parquet.DoubleType), []any{1.0}},
		pqCol{"orders", parquet.Leaf(parquet.Int64Type), []any{int64(1)}},
	)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(data, []byte("user_iX")) == 0 {
		t.Fatal("no user_iX in the written file")
	}
	path = writeFile(t, "dup.parquet", bytes.ReplaceAll(data, []byte("user_iX"), []byte("user_id")))
	st := openStore(t)
	_, err = File(context.Background(), st, path, Options{View: v})
	if err == nil || !strings.Contains(err.Error(), `column "user_id" appears twice in the schema, as top-level columns`) {
		t.Errorf("File(two user_id columns) error %v, want one naming the column twice", err)
	}
	if r := contents(t, st, v, []string{"u1", "u9"}); r[0].Found || r[1].Found {
		t.Errorf("File failed but wrote %+v", r)
	}
}
