package canary

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/predictd/predictd/monitor/drift"
)

// Status is where a rollout is.
type Status string

const (
	// Running: the candidate gets the current step's share and Decide
	// judges it.
	Running Status = "running"
	// Paused: the candidate keeps the current step's share; Decide holds.
	Paused Status = "paused"
	// Promoted: the candidate is the stable version (100%). Final.
	Promoted Status = "promoted"
	// RolledBack: a check failed; the candidate gets no traffic. Final.
	RolledBack Status = "rolled_back"
	// Aborted: an operator stopped the rollout; the candidate gets no
	// traffic. Final.
	Aborted Status = "aborted"
)

// Done says the status is final.
func (s Status) Done() bool { return s == Promoted || s == RolledBack || s == Aborted }

// Action is what a Decision does to a State. Decide returns Hold, Advance,
// Promote or Rollback; an operator's Manual adds Pause, Resume, Promote,
// Rollback and Abort.
type Action string

const (
	Hold     Action = "hold"
	Advance  Action = "advance"
	Promote  Action = "promote"
	Rollback Action = "rollback"
	Pause    Action = "pause"
	Resume   Action = "resume"
	Abort    Action = "abort"
)

// MaxHistory is how many transitions a State keeps, the newest last.
const MaxHistory = 32

// State is a rollout's progress: plain data, JSON-tagged, for the shared
// state store. Only Apply moves it.
type State struct {
	// Step is the index in Plan.Steps of the current step.
	Step int `json:"step"`
	// StepStarted is when the current step began (or the rollout was last
	// resumed).
	StepStarted time.Time `json:"step_started"`
	Status      Status    `json:"status"`
	// Generation counts transitions: every Apply that changes the state
	// adds one. A decision made for another generation is stale and Apply
	// ignores it; a new generation wants a new Recorder.
	Generation uint64 `json:"generation"`
	// Baseline is the stable side as it was at the end of the step before
	// the current one (without its prediction sample): at 100% the stable
	// version gets no traffic, and the checks compare with it. Set by
	// Apply on Advance.
	Baseline *SideStats `json:"baseline,omitempty"`
	// History holds the last MaxHistory transitions, oldest first.
	History []Transition `json:"history,omitempty"`
}

// Start is the state of a rollout that begins at now: step 0, running,
// generation 1.
func Start(now time.Time) State {
	return State{StepStarted: now, Status: Running, Generation: 1}
}

// Share is the candidate's share of the traffic, in percent, in state st:
// the current step's while running or paused, 100 once promoted, 0 once
// rolled back or aborted.
func (p Plan) Share(st State) float64 {
	switch st.Status {
	case Running, Paused:
		return p.Percent(st.Step)
	case Promoted:
		return 100
	}
	return 0
}

// Transition is one change of a State.
type Transition struct {
	At         time.Time     `json:"at"`
	Generation uint64        `json:"generation"` // the state's after the change
	FromStep   int           `json:"from_step"`
	ToStep     int           `json:"to_step"`
	Action     Action        `json:"action"`
	Reason     string        `json:"reason"`
	Checks     []CheckResult `json:"checks,omitempty"`
}

// QualityPair is the live quality of both versions, as the caller computes
// it from the labels that have arrived (the same metric for both). A NaN
// (a metric without both classes yet) counts as not enough data.
type QualityPair struct {
	Metric        string  `json:"metric"` // "auc", "accuracy"
	Candidate     float64 `json:"candidate"`
	Stable        float64 `json:"stable"`
	CandidateRows int64   `json:"candidate_rows"` // labelled rows behind Candidate
	StableRows    int64   `json:"stable_rows"`
}

// Verdict is a check's outcome.
type Verdict string

const (
	Pass    Verdict = "pass"
	Fail    Verdict = "fail"
	NoData  Verdict = "not enough data"
	Skipped Verdict = "off" // turned off in the plan
)

// Check names, in the order Decide evaluates them.
const (
	CheckErrorRate  = "error_rate_increase"
	CheckP99        = "p99_ratio"
	CheckPrediction = "prediction_distance"
	CheckQuality    = "quality_difference"
)

// CheckResult is one check's value against its threshold.
type CheckResult struct {
	Name string `json:"name"`
	// Value is the measured value (the error rate increase as a fraction,
	// the p99 ratio, the KS distance, the quality difference); 0 when it
	// could not be measured.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Verdict   Verdict `json:"verdict"`
	// Detail is a sentence with the figures behind the verdict.
	Detail string `json:"detail"`
}

// Decision is what Decide concluded, for the State of one generation.
type Decision struct {
	Action     Action `json:"action"`
	Reason     string `json:"reason"`
	Step       int    `json:"step"`
	Generation uint64 `json:"generation"`
	// Checks holds every check in evaluation order, off ones included.
	Checks []CheckResult `json:"checks,omitempty"`
	// Stable is the stable side the checks compared with (this step's, or
	// the state's Baseline at 100%), without its sample; Apply keeps it as
	// the next Baseline on Advance.
	Stable SideStats `json:"stable"`
}

// Minimum samples a check needs on each side before it is judged.
const (
	// MinLatencySamples answered requests per side for the p99 check: at
	// 200, the p99 is exceeded by two values, not one outlier.
	MinLatencySamples = 200
	// MinPredictionSamples predictions per side for the distance check;
	// it also needs the effective size ksMinEffective.
	MinPredictionSamples = 100
)

// ksCritical is c(α) = sqrt(−ln(α/2)/2) for α = 0.001: two samples of
// one distribution, of sizes n and m, have a KS distance above
// c(α)·sqrt((n+m)/(n·m)) with probability about α (the Kolmogorov
// distribution's tail).
const ksCritical = 1.95

// ksMinEffective is the effective sample size n·m/(n+m) at which the
// sampling noise of the KS distance between two samples of one
// distribution exceeds limit only with probability 0.001: the distance
// check waits for it, so that a small sample cannot roll back a good
// candidate.
func ksMinEffective(limit float64) float64 { return (ksCritical / limit) * (ksCritical / limit) }

// Decide judges the candidate at state st from obs (this step's recorder)
// and, when labels have arrived, q (nil without). It is a pure function
// of its arguments. The rules, in order:
//
//  1. A rollout that is not running holds (paused, or finished).
//  2. The gate: each side has at least plan.MinRequests requests at this
//     step. At 100% the stable version gets no traffic, and its side is
//     st.Baseline, the stable side at the end of the previous step.
//  3. Once the gate is open, a failing check rolls back at once, its
//     sentence the reason (the first failing check, in the order error
//     rate, p99, prediction distance, quality). Before the gate no check
//     fails: its verdict is "not enough data", its value shown.
//  4. A check that lacks samples holds: p99 needs MinLatencySamples
//     answered requests per side; the prediction distance needs
//     MinPredictionSamples per side and an effective size
//     n·m/(n+m) ≥ (1.95/max_prediction_distance)². The quality check
//     waits for plan.Checks.QualityMinRows labelled rows per side but
//     does not hold the rollout meanwhile (labels may come days later).
//     At 100% the prediction distance is not judged (the baseline keeps
//     no sample) and does not hold either. Without a baseline at 100% (a
//     state not reached through Advance) the gate stays shut: it holds.
//  5. Otherwise, once plan.MinDuration has passed since st.StepStarted,
//     the rollout advances, or at the last step promotes; before it holds.
//
// Each check (see Checks for thresholds):
//
//   - error rate: candidate − stable error rate > max fails;
//   - p99: fails when the candidate's p99 is more than max_p99_ratio
//     times the stable's AND more than max_p99_increase above it;
//   - prediction distance: drift.KSStatistic of the two sorted samples
//     > max fails;
//   - quality: candidate − stable < min_quality fails.
func Decide(plan Plan, st State, obs Observation, q *QualityPair, now time.Time) Decision {
	pct := plan.Percent(st.Step)
	cand, stable := obs.Candidate, obs.Stable
	onBaseline := pct >= 100 && st.Baseline != nil
	if onBaseline {
		stable = *st.Baseline
	}
	d := Decision{Step: st.Step, Generation: st.Generation, Stable: stable}
	d.Stable.Predictions = nil
	gate := cand.Requests >= plan.MinRequests && stable.Requests >= plan.MinRequests

	c := plan.Checks
	d.Checks = []CheckResult{
		checkErrorRate(c.MaxErrorRateIncrease, cand, stable),
		checkP99(c.MaxP99Ratio, time.Duration(c.MaxP99Increase), cand, stable),
		checkPrediction(c.MaxPredictionDistance, c.PredictionOutput, cand, stable),
		checkQuality(c.MinQuality, c.QualityMinRows, q),
	}
	if r := &d.Checks[2]; onBaseline && r.Verdict != Skipped {
		// The baseline keeps no prediction sample: it is stored and shared
		// between replicas, and 4096 values would make every write large.
		*r = CheckResult{Name: CheckPrediction, Threshold: r.Threshold, Verdict: NoData,
			Detail: "prediction distance is not judged at 100%: the stable version gets no traffic"}
	}
	if !gate {
		for i := range d.Checks {
			if d.Checks[i].Verdict == Fail || d.Checks[i].Verdict == Pass {
				d.Checks[i].Verdict = NoData
			}
		}
	}
	stepName := fmt.Sprintf("step %d (%g%%)", st.Step+1, pct)
	hold := func(reason string) Decision {
		d.Action, d.Reason = Hold, reason
		return d
	}
	if st.Status != Running {
		return hold("rollout is " + string(st.Status))
	}
	for _, r := range d.Checks {
		if r.Verdict == Fail {
			d.Action, d.Reason = Rollback, stepName+": "+r.Detail
			return d
		}
	}
	if !gate {
		return hold(fmt.Sprintf("%s: waiting for %d requests per side: candidate %d, stable %d",
			stepName, plan.MinRequests, cand.Requests, stable.Requests))
	}
	for _, r := range d.Checks {
		if r.Verdict == NoData && r.Name != CheckQuality && !(onBaseline && r.Name == CheckPrediction) {
			return hold(stepName + ": " + r.Detail)
		}
	}
	ran := now.Sub(st.StepStarted)
	if minD := time.Duration(plan.MinDuration); ran < minD {
		return hold(fmt.Sprintf("%s: checks pass; ran %v of %v", stepName, ran, minD))
	}
	if st.Step+1 >= len(plan.Steps) {
		d.Action = Promote
		d.Reason = fmt.Sprintf("%s: checks pass after %v and %d candidate requests: promote version %d",
			stepName, ran, cand.Requests, plan.Candidate)
		return d
	}
	d.Action = Advance
	d.Reason = fmt.Sprintf("%s: checks pass after %v and %d candidate requests: next %g%%",
		stepName, ran, cand.Requests, plan.Percent(st.Step+1))
	return d
}

func checkErrorRate(limit *float64, cand, stable SideStats) CheckResult {
	r := CheckResult{Name: CheckErrorRate, Verdict: Skipped}
	if limit == nil {
		return r
	}
	r.Threshold = *limit
	if cand.Requests == 0 || stable.Requests == 0 {
		r.Verdict = NoData
		r.Detail = fmt.Sprintf("error rate needs requests on both sides: candidate %d, stable %d", cand.Requests, stable.Requests)
		return r
	}
	r.Value = cand.ErrorRate - stable.ErrorRate
	r.Verdict = Pass
	cmp := "≤"
	if r.Value > r.Threshold {
		r.Verdict, cmp = Fail, ">"
	}
	r.Detail = fmt.Sprintf("error rate %.2f%% vs stable %.2f%%: increase %.2f points %s max %.2f points",
		100*cand.ErrorRate, 100*stable.ErrorRate, 100*r.Value, cmp, 100*r.Threshold)
	return r
}

func checkP99(maxRatio *float64, floor time.Duration, cand, stable SideStats) CheckResult {
	r := CheckResult{Name: CheckP99, Verdict: Skipped}
	if maxRatio == nil {
		return r
	}
	r.Threshold = *maxRatio
	if cand.Answered < MinLatencySamples || stable.Answered < MinLatencySamples || stable.P99 <= 0 {
		r.Verdict = NoData
		r.Detail = fmt.Sprintf("p99 needs %d answered requests per side: candidate %d, stable %d",
			MinLatencySamples, cand.Answered, stable.Answered)
		return r
	}
	r.Value = float64(cand.P99) / float64(stable.P99)
	inc := cand.P99 - stable.P99
	us := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	head := fmt.Sprintf("p99 latency %v vs stable %v: ratio %.2f", us(cand.P99), us(stable.P99), r.Value)
	switch {
	case r.Value <= r.Threshold:
		r.Verdict = Pass
		r.Detail = fmt.Sprintf("%s ≤ max %.2f", head, r.Threshold)
	case inc <= floor:
		r.Verdict = Pass
		r.Detail = fmt.Sprintf("%s > max %.2f but increase %v ≤ floor %v", head, r.Threshold, us(inc), floor)
	default:
		r.Verdict = Fail
		r.Detail = fmt.Sprintf("%s > max %.2f and increase %v > floor %v", head, r.Threshold, us(inc), floor)
	}
	return r
}

func checkPrediction(limit *float64, output int, cand, stable SideStats) CheckResult {
	r := CheckResult{Name: CheckPrediction, Verdict: Skipped}
	if limit == nil {
		return r
	}
	r.Threshold = *limit
	n, m := float64(len(cand.Predictions)), float64(len(stable.Predictions))
	if n > 0 && m > 0 {
		r.Value = drift.KSStatistic(cand.Predictions, stable.Predictions)
	}
	if n < MinPredictionSamples || m < MinPredictionSamples || n*m/(n+m) < ksMinEffective(*limit) {
		r.Verdict = NoData
		r.Detail = fmt.Sprintf("prediction distance of output %d at max %.3g needs %d samples per side and an effective size n·m/(n+m) of %.0f: candidate %.0f, stable %.0f",
			output, *limit, MinPredictionSamples, math.Ceil(ksMinEffective(*limit)), n, m)
		return r
	}
	r.Verdict = Pass
	cmp := "≤"
	if r.Value > r.Threshold {
		r.Verdict, cmp = Fail, ">"
	}
	r.Detail = fmt.Sprintf("prediction distribution of output %d: KS distance %.3f %s max %.3f (%.0f vs %.0f samples)",
		output, r.Value, cmp, r.Threshold, n, m)
	return r
}

func checkQuality(minDiff *float64, minRows int64, q *QualityPair) CheckResult {
	r := CheckResult{Name: CheckQuality, Verdict: Skipped}
	if minDiff == nil {
		return r
	}
	r.Threshold = *minDiff
	if q == nil || q.CandidateRows < minRows || q.StableRows < minRows || math.IsNaN(q.Candidate) || math.IsNaN(q.Stable) {
		var c, s int64
		if q != nil {
			c, s = q.CandidateRows, q.StableRows
		}
		r.Verdict = NoData
		r.Detail = fmt.Sprintf("quality needs %d labelled rows per side: candidate %d, stable %d", minRows, c, s)
		return r
	}
	r.Value = q.Candidate - q.Stable
	r.Verdict = Pass
	cmp := "≥"
	if r.Value < r.Threshold {
		r.Verdict, cmp = Fail, "<"
	}
	r.Detail = fmt.Sprintf("quality (%s) %.3f vs stable %.3f: difference %+.3f %s min %+.3f",
		q.Metric, q.Candidate, q.Stable, r.Value, cmp, r.Threshold)
	return r
}

// ErrNotAllowed is returned by CanApply and Manual for an action the
// state's status does not allow.
var ErrNotAllowed = errors.New("action not allowed")

// CanApply says whether action a may move st: nil, or an error wrapping
// ErrNotAllowed that says why. Hold always may (it changes nothing);
// nothing else may move a finished rollout; Pause needs a running one,
// Resume a paused one; Advance needs a running one; Promote, Rollback and
// Abort need a running or paused one.
func CanApply(st State, a Action) error {
	switch {
	case a == Hold:
		return nil
	case st.Status.Done():
		return fmt.Errorf("%s: rollout is already %s: %w", a, st.Status, ErrNotAllowed)
	case a == Pause || a == Advance:
		if st.Status != Running {
			return fmt.Errorf("%s: rollout is %s, not running: %w", a, st.Status, ErrNotAllowed)
		}
	case a == Resume:
		if st.Status != Paused {
			return fmt.Errorf("%s: rollout is %s, not paused: %w", a, st.Status, ErrNotAllowed)
		}
	case a == Promote || a == Rollback || a == Abort:
	default:
		return fmt.Errorf("%q: unknown action: %w", a, ErrNotAllowed)
	}
	return nil
}

// Manual is an operator's decision (Pause, Resume, Promote, Rollback or
// Abort) for st, with reason (who asked, and why), or an error wrapping
// ErrNotAllowed.
func Manual(st State, a Action, reason string) (Decision, error) {
	if a == Hold || a == Advance {
		return Decision{}, fmt.Errorf("%s: not a manual action (pause, resume, promote, rollback, abort): %w", a, ErrNotAllowed)
	}
	if err := CanApply(st, a); err != nil {
		return Decision{}, err
	}
	return Decision{Action: a, Reason: reason, Step: st.Step, Generation: st.Generation}, nil
}

// Apply moves st by d at now and returns the new state; st is not
// changed. A Hold, a decision for another generation or step (stale: the
// state moved since), or an action CanApply refuses returns st as it is.
// Otherwise the generation goes up by one and a Transition is appended to
// the history (the oldest dropped past MaxHistory):
//
//   - Advance: the next step, started at now; d.Stable becomes Baseline;
//   - Promote, Rollback, Abort: the final status (the step stays);
//   - Pause: paused; Resume: running, the step restarted at now.
func Apply(st State, d Decision, now time.Time) State {
	if d.Action == Hold || d.Generation != st.Generation || d.Step != st.Step || CanApply(st, d.Action) != nil {
		return st
	}
	next := st
	switch d.Action {
	case Advance:
		next.Step++
		next.StepStarted = now
		b := d.Stable
		b.Predictions = nil
		next.Baseline = &b
	case Promote:
		next.Status = Promoted
	case Rollback:
		next.Status = RolledBack
	case Abort:
		next.Status = Aborted
	case Pause:
		next.Status = Paused
	case Resume:
		next.Status = Running
		next.StepStarted = now
	}
	next.Generation++
	h := st.History
	if len(h) >= MaxHistory {
		h = h[len(h)-MaxHistory+1:]
	}
	next.History = append(append(make([]Transition, 0, len(h)+1), h...), Transition{
		At: now, Generation: next.Generation, FromStep: st.Step, ToStep: next.Step,
		Action: d.Action, Reason: d.Reason, Checks: d.Checks,
	})
	return next
}
