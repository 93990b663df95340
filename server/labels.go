package server

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/tools/alerts"
)

// Labels (Options.Labels, monitor/labels, docs/labels.md): every
// successful prediction instance of a model whose task is binary or
// regression is recorded in the labels store after the answer is composed,
// where the prediction log logs it: the instance id (the log's rule), the
// answer's time, the instance's outputs and its slice values (the model's
// Quality.Slices read from the request's raw inputs, strings as they came,
// numbers as strconv.FormatFloat(x, 'g', -1, 64), a missing value ""). Record
// never blocks (a full queue drops and counts). POST
// /v1/models/{name}/feedback joins labels to them (handleFeedback).

// Quality is a model's live-quality settings (labels.Spec, by column
// names). The zero value records the model with its manifest's task, the
// score in output 0, no slices.
type Quality struct {
	// Task is labels.Binary or labels.Regression; 0: the manifest's task
	// (a model of another task is then not recorded).
	Task labels.Task
	// ScoreOutput is the index of the output that is the score (binary:
	// the probability of class 1) or the prediction; default 0.
	ScoreOutput int
	// Slices name the request inputs whose values slice the report.
	Slices []string
	// Protected is one of Slices, the protected attribute of the report's
	// group fairness (binary only); "" for none.
	Protected string
	// Threshold of a positive binary prediction; 0 means 0.5.
	Threshold float64
	// Alert is what the quality alert rules of `predictd alerts` compare
	// (tools/alerts.QualityAlert, defaults applied by the caller): /monitor
	// flags each metric, overall and per slice value, that is worse than
	// the version's offline baseline by more than Alert.Tolerance over the
	// window of length Alert.Window, with at least Alert.MinRows labelled
	// rows. A zero Window flags nothing.
	Alert alerts.QualityAlert
}

// maxInternedPerColumn bounds the distinct slice values a version keeps
// for reuse per slice column; past it a value is copied per prediction
// (one allocation) instead.
const maxInternedPerColumn = 1024

// labelState is a version's labels bookkeeping.
type labelState struct {
	// cols are the schema indices of the slice columns.
	cols []int
	// alert is Quality.Alert.
	alert alerts.QualityAlert
	// spec is the version's labels.Spec in the store; its shadow's rows
	// are recorded with it, less the slices (shadow_labels.go).
	spec labels.Spec
	// The store keeps the strings it is given until its writer has
	// written them, so slice values are interned: a request's strings
	// alias its buffers.
	mu     sync.RWMutex
	strs   []map[string]string  // per column, string inputs
	floats []map[float64]string // per column, numeric inputs
}

// prepareLabels configures vs's model in the labels store and resolves its
// slice columns, when the server records labels.
func (s *Server) prepareLabels(vs *versionState, m *model.Manifest, q Quality) error {
	st := s.opts.Labels
	if st == nil {
		return nil
	}
	task := q.Task
	if task == 0 {
		switch m.Task {
		case model.TaskBinary:
			task = labels.Binary
		case model.TaskRegression:
			task = labels.Regression
		default:
			return nil // not recorded: labels joins binary and regression models
		}
	}
	if q.ScoreOutput < 0 || q.ScoreOutput >= vs.outputs {
		return fmt.Errorf("quality.score_output %d: the model has outputs 0 to %d", q.ScoreOutput, vs.outputs-1)
	}
	if q.Protected != "" && !slices.Contains(q.Slices, q.Protected) {
		return fmt.Errorf("quality.protected %q is not one of quality.slices %q", q.Protected, q.Slices)
	}
	ls := &labelState{
		alert:  q.Alert,
		cols:   make([]int, len(q.Slices)),
		strs:   make([]map[string]string, len(q.Slices)),
		floats: make([]map[float64]string, len(q.Slices)),
	}
	names := make([]string, vs.schema.NumFeatures())
	for f := range names {
		names[f] = vs.schema.Name(f)
	}
	for i, c := range q.Slices {
		ls.cols[i] = -1
		for f, n := range names {
			if n == c {
				ls.cols[i] = f
			}
		}
		if ls.cols[i] < 0 {
			return fmt.Errorf("quality.slices[%d] %q is not an input of the model (inputs: %s)", i, c, strings.Join(names, ", "))
		}
		ls.strs[i] = map[string]string{}
		ls.floats[i] = map[float64]string{}
	}
	spec := labels.Spec{Task: task, Output: q.ScoreOutput, SliceColumns: q.Slices, Protected: q.Protected, Threshold: q.Threshold}
	if err := st.Configure(m.Name, spec); err != nil {
		return fmt.Errorf("quality: %w", err)
	}
	ls.spec = spec
	vs.labels = ls
	return nil
}

// sliceValue returns the stored form of instance value x of slice column
// i (string input when str), interned.
func (ls *labelState) sliceValue(i int, x float64, str string, isStr, null bool) string {
	if null || (!isStr && math.IsNaN(x)) {
		return ""
	}
	ls.mu.RLock()
	var v string
	var ok bool
	if isStr {
		v, ok = ls.strs[i][str]
	} else {
		v, ok = ls.floats[i][x]
	}
	ls.mu.RUnlock()
	if ok {
		return v
	}
	if isStr {
		v = strings.Clone(str)
	} else {
		v = strconv.FormatFloat(x, 'g', -1, 64)
	}
	ls.mu.Lock()
	if isStr && len(ls.strs[i]) < maxInternedPerColumn {
		ls.strs[i][v] = v
	} else if !isStr && len(ls.floats[i]) < maxInternedPerColumn {
		ls.floats[i][x] = v
	}
	ls.mu.Unlock()
	return v
}

// recordLabels records each instance of c's answered request, computed by
// vs, answered at now. Warm (slice values seen before), it does not
// allocate: the instance ids ("<id>", or "<id>/0<id>/1..." cut) are built
// in c's scratch and handed to the store as strings viewing it, which
// Record copies before it returns.
func (s *Server) recordLabels(vs *versionState, c *exchange, now time.Time) {
	ls := vs.labels
	if ls == nil {
		return
	}
	st := s.opts.Labels
	r := &c.Request
	nf, no := vs.schema.NumFeatures(), vs.outputs
	if r.N <= 0 {
		return
	}
	// One string holds every instance's id.
	ids := c.id
	if r.N > 1 {
		ids = c.lbID[:0]
		for i := range r.N {
			ids = append(append(ids, c.id...), '/')
			ids = strconv.AppendInt(ids, int64(i), 10)
		}
		c.lbID = ids
	}
	// A view of c's bytes, valid until c is reused: Record copies the id.
	all := unsafe.String(unsafe.SliceData(ids), len(ids))
	if cap(c.lbOut) < no {
		c.lbOut = make([]float64, no)
	}
	if cap(c.lbSlices) < len(ls.cols) {
		c.lbSlices = make([]string, len(ls.cols))
	}
	out, sl := c.lbOut[:no], c.lbSlices[:len(ls.cols)]
	at := 0
	for i := range r.N {
		id := all
		if r.N > 1 {
			n := len(c.id) + 1 + decimalLen(i)
			id = all[at : at+n]
			at += n
		}
		copy(out, r.Preds[i*no:(i+1)*no])
		row := r.Rows[i*nf : (i+1)*nf]
		for j, f := range ls.cols {
			x := row[f]
			if vs.schema.IsString(f) {
				str, ok := r.Category(x)
				sl[j] = ls.sliceValue(j, x, str, true, !ok)
				continue
			}
			sl[j] = ls.sliceValue(j, x, "", false, false)
		}
		st.Record(vs.name, vs.version, id, now, out, sl)
	}
	clear(sl)
}

// decimalLen is the number of decimal digits of i >= 0.
func decimalLen(i int) int {
	n := 1
	for i >= 10 {
		i /= 10
		n++
	}
	return n
}

// feedbackItem is one label of a feedback body.
type feedbackItem struct {
	ID    *string          `json:"id"`
	Label *json.RawMessage `json:"label"`
	Time  *string          `json:"time"`
}

// handleFeedback answers POST /v1/models/{name}/feedback: a JSON array of
// {"id", "label", "time"} (time RFC 3339, optional: now), joined to the
// model's recorded predictions (labels.Store.Label), and to its shadows'
// (labelShadows; not in the answer's counts); 200 with the labels.Result
// of the model's own predictions; 400 naming the item and field of a
// malformed item (none of the call is applied); 404 for an unknown model;
// 503 when the server records no labels.
func (s *Server) handleFeedback(ctx *fasthttp.RequestCtx, t target) {
	if t.version != 0 || t.label != nil {
		s.writeError(ctx, Errorf(fasthttp.StatusBadRequest, "POST /v1/models/%s/feedback takes labels for every version of the model; drop the version or label from the path", t.name))
		return
	}
	st := s.opts.Labels
	if st == nil {
		s.writeError(ctx, Errorf(fasthttp.StatusServiceUnavailable, "labels are off in this server: start predictd serve with --labels-dir DIR or a labels block with dir in the config file"))
		return
	}
	name := string(t.name)
	if _, err := s.models.Status(name); err != nil {
		s.writeError(ctx, err)
		return
	}
	ls, err := parseFeedback(ctx.PostBody(), s.opts.MaxInstances, time.Now())
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	res, err := st.Label(name, ls)
	if err != nil {
		s.writeError(ctx, fmt.Errorf("labels store: %w", err))
		return
	}
	s.countLabels(name, res)
	s.labelShadows(name, ls)
	b, _ := json.Marshal(res)
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}

// parseFeedback decodes a feedback body of at most max items; a label
// without a time gets now.
func parseFeedback(body []byte, max int, now time.Time) ([]labels.Label, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, Errorf(fasthttp.StatusBadRequest, "feedback body: want a JSON array of {\"id\", \"label\", \"time\"}: %v", err)
	}
	if len(items) > max {
		return nil, Errorf(fasthttp.StatusRequestEntityTooLarge, "feedback body: %d labels, more than the %d a call may carry (--max-instances); send them in chunks", len(items), max)
	}
	out := make([]labels.Label, len(items))
	for i, raw := range items {
		var it feedbackItem
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&it); err != nil {
			return nil, Errorf(fasthttp.StatusBadRequest, "feedback item %d: want {\"id\": string, \"label\": number, \"time\": RFC 3339 string}: %v", i, err)
		}
		if it.ID == nil || *it.ID == "" {
			return nil, Errorf(fasthttp.StatusBadRequest, "feedback item %d: field id: missing or empty", i)
		}
		if it.Label == nil {
			return nil, Errorf(fasthttp.StatusBadRequest, "feedback item %d: field label: missing", i)
		}
		var v float64
		if err := json.Unmarshal(*it.Label, &v); err != nil {
			return nil, Errorf(fasthttp.StatusBadRequest, "feedback item %d: field label: %s is not a number", i, *it.Label)
		}
		l := labels.Label{ID: *it.ID, Value: v, Time: now}
		if it.Time != nil {
			tm, err := time.Parse(time.RFC3339Nano, *it.Time)
			if err != nil {
				return nil, Errorf(fasthttp.StatusBadRequest, "feedback item %d: field time: %q is not an RFC 3339 time", i, *it.Time)
			}
			l.Time = tm
		}
		out[i] = l
	}
	return out, nil
}

var (
	lbLabelsDesc = prometheus.NewDesc("predictd_labels_total",
		"Labels received by POST /v1/models/{name}/feedback, by model and outcome: joined, unknown (no such prediction), duplicate, late (after the join window), invalid.",
		[]string{"model", "outcome"}, nil)
	lbDroppedDesc = prometheus.NewDesc("predictd_labels_predictions_dropped_total",
		"Predictions the labels store did not record: its queue full or closed.", nil, nil)
	lbRecordedDesc = prometheus.NewDesc("predictd_labels_predictions_recorded_total",
		"Predictions the labels store accepted for recording.", nil, nil)
)

// labelOutcomes names the outcomes counted per model, in labelCounts'
// order.
var labelOutcomes = [...]string{"joined", "unknown", "duplicate", "late", "invalid"}

// labelCounts are one model's label outcomes, by labelOutcomes.
type labelCounts [len(labelOutcomes)]atomic.Int64

// countLabels adds res to model's label counters. Models are those the
// server serves (handleFeedback checked), so the series are bounded.
func (s *Server) countLabels(model string, res labels.Result) {
	v, ok := s.labelCounts.Load(model)
	if !ok {
		v, _ = s.labelCounts.LoadOrStore(model, new(labelCounts))
	}
	c := v.(*labelCounts)
	for i, n := range [...]int{res.Joined, res.Unknown, res.Duplicate, res.Late, res.Invalid} {
		c[i].Add(int64(n))
	}
}

// labelsCollector reports the labels store's counters and the server's
// per-model label outcomes.
type labelsCollector struct{ s *Server }

func (c labelsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{lbLabelsDesc, lbDroppedDesc, lbRecordedDesc} {
		ch <- d
	}
}

func (c labelsCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.labelCounts.Range(func(k, v any) bool {
		for i, o := range labelOutcomes {
			ch <- prometheus.MustNewConstMetric(lbLabelsDesc, prometheus.CounterValue, float64(v.(*labelCounts)[i].Load()), k.(string), o)
		}
		return true
	})
	st := c.s.opts.Labels.Stats()
	ch <- prometheus.MustNewConstMetric(lbDroppedDesc, prometheus.CounterValue, float64(st.Dropped))
	ch <- prometheus.MustNewConstMetric(lbRecordedDesc, prometheus.CounterValue, float64(st.Recorded))
}
