package canary

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/monitor/slo"
)

func TestPlanValidate(t *testing.T) {
	good := func() Plan { p := DefaultPlan(); p.Candidate = 2; return p }
	if err := good().Validate(); err != nil {
		t.Fatalf("Validate(default plan, candidate 2) = %v, want nil", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Plan)
		want string // "" = valid
	}{
		{"no candidate", func(p *Plan) { p.Candidate = 0 }, "rollout.candidate 0: want the candidate version"},
		{"stable negative", func(p *Plan) { p.Stable = -1 }, "rollout.stable -1:"},
		{"stable is candidate", func(p *Plan) { p.Stable = 2 }, "rollout.stable 2: the stable version is the candidate"},
		{"stable set", func(p *Plan) { p.Stable = 1 }, ""},
		{"one step", func(p *Plan) { p.Steps = []float64{100} }, "rollout.steps [100]: want at least two steps"},
		{"no steps", func(p *Plan) { p.Steps = nil }, "rollout.steps []: want at least two steps"},
		{"decreasing", func(p *Plan) { p.Steps = []float64{1, 50, 30, 100} }, "rollout.steps[2] 30: steps must increase"},
		{"repeated", func(p *Plan) { p.Steps = []float64{5, 5, 100} }, "rollout.steps[1] 5: steps must increase"},
		{"zero", func(p *Plan) { p.Steps = []float64{0, 100} }, "rollout.steps[0] 0: want a percentage in (0, 100]"},
		{"over 100", func(p *Plan) { p.Steps = []float64{1, 101} }, "rollout.steps[1] 101: want a percentage in (0, 100]"},
		{"last not 100", func(p *Plan) { p.Steps = []float64{1, 50} }, "rollout.steps[1] 50: the last step must be 100"},
		{"sub basis point", func(p *Plan) { p.Steps = []float64{0.005, 100} }, "rollout.steps[0] 0.005: want a whole number of basis points"},
		{"basis points", func(p *Plan) { p.Steps = []float64{0.01, 0.07, 2.5, 100} }, ""},
		{"negative duration", func(p *Plan) { p.MinDuration = slo.Duration(-time.Second) }, "rollout.min_duration"},
		{"zero duration", func(p *Plan) { p.MinDuration = 0 }, ""},
		{"no requests", func(p *Plan) { p.MinRequests = 0 }, "rollout.min_requests 0: want at least 1"},
		{"key control", func(p *Plan) { p.Key = "user\nid" }, `rollout.key "user\nid": control character`},
		{"error rate over 1", func(p *Plan) { p.Checks.MaxErrorRateIncrease = new(1.5) }, "rollout.checks.max_error_rate_increase 1.5: want a value in [0, 1]"},
		{"error rate off", func(p *Plan) { p.Checks.MaxErrorRateIncrease = nil }, ""},
		{"p99 ratio below 1", func(p *Plan) { p.Checks.MaxP99Ratio = new(0.9) }, "rollout.checks.max_p99_ratio 0.9:"},
		{"p99 floor negative", func(p *Plan) { p.Checks.MaxP99Increase = slo.Duration(-time.Millisecond) }, "rollout.checks.max_p99_increase"},
		{"distance too small", func(p *Plan) { p.Checks.MaxPredictionDistance = new(0.01) }, "rollout.checks.max_prediction_distance 0.01: want a value in [0.05, 1]"},
		{"output negative", func(p *Plan) { p.Checks.PredictionOutput = -1 }, "rollout.checks.prediction_output -1"},
		{"quality below -1", func(p *Plan) { p.Checks.MinQuality = new(-2.0) }, "rollout.checks.min_quality -2:"},
		{"quality rows", func(p *Plan) { p.Checks.QualityMinRows = 0 }, "rollout.checks.quality_min_rows 0"},
	} {
		p := good()
		tc.edit(&p)
		err := p.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: Validate(%+v) = %v, want nil", tc.name, p, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: Validate(%+v) = %v, want an error containing %q", tc.name, p, err, tc.want)
		}
	}
}

// TestPlanJSON: a field left out keeps its default, null turns a check
// off, an unknown field is an error, and a plan written out reads back
// equal.
func TestPlanJSON(t *testing.T) {
	p, err := ParsePlan([]byte(`{"candidate": 3, "min_duration": "10m", "checks": {"max_p99_ratio": 2, "max_prediction_distance": null}}`))
	if err != nil {
		t.Fatalf("ParsePlan: %v", err)
	}
	want := DefaultPlan()
	want.Candidate = 3
	want.MinDuration = slo.Duration(10 * time.Minute)
	want.Checks.MaxP99Ratio = new(2.0)
	want.Checks.MaxPredictionDistance = nil
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("ParsePlan = %+v\nwant %+v", p, want)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := ParsePlan(b)
	if err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("ParsePlan(%s) = %+v, %v; want %+v", b, back, err, p)
	}

	// Inside a config block: the defaults still apply.
	var cfg struct {
		Rollout Plan `json:"rollout"`
	}
	if err := json.Unmarshal([]byte(`{"rollout": {"candidate": 4, "steps": [10, 100]}}`), &cfg); err != nil {
		t.Fatalf("Unmarshal config: %v", err)
	}
	if cfg.Rollout.MinRequests != DefaultMinRequests || cfg.Rollout.Checks.MaxErrorRateIncrease == nil ||
		!reflect.DeepEqual(cfg.Rollout.Steps, []float64{10, 100}) {
		t.Fatalf("config block = %+v, want defaults with steps [10 100]", cfg.Rollout)
	}

	for _, tc := range []struct{ in, want string }{
		{`{"candidate": 2, "stpes": [1, 100]}`, `unknown field "stpes"`},
		{`{"candidate": 2, "min_duration": "soon"}`, `"soon" is not a duration`},
		{`{"candidate": 2, "steps": [1, 30, 20, 100]}`, "rollout.steps[2] 20: steps must increase"},
		{`{"candidate": 2, "checks": {"max_p99_ratio": "1.5"}}`, "max_p99_ratio"},
	} {
		if _, err := ParsePlan([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePlan(%s) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

// TestDefaultPlanFresh: each DefaultPlan has its own steps and thresholds.
func TestDefaultPlanFresh(t *testing.T) {
	a := DefaultPlan()
	a.Steps[0] = 42
	*a.Checks.MaxP99Ratio = 9
	b := DefaultPlan()
	if b.Steps[0] != 1 || *b.Checks.MaxP99Ratio != DefaultMaxP99Ratio {
		t.Fatalf("DefaultPlan after editing another = steps %v, max_p99_ratio %g; want 1 and %g", b.Steps, *b.Checks.MaxP99Ratio, DefaultMaxP99Ratio)
	}
}
