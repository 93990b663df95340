package featcache_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
)

const serviceDefs = `
entities:
  - {name: user, join_key: user_id, key_type: int}
feature_views:
  - name: stats
    entity: user
    ttl: 1h
    source: t
    features:
      - {name: spend, type: float, default: 0}
      - {name: orders, type: int}
`

func newService(t *testing.T) *featcache.Service {
	t.Helper()
	defs, err := featcache.ParseDefs([]byte(serviceDefs), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := featcache.NewService(defs, st, featcache.DefaultCacheOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc
}

// TestPushRefusals checks each refusal names the row and field, and that
// a refused batch writes nothing.
func TestPushRefusals(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	ts := time.Now().UTC().Format(time.RFC3339)
	good := `{"entity": 7, "event_time": "` + ts + `", "values": {"spend": 1.5, "orders": 2}}`
	for _, c := range []struct{ view, body, want string }{
		{"nope", `{"rows": [` + good + `]}`, `no feature view "nope" (views: stats)`},
		{"stats", `{"rows": []}`, "no rows"},
		{"stats", `{"rows": [` + good + `,}`, "malformed JSON at byte"},
		{"stats", `{"rowz": []}`, "rowz"},
		{"stats", `{"rows": [` + good + `, {"entity": "x7", "event_time": "` + ts + `", "values": {"spend": 1, "orders": 2}}]}`, `row 1: field "entity"`},
		{"stats", `{"rows": [` + good + `, {"entity": 8, "event_time": "yesterday", "values": {"spend": 1, "orders": 2}}]}`, `row 1: field "event_time"`},
		{"stats", `{"rows": [` + good + `, {"entity": 8, "event_time": "` + ts + `", "values": {"spend": 1, "orders": 2, "x": 1}}]}`, `row 1: unknown feature "x"`},
		{"stats", `{"rows": [` + good + `, {"entity": 8, "event_time": "` + ts + `", "values": {"spend": 1}}]}`, `row 1: feature "orders" missing`},
		{"stats", `{"rows": [` + good + `, {"entity": 8, "event_time": "` + ts + `", "values": {"spend": 1, "orders": 2.5}}]}`, `row 1: feature "orders": want an integer`},
		{"stats", `{"rows": [` + good + `, {"entity": 8, "event_time": "` + ts + `", "values": {"spend": "1", "orders": 2}}]}`, `row 1: feature "spend": want a number or null`},
	} {
		_, err := svc.Push(ctx, c.view, []byte(c.body))
		var ie *featcache.InputError
		if err == nil || !strings.Contains(err.Error(), c.want) || !asInput(err, &ie) {
			t.Errorf("Push(%s, %.60q) error %v, want an InputError containing %q", c.view, c.body, err, c.want)
		}
	}
	got, err := svc.Get(ctx, "stats", "7")
	if err != nil || got.Status != "missing" {
		t.Errorf("after refused pushes, entity 7: %+v, %v; want missing (nothing written)", got, err)
	}
	// The int key "+007" is entity 7.
	if res, err := svc.Push(ctx, "stats", []byte(`{"rows": [`+good+`]}`)); err != nil || res.Written != 1 {
		t.Fatalf("good push: %+v %v", res, err)
	}
	got, err = svc.Get(ctx, "stats", "+007")
	if err != nil || got.Status != "present" || *got.Values["spend"] != 1.5 || got.Entity != "7" {
		t.Errorf("Get(+007) = %+v, %v; want entity 7 present with spend 1.5", got, err)
	}
}

func asInput(err error, ie **featcache.InputError) bool {
	e, ok := err.(*featcache.InputError)
	*ie = e
	return ok
}

// TestWrite checks the in-process write path refuses what Push refuses,
// names the row, writes nothing of a refused batch, and drops cached
// answers for what it writes.
func TestWrite(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	now := time.Now()
	good := featcache.Row{Entity: "7", EventTime: now, Values: []float64{1.5, 2}}
	for _, c := range []struct {
		view string
		row  featcache.Row
		want string
	}{
		{"nope", good, `no feature view "nope"`},
		{"stats", featcache.Row{Entity: "", EventTime: now, Values: []float64{1, 2}}, `row 1: field "entity": empty`},
		{"stats", featcache.Row{Entity: "007", EventTime: now, Values: []float64{1, 2}}, `row 1: field "entity": "007" is not canonical (want "7")`},
		{"stats", featcache.Row{Entity: "x", EventTime: now, Values: []float64{1, 2}}, `row 1: field "entity"`},
		{"stats", featcache.Row{Entity: "8", Values: []float64{1, 2}}, `row 1: field "event_time": missing`},
		{"stats", featcache.Row{Entity: "8", EventTime: now, Values: []float64{1}}, `row 1: 1 values, view stats has 2 features`},
		{"stats", featcache.Row{Entity: "8", EventTime: now, Values: []float64{1, 2.5}}, `row 1: feature "orders": want an integer`},
		{"stats", featcache.Row{Entity: "8", EventTime: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), Values: []float64{1, 2}}, `row 1: field "event_time": 2300-01-01T00:00:00Z is outside the years 1678..2262`},
	} {
		_, err := svc.Write(ctx, c.view, []featcache.Row{good, c.row})
		var ie *featcache.InputError
		if err == nil || !strings.Contains(err.Error(), c.want) || !asInput(err, &ie) {
			t.Errorf("Write(%s, %+v) error %v, want an InputError containing %q", c.view, c.row, err, c.want)
		}
	}
	if got, err := svc.Get(ctx, "stats", "7"); err != nil || got.Status != "missing" {
		t.Fatalf("after refused writes, entity 7: %+v, %v; want missing", got, err)
	}
	// The missing answer is cached now; a write must drop it.
	if res, err := svc.Write(ctx, "stats", []featcache.Row{good}); err != nil || res.Written != 1 {
		t.Fatalf("good write: %+v %v", res, err)
	}
	if got, err := svc.Get(ctx, "stats", "7"); err != nil || got.Status != "present" || *got.Values["spend"] != 1.5 {
		t.Errorf("after write, entity 7: %+v, %v; want present with spend 1.5", got, err)
	}
	if res, err := svc.Write(ctx, "stats", []featcache.Row{good}); err != nil || res.Skipped != 1 {
		t.Errorf("replayed write: %+v %v; want 1 skipped", res, err)
	}
}

// TestPushTimeForms: the push API reads event times with ParseEventTime,
// so a pandas-style time without an offset is accepted, as UTC.
func TestPushTimeForms(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	body := `{"rows": [{"entity": 7, "event_time": "` + at.Format("2006-01-02 15:04:05") + `", "values": {"spend": 1.5, "orders": 2}}]}`
	if res, err := svc.Push(ctx, "stats", []byte(body)); err != nil || res.Written != 1 {
		t.Fatalf("Push(%s) = %+v, %v; want 1 written", body, res, err)
	}
	got, err := svc.Get(ctx, "stats", "7")
	if err != nil || got.Status != "present" || !got.EventTime.Equal(at) {
		t.Errorf("Get(7) after pushing %s = %+v, %v; want present at %v", body, got, err, at)
	}
}
