package capacity

import (
	"fmt"
	"math"
)

// PlanInput is what MakePlan sizes a deployment from.
type PlanInput struct {
	// KneeRPS is the knee's achieved rate: requests per second one
	// replica answers within the SLO. Must be positive.
	KneeRPS float64
	// TargetRPS is the rate the deployment must serve; 0 sizes nothing
	// (no replicas, no cores) but still prices a request.
	TargetRPS float64
	// Headroom is the target utilisation in (0, 1]: a replica is planned
	// to carry KneeRPS × Headroom.
	Headroom float64
	// ServerCores is the cores of the machine the tested server ran on:
	// one replica's size.
	ServerCores int
	// CPUSecondsPerRequest is the server's CPU time per request; 0 when
	// unknown.
	CPUSecondsPerRequest float64
	// CostPerCoreHour is the price of one core for one hour, in
	// Currency; 0 prices nothing.
	CostPerCoreHour float64
	// Currency names the price's unit ("USD"); it is only carried into
	// the Plan, for the reader.
	Currency string
}

// Plan is a deployment sized from a capacity search. Fields that could
// not be computed are zero and omitted from JSON.
type Plan struct {
	TargetRPS       float64 `json:"target_rps,omitempty"`
	Headroom        float64 `json:"headroom"`
	CostPerCoreHour float64 `json:"cost_per_core_hour,omitempty"`
	// Currency is the unit of every price in the plan.
	Currency string `json:"currency,omitempty"`
	// PerReplicaRPS is the knee's achieved rate.
	PerReplicaRPS float64 `json:"per_replica_rps"`
	// Replicas = ceil(TargetRPS / (PerReplicaRPS × Headroom)).
	Replicas int `json:"replicas,omitempty"`
	// CoresPerReplica = ServerCores; Cores = Replicas × CoresPerReplica.
	CoresPerReplica int `json:"cores_per_replica"`
	Cores           int `json:"cores,omitempty"`
	// CPUSecondsPerRequest is the measured server CPU time per request.
	CPUSecondsPerRequest float64 `json:"cpu_seconds_per_request,omitempty"`
	// CoresByCPU = TargetRPS × CPUSecondsPerRequest / Headroom: the cores
	// the CPU work alone needs at the target utilisation, were it spread
	// perfectly over them.
	CoresByCPU float64 `json:"cores_by_cpu,omitempty"`
	// CostPerHour = Cores × CostPerCoreHour.
	CostPerHour float64 `json:"cost_per_hour,omitempty"`
	// CostPerMillion is the price of a million predictions, by
	// CostBasis: "cpu" (from CPU time) or "replicas" (from whole
	// replicas).
	CostPerMillion float64 `json:"cost_per_million,omitempty"`
	CostBasis      string  `json:"cost_basis,omitempty"`
	// The price of a million predictions on each basis, side by side
	// (each 0 when it cannot be computed): by whole replicas (every core
	// of every replica paid for, busy or not: what a fleet of machines
	// like the tested one costs) and by CPU time (the server's measured
	// CPU seconds, as if cores were bought in fractions and kept busy at
	// Headroom: the floor a perfectly packed deployment approaches).
	CostPerMillionReplicas float64 `json:"cost_per_million_replicas,omitempty"`
	CostPerMillionCPU      float64 `json:"cost_per_million_cpu,omitempty"`
}

// Cost bases of Plan.CostBasis.
const (
	BasisCPU      = "cpu"
	BasisReplicas = "replicas"
)

// MakePlan sizes a deployment:
//
//	PerReplicaRPS   = KneeRPS
//	Replicas        = ceil(TargetRPS / (PerReplicaRPS × Headroom))
//	CoresPerReplica = ServerCores
//	Cores           = Replicas × ServerCores
//	CoresByCPU      = TargetRPS × CPUSecondsPerRequest / Headroom
//	CostPerHour     = Cores × CostPerCoreHour
//
// and prices a million predictions on both bases it can (side by side in
// CostPerMillionCPU and CostPerMillionReplicas; CostPerMillion and
// CostBasis are the CPU one when CPU time is known, else the replica one),
// from CPU time:
//
//	CostPerMillion = CPUSecondsPerRequest × 1e6 / 3600 × CostPerCoreHour / Headroom
//
// and from whole replicas:
//
//	CostPerMillion = Cores × CostPerCoreHour / (TargetRPS × 3600) × 1e6
//
// or, without a TargetRPS, from one replica at the target utilisation:
//
//	CostPerMillion = ServerCores × CostPerCoreHour / (PerReplicaRPS × Headroom × 3600) × 1e6
//
// The CPU basis assumes cores can be bought in fractions and kept busy at
// Headroom; the replica basis pays for every core of every replica, busy
// or not, and so is the higher (and, for whole machines, the real) price.
// Both assume the test's requests are representative, and the replica
// sizes assume production replicas are machines like the one tested.
func MakePlan(in PlanInput) (Plan, error) {
	switch {
	case !(in.KneeRPS > 0) || math.IsInf(in.KneeRPS, 0):
		return Plan{}, fmt.Errorf("capacity: plan: knee rate %v, want a positive rate", in.KneeRPS)
	case !(in.Headroom > 0 && in.Headroom <= 1):
		return Plan{}, fmt.Errorf("capacity: plan: Headroom %v, want a utilisation in (0, 1]", in.Headroom)
	case in.ServerCores < 1:
		return Plan{}, fmt.Errorf("capacity: plan: ServerCores %d, want at least 1", in.ServerCores)
	case !(in.TargetRPS >= 0) || math.IsInf(in.TargetRPS, 0):
		return Plan{}, fmt.Errorf("capacity: plan: TargetRPS %v, want a rate ≥ 0", in.TargetRPS)
	case !(in.CPUSecondsPerRequest >= 0) || !(in.CostPerCoreHour >= 0):
		return Plan{}, fmt.Errorf("capacity: plan: CPUSecondsPerRequest %v, CostPerCoreHour %v: want values ≥ 0", in.CPUSecondsPerRequest, in.CostPerCoreHour)
	}
	p := Plan{
		TargetRPS: in.TargetRPS, Headroom: in.Headroom, CostPerCoreHour: in.CostPerCoreHour, Currency: in.Currency,
		PerReplicaRPS: in.KneeRPS, CoresPerReplica: in.ServerCores,
		CPUSecondsPerRequest: in.CPUSecondsPerRequest,
	}
	if in.TargetRPS > 0 {
		p.Replicas = int(math.Ceil(in.TargetRPS / (in.KneeRPS * in.Headroom)))
		p.Cores = p.Replicas * in.ServerCores
		p.CoresByCPU = in.TargetRPS * in.CPUSecondsPerRequest / in.Headroom
		p.CostPerHour = float64(p.Cores) * in.CostPerCoreHour
	}
	if in.CostPerCoreHour > 0 {
		if in.TargetRPS > 0 {
			p.CostPerMillionReplicas = float64(p.Cores) * in.CostPerCoreHour / (in.TargetRPS * 3600) * 1e6
		} else {
			p.CostPerMillionReplicas = float64(in.ServerCores) * in.CostPerCoreHour / (in.KneeRPS * in.Headroom * 3600) * 1e6
		}
		p.CostPerMillion, p.CostBasis = p.CostPerMillionReplicas, BasisReplicas
		if in.CPUSecondsPerRequest > 0 {
			p.CostPerMillionCPU = in.CPUSecondsPerRequest * 1e6 / 3600 * in.CostPerCoreHour / in.Headroom
			p.CostPerMillion, p.CostBasis = p.CostPerMillionCPU, BasisCPU
		}
	}
	return p, nil
}
