package quality

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// fairnessFile is testdata/quality/fairness.json, made by
// testdata/gen/quality_fairness_oracle.py with scikit-learn 1.2.1. Group
// and slice values are JSON strings or integers.
type fairnessFile struct {
	Sklearn  string
	Fairness []struct {
		Name      string
		Y, P      []float64
		Groups    []any
		Threshold float64
		Want      struct {
			Groups []struct {
				Group         any
				Rows          int64
				Positives     int64
				SelectionRate *float64 `json:"selection_rate"`
				TPR           *float64
			}
			DP          *float64 `json:"demographic_parity_difference"`
			EO          *float64 `json:"equal_opportunity_difference"`
			NoPositives []any    `json:"no_positives"`
		}
	}
	Slices []struct {
		Name   string
		Y, P   []float64
		Slices []any
		Want   []struct {
			Slice   any
			Rows    int64
			ROCAUC  *float64 `json:"roc_auc"`
			LogLoss *float64 `json:"log_loss"`
			Brier   *float64
			ECE     *float64
		}
	}
	CBPE []struct {
		Name string
		P    []float64
		Want struct {
			AUC       *float64
			Accuracy  map[string]*float64
			Confusion map[string]struct{ TN, FP, FN, TP float64 }
		}
	}
	Isotonic []struct {
		Name        string
		Y, P, Probe []float64
		Want        struct {
			Calibrated []*float64
			AUC        *float64
		}
	}
}

func loadFairness(t *testing.T) *fairnessFile {
	t.Helper()
	data, err := os.ReadFile("../../testdata/quality/fairness.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fairnessFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("testdata/quality/fairness.json: %v", err)
	}
	if f.Sklearn != "1.2.1" || len(f.Fairness) < 5 || len(f.Slices) < 3 || len(f.CBPE) < 7 {
		t.Fatalf("fairness.json: scikit-learn %q, %d/%d/%d cases; want 1.2.1 and the oracle's 5/3/7",
			f.Sklearn, len(f.Fairness), len(f.Slices), len(f.CBPE))
	}
	return &f
}

// keys converts JSON group values to strings or ints: ok is false when
// they are neither all strings nor all integers.
func keys(vs []any) (strs []string, ints []int, ok bool) {
	for _, v := range vs {
		switch v := v.(type) {
		case string:
			strs = append(strs, v)
		case float64:
			ints = append(ints, int(v))
		}
	}
	return strs, ints, len(strs) == len(vs) || len(ints) == len(vs)
}

// checkFairnessOracle compares GroupFairness of one key type to the
// oracle's groups (given as the same key type).
func checkFairnessOracle[G cmp.Ordered](t *testing.T, name string, got Fairness[G], wantGroups []G, f *fairnessFile, k int) {
	t.Helper()
	w := f.Fairness[k].Want
	if len(got.Groups) != len(w.Groups) {
		t.Fatalf("%s: %d groups, want %d", name, len(got.Groups), len(w.Groups))
	}
	for i, g := range got.Groups {
		wg := w.Groups[i]
		if g.Group != wantGroups[i] || g.Rows != wg.Rows || g.Positives != wg.Positives ||
			!near(g.SelectionRate, wg.SelectionRate) || !near(g.TPR, wg.TPR) {
			t.Errorf("%s: group %v = rows %d positives %d selection %v TPR %v; want %v %d %d %v %v",
				name, g.Group, g.Rows, g.Positives, g.SelectionRate, g.TPR,
				wantGroups[i], wg.Rows, wg.Positives, show(wg.SelectionRate), show(wg.TPR))
		}
	}
	if !near(got.DemographicParityDifference, w.DP) {
		t.Errorf("%s: demographic parity difference = %v, want %v", name, got.DemographicParityDifference, show(w.DP))
	}
	if !near(got.EqualOpportunityDifference, w.EO) {
		t.Errorf("%s: equal opportunity difference = %v, want %v", name, got.EqualOpportunityDifference, show(w.EO))
	}
	if gotNP, wantNP := fmt.Sprint(got.NoPositives), fmt.Sprint(w.NoPositives); gotNP != wantNP && !(len(got.NoPositives) == 0 && len(w.NoPositives) == 0) {
		t.Errorf("%s: groups without positives %s, want %s", name, gotNP, wantNP)
	}
}

func TestGroupFairnessOracle(t *testing.T) {
	f := loadFairness(t)
	var sawInts, sawStrings bool
	for k, c := range f.Fairness {
		strs, ints, ok := keys(c.Groups)
		wantStrs, wantInts, ok2 := keys(func() []any {
			var v []any
			for _, g := range c.Want.Groups {
				v = append(v, g.Group)
			}
			return v
		}())
		if !ok || !ok2 {
			t.Fatalf("%s: group values of mixed types", c.Name)
		}
		if strs != nil {
			sawStrings = true
			checkFairnessOracle(t, c.Name, GroupFairness(c.Y, c.P, strs, c.Threshold), wantStrs, f, k)
		} else {
			sawInts = true
			checkFairnessOracle(t, c.Name, GroupFairness(c.Y, c.P, ints, c.Threshold), wantInts, f, k)
		}
	}
	if !sawInts || !sawStrings {
		t.Errorf("oracle cases: integer groups %v, string groups %v; want both", sawInts, sawStrings)
	}
}

// TestGroupFairnessAgreesWithEval: GroupFairness gives the gaps of
// eval_oracle.py's fairness case (testdata/eval/metrics.json), which
// tools/eval reports by calling it.
func TestGroupFairnessAgreesWithEval(t *testing.T) {
	for _, c := range loadCases(t) {
		if c.Fairness == nil || c.Name != "random_ties" {
			continue
		}
		got := GroupFairness(c.Y, c.P, c.Groups, c.Threshold)
		if !near(got.DemographicParityDifference, c.Fairness.DP) || !near(got.EqualOpportunityDifference, c.Fairness.EO) {
			t.Errorf("%s: differences %v %v, want %v %v", c.Name, got.DemographicParityDifference,
				got.EqualOpportunityDifference, show(c.Fairness.DP), show(c.Fairness.EO))
		}
		return
	}
	t.Fatal("metrics.json has no random_ties fairness case")
}

func TestGroupFairnessEdges(t *testing.T) {
	got := GroupFairness[string](nil, nil, nil, 0.5)
	if len(got.Groups) != 0 || !math.IsNaN(got.DemographicParityDifference) || !math.IsNaN(got.EqualOpportunityDifference) {
		t.Errorf("GroupFairness(no rows) = %+v, want no groups and NaN differences", got)
	}
	// No group has a positive row: selection rates still compare.
	got = GroupFairness([]float64{0, 0, 0}, []float64{0.9, 0.1, 0.2}, []string{"b", "a", "b"}, 0.5)
	if got.DemographicParityDifference != 0.5 || got.EqualOpportunityDifference != 0 ||
		got.Groups[0].TPR != 0 || !slices.Equal(got.NoPositives, []string{"a", "b"}) {
		t.Errorf("GroupFairness(all negative) = %+v, want DP 0.5, TPRs 0 and EO 0 (scikit-learn's zero_division), NoPositives [a b]", got)
	}
	// A NaN score is predicted negative.
	gi := GroupFairness([]float64{1, 1}, []float64{math.NaN(), 0.7}, []int{1, 2}, 0.5)
	if gi.Groups[0].TPR != 0 || gi.Groups[1].TPR != 1 || gi.EqualOpportunityDifference != 1 {
		t.Errorf("GroupFairness(NaN score) = %+v, want TPR 0 and 1, EO 1", gi)
	}
	defer func() {
		if recover() == nil {
			t.Error("GroupFairness with a short group slice did not panic")
		}
	}()
	GroupFairness([]float64{1}, []float64{1}, []int{}, 0.5)
}

// TestGroupedOrderIgnoresRowOrder: shuffling the rows leaves
// GroupFairness's groups and BySlice's slices in the same ascending order
// with the same counts.
func TestGroupedOrderIgnoresRowOrder(t *testing.T) {
	c := loadFairness(t).Fairness[0]
	strs, _, _ := keys(c.Groups)
	y, p := slices.Clone(c.Y), slices.Clone(c.P)
	rng := rand.New(rand.NewPCG(3, 3))
	rng.Shuffle(len(y), func(i, j int) {
		y[i], y[j] = y[j], y[i]
		p[i], p[j] = p[j], p[i]
		strs[i], strs[j] = strs[j], strs[i]
	})
	orig, _, _ := keys(c.Groups)
	a, b := GroupFairness(c.Y, c.P, orig, c.Threshold), GroupFairness(y, p, strs, c.Threshold)
	for i := range a.Groups {
		if a.Groups[i].Group != b.Groups[i].Group || a.Groups[i].Rows != b.Groups[i].Rows || a.Groups[i].Positives != b.Groups[i].Positives {
			t.Errorf("group %d: %+v, after shuffling %+v", i, a.Groups[i], b.Groups[i])
		}
	}
	sa, sb := BySlice(c.Y, c.P, orig, Brier, false), BySlice(y, p, strs, Brier, false)
	for i := range sa.Slices {
		if sa.Slices[i].Slice != sb.Slices[i].Slice || sa.Slices[i].Rows != sb.Slices[i].Rows {
			t.Errorf("slice %d: %+v, after shuffling %+v", i, sa.Slices[i], sb.Slices[i])
		}
	}
	if len(a.Groups) != 3 || len(sb.Slices) != 3 {
		t.Errorf("%d groups, %d slices; want the oracle case's 3", len(a.Groups), len(sb.Slices))
	}
}
