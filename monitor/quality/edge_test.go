package quality

import (
	"math"
	"slices"
	"testing"
)

func TestUndefined(t *testing.T) {
	nan := math.NaN()
	y, p := []float64{0, 1, 1, 0}, []float64{0.2, nan, 0.7, 0.1}
	for name, got := range map[string]float64{
		"ROCAUC NaN score":             ROCAUC(y, p),
		"AveragePrecision NaN score":   AveragePrecision(y, p),
		"LogLoss NaN score":            LogLoss(y, p),
		"Brier NaN score":              Brier(y, p),
		"Brier score above 1":          Brier([]float64{1}, []float64{1.5}),
		"ROCAUC no rows":               ROCAUC(nil, nil),
		"LogLoss no rows":              LogLoss(nil, nil),
		"Accuracy no rows":             Confusion{}.Accuracy(),
		"ECE empty":                    Calibration{}.ECE(),
		"Gap all NaN":                  Gap([]float64{nan, nan}),
		"Tweedie power 0.5":            TweedieDeviance([]float64{1}, []float64{1}, 0.5),
		"Tweedie power NaN":            TweedieDeviance([]float64{1}, []float64{1}, nan),
		"Tweedie gamma zero label":     TweedieDeviance([]float64{0}, []float64{1}, 2),
		"Tweedie negative power p<=0":  TweedieDeviance([]float64{1}, []float64{0}, -1),
		"RMSE no rows":                 RMSE(nil, nil),
		"MulticlassLogLoss bad label":  MulticlassLogLoss([]int{3}, []float64{0.5, 0.5}, 2),
		"MulticlassAccuracy no rows":   MulticlassAccuracy(nil, nil),
		"MulticlassLogLoss short rows": MulticlassLogLoss([]int{0}, []float64{0.5}, 2),
	} {
		if !math.IsNaN(got) {
			t.Errorf("%s = %v, want NaN", name, got)
		}
	}
	if _, ok := CalibrationCurve([]float64{1}, []float64{1.01}, 10); ok {
		t.Error("CalibrationCurve took a probability above 1")
	}
	if _, ok := CalibrationCurve([]float64{1}, []float64{0.5}, 0); ok {
		t.Error("CalibrationCurve took 0 bins")
	}
	if a := Averages(MulticlassConfusion(nil, nil, 3)); !math.IsNaN(a.F1Macro) || !math.IsNaN(a.RecallWeighted) {
		t.Errorf("Averages of no rows = %+v, want NaN", a)
	}
	if got := Gap([]float64{0.2, nan, 0.5, 0.1}); got != 0.4 {
		t.Errorf("Gap skipping NaN = %v, want 0.4", got)
	}
	if got := Argmax(nil, []float64{0.1, nan, 0.9, nan, 0.2, 0.1}, 3); !slices.Equal(got, []int{1, 0}) {
		t.Errorf("Argmax with NaN = %v, want numpy's [1 0] (the first NaN)", got)
	}
	if got := BinaryConfusion([]float64{1, 0}, []float64{nan, nan}, 0.5); got != (Confusion{TN: 1, FN: 1}) {
		t.Errorf("BinaryConfusion of NaN scores = %+v, want them predicted negative", got)
	}
}

// TestInputsUnchanged: the functions that sort do so on a copy.
func TestInputsUnchanged(t *testing.T) {
	y := []float64{1, 0, 1, 0, 1}
	p := []float64{0.3, 0.9, 0.1, 0.5, 0.7}
	y0, p0 := slices.Clone(y), slices.Clone(p)
	ROCCurve(y, p)
	PRCurve(y, p)
	AveragePrecision(y, p)
	CalibrationCurve(y, p, 4)
	OVRAUC([]int{0, 1}, []float64{0.3, 0.7, 0.6, 0.4}, 2)
	if !slices.Equal(y, y0) || !slices.Equal(p, p0) {
		t.Errorf("inputs changed: y %v p %v, were %v %v", y, p, y0, p0)
	}
}

func TestMulticlassConfusionOutside(t *testing.T) {
	cm := MulticlassConfusion([]int{0, 1, 2, -1, 1}, []int{0, 1, 1, 0, 5}, 2)
	if cm[0][0] != 1 || cm[1][1] != 1 || cm[0][1] != 0 || cm[1][0] != 0 {
		t.Errorf("confusion %v, want only the two rows inside [0, 2) counted", cm)
	}
}
