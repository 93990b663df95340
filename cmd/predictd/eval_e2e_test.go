package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/htmlpage"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/tools/eval"
)

// evalFixture is a file of testdata/eval (testdata/gen/eval_oracle.py).
func evalFixture(name string) string { return filepath.Join("..", "..", "testdata", "eval", name) }

// TestEvalE2E runs the real binary: import the oracle's binary model, then
// predictd eval on its holdout as CSV and as Parquet with slices, a
// protected column, --json, --html and --record. The numbers equal
// scikit-learn's on predictd's predictions (binary.expected.json) within
// 1e-9; the recorded version still opens, scores and describes itself.
func TestEvalE2E(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", evalFixture("binary.model.json"), "--repo", repo, "--name", "fraud")
	out := t.TempDir()
	jsonPath, htmlPath := filepath.Join(out, "eval.json"), filepath.Join(out, "eval.html")
	r := predictd(t, "eval", "--repo", repo, "--model", "fraud", "--in", evalFixture("binary.holdout.csv"), "--label", "y",
		"--slice", "region", "--slice", "segment", "--protected", "group", "--json", jsonPath, "--html", htmlPath, "--record")
	if r.code != 0 {
		t.Fatalf("eval: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"fraud v1, binary: 1500 rows", "By region", "By segment", "Fairness by group", "demographic parity difference 0.04097"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "recorded in "+filepath.Join(repo, "fraud", "1")) {
		t.Errorf("stderr %q: want where it recorded", r.stderr)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep eval.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	var want struct {
		Overall map[string]*float64
		Slices  []struct {
			Column, Value string
			Metrics       map[string]*float64
		}
		Fairness struct {
			DP float64 `json:"demographic_parity_difference"`
			EO float64 `json:"equal_opportunity_difference"`
		}
	}
	exp, err := os.ReadFile(evalFixture("binary.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(exp, &want); err != nil {
		t.Fatal(err)
	}
	near := func(what string, got float64, w *float64) {
		t.Helper()
		if w == nil && !math.IsNaN(got) || w != nil && math.Abs(got-*w) > 1e-9 {
			t.Errorf("%s = %v, want %v (scikit-learn)", what, got, w)
		}
	}
	if len(want.Overall) < 11 || len(rep.Slices) != len(want.Slices) {
		t.Fatalf("%d overall metrics, %d slices; want 11 and %d", len(want.Overall), len(rep.Slices), len(want.Slices))
	}
	for name, w := range want.Overall {
		g, _ := rep.Overall.Get(name)
		near("overall "+name, g, w)
	}
	for i, s := range want.Slices {
		for name, w := range s.Metrics {
			g, _ := rep.Slices[i].Metrics.Get(name)
			near(s.Column+"="+s.Value+" "+name, g, w)
		}
	}
	near("demographic parity difference", rep.Fairness.DemographicParityDifference, &want.Fairness.DP)
	near("equal opportunity difference", rep.Fairness.EqualOpportunityDifference, &want.Fairness.EO)

	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := htmlpage.Check(page); err != nil || n["svg"] != 4 {
		t.Errorf("page: %v, %d plots; want a well-formed self-contained page with 4", err, n["svg"])
	}

	// The recorded version opens, scores and describes itself; its
	// manifest holds the numbers and the lineage.
	l, err := model.Open(repo, "fraud", 1)
	if err != nil {
		t.Fatalf("open after --record: %v", err)
	}
	rec, ok, err := eval.ReadRecorded(l.Manifest)
	if err != nil || !ok || rec.Overall.AUC != rep.Overall.AUC || rec.InputSHA256 != rep.InputSHA256 || len(rec.Slices) != len(rep.Slices) {
		t.Errorf("recorded %+v (%v, %v), want the report's numbers", rec, ok, err)
	}
	var lineage struct{ Evaluations []model.EvaluationLineage }
	if err := json.Unmarshal(l.Manifest.Lineage, &lineage); err != nil || len(lineage.Evaluations) != 1 ||
		lineage.Evaluations[0].Rows != 1500 || lineage.Evaluations[0].Label != "y" || lineage.Evaluations[0].InputSHA256 != rep.InputSHA256 {
		t.Errorf("lineage %s: %v", l.Manifest.Lineage, err)
	}
	mustRun(t, "inspect", "--repo", repo, "--model", "fraud", "--json")
	if desc := mustRun(t, "inspect", "--repo", repo, "--model", "fraud"); !strings.Contains(desc, "evaluation") || !strings.Contains(desc, "1500 rows of ") || !strings.Contains(desc, "(label y)") {
		t.Errorf("inspect does not show the recorded evaluation:\n%s", desc)
	}
	scored := filepath.Join(out, "scored.csv")
	mustRun(t, "score", "--repo", repo, "--model", "fraud", "--in", evalFixture("binary.holdout.csv"), "--out", scored)
	agree(t, scored, evalFixture("binary.predictd.csv"), 0)

	// --json - prints the report instead of the table.
	var viaStdout eval.Report
	if err := json.Unmarshal([]byte(mustRun(t, "eval", "--repo", repo, "--model", "fraud", "--in", evalFixture("binary.holdout.csv"), "--label", "y", "--json", "-")), &viaStdout); err != nil {
		t.Errorf("--json -: stdout is not the JSON report: %v", err)
	} else if viaStdout.Overall.AUC != rep.Overall.AUC {
		t.Errorf("--json -: AUC %v, want %v", viaStdout.Overall.AUC, rep.Overall.AUC)
	}

	// The same rows as Parquet (written by DuckDB) give the same report.
	pqJSON := filepath.Join(out, "pq.json")
	mustRun(t, "eval", "--repo", repo, "--model", "fraud", "--in", evalFixture("binary.holdout.parquet"), "--label", "y",
		"--slice", "region,segment", "--protected", "group", "--json", pqJSON)
	var pq eval.Report
	if data, err := os.ReadFile(pqJSON); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(data, &pq); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(struct {
		O eval.Metrics
		S []eval.SliceReport
		F *eval.Fairness
	}{rep.Overall, rep.Slices, rep.Fairness})
	b, _ := json.Marshal(struct {
		O eval.Metrics
		S []eval.SliceReport
		F *eval.Fairness
	}{pq.Overall, pq.Slices, pq.Fairness})
	if string(a) != string(b) {
		t.Errorf("Parquet's report differs from CSV's:\n%s\n%s", b, a)
	}
}

// TestEvalE2EErrors: usage errors exit 2, bad input exits 1 with a message
// naming the file and the column; nothing is written.
func TestEvalE2EErrors(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", evalFixture("binary.model.json"), "--repo", repo, "--name", "fraud")
	out := t.TempDir()
	htmlPath := filepath.Join(out, "eval.html")
	in := evalFixture("binary.holdout.csv")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--in", in}, 2, "-label"},
		{[]string{"--in", in, "--label", "y", "--threshold", "1.5"}, 2, "Threshold is 1.5"},
		{[]string{"--in", in, "--label", "y", "--threshold", "0"}, 2, "--threshold 0"},
		{[]string{"--in", in, "--label", "y", "--bins", "0"}, 2, "--bins"},
		{[]string{"--in", in, "--label", "y", "--slice", ""}, 2, "empty column name"},
		{[]string{"--in", in, "--label", "label", "--html", htmlPath}, 1, `binary.holdout.csv: no label column "label"; the columns are: f0, f1, f2, f3, f4, f5, y, region, segment, group`},
		{[]string{"--in", in, "--label", "y", "--slice", "country", "--html", htmlPath}, 1, `no slice column "country"`},
		{[]string{"--in", in, "--label", "region"}, 1, `binary.holdout.csv:2: column "region": "east" is not a finite number`},
	} {
		r := predictd(t, append([]string{"eval", "--repo", repo, "--model", "fraud"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("eval %v: exit %d, stderr %q; want exit %d and %q", c.args, r.code, r.stderr, c.code, c.want)
		}
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("failed runs left %v in the output folder", ents)
	}
	// Nothing was recorded.
	l, err := model.Open(repo, "fraud", 1)
	if err != nil || l.Manifest.Metrics != nil {
		t.Errorf("manifest after failed runs: metrics %s, %v", l.Manifest.Metrics, err)
	}
}
