package capacity

import (
	"cmp"
	"context"
	"fmt"
	"maps"
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
	// PhaseVerify re-runs an end of the final bracket (the knee, the
	// first failing rate) once, so that one noisy step cannot decide the
	// answer alone.
	PhaseVerify = "verify"
	// PhaseRepeat re-runs a rate whose runs disagree (one passed, one
	// failed), until most of its runs agree.
	PhaseRepeat = "repeat"
)

// saturatedFraction: a step that answered less than this fraction of its
// target rate was offered more than the server could take, and its
// achieved rate is the server's saturated throughput.
const saturatedFraction = 0.9

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
	// Saturated: the step answered under 90% of its target (the rest
	// unsent or failed): the server was offered more than it could take
	// and AchievedRPS is what it could.
	Saturated bool `json:"saturated,omitempty"`
	// Run counts the runs at this target rate so far, this one included
	// (2 and up: a verification or a repeat).
	Run int `json:"run"`
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
	Currency        string           `json:"currency,omitempty"`
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
	// Found says whether a rate passed; Knee is a passing step at the
	// highest rate that passed by most of its runs (nil when none did).
	Found bool  `json:"found"`
	Knee  *Step `json:"knee,omitempty"`
	// LowerBound: no rate failed above the knee (the search ran out of
	// steps or reached MaxRate), so the knee is a floor on capacity, not
	// a measured limit: "at least Knee.AchievedRPS requests/s".
	LowerBound bool `json:"lower_bound"`
	// SaturatedRPS is the most a saturated step answered (Step.Saturated):
	// the server's throughput when offered more than it can take,
	// whatever the latency; 0 when no step saturated it.
	SaturatedRPS float64 `json:"saturated_rps,omitempty"`
	// Repeats are the rates run more than once, with the spread of their
	// runs; Inconsistent says some disagreement was left (a rate whose
	// runs split, or a rate that failed below one that passed), each one
	// said in Notes.
	Repeats      []Repeat `json:"repeats,omitempty"`
	Inconsistent bool     `json:"inconsistent"`
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

// Repeat is the spread of the runs at one target rate.
type Repeat struct {
	TargetRPS   float64 `json:"target_rps"`
	Runs        int     `json:"runs"`
	Passed      int     `json:"passed"`
	AchievedMin float64 `json:"achieved_rps_min"`
	AchievedMax float64 `json:"achieved_rps_max"`
	P99MinMS    float64 `json:"p99_ms_min"`
	P99MaxMS    float64 `json:"p99_ms_max"`
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
		CostPerCoreHour: o.CostPerCoreHour, Currency: o.Currency, Headroom: o.Headroom, ServerCores: o.ServerCores,
	}}
	s := &searcher{o: o, rep: &rep, http: &http.Client{}, runs: map[float64][]Step{}, load: loadtest.Run}
	defer s.http.CloseIdleConnections()
	err = s.run(ctx)
	s.finish()
	return rep, err
}

type searcher struct {
	o     Options
	rep   *Report
	http  *http.Client
	noCPU bool               // a scrape failed: stop trying
	runs  map[float64][]Step // the steps by target rate
	// load runs one step: loadtest.Run, or a test's stand-in.
	load func(context.Context, loadtest.Options) (loadtest.Result, error)
}

// run is the ramp, the bisection and the verification. Every rate's
// verdict is the majority of its runs (probe repeats a rate whose runs
// split); lo and hi are the highest rate that passed and the lowest
// above it that failed.
func (s *searcher) run(ctx context.Context) error {
	o := s.o
	var lo, hi float64 // passing and failing ends of the bracket; 0: none yet
	rate := o.StartRate
	var hint float64 // a saturated step's achieved rate: where the knee must be below
	for {
		if hi == 0 { // the ramp: double while rates pass
			pass, st, err := s.probe(ctx, PhaseRamp, rate)
			if err != nil || s.rep.Stopped != "" {
				return err
			}
			if pass {
				lo = rate
				if rate >= o.MaxRate {
					s.rep.Stopped = StopMaxRate
					return nil
				}
				rate = min(rate*2, o.MaxRate)
				continue
			}
			hi = rate
			if st.Saturated {
				hint = st.AchievedRPS
			}
		}
		if lo == 0 {
			s.rep.Stopped = StopFirstStep
			return nil
		}
		if (hi-lo)/lo < o.Precision {
			// Verify both ends once: a single noisy step must not decide.
			if end, ok := s.unverified(hi, lo); ok {
				pass, _, err := s.probe(ctx, PhaseVerify, end)
				if err != nil || s.rep.Stopped != "" {
					return err
				}
				switch {
				case end == hi && pass: // hi passes after all: search above it
					lo, hi = hi, s.failingAbove(hi)
					if hi == 0 {
						rate = min(lo*2, o.MaxRate)
						if lo >= o.MaxRate {
							s.rep.Stopped = StopMaxRate
							return nil
						}
					}
				case end == lo && !pass: // lo fails after all: search below it
					lo, hi = s.passingBelow(lo), lo
				}
				continue
			}
			s.rep.Stopped = StopPrecision
			return nil
		}
		mid := (lo + hi) / 2
		// A saturated step measured the server's throughput: the knee is
		// below it, so try just under it rather than half way to a rate
		// far above.
		if h := saturatedFraction * hint; h > lo && h < mid && (hi-lo)/lo >= 2*o.Precision {
			mid = h
		}
		hint = 0
		pass, st, err := s.probe(ctx, PhaseBisect, mid)
		if err != nil || s.rep.Stopped != "" {
			return err
		}
		if pass {
			lo = mid
		} else {
			hi = mid
			if st.Saturated {
				hint = st.AchievedRPS
			}
		}
	}
}

// unverified returns the first of rates run only once.
func (s *searcher) unverified(rates ...float64) (float64, bool) {
	for _, r := range rates {
		if len(s.runs[r]) == 1 {
			return r, true
		}
	}
	return 0, false
}

// failingAbove is the lowest rate above r whose runs mostly failed; 0
// when none.
func (s *searcher) failingAbove(r float64) float64 {
	best := 0.0
	for rate := range s.runs {
		if rate > r && !s.verdict(rate) && (best == 0 || rate < best) {
			best = rate
		}
	}
	return best
}

// passingBelow is the highest rate below r whose runs mostly passed; 0
// when none.
func (s *searcher) passingBelow(r float64) float64 {
	best := 0.0
	for rate := range s.runs {
		if rate < r && s.verdict(rate) && rate > best {
			best = rate
		}
	}
	return best
}

// verdict is whether most runs at rate passed (a tie fails).
func (s *searcher) verdict(rate float64) bool {
	n := 0
	for _, st := range s.runs[rate] {
		if st.Pass {
			n++
		}
	}
	return 2*n > len(s.runs[rate])
}

// maxRuns bounds the runs at one rate.
const maxRuns = 3

// probe runs a step at rate and returns the rate's verdict: the majority
// of its runs. Runs that split, or a verdict that contradicts another
// rate's (a failure below a rate that passed, a pass above one that
// failed), are repeated up to maxRuns runs at the rate. It sets
// rep.Stopped when MaxSteps runs out.
func (s *searcher) probe(ctx context.Context, phase string, rate float64) (bool, Step, error) {
	var st Step
	for {
		if len(s.rep.Steps) == s.o.MaxSteps {
			s.rep.Stopped = StopMaxSteps
			return false, st, nil
		}
		var err error
		if st, err = s.step(ctx, phase, rate); err != nil {
			return false, st, err
		}
		runs := s.runs[rate]
		pass := s.verdict(rate)
		if len(runs) >= maxRuns || !s.disputed(rate, pass) {
			return pass, st, nil
		}
		phase = PhaseRepeat
	}
}

// disputed reports whether rate's runs split evenly, or its verdict pass
// contradicts another rate's verdict.
func (s *searcher) disputed(rate float64, pass bool) bool {
	n := 0
	for _, st := range s.runs[rate] {
		if st.Pass {
			n++
		}
	}
	if 2*n == len(s.runs[rate]) {
		return true
	}
	for r := range s.runs {
		if v := s.verdict(r); (pass && r < rate && !v) || (!pass && r > rate && v) {
			return true
		}
	}
	return false
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
	res, err := s.load(ctx, lo)
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
		Pass: v.Pass, Reasons: v.Reasons, Run: len(s.runs[rate]) + 1,
		Saturated: res.RPS < saturatedFraction*rate,
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
	s.runs[rate] = append(s.runs[rate], st)
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
	rates := slices.Sorted(maps.Keys(s.runs))
	// The knee: the highest rate that passed (by most of its runs) below
	// the lowest that failed.
	lowFail := 0.0
	for _, rate := range rates {
		if !s.verdict(rate) {
			lowFail = rate
			break
		}
	}
	for _, rate := range rates {
		runs := s.runs[rate]
		passed := 0
		for _, st := range runs {
			if st.Pass {
				passed++
			}
			if st.Saturated {
				r.SaturatedRPS = max(r.SaturatedRPS, st.AchievedRPS)
			}
		}
		if s.verdict(rate) && (lowFail == 0 || rate < lowFail) {
			for _, st := range runs {
				if st.Pass {
					k := st
					r.Knee = &k // the last passing run
				}
			}
		}
		if len(runs) > 1 {
			rp := Repeat{TargetRPS: rate, Runs: len(runs), Passed: passed,
				AchievedMin: runs[0].AchievedRPS, AchievedMax: runs[0].AchievedRPS, P99MinMS: runs[0].P99MS, P99MaxMS: runs[0].P99MS}
			for _, st := range runs[1:] {
				rp.AchievedMin, rp.AchievedMax = min(rp.AchievedMin, st.AchievedRPS), max(rp.AchievedMax, st.AchievedRPS)
				rp.P99MinMS, rp.P99MaxMS = min(rp.P99MinMS, st.P99MS), max(rp.P99MaxMS, st.P99MS)
			}
			r.Repeats = append(r.Repeats, rp)
			if passed > 0 && passed < len(runs) {
				r.Inconsistent = true
				r.Notes = append(r.Notes, fmt.Sprintf("inconsistent: %d of %d runs at %g/s passed (achieved %.4g-%.4g/s, p99 %.3g-%.3gms): the machine or the server is noisy at this rate",
					passed, len(runs), rate, rp.AchievedMin, rp.AchievedMax, rp.P99MinMS, rp.P99MaxMS))
			}
		}
		if lowFail != 0 && rate > lowFail && s.verdict(rate) {
			r.Inconsistent = true
			r.Notes = append(r.Notes, fmt.Sprintf("inconsistent: %g/s passed above %g/s, which failed; the knee is taken below the failure", rate, lowFail))
		}
	}
	r.LowerBound = r.Knee != nil && lowFail == 0
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
			CPUSecondsPerRequest: r.Knee.CPUSecondsPerRequest, CostPerCoreHour: o.CostPerCoreHour, Currency: o.Currency,
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
		r.Message = fmt.Sprintf("at least %.4g requests/s: every step passed up to MaxRate %g/s (within %s), so capacity is at least that; raise --max-rate to find the knee", r.Knee.AchievedRPS, o.MaxRate, slo)
		r.Notes = append(r.Notes, "no knee measured: the per-replica rate is a lower bound, so the plan overstates the replicas needed")
	case r.LowerBound:
		r.Message = fmt.Sprintf("at least %.4g requests/s: no step failed (the highest, %g/s, passed within %s) before the search stopped (%s); raise --max-steps to find the knee", r.Knee.AchievedRPS, r.Knee.TargetRPS, slo, r.Stopped)
		r.Notes = append(r.Notes, "no knee measured: the per-replica rate is a lower bound, so the plan overstates the replicas needed")
	default:
		r.Message = fmt.Sprintf("knee at %.4g/s target (achieved %.4g/s, p99 %.3gms) within %s; stopped: %s", r.Knee.TargetRPS, r.Knee.AchievedRPS, r.Knee.P99MS, slo, r.Stopped)
	}
	if r.SaturatedRPS > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("saturated: offered more than it could take, the server answered at most %.4g requests/s (whatever the latency)", r.SaturatedRPS))
	}
	if r.Inconsistent {
		r.Message += "; INCONSISTENT runs (see the notes): rerun on a quieter machine or with longer steps"
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
