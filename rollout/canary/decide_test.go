package canary

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// profile is how one side of the simulation answers: a latency spread
// uniformly over ±10% of latency, a failure with probability errors, and
// a prediction drawn from a normal distribution.
type profile struct {
	latency  time.Duration
	errors   float64
	mean, sd float64
}

// sim runs a rollout on a simulated clock: requests split by Assign, fed
// to a Recorder (a new one per generation), judged by Decide and moved by
// Apply, single-threaded and seeded, so a script's output is fixed.
type sim struct {
	plan    Plan
	st      State
	rec     *Recorder
	recGen  uint64
	now     time.Time
	rng     *rand.Rand
	sides   [2]profile
	quality *QualityPair
	users   int    // > 0: requests carry keys u0 … u(users-1)
	seq     uint64 // requests sent
	// onSide[key] is the side a key was first sent to at the current
	// share: sticky assignment is checked on every request.
	onSide map[string]Side
}

func (s *sim) recorder(t *testing.T) *Recorder {
	if s.rec == nil || s.recGen != s.st.Generation {
		r, err := NewRecorder(DefaultRecorderOptions())
		if err != nil {
			t.Fatal(err)
		}
		s.rec, s.recGen = r, s.st.Generation
		s.onSide = map[string]Side{}
	}
	return s.rec
}

// run sends n requests evenly over d.
func (s *sim) run(t *testing.T, td *datadriven.TestData, n int, d time.Duration) string {
	rec := s.recorder(t)
	share := s.plan.Share(s.st)
	var key []byte
	for i := range n {
		key = key[:0]
		if s.users > 0 {
			key = append(key, 'u')
			key = strconv.AppendInt(key, int64(s.rng.IntN(s.users)), 10)
		}
		side := Assign(key, s.seq, share)
		s.seq++
		if len(key) > 0 {
			if prev, ok := s.onSide[string(key)]; ok && prev != side {
				td.Fatalf(t, "key %s went to %v, then to %v at %g%%", key, prev, side, share)
			}
			s.onSide[string(key)] = side
		}
		p := s.sides[side]
		lat := time.Duration(float64(p.latency) * (0.9 + 0.2*s.rng.Float64()))
		rec.Observe(side, lat, s.rng.Float64() < p.errors, p.mean+p.sd*s.rng.NormFloat64())
		_ = i
	}
	s.now = s.now.Add(d)
	o := rec.Snapshot()
	return fmt.Sprintf("traffic at %g%%: stable %d (%d errors), candidate %d (%d errors)\n",
		share, o.Stable.Requests, o.Stable.Errors, o.Candidate.Requests, o.Candidate.Errors)
}

func (s *sim) stateLine() string {
	return fmt.Sprintf("state: step %d (%g%%) %s, generation %d, share %g%%\n",
		s.st.Step+1, s.plan.Percent(s.st.Step), s.st.Status, s.st.Generation, s.plan.Share(s.st))
}

func decisionText(d Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", d.Action, d.Reason)
	for _, c := range d.Checks {
		if c.Verdict == Skipped {
			fmt.Fprintf(&b, "  %s off\n", c.Name)
			continue
		}
		fmt.Fprintf(&b, "  %s %s: %s\n", c.Name, c.Verdict, c.Detail)
	}
	return b.String()
}

func parseProfile(t *testing.T, td *datadriven.TestData) profile {
	var p profile
	var lat string
	td.ScanArgs(t, "latency", &lat)
	d, err := time.ParseDuration(lat)
	if err != nil {
		td.Fatalf(t, "latency=%s: %v", lat, err)
	}
	p.latency = d
	td.ScanArgs(t, "errors", &p.errors)
	td.ScanArgs(t, "mean", &p.mean)
	td.ScanArgs(t, "sd", &p.sd)
	return p
}

// TestDecide runs the scripts in testdata/decide (go test -run TestDecide
// -rewrite rewrites their output after a deliberate change):
//
//	plan                      the input is the plan's JSON (ParsePlan)
//	stable|candidate latency=2ms errors=0.001 mean=0.3 sd=0.1
//	                          how that side answers
//	users n                   requests carry one of n keys (sticky split)
//	start                     Start at the simulated time 0
//	quality metric=auc candidate=0.8 stable=0.8 rows=1000
//	tick requests=N for=1m    N requests over a minute, then Decide and Apply
//	decide                    Decide only
//	manual pause|resume|promote|rollback|abort
//	                          an operator's decision, applied
func TestDecide(t *testing.T) {
	datadriven.Walk(t, "testdata/decide", func(t *testing.T, path string) {
		s := &sim{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), rng: rand.New(rand.NewPCG(1, 2))}
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			switch td.Cmd {
			case "plan":
				p, err := ParsePlan([]byte(td.Input))
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				s.plan = p
				return ""
			case "stable":
				s.sides[Stable] = parseProfile(t, td)
				return ""
			case "candidate":
				s.sides[Candidate] = parseProfile(t, td)
				return ""
			case "users":
				n, err := strconv.Atoi(td.CmdArgs[0].Key)
				if err != nil {
					td.Fatalf(t, "users: %v", err)
				}
				s.users = n
				return ""
			case "start":
				s.st = Start(s.now)
				s.rec = nil // a new rollout: a new recorder, whatever the generation
				return s.stateLine()
			case "quality":
				q := &QualityPair{}
				var rows int64
				td.ScanArgs(t, "metric", &q.Metric)
				td.ScanArgs(t, "candidate", &q.Candidate)
				td.ScanArgs(t, "stable", &q.Stable)
				td.ScanArgs(t, "rows", &rows)
				q.CandidateRows, q.StableRows = rows, rows
				s.quality = q
				return ""
			case "tick", "decide":
				out := ""
				if td.Cmd == "tick" {
					var n int
					var dur string
					td.ScanArgs(t, "requests", &n)
					td.ScanArgs(t, "for", &dur)
					d, err := time.ParseDuration(dur)
					if err != nil {
						td.Fatalf(t, "for=%s: %v", dur, err)
					}
					out = s.run(t, td, n, d)
				}
				saved := slices.Clone(s.st.History)
				dec := Decide(s.plan, s.st, s.recorder(t).Snapshot(), s.quality, s.now)
				if again := Decide(s.plan, s.st, s.recorder(t).Snapshot(), s.quality, s.now); !reflect.DeepEqual(again, dec) {
					td.Fatalf(t, "Decide twice on the same arguments:\n%+v\n%+v", dec, again)
				}
				out += decisionText(dec)
				if td.Cmd == "tick" {
					before := s.st
					s.st = Apply(before, dec, s.now)
					if len(saved) > 0 && !reflect.DeepEqual(before.History, saved) {
						td.Fatalf(t, "Apply changed the history it was given")
					}
					out += s.stateLine()
				}
				return out
			case "manual":
				d, err := Manual(s.st, Action(td.CmdArgs[0].Key), "operator")
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				s.st = Apply(s.st, d, s.now)
				return s.stateLine()
			}
			td.Fatalf(t, "unknown command %s", td.Cmd)
			return ""
		})
	})
}

// TestApplyStale: a decision made for another generation changes nothing
// (another replica moved the state first).
func TestApplyStale(t *testing.T) {
	now := time.Unix(0, 0)
	st := Start(now)
	d := Decision{Action: Advance, Reason: "r", Step: 0, Generation: st.Generation}
	next := Apply(st, d, now)
	if next.Step != 1 || next.Generation != 2 || len(next.History) != 1 {
		t.Fatalf("Apply(advance) = step %d generation %d history %d, want 1, 2, 1", next.Step, next.Generation, len(next.History))
	}
	if again := Apply(next, d, now); !reflect.DeepEqual(again, next) {
		t.Fatalf("Apply of a generation-1 decision to generation 2 = %+v, want it unchanged %+v", again, next)
	}
	if len(st.History) != 0 || st.Generation != 1 {
		t.Fatalf("Apply changed its argument: %+v", st)
	}
}

// TestApplyHistoryBound: the history keeps the last MaxHistory
// transitions, oldest first.
func TestApplyHistoryBound(t *testing.T) {
	now := time.Unix(0, 0)
	st := Start(now)
	for i := range 3 * MaxHistory {
		a := Pause
		if st.Status == Paused {
			a = Resume
		}
		d, err := Manual(st, a, strconv.Itoa(i))
		if err != nil {
			t.Fatalf("Manual(%s) at %d: %v", a, i, err)
		}
		st = Apply(st, d, now)
	}
	if len(st.History) != MaxHistory {
		t.Fatalf("len(History) = %d, want %d", len(st.History), MaxHistory)
	}
	first, last := st.History[0].Reason, st.History[MaxHistory-1].Reason
	if want := strconv.Itoa(2 * MaxHistory); first != want || last != strconv.Itoa(3*MaxHistory-1) {
		t.Fatalf("history from %s to %s, want %s to %d", first, last, want, 3*MaxHistory-1)
	}
}

func TestCanApply(t *testing.T) {
	for _, tc := range []struct {
		status Status
		action Action
		ok     bool
	}{
		{Running, Hold, true}, {Promoted, Hold, true},
		{Running, Advance, true}, {Paused, Advance, false},
		{Running, Pause, true}, {Paused, Pause, false},
		{Paused, Resume, true}, {Running, Resume, false},
		{Running, Promote, true}, {Paused, Promote, true},
		{Running, Rollback, true}, {Paused, Abort, true},
		{Promoted, Rollback, false}, {RolledBack, Promote, false}, {Aborted, Resume, false},
		{Running, Action("jump"), false},
	} {
		err := CanApply(State{Status: tc.status}, tc.action)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrNotAllowed)) {
			t.Errorf("CanApply(%s, %s) = %v, want allowed=%v", tc.status, tc.action, err, tc.ok)
		}
	}
	if _, err := Manual(Start(time.Time{}), Advance, "x"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("Manual(advance) = %v, want ErrNotAllowed", err)
	}
}

// TestShare: the candidate's share in each status.
func TestShare(t *testing.T) {
	p := DefaultPlan()
	for _, tc := range []struct {
		st   State
		want float64
	}{
		{State{Status: Running, Step: 1}, 5},
		{State{Status: Paused, Step: 2}, 25},
		{State{Status: Promoted, Step: 2}, 100},
		{State{Status: RolledBack, Step: 3}, 0},
		{State{Status: Aborted, Step: 0}, 0},
		{State{Status: Running, Step: 9}, 0},
	} {
		if got := p.Share(tc.st); got != tc.want {
			t.Errorf("Share(%+v) = %g, want %g", tc.st, got, tc.want)
		}
	}
}

// TestApplyActions: what each action does to a running (or, for Resume,
// paused) state at step 1.
func TestApplyActions(t *testing.T) {
	t0, t1 := time.Unix(100, 0), time.Unix(200, 0)
	stable := SideStats{Requests: 900, Errors: 9, ErrorRate: 0.01, Answered: 891, P99: time.Millisecond, Predictions: []float64{1, 2}}
	for _, tc := range []struct {
		action    Action
		from      Status
		step      int
		status    Status
		started   time.Time
		baselined bool
	}{
		{Advance, Running, 2, Running, t1, true},
		{Promote, Running, 1, Promoted, t0, false},
		{Rollback, Running, 1, RolledBack, t0, false},
		{Abort, Paused, 1, Aborted, t0, false},
		{Pause, Running, 1, Paused, t0, false},
		{Resume, Paused, 1, Running, t1, false},
	} {
		st := State{Step: 1, StepStarted: t0, Status: tc.from, Generation: 5}
		got := Apply(st, Decision{Action: tc.action, Reason: "why", Step: 1, Generation: 5, Stable: stable}, t1)
		if got.Step != tc.step || got.Status != tc.status || !got.StepStarted.Equal(tc.started) || got.Generation != 6 {
			t.Errorf("Apply(%s) = step %d %s started %v generation %d, want step %d %s started %v generation 6",
				tc.action, got.Step, got.Status, got.StepStarted, got.Generation, tc.step, tc.status, tc.started)
		}
		if (got.Baseline != nil) != tc.baselined || (got.Baseline != nil && (got.Baseline.Requests != 900 || got.Baseline.Predictions != nil)) {
			t.Errorf("Apply(%s).Baseline = %+v, want set=%v: the stable side without its sample", tc.action, got.Baseline, tc.baselined)
		}
		want := Transition{At: t1, Generation: 6, FromStep: 1, ToStep: tc.step, Action: tc.action, Reason: "why"}
		if len(got.History) != 1 || !reflect.DeepEqual(got.History[0], want) {
			t.Errorf("Apply(%s).History = %+v, want [%+v]", tc.action, got.History, want)
		}
		// A decision for another step of the same generation is stale too.
		if same := Apply(st, Decision{Action: tc.action, Step: 0, Generation: 5}, t1); !reflect.DeepEqual(same, st) {
			t.Errorf("Apply(%s for step 0) at step 1 = %+v, want unchanged", tc.action, same)
		}
	}
}

// TestDecideNoBaseline: at 100% without a baseline the stable side has no
// requests, so the gate stays shut and the rollout holds.
func TestDecideNoBaseline(t *testing.T) {
	p := DefaultPlan()
	p.Candidate, p.MinDuration = 2, 0
	st := State{Step: len(p.Steps) - 1, Status: Running, Generation: 1}
	obs := Observation{Candidate: SideStats{Requests: 1e6, Answered: 1e6, P99: time.Millisecond}}
	d := Decide(p, st, obs, nil, time.Unix(1e9, 0))
	if d.Action != Hold || !strings.Contains(d.Reason, "waiting for 1000 requests per side: candidate 1000000, stable 0") {
		t.Fatalf("Decide at 100%% without a baseline = %s: %s, want hold waiting for the stable side", d.Action, d.Reason)
	}
}

// TestStateJSON: a state (for the shared store) and a decision (for
// /monitor) write out as JSON, the state reading back equal; a NaN
// quality is "not enough data", not a NaN value JSON cannot write.
func TestStateJSON(t *testing.T) {
	p := DefaultPlan()
	p.Candidate, p.MinDuration, p.MinRequests = 2, 0, 10
	p.Checks.MinQuality = new(-0.01)
	t0 := time.Unix(1_700_000_000, 0).UTC()
	st := Start(t0)
	obs := Observation{
		Stable:    SideStats{Requests: 100, Answered: 100, P99: time.Millisecond, ErrorRate: 0},
		Candidate: SideStats{Requests: 100, Answered: 100, P99: time.Millisecond},
	}
	q := &QualityPair{Metric: "auc", Candidate: math.NaN(), Stable: 0.8, CandidateRows: 1e4, StableRows: 1e4}
	d := Decide(p, st, obs, q, t0.Add(time.Minute))
	if got := d.Checks[3]; got.Verdict != NoData {
		t.Errorf("quality check with a NaN candidate = %+v, want not enough data", got)
	}
	if _, err := json.Marshal(d); err != nil {
		t.Fatalf("Marshal(decision): %v", err)
	}
	st = Apply(st, Decision{Action: Advance, Reason: "r", Generation: 1, Stable: obs.Stable, Checks: d.Checks[:1]}, t0.Add(time.Minute))
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatalf("Marshal(state): %v", err)
	}
	var back State
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, st) {
		t.Fatalf("Unmarshal(%s) = %+v, %v; want %+v", b, back, err, st)
	}
}
