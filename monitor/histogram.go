package monitor

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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

// Histogram is the daemon's one histogram type: fixed buckets counted with
// atomics, read by a collector when /metrics is scraped. Observe and
// ObserveCount take no lock, do not allocate and are safe for concurrent
// use; a scrape reads the buckets while updates go on, so its _count (the
// buckets' total) may lag its _sum by the observations in flight.
//
// Values are counted in whole units (nanoseconds for a histogram of
// seconds, rows for one of rows) so that the sum is an integer add rather
// than a compare-and-swap loop on a float: the sum of a seconds histogram
// wraps after 584 years of observed time (at 100,000 requests a second of
// 1 ms each, after 5.8 years of uptime).
type Histogram struct {
	bounds  []float64       // upper bounds ("le"), in the exposed unit
	limits  []int64         // the same in counting units: v lands in the first bucket with v ≤ limits[i]
	perUnit float64         // counting units per exposed unit: 1e9 for seconds, 1 for counts
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum     atomic.Uint64   // in counting units
}

// NewDurationHistogram returns an empty histogram of seconds with upper
// bounds bounds (ascending, whole nanoseconds), observed with Observe.
func NewDurationHistogram(bounds []float64) *Histogram { return newHistogram(bounds, 1e9) }

// NewCountHistogram returns an empty histogram of counts (rows per batch)
// with upper bounds bounds (ascending, whole numbers), observed with
// ObserveCount.
func NewCountHistogram(bounds []float64) *Histogram { return newHistogram(bounds, 1) }

func newHistogram(bounds []float64, perUnit float64) *Histogram {
	h := &Histogram{
		bounds:  slices.Clone(bounds),
		limits:  make([]int64, len(bounds)),
		perUnit: perUnit,
		counts:  make([]atomic.Uint64, len(bounds)+1),
	}
	for i, b := range bounds {
		l := math.Round(b * perUnit)
		if math.Abs(l-b*perUnit) > 1e-6*max(1, l) || (i > 0 && b <= bounds[i-1]) {
			panic(fmt.Sprintf("BUG: histogram bound %d, %g: want ascending bounds in whole units of 1/%g", i, b, perUnit))
		}
		h.limits[i] = int64(l)
	}
	return h
}

// Observe counts one duration; a negative one counts as zero. h must be a
// histogram of seconds (NewDurationHistogram).
func (h *Histogram) Observe(d time.Duration) { h.add(max(int64(d), 0)) }

// ObserveCount counts one value n ≥ 0 of a count histogram
// (NewCountHistogram).
func (h *Histogram) ObserveCount(n int) { h.add(max(int64(n), 0)) }

func (h *Histogram) add(v int64) {
	i, _ := slices.BinarySearch(h.limits, v) // the first limit ≥ v; len(limits) is +Inf
	h.counts[i].Add(1)
	h.sum.Add(uint64(v))
}

// metric returns h now as a constant Prometheus histogram of desc with
// labelValues.
func (h *Histogram) metric(desc *prometheus.Desc, labelValues ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.bounds))
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		buckets[b] = cum
	}
	cum += h.counts[len(h.bounds)].Load()
	m, err := prometheus.NewConstHistogram(desc, cum, float64(h.sum.Load())/h.perUnit, buckets, labelValues...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err) // fails the scrape, naming desc
	}
	return m
}

// constMetric is one sample of a counter or gauge, or an invalid metric
// that fails the scrape, naming desc, if labelValues do not fit it.
func constMetric(desc *prometheus.Desc, typ prometheus.ValueType, v float64, labelValues ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, typ, v, labelValues...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}
