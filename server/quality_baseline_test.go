package server

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/predictd/predictd/internal/promtest"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/tools/eval"
)

// manifestWithEvaluation returns a manifest of txlin v1 whose Metrics
// hold rec as tools/eval records it, beside another tool's key.
func manifestWithEvaluation(t *testing.T, rec *eval.Recorded) *model.Manifest {
	t.Helper()
	m := &model.Manifest{Name: "txlin", Version: 1}
	if rec != nil {
		js, err := json.Marshal(map[string]any{model.MetricsEvaluationKey: rec, "other_tool": 1})
		if err != nil {
			t.Fatal(err)
		}
		m.Metrics = js
	}
	return m
}

// TestQualityBaseline: the baseline of a binary evaluation is its auc,
// log_loss, brier, accuracy and ece (a NaN one left out); of a regression
// one its rmse and mae; a multiclass evaluation, or none, gives none; a
// manifest whose evaluation cannot be read gives an error.
func TestQualityBaseline(t *testing.T) {
	for _, c := range []struct {
		name string
		rec  *eval.Recorded
		want []baselineMetric
	}{
		{"binary", &eval.Recorded{Task: eval.TaskBinary, Overall: eval.Metrics{AUC: 0.9, LogLoss: 0.3, Brier: 0.1, Accuracy: 0.85, ECE: 0.02, RMSE: 7}},
			[]baselineMetric{{"auc", 0.9}, {"log_loss", 0.3}, {"brier", 0.1}, {"accuracy", 0.85}, {"ece", 0.02}}},
		{"binary, auc NaN", &eval.Recorded{Task: eval.TaskBinary, Overall: eval.Metrics{AUC: math.NaN(), LogLoss: 0.3, Brier: 0.1, Accuracy: 0.85, ECE: 0.02}},
			[]baselineMetric{{"log_loss", 0.3}, {"brier", 0.1}, {"accuracy", 0.85}, {"ece", 0.02}}},
		{"regression", &eval.Recorded{Task: eval.TaskRegression, Overall: eval.Metrics{RMSE: 2.5, MAE: 1.5, AUC: 0.7}},
			[]baselineMetric{{"rmse", 2.5}, {"mae", 1.5}}},
		{"multiclass", &eval.Recorded{Task: eval.TaskMulticlass, Overall: eval.Metrics{AUC: 0.9, Accuracy: 0.8}}, nil},
		{"none", nil, nil},
	} {
		got, err := qualityBaseline(manifestWithEvaluation(t, c.rec))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: qualityBaseline = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	bad := &model.Manifest{Name: "txlin", Version: 1, Metrics: json.RawMessage(`{"evaluation": 3}`)}
	if got, err := qualityBaseline(bad); err == nil {
		t.Errorf("qualityBaseline(Metrics %s) = %v, want an error", bad.Metrics, got)
	}
}

// TestQualityBaselineGauge: /metrics exports a labelled version's
// baseline as predictd_model_quality_baseline{model,version,metric},
// before any label arrives; a retired version's is forgotten.
func TestQualityBaselineGauge(t *testing.T) {
	opts := DefaultOptions()
	opts.Labels = newLabels(t, labels.Options{})
	s, _ := txServer(t, opts, nil)
	vss := s.labelledVersions("txlin")
	if len(vss) != 1 {
		t.Fatalf("labelled versions of txlin: %d, want 1", len(vss))
	}
	rec := &eval.Recorded{Task: eval.TaskBinary, Overall: eval.Metrics{AUC: 0.9, LogLoss: 0.3, Brier: 0.1, Accuracy: 0.85, ECE: 0.02}}
	if err := s.setBaseline(vss[0], manifestWithEvaluation(t, rec)); err != nil {
		t.Fatal(err)
	}
	_, text, _ := call(s, "GET", "/metrics", "")
	fams := promtest.Parse(t, []byte(text))
	for metric, want := range map[string]float64{"auc": 0.9, "log_loss": 0.3, "brier": 0.1, "accuracy": 0.85, "ece": 0.02} {
		lv := []string{"model", "txlin", "version", "1", "metric", metric}
		if promtest.Find(fams, "predictd_model_quality_baseline", lv...) == nil {
			t.Errorf("/metrics has no predictd_model_quality_baseline%q", lv)
		} else if got := promtest.Value(fams, "predictd_model_quality_baseline", lv...); got != want {
			t.Errorf("/metrics predictd_model_quality_baseline%q = %v, want %v", lv, got, want)
		}
	}
	if fam := fams["predictd_model_quality_baseline"]; fam == nil || len(fam.Metric) != 5 {
		t.Errorf("predictd_model_quality_baseline: %v, want 5 series", fam)
	}
	s.forgetQuality(vss[0])
	_, text, _ = call(s, "GET", "/metrics", "")
	if fams := promtest.Parse(t, []byte(text)); fams["predictd_model_quality_baseline"] != nil {
		t.Errorf("after forgetQuality, /metrics still has %v", fams["predictd_model_quality_baseline"])
	}
}
