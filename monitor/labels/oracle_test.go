package labels

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"
)

// windowFixture is testdata/labels/window.json, written by
// testdata/gen/labels_oracle.py with scikit-learn 1.2.1.
type windowFixture struct {
	WindowS   int64   `json:"window_s"`
	Threshold float64 `json:"threshold"`
	Rows      []struct {
		ID      string   `json:"id"`
		AgeS    int64    `json:"age_s"`
		P       float64  `json:"p"`
		Country string   `json:"country"`
		Gender  string   `json:"gender"`
		Label   *float64 `json:"label"`
	} `json:"rows"`
	Expected struct {
		Labelled, Unlabelled        int64
		ROCAUC                      float64            `json:"roc_auc"`
		LogLoss                     float64            `json:"log_loss"`
		Brier                       float64            `json:"brier"`
		Accuracy                    float64            `json:"accuracy"`
		ECE                         float64            `json:"ece"`
		CalibrationMeanPredicted    []float64          `json:"calibration_mean_predicted"`
		CalibrationFractionPositive []float64          `json:"calibration_fraction_positive"`
		CalibrationCount            []int64            `json:"calibration_count"`
		ROCAUCByCountry             map[string]float64 `json:"roc_auc_by_country"`
		DemographicParityDifference float64            `json:"demographic_parity_difference"`
		EqualOpportunityDifference  float64            `json:"equal_opportunity_difference"`
	} `json:"expected"`
}

// TestWindowOracle: predictions recorded and labelled through the store,
// then the 1-hour window's report, equal to scikit-learn's numbers on the
// same rows within 1e-9.
func TestWindowOracle(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/labels/window.json")
	if err != nil {
		t.Fatalf("the oracle fixture (testdata/gen/labels_oracle.py writes it): %v", err)
	}
	var fx windowFixture
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatalf("testdata/labels/window.json: %v", err)
	}
	c := &clock{t: t0}
	o := testOptions(c)
	o.Windows = []time.Duration{time.Duration(fx.WindowS) * time.Second}
	s := mustOpen(t, t.TempDir(), o)
	defer s.Close()
	if err := s.Configure("m", Spec{Task: Binary, SliceColumns: []string{"country", "gender"}, Protected: "gender", Threshold: fx.Threshold}); err != nil {
		t.Fatal(err)
	}
	var ls []Label
	for _, r := range fx.Rows {
		// age_s 0 is the report's time itself, inside (now - 1h, now].
		at := t0.Add(-time.Duration(r.AgeS) * time.Second)
		if !s.Record("m", 1, r.ID, at, []float64{r.P}, []string{r.Country, r.Gender}) {
			t.Fatalf("Record(%s) dropped", r.ID)
		}
		if r.Label != nil {
			ls = append(ls, Label{ID: r.ID, Value: *r.Label, Time: at.Add(time.Minute)})
		}
	}
	if res, err := s.Label("m", ls); err != nil || res.Joined != len(ls) {
		t.Fatalf("Label = %+v, %v; want %d joined", res, err, len(ls))
	}
	rep, err := s.Report("m", 1)
	if err != nil {
		t.Fatal(err)
	}
	w, e := rep.Windows[0], fx.Expected
	near := func(what string, got Float, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-9 || math.IsNaN(float64(got)) {
			t.Errorf("%s = %v, scikit-learn %v", what, float64(got), want)
		}
	}
	if w.Labelled != e.Labelled || w.Unlabelled != e.Unlabelled {
		t.Errorf("window rows: labelled %d unlabelled %d, want %d %d", w.Labelled, w.Unlabelled, e.Labelled, e.Unlabelled)
	}
	near("roc_auc", w.Binary.ROCAUC, e.ROCAUC)
	near("log_loss", w.Binary.LogLoss, e.LogLoss)
	near("brier", w.Binary.Brier, e.Brier)
	near("accuracy", w.Binary.Accuracy, e.Accuracy)
	near("ece", w.Binary.ECE, e.ECE)
	cal := w.Binary.Calibration
	if len(cal.Count) != len(e.CalibrationCount) {
		t.Fatalf("calibration curve of %d bins, scikit-learn %d", len(cal.Count), len(e.CalibrationCount))
	}
	for i := range cal.Count {
		if cal.Count[i] != e.CalibrationCount[i] {
			t.Errorf("calibration bin %d count %d, want %d", i, cal.Count[i], e.CalibrationCount[i])
		}
		near("calibration mean predicted", cal.MeanPredicted[i], e.CalibrationMeanPredicted[i])
		near("calibration fraction positive", cal.FractionPositive[i], e.CalibrationFractionPositive[i])
	}
	auc := w.Slices[0].Metrics[0]
	if auc.Metric != "roc_auc" || len(auc.Slices) != len(e.ROCAUCByCountry) {
		t.Fatalf("country %s over %d slices, want roc_auc over %d", auc.Metric, len(auc.Slices), len(e.ROCAUCByCountry))
	}
	for _, v := range auc.Slices {
		near("roc_auc of country "+v.Value, v.Metric, e.ROCAUCByCountry[v.Value])
	}
	if auc.Worst != "fr" {
		t.Errorf("worst country by roc_auc = %q, want \"fr\" (its concept changed)", auc.Worst)
	}
	near("demographic parity difference", w.Fairness.DemographicParityDifference, e.DemographicParityDifference)
	near("equal opportunity difference", w.Fairness.EqualOpportunityDifference, e.EqualOpportunityDifference)
}
