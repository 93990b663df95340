package monitor

import (
	"bytes"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/predictd/predictd/batcher"
	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/promtest"
)

// scrape writes r as /metrics does (Prometheus text, Write with no Accept
// header) and parses it back with expfmt's text parser, failing t if
// either fails.
func scrape(t testing.TB, r *Registry) map[string]*dto.MetricFamily {
	t.Helper()
	var b bytes.Buffer
	ct, err := r.Write(&b, "")
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if ct != string(expfmt.FmtText) {
		t.Errorf("Write's content type %q, want %q", ct, expfmt.FmtText)
	}
	return promtest.Parse(t, b.Bytes())
}

// find and value are promtest's, named as the tests here use them.
func find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	return promtest.Find(fams, name, labels...)
}

func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	return promtest.Value(fams, name, labels...)
}

// buckets renders a histogram series' cumulative buckets as "le:count"
// pairs, and its count and sum.
func buckets(h *dto.Histogram) string {
	var b strings.Builder
	for _, k := range h.GetBucket() {
		fmt.Fprintf(&b, "%g:%d ", k.GetUpperBound(), k.GetCumulativeCount())
	}
	fmt.Fprintf(&b, "count %d sum %g", h.GetSampleCount(), h.GetSampleSum())
	return b.String()
}

// TestRegistryExposition checks the request series after a few updates,
// read back through the real collector and parsed: counts by status (an
// uncommon one too), the cumulative latency histogram over
// LatencyBuckets, instances, the counters, and Drop removing a version's
// series on every API.
func TestRegistryExposition(t *testing.T) {
	r := NewRegistry()
	for _, api := range []string{"v2", "v1"} {
		for _, v := range []int{1, 2} {
			s := r.Series("lr", v, api)
			s.Count(200)
			s.Count(200)
			s.Count(418)
			s.Latency.Observe(300 * time.Microsecond)
			s.Latency.Observe(2 * time.Second)
			s.Instances.Add(3)
		}
	}
	r.Series("", 0, "v1").Count(404)
	r.Shed.Add(1)
	r.Malformed.Add(2)
	fams := scrape(t, r)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"predictd_requests_total", []string{"model", "lr", "version", "1", "api", "v1", "code", "200"}, 2},
		{"predictd_requests_total", []string{"model", "lr", "version", "2", "api", "v2", "code", "418"}, 1},
		{"predictd_requests_total", []string{"model", "", "version", "0", "api", "v1", "code", "404"}, 1},
		{"predictd_instances_total", []string{"model", "lr", "version", "1", "api", "v2"}, 3},
		{"predictd_shed_requests_total", nil, 1},
		{"predictd_body_too_large_total", nil, 0},
		{"predictd_malformed_requests_total", nil, 2},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%q = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if m := find(fams, "predictd_requests_total", "model", "lr", "version", "1", "api", "v1", "code", "400"); m != nil {
		t.Errorf("a status never counted has a series: %v", m)
	}
	if m := find(fams, "predictd_instances_total", "model", "", "version", "0", "api", "v1"); m != nil {
		t.Errorf("unknown models have an instances series: %v", m)
	}
	h := find(fams, "predictd_request_duration_seconds", "model", "lr", "version", "1", "api", "v2").GetHistogram()
	if len(h.GetBucket()) != len(LatencyBuckets)+1 {
		t.Fatalf("latency histogram has %d buckets, want %d (LatencyBuckets, +Inf): %s", len(h.GetBucket()), len(LatencyBuckets)+1, buckets(h))
	}
	for i, b := range h.GetBucket()[:len(LatencyBuckets)] {
		want := uint64(0)
		if LatencyBuckets[i] >= 0.0003 {
			want++
		}
		if LatencyBuckets[i] >= 2 {
			want++
		}
		if b.GetUpperBound() != LatencyBuckets[i] || b.GetCumulativeCount() != want {
			t.Errorf("latency bucket %d: le=%g count %d, want le=%g count %d", i, b.GetUpperBound(), b.GetCumulativeCount(), LatencyBuckets[i], want)
		}
	}
	if h.GetSampleCount() != 2 || math.Abs(h.GetSampleSum()-2.0003) > 1e-12 {
		t.Errorf("latency count %d sum %v, want 2 and 2.0003", h.GetSampleCount(), h.GetSampleSum())
	}

	r.Drop("lr", 1)
	fams = scrape(t, r)
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var model, version string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "model":
					model = l.GetValue()
				case "version":
					version = l.GetValue()
				}
			}
			if model == "lr" && version == "1" {
				t.Errorf("after Drop(lr, 1), %s still has %v", name, m.GetLabel())
			}
		}
	}
	if got := value(fams, "predictd_requests_total", "model", "lr", "version", "2", "api", "v1", "code", "200"); got != 2 {
		t.Errorf("after Drop(lr, 1), version 2's count is %v, want 2", got)
	}
}

// TestRuntimeMetrics: the Go runtime and process collectors are there
// under the names Prometheus users expect, and the two the soak benchmark
// and predictd capacity read.
func TestRuntimeMetrics(t *testing.T) {
	fams := scrape(t, NewRegistry())
	names := []string{"go_goroutines", "go_threads", "go_gc_duration_seconds", "go_memstats_heap_alloc_bytes", "go_gc_heap_live_bytes", "go_info"}
	if runtime.GOOS == "linux" {
		names = append(names, "process_cpu_seconds_total", "process_open_fds", "process_max_fds", "process_resident_memory_bytes", "process_start_time_seconds")
	}
	for _, name := range names {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if g := value(fams, "go_goroutines"); !(g >= 1) {
		t.Errorf("go_goroutines = %v, want at least 1", g)
	}
}

// TestWriteNegotiates: a scraper that asks for protobuf gets it, with its
// content type; one that asks for nothing in particular gets text.
func TestWriteNegotiates(t *testing.T) {
	r := NewRegistry()
	r.Series("lr", 1, "v1").Count(200)
	for _, c := range []struct {
		accept string
		want   expfmt.FormatType
	}{
		{"", expfmt.TypeTextPlain},
		{"*/*", expfmt.TypeTextPlain},
		{"text/plain;version=0.0.4;q=0.5,*/*;q=0.1", expfmt.TypeTextPlain},
		{"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3", expfmt.TypeProtoDelim},
	} {
		var b bytes.Buffer
		ct, err := r.Write(&b, c.accept)
		if err != nil {
			t.Fatalf("Write(Accept %q): %v", c.accept, err)
		}
		if got := expfmt.Format(ct).FormatType(); got != c.want {
			t.Errorf("Write(Accept %q): content type %q, want format %v", c.accept, ct, c.want)
			continue
		}
		dec := expfmt.NewDecoder(&b, expfmt.Format(ct))
		found := false
		for {
			var mf dto.MetricFamily
			if err := dec.Decode(&mf); err != nil {
				break
			}
			found = found || mf.GetName() == "predictd_requests_total"
		}
		if !found {
			t.Errorf("Write(Accept %q): %q decoded has no predictd_requests_total", c.accept, ct)
		}
	}
}

// TestHistogram checks where values land: a value on a bound counts in
// that bound's bucket (Prometheus' le), above the last in +Inf only, a
// negative one as zero; and the sum.
func TestHistogram(t *testing.T) {
	check := func(h *Histogram, obs func(), want string) {
		t.Helper()
		obs()
		r := NewRegistry()
		desc := versionDesc("test_histogram_seconds", "Test.")
		if err := r.Register(testCollector{desc, func() []prometheus.Metric { return []prometheus.Metric{h.metric(desc, "m", "1")} }}); err != nil {
			t.Fatal(err)
		}
		got := buckets(find(scrape(t, r), "test_histogram_seconds", "model", "m", "version", "1").GetHistogram())
		if got != want {
			t.Errorf("buckets %s, want %s", got, want)
		}
	}
	d := NewDurationHistogram([]float64{0.001, 0.0025, 1})
	check(d, func() {
		d.Observe(time.Millisecond)
		d.Observe(time.Millisecond + 1)
		d.Observe(-time.Second)
		d.Observe(2500 * time.Microsecond)
		d.Observe(3 * time.Second)
	}, "0.001:2 0.0025:4 1:4 +Inf:5 count 5 sum 3.004500001")
	n := NewCountHistogram(batchRowsBuckets(6))
	check(n, func() {
		for _, v := range []int{1, 2, 3, 4, 5, 6, 7, 0} {
			n.ObserveCount(v)
		}
	}, "1:2 2:3 4:5 6:7 +Inf:8 count 8 sum 28")
}

// TestBatcherAndJoinSeries reads the batcher and join collectors through
// a registry: the histograms with their bounds, the batcher's values, the
// join's counts by status and policy, the cache counters; and a model
// version yielded twice written once (a duplicate series would fail the
// whole scrape).
func TestBatcherAndJoinSeries(t *testing.T) {
	bh := NewBatcherHistograms(8)
	bh.ObserveBatch(3, 200*time.Microsecond)
	bh.ObserveBatch(20, 2*time.Millisecond)
	bh.ObserveQueueWait(30 * time.Microsecond)
	bs := []BatcherVersion{
		{Model: "lr", Version: 1, Histograms: bh, Stats: batcher.Stats{Shed: 4, QueuedRows: 5, Wait: 1500 * time.Microsecond, CostPerRow: 2 * time.Microsecond}},
		{Model: "lr", Version: 1, Histograms: NewBatcherHistograms(8)},
		{Model: "trees", Version: 3, Histograms: NewBatcherHistograms(64)},
	}
	js := NewJoinStats()
	js.Fetch.Observe(40 * time.Microsecond)
	js.StoreErrors.Add(2)
	js.Add(featcache.JoinCounts{Present: 5, Default: 1, Expired: 2, Unavailable: 3, Overridden: 4})
	jv := []VersionJoin{{Model: "lr", Version: 1, Policy: "fail_open", Stats: js}, {Model: "lr", Version: 1, Policy: "fail_closed", Stats: NewJoinStats()}}
	r := NewRegistry()
	if err := r.Register(NewBatcherCollector(slices.Values(bs))); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(NewJoinCollector(slices.Values(jv), func() featcache.CacheStats { return featcache.CacheStats{Hits: 7, Misses: 8, DroppedSets: 9} })); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, r)
	lr := []string{"model", "lr", "version", "1"}
	for _, c := range []struct {
		name string
		want string
	}{
		{"predictd_batch_rows", "1:0 2:0 4:1 8:1 +Inf:2 count 2 sum 23"},
		{"predictd_batch_compute_seconds", "1e-05:0 2.5e-05:0 5e-05:0 0.0001:0 0.00025:1 0.0005:1 0.001:1 0.0025:2 0.005:2 0.01:2 0.025:2 0.05:2 0.1:2 0.25:2 0.5:2 1:2 2.5:2 5:2 10:2 +Inf:2 count 2 sum 0.0022"},
		{"predictd_batch_queue_wait_seconds", "1e-05:0 2.5e-05:0 5e-05:1 0.0001:1 0.00025:1 0.0005:1 0.001:1 0.0025:1 0.005:1 0.01:1 0.025:1 0.05:1 0.1:1 0.25:1 0.5:1 1:1 2.5:1 5:1 10:1 +Inf:1 count 1 sum 3e-05"},
	} {
		if got := buckets(find(fams, c.name, lr...).GetHistogram()); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	if n := len(fams["predictd_batch_rows"].GetMetric()); n != 2 {
		t.Errorf("predictd_batch_rows has %d series, want 2 (lr 1 once, trees 3)", n)
	}
	if h := find(fams, "predictd_batch_rows", "model", "trees", "version", "3").GetHistogram(); len(h.GetBucket()) != 8 || h.GetBucket()[6].GetUpperBound() != 64 {
		t.Errorf("trees' batch rows buckets %s, want powers of two up to 64", buckets(h))
	}
	if got := buckets(find(fams, "predictd_feature_fetch_seconds", lr...).GetHistogram()); !strings.HasSuffix(got, "count 1 sum 4e-05") {
		t.Errorf("feature fetch: %s, want one of 40µs", got)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"predictd_batch_shed_total", lr, 4},
		{"predictd_batch_queued_rows", lr, 5},
		{"predictd_batch_wait_seconds", lr, 0.0015},
		{"predictd_batch_cost_per_row_seconds", lr, 2e-6},
		{"predictd_batch_gone_total", []string{"model", "trees", "version", "3"}, 0},
		{"predictd_feature_values_total", append(lr[:4:4], "status", "present"), 5},
		{"predictd_feature_values_total", append(lr[:4:4], "status", "default"), 1},
		{"predictd_feature_values_total", append(lr[:4:4], "status", "overridden"), 4},
		{"predictd_feature_store_errors_total", append(lr[:4:4], "policy", "fail_open"), 2},
		{"predictd_feature_cache_hits_total", nil, 7},
		{"predictd_feature_cache_misses_total", nil, 8},
		{"predictd_feature_cache_dropped_sets_total", nil, 9},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("%s%q = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestSeriesDoesNotAllocate: the updates a request makes allocate nothing.
func TestSeriesDoesNotAllocate(t *testing.T) {
	r := NewRegistry()
	s := r.Series("lr", 1, "v1")
	j := NewJoinStats()
	bh := NewBatcherHistograms(64)
	var obs batcher.Observer = bh
	if n := testing.AllocsPerRun(100, func() {
		s.Count(200)
		s.Count(400)
		s.Latency.Observe(time.Millisecond)
		s.Instances.Add(1)
		j.Fetch.Observe(time.Microsecond)
		j.Add(featcache.JoinCounts{Present: 3})
		obs.ObserveBatch(7, time.Millisecond)
		obs.ObserveQueueWait(time.Microsecond)
		_ = r.Series("", 0, "v2")
	}); n != 0 {
		t.Errorf("series updates: %.1f allocations, want 0", n)
	}
}

// testCollector collects what metrics returns, described by desc.
type testCollector struct {
	desc    *prometheus.Desc
	metrics func() []prometheus.Metric
}

func (c testCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c testCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.metrics() {
		ch <- m
	}
}
