package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Metrics are the quality numbers of one set of rows (the whole input, or
// one slice). A field not defined for the task, or not defined on these
// rows (ROC AUC of rows of one class, R² of one row), is NaN; JSON writes
// NaN as null and reads null back as NaN. The functions behind each field
// are monitor/quality's; their docs say how each equals scikit-learn 1.2.1.
type Metrics struct {
	// Binary classifiers (the probability of class 1), and multiclass
	// where said.
	//
	// AUC is ROC AUC (roc_auc_score); for multiclass the macro average of
	// one-vs-rest AUCs (multi_class="ovr", average="macro").
	AUC float64
	// PRAUC is average precision (average_precision_score).
	PRAUC float64
	// LogLoss is log_loss (binary and multiclass).
	LogLoss float64
	// Brier is brier_score_loss.
	Brier float64
	// Accuracy (binary at Threshold, multiclass by the most probable
	// class), Precision, Recall and F1 of class 1 at Threshold.
	Accuracy, Precision, Recall, F1 float64
	// ECE is the expected calibration error over the calibration curve's
	// uniform bins (monitor/quality.ECE).
	ECE float64
	// PositiveRate is the fraction of rows predicted positive at
	// Threshold; BaseRate the fraction of rows labelled 1.
	PositiveRate, BaseRate float64

	// Multiclass: one-vs-rest ROC AUC weighted by class prevalence, and
	// precision, recall and F1 averaged over classes (macro) or weighted
	// by support, over the classes present in the labels or the
	// predictions (scikit-learn's default labels).
	AUCWeighted                                   float64
	PrecisionMacro, RecallMacro, F1Macro          float64
	PrecisionWeighted, RecallWeighted, F1Weighted float64

	// Regression (tasks regression, count and positive).
	RMSE, MAE, R2 float64
	// PoissonDeviance is mean_poisson_deviance; TweedieDeviance
	// mean_tweedie_deviance at Report.TweediePower. NaN where
	// scikit-learn refuses the values (a negative label, a prediction ≤ 0).
	PoissonDeviance, TweedieDeviance float64
}

// metricDef names one Metrics field: its JSON key (also the name
// WorstSlice takes) and whether higher is better.
type metricDef struct {
	name   string
	higher bool
	get    func(*Metrics) *float64
}

// metricDefs lists every field in Metrics' order.
var metricDefs = []metricDef{
	{"auc", true, func(m *Metrics) *float64 { return &m.AUC }},
	{"pr_auc", true, func(m *Metrics) *float64 { return &m.PRAUC }},
	{"log_loss", false, func(m *Metrics) *float64 { return &m.LogLoss }},
	{"brier", false, func(m *Metrics) *float64 { return &m.Brier }},
	{"accuracy", true, func(m *Metrics) *float64 { return &m.Accuracy }},
	{"precision", true, func(m *Metrics) *float64 { return &m.Precision }},
	{"recall", true, func(m *Metrics) *float64 { return &m.Recall }},
	{"f1", true, func(m *Metrics) *float64 { return &m.F1 }},
	{"ece", false, func(m *Metrics) *float64 { return &m.ECE }},
	{"positive_rate", true, func(m *Metrics) *float64 { return &m.PositiveRate }},
	{"base_rate", true, func(m *Metrics) *float64 { return &m.BaseRate }},
	{"auc_weighted", true, func(m *Metrics) *float64 { return &m.AUCWeighted }},
	{"precision_macro", true, func(m *Metrics) *float64 { return &m.PrecisionMacro }},
	{"recall_macro", true, func(m *Metrics) *float64 { return &m.RecallMacro }},
	{"f1_macro", true, func(m *Metrics) *float64 { return &m.F1Macro }},
	{"precision_weighted", true, func(m *Metrics) *float64 { return &m.PrecisionWeighted }},
	{"recall_weighted", true, func(m *Metrics) *float64 { return &m.RecallWeighted }},
	{"f1_weighted", true, func(m *Metrics) *float64 { return &m.F1Weighted }},
	{"rmse", false, func(m *Metrics) *float64 { return &m.RMSE }},
	{"mae", false, func(m *Metrics) *float64 { return &m.MAE }},
	{"r2", true, func(m *Metrics) *float64 { return &m.R2 }},
	{"poisson_deviance", false, func(m *Metrics) *float64 { return &m.PoissonDeviance }},
	{"tweedie_deviance", false, func(m *Metrics) *float64 { return &m.TweedieDeviance }},
}

// MetricNames lists the metric names Metrics has, in JSON's order: the
// names Get, WorstSlice and the JSON keys use.
func MetricNames() []string {
	names := make([]string, len(metricDefs))
	for i, d := range metricDefs {
		names[i] = d.name
	}
	return names
}

// lookup finds a metric by name, ignoring case and underscores ("logloss"
// and "log_loss" are the same metric).
func lookup(name string) (metricDef, bool) {
	key := strings.ReplaceAll(strings.ToLower(name), "_", "")
	for _, d := range metricDefs {
		if strings.ReplaceAll(d.name, "_", "") == key {
			return d, true
		}
	}
	return metricDef{}, false
}

// HigherIsBetter reports the direction of the named metric (see
// MetricNames; case and underscores are ignored), and false for ok when
// there is no such metric. positive_rate and base_rate count as higher is
// better, though they describe rather than judge.
func HigherIsBetter(name string) (higher, ok bool) {
	d, ok := lookup(name)
	return d.higher, ok
}

// Get returns the named metric (see MetricNames; case and underscores are
// ignored), and false when there is no such metric.
func (m *Metrics) Get(name string) (float64, bool) {
	d, ok := lookup(name)
	if !ok {
		return math.NaN(), false
	}
	return *d.get(m), true
}

// nanMetrics returns Metrics with every field NaN.
func nanMetrics() Metrics {
	var m Metrics
	for _, d := range metricDefs {
		*d.get(&m) = math.NaN()
	}
	return m
}

// MarshalJSON writes every metric under its name, NaN (and ±Inf) as null.
func (m Metrics) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, d := range metricDefs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(d.name))
		b.WriteByte(':')
		v := *d.get(&m)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b.WriteString("null")
		} else {
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes: a metric that is null or
// absent is NaN; an unknown name is an error.
func (m *Metrics) UnmarshalJSON(data []byte) error {
	var raw map[string]*float64
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*m = nanMetrics()
	for k, v := range raw {
		d, ok := lookup(k)
		if !ok || d.name != k {
			return fmt.Errorf("metrics: unknown metric %q", k)
		}
		if v != nil {
			*d.get(m) = *v
		}
	}
	return nil
}

// Floats is a list of numbers in the report's curves; JSON writes NaN and
// ±Inf as null (a regression's predictions can overflow) and reads null
// back as NaN.
type Floats []float64

// MarshalJSON writes the numbers, null for NaN and ±Inf.
func (f Floats) MarshalJSON() ([]byte, error) {
	if f == nil {
		return []byte("null"), nil
	}
	b := []byte{'['}
	for i, v := range f {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
		} else {
			b = strconv.AppendFloat(b, v, 'g', -1, 64)
		}
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Floats) UnmarshalJSON(data []byte) error {
	var raw []*float64
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		*f = nil
		return nil
	}
	*f = make(Floats, len(raw))
	for i, v := range raw {
		(*f)[i] = math.NaN()
		if v != nil {
			(*f)[i] = *v
		}
	}
	return nil
}
