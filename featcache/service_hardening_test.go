package featcache_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
)

const stringKeyDefs = `
entities:
  - {name: user, join_key: user_id, key_type: string}
feature_views:
  - name: stats
    entity: user
    ttl: 1h
    features:
      - {name: spend, type: float}
`

// newStringService is a service over a view with string keys, its clock
// fixed at now.
func newStringService(t *testing.T, now time.Time, skew time.Duration) *featcache.Service {
	t.Helper()
	defs, err := featcache.ParseDefs([]byte(stringKeyDefs), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	opts := featcache.DefaultCacheOptions()
	opts.Now = func() time.Time { return now }
	opts.MaxFutureSkew = skew
	svc, err := featcache.NewService(defs, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// TestPushHardening: keys and times that used to be answered 500, or
// accepted and then harmful, are InputErrors (400) naming the row and
// field, and nothing of the batch is written.
func TestPushHardening(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc := newStringService(t, now, time.Hour)
	ctx := context.Background()
	row := func(entity, at string) string {
		return `{"entity": "` + entity + `", "event_time": "` + at + `", "values": {"spend": 1}}`
	}
	good := row("u1", "2026-11-25T12:00:00Z")
	for _, c := range []struct{ name, row, want string }{
		{"NUL in key", row(`a\u0000b`, "2026-11-25T12:00:00Z"), `row 1: field "entity": entity user: user_id "a\x00b" contains a NUL byte`},
		{"newline in key", row(`a\nb`, "2026-11-25T12:00:00Z"), `row 1: field "entity"`},
		{"1 MB key", row(strings.Repeat("k", 1<<20), "2026-11-25T12:00:00Z"), `row 1: field "entity": entity user: user_id "kkkk`},
		{"year 9999", row("u2", "9999-01-01T00:00:00Z"), `row 1: field "event_time": "9999-01-01T00:00:00Z" is outside the years 1678..2262`},
		{"year 1", row("u2", "0001-01-01T00:00:00Z"), `row 1: field "event_time": "0001-01-01T00:00:00Z" is outside the years 1678..2262`},
		{"year 2100", row("u2", "2100-01-01T00:00:00Z"), `row 1: field "event_time": 2100-01-01T00:00:00Z is`},
		{"past the skew", row("u2", "2026-11-25T13:00:01Z"), `in the future`},
	} {
		_, err := svc.Push(ctx, "stats", []byte(`{"rows": [`+good+`, `+c.row+`]}`))
		var ie *featcache.InputError
		if err == nil || !strings.Contains(err.Error(), c.want) || !asInput(err, &ie) {
			t.Errorf("%s: Push error %v, want an InputError containing %q", c.name, err, c.want)
		}
		if err != nil && len(err.Error()) > 400 {
			t.Errorf("%s: Push error is %d bytes long; a message must not echo the whole input", c.name, len(err.Error()))
		}
	}
	if got, err := svc.Get(ctx, "stats", "u1"); err != nil || got.Status != "missing" {
		t.Errorf("after refused pushes, u1: %+v, %v; want missing (nothing written)", got, err)
	}
	// Within the skew: accepted, and a later in-time push still applies.
	if res, err := svc.Push(ctx, "stats", []byte(`{"rows": [`+row("u3", "2026-11-25T12:59:00Z")+`]}`)); err != nil || res.Written != 1 {
		t.Fatalf("push 59 minutes ahead with a 1h skew: %+v, %v; want written", res, err)
	}
	// Keys with '/', spaces and non-ASCII letters are fine.
	for _, k := range []string{"a/b", "a b", "ü/ñ"} {
		if res, err := svc.Push(ctx, "stats", []byte(`{"rows": [`+row(k, "2026-11-25T12:00:00Z")+`]}`)); err != nil || res.Written != 1 {
			t.Errorf("push key %q: %+v, %v; want written", k, res, err)
		}
		if got, err := svc.Get(ctx, "stats", k); err != nil || got.Status != "present" || got.Entity != k {
			t.Errorf("Get(%q) = %+v, %v; want present", k, got, err)
		}
	}
}

// TestWriteHardening: the in-process path (the stream's) refuses future
// times and bad keys as push does.
func TestWriteHardening(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc := newStringService(t, now, 0) // 0: the default, 24h
	ctx := context.Background()
	good := featcache.Row{Entity: "u1", EventTime: now, Values: []float64{1}}
	for _, c := range []struct {
		row  featcache.Row
		want string
	}{
		{featcache.Row{Entity: "u2", EventTime: now.Add(25 * time.Hour), Values: []float64{1}}, `row 1: field "event_time": 2026-11-26T13:00:00Z is 25h0m0s in the future`},
		{featcache.Row{Entity: "u2", EventTime: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), Values: []float64{1}}, `row 1: field "event_time"`},
		{featcache.Row{Entity: strings.Repeat("k", featcache.MaxKeyBytes+1), EventTime: now, Values: []float64{1}}, `row 1: field "entity"`},
		{featcache.Row{Entity: "a\x00b", EventTime: now, Values: []float64{1}}, `row 1: field "entity": entity user: user_id "a\x00b" contains a NUL byte`},
	} {
		_, err := svc.Write(ctx, "stats", []featcache.Row{good, c.row})
		var ie *featcache.InputError
		if err == nil || !strings.Contains(err.Error(), c.want) || !asInput(err, &ie) {
			t.Errorf("Write(%.60q) error %v, want an InputError containing %q", c.row.Entity, err, c.want)
		}
	}
	if res, err := svc.Write(ctx, "stats", []featcache.Row{{Entity: "u1", EventTime: now.Add(23 * time.Hour), Values: []float64{1}}}); err != nil || res.Written != 1 {
		t.Errorf("Write 23h ahead with the default 24h skew: %+v, %v; want written", res, err)
	}
}

// TestReadHardening: Get and Fetch refuse invalid keys as InputErrors
// (the server answers 400), and Fetch still returns a status per key.
func TestReadHardening(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc := newStringService(t, now, 0)
	ctx := context.Background()
	for _, k := range []string{"", "a\x00b", strings.Repeat("k", featcache.MaxKeyBytes+1), "\xff"} {
		_, err := svc.Get(ctx, "stats", k)
		var ie *featcache.InputError
		if err == nil || !asInput(err, &ie) {
			t.Errorf("Get(%.40q) error %v, want an InputError", k, err)
		}
	}
	keys := []featcache.Key{{View: "stats", Entity: "u1"}, {View: "stats", Entity: "a\x00b"}}
	recs, sts, err := svc.Fetch(ctx, time.Time{}, keys, nil, nil)
	var ie *featcache.InputError
	if err == nil || !asInput(err, &ie) || !strings.Contains(err.Error(), "key 1") {
		t.Errorf("Fetch with a NUL key: error %v, want an InputError naming key 1", err)
	}
	if len(recs) != len(keys) || len(sts) != len(keys) || sts[0] != featcache.StatusUnavailable || sts[1] != featcache.StatusUnavailable {
		t.Errorf("Fetch with a NUL key: %d records, statuses %v; want %d, all unavailable", len(recs), sts, len(keys))
	}
	if _, _, err := svc.Fetch(ctx, time.Time{}, keys[:1], nil, nil); err != nil {
		t.Errorf("Fetch(u1) = %v, want nil", err)
	}
}

func TestNewServiceMaxFutureSkew(t *testing.T) {
	defs, err := featcache.ParseDefs([]byte(stringKeyDefs), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = featcache.NewService(defs, st, featcache.CacheOptions{MaxFutureSkew: -time.Second})
	if err == nil || !strings.Contains(err.Error(), "CacheOptions.MaxFutureSkew") {
		t.Errorf("NewService with MaxFutureSkew -1s: %v, want an error naming CacheOptions.MaxFutureSkew", err)
	}
}
