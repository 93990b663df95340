package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"google.golang.org/grpc/metadata"

	"github.com/predictd/predictd/rollout/audit"
	"github.com/predictd/predictd/rollout/canary"
	"github.com/predictd/predictd/rollout/state"
)

// Canary rollouts in the daemon (docs/rollout.md, "In the daemon"): the
// plan of rollout/canary driven by the server.
//
//   - A rollout starts from a model's config block (ModelOptions.Rollout)
//     or the admin API (POST /v1/admin/models/{name}/rollout).
//   - While it runs, a request that names neither a version nor a label is
//     split by canary.Assign on its key (the plan's Key, read as an HTTP
//     header or gRPC metadata) and served by the candidate or the stable
//     version. A request the candidate fails is served again by the stable
//     version: the client gets the stable answer and the candidate an
//     error; if the stable version fails it too, the client gets the
//     stable version's error and neither side counts it.
//   - A decision loop (RolloutOptions.Interval) polls the state store,
//     adopts a newer generation written by another replica, decides on
//     this replica's traffic, and applies a change: audit first, then a
//     compare-and-swap of the stored state, then the labels ("stable" to
//     the candidate on promotion; "canary" on the candidate while it runs,
//     back on the stable version when it ends).
//
// Concurrency: the request path reads the rollouts through one atomic
// pointer to an immutable map of immutable *rolloutRun values, and calls
// only Recorder.Observe on them; every change (the loop, the admin API)
// happens under rolloutSet.mu and publishes a new map.

// RolloutOptions configures the canary rollouts (Options.Rollout).
type RolloutOptions struct {
	// Store holds each model's rollout (its plan and canary.State, JSON)
	// under the key "rollout/NAME", shared by the replicas that use the
	// same store. nil: the rollouts live in this process's memory only (a
	// restart forgets them).
	Store state.Store
	// Interval is how often the decision loop polls the store and
	// decides. Default 1s. Negative: no loop at all (the package's tests
	// call rolloutTick with their own clock); readiness does not wait.
	Interval time.Duration
	// Now is the decisions' clock. Default time.Now.
	Now func() time.Time
}

// RolloutConfig is a model's "rollout" config block.
type RolloutConfig struct {
	// Plan is the rollout's plan. Plan.Candidate > 0: a rollout of that
	// version starts once it is AVAILABLE and "stable" points elsewhere.
	// Plan.Candidate 0 ("auto"): every version that becomes AVAILABLE
	// above the stable one (and above the last rollout's candidate) starts
	// a rollout against the stable version, instead of taking the traffic
	// at once. The plan's other fields must be valid (Validate with a
	// candidate filled in).
	Plan canary.Plan
}

// Labels the rollouts move.
const (
	labelStable = "stable"
	// labelCanary points at the candidate while its rollout runs, so the
	// manager keeps it loaded; when the rollout ends it moves to the
	// stable version (the manager has no way to delete a label).
	labelCanary = "canary"
)

// rolloutKey is the state store's key of model's rollout.
func rolloutKey(model string) string { return "rollout/" + model }

// rolloutRecord is what the state store holds of a rollout.
type rolloutRecord struct {
	Plan  canary.Plan  `json:"plan"`
	State canary.State `json:"state"`
}

// rolloutRun is one model's rollout as this replica serves it. It never
// changes once published: a change publishes a new one. rec is the current
// step's recorder (shared by the runs of one state generation).
type rolloutRun struct {
	model string
	plan  canary.Plan
	st    canary.State
	gen   int64   // the store's generation of the record st came from
	share float64 // plan.Share(st)
	rec   *canary.Recorder
	// routing: running or paused with a share > 0, and (localRouting)
	// both versions AVAILABLE here.
	routing bool
}

// rolloutSet is the server's rollouts.
type rolloutSet struct {
	opts RolloutOptions
	// runs is the published map, by model name (copy on write under mu).
	runs atomic.Pointer[map[string]*rolloutRun]
	seq  atomic.Uint64
	// ready: the store has been read once after the models were ready (or
	// the loop is not needed).
	ready atomic.Bool

	mu       sync.Mutex
	last     map[string]canary.Decision // the last decision per model, for the status
	counts   map[string]map[canary.Action]uint64
	loop     bool // the loop is running
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

func (rs *rolloutSet) now() time.Time {
	if rs.opts.Now != nil {
		return rs.opts.Now()
	}
	return time.Now()
}

// route returns model name's rollout if it splits the traffic now, else
// nil. It does not allocate.
func (rs *rolloutSet) route(name string) *rolloutRun {
	m := rs.runs.Load()
	if m == nil {
		return nil
	}
	if ro := (*m)[name]; ro != nil && ro.routing {
		return ro
	}
	return nil
}

func (rs *rolloutSet) get(name string) *rolloutRun {
	if m := rs.runs.Load(); m != nil {
		return (*m)[name]
	}
	return nil
}

// publish stores ro as its model's rollout; mu held.
func (rs *rolloutSet) publish(ro *rolloutRun) {
	next := map[string]*rolloutRun{}
	if m := rs.runs.Load(); m != nil {
		for k, v := range *m {
			next[k] = v
		}
	}
	next[ro.model] = ro
	rs.runs.Store(&next)
}

// newRun builds the run of plan in st, with rec or a new recorder.
func newRun(model string, plan canary.Plan, st canary.State, gen int64, rec *canary.Recorder) *rolloutRun {
	if rec == nil {
		rec, _ = canary.NewRecorder(canary.DefaultRecorderOptions()) // the defaults are valid
	}
	share := plan.Share(st)
	return &rolloutRun{
		model: model, plan: plan, st: st, gen: gen, share: share, rec: rec,
		routing: (st.Status == canary.Running || st.Status == canary.Paused) && share > 0,
	}
}

// pick assigns a request to a side: the version to acquire and the side.
// The key is the plan's Key as an HTTP header, or as gRPC metadata
// (lower-case); a request without it is split by its sequence number.
func (ro *rolloutRun) pick(f front, seq uint64) (canary.Side, int) {
	var key []byte
	if ro.plan.Key != "" {
		switch t := f.(type) {
		case *httpCall:
			key = t.ctx.Request.Header.Peek(ro.plan.Key)
		case *grpcCall:
			if vs := metadata.ValueFromIncomingContext(t.ctx, ro.plan.Key); len(vs) > 0 {
				key = []byte(vs[0])
			}
		}
	}
	if len(key) == 0 {
		key = nil
	}
	side := canary.Assign(key, seq, ro.share)
	if side == canary.Candidate {
		return side, ro.plan.Candidate
	}
	return side, ro.plan.Stable
}

// observe records one answered request of side: its latency and the
// prediction of the plan's PredictionOutput for the first instance (NaN
// when the model has no such output).
func (ro *rolloutRun) observe(side canary.Side, took time.Duration, failed bool, c *exchange, outputs int) {
	pred := 0.0
	if !failed {
		pred = predictionOf(c, outputs, ro.plan.Checks.PredictionOutput)
	}
	ro.rec.Observe(side, took, failed, pred)
}

func predictionOf(c *exchange, outputs, i int) float64 {
	p := c.Request.Preds
	if i < outputs && i < len(p) {
		return p[i]
	}
	return 0
}

// rolloutFallback serves c's request again with the stable version, after
// the candidate failed it: the version's state, its releaser and the
// rows, or the stable version's error (rel is then nil).
func (s *Server) rolloutFallback(f front, c *exchange, ro *rolloutRun, name string) (*versionState, Releaser, []float64, error) {
	prepared, rel, err := s.models.Acquire(name, ro.plan.Stable, "")
	if err != nil {
		return nil, nil, nil, err
	}
	vs := prepared.(*versionState)
	// A fresh deadline: the candidate may have spent the client's.
	rows, err := s.attempt(f, c, vs, time.Now())
	if err != nil {
		rel.Release()
		return nil, nil, nil, err
	}
	return vs, rel, rows, nil
}

// RolloutStatus is a rollout as GET /v1/models/{name}, /monitor and the
// admin API show it.
type RolloutStatus struct {
	Plan        canary.Plan          `json:"plan"`
	Status      canary.Status        `json:"status"`
	Step        int                  `json:"step"`
	Share       float64              `json:"share"`
	StepStarted time.Time            `json:"step_started"`
	Generation  uint64               `json:"generation"`
	Store       string               `json:"store"` // "shared" or "memory"
	Decision    string               `json:"decision,omitempty"`
	Reason      string               `json:"reason,omitempty"`
	Checks      []canary.CheckResult `json:"checks,omitempty"`
	Requests    map[string]int64     `json:"requests"` // this replica's, at this step
	Errors      map[string]int64     `json:"errors"`
	History     []canary.Transition  `json:"history,omitempty"`
}

// rolloutJSON is model name's rollout as JSON, or nil when it has none.
func (s *Server) rolloutJSON(name string) json.RawMessage {
	ro := s.rollouts.get(name)
	if ro == nil {
		return nil
	}
	s.rollouts.mu.Lock()
	d, ok := s.rollouts.last[name]
	s.rollouts.mu.Unlock()
	b, _ := json.Marshal(s.statusOf(ro, d, ok))
	return b
}

func (s *Server) statusOf(ro *rolloutRun, d canary.Decision, ok bool) RolloutStatus {
	obs := ro.rec.Snapshot()
	out := RolloutStatus{
		Plan: ro.plan, Status: ro.st.Status, Step: ro.st.Step, Share: ro.share,
		StepStarted: ro.st.StepStarted, Generation: ro.st.Generation, Store: "memory",
		History:  ro.st.History,
		Requests: map[string]int64{"candidate": obs.Candidate.Requests, "stable": obs.Stable.Requests},
		Errors:   map[string]int64{"candidate": obs.Candidate.Errors, "stable": obs.Stable.Errors},
	}
	if s.rollouts.opts.Store != nil {
		out.Store = "shared"
	}
	if ok && d.Generation == ro.st.Generation {
		out.Decision, out.Reason, out.Checks = string(d.Action), d.Reason, d.Checks
	} else if n := len(ro.st.History); n > 0 {
		out.Checks = ro.st.History[n-1].Checks
	}
	return out
}

// addRollout adds model name's rollout to a /monitor body (a JSON object)
// as its "rollout" member.
func (s *Server) addRollout(name string, body []byte) []byte {
	r := s.rolloutJSON(name)
	if r == nil {
		return body
	}
	b := bytes.TrimRight(body, " \n")
	if len(b) < 2 || b[len(b)-1] != '}' {
		return body
	}
	out := append([]byte(nil), b[:len(b)-1]...)
	if len(bytes.TrimSpace(out[1:])) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"rollout":`...)
	out = append(out, r...)
	return append(out, '}')
}

// The decision loop.

// startRollouts starts the decision loop when a model has a rollout block
// or a state store is set (a rollout may start on another replica);
// otherwise the first admin start does. Called by SetModels.
func (s *Server) startRollouts() {
	need := s.rollouts.opts.Store != nil
	for _, mo := range s.opts.Models {
		need = need || mo.Rollout != nil
	}
	need = need || s.opts.DefaultModel.Rollout != nil
	if !need || s.rollouts.opts.Interval < 0 {
		s.rollouts.ready.Store(true)
		return
	}
	s.rollouts.mu.Lock()
	s.ensureLoopLocked()
	s.rollouts.mu.Unlock()
}

// ensureLoopLocked starts the loop once; rollouts.mu held.
func (s *Server) ensureLoopLocked() {
	rs := &s.rollouts
	if rs.loop || rs.opts.Interval < 0 {
		return
	}
	rs.loop = true
	rs.stop, rs.stopped = make(chan struct{}), make(chan struct{})
	go s.rolloutLoop(rs.stop, rs.stopped)
}

// stopRollouts stops the loop and waits for it; called by Shutdown.
func (s *Server) stopRollouts() {
	rs := &s.rollouts
	rs.mu.Lock()
	running := rs.loop
	rs.mu.Unlock()
	if !running {
		return
	}
	rs.stopOnce.Do(func() { close(rs.stop) })
	<-rs.stopped
}

func (s *Server) rolloutLoop(stop, stopped chan struct{}) {
	defer close(stopped)
	every := s.rollouts.opts.Interval
	if every <= 0 {
		every = time.Second
	}
	// Until the first read of the store after the models are ready, poll
	// often: readiness waits for it.
	fast := min(every, 50*time.Millisecond)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		s.rolloutTick(s.rollouts.now())
		if s.rollouts.ready.Load() {
			t.Reset(every)
		} else {
			t.Reset(fast)
		}
	}
}

// rolloutTick is one round of the loop at now: for every model, read the
// store, start what the config asks for, decide and apply.
func (s *Server) rolloutTick(now time.Time) {
	if s.models == nil {
		return
	}
	ready := s.models.Ready()
	for _, name := range s.models.Names() {
		s.rolloutModel(name, now)
	}
	if ready {
		s.rollouts.ready.Store(true)
	}
}

func (s *Server) rolloutModel(name string, now time.Time) {
	rs := &s.rollouts
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if err := s.syncRolloutLocked(name); err != nil {
		s.opts.Logf("rollout %s: read the state store: %v", name, err)
		return
	}
	if err := s.configStartLocked(name, now); err != nil {
		s.opts.Logf("rollout %s: %v", name, err)
	}
	ro := rs.get(name)
	if ro == nil {
		return
	}
	if next := s.localRouting(ro); next != ro {
		rs.publish(next)
		ro = next
	}
	if ro.st.Status != canary.Running {
		return
	}
	d := canary.Decide(ro.plan, ro.st, ro.rec.Snapshot(), s.rolloutQuality(ro, now), now)
	if rs.last == nil {
		rs.last = map[string]canary.Decision{}
	}
	rs.last[name] = d
	if d.Action == canary.Hold {
		return
	}
	if _, err := s.transitionLocked(audit.ActorDaemon, ro, d, now); err != nil {
		s.opts.Logf("rollout %s: %s: %v", name, d.Action, err)
	}
}

// localRouting returns ro, or a copy to publish instead, so that a run
// splits only while both of its versions are AVAILABLE here: a replica
// that adopted a rollout before its manager loaded the candidate sends
// everything to the stable version meanwhile, instead of charging the
// candidate for a version it does not have.
func (s *Server) localRouting(ro *rolloutRun) *rolloutRun {
	want := (ro.st.Status == canary.Running || ro.st.Status == canary.Paused) && ro.share > 0
	if want {
		st, err := s.models.Status(ro.model)
		avail := availableVersions(st)
		want = err == nil && slices.Contains(avail, ro.plan.Candidate) && slices.Contains(avail, ro.plan.Stable)
	}
	if want == ro.routing {
		return ro
	}
	next := *ro
	next.routing = want
	if !want {
		s.opts.Logf("rollout %s: v%d or v%d is not loaded here: every request goes to the stable version until both are", ro.model, ro.plan.Candidate, ro.plan.Stable)
	}
	return &next
}

// rolloutQuality is the live quality of ro's two versions from the labels
// store (Options.Labels): each version's ROC AUC over its labelled
// predictions in the report's first (shortest) window, with their
// counts. nil (the check then lacks data) without a labels store, with
// the check off, for a task other than binary, or when a version has no
// report.
func (s *Server) rolloutQuality(ro *rolloutRun, now time.Time) *canary.QualityPair {
	if s.opts.Labels == nil || ro.plan.Checks.MinQuality == nil {
		return nil
	}
	q := canary.QualityPair{Metric: "auc"}
	found := 0
	for _, vs := range s.labelledVersions(ro.model) {
		var v *float64
		var rows *int64
		switch vs.version {
		case ro.plan.Candidate:
			v, rows = &q.Candidate, &q.CandidateRows
		case ro.plan.Stable:
			v, rows = &q.Stable, &q.StableRows
		default:
			continue
		}
		rep, err := s.qualityReport(vs, now)
		if err != nil || rep == nil || len(rep.Windows) == 0 || rep.Windows[0].Binary == nil {
			return nil
		}
		w := rep.Windows[0]
		*v, *rows = float64(w.Binary.ROCAUC), w.Labelled
		found++
	}
	if found != 2 {
		return nil
	}
	return &q
}

// syncRolloutLocked adopts the stored rollout of name if its generation
// is not the one this replica has; rollouts.mu held.
func (s *Server) syncRolloutLocked(name string) error {
	rs := &s.rollouts
	store := rs.opts.Store
	if store == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := store.Get(ctx, rolloutKey(name))
	if err != nil {
		return err
	}
	cur := rs.get(name)
	if r.Gen == 0 || (cur != nil && cur.gen == r.Gen) {
		return nil
	}
	var rec rolloutRecord
	if err := json.Unmarshal(r.Data, &rec); err != nil {
		return fmt.Errorf("record %s generation %d: %w", rolloutKey(name), r.Gen, err)
	}
	var recorder *canary.Recorder
	if cur != nil && cur.plan.Candidate == rec.Plan.Candidate && cur.st.Generation == rec.State.Generation {
		recorder = cur.rec
	}
	next := newRun(name, rec.Plan, rec.State, r.Gen, recorder)
	if rec.State.Status.Done() {
		s.rolloutLabelsLocked(next) // before the run stops splitting
	}
	next = s.localRouting(next)
	rs.publish(next)
	if cur == nil || cur.st.Generation != rec.State.Generation || cur.plan.Candidate != rec.Plan.Candidate {
		s.opts.Logf("rollout %s: adopted the stored state: candidate v%d, stable v%d, %s at step %d (share %g%%), generation %d",
			name, rec.Plan.Candidate, rec.Plan.Stable, rec.State.Status, rec.State.Step, next.share, rec.State.Generation)
		if !rec.State.Status.Done() {
			s.setLabel(name, labelCanary, rec.Plan.Candidate)
		}
	}
	return nil
}

// configStartLocked starts the rollout name's config block asks for, if
// it is due; rollouts.mu held.
func (s *Server) configStartLocked(name string, now time.Time) error {
	mo, ok := s.opts.Models[name]
	if !ok {
		mo = s.opts.DefaultModel
	}
	if mo.Rollout == nil {
		return nil
	}
	st, err := s.models.Status(name)
	if err != nil {
		return nil
	}
	avail := availableVersions(st)
	if len(avail) == 0 {
		return nil
	}
	stable, hasStable := st.Labels[labelStable]
	if !hasStable || !slices.Contains(avail, stable) {
		if hasStable {
			return nil // the manager is loading it
		}
		// The version serving now becomes "stable" first, so that a new
		// version does not take the traffic at once.
		def := avail[len(avail)-1]
		if mo.Rollout.Plan.Candidate > 0 && def == mo.Rollout.Plan.Candidate && len(avail) > 1 {
			def = avail[len(avail)-2]
		}
		if err := s.models.SetLabel(name, labelStable, def); err != nil {
			return fmt.Errorf("set %q to version %d: %w", labelStable, def, err)
		}
		s.opts.Logf("rollout %s: label %q set to version %d, the version serving now", name, labelStable, def)
		stable = def
	}
	cur := s.rollouts.get(name)
	if cur != nil && !cur.st.Status.Done() {
		return nil
	}
	plan := mo.Rollout.Plan
	cand := plan.Candidate
	if cand == 0 {
		cand = avail[len(avail)-1]
		if cand <= stable || (cur != nil && cand <= cur.plan.Candidate) {
			return nil
		}
	} else if !slices.Contains(avail, cand) || cand == stable || (cur != nil && cur.plan.Candidate == cand) {
		return nil
	}
	plan.Candidate = cand
	_, err = s.startRolloutLocked(audit.ActorDaemon, name, plan, now, "config")
	return err
}

func availableVersions(st ModelStatus) []int {
	var out []int
	for _, v := range st.Versions {
		if v.State == "AVAILABLE" {
			out = append(out, v.Version)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// startRolloutLocked starts plan on model name; rollouts.mu held. The
// plan's Stable 0 is filled with the "stable" label's version, or the
// highest AVAILABLE version below the candidate.
func (s *Server) startRolloutLocked(actor, name string, plan canary.Plan, now time.Time, why string) (*rolloutRun, error) {
	st, err := s.models.Status(name)
	if err != nil {
		return nil, err
	}
	avail := availableVersions(st)
	if plan.Stable == 0 {
		if v, ok := st.Labels[labelStable]; ok && v != plan.Candidate {
			plan.Stable = v
		} else {
			for _, v := range avail {
				if v != plan.Candidate {
					plan.Stable = v
				}
			}
		}
	}
	if err := plan.Validate(); err != nil {
		return nil, Errorf(fasthttp.StatusBadRequest, "%v", err)
	}
	switch {
	case plan.Stable == 0:
		return nil, Errorf(fasthttp.StatusConflict, "rollout of model %s v%d: no stable version to compare with (loaded: %v)", name, plan.Candidate, avail)
	case plan.Stable == plan.Candidate:
		return nil, Errorf(fasthttp.StatusBadRequest, "rollout.candidate %d: it is the stable version", plan.Candidate)
	case !slices.Contains(avail, plan.Candidate):
		return nil, Errorf(fasthttp.StatusConflict, "rollout.candidate %d: model %s has no such version AVAILABLE (loaded: %v); load it first", plan.Candidate, name, avail)
	case !slices.Contains(avail, plan.Stable):
		return nil, Errorf(fasthttp.StatusConflict, "rollout.stable %d: model %s has no such version AVAILABLE (loaded: %v)", plan.Stable, name, avail)
	}
	cur := s.rollouts.get(name)
	if cur != nil && !cur.st.Status.Done() {
		return nil, Errorf(fasthttp.StatusConflict, "model %s: a rollout of v%d is %s (step %d); abort it first", name, cur.plan.Candidate, cur.st.Status, cur.st.Step)
	}
	reason := fmt.Sprintf("%s: candidate v%d against stable v%d, steps %v", why, plan.Candidate, plan.Stable, plan.Steps)
	if err := s.audit(actor, audit.ActionRolloutStart, name, []int64{int64(plan.Stable), int64(plan.Candidate)}, reason); err != nil {
		return nil, err
	}
	next := canary.Start(now)
	var gen int64
	if cur != nil {
		gen = cur.gen
	}
	ngen, err := s.casRollout(name, gen, plan, next)
	if err != nil {
		return nil, err
	}
	if _, ok := st.Labels[labelStable]; !ok {
		s.setLabel(name, labelStable, plan.Stable)
	}
	s.setLabel(name, labelCanary, plan.Candidate)
	ro := newRun(name, plan, next, ngen, nil)
	s.rollouts.publish(ro)
	s.countTransition(name, "start")
	s.opts.Logf("rollout %s: started by %s (%s): share %g%%", name, actor, reason, ro.share)
	return ro, nil
}

// casRollout stores plan and st as model name's rollout if the store is
// still at gen, and returns the new generation. Without a store it
// counts the generation here. A stale gen is a 409 wrapping
// state.ErrConflict.
func (s *Server) casRollout(name string, gen int64, plan canary.Plan, st canary.State) (int64, error) {
	store := s.rollouts.opts.Store
	if store == nil {
		return gen + 1, nil
	}
	data, err := json.Marshal(rolloutRecord{Plan: plan, State: st})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ngen, err := store.CAS(ctx, rolloutKey(name), gen, data)
	if errors.Is(err, state.ErrConflict) {
		return 0, ModelError(fmt.Errorf("rollout %s: another replica changed it first (%w); read again", name, err), ErrModelConflict)
	}
	if err != nil {
		return 0, Errorf(fasthttp.StatusServiceUnavailable, "rollout %s: state store: %v", name, err)
	}
	return ngen, nil
}

// transitionLocked applies d to ro at now: audit, store, labels, publish,
// log. rollouts.mu held. A stale store re-reads the stored state.
func (s *Server) transitionLocked(actor string, ro *rolloutRun, d canary.Decision, now time.Time) (*rolloutRun, error) {
	next := canary.Apply(ro.st, d, now)
	if next.Generation == ro.st.Generation {
		return ro, nil
	}
	versions := []int64{int64(ro.plan.Stable), int64(ro.plan.Candidate)}
	share := ro.plan.Share(next)
	reason := fmt.Sprintf("step %d -> %d, share %g%% -> %g%%: %s", ro.st.Step+1, next.Step+1, ro.share, share, d.Reason)
	if err := s.audit(actor, auditAction(d.Action), ro.model, versions, reason); err != nil {
		return ro, err
	}
	gen, err := s.casRollout(ro.model, ro.gen, ro.plan, next)
	if err != nil {
		if errors.Is(err, state.ErrConflict) {
			if serr := s.syncRolloutLocked(ro.model); serr != nil {
				s.opts.Logf("rollout %s: read the state store: %v", ro.model, serr)
			}
		}
		return ro, err
	}
	nro := newRun(ro.model, ro.plan, next, gen, nil)
	if next.Status.Done() {
		// Labels first: once the run is published it stops splitting,
		// and the default route must already be on the promoted version.
		s.rolloutLabelsLocked(nro)
	}
	s.rollouts.publish(nro)
	s.countTransition(ro.model, string(d.Action))
	s.opts.Logf("rollout %s: %s by %s (candidate v%d, stable v%d): %s; checks: %s",
		ro.model, d.Action, actor, ro.plan.Candidate, ro.plan.Stable, reason, checksLine(d.Checks))
	return nro, nil
}

// rolloutLabelsLocked moves the labels at a rollout's end: on promotion
// "stable" to the candidate; in every case "canary" off the candidate
// (onto the version that now takes the traffic). On a replica that
// adopted the end from the store, with a shared label store, the labels
// have moved already and this changes nothing.
func (s *Server) rolloutLabelsLocked(ro *rolloutRun) {
	to := ro.plan.Stable
	if ro.st.Status == canary.Promoted {
		to = ro.plan.Candidate
		s.setLabel(ro.model, labelStable, to)
	}
	s.setLabel(ro.model, labelCanary, to)
}

// setLabel points label at version unless it already does, logging a
// failure: the rollout's state is already stored.
func (s *Server) setLabel(name, label string, version int) {
	if st, err := s.models.Status(name); err == nil && st.Labels[label] == version {
		return
	}
	if err := s.models.SetLabel(name, label, version); err != nil {
		s.opts.Logf("rollout %s: label %q -> v%d: %v", name, label, version, err)
	}
}

func auditAction(a canary.Action) audit.Action {
	switch a {
	case canary.Advance:
		return audit.ActionRolloutStep
	case canary.Promote:
		return audit.ActionPromote
	case canary.Rollback:
		return audit.ActionRollback
	case canary.Abort:
		return audit.ActionAbort
	case canary.Pause:
		return audit.ActionRolloutPause
	case canary.Resume:
		return audit.ActionRolloutResume
	}
	return audit.ActionRolloutStep
}

func checksLine(cs []canary.CheckResult) string {
	var b []byte
	for i, c := range cs {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%s=%.4g (max %.4g, %s)", c.Name, c.Value, c.Threshold, c.Verdict)
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

func (s *Server) countTransition(name, action string) {
	rs := &s.rollouts
	if rs.counts == nil {
		rs.counts = map[string]map[canary.Action]uint64{}
	}
	if rs.counts[name] == nil {
		rs.counts[name] = map[canary.Action]uint64{}
	}
	rs.counts[name][canary.Action(action)]++
}

// The admin API.

// handleRolloutAdmin serves POST /v1/admin/models/{name}/rollout (start:
// the body is a plan) and .../rollout/{promote,rollback,abort,pause,resume};
// p is the path after "models/". It reports false for another path.
// Called with adminMu held, after authentication.
func (s *Server) handleRolloutAdmin(ctx *fasthttp.RequestCtx, p []byte) bool {
	i := bytes.Index(p, []byte("/rollout"))
	if i <= 0 {
		return false
	}
	name, rest := string(p[:i]), string(p[i+len("/rollout"):])
	if bytes.IndexByte(p[:i], '/') >= 0 {
		return false
	}
	var action canary.Action
	switch rest {
	case "":
	case "/promote", "/rollback", "/abort", "/pause", "/resume":
		action = canary.Action(rest[1:])
	default:
		return false
	}
	if _, err := s.models.Status(name); err != nil {
		s.writeError(ctx, err)
		return true
	}
	rs := &s.rollouts
	rs.mu.Lock()
	defer rs.mu.Unlock()
	now := rs.now()
	actor := actorOf(ctx)
	var ro *rolloutRun
	var err error
	if action == "" {
		var plan canary.Plan
		if jerr := json.Unmarshal(ctx.PostBody(), &plan); jerr != nil {
			s.writeError(ctx, Errorf(fasthttp.StatusBadRequest, "the body is a rollout plan (docs/rollout.md): %v", jerr))
			return true
		}
		if err = s.syncRolloutLocked(name); err == nil {
			ro, err = s.startRolloutLocked(actor, name, plan, now, "admin")
		}
		if err == nil {
			s.ensureLoopLocked()
		}
	} else {
		if err = s.syncRolloutLocked(name); err == nil {
			cur := rs.get(name)
			if cur == nil {
				err = Errorf(fasthttp.StatusNotFound, "model %s has no rollout: start one with POST /v1/admin/models/%s/rollout", name, name)
			} else {
				d, merr := canary.Manual(cur.st, action, "by "+actor)
				if merr != nil {
					err = Errorf(fasthttp.StatusConflict, "rollout %s: %v", name, merr)
				} else {
					ro, err = s.transitionLocked(actor, cur, d, now)
				}
			}
		}
	}
	if err != nil {
		s.writeError(ctx, err)
		return true
	}
	d, ok := rs.last[name]
	b, _ := json.Marshal(s.statusOf(ro, d, ok))
	s.writeJSON(ctx, fasthttp.StatusOK, b)
	return true
}

// Metrics.

var (
	rolloutShareDesc = prometheus.NewDesc("predictd_rollout_share",
		"The candidate's share of the model's traffic in its rollout, in percent (0 after a rollback or abort, 100 once promoted).",
		[]string{"model", "candidate", "stable"}, nil)
	rolloutStepDesc = prometheus.NewDesc("predictd_rollout_step",
		"The index of the rollout's current step in its plan's steps.", []string{"model"}, nil)
	rolloutStatusDesc = prometheus.NewDesc("predictd_rollout_status",
		"1 for the rollout's current status, 0 for the others.", []string{"model", "status"}, nil)
	rolloutCheckValueDesc = prometheus.NewDesc("predictd_rollout_check_value",
		"The value of a rollout check at the last decision (error rate increase as a fraction, p99 ratio, KS distance, quality difference).",
		[]string{"model", "check"}, nil)
	rolloutCheckThresholdDesc = prometheus.NewDesc("predictd_rollout_check_threshold",
		"The threshold of a rollout check.", []string{"model", "check"}, nil)
	rolloutTransitionsDesc = prometheus.NewDesc("predictd_rollout_transitions_total",
		"Rollout state changes this replica made, by action (start, advance, promote, rollback, abort, pause, resume).",
		[]string{"model", "action"}, nil)
	rolloutStatuses = []canary.Status{canary.Running, canary.Paused, canary.Promoted, canary.RolledBack, canary.Aborted}
)

type rolloutCollector struct{ s *Server }

func (c rolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rolloutShareDesc, rolloutStepDesc, rolloutStatusDesc, rolloutCheckValueDesc, rolloutCheckThresholdDesc, rolloutTransitionsDesc} {
		ch <- d
	}
}

func (c rolloutCollector) Collect(ch chan<- prometheus.Metric) {
	rs := &c.s.rollouts
	m := rs.runs.Load()
	if m == nil {
		return
	}
	rs.mu.Lock()
	last := make(map[string]canary.Decision, len(rs.last))
	for k, v := range rs.last {
		last[k] = v
	}
	counts := map[string]map[canary.Action]uint64{}
	for k, v := range rs.counts {
		counts[k] = map[canary.Action]uint64{}
		for a, n := range v {
			counts[k][a] = n
		}
	}
	rs.mu.Unlock()
	for name, ro := range *m {
		ch <- prometheus.MustNewConstMetric(rolloutShareDesc, prometheus.GaugeValue, ro.share, name, strconv.Itoa(ro.plan.Candidate), strconv.Itoa(ro.plan.Stable))
		ch <- prometheus.MustNewConstMetric(rolloutStepDesc, prometheus.GaugeValue, float64(ro.st.Step), name)
		for _, st := range rolloutStatuses {
			ch <- prometheus.MustNewConstMetric(rolloutStatusDesc, prometheus.GaugeValue, boolValue(ro.st.Status == st), name, string(st))
		}
		checks := c.s.statusOf(ro, last[name], true).Checks
		for _, ck := range checks {
			ch <- prometheus.MustNewConstMetric(rolloutCheckValueDesc, prometheus.GaugeValue, ck.Value, name, ck.Name)
			ch <- prometheus.MustNewConstMetric(rolloutCheckThresholdDesc, prometheus.GaugeValue, ck.Threshold, name, ck.Name)
		}
		for a, n := range counts[name] {
			ch <- prometheus.MustNewConstMetric(rolloutTransitionsDesc, prometheus.CounterValue, float64(n), name, string(a))
		}
	}
}
