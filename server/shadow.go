package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/internal/sample"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/rollout/shadow"
)

// Shadow traffic (ModelOptions.Shadow, rollout/shadow, docs/shadow.md):
// each prepared version of a model with a shadow gets a shadow.Shadow.
// After a successful answer is composed, infer offers the request to it
// when the request's id is in the sample (internal/sample, the prediction
// log's hash, over the request's id: a request is offered whole or not at
// all): the rows exactly as the live model took them (its model columns:
// transformed for a version with transforms) and the live predictions.
// Offer copies them into the shadow's bounded queue and never waits; a
// full queue drops and counts. The shadow's workers predict only while
// the server has spare capacity (fewer prediction requests in flight than
// GOMAXPROCS), each batch through a handle of the shadow version taken by
// Models.Acquire and released after the batch.
//
// The shadow gets the live model's columns, not the request's raw inputs:
// string inputs reach the server as per-request codes that only the
// request can read, so they cannot be queued, and a transform of the
// shadow's own would need them. So the shadow version must take the same
// model columns (names, in order) and, when the live version has
// transforms, the same fitted transform file (its SHA-256), and predict
// as many outputs. A shadow that does not is not refused at load (it may
// be loaded later, or another version may be): each batch checks it and
// counts a mismatch as a shadow error naming both sides, as it counts a
// shadow version that is not loaded; the live answer never depends on
// the shadow.
//
// With labels on, the shadow's predictions are also recorded in the
// labels store under the live request's ids, for its quality against
// labels (shadow_labels.go).

// ShadowOptions is a model's shadow (ModelOptions.Shadow).
type ShadowOptions struct {
	// Model is the shadow's model name; "" is the live model itself, and
	// then Version is required.
	Model string
	// Version is the shadow's version; 0 is the latest loaded version of
	// Model (another model only).
	Version int
	// SampleRate in [0, 1] is the share of request ids offered.
	SampleRate float64
	// Tolerance and Threshold are shadow.Options': the largest difference
	// at which regression outputs agree (default 0), the binary decision
	// threshold (default 0.5).
	Tolerance, Threshold float64
	// QueueRows and Workers are shadow.Options'; 0: its defaults (4096
	// rows, 1 worker).
	QueueRows, Workers int
}

// Validate checks o as the shadow of the model named live; the error
// names the field.
func (o ShadowOptions) Validate(live string) error {
	switch {
	case o.Model == "" || o.Model == live:
		if o.Version < 1 {
			return fmt.Errorf("shadow of model %q: version %d: a shadow of the same model needs the version to compare (1 or more)", live, o.Version)
		}
	case o.Version < 0:
		return fmt.Errorf("shadow of model %q: model_version %d: want 1 or more, or leave it out for the latest of model %q", live, o.Version, o.Model)
	}
	switch {
	case !(o.SampleRate >= 0 && o.SampleRate <= 1):
		return fmt.Errorf("shadow of model %q: sample_rate %v: want a share in [0, 1]", live, o.SampleRate)
	case !(o.Tolerance >= 0) || math.IsInf(o.Tolerance, 1):
		return fmt.Errorf("shadow of model %q: tolerance %v: want a finite difference ≥ 0", live, o.Tolerance)
	case o.Threshold != 0 && !(o.Threshold > 0 && o.Threshold <= 1):
		return fmt.Errorf("shadow of model %q: threshold %v: want a probability in (0, 1]", live, o.Threshold)
	case o.QueueRows < 0 || o.QueueRows > shadow.MaxQueueRows:
		return fmt.Errorf("shadow of model %q: queue_rows %d: want 1..%d, or leave it out for %d", live, o.QueueRows, shadow.MaxQueueRows, shadow.DefaultOptions().QueueRows)
	case o.Workers < 0 || o.Workers > shadow.MaxWorkers:
		return fmt.Errorf("shadow of model %q: workers %d: want 1..%d, or leave it out for 1", live, o.Workers, shadow.MaxWorkers)
	}
	return nil
}

// shadowState is a live version's shadow.
type shadowState struct {
	sh   *shadow.Shadow
	rate sample.Rate
	// model and version name the shadow (version 0: the latest); label is
	// the metrics' shadow label: "v<N>" for a version of the live model,
	// "<model>:<N>" or "<model>:latest" for another model.
	model   string
	version int
	label   string
	rate64  float64
	// pending counts the rows offered and not yet taken by a batch;
	// lastBatch is when the last batch started (unix ns): the idle gate
	// waits for a full batch or for shadowLinger (shadowIdle).
	pending, lastBatch atomic.Int64
	// predictNs sums the wall time of the shadow's successful batches,
	// the sum of predictd_shadow_latency_seconds.
	predictNs atomic.Int64
	// lb records the shadow's predictions in the labels store; nil when
	// they are not (shadow_labels.go).
	lb *shadowLabels
}

// The shadow's gate (shadowIdle): a batch starts only while fewer
// prediction requests than GOMAXPROCS are in flight, and only once
// shadowBatchRows rows wait or shadowLinger has passed since the last
// batch. Without the wait for a batch a worker woke per request and
// predicted it alone: BenchmarkShadowLoad measured the live p99 at 2.9×
// that of no shadow (docs/shadow.md).
const (
	shadowBatchRows = 64
	shadowLinger    = 10 * time.Millisecond
	shadowChunkRows = 8
)

// shadowIdle is st's shadow.Options.Idle.
func (s *Server) shadowIdle(st *shadowState, procs int64) bool {
	if s.inflight.Load() >= procs {
		return false
	}
	return st.pending.Load() >= shadowBatchRows || time.Now().UnixNano()-st.lastBatch.Load() >= int64(shadowLinger)
}

// shadowSig is what a shadow must share with its live version: the model
// columns in order, the transform file's hash, the number of outputs.
type shadowSig struct {
	columns   []string
	transform string // SHA-256 of the transform file; "" for none
	outputs   int
}

func sigOf(m *model.Manifest, outputs int) *shadowSig {
	sg := &shadowSig{outputs: outputs}
	for _, f := range m.Columns() {
		sg.columns = append(sg.columns, f.Name)
	}
	if m.Transform != nil {
		sg.transform = m.Transform.SHA256
	}
	return sg
}

// differs says how the shadow's signature o differs from the live sg; ""
// when it does not.
func (sg *shadowSig) differs(o *shadowSig) string {
	switch {
	case !slices.Equal(sg.columns, o.columns):
		return fmt.Sprintf("takes the columns [%s], the live version [%s]", strings.Join(o.columns, " "), strings.Join(sg.columns, " "))
	case sg.transform != o.transform:
		return fmt.Sprintf("has the transform %q, the live version %q (sha256; the shadow is given the live version's transformed columns)", o.transform, sg.transform)
	case sg.outputs != o.outputs:
		return fmt.Sprintf("predicts %d outputs, the live version %d", o.outputs, sg.outputs)
	}
	return ""
}

// prepareShadow gives the live version vs (manifest m) its shadow
// signature and, when o is set, its shadow. A shadow that cannot be set
// up (a task it cannot compare) is logged, not an error: the live version
// serves without it.
func (s *Server) prepareShadow(vs *versionState, m *model.Manifest, o *ShadowOptions) {
	vs.shadowSig = sigOf(m, vs.outputs)
	if o == nil {
		return
	}
	name := o.Model
	if name == "" {
		name = vs.name
	}
	if name == vs.name && o.Version == vs.version {
		// The shadow is this version: nothing to compare.
		return
	}
	label := "v" + strconv.Itoa(o.Version)
	switch {
	case name != vs.name && o.Version == 0:
		label = name + ":latest"
	case name != vs.name:
		label = name + ":" + strconv.Itoa(o.Version)
	}
	st := &shadowState{model: name, version: o.Version, label: label, rate: sample.NewRate(o.SampleRate), rate64: o.SampleRate}
	live := vs.shadowSig
	procs := int64(runtime.GOMAXPROCS(0))
	sopts := shadow.Options{
		QueueRows: o.QueueRows,
		Workers:   o.Workers,
		Inputs:    vs.columns,
		Outputs:   vs.outputs,
		Task:      m.Task,
		Threshold: o.Threshold,
		Tolerance: o.Tolerance,
		BatchRows: shadowBatchRows,
		Idle:      func() bool { return s.shadowIdle(st, procs) },
		Logf:      s.opts.Logf,
		Predict: func(_ context.Context, dst, rows []float64, n int) ([]float64, error) {
			st.pending.Add(-int64(n))
			t0 := time.Now()
			st.lastBatch.Store(t0.UnixNano())
			dst, err := s.shadowPredict(st, live, vs, dst, rows)
			if err == nil {
				st.predictNs.Add(int64(time.Since(t0)))
			}
			return dst, err
		},
	}
	s.prepareShadowLabels(vs, st, &sopts)
	sh, err := shadow.New(sopts)
	if err != nil {
		s.opts.Logf("model %s version %d: shadow %s off: %v", vs.name, vs.version, label, err)
		return
	}
	st.sh = sh
	vs.shadow = st
}

// shadowPredict predicts rows with the shadow version, through a handle
// taken for this batch.
func (s *Server) shadowPredict(st *shadowState, live *shadowSig, vs *versionState, dst, rows []float64) ([]float64, error) {
	prepared, rel, err := s.models.Acquire(st.model, st.version, "")
	if err != nil {
		if st.version == 0 {
			return nil, fmt.Errorf("shadow model %s (latest) of model %s version %d: %w", st.model, vs.name, vs.version, err)
		}
		return nil, fmt.Errorf("shadow model %s version %d of model %s version %d: %w", st.model, st.version, vs.name, vs.version, err)
	}
	defer rel.Release()
	svs := prepared.(*versionState)
	if why := live.differs(svs.shadowSig); why != "" {
		return nil, fmt.Errorf("shadow model %s version %d cannot shadow model %s version %d: it %s", svs.name, svs.version, vs.name, vs.version, why)
	}
	// A few rows at a time, yielding between them, so that a live
	// request waiting for this P waits for a chunk, not the batch.
	w := len(live.columns)
	for len(rows) > 0 {
		k := min(len(rows), shadowChunkRows*w)
		dst = svs.model.Predict(dst, rows[:k], false)
		rows = rows[k:]
		if len(rows) > 0 {
			runtime.Gosched()
		}
	}
	return dst, nil
}

// offerShadow offers c's answered request, computed by vs from rows (the
// model's columns) in took and answered at now, to vs's shadow when its
// id is sampled, with its id and time (for the labels store). It never
// waits and allocates nothing.
func (s *Server) offerShadow(vs *versionState, c *exchange, rows []float64, now time.Time, took time.Duration) {
	st := vs.shadow
	if st == nil || !st.rate.Keep(unsafe.String(unsafe.SliceData(c.id), len(c.id))) {
		return
	}
	r := &c.Request
	if len(rows) < r.N*vs.columns || len(r.Preds) < r.N*vs.outputs {
		// Not the model's columns: the model could not have predicted
		// them either. Never a reason to fail the answered request.
		return
	}
	if st.sh.OfferID(c.id, now, rows[:r.N*vs.columns], r.N, r.Preds[:r.N*vs.outputs], took) {
		st.pending.Add(int64(r.N))
	}
}

// retireShadow stops vs's shadow: its queued rows are dropped. It does not
// wait for a batch in flight: Retired may run inside the manager's
// release of a handle, and that batch may be waiting on the manager to
// take or give back the shadow's handle.
func (s *Server) retireShadow(vs *versionState) {
	if vs.shadow != nil {
		s.forgetShadowQuality(vs)
		go vs.shadow.sh.Close()
	}
}

// ShadowReport is a live version's shadow in /monitor's "shadow".
type ShadowReport struct {
	Version int `json:"version"` // the live version
	// Model and ShadowVersion name the shadow (0: the latest of Model);
	// Shadow is the metrics' shadow label.
	Model         string  `json:"model"`
	ShadowVersion int     `json:"shadow_version"`
	Shadow        string  `json:"shadow"`
	SampleRate    float64 `json:"sample_rate"`
	shadow.Report
	// Quality is the labels store's report of the shadow's predictions
	// (shadow_labels.go), or {"error": ...}; absent when they are not
	// recorded.
	Quality json.RawMessage `json:"quality,omitempty"`
}

// shadowReports are the shadow reports of model name's live versions,
// oldest version first.
func (s *Server) shadowReports(name string) []ShadowReport {
	var out []ShadowReport
	s.versions.Range(func(k, _ any) bool {
		vs := k.(*versionState)
		if vs.name == name && vs.shadow != nil {
			st := vs.shadow
			out = append(out, ShadowReport{Version: vs.version, Model: st.model, ShadowVersion: st.version, Shadow: st.label, SampleRate: st.rate64, Report: st.sh.Snapshot(),
				Quality: s.shadowQualityJSON(vs)})
		}
		return true
	})
	slices.SortFunc(out, func(a, b ShadowReport) int { return a.Version - b.Version })
	return out
}

// addShadow adds the "shadow" member, the model's shadow reports, to body
// (the /monitor report, a JSON object, or nil). It reports false when
// there is nothing to report.
func (s *Server) addShadow(name string, body []byte) ([]byte, bool, error) {
	reps := s.shadowReports(name)
	if len(reps) == 0 {
		return body, body != nil, nil
	}
	top := map[string]json.RawMessage{}
	if body != nil {
		if err := json.Unmarshal(body, &top); err != nil {
			return nil, false, fmt.Errorf("shadow: the monitor report: %w", err)
		}
	} else {
		top["model"], _ = json.Marshal(name)
		top["time"], _ = json.Marshal(time.Now().UTC())
	}
	raw, err := json.Marshal(reps)
	if err != nil {
		return nil, false, err
	}
	top["shadow"] = raw
	out, err := json.Marshal(top)
	return out, err == nil, err
}

var (
	shOfferedDesc  = shadowDesc("predictd_shadow_offered_total", "Rows offered to the shadow (the sampled requests' instances).")
	shDroppedDesc  = shadowDesc("predictd_shadow_dropped_total", "Offered rows dropped: the shadow's queue was full, or the version retired with them queued.")
	shComparedDesc = shadowDesc("predictd_shadow_compared_total", "Rows the shadow predicted and compared with the live predictions.")
	shErrorsDesc   = shadowDesc("predictd_shadow_errors_total", "Rows of shadow batches that failed (shadow not loaded, not compatible, or its predict failed).")
	shAgreeDesc    = shadowDesc("predictd_shadow_agreement_ratio", "Share of compared rows where the shadow agrees with the live model (same class; within the tolerance for scores); NaN before any.")
	shMeanDesc     = shadowDesc("predictd_shadow_abs_diff_mean", "Mean absolute difference of the compared output between live and shadow; NaN before any.")
	shMaxDesc      = shadowDesc("predictd_shadow_abs_diff_max", "Largest absolute difference of the compared output between live and shadow; NaN before any.")
	shDistDesc     = shadowDesc("predictd_shadow_distribution_distance", "Jensen-Shannon distance (base 2) between the live and the shadow prediction distributions; NaN before any.")
	shLatencyDesc  = shadowDesc("predictd_shadow_latency_seconds",
		"The shadow's prediction time per row (its batch's time over its rows); the count is the rows predicted, the sum their batches' time.")
)

func shadowDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"model", "version", "shadow"}, nil)
}

// shadowCollector reports each live version's shadow; its series go when
// the version retires.
type shadowCollector struct{ s *Server }

func (c shadowCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{shOfferedDesc, shDroppedDesc, shComparedDesc, shErrorsDesc, shAgreeDesc, shMeanDesc, shMaxDesc, shDistDesc, shLatencyDesc, shQualityDesc, shQualityRowsDesc} {
		ch <- d
	}
}

func (c shadowCollector) Collect(ch chan<- prometheus.Metric) {
	c.s.versions.Range(func(k, _ any) bool {
		vs := k.(*versionState)
		st := vs.shadow
		if st == nil {
			return true
		}
		r := st.sh.Snapshot()
		lv := []string{vs.name, strconv.Itoa(vs.version), st.label}
		counter := func(d *prometheus.Desc, v int64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
		}
		gauge := func(d *prometheus.Desc, v shadow.Stat) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), lv...)
		}
		counter(shOfferedDesc, r.OfferedRows)
		counter(shDroppedDesc, r.DroppedRows)
		counter(shComparedDesc, r.ComparedRows)
		counter(shErrorsDesc, r.ErrorRows)
		gauge(shAgreeDesc, r.AgreementRate)
		gauge(shMeanDesc, r.MeanAbsDiff)
		gauge(shMaxDesc, r.MaxAbsDiff)
		gauge(shDistDesc, r.Outputs.JSDistance)
		lat := r.ShadowRowLatency
		ch <- prometheus.MustNewConstSummary(shLatencyDesc, uint64(lat.Count), time.Duration(st.predictNs.Load()).Seconds(),
			map[float64]float64{0.5: lat.P50, 0.99: lat.P99}, lv...)
		c.s.collectShadowQuality(ch, vs, lv)
		return true
	})
}
