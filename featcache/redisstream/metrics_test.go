package redisstream

import (
	"bytes"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/predictd/predictd/monitor"
)

// TestCollector reads the consumer's counters through the daemon's
// registry, parsed back with expfmt: each a counter labelled with the
// stream and group (quotes and backslashes in them escaped as the text
// format wants, not as Go's %q would), valued from Stats.
func TestCollector(t *testing.T) {
	o := DefaultOptions()
	o.Addr, o.Stream, o.Group, o.Consumer = "127.0.0.1:6379", `features"\é`, "g1", "c"
	c, err := New(parseDefs(t), writerFunc(nil), o)
	if err != nil {
		t.Fatal(err)
	}
	c.acked.Add(3)
	c.claimed.Add(2)
	r := monitor.NewRegistry()
	if err := r.Register(c.Collector()); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := r.Write(&b, ""); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, b.String())
	}
	for name, want := range map[string]float64{
		"predictd_stream_entries_read_total":    0,
		"predictd_stream_rows_written_total":    0,
		"predictd_stream_rows_skipped_total":    0,
		"predictd_stream_entries_acked_total":   3,
		"predictd_stream_entries_dead_total":    0,
		"predictd_stream_store_errors_total":    0,
		"predictd_stream_redis_errors_total":    0,
		"predictd_stream_entries_claimed_total": 2,
	} {
		ms := fams[name].GetMetric()
		if len(ms) != 1 || ms[0].GetCounter() == nil {
			t.Errorf("%s: %v, want one counter", name, ms)
			continue
		}
		labels := map[string]string{}
		for _, l := range ms[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if got := ms[0].GetCounter().GetValue(); got != want || len(labels) != 2 || labels["stream"] != o.Stream || labels["group"] != "g1" {
			t.Errorf("%s = %v %v, want %v {stream=%q group=g1}", name, got, labels, want, o.Stream)
		}
	}
}
