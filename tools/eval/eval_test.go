package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
)

const fixtures = "../../testdata/eval"

// repoWith imports testdata/eval/NAME.model.json into a new repository as
// model NAME version 1 and returns the repository.
func repoWith(t testing.TB, names ...string) string {
	t.Helper()
	repo := t.TempDir()
	for _, name := range names {
		imp, err := importer.ImportFile("xgboost", filepath.Join(fixtures, name+".model.json"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := model.Write(repo, name, imp, model.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// expected is NAME.expected.json: scikit-learn's evaluation of predictd's
// predictions of the holdout (testdata/gen/eval_oracle.py).
type expected struct {
	Task    string
	Rows    int64
	Overall map[string]*float64
	Slices  []struct {
		Column, Value string
		Rows          int64
		Metrics       map[string]*float64
	}
	Confusion [][]int64
	Curves    *struct {
		ROC         struct{ FPR, TPR, Thresholds []*float64 }
		PR          struct{ Precision, Recall, Thresholds []*float64 }
		Calibration struct {
			MeanPredicted    []*float64 `json:"mean_predicted"`
			FractionPositive []*float64 `json:"fraction_positive"`
			Count            []int64
		}
		ClassROC []struct {
			Class    int
			AUC      float64
			FPR, TPR []*float64
		} `json:"class_roc"`
		Regression *struct {
			MeanPredicted []*float64 `json:"mean_predicted"`
			MeanLabel     []*float64 `json:"mean_label"`
			Count         []int64
		}
	}
	Fairness *struct {
		Groups []struct {
			Value        string
			Rows         int64
			PositiveRate float64 `json:"positive_rate"`
			TPR          float64
		}
		DP float64 `json:"demographic_parity_difference"`
		EO float64 `json:"equal_opportunity_difference"`
	}
}

func loadExpected(t *testing.T, name string) *expected {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtures, name+".expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

func near(got float64, want *float64) bool {
	if want == nil {
		return math.IsNaN(got)
	}
	return math.Abs(got-*want) <= 1e-9*max(1, math.Abs(*want))
}

func show(w *float64) any {
	if w == nil {
		return "undefined (NaN)"
	}
	return *w
}

// checkMetrics compares every metric the oracle gives; want must have at
// least min of them.
func checkMetrics(t *testing.T, where string, got Metrics, want map[string]*float64, min int) {
	t.Helper()
	if len(want) < min {
		t.Fatalf("%s: the oracle gives %d metrics, want at least %d", where, len(want), min)
	}
	for name, w := range want {
		g, ok := got.Get(name)
		if !ok {
			t.Errorf("%s: no metric %q", where, name)
			continue
		}
		if !near(g, w) {
			t.Errorf("%s: %s = %v, want %v (scikit-learn)", where, name, g, show(w))
		}
	}
}

func series(t *testing.T, what string, got []float64, want []*float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d points, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Errorf("%s[%d] = %v, want %v", what, i, got[i], show(want[i]))
			return
		}
	}
}

func TestRunOracle(t *testing.T) {
	repo := repoWith(t, "binary", "multiclass", "tweedie")
	for _, c := range []struct {
		name, protected string
		minMetrics      int
	}{{"binary", "group", 11}, {"multiclass", "", 10}, {"tweedie", "", 5}} {
		t.Run(c.name, func(t *testing.T) {
			want := loadExpected(t, c.name)
			o := Options{Repo: repo, Model: c.name, In: filepath.Join(fixtures, c.name+".holdout.csv"), Label: "y",
				Slices: []string{"region", "segment"}, Protected: c.protected, Workers: 2, BatchRows: 100}
			rep, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Task != want.Task || rep.Rows != want.Rows || rep.Version != 1 || rep.Model != c.name {
				t.Fatalf("report for %s v%d: task %s, %d rows; want %s, %d rows", rep.Model, rep.Version, rep.Task, rep.Rows, want.Task, want.Rows)
			}
			checkMetrics(t, "overall", rep.Overall, want.Overall, c.minMetrics)
			if len(rep.Slices) != len(want.Slices) {
				t.Fatalf("%d slices, want %d", len(rep.Slices), len(want.Slices))
			}
			for i, w := range want.Slices {
				g := rep.Slices[i]
				where := w.Column + "=" + w.Value
				if g.Column != w.Column || g.Value != w.Value || g.Rows != w.Rows {
					t.Errorf("slice %d is %s=%s with %d rows, want %s with %d", i, g.Column, g.Value, g.Rows, where, w.Rows)
					continue
				}
				checkMetrics(t, where, g.Metrics, w.Metrics, c.minMetrics)
			}
			if !equal2(rep.Confusion, want.Confusion) {
				t.Errorf("confusion %v, want %v", rep.Confusion, want.Confusion)
			}
			if want.Curves == nil || rep.Curves == nil {
				t.Fatalf("curves %v, oracle's %v", rep.Curves, want.Curves)
			}
			switch c.name {
			case "binary":
				series(t, "roc fpr", rep.Curves.ROC.FPR, want.Curves.ROC.FPR)
				series(t, "roc tpr", rep.Curves.ROC.TPR, want.Curves.ROC.TPR)
				series(t, "roc thresholds", rep.Curves.ROC.Thresholds, want.Curves.ROC.Thresholds)
				series(t, "pr precision", rep.Curves.PR.Precision, want.Curves.PR.Precision)
				series(t, "pr recall", rep.Curves.PR.Recall, want.Curves.PR.Recall)
				series(t, "pr thresholds", rep.Curves.PR.Thresholds, want.Curves.PR.Thresholds)
				series(t, "calibration mean predicted", rep.Curves.Calibration.MeanPredicted, want.Curves.Calibration.MeanPredicted)
				series(t, "calibration fraction positive", rep.Curves.Calibration.FractionPositive, want.Curves.Calibration.FractionPositive)
			case "multiclass":
				if len(rep.Curves.ClassROC) != len(want.Curves.ClassROC) || len(want.Curves.ClassROC) != 4 {
					t.Fatalf("%d class ROC curves, want the oracle's %d (4)", len(rep.Curves.ClassROC), len(want.Curves.ClassROC))
				}
				for i, w := range want.Curves.ClassROC {
					g := rep.Curves.ClassROC[i]
					if g.Class != w.Class || !near(g.AUC, &w.AUC) {
						t.Errorf("class ROC %d: class %d AUC %v, want class %d AUC %v", i, g.Class, g.AUC, w.Class, w.AUC)
					}
					series(t, fmt.Sprintf("class %d roc fpr", w.Class), g.FPR, w.FPR)
					series(t, fmt.Sprintf("class %d roc tpr", w.Class), g.TPR, w.TPR)
				}
			case "tweedie":
				w := want.Curves.Regression
				if w == nil || len(w.Count) != 10 {
					t.Fatalf("the oracle's regression curve %v, want 10 bins", w)
				}
				series(t, "regression mean predicted", rep.Curves.Regression.MeanPredicted, w.MeanPredicted)
				series(t, "regression mean label", rep.Curves.Regression.MeanLabel, w.MeanLabel)
				if fmt.Sprint(rep.Curves.Regression.Count) != fmt.Sprint(w.Count) {
					t.Errorf("regression bin counts %v, want %v", rep.Curves.Regression.Count, w.Count)
				}
			}
			if want.Fairness != nil {
				f := rep.Fairness
				if f == nil || f.Column != "group" || len(f.Groups) != len(want.Fairness.Groups) {
					t.Fatalf("fairness %+v, want the groups of %q", f, "group")
				}
				for i, w := range want.Fairness.Groups {
					g := f.Groups[i]
					if g.Value != w.Value || g.Rows != w.Rows || !near(g.PositiveRate, &w.PositiveRate) || !near(g.TPR, &w.TPR) {
						t.Errorf("fairness group %+v, want %+v", g, w)
					}
				}
				if !near(f.DemographicParityDifference, &want.Fairness.DP) || !near(f.EqualOpportunityDifference, &want.Fairness.EO) {
					t.Errorf("fairness gaps %v, %v; want %v, %v", f.DemographicParityDifference, f.EqualOpportunityDifference, want.Fairness.DP, want.Fairness.EO)
				}
			} else if rep.Fairness != nil {
				t.Error("fairness without a protected column")
			}
			if len(rep.InputSHA256) != 64 {
				t.Errorf("input sha256 %q", rep.InputSHA256)
			}
		})
	}
}

func equal2(a, b [][]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

// TestPredictionsAreScores: the predictions Run judged are the ones
// `predictd score` wrote when the oracle ran (testdata/eval/NAME.predictd.csv),
// bit for bit, so the oracle judged the same numbers.
func TestPredictionsAreScores(t *testing.T) {
	repo := repoWith(t, "binary", "multiclass", "tweedie")
	for _, name := range []string{"binary", "multiclass", "tweedie"} {
		l, err := model.Open(repo, name, 0)
		if err != nil {
			t.Fatal(err)
		}
		o := Options{In: filepath.Join(fixtures, name+".holdout.csv")}
		got, _, err := predict(context.Background(), l, &o)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(fixtures, name+".predictd.csv"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")[1:]
		var want []string
		for _, line := range lines {
			want = append(want, strings.Split(line, ",")...)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d predictions, the fixture has %d", name, len(got), len(want))
		}
		for i, w := range want {
			var wv float64
			if err := json.Unmarshal([]byte(w), &wv); err != nil {
				t.Fatal(err)
			}
			if got[i] != wv {
				t.Fatalf("%s: prediction %d = %v, the fixture's %v: regenerate testdata/eval with testdata/gen/eval_oracle.py", name, i, got[i], wv)
			}
		}
	}
}
