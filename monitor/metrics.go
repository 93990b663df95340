package monitor

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

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
	// ready (LatencyBuckets).
	Latency *Histogram
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

// codes calls f for each status counted so far, fixed slots first.
func (s *Series) codes(f func(code int, n uint64)) {
	for _, c := range [...]struct {
		code int
		n    *atomic.Uint64
	}{{200, &s.ok}, {400, &s.badRequest}, {413, &s.tooLarge}, {503, &s.unavailable}} {
		if n := c.n.Load(); n > 0 {
			f(c.code, n)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, n := range s.byCode {
		f(c, n)
	}
}

// Registry is the daemon's one metrics registry: the Prometheus registry
// that /metrics gathers (Write), holding the Go runtime and process
// collectors, the request series (Series) and the collectors other
// components register. Safe for concurrent use.
type Registry struct {
	prom *prometheus.Registry

	mu     sync.RWMutex
	series map[seriesKey]*Series

	// Shed counts requests refused at once because max_concurrent requests
	// were in flight; BodyTooLarge those refused by max_body_bytes before
	// a model was resolved; Malformed those the HTTP server refused before
	// routing (400, 408, 413, 431).
	Shed, BodyTooLarge, Malformed atomic.Uint64
}

// NewRegistry returns a registry with no request series yet, and the Go
// runtime and process collectors registered.
func NewRegistry() *Registry {
	r := &Registry{prom: prometheus.NewRegistry(), series: make(map[seriesKey]*Series)}
	r.prom.MustRegister(
		// The Go collector's defaults (go_goroutines, go_threads,
		// go_gc_duration_seconds, go_memstats_*, GOGC, GOMEMLIMIT,
		// GOMAXPROCS), and the live heap after the last GC: what the
		// daemon holds, unlike RSS (the soak benchmark reads it).
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$`)})),
		// process_cpu_seconds_total (predictd capacity divides its growth
		// by the requests answered), memory, open and max file descriptors.
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		requestCollector{r},
	)
	return r
}

// Register adds c's metrics to the registry; it fails if c describes a
// metric already registered with the same labels, or one of the same name
// with other label names or help.
func (r *Registry) Register(c prometheus.Collector) error { return r.prom.Register(c) }

// Unregister removes c, registered before; it reports whether c was.
func (r *Registry) Unregister(c prometheus.Collector) bool { return r.prom.Unregister(c) }

// Gather collects every registered collector: the metric families sorted
// by name, their series sorted by label values. A collector's failure
// (an invalid label value, the same series twice) is an error.
func (r *Registry) Gather() ([]*dto.MetricFamily, error) { return r.prom.Gather() }

// Write gathers the registry and writes it to w in the exposition format
// that accept (an HTTP Accept header; "" for none) asks for: Prometheus
// text 0.0.4, or protobuf if it prefers that, as promhttp would. It
// returns the format's Content-Type. When gathering fails it writes
// nothing and returns the error.
func (r *Registry) Write(w io.Writer, accept string) (contentType string, err error) {
	mfs, err := r.Gather()
	if err != nil {
		return "", fmt.Errorf("gather metrics: %w", err)
	}
	format := expfmt.FmtText
	if accept != "" {
		format = expfmt.Negotiate(http.Header{"Accept": {accept}})
	}
	enc := expfmt.NewEncoder(w, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return "", fmt.Errorf("encode metric %s: %w", mf.GetName(), err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil { // OpenMetrics' # EOF
			return "", err
		}
	}
	return string(format), nil
}

// Drop removes the series of model version v on every API: a version that
// is gone leaves no series behind (Prometheus marks them stale at the next
// scrape), so a daemon that reloads all day does not grow its metrics.
func (r *Registry) Drop(model string, v int) {
	r.mu.Lock()
	for k := range r.series {
		if k.model == model && k.version == v {
			delete(r.series, k)
		}
	}
	r.mu.Unlock()
}

// Series returns the series of model version v on api (the "api" label: a
// small fixed set, such as "v1" and "v2"), creating it. The server looks
// a version's series up once, when it loads; a request that names no
// loaded model is counted under model "" and version 0.
func (r *Registry) Series(model string, v int, api string) *Series {
	k := seriesKey{model: model, version: v, api: api}
	r.mu.RLock()
	s := r.series[k]
	r.mu.RUnlock()
	if s != nil {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s = r.series[k]; s == nil {
		s = &Series{Latency: NewDurationHistogram(LatencyBuckets[:])}
		r.series[k] = s
	}
	return s
}

// The request series' descriptions.
var (
	requestsDesc = prometheus.NewDesc("predictd_requests_total",
		"Prediction requests answered, by model, version, API and HTTP status.",
		[]string{"model", "version", "api", "code"}, nil)
	durationDesc = prometheus.NewDesc("predictd_request_duration_seconds",
		"Time from a prediction request's arrival to its response being ready, by model, version and API.",
		[]string{"model", "version", "api"}, nil)
	instancesDesc = prometheus.NewDesc("predictd_instances_total",
		"Instances (rows) predicted, by model, version and API.",
		[]string{"model", "version", "api"}, nil)
	shedDesc = prometheus.NewDesc("predictd_shed_requests_total",
		"Requests refused with 503 at once because max_concurrent requests were in flight.", nil, nil)
	bodyTooLargeDesc = prometheus.NewDesc("predictd_body_too_large_total",
		"Requests refused with 413 because the body exceeded max_body_bytes.", nil, nil)
	malformedDesc = prometheus.NewDesc("predictd_malformed_requests_total",
		"Requests refused before routing: malformed (400), too slow (408), body or headers too large (413, 431).", nil, nil)
)

// requestCollector reads a Registry's request series and counters.
type requestCollector struct{ r *Registry }

func (c requestCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{requestsDesc, durationDesc, instancesDesc, shedDesc, bodyTooLargeDesc, malformedDesc} {
		ch <- d
	}
}

func (c requestCollector) Collect(ch chan<- prometheus.Metric) {
	type kv struct {
		k seriesKey
		s *Series
	}
	c.r.mu.RLock()
	all := make([]kv, 0, len(c.r.series))
	for k, s := range c.r.series {
		all = append(all, kv{k, s})
	}
	c.r.mu.RUnlock()
	for _, e := range all {
		model, version, api := e.k.model, strconv.Itoa(e.k.version), e.k.api
		e.s.codes(func(code int, n uint64) {
			ch <- constMetric(requestsDesc, prometheus.CounterValue, float64(n), model, version, api, strconv.Itoa(code))
		})
		ch <- e.s.Latency.metric(durationDesc, model, version, api)
		if model != "" {
			ch <- constMetric(instancesDesc, prometheus.CounterValue, float64(e.s.Instances.Load()), model, version, api)
		}
	}
	ch <- constMetric(shedDesc, prometheus.CounterValue, float64(c.r.Shed.Load()))
	ch <- constMetric(bodyTooLargeDesc, prometheus.CounterValue, float64(c.r.BodyTooLarge.Load()))
	ch <- constMetric(malformedDesc, prometheus.CounterValue, float64(c.r.Malformed.Load()))
}

// versionSet remembers the model versions a collector has written in one
// scrape, so that it writes each once.
type versionSet map[seriesKey]struct{}

// first reports whether model version v is new to the set, adding it.
func (s versionSet) first(model string, v int) bool {
	k := seriesKey{model: model, version: v}
	if _, ok := s[k]; ok {
		return false
	}
	s[k] = struct{}{}
	return true
}
