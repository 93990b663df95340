package featcache_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
	"github.com/predictd/predictd/internal/fixture"
)

// joinDefs: four of lrFeatures come from view "shape" of a patient (int
// keys), two from view "lab" of a site (string keys); the last four are
// sent by the caller. Shared with server/join_test.go.
var joinDefs = fixture.Text("features", "join_lr.yaml")

// lrFeatures are the inputs of a logistic regression, in its order.
var lrFeatures = []string{"mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness",
	"mean_compactness", "mean_concavity", "mean_concave_points", "mean_symmetry", "mean_fractal_dimension"}

// TestJoinPlanErrors checks that feature_views that do not fit the
// definitions or the model are refused, saying why.
func TestJoinPlanErrors(t *testing.T) {
	defs, err := featcache.ParseDefs([]byte(joinDefs+`
  - name: dup
    entity: patient
    ttl: 1h
    features:
      - {name: mean_radius, type: float, default: 0}
  - name: nodefault
    entity: patient
    ttl: 1h
    features:
      - {name: mean_area, type: float}
`), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		views []string
		want  string
	}{
		{[]string{"nope"}, `feature_views "nope": no feature view nope`},
		{[]string{"shape:mean_nothing"}, `view shape has no feature "mean_nothing"`},
		{[]string{"lab:unrelated"}, `the model has no feature "unrelated"`},
		{[]string{"shape", "dup"}, `model feature "mean_radius" is also a feature of view shape`},
		{[]string{"nodefault"}, `feature "mean_area" of view nodefault has no default, and a linear model needs every value`},
	} {
		_, err := featcache.NewJoinPlan(defs, featcache.ModelInputs{Kind: "linear", Features: lrFeatures, FeatureViews: c.views})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("feature_views %v: error %v, want one containing %q", c.views, err, c.want)
		}
	}
}

// entityKeys is featcache.EntityKeys over a table: keys[i][k]. Tests pass
// a pointer, as the server passes its decoded request: a slice converted to
// an interface would allocate.
type entityKeys [][]string

func (e *entityKeys) EntityKey(i, k int) string { return (*e)[i][k] }

// newJoin returns the plan of a linear model reading views shape and
// lab:mean_smoothness over joinDefs, and a service over a pebble store
// whose clock reads now.
func newJoin(t testing.TB, now time.Time) (*featcache.JoinPlan, *featcache.Service) {
	t.Helper()
	defs, err := featcache.ParseDefs([]byte(joinDefs), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := featcache.NewJoinPlan(defs, featcache.ModelInputs{Kind: "linear", Features: lrFeatures, FeatureViews: []string{"shape", "lab:mean_smoothness"}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := featcache.NewService(defs, st, featcache.CacheOptions{MaxStaleness: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	for _, r := range []struct {
		view, entity string
		at           time.Time
		vals         []float64
	}{
		{"shape", "7", now.Add(-90 * time.Second), []float64{0.19, math.NaN(), -0.13, -0.04}},
		{"shape", "8", now.Add(-2 * time.Hour), []float64{9, 9, 9, 9}}, // past the view's 1h TTL
		{"lab", "north", now.Add(-30 * time.Second), []float64{-2.5, -1.4, 7}},
	} {
		if _, err := svc.Write(context.Background(), r.view, []featcache.Row{{Entity: r.entity, EventTime: r.at, Values: r.vals}}); err != nil {
			t.Fatal(err)
		}
	}
	return p, svc
}

// TestJoinFill checks the fill rules instance by instance: a present row's
// values (its NaN as the default, for a model that takes no missing
// values), defaults for a missing or expired row, values sent kept; and
// what Row reports for the response.
func TestJoinFill(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p, svc := newJoin(t, now)
	if p.NumKeys() != 2 || p.Key(0).JoinKey != "patient_id" || p.KeyIndex([]byte("site")) != 1 || p.KeyIndex([]byte("mean_radius")) != -1 {
		t.Fatalf("plan keys: %d, %v, site at %d", p.NumKeys(), p.Key(0), p.KeyIndex([]byte("site")))
	}
	if k, v := p.Source(4); k != 1 || v.Name != "lab" {
		t.Errorf("Source(mean_smoothness) = %d, %v; want key 1, view lab", k, v)
	}
	if k, v := p.Source(5); k != -1 || v != nil {
		t.Errorf("Source(mean_compactness) = %d, %v; want -1, nil: the request sends it", k, v)
	}
	nf := len(lrFeatures)
	keys := entityKeys{{"7", "north"}, {"8", "south"}, {"7", ""}}
	given := make([]bool, 3*nf)
	rows := make([]float64, 3*nf)
	for i := range given {
		given[i] = i%nf >= 5 // the request sends mean_compactness and after
		rows[i] = -100
	}
	given[2*nf+4], rows[2*nf+4] = true, 42 // instance 2 sends mean_smoothness, and no site
	var j featcache.Join
	if err := j.Select(p, 3, &keys, given, false); err != nil {
		t.Fatal(err)
	}
	if err := j.Read(context.Background(), svc, time.Time{}); err != nil {
		t.Fatal(err)
	}
	c := j.Fill(p, rows, 3, given)
	want := [][]float64{
		{0.19, -0.5, -0.13, -0.04, -2.5}, // present; the stored NaN gets the default
		{0.5, -0.5, 0.25, 0, 1},          // expired shape row, no lab row: defaults
		{0.19, -0.5, -0.13, -0.04, 42},   // mean_smoothness sent
	}
	for i, w := range want {
		if got := rows[i*nf : i*nf+5]; !equalRows(got, w) {
			t.Errorf("instance %d: filled %v, want %v", i, got, w)
		}
		if rows[i*nf+5] != -100 {
			t.Errorf("instance %d: a feature sent was overwritten: %v", i, rows[i*nf+5])
		}
	}
	if wc := (featcache.JoinCounts{Present: 9, Default: 1, Expired: 4, Overridden: 1}); c != wc {
		t.Errorf("counts %+v, want %+v", c, wc)
	}
	for _, w := range []struct {
		i, vi int
		st    featcache.Status
		age   time.Duration
		ok    bool
	}{
		{0, 0, featcache.StatusPresent, 90 * time.Second, true},
		{0, 1, featcache.StatusPresent, 30 * time.Second, true},
		{1, 0, featcache.StatusExpired, 2 * time.Hour, true},
		{1, 1, featcache.StatusMissing, 0, true},
		{2, 1, 0, 0, false},
	} {
		st, at, ok := j.Row(w.i, w.vi)
		if st != w.st || ok != w.ok || ok && st != featcache.StatusMissing && j.Now().Sub(at) != w.age {
			t.Errorf("Row(%d, %d) = %s %v %v, want %s, age %s, %v", w.i, w.vi, st, at, ok, w.st, w.age, w.ok)
		}
	}
	// With all, the rows of views whose features were all sent are read too.
	given[2*nf+0], given[2*nf+1], given[2*nf+2], given[2*nf+3] = true, true, true, true
	if err := j.Select(p, 3, &keys, given, true); err != nil {
		t.Fatal(err)
	}
	if err := j.Read(context.Background(), svc, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if st, _, ok := j.Row(2, 0); !ok || st != featcache.StatusPresent {
		t.Errorf("Select all: Row(2, 0) = %s %v, want present", st, ok)
	}
	// A key the store could not hold is the request's error.
	var ie *featcache.InputError
	bad := entityKeys{{"7", "a\x1bb"}}
	err := j.Select(p, 1, &bad, given, false)
	if !errors.As(err, &ie) || !strings.Contains(ie.Msg, `instance 0: site: "a\x1bb" contains a control byte`) {
		t.Errorf("Select with a control byte in a key: %v, want an *InputError naming instance 0 and site", err)
	}
	j.Reset()
}

func equalRows(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// TestJoinAllocs: a warm Select, Read (cache hits) and Fill allocate
// nothing.
func TestJoinAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p, svc := newJoin(t, now)
	nf := len(lrFeatures)
	keys := entityKeys{{"7", "north"}}
	given := make([]bool, nf)
	for f := 5; f < nf; f++ {
		given[f] = true
	}
	rows := make([]float64, nf)
	var j featcache.Join
	run := func() {
		if err := j.Select(p, 1, &keys, given, false); err != nil {
			t.Fatal(err)
		}
		if err := j.Read(context.Background(), svc, time.Time{}); err != nil {
			t.Fatal(err)
		}
		j.Fill(p, rows, 1, given)
	}
	run()
	time.Sleep(10 * time.Millisecond) // ristretto applies sets asynchronously
	run()
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("warm join: %.1f allocations, want 0", allocs)
	}
}
