package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/promtest"
)

// TestServeShadow: the real binary with lr version 2 live, shadowed by
// version 1 (the same model file) at sample rate 1: 20 requests of one
// instance each are all answered; /v1/models/lr/monitor's "shadow" reports
// 20 rows offered and compared, all agreeing; /metrics has the same
// counts, and promtool check metrics passes. A shadow block naming both a
// version and a model is refused at startup, naming the file and model.
func TestServeShadow(t *testing.T) {
	repo, body := lrRepo(t)
	importLRVersion(t, repo, "2")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.json")
	writeFile(t, cfg, `{"models": [{"name": "lr", "policy": {"all": true}, "shadow": {"version": 1, "sample_rate": 1, "queue_rows": 1024}}]}`)
	d := startServe(t, nil, "--repo", repo, "--config", cfg, "--poll-interval", "0")
	c := d.client(false)
	const n = 20
	for i := range n {
		code, out := do(t, c, "POST", d.url(false, "/v1/models/lr:predict"), body, "X-Request-Id", fmt.Sprintf("shadow-%d", i))
		if code != http.StatusOK || !strings.Contains(string(out), `"model_version":"2"`) {
			t.Fatalf("request %d: %d %s, want 200 from version 2", i, code, out)
		}
	}
	type shadowRep struct {
		Version      int      `json:"version"`
		Shadow       string   `json:"shadow"`
		Offered      int64    `json:"offered_rows"`
		Compared     int64    `json:"compared_rows"`
		Errors       int64    `json:"error_rows"`
		Agreement    *float64 `json:"agreement_rate"`
		Distribution struct {
			Live   []int64 `json:"live"`
			Shadow []int64 `json:"shadow"`
		} `json:"distributions"`
	}
	var rep struct {
		Shadow []shadowRep `json:"shadow"`
	}
	var raw []byte
	waitFor(t, "the shadow to compare every offered row", func() bool {
		code, out := do(t, c, "GET", d.url(false, "/v1/models/lr/monitor"), nil)
		raw = out
		if code != http.StatusOK || json.Unmarshal(out, &rep) != nil || len(rep.Shadow) != 1 {
			return false
		}
		return rep.Shadow[0].Compared+rep.Shadow[0].Errors >= n
	})
	s := rep.Shadow[0]
	if s.Version != 2 || s.Shadow != "v1" || s.Offered != n || s.Compared != n || s.Errors != 0 || s.Agreement == nil || *s.Agreement != 1 {
		t.Errorf("monitor shadow %s: want live version 2, shadow v1, %d rows offered and compared, no errors, agreement 1", raw, n)
	}
	var live, shadow int64
	for i := range s.Distribution.Live {
		live += s.Distribution.Live[i]
		shadow += s.Distribution.Shadow[i]
	}
	if live != n || shadow != n {
		t.Errorf("monitor shadow distributions hold %d live and %d shadow rows, want %d each (%s)", live, shadow, n, raw)
	}
	lv := []string{"model", "lr", "version", "2", "shadow", "v1"}
	for _, m := range []struct {
		name string
		want float64
	}{
		{"predictd_shadow_offered_total", n},
		{"predictd_shadow_compared_total", n},
		{"predictd_shadow_dropped_total", 0},
		{"predictd_shadow_errors_total", 0},
		{"predictd_shadow_agreement_ratio", 1},
		{"predictd_shadow_abs_diff_mean", 0},
		{"predictd_shadow_distribution_distance", 0},
	} {
		if got := metricValue(t, d, m.name, lv...); got != m.want {
			t.Errorf("%s%q = %v, want %v", m.name, lv, got, m.want)
		}
	}
	_, text := do(t, c, "GET", d.url(false, "/metrics"), nil)
	lat := promtest.Find(promtest.Parse(t, text), "predictd_shadow_latency_seconds", lv...).GetSummary()
	if lat.GetSampleCount() != n || !(lat.GetSampleSum() > 0) || len(lat.GetQuantile()) != 2 || !(lat.GetQuantile()[1].GetValue() > 0) {
		t.Errorf("predictd_shadow_latency_seconds%q = %v, want a summary of %d rows with a sum and a p99 > 0", lv, lat, n)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (%v): apt-get install --no-install-recommends prometheus, as .ci/run does", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if pout, err := cmd.CombinedOutput(); err != nil || len(pout) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, pout)
	}

	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, `{"models": [{"name": "lr", "shadow": {"version": 1, "model": "other"}}]}`)
	out, err := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--repo", repo, "--config", bad).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("serve with %s: err %v, want a non-zero exit\n%s", bad, err, out)
	}
	if want := `model "lr": shadow sets both version 1 and model "other"`; !strings.Contains(string(out), want) || !strings.Contains(string(out), bad) {
		t.Errorf("serve with %s said %q, want it to name the file and contain %q", bad, out, want)
	}
}
