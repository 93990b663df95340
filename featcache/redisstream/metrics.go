package redisstream

import "github.com/prometheus/client_golang/prometheus"

// Collector returns the consumer's counters (Stats) as Prometheus
// counters labelled with its stream and group, read at scrape time, for
// the daemon's metrics registry.
func (c *Consumer) Collector() prometheus.Collector {
	labels := prometheus.Labels{"stream": c.opts.Stream, "group": c.opts.Group}
	desc := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, labels) }
	return &collector{c: c, descs: [...]*prometheus.Desc{
		desc("predictd_stream_entries_read_total", "Feature stream entries received (re-reads and claims count again)."),
		desc("predictd_stream_rows_written_total", "Feature rows the stream consumer wrote to the store."),
		desc("predictd_stream_rows_skipped_total", "Feature rows not newer than the stored row (replays)."),
		desc("predictd_stream_entries_acked_total", "Feature stream entries acknowledged after a durable write."),
		desc("predictd_stream_entries_dead_total", "Feature stream entries refused and copied to the dead-letter stream."),
		desc("predictd_stream_store_errors_total", "Store writes that failed; their entries stay pending and are retried."),
		desc("predictd_stream_redis_errors_total", "Redis commands of the stream consumer that failed."),
		desc("predictd_stream_entries_claimed_total", "Entries taken over from idle consumers (XAUTOCLAIM)."),
	}}
}

type collector struct {
	c     *Consumer
	descs [8]*prometheus.Desc // in the order of Stats' fields
}

func (k *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range k.descs {
		ch <- d
	}
}

func (k *collector) Collect(ch chan<- prometheus.Metric) {
	st := k.c.Stats()
	for i, v := range [...]int64{st.Read, st.Written, st.Skipped, st.Acked, st.Dead, st.StoreErrors, st.RedisErrors, st.Claimed} {
		ch <- prometheus.MustNewConstMetric(k.descs[i], prometheus.CounterValue, float64(v))
	}
}
