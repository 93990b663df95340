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
// counts, and promtool check metrics passes. With --labels-dir, `predictd
// feedback` with a label for each request joins 20 (each label once), and
// the shadow's quality (/monitor's shadow "quality", the store name
// lr@shadow:v1) has the 20 labelled rows and the live version's log loss
// (the same model on the same rows), as has predictd_shadow_quality. A
// shadow block naming both a version and a model is refused at startup,
// naming the file and model.
func TestServeShadow(t *testing.T) {
	repo, body := lrRepo(t)
	importLRVersion(t, repo, "2")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.json")
	// The quality reports recomputed at each call (recompute_every).
	writeFile(t, cfg, `{"models": [{"name": "lr", "policy": {"all": true}, "shadow": {"version": 1, "sample_rate": 1, "queue_rows": 1024}}],
		"labels": {"dir": "`+filepath.Join(dir, "labels")+`", "recompute_every": "1ns"}}`)
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

	// Labels: each request's, joined to the live prediction and the
	// shadow's.
	var csv strings.Builder
	csv.WriteString("id,label,time\n")
	for i := range n {
		fmt.Fprintf(&csv, "shadow-%d,%d,\n", i, i%2)
	}
	in := filepath.Join(dir, "labels.csv")
	writeFile(t, in, csv.String())
	if out, want := mustRun(t, "feedback", "--url", d.url(false, ""), "--model", "lr", "--in", in), fmt.Sprintf("joined %d, unknown 0, duplicate 0, late 0, invalid 0\n", n); out != want {
		t.Errorf("predictd feedback printed %q, want %q (each label counted once)", out, want)
	}
	type window struct {
		Window   string `json:"window"`
		Labelled int64  `json:"labelled"`
		Binary   *struct {
			LogLoss float64 `json:"log_loss"`
		} `json:"binary"`
	}
	type report struct {
		Model   string   `json:"model"`
		Windows []window `json:"windows"`
	}
	var q struct {
		Versions []struct {
			Version int     `json:"version"`
			Quality *report `json:"quality"`
		} `json:"versions"`
		Shadow []struct {
			Quality *report `json:"quality"`
		} `json:"shadow"`
	}
	_, raw = do(t, c, "GET", d.url(false, "/v1/models/lr/monitor"), nil)
	if err := json.Unmarshal(raw, &q); err != nil || len(q.Shadow) != 1 || q.Shadow[0].Quality == nil || len(q.Shadow[0].Quality.Windows) == 0 {
		t.Fatalf("monitor %s (%v): want one shadow entry with a quality report", raw, err)
	}
	var liveQ *report
	for _, v := range q.Versions {
		if v.Version == 2 {
			liveQ = v.Quality
		}
	}
	sw := q.Shadow[0].Quality.Windows[0]
	if liveQ == nil || len(liveQ.Windows) == 0 || liveQ.Windows[0].Binary == nil || sw.Binary == nil {
		t.Fatalf("monitor %s: want version 2's quality and the shadow's, both binary", raw)
	}
	if lw := liveQ.Windows[0]; q.Shadow[0].Quality.Model != "lr@shadow:v1" || sw.Labelled != n || lw.Labelled != n || sw.Binary.LogLoss != lw.Binary.LogLoss {
		t.Errorf("shadow quality %s: %d labelled, log loss %v; live %d labelled, log loss %v; want lr@shadow:v1, %d labelled each, equal log loss (%s)",
			q.Shadow[0].Quality.Model, sw.Labelled, sw.Binary.LogLoss, lw.Labelled, lw.Binary.LogLoss, n, raw)
	}
	if got := metricValue(t, d, "predictd_shadow_quality_rows", append(lv, "window", sw.Window, "state", "labelled")...); got != n {
		t.Errorf("predictd_shadow_quality_rows{labelled} = %v, want %d", got, n)
	}
	if got := metricValue(t, d, "predictd_shadow_quality", append(lv, "window", sw.Window, "metric", "log_loss")...); got != sw.Binary.LogLoss {
		t.Errorf("predictd_shadow_quality{log_loss} = %v, want %v as /monitor", got, sw.Binary.LogLoss)
	}
	_, text = do(t, c, "GET", d.url(false, "/metrics"), nil)
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
