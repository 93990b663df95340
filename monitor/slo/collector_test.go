package slo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
)

// TestCollector checks the samples of a Tracker, gathered by a pedantic
// registry (which checks Collect against Describe and the label sets),
// and lints them (names, units, help) as promtool check metrics would.
func TestCollector(t *testing.T) {
	now := epoch
	tr, err := New(Options{
		Models: map[string]Config{
			"churn": {Availability: &AvailabilityObjective{Objective: 0.99}, Latency: &LatencyObjective{Threshold: Duration(25 * time.Millisecond), Objective: 0.9}, Window: Duration(time.Hour)},
			"fraud": {Availability: &AvailabilityObjective{Objective: 0.999}},
		},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	// 100 requests in 10 minutes: 2 answered 503 (fast), 10 slow.
	for i := range 100 {
		now = epoch.Add(time.Duration(i) * 6 * time.Second)
		code, lat := 200, 5*time.Millisecond
		if i%50 == 0 {
			code = 503
		}
		if i%10 == 1 {
			lat = 30 * time.Millisecond
		}
		tr.Observe("churn", lat, code)
		tr.Observe("unconfigured", lat, 500)
	}
	now = epoch.Add(10 * time.Minute)
	// Each burn window holds all 100 requests but the 5-minute one, which
	// holds 50 with one 503 and 5 slow: the same fractions.
	want := map[string]float64{
		`predictd_slo_burn_rate{model="churn",slo="availability",window="5m"}`:        2,
		`predictd_slo_burn_rate{model="churn",slo="availability",window="30m"}`:       2,
		`predictd_slo_burn_rate{model="churn",slo="availability",window="1h"}`:        2,
		`predictd_slo_burn_rate{model="churn",slo="availability",window="2h"}`:        2,
		`predictd_slo_burn_rate{model="churn",slo="availability",window="6h"}`:        2,
		`predictd_slo_burn_rate{model="churn",slo="availability",window="1d"}`:        2,
		`predictd_slo_burn_rate{model="churn",slo="availability",window="3d"}`:        2,
		`predictd_slo_burn_rate{model="churn",slo="latency",window="5m"}`:             1,
		`predictd_slo_burn_rate{model="churn",slo="latency",window="30m"}`:            1,
		`predictd_slo_burn_rate{model="churn",slo="latency",window="1h"}`:             1,
		`predictd_slo_burn_rate{model="churn",slo="latency",window="2h"}`:             1,
		`predictd_slo_burn_rate{model="churn",slo="latency",window="6h"}`:             1,
		`predictd_slo_burn_rate{model="churn",slo="latency",window="1d"}`:             1,
		`predictd_slo_burn_rate{model="churn",slo="latency",window="3d"}`:             1,
		`predictd_slo_burn_rate{model="fraud",slo="availability",window="5m"}`:        0,
		`predictd_slo_burn_rate{model="fraud",slo="availability",window="30m"}`:       0,
		`predictd_slo_burn_rate{model="fraud",slo="availability",window="1h"}`:        0,
		`predictd_slo_burn_rate{model="fraud",slo="availability",window="2h"}`:        0,
		`predictd_slo_burn_rate{model="fraud",slo="availability",window="6h"}`:        0,
		`predictd_slo_burn_rate{model="fraud",slo="availability",window="1d"}`:        0,
		`predictd_slo_burn_rate{model="fraud",slo="availability",window="3d"}`:        0,
		`predictd_slo_error_budget_remaining_ratio{model="churn",slo="availability"}`: -1,
		`predictd_slo_error_budget_remaining_ratio{model="churn",slo="latency"}`:      0,
		`predictd_slo_error_budget_remaining_ratio{model="fraud",slo="availability"}`: 1,
		`predictd_slo_objective_ratio{model="churn",slo="availability"}`:              0.99,
		`predictd_slo_objective_ratio{model="churn",slo="latency"}`:                   0.9,
		`predictd_slo_objective_ratio{model="fraud",slo="availability"}`:              0.999,
		`predictd_slo_sli_ratio{model="churn",slo="availability",window="1h"}`:        0.98,
		`predictd_slo_sli_ratio{model="churn",slo="latency",window="1h"}`:             0.9,
		`predictd_slo_sli_ratio{model="fraud",slo="availability",window="28d"}`:       1,
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(tr)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := samples(mfs)
	for k, w := range want {
		if g, ok := got[k]; !ok || math.Abs(g-w) > 1e-12 {
			t.Errorf("%s = %v (present: %v), want %v", k, g, ok, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected sample %s = %v", k, g)
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// samples flattens gauge families to name{label="value",...} → value,
// labels sorted by name.
func samples(mfs []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(ls)
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	return out
}
