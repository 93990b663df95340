package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
)

// TestLoadtest runs `predictd loadtest` against a real `predictd serve`:
// the JSON holds what the issue names, an SLO the server meets exits 0, one
// it cannot meet exits 1 with the reason, and bad input is refused by name.
func TestLoadtest(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_multi_softprob.json"), "--repo", repo, "--name", "wine")
	d := startServe(t, nil, "--repo", repo)
	url := d.url(false, "/v1/models/wine:predict")
	inst := filepath.Join(dir, "instances.ndjson")
	writeFile(t, inst, "[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]\n\n{\"age\": 1, \"income\": 2, \"tenure_months\": 3, \"num_purchases\": 4, \"avg_basket\": 5, \"days_since_last\": 6, \"support_calls\": 7, \"discount_rate\": 8, \"pages_viewed\": 9, \"credit_score\": 10}\n")
	out := filepath.Join(dir, "run.json")
	r := predictd(t, "loadtest", "--url", url, "--bodies", inst, "--batch", "2", "--rate", "200", "--duration", "1s", "--warmup", "200ms",
		"--slo-p99", "5s", "--json", out, "--quiet")
	if r.code != 0 || !strings.Contains(r.stdout, "SLO met") {
		t.Fatalf("loadtest with an easy SLO: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var sum map[string]any
	b, err := os.ReadFile(out)
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("--json %s: %v\n%s", out, err, b)
	}
	for _, k := range []string{"requests", "achieved_rps", "errors", "late", "latency_ms", "verdict"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("--json lacks %q: %s", k, b)
		}
	}
	lat, _ := sum["latency_ms"].(map[string]any)
	for _, k := range []string{"p50", "p90", "p95", "p99", "p999", "max"} {
		if v, ok := lat[k].(float64); !ok || v <= 0 {
			t.Errorf("latency_ms.%s = %v, want a positive number", k, lat[k])
		}
	}
	if n, _ := sum["requests"].(float64); n < 150 || n > 250 {
		t.Errorf("requests = %v, want about 200 (1s at 200/s)", sum["requests"])
	}

	r = predictd(t, "loadtest", "--url", url, "--bodies", inst, "--rate", "200", "--duration", "500ms", "--slo-p99", "1us", "--quiet")
	if r.code != 1 || !strings.Contains(r.stdout, "SLO FAILED: p99") {
		t.Errorf("loadtest with an impossible SLO: exit %d, want 1 and the reason\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A server that refuses every request fails on the error rate.
	r = predictd(t, "loadtest", "--url", d.url(false, "/v1/models/ghost:predict"), "--bodies", inst, "--rate", "100", "--duration", "300ms", "--slo-p99", "5s", "--quiet")
	if r.code != 1 || !strings.Contains(r.stdout, "error rate 100%") || !strings.Contains(r.stdout, "404:") {
		t.Errorf("loadtest against a missing model: exit %d, want 1 with 404s counted\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Whole bodies per line: Open Inference Protocol requests.
	oip := filepath.Join(dir, "oip.ndjson")
	writeFile(t, oip, `{"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP64", "data": [1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]}]}`+"\n")
	r = predictd(t, "loadtest", "--url", d.url(false, "/v2/models/wine/infer"), "--body-lines", oip, "--rate", "100", "--duration", "300ms", "--slo-p99", "5s", "--quiet")
	if r.code != 0 || !strings.Contains(r.stdout, "SLO met") {
		t.Errorf("loadtest --body-lines of OIP requests: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	bad := filepath.Join(dir, "bad.ndjson")
	writeFile(t, bad, "[1, 2]\n{\"a\": \n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", url, "--bodies", inst}, "give --rate R"},
		{[]string{"--url", url, "--bodies", inst, "--rate", "10", "--concurrency", "2"}, "not both"},
		{[]string{"--url", url, "--bodies", inst, "--body-lines", oip, "--rate", "10"}, "give one of --body, --bodies and --body-lines"},
		{[]string{"--url", url, "--bodies", bad, "--rate", "10"}, "bad.ndjson:2: not a JSON value"},
		{[]string{"--url", url, "--bodies", inst, "--rate", "10", "--profile", "sine"}, "Options.Profile"},
		{[]string{"--url", "ftp://x/", "--bodies", inst, "--rate", "10"}, `scheme "ftp"`},
	} {
		r := predictd(t, append([]string{"loadtest"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("loadtest %v: exit %d, stderr %q; want 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// countingServer is an HTTP server on loopback answering every request
// 200 with a small JSON body; conns reports how many connections it has
// accepted, so a test can show that a refused run sent nothing.
func countingServer(t *testing.T) (url string, conns func() int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"predictions":[0.5]}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/models/m:predict", n.Load
}

// leftovers lists the files in dir whose names mark them as the
// temporary files of unfinished reports.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var tmp []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			tmp = append(tmp, e.Name())
		}
	}
	return tmp
}

// TestLoadtestFlagsCheckedUpFront: every number and duration flag out of
// its bound, and every report path that cannot be written, is refused
// with exit 2 naming the flag before a single connection is made (issue
// 12, item 11: a negative --warmup and --slo-p99 were accepted, and a bad
// --json path was found only after the run). A run that is refused leaves
// an older report untouched and no temporary file behind; one that ends
// writes both reports and leaves no temporary file either.
func TestLoadtestFlagsCheckedUpFront(t *testing.T) {
	dir := t.TempDir()
	url, conns := countingServer(t)
	body := filepath.Join(dir, "body.json")
	writeFile(t, body, `{"instances":[[1]]}`)
	old := filepath.Join(dir, "old.json")
	writeFile(t, old, "an older report\n")
	subdir := filepath.Join(dir, "sub")
	if err := os.Mkdir(subdir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A long run: a refusal that came after it would take 30 s, not
	// the moment the test allows.
	base := []string{"loadtest", "--url", url, "--body", body, "--duration", "30s", "--quiet"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "10", "--warmup", "-1s"}, "--warmup -1s: want a duration ≥ 0"},
		{[]string{"--rate", "10", "--slo-p99", "-5ms"}, "--slo-p99 -5ms: want a duration ≥ 0"},
		{[]string{"--rate", "10", "--duration", "-1s"}, "--duration -1s: want a positive duration"},
		{[]string{"--rate", "10", "--duration", "0"}, "--duration 0s: want a positive duration"},
		{[]string{"--rate", "10", "--timeout", "-1ms"}, "--timeout -1ms: want a positive duration"},
		{[]string{"--rate", "-10"}, "--rate -10: want requests per second ≥ 0"},
		{[]string{"--rate", "NaN"}, "--rate NaN: want"},
		{[]string{"--rate", "+Inf"}, "--rate +Inf: want"},
		{[]string{"--concurrency", "-4"}, "--concurrency -4: want clients ≥ 0"},
		{[]string{"--rate", "10", "--connections", "-1"}, "--connections -1: want"},
		{[]string{"--rate", "10", "--profile", "ramp", "--start-rate", "-1"}, "--start-rate -1: want"},
		{[]string{"--rate", "10", "--profile", "step", "--steps", "0"}, "--steps 0: want at least 1 step"},
		{[]string{"--rate", "10", "--batch", "-2"}, "--batch -2: want at least 1 instance"},
		{[]string{"--rate", "10", "--slo-p99", "1s", "--max-error-rate", "NaN"}, "--max-error-rate NaN: want a fraction in [0, 1]"},
		{[]string{"--rate", "10", "--slo-p99", "1s", "--max-error-rate", "1.5"}, "--max-error-rate 1.5: want"},
		{[]string{"--rate", "10", "--json", filepath.Join(dir, "missing", "run.json")}, "--json " + filepath.Join(dir, "missing", "run.json") + ": cannot create a file in"},
		{[]string{"--rate", "10", "--html", filepath.Join(dir, "missing", "run.html")}, "--html " + filepath.Join(dir, "missing", "run.html") + ": cannot create a file in"},
		{[]string{"--rate", "10", "--html", subdir}, "--html " + subdir + ": exists and is not a regular file"},
		{[]string{"--rate", "10", "--json", old, "--html", old}, "--json and --html both name"},
		// The JSON path is good and holds an older report; the HTML one
		// is not: the older report survives the refusal.
		{[]string{"--rate", "10", "--json", old, "--html", filepath.Join(dir, "missing", "run.html")}, "--html"},
	} {
		refusedAtOnce(t, base, c.args, c.want)
	}
	if n := conns(); n != 0 {
		t.Errorf("refused runs opened %d connections to the server, want 0", n)
	}
	if b, err := os.ReadFile(old); err != nil || string(b) != "an older report\n" {
		t.Errorf("%s after refused runs: %q, %v; want the older report untouched", old, b, err)
	}
	if tmp := leftovers(t, dir); len(tmp) > 0 {
		t.Errorf("refused runs left temporary files %q", tmp)
	}

	// A run that ends replaces the older report and writes the page.
	page := filepath.Join(dir, "run.html")
	r := predictd(t, "loadtest", "--url", url, "--body", body, "--rate", "100", "--duration", "300ms", "--warmup", "0",
		"--slo-p99", "5s", "--json", old, "--html", page, "--quiet")
	if r.code != 0 {
		t.Fatalf("loadtest with good report paths: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var sum map[string]any
	if b, err := os.ReadFile(old); err != nil || json.Unmarshal(b, &sum) != nil || sum["requests"] == nil {
		t.Errorf("--json %s: %v, want the new report\n%s", old, err, b)
	}
	if st, err := os.Stat(page); err != nil || st.Size() == 0 || st.Mode().Perm() != 0o644 {
		t.Errorf("--html %s: %v, %v; want a page with mode 0644", page, st, err)
	}
	if tmp := leftovers(t, dir); len(tmp) > 0 {
		t.Errorf("a finished run left temporary files %q", tmp)
	}
	if n := conns(); n == 0 {
		t.Errorf("the good run opened no connection")
	}
}

// refusedAtOnce runs predictd with base then args and fails the test unless
// it exits 2 saying want within 10s (a usage error found before any run).
func refusedAtOnce(t *testing.T, base, args []string, want string) {
	t.Helper()
	start := time.Now()
	r := predictd(t, append(slices.Clone(base), args...)...)
	if r.code != 2 || !strings.Contains(r.stderr, want) {
		t.Errorf("%s %q: exit %d, stderr %q; want exit 2 and %q", base[0], args, r.code, r.stderr, want)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("%s %q: refused after %v, want at once", base[0], args, took)
	}
}
