package monitor

import (
	"iter"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/featcache"
)

// JoinStats counts a model version's online feature reads. Safe for
// concurrent use; its updates do not allocate. Create it with
// NewJoinStats.
type JoinStats struct {
	// Fetch is the time to read a request's features (LatencyBuckets).
	Fetch *Histogram
	// StoreErrors counts requests whose read failed in the store.
	StoreErrors atomic.Uint64
	// values served, by where they came from (featcache.JoinCounts).
	present, missing, expired, unavailable, overridden atomic.Uint64
}

// NewJoinStats returns zeroed join statistics.
func NewJoinStats() *JoinStats {
	return &JoinStats{Fetch: NewDurationHistogram(LatencyBuckets[:])}
}

// Add counts the values one request's join served.
func (j *JoinStats) Add(c featcache.JoinCounts) {
	j.present.Add(c.Present)
	j.missing.Add(c.Default)
	j.expired.Add(c.Expired)
	j.unavailable.Add(c.Unavailable)
	j.overridden.Add(c.Overridden)
}

// VersionJoin is one live model version's join statistics and its store
// down policy (the "policy" label: fail_closed or fail_open).
type VersionJoin struct {
	Model   string
	Version int
	Policy  string
	Stats   *JoinStats
}

// The online feature series' descriptions.
var (
	fetchDesc = prometheus.NewDesc("predictd_feature_fetch_seconds",
		"Time to read a request's online features (cache, then one store round trip for the rest).",
		[]string{"model", "version"}, nil)
	valuesDesc = prometheus.NewDesc("predictd_feature_values_total",
		"Feature values served to predictions, by where they came from: present (the store's row), default (no row), expired (row past its TTL: default served), unavailable (store failed: default served), overridden (sent in the request).",
		[]string{"model", "version", "status"}, nil)
	storeErrorsDesc = prometheus.NewDesc("predictd_feature_store_errors_total",
		"Requests whose online feature read failed in the store; the label says what the model did (fail_closed: 503, fail_open: defaults).",
		[]string{"model", "version", "policy"}, nil)
	cacheHitsDesc = prometheus.NewDesc("predictd_feature_cache_hits_total",
		"Feature rows answered by the in-process cache.", nil, nil)
	cacheMissesDesc = prometheus.NewDesc("predictd_feature_cache_misses_total",
		"Feature rows read from the store.", nil, nil)
	cacheDroppedDesc = prometheus.NewDesc("predictd_feature_cache_dropped_sets_total",
		"Rows read from the store that the cache declined to keep.", nil, nil)
)

// NewJoinCollector returns the collector of the online feature series:
// for each live model version that versions yields at scrape time, the
// fetch latency histogram, the values served by status and the store
// failures; then the feature cache's counters, which cache reads. A model
// version yielded twice (briefly two states of one version) is written
// once, the first.
func NewJoinCollector(versions iter.Seq[VersionJoin], cache func() featcache.CacheStats) prometheus.Collector {
	return joinCollector{versions, cache}
}

type joinCollector struct {
	versions iter.Seq[VersionJoin]
	cache    func() featcache.CacheStats
}

func (c joinCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{fetchDesc, valuesDesc, storeErrorsDesc, cacheHitsDesc, cacheMissesDesc, cacheDroppedDesc} {
		ch <- d
	}
}

func (c joinCollector) Collect(ch chan<- prometheus.Metric) {
	seen := versionSet{}
	for e := range c.versions {
		if !seen.first(e.Model, e.Version) {
			continue
		}
		model, version, j := e.Model, strconv.Itoa(e.Version), e.Stats
		ch <- j.Fetch.metric(fetchDesc, model, version)
		for _, v := range [...]struct {
			status string
			n      *atomic.Uint64
		}{{"present", &j.present}, {"default", &j.missing}, {"expired", &j.expired}, {"unavailable", &j.unavailable}, {"overridden", &j.overridden}} {
			ch <- constMetric(valuesDesc, prometheus.CounterValue, float64(v.n.Load()), model, version, v.status)
		}
		ch <- constMetric(storeErrorsDesc, prometheus.CounterValue, float64(j.StoreErrors.Load()), model, version, e.Policy)
	}
	cs := c.cache()
	ch <- constMetric(cacheHitsDesc, prometheus.CounterValue, float64(cs.Hits))
	ch <- constMetric(cacheMissesDesc, prometheus.CounterValue, float64(cs.Misses))
	ch <- constMetric(cacheDroppedDesc, prometheus.CounterValue, float64(cs.DroppedSets))
}
