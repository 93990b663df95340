package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
