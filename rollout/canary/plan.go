package canary

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/predictd/predictd/monitor/slo"
)

// Plan is one canary rollout of a model: which version takes which share
// of the traffic, for how long, and what it must hold to go on. It is the
// "rollout" block of a model's config and the body of the admin API, read
// with encoding/json: a field left out keeps its DefaultPlan value (see
// UnmarshalJSON), and an unknown field is an error.
type Plan struct {
	// Candidate is the version being rolled out (> 0). No default.
	Candidate int `json:"candidate"`
	// Stable is the version the candidate is compared with and that gets
	// the rest of the traffic; 0 means the model's current stable version,
	// which the caller fills in before the rollout starts.
	Stable int `json:"stable,omitempty"`
	// Steps are the candidate's shares of the traffic, in percent, one per
	// step: strictly increasing, each in (0, 100] and a whole number of
	// basis points (a multiple of 0.01), the last 100, at least two (the
	// last step compares with the step before it; see Decide). Default
	// [1, 5, 25, 50, 100].
	Steps []float64 `json:"steps"`
	// MinDuration is how long each step lasts at least (a duration string:
	// "5m", "1h"). Default 5m.
	MinDuration slo.Duration `json:"min_duration"`
	// MinRequests is how many requests the candidate must answer at a step
	// (and the stable version too) before a check may fail or the rollout
	// advance (≥ 1). Default 1000.
	MinRequests int64 `json:"min_requests"`
	// Key names the request field whose value keeps a caller on one side
	// (a user id); the caller passes its bytes to Assign. "" splits per
	// request. Default "".
	Key string `json:"key,omitempty"`
	// Checks are what the candidate must hold against the stable version.
	Checks Checks `json:"checks"`
}

// Checks are the thresholds the candidate is held to. A nil pointer turns
// its check off (JSON null); a field left out of the JSON keeps its
// default. See Decide for when each is judged.
type Checks struct {
	// MaxErrorRateIncrease: the candidate's error rate minus the stable
	// version's, as a fraction (0.01 = one percentage point), may be at
	// most this. In [0, 1]. Default 0.01.
	MaxErrorRateIncrease *float64 `json:"max_error_rate_increase"`
	// MaxP99Ratio: the candidate's p99 latency over the stable version's
	// may be at most this (≥ 1), unless the difference is within
	// MaxP99Increase: the check fails only when the candidate's p99 is
	// both more than MaxP99Ratio times the stable p99 and more than
	// MaxP99Increase above it. Default 1.5.
	MaxP99Ratio *float64 `json:"max_p99_ratio"`
	// MaxP99Increase is the p99 check's absolute floor (a duration string,
	// ≥ 0), so that a fast model's microsecond noise cannot fail it.
	// Default 1ms.
	MaxP99Increase slo.Duration `json:"max_p99_increase"`
	// MaxPredictionDistance: the Kolmogorov-Smirnov distance D between the
	// two sides' samples of prediction output PredictionOutput may be at
	// most this. In [MinPredictionDistance, 1]. Default 0.1.
	MaxPredictionDistance *float64 `json:"max_prediction_distance"`
	// PredictionOutput is the index of the output whose values the caller
	// passes to Recorder.Observe (≥ 0). Default 0.
	PredictionOutput int `json:"prediction_output"`
	// MinQuality: the candidate's live quality (AUC or accuracy, as the
	// caller computes it from labels) minus the stable version's must be
	// at least this, in [-1, 1]: -0.01 lets the candidate be a point
	// worse. Off by default.
	MinQuality *float64 `json:"min_quality"`
	// QualityMinRows is how many labelled rows each side needs before the
	// quality check is judged (≥ 1). Default 500.
	QualityMinRows int64 `json:"quality_min_rows"`
}

// Defaults of a Plan (DefaultPlan).
var (
	DefaultSteps                 = []float64{1, 5, 25, 50, 100}
	DefaultMinDuration           = 5 * time.Minute
	DefaultMinRequests     int64 = 1000
	DefaultMaxErrorRateInc       = 0.01
	DefaultMaxP99Ratio           = 1.5
	DefaultMaxP99Increase        = time.Millisecond
	DefaultMaxPredDistance       = 0.1
	DefaultQualityMinRows  int64 = 500
)

// MinPredictionDistance is the smallest MaxPredictionDistance a plan may
// set: below it the distance check could never be judged, because the
// samples it needs (see ksMinEffective) exceed what the reservoirs hold.
const MinPredictionDistance = 0.05

// DefaultPlan is a plan with every default and no candidate: the error
// rate, p99 and prediction distance checks on, quality off.
func DefaultPlan() Plan {
	return Plan{
		Steps:       append([]float64(nil), DefaultSteps...),
		MinDuration: slo.Duration(DefaultMinDuration),
		MinRequests: DefaultMinRequests,
		Checks: Checks{
			MaxErrorRateIncrease:  new(DefaultMaxErrorRateInc),
			MaxP99Ratio:           new(DefaultMaxP99Ratio),
			MaxP99Increase:        slo.Duration(DefaultMaxP99Increase),
			MaxPredictionDistance: new(DefaultMaxPredDistance),
			QualityMinRows:        DefaultQualityMinRows,
		},
	}
}

// UnmarshalJSON reads a plan over DefaultPlan: a field left out keeps its
// default, null turns a check off, an unknown field is an error. It does
// not validate: call Validate.
func (p *Plan) UnmarshalJSON(b []byte) error {
	type plain Plan // without this method
	q := plain(DefaultPlan())
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return fmt.Errorf("rollout: %w", err)
	}
	*p = Plan(q)
	return nil
}

// ParsePlan reads a plan as UnmarshalJSON does and validates it.
func ParsePlan(b []byte) (Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return Plan{}, err
	}
	return p, p.Validate()
}

// Validate returns an error naming the first bad field as it is spelled in
// the config ("rollout.steps[2] 30: steps must increase"), or nil.
func (p Plan) Validate() error {
	bad := func(field string, v any, msg string) error {
		return fmt.Errorf("rollout.%s %v: %s", field, v, msg)
	}
	if p.Candidate <= 0 {
		return bad("candidate", p.Candidate, "want the candidate version (> 0)")
	}
	if p.Stable < 0 {
		return bad("stable", p.Stable, "want a version (> 0), or 0 for the current stable one")
	}
	if p.Stable == p.Candidate {
		return bad("stable", p.Stable, "the stable version is the candidate")
	}
	if len(p.Steps) < 2 {
		return bad("steps", fmt.Sprint(p.Steps), "want at least two steps, the last 100: the candidate is compared with the stable version below 100%")
	}
	for i, s := range p.Steps {
		f := fmt.Sprintf("steps[%d]", i)
		switch {
		case math.IsNaN(s) || s <= 0 || s > 100:
			return bad(f, s, "want a percentage in (0, 100]")
		case math.Abs(s*100-math.Round(s*100)) > 1e-6:
			return bad(f, s, "want a whole number of basis points (a multiple of 0.01)")
		case i > 0 && s <= p.Steps[i-1]:
			return bad(f, s, "steps must increase")
		}
	}
	if last := p.Steps[len(p.Steps)-1]; last != 100 {
		return bad(fmt.Sprintf("steps[%d]", len(p.Steps)-1), last, "the last step must be 100")
	}
	if p.MinDuration < 0 {
		return bad("min_duration", p.MinDuration, "want a duration ≥ 0")
	}
	if p.MinRequests < 1 {
		return bad("min_requests", p.MinRequests, "want at least 1")
	}
	for _, r := range p.Key {
		if r < 0x20 || r == 0x7f {
			return bad("key", fmt.Sprintf("%q", p.Key), "control character in the key name")
		}
	}
	c := p.Checks
	in := func(field string, v *float64, lo, hi float64) error {
		if v != nil && (math.IsNaN(*v) || *v < lo || *v > hi) {
			return bad("checks."+field, *v, fmt.Sprintf("want a value in [%g, %g], or null to turn the check off", lo, hi))
		}
		return nil
	}
	for _, e := range []error{
		in("max_error_rate_increase", c.MaxErrorRateIncrease, 0, 1),
		in("max_p99_ratio", c.MaxP99Ratio, 1, math.MaxFloat64),
		in("max_prediction_distance", c.MaxPredictionDistance, MinPredictionDistance, 1),
		in("min_quality", c.MinQuality, -1, 1),
	} {
		if e != nil {
			return e
		}
	}
	if c.MaxP99Increase < 0 {
		return bad("checks.max_p99_increase", c.MaxP99Increase, "want a duration ≥ 0")
	}
	if c.PredictionOutput < 0 {
		return bad("checks.prediction_output", c.PredictionOutput, "want an output index ≥ 0")
	}
	if c.QualityMinRows < 1 {
		return bad("checks.quality_min_rows", c.QualityMinRows, "want at least 1")
	}
	return nil
}

// Percent is the candidate's share of the traffic, in percent, at step i
// of the plan; 0 for an index outside the steps.
func (p Plan) Percent(i int) float64 {
	if i < 0 || i >= len(p.Steps) {
		return 0
	}
	return p.Steps[i]
}
