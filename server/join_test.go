package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
)

// joinDefs splits the logistic regression fixture's ten inputs: four come
// from view "shape" of a patient (int keys), two from view "lab" of a site
// (string keys); the last four are sent by the caller.
var joinDefs = fixture.Text("features", "join_lr.yaml")

// lrNames are the fixture's features, in its order.
var lrNames = []string{"mean_radius", "mean_texture", "mean_perimeter", "mean_area", "mean_smoothness",
	"mean_compactness", "mean_concavity", "mean_concave_points", "mean_symmetry", "mean_fractal_dimension"}

// flakyStore is a Store whose Get fails while down is set, and hangs until
// its context ends while hung is set.
type flakyStore struct {
	featcache.Store
	down, hung atomic.Bool
}

var errStoreTest = errors.New("test store is down")

func (f *flakyStore) Get(ctx context.Context, keys []featcache.Key, dst []featcache.Record) ([]featcache.Record, error) {
	if f.hung.Load() {
		<-ctx.Done()
		return dst, ctx.Err()
	}
	if f.down.Load() {
		return dst, errStoreTest
	}
	return f.Store.Get(ctx, keys, dst)
}

// joinServer serves the logistic regression fixture as "lr" with
// feature_views views, over a pebble store the test writes to.
func joinServer(t testing.TB, opts Options, views ...string) (*Server, *flakyStore, *featcache.Service, *time.Time) {
	t.Helper()
	svc, st, now := joinService(t)
	opts.Features = svc
	repo := t.TempDir()
	imp, err := importer.ImportFile("native", fixture.Path("native", "logreg_binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, "lr", imp, model.WriteOptions{FeatureViews: views}); err != nil {
		t.Fatal(err)
	}
	return serveRepo(t, opts, repo), st, svc, now
}

// joinService is the feature service of joinDefs over a pebble store that
// fails on demand, its clock stopped at *now.
func joinService(t testing.TB) (*featcache.Service, *flakyStore, *time.Time) {
	t.Helper()
	defs, err := featcache.ParseDefs([]byte(joinDefs), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	st := &flakyStore{Store: ps}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// A store read waits up to an hour: a test that hangs shows a request
	// deadline not honoured.
	svc, err := featcache.NewService(defs, st, featcache.CacheOptions{MaxStaleness: time.Hour, StoreTimeout: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc, st, &now
}

func write(t testing.TB, svc *featcache.Service, view, entity string, at time.Time, vals ...float64) {
	t.Helper()
	if _, err := svc.Write(context.Background(), view, []featcache.Row{{Entity: entity, EventTime: at, Values: vals}}); err != nil {
		t.Fatal(err)
	}
}

// inline returns an instance object holding vals for names.
func inline(names []string, vals []float64) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q: %v", n, vals[i])
	}
	return b.String()
}

type predictResp struct {
	Predictions []float64 `json:"predictions"`
	Features    []map[string]struct {
		Value  *float64 `json:"value"`
		Status string   `json:"status"`
		Age    *float64 `json:"age_seconds"`
	} `json:"features"`
}

func predictLR(t *testing.T, s *Server, body string) predictResp {
	t.Helper()
	code, out, _ := call(s, "POST", "/v1/models/lr:predict", body)
	if code != 200 {
		t.Fatalf("POST %s: %d %s", body, code, out)
	}
	var r predictResp
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("response %s: %v", out, err)
	}
	return r
}

// TestJoin checks that a prediction from entity keys equals the prediction
// of the joined row sent inline, value by value through every status.
func TestJoin(t *testing.T) {
	s, _, svc, now := joinServer(t, Options{}, "shape", "lab:mean_smoothness", "lab:mean_compactness")
	shape := []float64{0.19, -0.55, -0.13, -0.04}
	lab := []float64{-2.5, -1.4, 7}
	rest := []float64{-0.97, -1.15, -1.05, -1.25}
	write(t, svc, "shape", "7", now.Add(-90*time.Second), shape...)
	write(t, svc, "shape", "8", now.Add(-2*time.Hour), 9, 9, 9, 9) // past the view's 1h TTL
	write(t, svc, "lab", "north", now.Add(-30*time.Second), lab...)
	shapeDef := []float64{0.5, -0.5, 0.25, 0}
	labDef := []float64{1, 2}

	restJSON := inline(lrNames[6:], rest)
	row := func(a, b []float64) string { // the joined row, inline
		return "{" + inline(lrNames, append(append(append([]float64{}, a...), b[:2]...), rest...)) + "}"
	}
	type feat struct {
		status string
		value  float64
		age    float64 // -1: none
	}
	for _, c := range []struct {
		name, instance, joined string
		want                   map[string]feat
	}{
		{"present", `{"patient_id": 7, "site": "north", ` + restJSON + `}`, row(shape, lab),
			map[string]feat{"mean_radius": {"present", 0.19, 90}, "mean_compactness": {"present", -1.4, 30}}},
		{"int key as a string, with a sign and zeros", `{"patient_id": "+007", "site": "north", ` + restJSON + `}`, row(shape, lab), nil},
		{"override", `{"patient_id": 7, "mean_radius": 3.5, "site": "north", ` + restJSON + `}`, row([]float64{3.5, -0.55, -0.13, -0.04}, lab),
			map[string]feat{"mean_radius": {"overridden", 3.5, 90}, "mean_texture": {"present", -0.55, 90}}},
		{"missing entity: defaults", `{"patient_id": 99, "site": "south", ` + restJSON + `}`, row(shapeDef, labDef),
			map[string]feat{"mean_area": {"default", 0, -1}, "mean_smoothness": {"default", 1, -1}}},
		{"expired row: defaults", `{"patient_id": 8, "site": "north", ` + restJSON + `}`, row(shapeDef, lab),
			map[string]feat{"mean_radius": {"expired", 0.5, 7200}, "mean_smoothness": {"present", -2.5, 30}}},
		{"every feature inline, no key", row(shape, lab), row(shape, lab),
			map[string]feat{"mean_radius": {"overridden", 0.19, -1}}},
	} {
		got := predictLR(t, s, `{"return_features": true, "instances": [`+c.instance+`]}`)
		want := predictLR(t, s, `{"instances": [`+c.joined+`]}`)
		if len(got.Predictions) != 1 || got.Predictions[0] != want.Predictions[0] {
			t.Errorf("%s: prediction %v, want %v (the joined row's)", c.name, got.Predictions, want.Predictions)
		}
		if len(got.Features) != 1 || len(got.Features[0]) != 6 {
			t.Fatalf("%s: features %+v, want 6 for one instance", c.name, got.Features)
		}
		for name, w := range c.want {
			g := got.Features[0][name]
			if g.Status != w.status || g.Value == nil || *g.Value != w.value || (w.age < 0) != (g.Age == nil) || g.Age != nil && math.Abs(*g.Age-w.age) > 1e-9 {
				t.Errorf("%s: feature %s = %s %v age %v, want %s %v age %v", c.name, name, g.Status, deref(g.Value), deref(g.Age), w.status, w.value, w.age)
			}
		}
	}
	// Without return_features the response is the plain TF Serving one.
	code, out, _ := call(s, "POST", "/v1/models/lr:predict", `{"instances": [{"patient_id": 7, "site": "north", `+restJSON+`}]}`)
	if code != 200 || strings.Contains(out, "features") {
		t.Errorf("predict without return_features: %d %s", code, out)
	}
	// Many instances, mixed: one fetch answers them all in order.
	body := `{"instances": [{"patient_id": 7, "site": "north", ` + restJSON + `}, ` + row(shapeDef, labDef) + `, {"patient_id": 99, "site": "south", ` + restJSON + `}]}`
	got := predictLR(t, s, body)
	want := predictLR(t, s, `{"instances": [`+row(shape, lab)+`, `+row(shapeDef, labDef)+`, `+row(shapeDef, labDef)+`]}`)
	if fmt.Sprint(got.Predictions) != fmt.Sprint(want.Predictions) {
		t.Errorf("three instances: %v, want %v", got.Predictions, want.Predictions)
	}
	fams, _ := scrape(t, s)
	lr := []string{"model", "lr", "version", "1"}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64 // -1: any
	}{
		{"predictd_feature_values_total", append(lr[:4:4], "status", "present"), -1},
		{"predictd_feature_values_total", append(lr[:4:4], "status", "expired"), 4},
		{"predictd_feature_store_errors_total", append(lr[:4:4], "policy", "fail_closed"), 0},
		{"predictd_feature_cache_hits_total", nil, -1},
	} {
		if got := value(fams, c.name, c.labels...); math.IsNaN(got) || c.want >= 0 && got != c.want {
			t.Errorf("/metrics: %s%q = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if h := find(fams, "predictd_feature_fetch_seconds", lr...).GetHistogram(); h.GetSampleCount() == 0 {
		t.Errorf("/metrics: predictd_feature_fetch_seconds%q counts no fetch", lr)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestJoinRefusals checks the errors of requests a join model refuses.
func TestJoinRefusals(t *testing.T) {
	s, _, _, _ := joinServer(t, Options{}, "shape", "lab")
	rest := inline(lrNames[6:], []float64{1, 2, 3, 4})
	for _, c := range []struct{ body, want string }{
		{`{"instances": [{"site": "x", ` + rest + `}]}`, `instance 0: missing feature "mean_radius": send it, or entity key "patient_id" to fetch it from feature view shape`},
		{`{"instances": [{"patient_id": 1, "site": "x", "mean_concavity": 1}]}`, `instance 0: missing feature "mean_concave_points"`},
		{`{"instances": [{"patient_id": 1.5, "site": "x", ` + rest + `}]}`, `instance 0: entity key "patient_id": "1.5" is not an integer (entity patient has int keys)`},
		{`{"instances": [{"patient_id": "p1", "site": "x", ` + rest + `}]}`, `"p1" is not an integer`},
		{`{"instances": [{"patient_id": 1, "patient_id": 2, "site": "x", ` + rest + `}]}`, `instance 0: entity key "patient_id" appears twice`},
		{`{"instances": [{"patient_id": null, "site": "x", ` + rest + `}]}`, `instance 0: entity key "patient_id": expected a string or an integer`},
		{`{"instances": [{"patient_id": 1, "site": "", ` + rest + `}]}`, `instance 0: entity key "site" is empty`},
		{`{"instances": [{"patient_id": 1, "site": "a\u0000b", ` + rest + `}]}`, `contains a NUL byte`},
		// Keys the store could not hold are the client's error, not a
		// store failure (issue 12, finding 10).
		{`{"instances": [{"patient_id": 1, "site": "a\u001bb", ` + rest + `}]}`, `instance 0: site: "a\x1bb" contains a control byte`},
		{`{"instances": [{"patient_id": 1, "site": "` + strings.Repeat("k", 300) + `", ` + rest + `}]}`, `instance 0: site: "kkkk`},
		{`{"instances": [{"patient_id": 99999999999999999999, "site": "x", ` + rest + `}]}`, `is not an integer`},
		{`{"return_features": 1, "instances": [{"patient_id": 1, "site": "x", ` + rest + `}]}`, `"return_features": expected true or false`},
	} {
		code, out, _ := call(s, "POST", "/v1/models/lr:predict", c.body)
		var e struct{ Error string }
		json.Unmarshal([]byte(out), &e)
		if code != 400 || !strings.Contains(e.Error, c.want) {
			t.Errorf("POST %s = %d %s, want 400 containing %q", c.body, code, out, c.want)
		}
	}
	// A model without feature_views refuses return_features.
	plain := newTestServer(t, Options{})
	code, out, _ := call(plain, "POST", "/v1/models/lr:predict", `{"return_features": true, "instances": [`+lrRow+`]}`)
	if code != 400 || !strings.Contains(out, "reads no online features") {
		t.Errorf("return_features on a model without views = %d %s", code, out)
	}
}

// TestJoinStoreDown checks both policies while the store fails: fail
// closed answers 503 with Retry-After; fail open predicts from the cache
// and the defaults, each value marked unavailable.
func TestJoinStoreDown(t *testing.T) {
	rest := inline(lrNames[6:], []float64{1, 2, 3, 4})
	body := `{"return_features": true, "instances": [{"patient_id": 7, "site": "north", ` + rest + `}]}`
	for _, policy := range []StoreDownPolicy{FailClosed, FailOpen} {
		opts := Options{DefaultModel: ModelOptions{StoreDown: policy}}
		s, st, svc, now := joinServer(t, opts, "shape", "lab")
		write(t, svc, "shape", "7", now.Add(-time.Minute), 1, 2, 3, 4)
		predictLR(t, s, body)             // caches patient 7's shape row and site north's absence
		time.Sleep(10 * time.Millisecond) // ristretto applies sets asynchronously
		// A different site is not cached: it needs the store.
		st.down.Store(true)
		down := strings.Replace(body, `"north"`, `"south"`, 1)
		code, out, ctx := call(s, "POST", "/v1/models/lr:predict", down)
		if policy == FailClosed {
			if code != 503 || !strings.Contains(out, "online feature store unavailable") || string(ctx.Response.Header.Peek("Retry-After")) != "1" {
				t.Errorf("fail_closed, store down: %d %s (Retry-After %q), want 503 with Retry-After", code, out, ctx.Response.Header.Peek("Retry-After"))
			}
		} else {
			var r predictResp
			if code != 200 || json.Unmarshal([]byte(out), &r) != nil {
				t.Fatalf("fail_open, store down: %d %s, want 200", code, out)
			}
			if g := r.Features[0]["mean_smoothness"]; g.Status != "unavailable" || *g.Value != 1 {
				t.Errorf("fail_open: mean_smoothness %s %v, want unavailable with the default 1", g.Status, deref(g.Value))
			}
			if g := r.Features[0]["mean_radius"]; g.Status != "present" || *g.Value != 1 {
				t.Errorf("fail_open: mean_radius %s %v, want present 1 from the cache", g.Status, deref(g.Value))
			}
		}
		fams, _ := scrape(t, s)
		labels := []string{"model", "lr", "version", "1", "policy", policy.String()}
		if got := value(fams, "predictd_feature_store_errors_total", labels...); got != 1 {
			t.Errorf("/metrics: predictd_feature_store_errors_total%q = %v, want 1", labels, got)
		}
		st.down.Store(false)
	}
}

// TestJoinPlanErrors checks that a version whose join plan cannot be built
// fails to load, saying why: without --features, or with feature_views
// that do not fit the definitions (featcache's TestJoinPlanErrors has the
// cases of the plan itself).
func TestJoinPlanErrors(t *testing.T) {
	imp, err := importer.ImportFile("native", fixture.Path("native", "logreg_binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := &model.Manifest{Name: "lr", Version: 1, Kind: model.KindLinear, Outputs: []model.Output{{Name: "p"}}}
	for _, n := range lrNames {
		m.Features = append(m.Features, model.Feature{Name: n, Type: model.FeatureFloat})
	}
	m.FeatureViews = []string{"shape"}
	// Without --features the version does not load.
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prepare(&model.Loaded{Manifest: m, Model: imp.Model}); err == nil || !strings.Contains(err.Error(), "start predictd serve with --features") {
		t.Errorf("Prepare without features: %v", err)
	}
	s, _, _, _ = joinServer(t, Options{}, "shape")
	m.FeatureViews = []string{"nope"}
	if _, err := s.Prepare(&model.Loaded{Manifest: m, Model: imp.Model}); err == nil || !strings.Contains(err.Error(), `model lr version 1: feature_views "nope": no feature view nope`) {
		t.Errorf("Prepare with an unknown view: %v", err)
	}
}

// TestJoinAllocs proves the warm join path (decode with entity keys, cache
// hits, fill, predict, encode) allocates nothing.
func TestJoinAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	s, _, svc, now := joinServer(t, Options{}, "shape", "lab")
	write(t, svc, "shape", "7", now.Add(-time.Minute), 1, 2, 3, 4)
	write(t, svc, "lab", "north", now.Add(-time.Minute), 1, 2, 3)
	body := `{"instances": [{"patient_id": 7, "site": "north", ` + inline(lrNames[6:], []float64{1, 2, 3, 4}) + `}]}`
	predictLR(t, s, body)
	time.Sleep(10 * time.Millisecond) // ristretto applies sets asynchronously
	var inputs []string
	for _, name := range lrNames[6:] {
		inputs = append(inputs, fmt.Sprintf(`{"name": %q, "shape": [1], "datatype": "FP64", "data": [1]}`, name))
	}
	infer := `{"inputs": [{"name": "patient_id", "shape": [1], "datatype": "INT64", "data": [7]}, {"name": "site", "shape": [1], "datatype": "BYTES", "data": ["north"]}, ` + strings.Join(inputs, ", ") + `]}`
	for _, c := range []struct{ uri, body string }{{"/v1/models/lr:predict", body}, {"/v2/models/lr/infer", infer}} {
		code, out, ctx := call(s, "POST", c.uri, c.body)
		if code != 200 {
			t.Fatalf("POST %s: %d %s", c.uri, code, out)
		}
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.ResetBody()
			s.Handle(ctx)
		})
		if allocs != 0 {
			t.Errorf("warm join, POST %s: %.1f allocations per request, want 0", c.uri, allocs)
		}
	}
}

// TestJoinOIP checks the Open Inference Protocol form of the join: entity
// keys as BYTES or INT64 inputs beside the features sent, the rest fetched,
// predicting what the joined row predicts inline.
func TestJoinOIP(t *testing.T) {
	s, _, svc, now := joinServer(t, Options{}, "shape", "lab:mean_smoothness", "lab:mean_compactness")
	write(t, svc, "shape", "7", now.Add(-time.Minute), 0.19, -0.55, -0.13, -0.04)
	write(t, svc, "lab", "north", now.Add(-time.Minute), -2.5, -1.4, 7)
	rest := []float64{-0.97, -1.15, -1.05, -1.25}
	var inputs []string
	for j, name := range lrNames[6:] {
		inputs = append(inputs, fmt.Sprintf(`{"name": %q, "shape": [2], "datatype": "FP64", "data": [%v, %v]}`, name, rest[j], rest[j]))
	}
	body := `{"inputs": [{"name": "patient_id", "shape": [2, 1], "datatype": "INT64", "data": [[7], [99]]},
		{"name": "site", "shape": [2], "datatype": "BYTES", "data": ["north", "south"]}, ` + strings.Join(inputs, ", ") + `]}`
	code, out, _ := call(s, "POST", "/v2/models/lr/infer", body)
	var resp struct {
		Outputs []struct{ Data []float64 }
	}
	if code != 200 || json.Unmarshal([]byte(out), &resp) != nil || len(resp.Outputs) != 1 || len(resp.Outputs[0].Data) != 2 {
		t.Fatalf("infer with entity keys: %d %s", code, out)
	}
	row := func(a, b []float64) string {
		return "{" + inline(lrNames, append(append(append([]float64{}, a...), b...), rest...)) + "}"
	}
	want := predictLR(t, s, `{"instances": [`+row([]float64{0.19, -0.55, -0.13, -0.04}, []float64{-2.5, -1.4})+`, `+
		row([]float64{0.5, -0.5, 0.25, 0}, []float64{1, 2})+`]}`)
	if fmt.Sprint(resp.Outputs[0].Data) != fmt.Sprint(want.Predictions) {
		t.Errorf("infer by entity keys = %v, the joined rows predict %v", resp.Outputs[0].Data, want.Predictions)
	}
	for _, c := range []struct{ body, want string }{
		{`{"inputs": [{"name": "site", "shape": [2], "datatype": "BYTES", "data": ["x", "y"]}, ` + strings.Join(inputs, ", ") + `]}`,
			`no input for feature "mean_radius": send it, or entity key input "patient_id"`},
		{`{"inputs": [{"name": "patient_id", "shape": [1], "datatype": "BYTES", "data": [7]}]}`,
			`entity key input "patient_id": instance 0: expected a string (datatype BYTES)`},
		{`{"inputs": [{"name": "patient_id", "shape": [1], "datatype": "FP64", "data": [7]}]}`,
			`entity key input "patient_id": datatype FP64, want BYTES (strings) or INT64`},
		{`{"inputs": [{"name": "patient_id", "shape": [2], "datatype": "INT64", "data": [7]}]}`,
			`entity key input "patient_id": 1 values, shape [2] needs 2`},
		{`{"inputs": [{"name": "patient_id", "shape": [1], "datatype": "BYTES", "data": ["p7"]}]}`,
			`"p7" is not an integer (entity patient has int keys)`},
		{`{"inputs": [{"name": "patient_id", "shape": [1], "datatype": "INT64", "data": [7]}, {"name": "input", "shape": [1, 10], "datatype": "FP64", "data": [1,2,3,4,5,6,7,8,9,10]}]}`,
			`not both`},
	} {
		code, out, _ := call(s, "POST", "/v2/models/lr/infer", c.body)
		var e struct{ Error string }
		json.Unmarshal([]byte(out), &e)
		if code != 400 || !strings.Contains(e.Error, c.want) {
			t.Errorf("infer %s = %d %s, want 400 containing %q", c.body, code, out, c.want)
		}
	}
}

// TestJoinDeadline checks a hung store holds a request only until its own
// deadline: 504, under either store-down policy. (The store waits an hour
// otherwise, so a deadline that is not honoured hangs the test.)
func TestJoinDeadline(t *testing.T) {
	rest := inline(lrNames[6:], []float64{1, 2, 3, 4})
	body := `{"instances": [{"patient_id": 7, "site": "north", ` + rest + `}]}`
	for _, policy := range []StoreDownPolicy{FailClosed, FailOpen} {
		s, st, _, _ := joinServer(t, Options{DefaultModel: ModelOptions{StoreDown: policy}}, "shape", "lab")
		st.hung.Store(true)
		code, out, _ := call(s, "POST", "/v1/models/lr:predict", body, "X-Request-Timeout", "30ms")
		if code != 504 || !strings.Contains(out, "passed before its online features were read") {
			t.Errorf("%s, hung store, 30ms timeout: %d %s, want 504", policy, code, out)
		}
	}
}
