package server

import (
	"bytes"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/monitor"
)

// The server's part of /metrics. Every series is read at scrape time from
// counters the request path updates with atomics (monitor.Series, the
// versions' batchers and joins, the connection guard), so a request never
// looks a series up or hashes a label; the collectors are registered once,
// in New, on the registry /metrics gathers (Options.Metrics).

// registerMetrics registers the server's collectors on s.metrics.
func (s *Server) registerMetrics() error {
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "predictd_build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": s.opts.Version},
	})
	build.Set(1)
	cs := []prometheus.Collector{
		build,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "predictd_ready",
			Help: "1 when the server takes traffic: not draining and every configured model loaded.",
		}, func() float64 { return boolValue(s.Ready()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "predictd_inflight_requests",
			Help: "Prediction requests being served now.",
		}, func() float64 { return float64(s.inflight.Load()) }),
		stateCollector{s},
		contractCollector{s},
		rolloutCollector{s},
		shadowCollector{s},
		monitor.NewBatcherCollector(s.batcherVersions),
	}
	cs = append(cs, s.conns.collectors()...)
	if s.opts.PredictionLog != nil {
		cs = append(cs, predlogCollector{s})
	}
	if s.opts.Labels != nil {
		cs = append(cs, labelsCollector{s}, qualityCollector{s})
	}
	if f := s.opts.Features; f != nil {
		cs = append(cs, monitor.NewJoinCollector(s.joinVersions, f.CacheStats))
	}
	for _, c := range cs {
		if err := s.metrics.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// serveMetrics answers GET /metrics: the registry gathered and encoded in
// the format the Accept header asks for (Prometheus text by default). A
// collector's failure is answered 500, as promhttp does by default.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	var b bytes.Buffer
	ct, err := s.metrics.Write(&b, string(ctx.Request.Header.Peek(fasthttp.HeaderAccept)))
	if err != nil {
		s.logServerErr("/metrics: %v", err)
		s.writeError(ctx, Errorf(fasthttp.StatusInternalServerError, "%v", err))
		return
	}
	ctx.SetContentType(ct)
	ctx.SetBody(b.Bytes())
}

// versionKey names a model version.
type versionKey struct {
	name    string
	version int
}

// acquireSeries returns the request series of model version v on each API
// and counts one more live state of it; releaseSeries counts one fewer and
// removes the series with the last. A version unloaded and loaded again
// while requests still hold the old state has two states at once, which
// share the series: the old one's retirement must not take the new one's
// series away.
func (s *Server) acquireSeries(name string, v int) (series [numAPIs]*monitor.Series) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	s.live[versionKey{name, v}]++
	for api := range numAPIs {
		series[api] = s.metrics.Series(name, v, api.String())
	}
	return series
}

func (s *Server) releaseSeries(name string, v int) {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	k := versionKey{name, v}
	if s.live[k]--; s.live[k] <= 0 {
		delete(s.live, k)
		s.metrics.Drop(name, v)
	}
}

// batcherVersions yields the live versions that have a batcher, with its
// Stats now.
func (s *Server) batcherVersions(yield func(monitor.BatcherVersion) bool) {
	s.versions.Range(func(key, _ any) bool {
		vs := key.(*versionState)
		if vs.batcher == nil {
			return true
		}
		return yield(monitor.BatcherVersion{Model: vs.name, Version: vs.version, Histograms: vs.batchHist, Stats: vs.batcher.Stats()})
	})
}

// joinVersions yields the live versions that read online features.
func (s *Server) joinVersions(yield func(monitor.VersionJoin) bool) {
	s.versions.Range(func(key, _ any) bool {
		vs := key.(*versionState)
		if vs.join == nil {
			return true
		}
		return yield(monitor.VersionJoin{Model: vs.name, Version: vs.version, Policy: vs.storeDown.String(), Stats: vs.join})
	})
}

var versionStateDesc = prometheus.NewDesc("predictd_model_version_state",
	"1 for each model version's current lifecycle state (START, LOADING, AVAILABLE, UNLOADING, END).",
	[]string{"model", "version", "state"}, nil)

// stateCollector reports each model version's lifecycle state, as
// Models.Status gives it.
type stateCollector struct{ s *Server }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- versionStateDesc }

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.s.models
	if m == nil {
		return // not attached yet
	}
	for _, name := range m.Names() {
		st, err := m.Status(name)
		if err != nil {
			continue
		}
		seen := make(map[int]bool, len(st.Versions))
		for _, v := range st.Versions {
			if seen[v.Version] {
				continue // a series once per version
			}
			seen[v.Version] = true
			m, err := prometheus.NewConstMetric(versionStateDesc, prometheus.GaugeValue, 1, name, strconv.Itoa(v.Version), v.State)
			if err != nil {
				m = prometheus.NewInvalidMetric(versionStateDesc, err) // fails the scrape, saying why
			}
			ch <- m
		}
	}
}
