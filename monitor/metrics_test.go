package monitor

import (
	"strings"
	"testing"
	"time"
)

// TestRegistryExposition checks the request series after a few updates:
// counts by status (an uncommon one too), a cumulative histogram, series
// sorted by model, version and API, and Drop removing a version's series
// on every API.
func TestRegistryExposition(t *testing.T) {
	m := NewRegistry()
	for _, api := range []string{"v2", "v1"} {
		s := m.Series("lr", 1, api)
		s.Count(200)
		s.Count(200)
		s.Count(418)
		s.Latency.Observe(300 * time.Microsecond)
		s.Latency.Observe(2 * time.Second)
		s.Instances.Add(3)
	}
	m.Series("", 0, "v1").Count(404)
	m.Shed.Add(1)
	out := string(m.AppendPrometheus(nil, 7, []Gauge{{Name: "predictd_ready", Help: "Ready.", Value: 1}}))
	for _, want := range []string{
		"predictd_requests_total{model=\"lr\",version=\"1\",api=\"v1\",code=\"200\"} 2\npredictd_requests_total{model=\"lr\",version=\"1\",api=\"v1\",code=\"418\"} 1\n",
		`predictd_requests_total{model="",version="0",api="v1",code="404"} 1`,
		`predictd_request_duration_seconds_bucket{model="lr",version="1",api="v2",le="0.0002"} 0`,
		`predictd_request_duration_seconds_bucket{model="lr",version="1",api="v2",le="0.0003"} 1`,
		`predictd_request_duration_seconds_bucket{model="lr",version="1",api="v2",le="2.5"} 2`,
		`predictd_request_duration_seconds_count{model="lr",version="1",api="v2"} 2`,
		`predictd_instances_total{model="lr",version="1",api="v1"} 3`,
		"predictd_inflight_requests 7\n",
		"predictd_shed_requests_total 1\n",
		"# HELP predictd_ready Ready.\n# TYPE predictd_ready gauge\npredictd_ready 1\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if i, j := strings.Index(out, `api="v1",code="200"`), strings.Index(out, `api="v2",code="200"`); i < 0 || j < i {
		t.Errorf("series not sorted by API: v1 at %d, v2 at %d", i, j)
	}
	m.Drop("lr", 1)
	if out := string(m.AppendPrometheus(nil, 0, nil)); strings.Contains(out, `model="lr"`) {
		t.Errorf("after Drop, the exposition still has model lr:\n%s", out)
	}
}

// TestSeriesDoesNotAllocate: the updates a request makes allocate nothing.
func TestSeriesDoesNotAllocate(t *testing.T) {
	m := NewRegistry()
	s := m.Series("lr", 1, "v1")
	var j JoinStats
	if n := testing.AllocsPerRun(100, func() {
		s.Count(200)
		s.Count(400)
		s.Latency.Observe(time.Millisecond)
		s.Instances.Add(1)
		j.Fetch.Observe(time.Microsecond)
		_ = m.Series("", 0, "v2")
	}); n != 0 {
		t.Errorf("series updates: %.1f allocations, want 0", n)
	}
}
