package materialize

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
)

const defs = `
entities:
  - {name: user, join_key: user_id, key_type: int}
feature_views:
  - name: stats
    entity: user
    ttl: 24h
    source: t
    features:
      - {name: spend, type: float}
      - {name: orders, type: int}
`

func setup(t *testing.T, csv string) (*featcache.View, featcache.Store, string) {
	t.Helper()
	d, err := featcache.ParseDefs([]byte(defs), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := d.View("stats")
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	path := filepath.Join(t.TempDir(), "stats.csv")
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	return v, st, path
}

// TestLatestPerEntity checks the latest row at or before Until wins, per
// entity, whatever the file's order.
func TestLatestPerEntity(t *testing.T) {
	v, st, path := setup(t, `user_id,event_time,spend,orders,extra
7,2026-11-20T00:00:00Z,1.5,1,x
007,2026-11-22T00:00:00Z,2.5,2,x
7,2026-11-21T00:00:00Z,9.5,9,x
8,2026-11-21T00:00:00Z,,3,x
8,2026-11-30T00:00:00Z,4,4,x
9,2026-11-30T00:00:00Z,5,5,x
`)
	until := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	stats, err := File(context.Background(), st, path, Options{View: v, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Rows: 6, Late: 2, Entities: 2, Written: 2}
	if stats != want {
		t.Errorf("stats %+v, want %+v", stats, want)
	}
	recs, err := st.Get(context.Background(), []featcache.Key{{View: "stats", Entity: "7"}, {View: "stats", Entity: "8"}, {View: "stats", Entity: "9"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !recs[0].Found || recs[0].Values[0] != 2.5 || !recs[0].EventTime.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("entity 7: %+v, want the 22nd's row (spend 2.5)", recs[0])
	}
	if !recs[1].Found || !math.IsNaN(recs[1].Values[0]) || recs[1].Values[1] != 3 {
		t.Errorf("entity 8: %+v, want the 21st's row with spend missing", recs[1])
	}
	if recs[2].Found {
		t.Errorf("entity 9 only has a row after Until, but the store has %+v", recs[2])
	}
	// Again: nothing newer, so nothing written.
	stats, err = File(context.Background(), st, path, Options{View: v, Until: until})
	if err != nil || stats.Written != 0 || stats.Skipped != 2 {
		t.Errorf("second run: %+v, %v; want 2 skipped", stats, err)
	}
}

func TestFileErrors(t *testing.T) {
	for _, c := range []struct{ csv, want string }{
		{"id,event_time,spend,orders\n1,2026-11-20T00:00:00Z,1,1\n", `no column "user_id"`},
		{"user_id,time,spend,orders\n1,2026-11-20T00:00:00Z,1,1\n", `no column "event_time"`},
		{"user_id,event_time,spend\n1,2026-11-20T00:00:00Z,1\n", `no column "orders"`},
		{"user_id,event_time,spend,orders\n1,2026-11-20T00:00:00Z,1,1\n2,yesterday,1,1\n", `:3: column "event_time"`},
		{"user_id,event_time,spend,orders\n1,2026-11-20T00:00:00Z,lots,1\n", `:2: column "spend"`},
		{"user_id,event_time,spend,orders\n1,2026-11-20T00:00:00Z,1,1.5\n", `:2: column "orders": want an integer (int feature), got 1.5`},
		{"user_id,event_time,spend,orders\nabc,2026-11-20T00:00:00Z,1,1\n", `:2: column "user_id"`},
		{"user_id,event_time,spend,orders\n1,2026-11-20T00:00:00Z,1\n", `wrong number of fields`},
	} {
		v, st, path := setup(t, c.csv)
		_, err := File(context.Background(), st, path, Options{View: v})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("File(%q) error %v, want one naming the file and containing %q", c.csv, err, c.want)
		}
		recs, _ := st.Get(context.Background(), []featcache.Key{{View: "stats", Entity: "1"}}, nil)
		if recs[0].Found {
			t.Errorf("File(%q) failed but wrote entity 1", c.csv)
		}
	}
}

// TestCSVTimeForms loads a CSV whose event times are as pandas, Spark and
// DuckDB write them (no offset: UTC), and refuses an unknown form naming
// the line and column and listing the accepted forms.
func TestCSVTimeForms(t *testing.T) {
	v, st, path := setup(t, `user_id,event_time,spend,orders
1,2026-11-20 00:00:00,1,1
2,2026-11-20 00:00:00.123456,2,2
3,2026-11-20 01:00:00+01:00,3,3
4,2026-11-20T00:00:00.000Z,4,4
5,2026-11-20 00:00:00.000,5,5
6,2026-11-20 00:00:00+00,6,6
7,2026-11-20,7,7
`)
	stats, err := File(context.Background(), st, path, Options{View: v})
	if err != nil || stats.Written != 7 {
		t.Fatalf("File: %+v, %v; want 7 rows written", stats, err)
	}
	keys := make([]featcache.Key, 7)
	for i := range keys {
		keys[i] = featcache.Key{View: "stats", Entity: strconv.Itoa(i + 1)}
	}
	recs, err := st.Get(context.Background(), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	midnight := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i, r := range recs {
		want := midnight
		if i == 1 {
			want = midnight.Add(123456 * time.Microsecond)
		}
		if !r.Found || !r.EventTime.Equal(want) {
			t.Errorf("entity %d: %+v, want event time %v", i+1, r, want)
		}
	}

	v, st, path = setup(t, "user_id,event_time,spend,orders\n1,2026-11-20 00:00:00,1,1\n2,20.11.2026 00:00,1,1\n")
	_, err = File(context.Background(), st, path, Options{View: v})
	want := path + `:3: column "event_time": "20.11.2026 00:00" is not a time in a known form; want ` + featcache.EventTimeForms
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("File with a time in an unknown form: error %v, want one containing %q", err, want)
	}
}
