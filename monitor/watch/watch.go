// Package watch is the daemon's model monitor: what the server tells it
// after each prediction (the rows, the predictions, the latency and the
// status) becomes, per served model version, live distributions against
// the version's reference (monitor/live), drift statistics (monitor/drift,
// the very functions `predictd drift` runs offline), the cost of its
// predictions (monitor/cost) and, per model, its SLOs (monitor/slo). It
// answers GET /v1/models/{name}/monitor and exports the same numbers to
// /metrics.
//
// The server calls Attach when a version is prepared, Detach when it
// retires, and per request Version.Observe, Version.Meter and Request;
// none of them waits or allocates. Report and the collector compute drift
// when asked (a scrape, a /monitor call), at most once per RecomputeEvery
// for each version and window.
//
// All methods are safe for concurrent use.
package watch

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/monitor/cost"
	"github.com/predictd/predictd/monitor/drift"
	"github.com/predictd/predictd/monitor/live"
	"github.com/predictd/predictd/monitor/slo"
)

// Windows are the spans /monitor reports: recent traffic, the last hour
// and everything since the version loaded (span 0).
var Windows = []struct {
	Name string
	Span time.Duration
}{{"5m", 5 * time.Minute}, {"1h", time.Hour}, {"since_load", 0}}

// Options configure a Monitor.
type Options struct {
	// Live bounds the recorders' memory and work (live.DefaultOptions).
	Live live.Options
	// Every is a model's sampling: one row in Every is recorded (default
	// 1, every row); set it for a model so cheap that recording shows in
	// its latency.
	Every map[string]int
	// Thresholds judge drift: per model, else Default.
	Thresholds        map[string]drift.Thresholds
	DefaultThresholds drift.Thresholds
	// GaugeWindow is the window the /metrics drift gauges judge; one of
	// Windows' spans. Default one hour.
	GaugeWindow time.Duration
	// MaxGaugeSeries caps the drift series per version in /metrics (its
	// features and outputs, each a few gauges): a model of more features
	// exports the first MaxGaugeSeries and counts the rest in
	// predictd_drift_series_omitted. Default 200. /monitor has them all.
	MaxGaugeSeries int
	// RecomputeEvery bounds how often drift is recomputed per version and
	// window; default 10s.
	RecomputeEvery time.Duration
	// SLO, if set, tracks the models' SLOs (Request feeds it).
	SLO *slo.Tracker
	// Costs, if set, prices the versions' predictions.
	Costs *cost.Ledger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logf logs a version whose reference cannot be read.
	Logf func(format string, args ...any)
}

// Monitor is the daemon's model monitor.
type Monitor struct {
	opts     Options
	mu       sync.Mutex
	versions map[string][]*Version // by model name, by version ascending
}

// New returns a Monitor. Errors name the bad field.
func New(opts Options) (*Monitor, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.DefaultThresholds == (drift.Thresholds{}) {
		opts.DefaultThresholds = drift.DefaultThresholds()
	}
	if err := opts.DefaultThresholds.Check(); err != nil {
		return nil, fmt.Errorf("watch: Options.DefaultThresholds: %w", err)
	}
	for name, th := range opts.Thresholds {
		if err := th.Check(); err != nil {
			return nil, fmt.Errorf("watch: Options.Thresholds[%q]: %w", name, err)
		}
	}
	if opts.GaugeWindow == 0 {
		opts.GaugeWindow = time.Hour
	}
	if !slices.ContainsFunc(Windows, func(w struct {
		Name string
		Span time.Duration
	}) bool {
		return w.Span == opts.GaugeWindow
	}) {
		return nil, fmt.Errorf("watch: Options.GaugeWindow %s: want 5m, 1h or 0 (since load)", opts.GaugeWindow)
	}
	if opts.MaxGaugeSeries == 0 {
		opts.MaxGaugeSeries = 200
	}
	if opts.MaxGaugeSeries < 0 {
		return nil, fmt.Errorf("watch: Options.MaxGaugeSeries %d: want a positive cap", opts.MaxGaugeSeries)
	}
	if opts.RecomputeEvery == 0 {
		opts.RecomputeEvery = 10 * time.Second
	}
	for name, e := range opts.Every {
		if e < 1 {
			return nil, fmt.Errorf("watch: Options.Every[%q] %d: want 1 or more", name, e)
		}
	}
	return &Monitor{opts: opts, versions: make(map[string][]*Version)}, nil
}

// Version is one served version's monitor.
type Version struct {
	Model   string
	Number  int
	ref     *model.Reference // nil: no reference
	noRef   string           // why there is none
	rec     *live.Recorder   // nil without a reference
	meter   *cost.Meter
	th      drift.Thresholds
	loaded  time.Time
	nInputs int

	mu     sync.Mutex
	cached [3]cachedReport // per Windows entry
}

type cachedReport struct {
	at  time.Time
	rep *drift.Report
	err error
}

// Attach starts monitoring a version as it is prepared: it reads the
// version's reference (a version without one, or with one that cannot be
// read, is served all the same and reported as having none) and makes its
// recorder and cost meter.
func (m *Monitor) Attach(l *model.Loaded) *Version {
	man := l.Manifest
	v := &Version{Model: man.Name, Number: man.Version, loaded: m.opts.Now(), nInputs: len(man.Columns())}
	v.th = m.opts.DefaultThresholds
	if th, ok := m.opts.Thresholds[man.Name]; ok {
		v.th = th
	}
	if m.opts.Costs != nil {
		v.meter = m.opts.Costs.Meter(man.Name, man.Version, man.Payload.DecodedBytes, v.loaded)
	}
	ref, err := model.ReadReference(l.Dir, man)
	switch {
	case errors.Is(err, model.ErrNoReference):
		v.noRef = "no reference: profile the version (predictd profile, or import --reference) to monitor drift"
	case err != nil:
		v.noRef = "reference unreadable: " + err.Error()
		m.opts.Logf("model %s version %d: monitoring without drift: %v", man.Name, man.Version, err)
	default:
		series := make([]live.Series, 0, len(ref.Features)+len(ref.Outputs))
		for i := range ref.Features {
			series = append(series, live.Series{Name: ref.Features[i].Name, Bins: &ref.Features[i]})
		}
		for i := range ref.Outputs {
			series = append(series, live.Series{Name: ref.Outputs[i].Name, Bins: &ref.Outputs[i]})
		}
		lo := m.opts.Live
		if e, ok := m.opts.Every[man.Name]; ok {
			lo.Every = e
		}
		rec, err := live.New(series, lo)
		if err != nil {
			v.noRef = "recorder: " + err.Error()
			m.opts.Logf("model %s version %d: monitoring without drift: %v", man.Name, man.Version, err)
			break
		}
		v.ref, v.rec = ref, rec
	}
	m.mu.Lock()
	vs := append(m.versions[v.Model], v)
	sort.Slice(vs, func(i, j int) bool { return vs[i].Number < vs[j].Number })
	m.versions[v.Model] = vs
	m.mu.Unlock()
	return v
}

// Detach stops monitoring a retired version; its series leave /metrics.
func (m *Monitor) Detach(v *Version) {
	if m.opts.Costs != nil && v.meter != nil {
		m.opts.Costs.Drop(v.meter)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.versions[v.Model]
	if i := slices.Index(vs, v); i >= 0 {
		vs = slices.Delete(vs, i, i+1)
	}
	if len(vs) == 0 {
		delete(m.versions, v.Model)
	} else {
		m.versions[v.Model] = vs
	}
}

// Observe records n rows of a request answered at now: rows holds n rows of
// the model's inputs (the joined ones included) and preds n rows of its
// outputs. A version without a reference records nothing.
func (v *Version) Observe(now time.Time, rows, preds []float64, n int) {
	if v != nil && v.rec != nil {
		v.rec.Observe(now, rows, preds, n)
	}
}

// Meter is the version's cost meter, nil without a cost ledger (a nil
// Meter's spans do nothing).
func (v *Version) Meter() *cost.Meter {
	if v == nil {
		return nil
	}
	return v.meter
}

// Request records a prediction request of model answered with code after
// latency (negative when the client left before an answer: it counts for
// availability only).
func (m *Monitor) Request(model string, latency time.Duration, code int) {
	if m.opts.SLO != nil {
		m.opts.SLO.Observe(model, latency, code)
	}
}

// drift returns the drift report of window i, recomputed at most once per
// RecomputeEvery.
func (m *Monitor) drift(v *Version, i int, now time.Time) (*drift.Report, error) {
	if v.rec == nil {
		return nil, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	c := &v.cached[i]
	if c.rep != nil && now.Sub(c.at) < m.opts.RecomputeEvery && !now.Before(c.at) {
		return c.rep, c.err
	}
	w := v.rec.Window(now, Windows[i].Span)
	dw := drift.NewWindow(v.ref)
	fill := func(obs []drift.Observed, first int) {
		for k := range obs {
			sw := w.Series[first+k]
			obs[k].Rows = w.Rows
			obs[k].Missing = int64(sw.Missing)
			for b, c := range sw.Counts {
				obs[k].Counts[b] = int64(c)
			}
			obs[k].Sample = sw.Sample
		}
	}
	fill(dw.Features, 0)
	fill(dw.Outputs, len(dw.Features))
	c.at = now
	c.rep, c.err = drift.Compare(v.ref, dw, v.th)
	return c.rep, c.err
}

// ErrUnknownModel is Report's error for a model with no version served.
var ErrUnknownModel = errors.New("no version of this model is served")

// Report is GET /v1/models/{name}/monitor: for each served version its
// reference, windows with their drift reports, its cost, and the model's
// SLOs.
func (m *Monitor) Report(name string) ([]byte, error) {
	now := m.opts.Now()
	if m.opts.Costs != nil {
		m.opts.Costs.Tick(now)
	}
	m.mu.Lock()
	vs := slices.Clone(m.versions[name])
	m.mu.Unlock()
	if len(vs) == 0 {
		return nil, fmt.Errorf("model %s: %w", model.Quote(name), ErrUnknownModel)
	}
	type window struct {
		Name    string        `json:"name"`
		Rows    int64         `json:"rows"`
		Dropped int64         `json:"dropped_rows"`
		Drift   *drift.Report `json:"drift"`
	}
	type reference struct {
		Rows    int64     `json:"rows"`
		Source  string    `json:"source,omitempty"`
		Created time.Time `json:"created"`
	}
	type version struct {
		Version   int        `json:"version"`
		Loaded    time.Time  `json:"loaded"`
		Reference *reference `json:"reference"`
		NoRef     string     `json:"no_reference,omitempty"`
		Windows   []window   `json:"windows,omitempty"`
		Cost      *cost.Cost `json:"cost,omitempty"`
	}
	out := struct {
		Model    string        `json:"model"`
		Time     time.Time     `json:"time"`
		Versions []version     `json:"versions"`
		SLO      *slo.Snapshot `json:"slo,omitempty"`
	}{Model: name, Time: now.UTC()}
	var costs []cost.Cost
	if m.opts.Costs != nil {
		costs, _ = m.opts.Costs.Costs()
	}
	for _, v := range vs {
		ver := version{Version: v.Number, Loaded: v.loaded.UTC(), NoRef: v.noRef}
		if v.ref != nil {
			ver.Reference = &reference{Rows: v.ref.Rows, Source: v.ref.Source, Created: v.ref.Created}
			for i, w := range Windows {
				rep, err := m.drift(v, i, now)
				if err != nil {
					return nil, fmt.Errorf("model %s version %d: window %s: %w", name, v.Number, w.Name, err)
				}
				lw := v.rec.Window(now, w.Span)
				ver.Windows = append(ver.Windows, window{Name: w.Name, Rows: lw.Rows, Dropped: lw.Dropped, Drift: rep})
			}
		}
		for i := range costs {
			if costs[i].Model == name && costs[i].Version == v.Number {
				ver.Cost = &costs[i]
			}
		}
		out.Versions = append(out.Versions, ver)
	}
	if m.opts.SLO != nil {
		if s, ok := m.opts.SLO.Snapshot(name); ok {
			out.SLO = &s
		}
	}
	return json.MarshalIndent(out, "", "  ")
}

// statusValue is predictd_drift_status's value: 0 ok, 1 warn, 2 drift,
// -1 insufficient data (docs/slo.md, the alert rules' contract).
func statusValue(s drift.Status) float64 {
	switch s {
	case drift.StatusOK:
		return 0
	case drift.StatusWarn:
		return 1
	case drift.StatusDrift:
		return 2
	}
	return -1
}

var (
	descStatus = prometheus.NewDesc("predictd_drift_status",
		"Drift of a feature or output (an output's feature label is output:NAME) over the gauge window against the version's reference: 0 ok, 1 warn, 2 drift, -1 too few rows to judge.",
		[]string{"model", "version", "feature"}, nil)
	descPSI = prometheus.NewDesc("predictd_drift_psi",
		"Population stability index of a feature or output over the gauge window against the reference's bins.",
		[]string{"model", "version", "feature"}, nil)
	descJS = prometheus.NewDesc("predictd_drift_js_distance",
		"Jensen-Shannon distance (base 2) of a feature or output over the gauge window against the reference's bins.",
		[]string{"model", "version", "feature"}, nil)
	descMissing = prometheus.NewDesc("predictd_drift_missing_ratio",
		"Share of a feature's values missing over the gauge window.",
		[]string{"model", "version", "feature"}, nil)
	descOmitted = prometheus.NewDesc("predictd_drift_series_omitted",
		"Features and outputs of a version not exported as drift gauges (over the cap); /v1/models/NAME/monitor has them all.",
		[]string{"model", "version"}, nil)
	descRows = prometheus.NewDesc("predictd_monitor_rows_total",
		"Rows recorded for drift since the version loaded (after sampling).",
		[]string{"model", "version"}, nil)
	descDropped = prometheus.NewDesc("predictd_monitor_dropped_rows_total",
		"Rows not recorded for drift because every recorder shard was busy (never delayed).",
		[]string{"model", "version"}, nil)
	descPred = prometheus.NewDesc("predictd_prediction_value",
		"Distribution of a numeric output since the version loaded, over the reference's bin edges (a bucket le=e counts values below e: the reference's bins are closed on the left).",
		[]string{"model", "version", "output"}, nil)
	descCostM = prometheus.NewDesc("predictd_cost_per_million_predictions",
		"Price of a million predictions of a version over the recent window (attributed CPU at --cost-per-core-hour and memory held at --cost-per-gib-hour).",
		[]string{"model", "version"}, nil)
	descCPU = prometheus.NewDesc("predictd_model_cpu_seconds_total",
		"Process CPU seconds attributed to a version (its share of the measured work).",
		[]string{"model", "version"}, nil)
	descMem = prometheus.NewDesc("predictd_model_memory_bytes",
		"Memory a loaded version holds (its decoded payload).",
		[]string{"model", "version"}, nil)
)

// Describe is prometheus.Collector's.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStatus, descPSI, descJS, descMissing, descOmitted, descRows, descDropped, descPred, descCostM, descCPU, descMem} {
		ch <- d
	}
}

// Collect is prometheus.Collector's: the drift gauges over GaugeWindow,
// the prediction distributions and the costs.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	now := m.opts.Now()
	gi := slices.IndexFunc(Windows, func(w struct {
		Name string
		Span time.Duration
	}) bool {
		return w.Span == m.opts.GaugeWindow
	})
	m.mu.Lock()
	var all []*Version
	for _, vs := range m.versions {
		all = append(all, vs...)
	}
	m.mu.Unlock()
	for _, v := range all {
		if v.rec == nil {
			continue
		}
		ver := strconv.Itoa(v.Number)
		rep, err := m.drift(v, gi, now)
		if err != nil || rep == nil {
			continue
		}
		exported := 0
		emit := func(r drift.Result, label string) {
			if exported >= m.opts.MaxGaugeSeries {
				return
			}
			exported++
			g := func(d *prometheus.Desc, x float64) {
				if !math.IsNaN(x) && !math.IsInf(x, 0) {
					ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, x, v.Model, ver, label)
				}
			}
			g(descStatus, statusValue(r.Status))
			g(descPSI, r.Stats.PSI)
			g(descJS, r.Stats.JS)
			g(descMissing, r.Stats.MissingRate)
		}
		for _, r := range rep.Features {
			emit(r, r.Name)
		}
		for _, r := range rep.Outputs {
			emit(r, "output:"+r.Name)
		}
		total := len(rep.Features) + len(rep.Outputs)
		ch <- prometheus.MustNewConstMetric(descOmitted, prometheus.GaugeValue, float64(total-exported), v.Model, ver)
		w := v.rec.Window(now, 0)
		ch <- prometheus.MustNewConstMetric(descRows, prometheus.CounterValue, float64(w.Rows), v.Model, ver)
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(w.Dropped), v.Model, ver)
		for k := range v.ref.Outputs {
			d := &v.ref.Outputs[k]
			if d.Kind != model.DistNumeric {
				continue
			}
			sw := w.Series[v.nInputs+k]
			buckets := make(map[float64]uint64, len(d.Edges))
			var cum, sum uint64
			for b, e := range d.Edges {
				cum += sw.Counts[b]
				buckets[e] = cum
			}
			for _, c := range sw.Counts {
				sum += c
			}
			ch <- prometheus.MustNewConstHistogram(descPred, sum, math.NaN(), buckets, v.Model, ver, d.Name)
		}
	}
	if m.opts.Costs != nil {
		m.opts.Costs.Tick(now)
		costs, _ := m.opts.Costs.Costs()
		for _, c := range costs {
			ver := strconv.Itoa(c.Version)
			if c.Priced {
				ch <- prometheus.MustNewConstMetric(descCostM, prometheus.GaugeValue, c.PerMillion, c.Model, ver)
			}
			ch <- prometheus.MustNewConstMetric(descCPU, prometheus.CounterValue, c.CPUSeconds, c.Model, ver)
			ch <- prometheus.MustNewConstMetric(descMem, prometheus.GaugeValue, float64(c.MemBytes), c.Model, ver)
		}
	}
}
