package quality

import (
	"encoding/json"
	"math"
	"os"
	"sort"
	"testing"
)

// oracleCase is one case of testdata/eval/metrics.json (made by
// testdata/gen/eval_oracle.py with scikit-learn 1.2.1): null numbers are
// those scikit-learn refuses.
type oracleCase struct {
	Name      string
	Kind      string
	K         int
	Y         []float64
	P         []float64
	Threshold float64
	Bins      int
	Want      map[string]json.RawMessage
	Confusion [][]int64
	Pred      []int
	Groups    []string
	Fairness  *struct {
		Groups []struct {
			Value        string
			Rows         int64
			PositiveRate *float64 `json:"positive_rate"`
			TPR          *float64
		}
		DP *float64 `json:"demographic_parity_difference"`
		EO *float64 `json:"equal_opportunity_difference"`
	}
	Curves *struct {
		ROC         struct{ FPR, TPR, Thresholds []*float64 }
		PR          struct{ Precision, Recall, Thresholds []*float64 }
		Calibration *struct {
			MeanPredicted    []*float64 `json:"mean_predicted"`
			FractionPositive []*float64 `json:"fraction_positive"`
			Count            []int64
		}
	}
}

func loadCases(t *testing.T) []oracleCase {
	t.Helper()
	data, err := os.ReadFile("../../testdata/eval/metrics.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Sklearn string
		Cases   []oracleCase
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Sklearn != "1.2.1" || len(f.Cases) < 20 {
		t.Fatalf("metrics.json: scikit-learn %q, %d cases; want 1.2.1 and the oracle's cases", f.Sklearn, len(f.Cases))
	}
	return f.Cases
}

const tol = 1e-9

// close reports whether got equals want (nil: NaN) within tol, relative
// above 1.
func near(got float64, want *float64) bool {
	if want == nil {
		return math.IsNaN(got)
	}
	return math.Abs(got-*want) <= tol*max(1, math.Abs(*want))
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func (c *oracleCase) want(t *testing.T, key string) *float64 {
	t.Helper()
	raw, ok := c.Want[key]
	if !ok {
		t.Fatalf("%s: the oracle has no %q", c.Name, key)
	}
	var v *float64
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %s: %v", c.Name, key, err)
	}
	return v
}

func check(t *testing.T, c *oracleCase, key string, got float64) {
	t.Helper()
	if w := c.want(t, key); !near(got, w) {
		t.Errorf("%s: %s = %v, want %v (scikit-learn)", c.Name, key, got, show(w))
	}
}

func show(w *float64) any {
	if w == nil {
		return "undefined (NaN)"
	}
	return *w
}

func checkSeries(t *testing.T, name, what string, got []float64, want []*float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %s has %d points, want %d", name, what, len(got), len(want))
		return
	}
	for i := range got {
		if !near(got[i], want[i]) {
			t.Errorf("%s: %s[%d] = %v, want %v", name, what, i, got[i], show(want[i]))
			return
		}
	}
}

func TestBinaryOracle(t *testing.T) {
	n := 0
	for _, c := range loadCases(t) {
		if c.Kind != "binary" {
			continue
		}
		n++
		y, p := c.Y, c.P
		check(t, &c, "auc", ROCAUC(y, p))
		check(t, &c, "pr_auc", AveragePrecision(y, p))
		check(t, &c, "log_loss", LogLoss(y, p))
		check(t, &c, "brier", Brier(y, p))
		cm := BinaryConfusion(y, p, c.Threshold)
		check(t, &c, "accuracy", cm.Accuracy())
		check(t, &c, "precision", cm.Precision())
		check(t, &c, "recall", cm.Recall())
		check(t, &c, "f1", cm.F1())
		check(t, &c, "positive_rate", cm.PositiveRate())
		check(t, &c, "base_rate", cm.BaseRate())
		if got, want := [][]int64{{cm.TN, cm.FP}, {cm.FN, cm.TP}}, c.Confusion; !equal2(got, want) {
			t.Errorf("%s: confusion %v, want %v", c.Name, got, want)
		}
		cal, ok := CalibrationCurve(y, p, c.Bins)
		if !ok {
			t.Errorf("%s: CalibrationCurve refused the scores", c.Name)
		}
		check(t, &c, "ece", cal.ECE())
		fpr, tpr, thr := ROCCurve(y, p)
		checkSeries(t, c.Name, "roc fpr", fpr, c.Curves.ROC.FPR)
		checkSeries(t, c.Name, "roc tpr", tpr, c.Curves.ROC.TPR)
		checkSeries(t, c.Name, "roc thresholds", thr, c.Curves.ROC.Thresholds)
		prec, rec, pthr := PRCurve(y, p)
		checkSeries(t, c.Name, "pr precision", prec, c.Curves.PR.Precision)
		checkSeries(t, c.Name, "pr recall", rec, c.Curves.PR.Recall)
		checkSeries(t, c.Name, "pr thresholds", pthr, c.Curves.PR.Thresholds)
		if cc := c.Curves.Calibration; cc != nil {
			checkSeries(t, c.Name, "calibration mean predicted", cal.MeanPredicted, cc.MeanPredicted)
			checkSeries(t, c.Name, "calibration fraction positive", cal.FractionPositive, cc.FractionPositive)
			if len(cal.Count) != len(cc.Count) {
				t.Errorf("%s: calibration counts %v, want %v", c.Name, cal.Count, cc.Count)
			} else {
				for i := range cc.Count {
					if cal.Count[i] != cc.Count[i] {
						t.Errorf("%s: calibration counts %v, want %v", c.Name, cal.Count, cc.Count)
						break
					}
				}
			}
		}
		if c.Fairness != nil {
			checkFairness(t, &c)
		}
	}
	if n < 10 {
		t.Fatalf("%d binary cases, want the oracle's 11", n)
	}
}

// checkFairness computes the groups' rates with BinaryConfusion and the
// gaps with Gap, as tools/eval does, against pandas groupby + recall_score.
func checkFairness(t *testing.T, c *oracleCase) {
	t.Helper()
	byGroup := map[string][2][]float64{}
	for i, g := range c.Groups {
		v := byGroup[g]
		v[0], v[1] = append(v[0], c.Y[i]), append(v[1], c.P[i])
		byGroup[g] = v
	}
	names := make([]string, 0, len(byGroup))
	for g := range byGroup {
		names = append(names, g)
	}
	sort.Strings(names)
	var rates, tprs []float64
	for i, g := range names {
		cm := BinaryConfusion(byGroup[g][0], byGroup[g][1], c.Threshold)
		w := c.Fairness.Groups[i]
		if w.Value != g || w.Rows != cm.Rows() || !near(cm.PositiveRate(), w.PositiveRate) || !near(cm.Recall(), w.TPR) {
			t.Errorf("%s: group %s: rows %d, positive rate %v, TPR %v; want %s %d %v %v", c.Name, g, cm.Rows(), cm.PositiveRate(), cm.Recall(), w.Value, w.Rows, show(w.PositiveRate), show(w.TPR))
		}
		rates, tprs = append(rates, cm.PositiveRate()), append(tprs, cm.Recall())
	}
	if got := Gap(rates); !near(got, c.Fairness.DP) {
		t.Errorf("%s: demographic parity difference %v, want %v", c.Name, got, show(c.Fairness.DP))
	}
	if got := Gap(tprs); !near(got, c.Fairness.EO) {
		t.Errorf("%s: equal opportunity difference %v, want %v", c.Name, got, show(c.Fairness.EO))
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

func TestMulticlassOracle(t *testing.T) {
	n := 0
	for _, c := range loadCases(t) {
		if c.Kind != "multiclass" {
			continue
		}
		n++
		y := make([]int, len(c.Y))
		for i, v := range c.Y {
			y[i] = int(v)
		}
		pred := Argmax(nil, c.P, c.K)
		for i := range pred {
			if pred[i] != c.Pred[i] {
				t.Errorf("%s: Argmax row %d = %d, want numpy's %d", c.Name, i, pred[i], c.Pred[i])
			}
		}
		if cm := MulticlassConfusion(y, pred, c.K); !equal2(cm, c.Confusion) {
			t.Errorf("%s: confusion %v, want %v", c.Name, cm, c.Confusion)
		}
		check(t, &c, "accuracy", MulticlassAccuracy(y, pred))
		check(t, &c, "log_loss", MulticlassLogLoss(y, c.P, c.K))
		a := Averages(MulticlassConfusion(y, pred, c.K))
		check(t, &c, "precision_macro", a.PrecisionMacro)
		check(t, &c, "recall_macro", a.RecallMacro)
		check(t, &c, "f1_macro", a.F1Macro)
		check(t, &c, "precision_weighted", a.PrecisionWeighted)
		check(t, &c, "recall_weighted", a.RecallWeighted)
		check(t, &c, "f1_weighted", a.F1Weighted)
		macro, weighted := OVRAUC(y, c.P, c.K)
		check(t, &c, "auc", macro)
		check(t, &c, "auc_weighted", weighted)
	}
	if n != 4 {
		t.Fatalf("%d multiclass cases, want the oracle's 4", n)
	}
}

func TestRegressionOracle(t *testing.T) {
	n := 0
	for _, c := range loadCases(t) {
		if c.Kind != "regression" {
			continue
		}
		n++
		y, p := c.Y, c.P
		check(t, &c, "rmse", RMSE(y, p))
		check(t, &c, "mae", MAE(y, p))
		check(t, &c, "r2", R2(y, p))
		check(t, &c, "poisson_deviance", PoissonDeviance(y, p))
		check(t, &c, "tweedie_deviance", TweedieDeviance(y, p, 1.5))
		var powers map[string]*float64
		if err := json.Unmarshal(c.Want["tweedie"], &powers); err != nil || len(powers) != 6 {
			t.Fatalf("%s: tweedie powers %v: %v", c.Name, powers, err)
		}
		for s, w := range powers {
			var q float64
			if err := json.Unmarshal([]byte(s), &q); err != nil {
				t.Fatal(err)
			}
			if got := TweedieDeviance(y, p, q); !near(got, w) {
				t.Errorf("%s: TweedieDeviance(power %v) = %v, want %v", c.Name, q, got, show(w))
			}
		}
	}
	if n != 7 {
		t.Fatalf("%d regression cases, want the oracle's 7", n)
	}
}
