package server

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/rollout/shadow"
)

// The shadow's quality against labels (docs/shadow.md): when the server
// records labels and records the live version (binary or regression,
// labels.go), every row its shadow predicts is recorded in the labels
// store too, under a model name of the shadow's own,
//
//	<model>@shadow:<shadow label>   e.g. "fraud@shadow:v7", "churn@shadow:churn-xgb:3"
//
// (the shadow label as in the metrics: "v<N>", "<model>:<N>",
// "<model>:latest") and the live version's number, with the live
// request's instance id (labels.go's rule: "<id>", or "<id>/<i>" for a
// request of several instances) and the live answer's time. A served
// model's name has no '@' (model.ValidName), so such a name never meets
// one; it is bounded by the configured shadows. The shadow's rows carry no
// slice values (its spec is the live version's, without slices).
//
// Feedback for a model joins each label to the model's predictions (the
// answer's counts) and then to the rows of the shadows of the model's
// versions served now (labelShadows; their outcomes are not in the
// answer). A label for a request that was not sampled, or that arrived
// before the shadow predicted its row (the shadow runs later, on spare
// capacity), finds no shadow row and is not joined to the shadow's. Rows
// are recorded by the shadow's worker (shadow.Options.Predicted), never
// on the live path; a full store queue drops them, counted with the
// live ones (predictd_labels_predictions_dropped_total).

// shadowLabelSep separates the model from the shadow label in the
// shadow's store name; a model name never holds '@'.
const shadowLabelSep = "@shadow:"

// shadowLabels is how a live version's shadow is recorded in the labels
// store.
type shadowLabels struct {
	// key is the store's model name, version the live version: the
	// store's rows of the shadow are (key, version).
	key     string
	version int
}

// shadowStoreName is the labels store's model name of the shadow labelled
// label of model.
func shadowStoreName(model, label string) string {
	return model + shadowLabelSep + label
}

// prepareShadowLabels, when the server records vs in the labels store,
// configures vs's shadow st there and sets opts to keep the offers' ids
// and record each predicted row. A store that refuses the spec leaves the
// shadow unrecorded (logged).
func (s *Server) prepareShadowLabels(vs *versionState, st *shadowState, opts *shadow.Options) {
	store := s.opts.Labels
	if store == nil || vs.labels == nil {
		return
	}
	spec := vs.labels.spec
	spec.SliceColumns, spec.Protected = nil, ""
	lb := &shadowLabels{key: shadowStoreName(vs.name, st.label), version: vs.version}
	if err := store.Configure(lb.key, spec); err != nil {
		s.opts.Logf("model %s version %d: shadow %s: not recorded for labels: %v", vs.name, vs.version, st.label, err)
		return
	}
	st.lb = lb
	opts.IDBytes = MaxIDBytes
	opts.Predicted = func(b *shadow.Batch) { s.recordShadow(lb, b) }
}

// recordShadow records batch b's rows that have an id under lb. It runs
// on the shadow's worker; warm, it allocates nothing (an instance id is
// built in a stack buffer, and Record copies it).
func (s *Server) recordShadow(lb *shadowLabels, b *shadow.Batch) {
	store := s.opts.Labels
	var buf [MaxIDBytes + 1 + 20]byte
	for i := range b.Len() {
		id := b.ID(i)
		if id == nil {
			continue
		}
		k, n := b.Part(i)
		if n > 1 {
			id = strconv.AppendInt(append(append(buf[:0], id...), '/'), int64(k), 10)
		}
		store.Record(lb.key, lb.version, unsafe.String(unsafe.SliceData(id), len(id)), b.Time(i), b.Shadow(i), nil)
	}
}

// labelShadows joins ls, labels of model name, to the recorded rows of the
// shadows of name's versions served now, each shadow's store name once.
// Their outcomes are not counted anywhere but in the store's report; a
// store error is logged, not returned: the model's own labels are joined.
func (s *Server) labelShadows(name string, ls []labels.Label) {
	var keys []string
	s.versions.Range(func(k, _ any) bool {
		vs := k.(*versionState)
		if vs.name == name && vs.shadow != nil && vs.shadow.lb != nil {
			if key := vs.shadow.lb.key; !slices.Contains(keys, key) {
				keys = append(keys, key)
			}
		}
		return true
	})
	for _, key := range keys {
		if _, err := s.opts.Labels.Label(key, ls); err != nil {
			s.opts.Logf("feedback for model %s: joining the labels to its shadow's predictions (%s): %v", name, key, err)
		}
	}
}

// shadowQuality returns the labels report of vs's shadow's rows, computed
// at most once per QualityRecomputeEvery; nil when they are not recorded.
// It holds the rows the shadow predicted before the call.
func (s *Server) shadowQuality(vs *versionState, now time.Time) (*labels.Report, error) {
	st := vs.shadow
	if st == nil || st.lb == nil {
		return nil, nil
	}
	return s.cachedReport(versionKey{st.lb.key, st.lb.version}, now)
}

// shadowQualityJSON is vs's shadow's quality for /monitor: the report, or
// {"error": ...}; nil when not recorded.
func (s *Server) shadowQualityJSON(vs *versionState) json.RawMessage {
	rep, err := s.shadowQuality(vs, time.Now())
	switch {
	case err != nil:
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		return b
	case rep == nil:
		return nil
	}
	b, err := json.Marshal(rep)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return b
}

// forgetShadowQuality drops the cached report of retired vs's shadow.
func (s *Server) forgetShadowQuality(vs *versionState) {
	if vs.shadow == nil || vs.shadow.lb == nil {
		return
	}
	lb := vs.shadow.lb
	s.quality.mu.Lock()
	delete(s.quality.reps, versionKey{lb.key, lb.version})
	s.quality.mu.Unlock()
}

// The shadow's quality series are families of their own rather than
// predictd_model_quality with one more label: the quality alert rules
// (tools/alerts) aggregate predictd_model_quality{model="M"} by model,
// version and metric, so a shadow's series under that name would be
// merged into the live version's.
var (
	shQualityDesc = prometheus.NewDesc("predictd_shadow_quality",
		"Quality of the shadow's predictions against the labels joined to them, over a window by prediction time: auc, log_loss, brier, accuracy, ece (binary), rmse, mae, mean_error (regression); as predictd_model_quality for the live version. Absent when undefined on the window's rows.",
		[]string{"model", "version", "shadow", "window", "metric"}, nil)
	shQualityRowsDesc = prometheus.NewDesc("predictd_shadow_quality_rows",
		"The shadow's recorded predictions in a window, by state: labelled or unlabelled.",
		[]string{"model", "version", "shadow", "window", "state"}, nil)
)

// collectShadowQuality sends vs's shadow's quality series, labelled lv
// (model, version, shadow), when its rows are recorded.
func (s *Server) collectShadowQuality(ch chan<- prometheus.Metric, vs *versionState, lv []string) {
	rep, err := s.shadowQuality(vs, time.Now())
	if err != nil || rep == nil {
		return
	}
	gauge := func(v labels.Float, window, metric string) {
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			ch <- prometheus.MustNewConstMetric(shQualityDesc, prometheus.GaugeValue, f, lv[0], lv[1], lv[2], window, metric)
		}
	}
	for _, w := range rep.Windows {
		ch <- prometheus.MustNewConstMetric(shQualityRowsDesc, prometheus.GaugeValue, float64(w.Labelled), lv[0], lv[1], lv[2], w.Window, "labelled")
		ch <- prometheus.MustNewConstMetric(shQualityRowsDesc, prometheus.GaugeValue, float64(w.Unlabelled), lv[0], lv[1], lv[2], w.Window, "unlabelled")
		if b := w.Binary; b != nil {
			gauge(b.ROCAUC, w.Window, "auc")
			gauge(b.LogLoss, w.Window, "log_loss")
			gauge(b.Brier, w.Window, "brier")
			gauge(b.Accuracy, w.Window, "accuracy")
			gauge(b.ECE, w.Window, "ece")
		}
		if r := w.Regression; r != nil {
			gauge(r.RMSE, w.Window, "rmse")
			gauge(r.MAE, w.Window, "mae")
			gauge(r.MeanError, w.Window, "mean_error")
		}
	}
}
