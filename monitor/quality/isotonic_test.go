package quality

import (
	"math"
	"strings"
	"testing"
)

func TestIsotonicOracle(t *testing.T) {
	f := loadFairness(t)
	if len(f.Isotonic) < 5 {
		t.Fatalf("fairness.json: %d isotonic cases, want the oracle's 5", len(f.Isotonic))
	}
	for _, c := range f.Isotonic {
		iso, err := FitIsotonic(c.Y, c.P)
		if err != nil {
			t.Fatalf("%s: FitIsotonic: %v", c.Name, err)
		}
		got := iso.Calibrate(nil, c.Probe)
		for i := range got {
			if !near(got[i], c.Want.Calibrated[i]) {
				t.Errorf("%s: Calibrate(%v) = %v, want %v (IsotonicRegression.predict)", c.Name, c.Probe[i], got[i], show(c.Want.Calibrated[i]))
			}
		}
		if auc := EstimateAUC(got); !near(auc, c.Want.AUC) {
			t.Errorf("%s: EstimateAUC of the calibrated probes = %v, want %v", c.Name, auc, show(c.Want.AUC))
		}
	}
}

func TestIsotonicEdges(t *testing.T) {
	if _, err := FitIsotonic(nil, nil); err == nil || !strings.Contains(err.Error(), "no rows") {
		t.Errorf("FitIsotonic(no rows) error = %v, want one saying no rows", err)
	}
	_, err := FitIsotonic([]float64{1, 0, 1}, []float64{0.2, 0.4, math.Inf(1)})
	if err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("FitIsotonic(+Inf at row 2) error = %v, want one naming row 2", err)
	}
	iso, err := FitIsotonic([]float64{0, 1}, []float64{0.2, 0.8})
	if err != nil {
		t.Fatal(err)
	}
	dst := iso.Calibrate([]float64{7}, []float64{math.NaN(), 0.5})
	if len(dst) != 3 || dst[0] != 7 || !math.IsNaN(dst[1]) || math.Abs(dst[2]-0.5) > 1e-15 {
		t.Errorf("Calibrate([7], [NaN 0.5]) = %v, want [7 NaN 0.5±1e-15] (appended)", dst)
	}
	defer func() {
		if recover() == nil {
			t.Error("FitIsotonic with labels and scores of different lengths did not panic")
		}
	}()
	FitIsotonic([]float64{1}, nil)
}
