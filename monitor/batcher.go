package monitor

import (
	"iter"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/batcher"
)

// batchSecondsBuckets are the bounds of the batcher's time histograms:
// 10µs to 10s in 1-2.5-5 steps, which covers a single-row tree model's
// compute and a queue wait near a client's timeout alike.
var batchSecondsBuckets = []float64{
	10e-6, 25e-6, 50e-6,
	100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3,
	10e-3, 25e-3, 50e-3,
	100e-3, 250e-3, 500e-3,
	1, 2.5, 5, 10,
}

// batchRowsBuckets are the bounds of the batch-size histogram: powers of
// two below maxBatch, then maxBatch. Requests bigger than maxBatch run
// alone and land in the last (+Inf) bucket.
func batchRowsBuckets(maxBatch int) []float64 {
	var b []float64
	for v := 1; v < maxBatch; v *= 2 {
		b = append(b, float64(v))
	}
	return append(b, float64(maxBatch))
}

// BatcherHistograms are one model version's batcher histograms: rows per
// Predict call, queue wait and compute time. It is the batcher's
// Options.Observer; its methods do not allocate and are safe for
// concurrent use.
type BatcherHistograms struct {
	rows, wait, compute *Histogram
}

// NewBatcherHistograms returns empty histograms for a batcher whose
// batches take at most maxBatchRows rows.
func NewBatcherHistograms(maxBatchRows int) *BatcherHistograms {
	return &BatcherHistograms{
		rows:    NewCountHistogram(batchRowsBuckets(maxBatchRows)),
		wait:    NewDurationHistogram(batchSecondsBuckets),
		compute: NewDurationHistogram(batchSecondsBuckets),
	}
}

// ObserveBatch counts one Predict call of rows rows that took compute.
func (h *BatcherHistograms) ObserveBatch(rows int, compute time.Duration) {
	h.rows.ObserveCount(rows)
	h.compute.Observe(compute)
}

// ObserveQueueWait counts one computed request's wait from Submit to the
// start of its batch.
func (h *BatcherHistograms) ObserveQueueWait(wait time.Duration) { h.wait.Observe(wait) }

// BatcherVersion is one live model version's batcher as its series read
// it: its histograms, and its Stats taken at scrape time.
type BatcherVersion struct {
	Model      string
	Version    int
	Histograms *BatcherHistograms
	Stats      batcher.Stats
}

// The batcher series' descriptions.
var (
	batchRowsDesc    = versionDesc("predictd_batch_rows", "Rows per Predict call made by the batcher.")
	batchWaitDesc    = versionDesc("predictd_batch_queue_wait_seconds", "Time from a request joining the batcher's queue to its batch starting.")
	batchComputeDesc = versionDesc("predictd_batch_compute_seconds", "Time of one batched Predict call.")
	batchValues      = []struct {
		desc *prometheus.Desc
		typ  prometheus.ValueType
		get  func(*batcher.Stats) float64
	}{
		{versionDesc("predictd_batch_shed_total", "Requests refused 503 because the batcher's queue was full."),
			prometheus.CounterValue, func(st *batcher.Stats) float64 { return float64(st.Shed) }},
		{versionDesc("predictd_batch_expired_total", "Requests answered 504 uncomputed: their deadline passed while queued."),
			prometheus.CounterValue, func(st *batcher.Stats) float64 { return float64(st.Expired) }},
		{versionDesc("predictd_batch_gone_total", "Requests dropped uncomputed: the client disconnected while queued."),
			prometheus.CounterValue, func(st *batcher.Stats) float64 { return float64(st.Gone) }},
		{versionDesc("predictd_batch_queued_rows", "Rows waiting in the batcher's queue."),
			prometheus.GaugeValue, func(st *batcher.Stats) float64 { return float64(st.QueuedRows) }},
		{versionDesc("predictd_batch_busy", "Predict calls the batcher is running now."),
			prometheus.GaugeValue, func(st *batcher.Stats) float64 { return float64(st.Busy) }},
		{versionDesc("predictd_batch_wait_seconds", "The batcher's current adaptive wait for more rows."),
			prometheus.GaugeValue, func(st *batcher.Stats) float64 { return st.Wait.Seconds() }},
		{versionDesc("predictd_batch_arrival_rows_per_second", "The arrival rate the batcher measures."),
			prometheus.GaugeValue, func(st *batcher.Stats) float64 { return st.ArrivalRowsPerSecond }},
		{versionDesc("predictd_batch_cost_fixed_seconds", "Fitted fixed cost a of a batch, t(b) = a + c*b."),
			prometheus.GaugeValue, func(st *batcher.Stats) float64 { return st.CostFixed.Seconds() }},
		{versionDesc("predictd_batch_cost_per_row_seconds", "Fitted cost per row c of a batch, t(b) = a + c*b."),
			prometheus.GaugeValue, func(st *batcher.Stats) float64 { return st.CostPerRow.Seconds() }},
	}
)

// versionDesc describes a series labelled with model and version only.
func versionDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, []string{"model", "version"}, nil)
}

// NewBatcherCollector returns the collector of the batcher series: for
// each live model version with a batcher that versions yields at scrape
// time, the batch size, queue-wait and compute-time histograms, shed,
// expired and gone counts, and the adaptive wait with what it is computed
// from. A model version yielded twice is written once, the first.
func NewBatcherCollector(versions iter.Seq[BatcherVersion]) prometheus.Collector {
	return batcherCollector{versions}
}

type batcherCollector struct{ versions iter.Seq[BatcherVersion] }

func (c batcherCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- batchRowsDesc
	ch <- batchWaitDesc
	ch <- batchComputeDesc
	for _, v := range batchValues {
		ch <- v.desc
	}
}

func (c batcherCollector) Collect(ch chan<- prometheus.Metric) {
	seen := versionSet{}
	for e := range c.versions {
		if !seen.first(e.Model, e.Version) {
			continue
		}
		model, version := e.Model, strconv.Itoa(e.Version)
		ch <- e.Histograms.rows.metric(batchRowsDesc, model, version)
		ch <- e.Histograms.wait.metric(batchWaitDesc, model, version)
		ch <- e.Histograms.compute.metric(batchComputeDesc, model, version)
		for _, v := range batchValues {
			ch <- constMetric(v.desc, v.typ, v.get(&e.Stats), model, version)
		}
	}
}
