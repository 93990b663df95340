package monitor

import (
	"fmt"
	"math"
	"runtime"
	rtmetrics "runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/predictd/predictd/batcher"
)

// LatencyBuckets are the upper bounds of the request latency histogram, in
// seconds: steps of 1.25x to 1.5x from 50µs to 500ms, so that a p99 read
// from the buckets (histogram_quantile) is within a third of the truth in
// the millisecond range where a warm CPU model answers, then coarse up to
// the default write timeout. Every latency objective an SLO may name is one
// of them (the alert rules count requests under a bound), which is why the
// round numbers 1, 2, 5, 10, 25, 50, 100, 250 ms are all here.
var LatencyBuckets = [...]float64{
	0.00005, 0.0001, 0.00015, 0.0002, 0.0003, 0.0004, 0.0005, 0.00075,
	0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075,
	0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075,
	0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75,
	1, 2.5, 5, 10,
}

// Histogram is a fixed-bucket latency histogram (LatencyBuckets) updated
// with atomics: Observe does not allocate and is safe for concurrent use.
// The zero value is empty.
type Histogram struct {
	counts [len(LatencyBuckets) + 1]atomic.Uint64 // the last is +Inf
	sumNs  atomic.Uint64
}

// Observe counts one duration.
func (h *Histogram) Observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && s > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	if d > 0 {
		h.sumNs.Add(uint64(d))
	}
}

// seriesKey names one model version's series on one API. A request that
// names no loaded model is counted under model "" and version 0, so that
// clients cannot grow the series set by inventing names.
type seriesKey struct {
	model   string
	version int
	api     string
}

// Series is a model version's request counters on one API: responses by
// HTTP status, their latency, and the instances predicted. Safe for
// concurrent use; its updates do not allocate.
type Series struct {
	// Latency is the time from a request's arrival to its response being
	// ready.
	Latency Histogram
	// Instances counts the instances (rows) predicted.
	Instances atomic.Uint64
	// codes counts responses by HTTP status; the common ones have fixed
	// slots so the hot path does not touch a map.
	ok, badRequest, tooLarge, unavailable atomic.Uint64
	mu                                    sync.Mutex
	byCode                                map[int]uint64 // statuses outside the fixed slots
}

// Count counts one response of HTTP status code.
func (s *Series) Count(code int) {
	switch code {
	case 200:
		s.ok.Add(1)
	case 400:
		s.badRequest.Add(1)
	case 413:
		s.tooLarge.Add(1)
	case 503:
		s.unavailable.Add(1)
	default:
		s.mu.Lock()
		if s.byCode == nil {
			s.byCode = make(map[int]uint64)
		}
		s.byCode[code]++
		s.mu.Unlock()
	}
}

// Registry holds the daemon's request series and counters. Safe for
// concurrent use.
type Registry struct {
	mu     sync.RWMutex
	series map[seriesKey]*Series

	// Shed counts requests refused at once because max_concurrent requests
	// were in flight; BodyTooLarge those refused by max_body_bytes before
	// a model was resolved; Malformed those the HTTP server refused before
	// routing (400, 408, 413, 431).
	Shed, BodyTooLarge, Malformed atomic.Uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{series: make(map[seriesKey]*Series)}
}

// Drop removes the series of model version v on every API: a version that
// is gone leaves no series behind (Prometheus marks them stale at the next
// scrape), so a daemon that reloads all day does not grow its metrics.
func (m *Registry) Drop(model string, v int) {
	m.mu.Lock()
	for k := range m.series {
		if k.model == model && k.version == v {
			delete(m.series, k)
		}
	}
	m.mu.Unlock()
}

// Series returns the series of model version v on api (the "api" label: a
// small fixed set, such as "v1" and "v2"), creating it. The server looks
// a version's series up once, when it loads; a request that names no
// loaded model is counted under model "" and version 0.
func (m *Registry) Series(model string, v int, api string) *Series {
	return m.get(seriesKey{model: model, version: v, api: api})
}

func (m *Registry) get(k seriesKey) *Series {
	m.mu.RLock()
	s := m.series[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s = m.series[k]; s == nil {
		s = new(Series)
		m.series[k] = s
	}
	return s
}

// Gauge is one extra sample the caller appends to the exposition (model
// states, readiness), computed when /metrics is scraped. Samples of one
// name must be adjacent; the first carries the HELP text.
type Gauge struct {
	Name, Help string
	Labels     [][2]string
	Value      float64
}

// AppendPrometheus appends the registry to b in Prometheus text format
// 0.0.4, series sorted so successive scrapes diff cleanly; inflight is the
// number of prediction requests being served now, and extra are appended
// last.
func (m *Registry) AppendPrometheus(b []byte, inflight int64, extra []Gauge) []byte {
	m.mu.RLock()
	keys := make([]seriesKey, 0, len(m.series))
	for k := range m.series {
		keys = append(keys, k)
	}
	m.mu.RUnlock()
	slices.SortFunc(keys, func(a, b seriesKey) int {
		switch {
		case a.model != b.model:
			if a.model < b.model {
				return -1
			}
			return 1
		case a.version != b.version:
			return a.version - b.version
		}
		return strings.Compare(a.api, b.api)
	})

	b = append(b, "# HELP predictd_requests_total Prediction requests answered, by model, version, API and HTTP status.\n# TYPE predictd_requests_total counter\n"...)
	for _, k := range keys {
		s := m.get(k)
		codes := map[int]uint64{200: s.ok.Load(), 400: s.badRequest.Load(), 413: s.tooLarge.Load(), 503: s.unavailable.Load()}
		s.mu.Lock()
		for c, n := range s.byCode {
			codes[c] = n
		}
		s.mu.Unlock()
		cs := make([]int, 0, len(codes))
		for c, n := range codes {
			if n > 0 {
				cs = append(cs, c)
			}
		}
		slices.Sort(cs)
		for _, c := range cs {
			b = appendSample(b, "predictd_requests_total", k, "code", strconv.Itoa(c), float64(codes[c]))
		}
	}

	b = append(b, "# HELP predictd_request_duration_seconds Time from a prediction request's arrival to its response being ready, by model, version and API.\n# TYPE predictd_request_duration_seconds histogram\n"...)
	for _, k := range keys {
		h := &m.get(k).Latency
		var cum uint64
		for i := range h.counts {
			cum += h.counts[i].Load()
			le := "+Inf"
			if i < len(LatencyBuckets) {
				le = strconv.FormatFloat(LatencyBuckets[i], 'g', -1, 64)
			}
			b = appendSample(b, "predictd_request_duration_seconds_bucket", k, "le", le, float64(cum))
		}
		b = appendSample(b, "predictd_request_duration_seconds_sum", k, "", "", float64(h.sumNs.Load())/1e9)
		b = appendSample(b, "predictd_request_duration_seconds_count", k, "", "", float64(cum))
	}

	b = append(b, "# HELP predictd_instances_total Instances (rows) predicted, by model, version and API.\n# TYPE predictd_instances_total counter\n"...)
	for _, k := range keys {
		if k.model == "" {
			continue
		}
		b = appendSample(b, "predictd_instances_total", k, "", "", float64(m.get(k).Instances.Load()))
	}

	b = AppendScalar(b, "predictd_inflight_requests", "gauge", "Prediction requests being served now.", float64(inflight))
	b = AppendScalar(b, "predictd_shed_requests_total", "counter", "Requests refused with 503 at once because max_concurrent requests were in flight.", float64(m.Shed.Load()))
	b = AppendScalar(b, "predictd_body_too_large_total", "counter", "Requests refused with 413 because the body exceeded max_body_bytes.", float64(m.BodyTooLarge.Load()))
	b = AppendScalar(b, "predictd_malformed_requests_total", "counter", "Requests refused before routing: malformed (400), too slow (408), body or headers too large (413, 431).", float64(m.Malformed.Load()))
	b = AppendScalar(b, "go_goroutines", "gauge", "Number of goroutines that currently exist.", float64(runtime.NumGoroutine()))
	heapLive := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
	rtmetrics.Read(heapLive)
	if heapLive[0].Value.Kind() == rtmetrics.KindUint64 {
		b = AppendScalar(b, "go_gc_heap_live_bytes", "gauge", "Heap memory occupied by live objects that were marked by the previous GC.", float64(heapLive[0].Value.Uint64()))
	}
	// Prometheus' standard process metric: capacity planning divides its
	// growth by the requests answered meanwhile (CPU time per prediction).
	if cpu, ok := cpuSeconds(); ok {
		b = append(b, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total "...)
		b = appendValue(b, cpu)
		b = append(b, '\n')
	}

	last := ""
	for _, g := range extra {
		if g.Name != last {
			b = append(b, "# HELP "...)
			b = append(b, g.Name...)
			b = append(b, ' ')
			b = append(b, g.Help...)
			b = append(b, "\n# TYPE "...)
			b = append(b, g.Name...)
			b = append(b, " gauge\n"...)
			last = g.Name
		}
		b = append(b, g.Name...)
		if len(g.Labels) > 0 {
			b = append(b, '{')
			for i, l := range g.Labels {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendLabel(b, l[0], l[1])
			}
			b = append(b, '}')
		}
		b = append(b, ' ')
		b = appendValue(b, g.Value)
		b = append(b, '\n')
	}
	return b
}

func appendSample(b []byte, name string, k seriesKey, extraName, extraValue string, v float64) []byte {
	return appendSeries(b, name, k, true, extraName, extraValue, v)
}

// appendVersionSample is appendSample without the api label.
func appendVersionSample(b []byte, name string, k seriesKey, extraName, extraValue string, v float64) []byte {
	return appendSeries(b, name, k, false, extraName, extraValue, v)
}

// appendSeries appends one sample line: name{model,version[,api][,extra]} v.
func appendSeries(b []byte, name string, k seriesKey, withAPI bool, extraName, extraValue string, v float64) []byte {
	b = append(b, name...)
	b = append(b, '{')
	b = appendLabel(b, "model", k.model)
	b = append(b, ',')
	b = appendLabel(b, "version", strconv.Itoa(k.version))
	if withAPI {
		b = append(b, ',')
		b = appendLabel(b, "api", k.api)
	}
	if extraName != "" {
		b = append(b, ',')
		b = appendLabel(b, extraName, extraValue)
	}
	b = append(b, "} "...)
	b = appendValue(b, v)
	return append(b, '\n')
}

// appendLabel appends name="value" with the text format's escapes.
func appendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, `="`...)
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// AppendScalar appends one unlabelled series of type typ (counter, gauge)
// with its HELP and TYPE lines, for components that keep a few counters of
// their own (the connection limit).
func AppendScalar(b []byte, name, typ, help string, v float64) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, help...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	b = append(b, '\n')
	b = append(b, name...)
	b = append(b, ' ')
	b = appendValue(b, v)
	return append(b, '\n')
}

func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// BatcherStats is one live model version's batcher statistics.
type BatcherStats struct {
	Model   string
	Version int
	Stats   batcher.Stats
}

// AppendBatchers appends the batcher series of each live model version in
// es (it sorts es): the batch size, queue-wait and compute-time
// histograms, shed, expired and gone counts, and the adaptive wait with
// what it is computed from.
func AppendBatchers(b []byte, es []BatcherStats) []byte {
	if len(es) == 0 {
		return b
	}
	slices.SortFunc(es, func(x, y BatcherStats) int {
		if x.Model != y.Model {
			return strings.Compare(x.Model, y.Model)
		}
		return x.Version - y.Version
	})
	hist := func(b []byte, name, help string, get func(*batcher.Stats) *batcher.Histogram) []byte {
		b = fmt.Appendf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
		for i := range es {
			k := seriesKey{model: es[i].Model, version: es[i].Version}
			h := get(&es[i].Stats)
			var cum uint64
			for j, c := range h.Counts {
				cum += c
				le := "+Inf"
				if j < len(h.Bounds) {
					le = strconv.FormatFloat(h.Bounds[j], 'g', -1, 64)
				}
				b = appendVersionSample(b, name+"_bucket", k, "le", le, float64(cum))
			}
			b = appendVersionSample(b, name+"_sum", k, "", "", h.Sum)
			b = appendVersionSample(b, name+"_count", k, "", "", float64(h.Count))
		}
		return b
	}
	b = hist(b, "predictd_batch_rows", "Rows per Predict call made by the batcher.", func(st *batcher.Stats) *batcher.Histogram { return &st.BatchRows })
	b = hist(b, "predictd_batch_queue_wait_seconds", "Time from a request joining the batcher's queue to its batch starting.", func(st *batcher.Stats) *batcher.Histogram { return &st.QueueWait })
	b = hist(b, "predictd_batch_compute_seconds", "Time of one batched Predict call.", func(st *batcher.Stats) *batcher.Histogram { return &st.Compute })
	for _, c := range []struct {
		name, typ, help string
		get             func(*batcher.Stats) float64
	}{
		{"predictd_batch_shed_total", "counter", "Requests refused 503 because the batcher's queue was full.", func(st *batcher.Stats) float64 { return float64(st.Shed) }},
		{"predictd_batch_expired_total", "counter", "Requests answered 504 uncomputed: their deadline passed while queued.", func(st *batcher.Stats) float64 { return float64(st.Expired) }},
		{"predictd_batch_gone_total", "counter", "Requests dropped uncomputed: the client disconnected while queued.", func(st *batcher.Stats) float64 { return float64(st.Gone) }},
		{"predictd_batch_queued_rows", "gauge", "Rows waiting in the batcher's queue.", func(st *batcher.Stats) float64 { return float64(st.QueuedRows) }},
		{"predictd_batch_busy", "gauge", "Predict calls the batcher is running now.", func(st *batcher.Stats) float64 { return float64(st.Busy) }},
		{"predictd_batch_wait_seconds", "gauge", "The batcher's current adaptive wait for more rows.", func(st *batcher.Stats) float64 { return st.Wait.Seconds() }},
		{"predictd_batch_arrival_rows_per_second", "gauge", "The arrival rate the batcher measures.", func(st *batcher.Stats) float64 { return st.ArrivalRowsPerSecond }},
		{"predictd_batch_cost_fixed_seconds", "gauge", "Fitted fixed cost a of a batch, t(b) = a + c*b.", func(st *batcher.Stats) float64 { return st.CostFixed.Seconds() }},
		{"predictd_batch_cost_per_row_seconds", "gauge", "Fitted cost per row c of a batch, t(b) = a + c*b.", func(st *batcher.Stats) float64 { return st.CostPerRow.Seconds() }},
	} {
		b = fmt.Appendf(b, "# HELP %s %s\n# TYPE %s %s\n", c.name, c.help, c.name, c.typ)
		for i := range es {
			k := seriesKey{model: es[i].Model, version: es[i].Version}
			b = appendVersionSample(b, c.name, k, "", "", c.get(&es[i].Stats))
		}
	}
	return b
}
