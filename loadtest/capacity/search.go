package capacity

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/predictd/predictd/loadtest"
)

// Phases of Step.Phase.
const (
	PhaseRamp   = "ramp"
	PhaseBisect = "bisect"
)

// Step is one constant-rate run of a search. Latencies are milliseconds.
type Step struct {
	Phase       string  `json:"phase"` // ramp or bisect
	TargetRPS   float64 `json:"target_rps"`
	AchievedRPS float64 `json:"achieved_rps"` // 2xx responses per second
	P50MS       float64 `json:"p50_ms"`
	P90MS       float64 `json:"p90_ms"`
	P99MS       float64 `json:"p99_ms"`
	P999MS      float64 `json:"p999_ms"`
	MaxMS       float64 `json:"max_ms"`
	Requests    uint64  `json:"requests"` // measured requests completed
	// ErrorRate is the fraction of the measured requests that failed or
	// were never sent; Errors counts failures by status or kind.
	ErrorRate float64           `json:"error_rate"`
	Errors    map[string]uint64 `json:"errors"`
	Late      uint64            `json:"late"`
	Unsent    uint64            `json:"unsent"`
	Pass      bool              `json:"pass"`
	Reasons   []string          `json:"reasons,omitempty"`
	// CPUSecondsPerRequest is the server's CPU time per completed request
	// over the step, warm-up included; 0 when unknown.
	CPUSecondsPerRequest float64 `json:"cpu_seconds_per_request,omitempty"`
	// Spectrum is the step's latency percentile spectrum; Report keeps
	// the knee's.
	Spectrum []loadtest.SpectrumMS `json:"-"`
}

// Settings are the Options a Report was made with, as JSON holds them.
type Settings struct {
	URL             string           `json:"url"`
	SLO             loadtest.SLOJSON `json:"slo"`
	StartRate       float64          `json:"start_rate"`
	MaxRate         float64          `json:"max_rate"`
	StepDurationS   float64          `json:"step_duration_s"`
	WarmupS         float64          `json:"warmup_s"`
	Precision       float64          `json:"precision"`
	MaxSteps        int              `json:"max_steps"`
	Connections     int              `json:"connections,omitempty"` // 0: loadtest's default per rate
	MetricsURL      string           `json:"metrics_url,omitempty"`
	TargetRPS       float64          `json:"target_rps,omitempty"`
	CostPerCoreHour float64          `json:"cost_per_core_hour,omitempty"`
	Headroom        float64          `json:"headroom"`
	ServerCores     int              `json:"server_cores"`
}

// Why a search stopped (Report.Stopped).
const (
	StopPrecision  = "precision"         // the bisection reached Options.Precision
	StopMaxSteps   = "max_steps"         // Options.MaxSteps ran out
	StopMaxRate    = "max_rate"          // every step passed up to Options.MaxRate
	StopFirstStep  = "first_step_failed" // the first step failed: no knee
	StopCanceled   = "canceled"          // the context was canceled
	StopRunFailure = "run_error"         // loadtest.Run returned an error
)

// Report is a capacity search's outcome, as `predictd capacity --json`
// writes it.
type Report struct {
	Settings Settings `json:"settings"`
	// Steps are in the order they ran; Curve is the same steps sorted by
	// target rate (the knee curve).
	Steps []Step `json:"steps"`
	Curve []Step `json:"curve"`
	// Found says whether a step passed; Knee is the passing step with the
	// highest target rate (nil when none did).
	Found bool  `json:"found"`
	Knee  *Step `json:"knee,omitempty"`
	// Stopped says why the search ended; Message says it for a person.
	Stopped string `json:"stopped"`
	Message string `json:"message"`
	// Plan is sized from the knee (nil without one).
	Plan *Plan `json:"plan,omitempty"`
	// Spectrum is the knee step's latency percentile spectrum; Over is
	// that of the lowest failing step above it, when there is one.
	Spectrum     []loadtest.SpectrumMS `json:"spectrum,omitempty"`
	OverRPS      float64               `json:"over_target_rps,omitempty"`
	OverSpectrum []loadtest.SpectrumMS `json:"over_spectrum,omitempty"`
	// Notes are things the reader should know: a failed metrics scrape,
	// a knee at MaxRate.
	Notes []string `json:"notes,omitempty"`
}

// Search looks for the highest rate the server holds within opts.SLO, as
// the package doc describes, and plans a deployment from it. It returns
// an error at once if opts is invalid. A step whose run fails outright
// (loadtest.Run's error) or a canceled ctx ends the search; the Report
// holds the steps so far and the error is returned with it. A search that
// ends without a knee (the first step failed) returns a Report with Found
// false and a nil error.
func Search(ctx context.Context, opts Options) (Report, error) {
	o, err := opts.check()
	if err != nil {
		return Report{}, err
	}
	rep := Report{Settings: Settings{
		URL: o.Load.URL, SLO: loadtest.SLOJSON{P99MS: ms(o.SLO.P99), MaxErrorRate: o.SLO.MaxErrorRate},
		StartRate: o.StartRate, MaxRate: o.MaxRate, StepDurationS: o.StepDuration.Seconds(),
		WarmupS: max(o.Warmup, 0).Seconds(), Precision: o.Precision, MaxSteps: o.MaxSteps,
		Connections: o.Load.Concurrency, MetricsURL: o.MetricsURL, TargetRPS: o.TargetRPS,
		CostPerCoreHour: o.CostPerCoreHour, Headroom: o.Headroom, ServerCores: o.ServerCores,
	}}
	s := &searcher{o: o, rep: &rep, http: &http.Client{}}
	defer s.http.CloseIdleConnections()
	err = s.run(ctx)
	s.finish()
	return rep, err
}

type searcher struct {
	o     Options
	rep   *Report
	http  *http.Client
	noCPU bool // a scrape failed: stop trying
}

// run is the ramp and then the bisection.
func (s *searcher) run(ctx context.Context) error {
	o := s.o
	var lo, hi float64 // last passing, first failing rate
	for rate := o.StartRate; ; rate = min(rate*2, o.MaxRate) {
		if len(s.rep.Steps) == o.MaxSteps {
			s.rep.Stopped = StopMaxSteps
			return nil
		}
		st, err := s.step(ctx, PhaseRamp, rate)
		if err != nil {
			return err
		}
		if !st.Pass {
			hi = rate
			break
		}
		lo = rate
		if rate >= o.MaxRate {
			s.rep.Stopped = StopMaxRate
			return nil
		}
	}
	if lo == 0 {
		s.rep.Stopped = StopFirstStep
		return nil
	}
	for (hi-lo)/lo >= o.Precision {
		if len(s.rep.Steps) == o.MaxSteps {
			s.rep.Stopped = StopMaxSteps
			return nil
		}
		mid := (lo + hi) / 2
		st, err := s.step(ctx, PhaseBisect, mid)
		if err != nil {
			return err
		}
		if st.Pass {
			lo = mid
		} else {
			hi = mid
		}
	}
	s.rep.Stopped = StopPrecision
	return nil
}

// step runs one constant-rate step, records it and reports it.
func (s *searcher) step(ctx context.Context, phase string, rate float64) (Step, error) {
	if err := ctx.Err(); err != nil {
		s.rep.Stopped = StopCanceled
		return Step{}, err
	}
	lo := s.o.Load
	lo.Rate, lo.Profile, lo.StartRate, lo.Steps = rate, loadtest.ProfileConstant, 0, 0
	lo.Duration, lo.Warmup = s.o.StepDuration, s.o.Warmup
	var done atomic.Uint64
	lo.Progress = func(p loadtest.Progress) { done.Store(p.Done) }
	lo.ProgressInterval = time.Second

	cpu0, cpuOK := s.cpu(ctx)
	res, err := loadtest.Run(ctx, lo)
	if err != nil {
		s.rep.Stopped = StopRunFailure
		if ctx.Err() != nil {
			s.rep.Stopped = StopCanceled
			return Step{}, fmt.Errorf("capacity: step at %g/s: %w", rate, err)
		}
		return Step{}, fmt.Errorf("capacity: step at %g/s: %w", rate, err)
	}
	v := s.o.SLO.Check(res)
	st := Step{
		Phase: phase, TargetRPS: rate, AchievedRPS: res.RPS,
		P50MS: ms(res.P50), P90MS: ms(res.P90), P99MS: ms(res.P99), P999MS: ms(res.P999), MaxMS: ms(res.Max),
		Requests: res.Requests, ErrorRate: res.ErrorRate(), Errors: res.Errors, Late: res.Late, Unsent: res.Unsent,
		Pass: v.Pass, Reasons: v.Reasons,
	}
	for _, p := range res.Spectrum {
		st.Spectrum = append(st.Spectrum, loadtest.SpectrumMS{Percentile: p.Percentile, LatencyMS: ms(p.Latency)})
	}
	if cpuOK {
		// Run has reported its final Progress before returning.
		if cpu1, ok := s.cpu(ctx); ok && done.Load() > 0 && cpu1 >= cpu0 {
			st.CPUSecondsPerRequest = (cpu1 - cpu0) / float64(done.Load())
		}
	}
	s.rep.Steps = append(s.rep.Steps, st)
	if s.o.Progress != nil {
		s.o.Progress(st)
	}
	return st, nil
}

// cpu scrapes the server's CPU seconds, if there is a MetricsURL and no
// scrape has failed yet; the first failure is noted in the report.
func (s *searcher) cpu(ctx context.Context) (float64, bool) {
	if s.o.MetricsURL == "" || s.noCPU {
		return 0, false
	}
	v, err := scrapeCPU(ctx, s.http, s.o.MetricsURL)
	if err != nil {
		s.noCPU = true
		s.rep.Notes = append(s.rep.Notes, fmt.Sprintf("no CPU time per request: %v", err))
		return 0, false
	}
	return v, true
}

// finish derives the curve, the knee, the spectra, the plan and the
// message from the steps.
func (s *searcher) finish() {
	r, o := s.rep, s.o
	r.Curve = slices.Clone(r.Steps)
	slices.SortStableFunc(r.Curve, func(a, b Step) int { return cmp.Compare(a.TargetRPS, b.TargetRPS) })
	for i := range r.Curve {
		if c := &r.Curve[i]; c.Pass && (r.Knee == nil || c.TargetRPS >= r.Knee.TargetRPS) {
			k := *c
			r.Knee = &k
		}
	}
	r.Found = r.Knee != nil
	if r.Found {
		r.Spectrum = r.Knee.Spectrum
		for _, c := range r.Curve {
			if !c.Pass && c.TargetRPS > r.Knee.TargetRPS {
				r.OverRPS, r.OverSpectrum = c.TargetRPS, c.Spectrum
				break
			}
		}
		p, err := MakePlan(PlanInput{
			KneeRPS: r.Knee.AchievedRPS, TargetRPS: o.TargetRPS, Headroom: o.Headroom, ServerCores: o.ServerCores,
			CPUSecondsPerRequest: r.Knee.CPUSecondsPerRequest, CostPerCoreHour: o.CostPerCoreHour,
		})
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("no plan: %v", err))
		} else {
			r.Plan = &p
		}
	}
	slo := fmt.Sprintf("p99 ≤ %gms, error rate ≤ %g%%", ms(o.SLO.P99), 100*o.SLO.MaxErrorRate)
	switch {
	case r.Stopped == StopFirstStep:
		r.Message = fmt.Sprintf("no knee: the first step, %g/s, already fails the SLO (%s); try a lower --start-rate or a looser SLO", o.StartRate, slo)
	case !r.Found:
		r.Message = fmt.Sprintf("no knee: no step passed the SLO (%s) before the search stopped (%s)", slo, r.Stopped)
	case r.Stopped == StopMaxRate:
		r.Message = fmt.Sprintf("every step passed up to MaxRate %g/s (achieved %.4g/s within %s): capacity is at least that; raise --max-rate to find the knee", o.MaxRate, r.Knee.AchievedRPS, slo)
		r.Notes = append(r.Notes, "the knee is MaxRate, not a measured limit: the plan overstates the replicas needed")
	default:
		r.Message = fmt.Sprintf("knee at %.4g/s target (achieved %.4g/s, p99 %.3gms) within %s; stopped: %s", r.Knee.TargetRPS, r.Knee.AchievedRPS, r.Knee.P99MS, slo, r.Stopped)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
