package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/htmlpage"
	"github.com/predictd/predictd/model"
)

func runFixture(t *testing.T, name string, slices []string, protected string) *Report {
	t.Helper()
	rep, err := Run(context.Background(), Options{Repo: repoWith(t, name), Model: name, In: filepath.Join(fixtures, name+".holdout.csv"),
		Label: "y", Slices: slices, Protected: protected})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestWriteText(t *testing.T) {
	rep := runFixture(t, "binary", []string{"region", "segment"}, "group")
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"binary v1, binary: 1500 rows of ", "threshold 0.5, 10 calibration bins",
		"Overall", "     auc   0.7665\n", "Confusion matrix", "By region", "By segment", "(missing)", "spread",
		"Fairness by group", "demographic parity difference 0.04097, equal opportunity difference 0.0277",
		"auc: best ", "worst 0.7481 (west)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	// The vip segment is all one class: its AUC is undefined.
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "vip" && f[2] != "–" {
			t.Errorf("vip's AUC shows %q, want – (undefined): %s", f[2], line)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	rep := runFixture(t, "binary", []string{"segment"}, "")
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"auc": null`) {
		t.Error("JSON lacks the vip slice's undefined AUC as null")
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Overall.AUC != rep.Overall.AUC || back.Rows != rep.Rows || len(back.Slices) != 3 || !math.IsNaN(back.Slices[2].Metrics.AUC) ||
		back.Slices[2].Value != "vip" || !math.IsNaN(back.Overall.RMSE) || back.Slices[0].Metrics.LogLoss != rep.Slices[0].Metrics.LogLoss {
		t.Errorf("JSON read back differs: %+v", back.Slices)
	}
	if err := json.Unmarshal([]byte(`{"overall":{"nope":1}}`), &back); err == nil {
		t.Error("an unknown metric name read without an error")
	}
}

func TestWorstSlice(t *testing.T) {
	rep := runFixture(t, "binary", []string{"region", "segment"}, "")
	s, ok := rep.WorstSlice("AUC")
	if !ok || s.Column != "region" || s.Value != "west" {
		t.Errorf("WorstSlice(AUC) = %s=%s %v, want region=west (lowest defined AUC; vip's is undefined)", s.Column, s.Value, ok)
	}
	for _, o := range rep.Slices {
		if !math.IsNaN(o.Metrics.AUC) && o.Metrics.AUC < s.Metrics.AUC {
			t.Errorf("slice %s=%s has a lower AUC %v", o.Column, o.Value, o.Metrics.AUC)
		}
	}
	s, ok = rep.WorstSlice("logloss")
	for _, o := range rep.Slices {
		if o.Metrics.LogLoss > s.Metrics.LogLoss {
			t.Errorf("WorstSlice(logloss) = %s=%s (%v), but %s=%s has %v", s.Column, s.Value, s.Metrics.LogLoss, o.Column, o.Value, o.Metrics.LogLoss)
		}
	}
	if !ok {
		t.Error("WorstSlice(logloss) found nothing")
	}
	if _, ok := rep.WorstSlice("rmse"); ok {
		t.Error("WorstSlice(rmse) of a classifier found a slice")
	}
	if _, ok := rep.WorstSlice("bogus"); ok {
		t.Error("WorstSlice(bogus) found a slice")
	}
	// Spreads agree with the slices.
	sp, ok := rep.spread("region", "auc")
	if !ok || sp.WorstValue != "west" || sp.Spread != sp.Best-sp.Worst {
		t.Errorf("region auc spread %+v", sp)
	}
}

func TestWriteHTML(t *testing.T) {
	for _, c := range []struct {
		name      string
		protected string
		plots     int
		want      []string
	}{
		{"binary", "group", 4, []string{"ROC curve", "Precision-recall curve", "Calibration (10 uniform bins)", "auc by slice", "Fairness by group", `class="worst"`, "Confusion matrix"}},
		{"multiclass", "", 2, []string{"One-vs-rest ROC curves", "class 3, AUC", "auc by slice", "f1_macro", "Confusion matrix"}},
		{"tweedie", "", 2, []string{"Predicted vs actual (10 bins of equal rows)", "rmse by slice", "tweedie_deviance"}},
	} {
		rep := runFixture(t, c.name, []string{"region", "segment"}, c.protected)
		var b bytes.Buffer
		if err := rep.WriteHTML(&b); err != nil {
			t.Fatal(err)
		}
		n, err := htmlpage.Check(b.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n["svg"] != c.plots || n["table"] < 3 {
			t.Errorf("%s: %d plots and %d tables, want %d plots and at least 3 tables", c.name, n["svg"], n["table"], c.plots)
		}
		for _, w := range append(c.want, "By region", "By segment", "(missing)", `<tr class="spread"><td>spread</td>`) {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: page lacks %q", c.name, w)
			}
		}
	}
}

func TestRecord(t *testing.T) {
	repo := repoWith(t, "binary")
	rep, err := Run(context.Background(), Options{Repo: repo, Model: "binary", In: filepath.Join(fixtures, "binary.holdout.csv"),
		Label: "y", Slices: []string{"segment"}, Protected: "group"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created.Location() != time.UTC || rep.Created.Nanosecond() != 0 || time.Since(rep.Created) > time.Hour {
		t.Errorf("Created %v, want now in UTC, whole seconds", rep.Created)
	}
	dir, err := rep.Record(repo, "test-version")
	if err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "binary", 1)
	if err != nil {
		t.Fatalf("open after recording: %v", err)
	}
	if dir != l.Dir {
		t.Errorf("recorded in %s, the version is %s", dir, l.Dir)
	}
	rec, ok, err := ReadRecorded(l.Manifest)
	if err != nil || !ok {
		t.Fatalf("ReadRecorded: %v %v", ok, err)
	}
	if rec.Overall.AUC != rep.Overall.AUC || rec.Rows != 1500 || rec.InputSHA256 != rep.InputSHA256 || len(rec.Slices) != 3 ||
		!math.IsNaN(rec.Slices[2].Metrics.AUC) || rec.Fairness == nil || rec.Fairness.DemographicParityDifference != rep.Fairness.DemographicParityDifference {
		t.Errorf("recorded %+v, want the report's numbers", rec)
	}
	var lineage struct{ Evaluations []model.EvaluationLineage }
	if err := json.Unmarshal(l.Manifest.Lineage, &lineage); err != nil || len(lineage.Evaluations) != 1 {
		t.Fatalf("lineage %s: %v", l.Manifest.Lineage, err)
	}
	if e := lineage.Evaluations[0]; e.InputSHA256 != rep.InputSHA256 || e.Rows != 1500 || e.Label != "y" || e.PredictdVersion != "test-version" ||
		!e.Created.Equal(rep.Created) || e.Input != rep.Input || e.Tool != "predictd eval" {
		t.Errorf("lineage entry %+v", e)
	}
	// The recorded sha256 is the file's.
	sum, err := fileSHA256(filepath.Join(fixtures, "binary.holdout.csv"))
	if err != nil || sum != rec.InputSHA256 {
		t.Errorf("sha256 %s, file's %s (%v)", rec.InputSHA256, sum, err)
	}
}

// TestWorstSliceTiesAndDirection on a made-up report.
func TestWorstSliceTiesAndDirection(t *testing.T) {
	mk := func(col, v string, auc, rmse float64) SliceReport {
		m := nanMetrics()
		m.AUC, m.RMSE = auc, rmse
		return SliceReport{Column: col, Value: v, Metrics: m}
	}
	r := &Report{Slices: []SliceReport{
		mk("a", "x", 0.7, math.NaN()), mk("a", "y", 0.6, 3), mk("b", "z", 0.6, 3), mk("b", "w", math.NaN(), 1),
	}}
	if s, ok := r.WorstSlice("auc"); !ok || s.Value != "y" {
		t.Errorf("WorstSlice(auc) = %s, want y (the lowest, first of a tie)", s.Value)
	}
	if s, ok := r.WorstSlice("rmse"); !ok || s.Value != "y" {
		t.Errorf("WorstSlice(rmse) = %s, want y (the highest, first of a tie)", s.Value)
	}
	if _, ok := r.WorstSlice("r2"); ok {
		t.Error("WorstSlice(r2) found a slice where every r2 is NaN")
	}
	r.Slices[0].Metrics.MAE, r.Slices[1].Metrics.MAE = math.Inf(1), math.NaN()
	sp := spreads("a", r.Slices[:2])
	if len(sp) != 2 || sp[0].Metric != "auc" || sp[0].Best != 0.7 || sp[0].BestValue != "x" || sp[0].Worst != 0.6 || sp[0].WorstValue != "y" ||
		math.Abs(sp[0].Spread-0.1) > 1e-15 || sp[1].Metric != "rmse" || sp[1].Spread != 0 {
		t.Errorf("spreads %+v: want auc 0.7 (x) to 0.6 (y), rmse one value", sp)
	}
}
