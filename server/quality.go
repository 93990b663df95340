package server

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/tools/alerts"
	"github.com/predictd/predictd/tools/eval"
)

// Live quality (Options.Labels): GET /v1/models/{name}/monitor gains a
// "quality" member per served version, the store's labels.Report; /metrics
// gains its headline metrics, its slices' and its CBPE estimates as
// gauges. A version's report is computed when asked (a scrape, a /monitor
// call), never on the request path, and at most once per
// Options.QualityRecomputeEvery: callers in between get the last one. A
// report computed holds every prediction answered before the call (the
// store is flushed first).

// maxSliceValuesPerColumn bounds the predictd_model_quality_slice series
// per slice column and metric: the report's first values (ascending).
const maxSliceValuesPerColumn = 50

// qualityCache holds each served version's last report.
type qualityCache struct {
	mu   sync.Mutex // held while a report is computed: one at a time
	reps map[versionKey]qualityEntry
	// baselines are the versions' offline evaluations (setBaseline),
	// guarded by bmu.
	bmu       sync.Mutex
	baselines map[versionKey][]baselineMetric
}

// baselineMetric is one headline metric of a version's recorded
// evaluation, named as predictd_model_quality's metric label.
type baselineMetric struct {
	metric string
	value  float64
}

// qualityBaseline returns the headline metrics of the evaluation recorded
// in m (tools/eval.ReadRecorded), the baseline of its live quality: auc,
// log_loss, brier, accuracy, ece for a binary evaluation, rmse and mae
// for a regression one; a metric that is NaN or infinite is left out.
// Nothing for a manifest without one, or with a multiclass one.
func qualityBaseline(m *model.Manifest) ([]baselineMetric, error) {
	rec, ok, err := eval.ReadRecorded(m)
	if err != nil || !ok {
		return nil, err
	}
	o := rec.Overall
	var all []baselineMetric
	switch rec.Task {
	case eval.TaskBinary:
		all = []baselineMetric{{"auc", o.AUC}, {"log_loss", o.LogLoss}, {"brier", o.Brier}, {"accuracy", o.Accuracy}, {"ece", o.ECE}}
	case eval.TaskRegression:
		all = []baselineMetric{{"rmse", o.RMSE}, {"mae", o.MAE}}
	}
	var out []baselineMetric
	for _, b := range all {
		if !math.IsNaN(b.value) && !math.IsInf(b.value, 0) {
			out = append(out, b)
		}
	}
	return out, nil
}

// setBaseline records the baseline of vs from its manifest m, for the
// predictd_model_quality_baseline gauge; Prepare calls it. A manifest
// whose evaluation cannot be read gives no baseline, and the error.
func (s *Server) setBaseline(vs *versionState, m *model.Manifest) error {
	b, err := qualityBaseline(m)
	q := &s.quality
	q.bmu.Lock()
	defer q.bmu.Unlock()
	k := versionKey{vs.name, vs.version}
	if len(b) == 0 {
		delete(q.baselines, k)
		return err
	}
	if q.baselines == nil {
		q.baselines = map[versionKey][]baselineMetric{}
	}
	q.baselines[k] = b
	return nil
}

// baseline returns vs's baseline (setBaseline).
func (s *Server) baseline(vs *versionState) []baselineMetric {
	s.quality.bmu.Lock()
	defer s.quality.bmu.Unlock()
	return s.quality.baselines[versionKey{vs.name, vs.version}]
}

type qualityEntry struct {
	at  time.Time
	rep *labels.Report
	err error
}

// qualityReport returns vs's report, computed at most once per
// QualityRecomputeEvery; nil when the server records no labels for vs.
func (s *Server) qualityReport(vs *versionState, now time.Time) (*labels.Report, error) {
	if vs.labels == nil {
		return nil, nil
	}
	return s.cachedReport(versionKey{vs.name, vs.version}, now)
}

// cachedReport returns the store's report of model k.name (the store's
// model name: a served model's, or a shadow's, shadow_labels.go) version
// k.version, computed at most once per QualityRecomputeEvery.
func (s *Server) cachedReport(k versionKey, now time.Time) (*labels.Report, error) {
	q := &s.quality
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.reps[k]; ok && now.Sub(e.at) < s.opts.QualityRecomputeEvery && !now.Before(e.at) {
		return e.rep, e.err
	}
	// The predictions answered before the call are in the report.
	err := s.opts.Labels.Flush()
	var rep *labels.Report
	if err == nil {
		rep, err = s.opts.Labels.Report(k.name, k.version)
	}
	if q.reps == nil {
		q.reps = map[versionKey]qualityEntry{}
	}
	q.reps[k] = qualityEntry{at: now, rep: rep, err: err}
	return rep, err
}

// forgetQuality drops a retired version's cached report and baseline.
func (s *Server) forgetQuality(vs *versionState) {
	k := versionKey{vs.name, vs.version}
	s.quality.mu.Lock()
	delete(s.quality.reps, k)
	s.quality.mu.Unlock()
	s.quality.bmu.Lock()
	delete(s.quality.baselines, k)
	s.quality.bmu.Unlock()
}

// labelledVersions returns the live versions of model (every model when
// model is "") the server records labels for, by name and version.
func (s *Server) labelledVersions(model string) []*versionState {
	var out []*versionState
	s.versions.Range(func(k, _ any) bool {
		vs := k.(*versionState)
		if vs.labels != nil && (model == "" || vs.name == model) {
			out = append(out, vs)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].name != out[j].name {
			return out[i].name < out[j].name
		}
		return out[i].version < out[j].version
	})
	return out
}

// addQuality adds, to each version of body (the model monitor's report,
// or nil for none), a "quality" member: the version's labels.Report, or
// {"error": ...}. Versions with quality the body lacks are added. It
// reports false when there is nothing to report.
func (s *Server) addQuality(name string, body []byte) ([]byte, bool, error) {
	vss := s.labelledVersions(name)
	if len(vss) == 0 {
		return body, body != nil, nil
	}
	top := map[string]json.RawMessage{}
	var versions []map[string]json.RawMessage
	if body != nil {
		if err := json.Unmarshal(body, &top); err != nil {
			return nil, false, err
		}
		if raw, ok := top["versions"]; ok {
			if err := json.Unmarshal(raw, &versions); err != nil {
				return nil, false, err
			}
		}
	} else {
		top["model"], _ = json.Marshal(name)
		top["time"], _ = json.Marshal(time.Now().UTC())
	}
	now := time.Now()
	for _, vs := range vss {
		rep, err := s.qualityReport(vs, now)
		var q json.RawMessage
		switch {
		case err != nil:
			q, _ = json.Marshal(map[string]string{"error": err.Error()})
		case rep == nil:
			q = json.RawMessage("null")
		default:
			flagged := flagQuality(rep, s.baseline(vs), vs.labels.alert)
			if flagged == nil {
				flagged = []QualityFlag{}
			}
			q, _ = json.Marshal(struct {
				*labels.Report
				Flagged []QualityFlag `json:"flagged"`
			}{rep, flagged})
		}
		found := false
		for _, v := range versions {
			if n, _ := strconv.Atoi(string(v["version"])); n == vs.version {
				v["quality"], found = q, true
			}
		}
		if !found {
			versions = append(versions, map[string]json.RawMessage{"version": json.RawMessage(strconv.Itoa(vs.version)), "quality": q})
		}
	}
	top["versions"], _ = json.Marshal(versions)
	out, err := json.Marshal(top)
	return out, true, err
}

// QualityFlag is a metric of a version's live quality that the quality
// alert rules (tools/alerts) would find worse than the version's offline
// baseline now: over the alert's window, worse by more than its
// tolerance, with at least its min_rows labelled rows (the version's, or
// the slice value's). The alert fires once it has held 15 minutes.
type QualityFlag struct {
	Window string `json:"window"`
	// Column and Value name the slice; both empty for the version's
	// overall metric.
	Column   string  `json:"column,omitempty"`
	Value    string  `json:"value,omitempty"`
	Metric   string  `json:"metric"` // as the gauges' metric label
	Live     float64 `json:"live"`
	Baseline float64 `json:"baseline"`
	Rows     int64   `json:"rows"`
}

// gaugeMetric is the metric label of a report's metric: the gauges (and
// the baseline, and the alert rules) call ROC AUC "auc".
func gaugeMetric(name string) string {
	if name == "roc_auc" {
		return "auc"
	}
	return name
}

// flagQuality returns the metrics of rep that are worse than base by
// more than a.Tolerance in the window of length a.Window with at least
// a.MinRows rows (QualityFlag), overall first, then by slice column,
// metric and value in the report's order. Nothing without a baseline or
// a window of that length.
func flagQuality(rep *labels.Report, base []baselineMetric, a alerts.QualityAlert) []QualityFlag {
	if len(base) == 0 || a.Window <= 0 {
		return nil
	}
	baseOf := map[string]float64{}
	for _, b := range base {
		baseOf[b.metric] = b.value
	}
	worse := func(metric string, live float64) (float64, bool) {
		b, ok := baseOf[metric]
		if !ok || math.IsNaN(live) || math.IsInf(live, 0) {
			return 0, false
		}
		switch {
		case slices.Contains(alerts.HigherIsBetter, metric):
			return b, live < b-a.Tolerance
		case slices.Contains(alerts.LowerIsBetter, metric):
			return b, live > b+a.Tolerance
		}
		return 0, false
	}
	var out []QualityFlag
	win := time.Duration(a.Window).String()
	for _, w := range rep.Windows {
		if w.Window != win {
			continue
		}
		type named struct {
			name string
			v    labels.Float
		}
		var overall []named
		if m := w.Binary; m != nil {
			overall = append(overall, named{"auc", m.ROCAUC}, named{"log_loss", m.LogLoss}, named{"brier", m.Brier}, named{"accuracy", m.Accuracy}, named{"ece", m.ECE})
		}
		if m := w.Regression; m != nil {
			overall = append(overall, named{"rmse", m.RMSE}, named{"mae", m.MAE})
		}
		if w.Labelled >= a.MinRows {
			for _, m := range overall {
				if b, bad := worse(m.name, float64(m.v)); bad {
					out = append(out, QualityFlag{Window: w.Window, Metric: m.name, Live: float64(m.v), Baseline: b, Rows: w.Labelled})
				}
			}
		}
		for _, col := range w.Slices {
			for _, m := range col.Metrics {
				name := gaugeMetric(m.Metric)
				for _, sv := range m.Slices {
					if sv.Rows < a.MinRows {
						continue
					}
					if b, bad := worse(name, float64(sv.Metric)); bad {
						out = append(out, QualityFlag{Window: w.Window, Column: col.Column, Value: sv.Value, Metric: name, Live: float64(sv.Metric), Baseline: b, Rows: sv.Rows})
					}
				}
			}
		}
	}
	return out
}

var (
	qualityDesc = prometheus.NewDesc("predictd_model_quality",
		"Live quality of a model version over the labelled predictions of a window (by prediction time): auc, log_loss, brier, accuracy, ece (binary), rmse, mae, mean_error (regression). Absent when undefined on the window's rows.",
		[]string{"model", "version", "window", "metric"}, nil)
	qualitySliceDesc = prometheus.NewDesc("predictd_model_quality_slice",
		"Live quality of a model version per value of a slice column (the model's quality.slices), per window; at most 50 values per column (the first, ascending).",
		[]string{"model", "version", "window", "column", "value", "metric"}, nil)
	qualitySliceRowsDesc = prometheus.NewDesc("predictd_model_quality_slice_rows",
		"Labelled predictions of a model version per value of a slice column, per window; the values of predictd_model_quality_slice.",
		[]string{"model", "version", "window", "column", "value"}, nil)
	qualityEstimatedDesc = prometheus.NewDesc("predictd_model_quality_estimated",
		"CBPE estimate of a binary model version's quality over the predictions of a window still without a label (auc, accuracy), assuming calibrated scores.",
		[]string{"model", "version", "window", "metric"}, nil)
	qualityRowsDesc = prometheus.NewDesc("predictd_model_quality_rows",
		"Predictions of a model version in a window, by state: labelled or unlabelled.",
		[]string{"model", "version", "window", "state"}, nil)
	qualityBaselineDesc = prometheus.NewDesc("predictd_model_quality_baseline",
		"Offline evaluation of a model version recorded in its manifest (predictd eval --record), the baseline of its live quality: auc, log_loss, brier, accuracy, ece (binary), rmse, mae (regression).",
		[]string{"model", "version", "metric"}, nil)
)

// qualityCollector reports the live versions' quality reports.
type qualityCollector struct{ s *Server }

func (c qualityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{qualityDesc, qualitySliceDesc, qualitySliceRowsDesc, qualityEstimatedDesc, qualityRowsDesc, qualityBaselineDesc} {
		ch <- d
	}
}

func (c qualityCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, vs := range c.s.labelledVersions("") {
		ver := strconv.Itoa(vs.version)
		for _, b := range c.s.baseline(vs) {
			ch <- prometheus.MustNewConstMetric(qualityBaselineDesc, prometheus.GaugeValue, b.value, vs.name, ver, b.metric)
		}
		rep, err := c.s.qualityReport(vs, now)
		if err != nil || rep == nil {
			continue
		}
		gauge := func(d *prometheus.Desc, v labels.Float, lv ...string) {
			if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
				ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, f, lv...)
			}
		}
		for _, w := range rep.Windows {
			ch <- prometheus.MustNewConstMetric(qualityRowsDesc, prometheus.GaugeValue, float64(w.Labelled), vs.name, ver, w.Window, "labelled")
			ch <- prometheus.MustNewConstMetric(qualityRowsDesc, prometheus.GaugeValue, float64(w.Unlabelled), vs.name, ver, w.Window, "unlabelled")
			if b := w.Binary; b != nil {
				gauge(qualityDesc, b.ROCAUC, vs.name, ver, w.Window, "auc")
				gauge(qualityDesc, b.LogLoss, vs.name, ver, w.Window, "log_loss")
				gauge(qualityDesc, b.Brier, vs.name, ver, w.Window, "brier")
				gauge(qualityDesc, b.Accuracy, vs.name, ver, w.Window, "accuracy")
				gauge(qualityDesc, b.ECE, vs.name, ver, w.Window, "ece")
			}
			if r := w.Regression; r != nil {
				gauge(qualityDesc, r.RMSE, vs.name, ver, w.Window, "rmse")
				gauge(qualityDesc, r.MAE, vs.name, ver, w.Window, "mae")
				gauge(qualityDesc, r.MeanError, vs.name, ver, w.Window, "mean_error")
			}
			if e := w.Estimate; e != nil {
				gauge(qualityEstimatedDesc, e.AUC, vs.name, ver, w.Window, "auc")
				gauge(qualityEstimatedDesc, e.Accuracy, vs.name, ver, w.Window, "accuracy")
			}
			for _, col := range w.Slices {
				for k, m := range col.Metrics {
					for i, sv := range m.Slices {
						if i == maxSliceValuesPerColumn {
							break
						}
						// Every metric lists every value with its rows.
						if k == 0 {
							ch <- prometheus.MustNewConstMetric(qualitySliceRowsDesc, prometheus.GaugeValue, float64(sv.Rows), vs.name, ver, w.Window, col.Column, sv.Value)
						}
						gauge(qualitySliceDesc, sv.Metric, vs.name, ver, w.Window, col.Column, sv.Value, gaugeMetric(m.Metric))
					}
				}
			}
		}
	}
}
