package main

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/internal/promtest"
	"github.com/predictd/predictd/model"
)

// monitorResult is one feature or output of a drift report, as /monitor
// and predictd drift --json write it: every statistic by its JSON name,
// nil for null.
type monitorResult struct {
	Name    string              `json:"name"`
	Status  string              `json:"status"`
	Reasons []string            `json:"reasons"`
	Stats   map[string]*float64 `json:"stats"`
}

type monitorDrift struct {
	Status   string          `json:"status"`
	Features []monitorResult `json:"features"`
	Outputs  []monitorResult `json:"outputs"`
}

// stat is a statistic for a message.
func stat(x *float64) string {
	if x == nil {
		return "null"
	}
	return strconv.FormatFloat(*x, 'g', -1, 64)
}

// monitorPhase sends rows to model m of d as :predict and infer requests
// of 1 to 8 rows each, in turn in three request forms, then reads the
// since_load window of GET /v1/models/m/monitor and runs predictd drift
// --json on a CSV file of exactly the rows sent. The two reports must
// agree: same statuses and reasons, and every statistic of every feature
// and output bit for bit (the daemon and the offline tool hand the same
// rows to the same function, drift.Compare; see
// monitor/watch.TestOnlineEqualsOffline for why nothing rounds
// differently). It returns the online report and drift's exit status.
func monitorPhase(t *testing.T, d *daemon, repo string, header []string, rows [][]float64, rng *rand.Rand) (monitorDrift, int) {
	t.Helper()
	c := d.client(false)
	sc := servedCase{name: "m", features: header}
	forms := []string{"tf-arrays", "tf-objects", "oip-2d"}
	requests := 0
	for i := 0; i < len(rows); requests++ {
		k := min(1+rng.IntN(8), len(rows)-i)
		if got := predictRows(t, d, c, false, forms[requests%len(forms)], sc, rows[i:i+k]); len(got) != k {
			t.Fatalf("%d predictions for %d rows", len(got), k)
		}
		i += k
	}

	code, body := do(t, c, http.MethodGet, d.url(false, "/v1/models/m/monitor"), nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/models/m/monitor: %d %s", code, body)
	}
	var mon struct {
		Model    string `json:"model"`
		Versions []struct {
			Version int `json:"version"`
			Windows []struct {
				Name    string          `json:"name"`
				Rows    int64           `json:"rows"`
				Dropped int64           `json:"dropped_rows"`
				Drift   json.RawMessage `json:"drift"`
			} `json:"windows"`
		} `json:"versions"`
	}
	if err := json.Unmarshal(body, &mon); err != nil {
		t.Fatalf("/monitor: %v\n%s", err, body)
	}
	if mon.Model != "m" || len(mon.Versions) != 1 || mon.Versions[0].Version != 1 {
		t.Fatalf("/monitor:\n%s", body)
	}
	var names []string
	var online monitorDrift
	for _, w := range mon.Versions[0].Windows {
		names = append(names, w.Name)
		if w.Name != "since_load" {
			continue
		}
		if w.Rows != int64(len(rows)) || w.Dropped != 0 {
			t.Errorf("since_load window: %d rows, %d dropped; sent %d in %d requests", w.Rows, w.Dropped, len(rows), requests)
		}
		if err := json.Unmarshal(w.Drift, &online); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(names, []string{"5m", "1h", "since_load"}) {
		t.Fatalf("/monitor windows %q, want 5m, 1h, since_load:\n%s", names, body)
	}

	sent := fixture.WriteCSV(t, "sent.csv", header, rows)
	r := predictd(t, "drift", "--repo", repo, "--model", "m", "--in", sent, "--json")
	var offline monitorDrift
	if err := json.Unmarshal([]byte(r.stdout), &offline); err != nil {
		t.Fatalf("predictd drift --json: exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if online.Status != offline.Status {
		t.Errorf("status: /monitor %s, predictd drift %s", online.Status, offline.Status)
	}
	for _, part := range []struct {
		what     string
		got, off []monitorResult
	}{{"feature", online.Features, offline.Features}, {"output", online.Outputs, offline.Outputs}} {
		if len(part.got) != len(part.off) || len(part.off) == 0 {
			t.Fatalf("%ss: /monitor has %d, predictd drift %d", part.what, len(part.got), len(part.off))
		}
		for i, o := range part.off {
			g := part.got[i]
			if g.Name != o.Name || g.Status != o.Status || !slices.Equal(g.Reasons, o.Reasons) {
				t.Errorf("%s %d: /monitor %s %s %q, predictd drift %s %s %q", part.what, i, g.Name, g.Status, g.Reasons, o.Name, o.Status, o.Reasons)
			}
			if len(g.Stats) != len(o.Stats) || len(o.Stats) < 10 {
				t.Errorf("%s %s: /monitor has %d statistics, predictd drift %d", part.what, o.Name, len(g.Stats), len(o.Stats))
			}
			for k, ov := range o.Stats {
				gv, ok := g.Stats[k]
				if !ok || (gv == nil) != (ov == nil) || gv != nil && math.Float64bits(*gv) != math.Float64bits(*ov) {
					t.Errorf("%s %s: %s is %s in /monitor, %s in predictd drift", part.what, o.Name, k, stat(gv), stat(ov))
				}
			}
		}
	}
	return online, r.code
}

// TestMonitorEndToEnd is issue 14's end-to-end test on the real binary: a
// model imported with a reference (its 2,000 training rows) is served.
// Phase 1 sends 600 rows drawn from the training rows: every feature is
// ok. Phase 2, on a fresh daemon (a fresh since_load window), sends the
// same rows with f3 shifted by 3 reference standard deviations and f7 all
// missing (a broken upstream): exactly f3 and f7 drift, and their
// predictd_drift_status gauges read 2. In both phases the statistics
// /monitor reports equal, bit for bit, those of predictd drift on a file of
// the rows sent; drift's statistics are held equal to scipy's by
// monitor/drift's oracle tests. With --cost-per-core-hour the version's
// cost per million predictions and its CPU seconds are in /metrics.
func TestMonitorEndToEnd(t *testing.T) {
	t.Parallel() // its half-minute wait for the cost overlaps TestDashboardMetricsExist's
	repo := t.TempDir()
	train := fixture.Path("xgboost", driftFixture+".csv")
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", driftFixture+".json"), "--repo", repo, "--name", "m", "--reference", train)
	l, err := model.Open(repo, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := model.ReadReference(l.Dir, l.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	tab := fixture.ReadTable(t, train)
	// 600 rows drawn with replacement from the training rows, fixed seed.
	rng := rand.New(rand.NewPCG(14, 600))
	rows := make([][]float64, 600)
	for i := range rows {
		rows[i] = slices.Clone(tab.Rows[rng.IntN(len(tab.Rows))])
	}

	// Phase 1. The statuses are a deterministic function of the seed, and
	// with this one every feature is ok. Another seed could make a feature
	// warn without anything being wrong: drawn from the reference, a
	// feature's KS p-value is below the 0.01 warn threshold 1 time in 100
	// (drift.DefaultThresholds), so 20 features warn somewhere about 1
	// seed in 5; a drift (p below 0.001, PSI 0.25 where sampling noise
	// gives about 0.04) would be a bug.
	d := startServe(t, nil, "--repo", repo)
	ok, code := monitorPhase(t, d, repo, tab.Header, rows, rng)
	if code != 0 {
		t.Errorf("predictd drift of the phase 1 rows: exit %d, want 0", code)
	}
	maxPSI, minKSP := 0.0, 1.0
	for _, f := range ok.Features {
		if f.Status != "ok" {
			t.Errorf("phase 1: feature %s is %s (%q), want ok", f.Name, f.Status, f.Reasons)
		}
		if p := f.Stats["psi"]; p != nil {
			maxPSI = max(maxPSI, *p)
		}
		if p := f.Stats["ks_p"]; p != nil {
			minKSP = min(minKSP, *p)
		}
	}
	t.Logf("phase 1: %d rows, status %s; features: largest PSI %.4f, smallest KS p-value %.4f; output %s PSI %s KS p %s",
		len(rows), ok.Status, maxPSI, minKSP, ok.Outputs[0].Status, stat(ok.Outputs[0].Stats["psi"]), stat(ok.Outputs[0].Stats["ks_p"]))
	d.stop(15*time.Second, "after phase 1")

	// Phase 2: a fresh daemon, whose /metrics gauges judge since_load.
	f3, f7 := slices.Index(tab.Header, "f3"), slices.Index(tab.Header, "f7")
	shift := 3 * ref.Features[f3].Std
	broken := make([][]float64, len(rows))
	for i, r := range rows {
		broken[i] = slices.Clone(r)
		broken[i][f3] += shift
		broken[i][f7] = math.NaN()
	}
	loaded := time.Now()
	d = startServe(t, nil, "--repo", repo, "--monitor-window", "since_load", "--cost-per-core-hour", "1")
	bad, code := monitorPhase(t, d, repo, tab.Header, broken, rng)
	if code != 1 {
		t.Errorf("predictd drift of the phase 2 rows: exit %d, want 1", code)
	}
	var flagged []string
	for _, f := range bad.Features {
		if f.Status != "ok" {
			flagged = append(flagged, f.Name+" "+f.Status)
		}
	}
	if !slices.Equal(flagged, []string{"f3 drift", "f7 drift"}) {
		t.Errorf("phase 2: features flagged %q, want exactly f3 and f7 drifting", flagged)
	}
	if bad.Status != "drift" {
		t.Errorf("phase 2: report status %s, want drift", bad.Status)
	}
	if s := bad.Features[f7].Stats; s["missing_rate"] == nil || *s["missing_rate"] != 1 || s["psi"] != nil || s["ks"] != nil {
		t.Errorf("f7, all missing: missing_rate %s, psi %s, ks %s; want 1, null, null", stat(s["missing_rate"]), stat(s["psi"]), stat(s["ks"]))
	}
	s3 := bad.Features[f3].Stats
	t.Logf("phase 2: f3 shifted %.4g (3 std): PSI %s JS %s KS %s (p %s) Wasserstein %s; f7 missing rate %s (reference %s); reasons f3 %q, f7 %q; output %s",
		shift, stat(s3["psi"]), stat(s3["js"]), stat(s3["ks"]), stat(s3["ks_p"]), stat(s3["wasserstein"]),
		stat(bad.Features[f7].Stats["missing_rate"]), stat(bad.Features[f7].Stats["missing_rate_ref"]), bad.Features[f3].Reasons, bad.Features[f7].Reasons, bad.Outputs[0].Status)

	// /metrics: each feature's gauge is its since_load status (0 ok, 2
	// drift); f3 and f7 read 2.
	code, body := do(t, d.client(false), http.MethodGet, d.url(false, "/metrics"), nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, f := range bad.Features {
		want := map[string]float64{"ok": 0, "warn": 1, "drift": 2}[f.Status]
		if got := sampleValue(t, body, "predictd_drift_status", "model", "m", "version", "1", "feature", f.Name); got != want {
			t.Errorf("predictd_drift_status{feature=%q} = %v, want %v (%s)", f.Name, got, want, f.Status)
		}
	}
	if got := sampleValue(t, body, "predictd_monitor_rows_total", "model", "m", "version", "1"); got != float64(len(rows)) {
		t.Errorf("predictd_monitor_rows_total = %v, want %d", got, len(rows))
	}
	if got := sampleValue(t, body, "predictd_prediction_value", "model", "m", "version", "1", "output", l.Manifest.Outputs[0].Name); got != float64(len(rows)) {
		t.Errorf("predictd_prediction_value count = %v, want %d", got, len(rows))
	}

	// Cost. The ledger prices a version once it has served half its
	// one-minute window (monitor/cost.Ledger: span >= window/2), so the
	// price appears at a scrape 30 s after the load; poll for it, bounded.
	deadline := loaded.Add(75 * time.Second)
	for {
		_, body = do(t, d.client(false), http.MethodGet, d.url(false, "/metrics"), nil)
		if promtest.Find(promtest.Parse(t, body), "predictd_cost_per_million_predictions", "model", "m", "version", "1") != nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	perM := sampleValue(t, body, "predictd_cost_per_million_predictions", "model", "m", "version", "1")
	cpu := sampleValue(t, body, "predictd_model_cpu_seconds_total", "model", "m", "version", "1")
	if !(perM > 0) || !(cpu > 0) {
		t.Errorf("predictd_cost_per_million_predictions %v, predictd_model_cpu_seconds_total %v: want both > 0", perM, cpu)
	}
	t.Logf("cost after %s: %.4g per million predictions at 1 per core-hour, %.4g CPU seconds for %d predictions",
		time.Since(loaded).Round(time.Second), perM, cpu, len(rows))
	d.stop(15*time.Second, "after phase 2")
}
