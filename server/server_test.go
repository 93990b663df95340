package server

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/model/manager"
)

// newTestServer serves a repository holding the native logistic regression
// fixture as "lr" and an XGBoost tree model as "trees".
func newTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	repo := t.TempDir()
	for _, m := range []struct{ format, file, name string }{
		{"native", fixture.Path("native", "logreg_binary.model.json"), "lr"},
		{"xgboost", fixture.Path("xgboost", "gbtree_multi_softprob.json"), "trees"},
	} {
		imp, err := importer.ImportFile(m.format, m.file)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := model.Write(repo, m.name, imp, model.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return serveRepo(t, opts, repo)
}

// serveRepo returns a server with opts over repo, loaded by a manager
// that does not poll, serving models (none: every model of repo, its
// latest version); both are closed when t ends.
func serveRepo(t testing.TB, opts Options, repo string, models ...manager.ModelConfig) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mopts := manager.DefaultOptions()
	mopts.Repo, mopts.PollInterval, mopts.Prepare, mopts.Retired = repo, -1, s.Prepare, s.Retired
	mopts.Models = models
	mgr, err := manager.New(mopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mgr.Close)
	s.SetModels(managed{mgr})
	return s
}

// call runs one request through the handler without a network.
func call(s *Server, method, uri, body string, header ...string) (int, string, *fasthttp.RequestCtx) {
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	for i := 0; i+1 < len(header); i += 2 {
		ctx.Request.Header.Set(header[i], header[i+1])
	}
	ctx.Request.SetBodyString(body)
	s.Handle(ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Body()), ctx
}

const lrRow = `[17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871]`

// TestPredictAllocs proves the warm hot path (route, acquire, decode,
// predict, encode, metrics) allocates nothing for a small request.
func TestPredictAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	for _, mode := range []BatchingMode{BatchingNever, BatchingAlways} {
		opts := DefaultOptions()
		opts.DefaultModel.Batching = mode
		checkPredictAllocs(t, newTestServer(t, opts), mode)
	}
}

func checkPredictAllocs(t *testing.T, s *Server, mode BatchingMode) {
	for _, c := range []struct{ uri, body string }{
		{"/v1/models/lr:predict", `{"instances": [` + lrRow + `]}`},
		{"/v1/models/trees/versions/1:predict", `{"instances": [{"age": 1.2, "income": 1.9, "tenure_months": 4.2, "num_purchases": -0.1, "avg_basket": 3.9, "days_since_last": 2.0, "support_calls": null, "discount_rate": 1.6, "pages_viewed": 0.8, "credit_score": -2.4}]}`},
		{"/v2/models/lr/infer", `{"id": "a1", "inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 10], "data": ` + lrRow + `}]}`},
	} {
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI(c.uri)
		ctx.Request.SetBodyString(c.body)
		s.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("POST %s: %d %s", c.uri, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.ResetBody()
			s.Handle(ctx)
		})
		if allocs != 0 {
			t.Errorf("batching %s: POST %s: %.1f allocations per request, want 0", mode, c.uri, allocs)
		}
	}
}

// TestHandlerStatuses checks the status and message of each kind of
// request the handler refuses, and a few it accepts.
func TestHandlerStatuses(t *testing.T) {
	s := newTestServer(t, Options{MaxInstances: 3, AdminToken: "0123456789abcdef0123"})
	for _, c := range []struct {
		method, uri, body string
		header            []string
		code              int
		want              string
	}{
		{"POST", "/v1/models/lr:predict", `{"instances": [` + lrRow + `]}`, nil, 200, `"model_version":"1"`},
		{"POST", "/v1/models/lr/versions/1:predict", `{"instances": [` + lrRow + `,` + lrRow + `]}`, nil, 200, `"predictions":[`},
		{"POST", "/v1/models/lr/versions/2:predict", `{"instances": [` + lrRow + `]}`, nil, 404, `no version 2`},
		{"POST", "/v1/models/lr/labels/stable:predict", `{"instances": [` + lrRow + `]}`, nil, 404, `label \"stable\" of model \"lr\" is not set`},
		// An unknown model's 404 does not list the others to an
		// unauthenticated client (finding 11).
		{"POST", "/v1/models/nope:predict", `{}`, nil, 404, `no model \"nope\": not found"}`},
		{"POST", "/v1/models/lr:classify", `{}`, nil, 404, `no such endpoint`},
		{"POST", "/v1/models/lr:predict", `{"instances": [` + lrRow + `,` + lrRow + `,` + lrRow + `,` + lrRow + `]}`, nil, 413, `limit is 3`},
		{"POST", "/v1/models/lr:predict", `{"instances": [[1, 2]]}`, nil, 400, `instance 0`},
		{"POST", "/v1/models/lr:predict", `{"instances": [` + lrRow + `}`, nil, 400, `byte`},
		{"GET", "/v1/models/lr:predict", ``, nil, 405, `use POST`},
		{"POST", "/v1/models/lr", ``, nil, 405, `use GET`},
		{"GET", "/v1/models/lr", ``, nil, 200, `"state":"AVAILABLE"`},
		{"GET", "/v1/models/lr/versions/1", ``, nil, 200, `"version":"1"`},
		{"GET", "/v1/models/lr/versions/9", ``, nil, 404, `no version 9`},
		{"GET", "/v1/models/lr/metadata", ``, nil, 200, `"mean_radius"`},
		{"GET", "/v2/models/trees", ``, nil, 200, `"shape":[-1,4]`},
		{"GET", "/v2/models/trees/versions/1/ready", ``, nil, 200, ``},
		{"GET", "/v2/models/trees/versions/2/ready", ``, nil, 404, ``},
		{"POST", "/v2/models/lr/infer", `{"inputs": [{"name": "input", "datatype": "BYTES", "shape": [1, 10], "data": ` + lrRow + `}]}`, nil, 400, `BYTES`},
		{"GET", "/v2", ``, nil, 200, `"name":"predictd"`},
		{"GET", "/v2/health/live", ``, nil, 200, ``},
		{"GET", "/healthz", ``, nil, 200, `ok`},
		{"GET", "/readyz", ``, nil, 200, `ready`},
		{"GET", "/nowhere", ``, nil, 404, `no such endpoint`},
		{"GET", "/v1/models/lr/x", ``, nil, 404, `no such endpoint`},
		{"POST", "/v1/admin/reload", ``, nil, 401, `Bearer`},
		{"POST", "/v1/admin/reload", ``, []string{"Authorization", "Bearer 0123456789abcdef0124"}, 401, `Bearer`},
		{"GET", "/v1/admin/reload", ``, []string{"Authorization", "Bearer 0123456789abcdef0123"}, 405, `use POST`},
		{"POST", "/v1/admin/reload", ``, []string{"Authorization", "Bearer 0123456789abcdef0123"}, 200, `"reloaded":true`},
		{"POST", "/v1/admin/models/lr/labels/stable", `{"version": 1}`, []string{"Authorization", "Bearer 0123456789abcdef0123"}, 200, `"stable":1`},
		{"POST", "/v1/admin/models/lr/labels/canary", `{"version": 5}`, []string{"Authorization", "Bearer 0123456789abcdef0123"}, 404, `version 5`},
		{"POST", "/v1/admin/models/lr/labels/canary", `{"versio": 1}`, []string{"Authorization", "Bearer 0123456789abcdef0123"}, 400, `{\"version\": N}`},
		{"POST", "/v1/admin/models/lr/versions/1/unload", ``, []string{"Authorization", "Bearer 0123456789abcdef0123"}, 409, `last available version`},
		// Client errors are 4xx, never 500 (issue 12, finding 7).
		{"POST", "/v1/admin/models/lr/labels/%00", `{"version": 1}`, []string{"Authorization", "Bearer 0123456789abcdef0123"}, 400, `label \"\\x00\": use 1-64 letters`},
		{"POST", "/v1/admin/models/lr/labels/a%0Ab", `{"version": 1}`, []string{"Authorization", "Bearer 0123456789abcdef0123"}, 400, `use 1-64 letters`},
	} {
		code, body, _ := call(s, c.method, c.uri, c.body, c.header...)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s %.40q: %d %s, want %d containing %q", c.method, c.uri, c.body, code, body, c.code, c.want)
		}
		if code != 200 && c.method != "HEAD" && !json.Valid([]byte(body)) {
			t.Errorf("%s %s: error body %q is not JSON", c.method, c.uri, body)
		}
	}
	// The label set through the admin API now routes requests.
	if code, body, _ := call(s, "POST", "/v1/models/lr/labels/stable:predict", `{"instances": [`+lrRow+`]}`); code != 200 {
		t.Errorf("predict by the label set through admin: %d %s", code, body)
	}
}

// TestAdminOff checks the admin endpoints answer 404 with no token.
func TestAdminOff(t *testing.T) {
	s := newTestServer(t, DefaultOptions())
	code, body, _ := call(s, "POST", "/v1/admin/reload", "", "Authorization", "Bearer anything-at-all-here")
	if code != 404 || !strings.Contains(body, "admin API is off") {
		t.Errorf("admin with no token configured: %d %s, want 404 saying it is off", code, body)
	}
}

// TestShedding checks that a request beyond MaxConcurrent is answered 503
// with Retry-After at once, and counted.
func TestShedding(t *testing.T) {
	s := newTestServer(t, Options{MaxConcurrent: 2})
	s.inflight.Store(2) // two requests in flight elsewhere
	code, body, ctx := call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrRow+`]}`)
	if code != 503 || !strings.Contains(body, "max_concurrent") || string(ctx.Response.Header.Peek("Retry-After")) != "1" {
		t.Errorf("request over MaxConcurrent: %d %s Retry-After %q, want 503 naming max_concurrent with Retry-After 1", code, body, ctx.Response.Header.Peek("Retry-After"))
	}
	if got := s.metrics.Shed.Load(); got != 1 {
		t.Errorf("shed count %d, want 1", got)
	}
	if got := s.inflight.Load(); got != 2 {
		t.Errorf("in-flight count %d after a shed request, want it back at 2", got)
	}
}

// TestReadiness checks /readyz turns 503 once draining starts.
func TestReadiness(t *testing.T) {
	s := newTestServer(t, DefaultOptions())
	if code, _, _ := call(s, "GET", "/v2/health/ready", ""); code != 200 {
		t.Fatalf("ready before drain: %d", code)
	}
	s.StopReady()
	for _, p := range []string{"/readyz", "/v2/health/ready"} {
		if code, body, _ := call(s, "GET", p, ""); code != 503 {
			t.Errorf("GET %s while draining: %d %s, want 503", p, code, body)
		}
	}
	if code, _, _ := call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrRow+`]}`); code != 200 {
		t.Errorf("predict while draining but not yet shut down: %d, want 200", code)
	}
}

// TestMetricsExposition checks the Prometheus text after a few requests:
// counts by status, a cumulative histogram, and state gauges.
func TestMetricsExposition(t *testing.T) {
	s := newTestServer(t, DefaultOptions())
	for i := 0; i < 3; i++ {
		call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrRow+`,`+lrRow+`]}`)
	}
	call(s, "POST", "/v2/models/lr/infer", `{"inputs": []}`)
	call(s, "POST", "/v2/models/ghost/infer", `{}`)
	fams, _ := scrape(t, s)
	lr := func(extra ...string) []string { return append([]string{"model", "lr", "version", "1"}, extra...) }
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"predictd_requests_total", lr("api", "v1", "code", "200"), 3},
		{"predictd_requests_total", lr("api", "v2", "code", "400"), 1},
		{"predictd_requests_total", []string{"model", "", "version", "0", "api", "v2", "code", "404"}, 1},
		{"predictd_instances_total", lr("api", "v1"), 6},
		{"predictd_model_version_state", lr("state", "AVAILABLE"), 1},
		{"predictd_ready", nil, 1},
		{"predictd_inflight_requests", nil, 0},
		{"predictd_build_info", []string{"version", "dev"}, 1},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("/metrics: %s%q = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if f := fams["process_cpu_seconds_total"]; f.GetType() != dto.MetricType_COUNTER {
		t.Errorf("/metrics: process_cpu_seconds_total is a %v, want a counter", f.GetType())
	}
	h := find(fams, "predictd_request_duration_seconds", lr("api", "v1")...).GetHistogram()
	if h.GetSampleCount() != 3 {
		t.Errorf("/metrics: %d latencies of lr on v1, want 3", h.GetSampleCount())
	}
	// Buckets are cumulative: each le count is at least the one before.
	prev := uint64(0)
	for _, b := range h.GetBucket() {
		if n := b.GetCumulativeCount(); n < prev || b.GetUpperBound() == math.Inf(1) && n != 3 {
			t.Errorf("/metrics: latency bucket le=%g count %d after %d (3 in all)", b.GetUpperBound(), n, prev)
		}
		prev = b.GetCumulativeCount()
	}
}

func TestParseModelPath(t *testing.T) {
	for _, c := range []struct {
		path  string
		api   API
		admin bool
		want  string // name/version/label/verb, or "" for no match
	}{
		{"wine", APITFServing, false, "wine/0//0"},
		{"wine:predict", APITFServing, false, "wine/0//2"},
		{"wine/versions/12:predict", APITFServing, false, "wine/12//2"},
		{"wine/labels/canary:predict", APITFServing, false, "wine/0/canary/2"},
		{"wine/versions/3/metadata", APITFServing, false, "wine/3//1"},
		{"wine/monitor", APITFServing, false, "wine/0//8"},
		{"wine/monitor", APIOIP, false, ""},
		{"wine/versions/03:predict", APITFServing, false, ""},
		{"wine/versions/x:predict", APITFServing, false, ""},
		{"wine/versions/0", APITFServing, false, ""},
		{"wine:regress", APITFServing, false, ""},
		{"wine/", APITFServing, false, ""},
		{"wine//versions/1", APITFServing, false, ""},
		{"wine/infer", APIOIP, false, "wine/0//3"},
		{"wine/versions/2/infer", APIOIP, false, "wine/2//3"},
		{"wine/versions/2/ready", APIOIP, false, "wine/2//4"},
		{"wine/versions/2", APIOIP, false, "wine/2//1"},
		{"wine/labels/a/infer", APIOIP, false, ""},
		{"wine/versions/2/load", APITFServing, true, "wine/2//5"},
		{"wine/versions/2/unload", APITFServing, true, "wine/2//6"},
		{"wine/labels/stable", APITFServing, true, "wine/0/stable/7"},
		{"wine/load", APITFServing, true, ""},
		{"a/b/c/d/e/f", APITFServing, false, ""},
	} {
		tg, ok := parseModelPath([]byte(c.path), c.api, c.admin)
		got := ""
		if ok {
			got = fmt.Sprintf("%s/%d/%s/%d", tg.name, tg.version, tg.label, tg.verb)
		}
		if got != c.want {
			t.Errorf("parseModelPath(%q, %v, admin=%v) = %q, want %q", c.path, c.api, c.admin, got, c.want)
		}
	}
}

// BenchmarkHandle measures the whole handler for one-instance requests,
// without the network: what a request costs the server's CPU.
func BenchmarkHandle(b *testing.B) {
	s := newTestServer(b, DefaultOptions())
	for _, c := range []struct{ name, uri, body string }{
		{"model=lr/api=v1", "/v1/models/lr:predict", `{"instances": [` + lrRow + `]}`},
		{"model=lr/api=v2", "/v2/models/lr/infer", `{"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 10], "data": ` + lrRow + `}]}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := new(fasthttp.RequestCtx)
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI(c.uri)
				ctx.Request.SetBodyString(c.body)
				for pb.Next() {
					ctx.Response.ResetBody()
					s.Handle(ctx)
				}
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			})
		})
	}
}
