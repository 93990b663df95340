package capacity

import (
	"math"
	"strings"
	"testing"
)

func TestCapacityMakePlan(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for _, c := range []struct {
		name string
		in   PlanInput
		want Plan
	}{{
		name: "cpu basis",
		// 10,000/s at 1,000/s a replica kept at 70%: ceil(14.29) = 15
		// replicas of 4 cores; CPU: 10,000 × 0.002 / 0.7 = 28.57 cores;
		// 0.002 s × 1e6 / 3600 × 0.04 / 0.7 = 0.031746 per million.
		// Side by side, whole replicas: 60 × 0.04 / (10,000 × 3600) × 1e6
		// = 0.0666… (2.1x the CPU basis: idle cores and whole replicas).
		in: PlanInput{KneeRPS: 1000, TargetRPS: 10_000, Headroom: 0.7, ServerCores: 4, CPUSecondsPerRequest: 0.002, CostPerCoreHour: 0.04, Currency: "EUR"},
		want: Plan{TargetRPS: 10_000, Headroom: 0.7, CostPerCoreHour: 0.04, Currency: "EUR", PerReplicaRPS: 1000, Replicas: 15, CoresPerReplica: 4, Cores: 60,
			CPUSecondsPerRequest: 0.002, CoresByCPU: 10_000 * 0.002 / 0.7, CostPerHour: 60 * 0.04,
			CostPerMillion: 0.002 * 1e6 / 3600 * 0.04 / 0.7, CostBasis: BasisCPU,
			CostPerMillionCPU: 0.002 * 1e6 / 3600 * 0.04 / 0.7, CostPerMillionReplicas: 60 * 0.04 / (10_000 * 3600) * 1e6},
	}, {
		name: "replica basis without CPU data",
		// 60 cores × 0.04 / (10,000 × 3600) × 1e6 = 0.0666…
		in: PlanInput{KneeRPS: 1000, TargetRPS: 10_000, Headroom: 0.7, ServerCores: 4, CostPerCoreHour: 0.04},
		want: Plan{TargetRPS: 10_000, Headroom: 0.7, CostPerCoreHour: 0.04, PerReplicaRPS: 1000, Replicas: 15, CoresPerReplica: 4, Cores: 60,
			CostPerHour: 2.4, CostPerMillion: 60 * 0.04 / (10_000 * 3600) * 1e6, CostBasis: BasisReplicas,
			CostPerMillionReplicas: 60 * 0.04 / (10_000 * 3600) * 1e6},
	}, {
		name: "exact fit needs no extra replica",
		in:   PlanInput{KneeRPS: 500, TargetRPS: 1000, Headroom: 1, ServerCores: 2},
		want: Plan{TargetRPS: 1000, Headroom: 1, PerReplicaRPS: 500, Replicas: 2, CoresPerReplica: 2, Cores: 4},
	}, {
		name: "a little over needs one more",
		in:   PlanInput{KneeRPS: 500, TargetRPS: 1001, Headroom: 1, ServerCores: 2},
		want: Plan{TargetRPS: 1001, Headroom: 1, PerReplicaRPS: 500, Replicas: 3, CoresPerReplica: 2, Cores: 6},
	}, {
		name: "no target: price one replica at the headroom",
		// 8 × 0.1 / (2000 × 0.5 × 3600) × 1e6 = 0.2222…
		in: PlanInput{KneeRPS: 2000, Headroom: 0.5, ServerCores: 8, CostPerCoreHour: 0.1},
		want: Plan{Headroom: 0.5, CostPerCoreHour: 0.1, PerReplicaRPS: 2000, CoresPerReplica: 8,
			CostPerMillion: 8 * 0.1 / (2000 * 0.5 * 3600) * 1e6, CostBasis: BasisReplicas,
			CostPerMillionReplicas: 8 * 0.1 / (2000 * 0.5 * 3600) * 1e6},
	}, {
		name: "no price",
		in:   PlanInput{KneeRPS: 100, TargetRPS: 50, Headroom: 0.7, ServerCores: 1, CPUSecondsPerRequest: 0.01},
		want: Plan{TargetRPS: 50, Headroom: 0.7, PerReplicaRPS: 100, Replicas: 1, CoresPerReplica: 1, Cores: 1,
			CPUSecondsPerRequest: 0.01, CoresByCPU: 50 * 0.01 / 0.7},
	}} {
		got, err := MakePlan(c.in)
		if err != nil {
			t.Errorf("%s: MakePlan(%+v) error %v", c.name, c.in, err)
			continue
		}
		g, w := got, c.want
		floats := [][2]float64{{g.CoresByCPU, w.CoresByCPU}, {g.CostPerHour, w.CostPerHour}, {g.CostPerMillion, w.CostPerMillion},
			{g.CostPerMillionCPU, w.CostPerMillionCPU}, {g.CostPerMillionReplicas, w.CostPerMillionReplicas}}
		g.CoresByCPU, g.CostPerHour, g.CostPerMillion = w.CoresByCPU, w.CostPerHour, w.CostPerMillion
		g.CostPerMillionCPU, g.CostPerMillionReplicas = w.CostPerMillionCPU, w.CostPerMillionReplicas
		same := g == w
		for _, f := range floats {
			same = same && near(f[0], f[1])
		}
		if !same {
			t.Errorf("%s: MakePlan(%+v)\n got %+v\nwant %+v", c.name, c.in, got, c.want)
		}
	}
}

func TestCapacityMakePlanRejects(t *testing.T) {
	good := PlanInput{KneeRPS: 100, TargetRPS: 10, Headroom: 0.7, ServerCores: 1}
	for _, c := range []struct {
		want string
		edit func(*PlanInput)
	}{
		{"knee rate", func(p *PlanInput) { p.KneeRPS = 0 }},
		{"knee rate", func(p *PlanInput) { p.KneeRPS = math.NaN() }},
		{"Headroom", func(p *PlanInput) { p.Headroom = 0 }},
		{"Headroom", func(p *PlanInput) { p.Headroom = 1.01 }},
		{"ServerCores", func(p *PlanInput) { p.ServerCores = 0 }},
		{"TargetRPS", func(p *PlanInput) { p.TargetRPS = -1 }},
		{"CostPerCoreHour", func(p *PlanInput) { p.CostPerCoreHour = -1 }},
	} {
		in := good
		c.edit(&in)
		if _, err := MakePlan(in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("MakePlan(%+v) error %v, want one naming %s", in, err, c.want)
		}
	}
}

func TestCapacityParseCPU(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		err  string
	}{
		{"process_cpu_seconds_total 12.5\n", 12.5, ""},
		{"# HELP process_cpu_seconds_total x\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 3e-2\n", 0.03, ""},
		{"process_cpu_seconds_total_other 9\nprocess_cpu_seconds_total{pid=\"1\"} 7 1700000000\n", 7, ""},
		{"predictd_requests_total 4\n", 0, "no process_cpu_seconds_total sample"},
		{"process_cpu_seconds_total abc\n", 0, "value in"},
		{"process_cpu_seconds_total{a=\"b\" 3\n", 0, "unterminated labels"},
	} {
		got, err := parseCPU(strings.NewReader(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseCPU(%q) = %v, %v; want an error containing %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseCPU(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
