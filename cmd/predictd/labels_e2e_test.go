package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/predictd/predictd/model"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/monitor/labels"
)

// TestServeLabels: serve with --labels-dir and a quality block slicing lr
// by its first input; N predictions with ids, of three values of that
// input; `predictd feedback --in labels.csv` posts labels for all but a
// few, plus an unknown id, and prints the counts: labels that agree with
// the predictions but in one slice, where the concept changed; /metrics
// counts them; /monitor and the slice gauges show the joined counts and
// the changed slice as the worst, accuracy 0 against 1; promtool passes
// the whole exposition; after SIGTERM the store (closed by the daemon)
// reports the joined rows by slice value.
func TestServeLabels(t *testing.T) {
	repo, body := lrRepo(t)
	dir := filepath.Join(t.TempDir(), "labels")
	cfg := filepath.Join(t.TempDir(), "serve.json")
	var inst struct{ Instances [][]float64 }
	if err := json.Unmarshal(body, &inst); err != nil {
		t.Fatal(err)
	}
	const col = "mean_radius" // lr's first input
	writeFile(t, cfg, `{"labels": {"windows": ["1h"], "recompute_every": "1ms"}, "models": [{"name": "lr", "quality": {"slices": ["`+col+`"], "protected": "`+col+`", "alert": {"tolerance": 0.05}}}]}`)
	// An offline evaluation recorded on the version (as eval --record
	// does) is its quality baseline in /metrics, for the alert rules.
	if _, _, err := model.RecordEvaluation(repo, "lr", 1, json.RawMessage(`{"task": "binary", "rows": 100, "overall": {"auc": 0.91, "log_loss": 0.3}}`), model.EvaluationLineage{Tool: "test"}); err != nil {
		t.Fatal(err)
	}
	d := startServe(t, nil, "--repo", repo, "--config", cfg, "--labels-dir", dir)
	c := d.client(false)
	values := []float64{10, 15.5, 20}
	const n = 90
	var csv strings.Builder
	csv.WriteString("id,label,time\n")
	perValue := map[string]int64{}
	for i := range n {
		row := slices.Clone(inst.Instances[0])
		row[0] = values[i%len(values)]
		b := fmt.Sprintf(`{"instances": [%s]}`, mustJSON(t, row))
		id := fmt.Sprintf("lb-%d", i)
		req, _ := http.NewRequest("POST", d.url(false, "/v1/models/lr:predict"), bytes.NewReader([]byte(b)))
		req.Header.Set("X-Request-Id", id)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var pred struct{ Predictions []float64 }
		err = json.NewDecoder(resp.Body).Decode(&pred)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || len(pred.Predictions) != 1 {
			t.Fatalf("request %d: %d %+v (%v)", i, resp.StatusCode, pred, err)
		}
		// The label agrees with the prediction, but in the slice of the
		// last value, where the concept changed: there it is the other
		// class.
		label := 0
		if pred.Predictions[0] >= 0.5 {
			label = 1
		}
		if i%len(values) == len(values)-1 {
			label = 1 - label
		}
		if i%10 == 9 {
			continue // no label
		}
		when := ""
		if i%2 == 0 {
			when = time.Now().UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(&csv, "%s,%d,%s\n", id, label, when)
		perValue[fmt.Sprint(values[i%len(values)])]++
	}
	csv.WriteString("nope,1,\n")
	in := filepath.Join(t.TempDir(), "labels.csv")
	writeFile(t, in, csv.String())
	out := mustRun(t, "feedback", "--url", d.url(false, ""), "--model", "lr", "--in", in, "--chunk", "25")
	joined := n - n/10
	if want := fmt.Sprintf("joined %d, unknown 1, duplicate 0, late 0, invalid 0\n", joined); out != want {
		t.Errorf("predictd feedback printed %q, want %q", out, want)
	}
	if got := metricValue(t, d, "predictd_labels_total", "model", "lr", "outcome", "joined"); got != float64(joined) {
		t.Errorf("predictd_labels_total{outcome=joined} = %v, want %d", got, joined)
	}
	if got := metricValue(t, d, "predictd_labels_total", "model", "lr", "outcome", "unknown"); got != 1 {
		t.Errorf("predictd_labels_total{outcome=unknown} = %v, want 1", got)
	}
	// /monitor: the joined counts, the rows by slice value.
	_, mb := do(t, c, "GET", d.url(false, "/v1/models/lr/monitor"), nil)
	var mon struct {
		Versions []struct {
			Version int
			Quality *labels.Report
		}
	}
	if err := json.Unmarshal(mb, &mon); err != nil || len(mon.Versions) != 1 || mon.Versions[0].Quality == nil {
		t.Fatalf("GET /v1/models/lr/monitor: %s (%v), want one version with its quality", mb, err)
	}
	if w := mon.Versions[0].Quality.Windows[0]; w.Labelled != int64(joined) || len(w.Slices) != 1 || fmt.Sprint(sliceRows(w)) != fmt.Sprint(perValue) {
		t.Errorf("/monitor quality window %+v: want %d labelled, rows by %s %v", w, joined, col, perValue)
	}
	// The concept change shows in the slices: accuracy 1 in the first two
	// values, 0 in the last, its worst; the gauges say the same.
	changed := fmt.Sprint(values[len(values)-1])
	for _, m := range mon.Versions[0].Quality.Windows[0].Slices[0].Metrics {
		if m.Metric != "accuracy" {
			continue
		}
		if m.Worst != changed || float64(m.Spread) != 1 {
			t.Errorf("accuracy by %s: worst %q, spread %v, want %q, 1 (%+v)", col, m.Worst, m.Spread, changed, m.Slices)
		}
	}
	for _, v := range values {
		want := 1.0
		if fmt.Sprint(v) == changed {
			want = 0
		}
		if got := metricValue(t, d, "predictd_model_quality_slice", "model", "lr", "version", "1", "window", "1h0m0s", "column", col, "value", fmt.Sprint(v), "metric", "accuracy"); got != want {
			t.Errorf("predictd_model_quality_slice{value=%v,metric=accuracy} = %v, want %v", v, got, want)
		}
	}
	if got := metricValue(t, d, "predictd_model_quality_baseline", "model", "lr", "version", "1", "metric", "auc"); got != 0.91 {
		t.Errorf("predictd_model_quality_baseline{metric=auc} = %v, want the recorded 0.91", got)
	}
	// The daemon's whole exposition passes promtool.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (%v): apt-get install --no-install-recommends prometheus, as .ci/run does", err)
	}
	_, text := do(t, c, "GET", d.url(false, "/metrics"), nil)
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if pout, err := cmd.CombinedOutput(); err != nil || len(pout) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, pout)
	}
	if got := metricValue(t, d, "predictd_model_quality_rows", "model", "lr", "version", "1", "window", "1h0m0s", "state", "labelled"); got != float64(joined) {
		t.Errorf("predictd_model_quality_rows{state=labelled} = %v, want %d", got, joined)
	}
	// A malformed file is refused naming its line.
	bad := filepath.Join(t.TempDir(), "bad.csv")
	writeFile(t, bad, "id,label\nlb-0,1\nlb-1,x\n")
	if r := predictd(t, "feedback", "--url", d.url(false, ""), "--model", "lr", "--in", bad); r.code == 0 || !strings.Contains(r.stderr, bad+":3") {
		t.Errorf("feedback --in %s: exit %d, stderr %q; want an error naming %s:3", bad, r.code, r.stderr, bad)
	}
	d.stop(30*time.Second, "with labels")

	st, err := labels.Open(dir, labels.Options{Windows: []time.Duration{time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Configure("lr", labels.Spec{Task: labels.Binary, SliceColumns: []string{col}}); err != nil {
		t.Fatal(err)
	}
	rep, err := st.Report("lr", 1)
	if err != nil {
		t.Fatal(err)
	}
	w := rep.Windows[0]
	if w.Labelled != int64(joined) || w.Unlabelled != int64(n-joined) {
		t.Errorf("report: labelled %d, unlabelled %d, want %d, %d", w.Labelled, w.Unlabelled, joined, n-joined)
	}
	if len(w.Slices) != 1 || w.Slices[0].Column != col {
		t.Fatalf("report slices %+v, want one column %s", w.Slices, col)
	}
	got := sliceRows(w)
	if fmt.Sprint(got) != fmt.Sprint(perValue) {
		t.Errorf("report rows by %s: %v, want %v", col, got, perValue)
	}
}

// TestServeLabelsConfigErrors: serve refuses, exit 2 before it listens, a
// labels store in the feature store's pebble directory, a quality block
// with labels off, and a bad quality block, each naming the setting.
func TestServeLabelsConfigErrors(t *testing.T) {
	repo, _ := lrRepo(t)
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "feat")
	rel, err := filepath.Rel(cwd, store)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		config string
		args   []string
		want   string
	}{
		{``, []string{"--features", fixture.Path("features", "demo.yaml"), "--store", "pebble:" + store, "--labels-dir", store + "/"}, "is the feature store's pebble directory"},
		{``, []string{"--features", fixture.Path("features", "demo.yaml"), "--store", "pebble:" + store, "--labels-dir", rel}, "is the feature store's pebble directory"},
		{`{"models": [{"name": "lr", "quality": {}}]}`, nil, `model "lr" sets "quality" but labels are off: give --labels-dir DIR or labels.dir`},
		{`{"models": [{"name": "lr", "quality": {"task": "multiclass"}}]}`, []string{"--labels-dir", t.TempDir()}, `quality.task "multiclass": want binary or regression`},
		{`{"models": [{"name": "lr", "quality": {"slices": ["a"], "protected": "b"}}]}`, []string{"--labels-dir", t.TempDir()}, `quality.protected "b" is not one of quality.slices ["a"]`},
		{`{"labels": {"dir": "x", "windows": ["0s"]}}`, nil, `labels.windows[0] 0s: want a positive duration`},
		{`{"labels": {"dir": "x", "join_windo": "1h"}}`, nil, `join_windo`},
		{`{"labels": {"dir": "x", "recompute_every": "-1s"}}`, nil, `labels.recompute_every -1s is negative`},
	} {
		args := append([]string{"serve", "--repo", repo, "--listen", "127.0.0.1:0"}, c.args...)
		if c.config != "" {
			cfg := filepath.Join(t.TempDir(), "serve.json")
			writeFile(t, cfg, c.config)
			args = append(args, "--config", cfg)
		}
		r := predictd(t, args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("predictd %s (config %s): exit %d, stderr %q; want 2 and %q", strings.Join(args, " "), c.config, r.code, r.stderr, c.want)
		}
	}
}

// sliceRows is a window's labelled rows by value of its first slice
// column.
func sliceRows(w labels.Window) map[string]int64 {
	got := map[string]int64{}
	for _, sv := range w.Slices[0].Metrics[0].Slices {
		got[sv.Value] = sv.Rows
	}
	return got
}
