package server

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/monitor/slo"
	"github.com/predictd/predictd/tools/alerts"
)

// TestFlagQuality: flagQuality flags what the alert rules compare: the
// configured window only, worse than the baseline by more than the
// tolerance in the metric's direction, with enough rows (the version's
// overall, the slice value's per slice), never an undefined metric or
// one without a baseline.
func TestFlagQuality(t *testing.T) {
	slice := func(metric string, vals ...any) labels.SliceMetric {
		m := labels.SliceMetric{Metric: metric}
		for i := 0; i < len(vals); i += 3 {
			m.Slices = append(m.Slices, labels.SliceValue{Value: vals[i].(string), Rows: int64(vals[i+1].(int)), Metric: labels.Float(vals[i+2].(float64))})
		}
		return m
	}
	win := func(w string, labelled int64, auc, logLoss float64) labels.Window {
		return labels.Window{
			Window: w, Labelled: labelled,
			Binary: &labels.BinaryMetrics{ROCAUC: labels.Float(auc), LogLoss: labels.Float(logLoss), Brier: labels.Float(math.NaN()), Accuracy: 0.9, ECE: 0.01},
			Slices: []labels.SliceColumn{{Column: "country", Metrics: []labels.SliceMetric{
				slice("roc_auc", "de", 300, 0.70, "fr", 100, 0.50, "us", 300, 0.84),
				slice("log_loss", "de", 300, 0.40, "fr", 100, 0.90, "us", 300, 0.29),
			}}},
		}
	}
	rep := &labels.Report{Windows: []labels.Window{win("1h0m0s", 700, 0.80, 0.33), win("24h0m0s", 150, 0.10, 3)}}
	base := []baselineMetric{{"auc", 0.85}, {"log_loss", 0.30}, {"brier", 0.1}, {"accuracy", 0.9}}
	a := alerts.QualityAlert{Tolerance: 0.02, Window: slo.Duration(time.Hour), MinRows: 200}
	got := fmt.Sprint(flagQuality(rep, base, a))
	// 1h: auc 0.80 < 0.83 flags; log_loss 0.33 > 0.32 flags; brier NaN
	// and ece (no baseline) never; de's auc and log_loss flag, fr's are
	// worse but have 100 rows, us's are fine. 24h is not the alert's.
	want := fmt.Sprint([]QualityFlag{
		{Window: "1h0m0s", Metric: "auc", Live: 0.80, Baseline: 0.85, Rows: 700},
		{Window: "1h0m0s", Metric: "log_loss", Live: 0.33, Baseline: 0.30, Rows: 700},
		{Window: "1h0m0s", Column: "country", Value: "de", Metric: "auc", Live: 0.70, Baseline: 0.85, Rows: 300},
		{Window: "1h0m0s", Column: "country", Value: "de", Metric: "log_loss", Live: 0.40, Baseline: 0.30, Rows: 300},
	})
	if got != want {
		t.Errorf("flagQuality =\n%s\nwant\n%s", got, want)
	}
	if f := flagQuality(rep, nil, a); f != nil {
		t.Errorf("without a baseline: %v, want none", f)
	}
	a.Window = slo.Duration(24 * time.Hour)
	// 24h: the version's 150 rows are too few for its overall metrics; a
	// slice value counts its own rows (the test's 300 of de).
	if f := fmt.Sprint(flagQuality(rep, base, a)); f != fmt.Sprint([]QualityFlag{
		{Window: "24h0m0s", Column: "country", Value: "de", Metric: "auc", Live: 0.70, Baseline: 0.85, Rows: 300},
		{Window: "24h0m0s", Column: "country", Value: "de", Metric: "log_loss", Live: 0.40, Baseline: 0.30, Rows: 300},
	}) {
		t.Errorf("24h window, 150 rows < 200: %s, want de's two slice flags only", f)
	}
	a.MinRows = 100
	if f := fmt.Sprint(flagQuality(rep, base, a)); f != fmt.Sprint([]QualityFlag{
		{Window: "24h0m0s", Metric: "auc", Live: 0.10, Baseline: 0.85, Rows: 150},
		{Window: "24h0m0s", Metric: "log_loss", Live: 3, Baseline: 0.30, Rows: 150},
		{Window: "24h0m0s", Column: "country", Value: "de", Metric: "auc", Live: 0.70, Baseline: 0.85, Rows: 300},
		{Window: "24h0m0s", Column: "country", Value: "fr", Metric: "auc", Live: 0.50, Baseline: 0.85, Rows: 100},
		{Window: "24h0m0s", Column: "country", Value: "de", Metric: "log_loss", Live: 0.40, Baseline: 0.30, Rows: 300},
		{Window: "24h0m0s", Column: "country", Value: "fr", Metric: "log_loss", Live: 0.90, Baseline: 0.30, Rows: 100},
	}) {
		t.Errorf("24h, min_rows 100: %s", f)
	}
}
