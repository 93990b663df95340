package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/internal/htmlpage"
	"github.com/predictd/predictd/tools/candidates"
	"github.com/predictd/predictd/tools/eval"
)

// candidatesRepo imports testdata/candidates models through the binary.
func candidatesRepo(t *testing.T, names ...string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	for _, n := range names {
		mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("candidates", n+".json"), "--repo", repo, "--name", n)
	}
	return repo
}

// quickCandidates are the flags of a short measurement.
var quickCandidates = []string{"--duration", "20ms", "--rounds", "2", "--batch", "16,64", "--quiet"}

// sameMetric reports whether got (from the JSON) is want (from tools/eval)
// exactly, NaN equal to NaN.
func sameMetric(got candidates.Metric, want float64) bool {
	return float64(got) == want || (math.IsNaN(float64(got)) && math.IsNaN(want))
}

// TestCandidatesE2E compares three classifiers through the real binary
// and holds the quality numbers to tools/eval's on the same holdout, and
// the table, JSON and page to their structure (timings are the machine's
// and not asserted).
func TestCandidatesE2E(t *testing.T) {
	repo := candidatesRepo(t, "clf_tiny", "clf_small", "clf_large")
	holdout := fixture.Path("candidates", "holdout.csv")
	dir := t.TempDir()
	jsonOut, htmlOut := filepath.Join(dir, "c.json"), filepath.Join(dir, "c.html")
	args := append([]string{"candidates", "--repo", repo, "--models", "clf_tiny,clf_small:1,clf_large", "--in", holdout, "--label", "y",
		"--slice", "segment", "--slo-p99", "1h", "--cost-per-core-hour", "0.05", "--currency", "EUR", "--json", jsonOut, "--html", htmlOut},
		quickCandidates...)
	out := mustRun(t, args...)

	js, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var r candidates.Report
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatalf("--json: %v\n%s", err, js)
	}
	if r.Kind != candidates.KindClassifier || r.Primary != "auc" || len(r.Candidates) != 3 || r.Rounds != 2 || r.Currency != "EUR" {
		t.Fatalf("report kind %q primary %q, %d candidates, %d rounds, currency %q; want classifier, auc, 3, 2, EUR",
			r.Kind, r.Primary, len(r.Candidates), r.Rounds, r.Currency)
	}
	for i, name := range []string{"clf_tiny", "clf_small", "clf_large"} {
		c := r.Candidates[i]
		ev, err := eval.Run(context.Background(), eval.Options{Repo: repo, Model: name, In: holdout, Label: "y", Slices: []string{"segment"}})
		if err != nil {
			t.Fatal(err)
		}
		m, q := ev.Overall, c.Quality
		if c.Label != name+":1" || c.Rows != ev.Rows || c.Rows != 800 || !sameMetric(q.AUC, m.AUC) || !sameMetric(q.LogLoss, m.LogLoss) || !sameMetric(q.ECE, m.ECE) || !sameMetric(c.Primary, m.AUC) {
			t.Errorf("%s: rows %d AUC %v log loss %v ECE %v; tools/eval says %d rows, %v, %v, %v", c.Label, c.Rows, q.AUC, q.LogLoss, q.ECE, ev.Rows, m.AUC, m.LogLoss, m.ECE)
		}
		ws, ok := ev.WorstSlice("auc")
		if !ok || q.WorstSlice != "segment="+ws.Value || !sameMetric(q.WorstSliceValue, ws.Metrics.AUC) || q.WorstSliceRows != ws.Rows {
			t.Errorf("%s: worst slice %s (%d rows) at %v; tools/eval's is segment=%s (%d rows) at %v", c.Label, q.WorstSlice, q.WorstSliceRows, q.WorstSliceValue, ws.Value, ws.Rows, ws.Metrics.AUC)
		}
		if len(c.Samples) != 2 || !(c.P99Micros > 0) || !(c.RowsPerSecond > 0) || (c.BestBatch != 16 && c.BestBatch != 64) || !(c.CostPerMillion > 0) || c.ArtifactBytes <= c.PayloadBytes || !c.WithinSLO {
			t.Errorf("%s: %d samples, p99 %v, %v rows/s at %d, cost %v, %d bytes (payload %d), within %v",
				c.Label, len(c.Samples), c.P99Micros, c.RowsPerSecond, c.BestBatch, c.CostPerMillion, c.ArtifactBytes, c.PayloadBytes, c.WithinSLO)
		}
	}
	// Within an hour every candidate meets the SLO: the best AUC wins, and
	// the fixtures' AUCs rank large > small > tiny.
	if r.Best != 2 || !r.Candidates[2].Best {
		t.Errorf("best %d, want 2 (clf_large, the best AUC)", r.Best)
	}
	// scikit-learn's roc_auc_score on XGBoost's own predictions, as
	// testdata/gen/candidates_fixtures.py printed them (4 decimals).
	for i, want := range []float64{0.7967, 0.8963, 0.9115} {
		if got := float64(r.Candidates[i].Primary); math.Abs(got-want) > 5e-5 {
			t.Errorf("%s: AUC %v, want scikit-learn's %v", r.Candidates[i].Label, got, want)
		}
	}

	// The table: a header, one row per candidate in order, ★ on the best,
	// then the verdict.
	lines := strings.Split(out, "\n")
	if h := lines[0]; !strings.Contains(h, "AUC") || !strings.Contains(h, "p99 µs") || !strings.Contains(h, "cost/1M EUR") || !strings.Contains(h, "dominated by") {
		t.Errorf("header %q lacks a column", h)
	}
	for i, c := range r.Candidates {
		f := strings.Fields(lines[1+i])
		label := f[0]
		if c.Best {
			if f[0] != candidates.BestMark {
				t.Errorf("row %q: the best lacks %s", lines[1+i], candidates.BestMark)
			}
			label = f[1]
		}
		if label != c.Label {
			t.Errorf("row %d is %q, want %s", i, lines[1+i], c.Label)
		}
	}
	if strings.Count(out, candidates.BestMark) != 1 || !strings.Contains(out, "best under single-row p99 ≤ 1h0m0s: clf_large:1") {
		t.Errorf("stdout lacks one %s and the verdict:\n%s", candidates.BestMark, out)
	}

	page, err := os.ReadFile(htmlOut)
	if err != nil {
		t.Fatal(err)
	}
	n, err := htmlpage.Check(page)
	if err != nil {
		t.Fatal(err)
	}
	if n["svg"] != 1 || n["tr"] != 4 {
		t.Errorf("page has %d svg and %d table rows, want 1 and 4", n["svg"], n["tr"])
	}
	for _, c := range r.Candidates {
		if !strings.Contains(string(page), ">"+c.Label+"<") {
			t.Errorf("page lacks %s", c.Label)
		}
	}
}

// TestCandidatesRegressorsE2E holds RMSE and MAE to tools/eval's.
func TestCandidatesRegressorsE2E(t *testing.T) {
	repo := candidatesRepo(t, "reg_large")
	holdout := fixture.Path("candidates", "holdout.csv")
	// reg_small with a reference profile, which its size counts.
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("candidates", "reg_small.json"), "--repo", repo, "--name", "reg_small", "--reference", holdout)
	out := mustRun(t, append([]string{"candidates", "--repo", repo, "--models", "reg_small,reg_large", "--in", holdout, "--label", "target", "--json", "-"}, quickCandidates...)...)
	var r candidates.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("--json -: stdout is not the report alone: %v\n%s", err, out)
	}
	if r.Kind != candidates.KindRegressor || r.Primary != "rmse" || r.HigherIsBetter || len(r.Candidates) != 2 || r.SLOP99Micros != 0 {
		t.Fatalf("report kind %q primary %q higher %v, %d candidates, SLO %v", r.Kind, r.Primary, r.HigherIsBetter, len(r.Candidates), r.SLOP99Micros)
	}
	for _, c := range r.Candidates {
		ev, err := eval.Run(context.Background(), eval.Options{Repo: repo, Model: c.Name, In: holdout, Label: "target"})
		if err != nil {
			t.Fatal(err)
		}
		if !sameMetric(c.Quality.RMSE, ev.Overall.RMSE) || !sameMetric(c.Quality.MAE, ev.Overall.MAE) || !math.IsNaN(float64(c.Quality.AUC)) || c.Quality.WorstSlice != "" {
			t.Errorf("%s: RMSE %v MAE %v AUC %v worst slice %q; tools/eval says RMSE %v MAE %v, and no AUC or slice is asked for",
				c.Label, c.Quality.RMSE, c.Quality.MAE, c.Quality.AUC, c.Quality.WorstSlice, ev.Overall.RMSE, ev.Overall.MAE)
		}
	}
	for i, c := range r.Candidates {
		if (c.ReferenceBytes > 0) != (i == 0) || c.ArtifactBytes != c.PayloadBytes+c.ReferenceBytes+c.ManifestBytes || c.OtherBytes != 0 {
			t.Errorf("%s: %d bytes = payload %d + reference %d + manifest %d + other %d; want a reference on reg_small alone", c.Label, c.ArtifactBytes, c.PayloadBytes, c.ReferenceBytes, c.ManifestBytes, c.OtherBytes)
		}
	}
	// scikit-learn's RMSE as the fixture script printed it (4 decimals).
	for i, want := range []float64{1.0671, 0.7408} {
		if got := float64(r.Candidates[i].Primary); math.Abs(got-want) > 5e-5 {
			t.Errorf("%s: RMSE %v, want scikit-learn's %v", r.Candidates[i].Label, got, want)
		}
	}
	// No SLO: the lower RMSE (reg_large, by the fixture) is best.
	if r.Best != 1 {
		t.Errorf("best %d, want 1 (reg_large, the lower RMSE)", r.Best)
	}
}

// TestCandidatesExitCodes: 1 when no candidate meets the SLO (the table
// still printed) or the comparison fails; 2 on usage errors.
func TestCandidatesExitCodes(t *testing.T) {
	repo := candidatesRepo(t, "clf_tiny", "reg_small")
	holdout := fixture.Path("candidates", "holdout.csv")
	base := []string{"candidates", "--repo", repo, "--in", holdout, "--label", "y"}
	res := predictd(t, append(append(base, "--models", "clf_tiny", "--slo-p99", "1ns"), quickCandidates...)...)
	if res.code != 1 || !strings.Contains(res.stderr, "no candidate meets the single-row p99 SLO of 1ns") ||
		!strings.Contains(res.stdout, "clf_tiny:1") || !strings.Contains(res.stdout, "no candidate meets single-row p99 ≤ 1ns") || strings.Contains(res.stdout, candidates.BestMark) {
		t.Errorf("SLO 1ns: exit %d\nstdout:\n%s\nstderr:\n%s\nwant exit 1, the table without %s, and the reason", res.code, res.stdout, res.stderr, candidates.BestMark)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--models", "clf_tiny,reg_small"}, 1, "candidate reg_small:1: task regression (a regressor) against clf_tiny:1's binary (a classifier)"},
		{[]string{"--models", "clf_tiny,nope"}, 1, "candidate nope"},
		{[]string{}, 2, "missing required flag --models"},
		{[]string{"--models", "clf_tiny:0"}, 2, "--models"},
		{[]string{"--models", "clf_tiny", "--batch", "0"}, 2, "--batch"},
		{[]string{"--models", "clf_tiny", "--rounds", "0"}, 2, "--rounds 0"},
		{[]string{"--models", "clf_tiny", "--duration", "-1s"}, 2, "--duration"},
		{[]string{"--models", "clf_tiny", "--cost-per-core-hour", "-1"}, 2, "--cost-per-core-hour"},
		{[]string{"--models", "clf_tiny", "--slice", ""}, 2, "flag -slice: empty column name"},
	} {
		// The flags under test come last: they override quickCandidates'.
		res := predictd(t, append(append(base, quickCandidates...), tc.args...)...)
		if res.code != tc.code || !strings.Contains(res.stderr, tc.want) {
			t.Errorf("candidates %s: exit %d, stderr %q; want exit %d naming %q", strings.Join(tc.args, " "), res.code, res.stderr, tc.code, tc.want)
		}
	}
}

// TestCandidatesParquetE2E: the Parquet copy of the holdout
// (testdata/gen/candidates_parquet.mjs, DuckDB) gives the CSV's quality
// numbers exactly, and the speed is measured over its rows too.
func TestCandidatesParquetE2E(t *testing.T) {
	repo := candidatesRepo(t, "clf_tiny", "clf_small")
	run := func(in string) candidates.Report {
		out := mustRun(t, append([]string{"candidates", "--repo", repo, "--models", "clf_tiny,clf_small", "--in", fixture.Path("candidates", in),
			"--label", "y", "--slice", "segment", "--json", "-"}, quickCandidates...)...)
		var r candidates.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v\n%s", in, err, out)
		}
		return r
	}
	csv, pq := run("holdout.csv"), run("holdout.parquet")
	if pq.BenchRows != 800 || csv.BenchRows != 800 {
		t.Errorf("bench rows: %d from Parquet, %d from CSV; want 800", pq.BenchRows, csv.BenchRows)
	}
	for i := range csv.Candidates {
		a, b := csv.Candidates[i].Quality, pq.Candidates[i].Quality
		if a.AUC != b.AUC || a.LogLoss != b.LogLoss || a.ECE != b.ECE || a.WorstSlice != b.WorstSlice || a.WorstSliceValue != b.WorstSliceValue || pq.Candidates[i].Rows != 800 {
			t.Errorf("%s: Parquet %+v, CSV %+v: want the same numbers", csv.Candidates[i].Label, b, a)
		}
	}
}

// TestCandidatesMulticlassCopiesE2E: two versions of one multiclass model
// (testdata/eval's) have tools/eval's macro AUC and log loss, and, equal in
// quality, neither dominates the other, whatever the noise makes of their
// speed within its own spread.
func TestCandidatesMulticlassCopiesE2E(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	for range 2 {
		mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("eval", "multiclass.model.json"), "--repo", repo, "--name", "mc")
	}
	holdout := fixture.Path("eval", "multiclass.holdout.csv")
	out := mustRun(t, append([]string{"candidates", "--repo", repo, "--models", "mc:1,mc:2", "--in", holdout, "--label", "y", "--json", "-"}, quickCandidates...)...)
	var r candidates.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	ev, err := eval.Run(context.Background(), eval.Options{Repo: repo, Model: "mc", In: holdout, Label: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != candidates.KindClassifier || ev.Task != eval.TaskMulticlass {
		t.Fatalf("kind %q, eval task %q; want classifier, multiclass", r.Kind, ev.Task)
	}
	for _, c := range r.Candidates {
		if !sameMetric(c.Quality.AUC, ev.Overall.AUC) || !sameMetric(c.Quality.LogLoss, ev.Overall.LogLoss) {
			t.Errorf("%s: AUC %v log loss %v, tools/eval %v %v", c.Label, c.Quality.AUC, c.Quality.LogLoss, ev.Overall.AUC, ev.Overall.LogLoss)
		}
		// Dominance by a copy needs one's slowest round to beat the
		// other's fastest on p99 or cost: check it is that rule.
		if len(c.DominatedBy) > 0 {
			o := r.Candidates[0]
			if o.Label == c.Label {
				o = r.Candidates[1]
			}
			if !(o.P99MaxMicros < c.P99MinMicros || o.RowsPerSecondMin > c.RowsPerSecondMax) {
				t.Errorf("%s dominated by %s within the noise: p99 %v–%v against %v–%v, rows/s %v–%v against %v–%v", c.Label, o.Label,
					c.P99MinMicros, c.P99MaxMicros, o.P99MinMicros, o.P99MaxMicros, c.RowsPerSecondMin, c.RowsPerSecondMax, o.RowsPerSecondMin, o.RowsPerSecondMax)
			}
		}
	}
	if r.Best < 0 {
		t.Errorf("no best without an SLO")
	}
}
