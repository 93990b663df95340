package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"google.golang.org/grpc/metadata"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/rollout/audit"
	"github.com/predictd/predictd/rollout/canary"
	"github.com/predictd/predictd/rollout/state"
)

const rolloutToken = "rollout-test-token"

// writeVersion imports a native fixture into repo as the next version of
// name.
func writeVersion(t testing.TB, repo, name, file string) {
	t.Helper()
	imp, err := importer.ImportFile("native", fixture.Path("native", file))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, name, imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// rolloutRepo is a repository with "lr" v1 (logreg_binary) and, if v2 is
// not empty, v2 from that fixture file.
func rolloutRepo(t testing.TB, v2 string) string {
	repo := t.TempDir()
	writeVersion(t, repo, "lr", "logreg_binary.model.json")
	if v2 != "" {
		writeVersion(t, repo, "lr", v2)
	}
	return repo
}

// rolloutServer serves repo with every version loaded (manager policy
// "all"), the admin token, an audit log (returned path), no decision loop
// (the test ticks) and store (nil: memory).
func rolloutServer(t testing.TB, repo string, store state.Store, mo *RolloutConfig) (*Server, string) {
	t.Helper()
	opts := DefaultOptions()
	opts.AdminToken = rolloutToken
	opts.Rollout = RolloutOptions{Store: store, Interval: -1}
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	lg, err := audit.Open(auditPath, audit.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	opts.Audit = lg
	if mo != nil {
		opts.Models = map[string]ModelOptions{"lr": {Rollout: mo}}
	}
	return serveRepoAll(t, opts, repo), auditPath
}

func admin(s *Server, path, body string) (int, string) {
	code, out, _ := call(s, "POST", "/v1/admin/models/lr/"+path, body, "Authorization", "Bearer "+rolloutToken)
	return code, out
}

// predictVersion sends one lr request with user key (none if "") and
// returns the status and the answering version.
func predictVersion(t testing.TB, s *Server, key string) (int, string) {
	t.Helper()
	var h []string
	if key != "" {
		h = []string{"X-User-Id", key}
	}
	code, out, _ := call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrRow+`]}`, h...)
	var resp struct {
		Version string `json:"model_version"`
	}
	if code == 200 {
		if err := json.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("predict: %v in %s", err, out)
		}
	}
	return code, resp.Version
}

// rolloutOf reads GET /v1/models/lr's rollout member.
func rolloutOf(t testing.TB, s *Server) RolloutStatus {
	t.Helper()
	code, out, _ := call(s, "GET", "/v1/models/lr", "")
	var st struct {
		Rollout *RolloutStatus `json:"rollout"`
	}
	if err := json.Unmarshal([]byte(out), &st); code != 200 || err != nil || st.Rollout == nil {
		t.Fatalf("GET /v1/models/lr = %d %s (%v), want a rollout member", code, out, err)
	}
	return *st.Rollout
}

func labelsOf(t testing.TB, s *Server) map[string]int {
	t.Helper()
	st, err := s.models.Status("lr")
	if err != nil {
		t.Fatal(err)
	}
	return st.Labels
}

// auditActions lists the actions of the audit log at path, after
// checking its chain.
func auditActions(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.Verify(bytes.NewReader(b), nil); err != nil {
		t.Fatalf("audit.Verify(%s): %v", path, err)
	}
	var out []string
	if err := audit.Scan(bytes.NewReader(b), func(e audit.Entry, _ []byte) error {
		if e.Action != audit.ActionOpen {
			out = append(out, string(e.Action))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

const quickPlan = `{"candidate": 2, "steps": [50, 100], "min_duration": "1s", "min_requests": 40, "key": "X-User-Id",
	"checks": {"max_p99_ratio": null, "max_prediction_distance": null}}`

// TestRolloutGoodCandidate: a candidate equal to the stable model goes
// through both steps and is promoted. Requests are split by their
// X-User-Id as canary.Assign says and a user stays on one side; the
// status, the labels, the audit log and /metrics follow each step.
func TestRolloutGoodCandidate(t *testing.T) {
	s, auditPath := rolloutServer(t, rolloutRepo(t, "logreg_binary.model.json"), nil, nil)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if code, out := admin(s, "rollout", quickPlan); code != 200 || !strings.Contains(out, `"status":"running"`) {
		t.Fatalf("start rollout = %d %s, want 200 running", code, out)
	}
	if got := labelsOf(t, s); got["canary"] != 2 || got["stable"] != 1 {
		t.Errorf("labels after the start = %v, want canary 2, stable 1", got)
	}
	// At 50%: each key goes where Assign puts it, every time.
	onCand := 0
	for i := range 200 {
		key := fmt.Sprintf("user-%d", i)
		want := "1"
		if canary.Assign([]byte(key), 0, 50) == canary.Candidate {
			want = "2"
			onCand++
		}
		for range 2 {
			if code, v := predictVersion(t, s, key); code != 200 || v != want {
				t.Fatalf("key %s at 50%%: %d version %q, want 200 version %s", key, code, v, want)
			}
		}
	}
	if onCand < 60 || onCand > 140 {
		t.Errorf("%d of 200 keys on the candidate at 50%%, want about 100", onCand)
	}
	// A request naming a version is not split.
	if code, out, _ := call(s, "POST", "/v1/models/lr/versions/1:predict", `{"instances": [`+lrRow+`]}`, "X-User-Id", "user-0"); code != 200 || !strings.Contains(out, `"model_version":"1"`) {
		t.Errorf("predict v1 during the rollout = %d %s, want version 1", code, out)
	}
	s.rolloutTick(t0) // the step's min_duration counts from the start's clock (time.Now)
	if st := rolloutOf(t, s); st.Step != 0 || st.Decision != "hold" {
		t.Errorf("rollout before min_duration: step %d decision %q, want step 0 hold", st.Step, st.Decision)
	}
	now := time.Now().Add(2 * time.Second)
	s.rolloutTick(now)
	st := rolloutOf(t, s)
	if st.Step != 1 || st.Share != 100 || st.Status != canary.Running {
		t.Fatalf("after the first step: step %d share %g status %s (%s), want step 1 share 100 running", st.Step, st.Share, st.Status, st.Reason)
	}
	for i := range 60 {
		if code, v := predictVersion(t, s, fmt.Sprintf("user-%d", i)); code != 200 || v != "2" {
			t.Fatalf("at 100%%: %d version %q, want 200 version 2", code, v)
		}
	}
	s.rolloutTick(now.Add(2 * time.Second))
	st = rolloutOf(t, s)
	if st.Status != canary.Promoted || len(st.History) != 2 {
		t.Fatalf("after the last step: %s with %d transitions (%+v), want promoted after 2", st.Status, len(st.History), st.History)
	}
	if got := labelsOf(t, s); got["stable"] != 2 || got["canary"] != 2 {
		t.Errorf("labels after promotion = %v, want stable 2, canary 2", got)
	}
	if code, v := predictVersion(t, s, "user-3"); code != 200 || v != "2" {
		t.Errorf("after promotion: %d version %q, want version 2", code, v)
	}
	got := strings.Join(auditActions(t, auditPath), ",")
	if want := "rollout_start,label,label,rollout_step,promote,label"; !strings.Contains(got, "rollout_start") || !strings.Contains(got, "rollout_step") || !strings.Contains(got, "promote") {
		t.Errorf("audit actions = %s, want rollout_start, rollout_step and promote (as in %s)", got, want)
	}
	fams, text := scrape(t, s)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"predictd_rollout_status", []string{"model", "lr", "status", "promoted"}, 1},
		{"predictd_rollout_status", []string{"model", "lr", "status", "running"}, 0},
		{"predictd_rollout_share", []string{"model", "lr", "candidate", "2", "stable", "1"}, 100},
		{"predictd_rollout_step", []string{"model", "lr"}, 1},
		{"predictd_rollout_transitions_total", []string{"model", "lr", "action", "advance"}, 1},
		{"predictd_rollout_transitions_total", []string{"model", "lr", "action", "promote"}, 1},
		{"predictd_rollout_check_threshold", []string{"model", "lr", "check", canary.CheckErrorRate}, 0.01},
	} {
		if got := value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("/metrics: %s%q = %v, want %v\n%s", c.name, c.labels, got, c.want, text)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (%v): apt-get install --no-install-recommends prometheus", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestRolloutFallbackAndRollback: a candidate that takes 4 inputs fails
// every 10-input request; the stable version answers each one (no client
// sees an error), the candidate is charged, and the next decision rolls
// it back at its first step, whatever the step's age.
func TestRolloutFallbackAndRollback(t *testing.T) {
	s, auditPath := rolloutServer(t, rolloutRepo(t, "logreg_multinomial.model.json"), nil, nil)
	if code, out := admin(s, "rollout", quickPlan); code != 200 {
		t.Fatalf("start = %d %s", code, out)
	}
	for i := range 200 {
		if code, v := predictVersion(t, s, fmt.Sprintf("user-%d", i)); code != 200 || v != "1" {
			t.Fatalf("request %d with a failing candidate: %d version %q, want 200 from version 1", i, code, v)
		}
	}
	// A request bad for both sides is the client's: its error, and no
	// charge to the candidate.
	ro := s.rollouts.get("lr")
	before, stableBefore := ro.rec.Snapshot().Candidate.Errors, ro.rec.Snapshot().Stable.Errors
	for i := range 50 {
		if code, _, _ := call(s, "POST", "/v1/models/lr:predict", `{"instances": [[1, 2]]}`, "X-User-Id", fmt.Sprintf("user-%d", i)); code != 400 {
			t.Fatalf("bad request: %d, want 400", code)
		}
	}
	if after := ro.rec.Snapshot().Candidate.Errors; after != before {
		t.Errorf("candidate errors %d -> %d over requests bad for both sides, want unchanged", before, after)
	}
	// The stable side's 400s count on neither side.
	if after := ro.rec.Snapshot().Stable.Errors; after != stableBefore {
		t.Errorf("stable errors %d -> %d over client errors, want unchanged", stableBefore, after)
	}
	s.rolloutTick(time.Now())
	st := rolloutOf(t, s)
	if st.Status != canary.RolledBack || st.Share != 0 || !strings.Contains(st.History[0].Reason, "error rate") {
		t.Fatalf("after the decision: %s share %g (%+v), want rolled_back share 0 for its error rate", st.Status, st.Share, st.History)
	}
	if got := labelsOf(t, s); got["stable"] != 1 || got["canary"] != 1 {
		t.Errorf("labels after the rollback = %v, want stable 1, canary moved to 1", got)
	}
	if code, v := predictVersion(t, s, "user-1"); code != 200 || v != "1" {
		t.Errorf("after the rollback: %d version %q, want version 1", code, v)
	}
	if code, out := admin(s, "rollout/promote", ""); code != 409 {
		t.Errorf("promote a rolled back rollout = %d %s, want 409", code, out)
	}
	if got := auditActions(t, auditPath); !strings.Contains(strings.Join(got, ","), "rollback") {
		t.Errorf("audit actions = %v, want a rollback", got)
	}
}

// TestRolloutAdminActions: pause, resume, abort and their refusals.
func TestRolloutAdminActions(t *testing.T) {
	s, _ := rolloutServer(t, rolloutRepo(t, "logreg_binary.model.json"), nil, nil)
	for _, c := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"rollout/pause", "", 404, "has no rollout"},
		{"rollout", `{"candidate": 3}`, 409, "no such version"},
		{"rollout", `{"candidate": 2, "steps": [5]}`, 400, "rollout.steps"},
		{"rollout", `{"candidate": 2, "bogus": 1}`, 400, "bogus"},
		{"rollout", quickPlan, 200, `"status":"running"`},
		{"rollout", quickPlan, 409, "abort it first"},
		{"rollout/resume", "", 409, "not paused"},
		{"rollout/pause", "", 200, `"status":"paused"`},
		{"rollout/resume", "", 200, `"status":"running"`},
		{"rollout/abort", "", 200, `"status":"aborted"`},
		{"rollout/abort", "", 409, "already aborted"},
		{"rollout/bogus", "", 404, ""},
	} {
		if code, out := admin(s, c.path, c.body); code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("POST .../%s %s = %d %s, want %d with %q", c.path, c.body, code, out, c.code, c.want)
		}
	}
	if code, _, _ := call(s, "POST", "/v1/admin/models/lr/rollout", quickPlan); code != 401 {
		t.Errorf("start without the token = %d, want 401", code)
	}
	if code, v := predictVersion(t, s, "user-1"); code != 200 || v != "1" {
		t.Errorf("after the abort: %d version %q, want version 1", code, v)
	}
	// A new rollout may start once the last one ended.
	if code, out := admin(s, "rollout", quickPlan); code != 200 {
		t.Errorf("start after an abort = %d %s, want 200", code, out)
	}
}

// TestRolloutConfigAuto: with a config block of candidate 0, "stable" is
// set to the version serving now, and a new version starts a rollout
// instead of taking the traffic.
func TestRolloutConfigAuto(t *testing.T) {
	repo := rolloutRepo(t, "")
	plan, err := canary.ParsePlan([]byte(`{"candidate": 1, "steps": [50, 100]}`))
	if err != nil {
		t.Fatal(err)
	}
	plan.Candidate = 0
	s, _ := rolloutServer(t, repo, nil, &RolloutConfig{Plan: plan})
	s.rolloutTick(time.Now())
	if got := labelsOf(t, s); got["stable"] != 1 {
		t.Fatalf("labels after the first tick = %v, want stable 1", got)
	}
	if ro := s.rollouts.get("lr"); ro != nil {
		t.Fatalf("a rollout with one version: %+v", ro.st)
	}
	writeVersion(t, repo, "lr", "logreg_binary.model.json")
	if err := s.models.Reload(); err != nil {
		t.Fatal(err)
	}
	s.rolloutTick(time.Now())
	st := rolloutOf(t, s)
	if st.Plan.Candidate != 2 || st.Plan.Stable != 1 || st.Status != canary.Running || st.Share != 50 {
		t.Fatalf("rollout after v2 loaded: %+v, want candidate 2 against 1 running at 50%%", st)
	}
	if got := labelsOf(t, s); got["canary"] != 2 || got["stable"] != 1 {
		t.Errorf("labels = %v, want canary 2 stable 1", got)
	}
	// The same candidate does not start again once it ended.
	if code, out := admin(s, "rollout/abort", ""); code != 200 {
		t.Fatalf("abort = %d %s", code, out)
	}
	s.rolloutTick(time.Now())
	if st := rolloutOf(t, s); st.Status != canary.Aborted {
		t.Errorf("after an abort and a tick: %s, want aborted (v2 not started again)", st.Status)
	}
}

// TestRolloutSharedState: two replicas over one state store. The second
// adopts the rollout the first started, and the step it advanced; a
// change made from a stale generation is refused (409) and re-read.
func TestRolloutSharedState(t *testing.T) {
	store, err := state.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	repo := rolloutRepo(t, "logreg_binary.model.json")
	a, _ := rolloutServer(t, repo, store, nil)
	b, _ := rolloutServer(t, repo, store, nil)
	if code, out := admin(a, "rollout", quickPlan); code != 200 {
		t.Fatalf("start on a = %d %s", code, out)
	}
	b.rolloutTick(time.Now())
	if st := rolloutOf(t, b); st.Status != canary.Running || st.Share != 50 || st.Store != "shared" {
		t.Fatalf("b after a tick: %+v, want running at 50%% from the shared store", st)
	}
	if code, v := predictVersion(t, b, "user-7"); code != 200 {
		t.Fatalf("b predict: %d %s", code, v)
	}
	// a advances on its own traffic.
	for i := range 100 {
		predictVersion(t, a, fmt.Sprintf("user-%d", i))
	}
	a.rolloutTick(time.Now().Add(2 * time.Second))
	if st := rolloutOf(t, a); st.Step != 1 {
		t.Fatalf("a after its decision: step %d (%s), want 1", st.Step, st.Reason)
	}
	// b has not read the store yet: its pause is stale, refused, and b
	// reads the stored step.
	if code, out := admin(b, "rollout/pause", ""); code != 200 || !strings.Contains(out, `"step":1`) {
		t.Errorf("pause on b = %d %s, want 200 at step 1 (read before the change)", code, out)
	}
	b.rollouts.mu.Lock()
	stale := b.rollouts.get("lr")
	d, _ := canary.Manual(stale.st, canary.Resume, "test")
	old := newRun("lr", stale.plan, stale.st, stale.gen-1, nil)
	_, err = b.transitionLocked(audit.ActorDaemon, old, d, time.Now())
	b.rollouts.mu.Unlock()
	if code, _, _ := statusOf(err); code != fasthttp.StatusConflict {
		t.Errorf("a change from a stale generation: %v (status %d), want a 409", err, code)
	}
	a.rolloutTick(time.Now())
	if st := rolloutOf(t, a); st.Status != canary.Paused {
		t.Errorf("a after b paused: %s, want paused", st.Status)
	}
}

// TestRolloutPredictAllocs: a request split by its key, on either side,
// allocates nothing on the warm path.
func TestRolloutPredictAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	s, _ := rolloutServer(t, rolloutRepo(t, "logreg_binary.model.json"), nil, nil)
	if code, out := admin(s, "rollout", quickPlan); code != 200 {
		t.Fatalf("start = %d %s", code, out)
	}
	sides := map[canary.Side]bool{}
	for i := 0; len(sides) < 2; i++ {
		key := fmt.Sprintf("user-%d", i)
		side := canary.Assign([]byte(key), 0, 50)
		if sides[side] {
			continue
		}
		sides[side] = true
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/v1/models/lr:predict")
		ctx.Request.Header.Set("X-User-Id", key)
		ctx.Request.SetBodyString(`{"instances": [` + lrRow + `]}`)
		s.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("predict: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.ResetBody()
			s.Handle(ctx)
		})
		if allocs != 0 {
			t.Errorf("key %s on the %s side: %.1f allocations per request, want 0", key, side, allocs)
		}
	}
}

// TestRolloutGRPCKey: over gRPC the key is the call's metadata of the
// plan's key, lower-case; the answer's model_version says the side.
func TestRolloutGRPCKey(t *testing.T) {
	s, _ := rolloutServer(t, rolloutRepo(t, "logreg_binary.model.json"), nil, nil)
	if code, out := admin(s, "rollout", quickPlan); code != 200 {
		t.Fatalf("start = %d %s", code, out)
	}
	cl := grpcClient(t, s)
	for i := range 40 {
		key := fmt.Sprintf("user-%d", i)
		want := "1"
		if canary.Assign([]byte(key), 0, 50) == canary.Candidate {
			want = "2"
		}
		req := grpcInput(grpcRows["lr"][:1], "fp32")
		req.ModelName = "lr"
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user-id", key)
		resp, err := cl.ModelInfer(ctx, req)
		if err != nil || resp.GetModelVersion() != want {
			t.Fatalf("gRPC with x-user-id %s: version %q (%v), want %s", key, resp.GetModelVersion(), err, want)
		}
	}
}

// TestRolloutCandidateUnloaded: a candidate that is no longer loaded is
// answered by the stable version and charged.
func TestRolloutCandidateUnloaded(t *testing.T) {
	s, _ := rolloutServer(t, rolloutRepo(t, "logreg_binary.model.json"), nil, nil)
	if code, out := admin(s, "rollout", `{"candidate": 2, "steps": [50, 100]}`); code != 200 {
		t.Fatalf("start = %d %s", code, out)
	}
	if err := s.models.UnloadVersion("lr", 2); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if code, v := predictVersion(t, s, ""); code != 200 || v != "1" {
			t.Fatalf("request %d with the candidate unloaded: %d version %q, want 200 from version 1", i, code, v)
		}
	}
	st := rolloutOf(t, s)
	if st.Errors["candidate"] == 0 || st.Errors["candidate"] != st.Requests["candidate"] {
		t.Errorf("candidate requests %d errors %d, want every one an error (and some)", st.Requests["candidate"], st.Errors["candidate"])
	}
	// The next tick sees the candidate is not loaded here: no more split
	// (and no more charge) until it is.
	s.rolloutTick(time.Now())
	if s.rollouts.route("lr") != nil {
		t.Fatal("still splitting after a tick with the candidate unloaded")
	}
	for range 20 {
		predictVersion(t, s, "")
	}
	if after := rolloutOf(t, s); after.Requests["candidate"] != st.Requests["candidate"] || after.Status != canary.Running {
		t.Errorf("after the tick: candidate requests %d -> %d, status %s; want unchanged, running", st.Requests["candidate"], after.Requests["candidate"], after.Status)
	}
	if err := s.models.LoadVersion("lr", 2); err != nil {
		t.Fatal(err)
	}
	s.rolloutTick(time.Now())
	if s.rollouts.route("lr") == nil {
		t.Error("not splitting after a tick with the candidate loaded again")
	}
}

// TestRolloutReplicaStartsMidRollout: a replica that starts while a
// rollout is stored is not ready before it has read it, and adopts a
// finished rollout's labels.
func TestRolloutReplicaStartsMidRollout(t *testing.T) {
	store, err := state.OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	repo := rolloutRepo(t, "logreg_binary.model.json")
	a, _ := rolloutServer(t, repo, store, nil)
	if code, out := admin(a, "rollout", quickPlan); code != 200 {
		t.Fatalf("start on a = %d %s", code, out)
	}
	// b runs its loop (every 10ms): Ready only after the stored rollout
	// is adopted. Its first reads of the store wait until released.
	gate := &gatedStore{Store: store, release: make(chan struct{}), waiting: make(chan struct{}, 1)}
	opts := DefaultOptions()
	opts.Rollout = RolloutOptions{Store: gate, Interval: 10 * time.Millisecond}
	b := serveRepoAll(t, opts, repo)
	var once sync.Once
	open := func() { once.Do(func() { close(gate.release) }) }
	t.Cleanup(func() { open(); b.stopRollouts() })
	<-gate.waiting // the loop is reading the store; the models are loaded
	if !b.models.Ready() || b.Ready() {
		t.Fatalf("while the store read waits: models ready %v, server ready %v; want true, false", b.models.Ready(), b.Ready())
	}
	if code, body, _ := call(b, "GET", "/readyz", ""); code != 503 || !strings.Contains(body, "rollout state") {
		t.Errorf("GET /readyz while the store read waits: %d %q, want 503 saying it reads the rollout state", code, body)
	}
	open()
	for deadline := time.Now().Add(10 * time.Second); !b.Ready(); {
		if time.Now().After(deadline) {
			t.Fatal("b not ready within 10s")
		}
		time.Sleep(time.Millisecond)
	}
	if ro := b.rollouts.route("lr"); ro == nil || ro.share != 50 {
		t.Fatalf("b ready without the stored rollout: %+v", ro)
	}
	if code, out := admin(a, "rollout/promote", ""); code != 200 {
		t.Fatalf("promote on a = %d %s", code, out)
	}
	for deadline := time.Now().Add(10 * time.Second); labelsOf(t, b)["stable"] != 2; {
		if time.Now().After(deadline) {
			t.Fatalf("b's labels %v 10s after the promotion on a, want stable 2", labelsOf(t, b))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if b.rollouts.route("lr") != nil {
		t.Error("b still splits after the promotion")
	}
}

// gatedStore holds every Get until release is closed, saying on
// waiting when one waits.
type gatedStore struct {
	state.Store
	release chan struct{}
	waiting chan struct{}
}

func (g *gatedStore) Get(ctx context.Context, key string) (state.Record, error) {
	select {
	case g.waiting <- struct{}{}:
	default:
	}
	<-g.release
	return g.Store.Get(ctx, key)
}

// serveRepoAll is serveRepo with every version of lr loaded.
func serveRepoAll(t testing.TB, opts Options, repo string) *Server {
	t.Helper()
	return serveRepo(t, opts, repo, manager.ModelConfig{Name: "lr", Policy: manager.Policy{All: true}})
}

// TestAddRollout: the rollout member is spliced into a /monitor body.
func TestAddRollout(t *testing.T) {
	s, _ := rolloutServer(t, rolloutRepo(t, "logreg_binary.model.json"), nil, nil)
	if got := string(s.addRollout("lr", []byte(`{"model":"lr"}`))); got != `{"model":"lr"}` {
		t.Errorf("addRollout without a rollout = %s, want the body unchanged", got)
	}
	if code, out := admin(s, "rollout", quickPlan); code != 200 {
		t.Fatalf("start = %d %s", code, out)
	}
	for _, body := range []string{`{"model":"lr"}`, "{}", "{\"model\":\"lr\"}\n"} {
		var m map[string]json.RawMessage
		got := s.addRollout("lr", []byte(body))
		if err := json.Unmarshal(got, &m); err != nil || m["rollout"] == nil || (body != "{}" && m["model"] == nil) {
			t.Errorf("addRollout(%q) = %s (%v), want the body with a rollout member", body, got, err)
		}
	}
}

// TestRolloutQuality: with a labels store, the quality check compares the
// two versions' ROC AUC over their labelled predictions. The candidate is
// the logistic regression with its weights and bias negated (p becomes
// 1-p); the labels are the stable version's own decisions, so its AUC is
// 1 and the candidate's 0: rolled back for its quality.
func TestRolloutQuality(t *testing.T) {
	repo := rolloutRepo(t, "")
	flipped := fixture.FlippedLogReg(t, t.TempDir())
	imp, err := importer.ImportFile("native", flipped)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, "lr", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.AdminToken = rolloutToken
	opts.Rollout = RolloutOptions{Interval: -1}
	opts.Labels = newLabels(t, labels.Options{})
	opts.QualityRecomputeEvery = time.Nanosecond
	s := serveRepoAll(t, opts, repo)
	plan := `{"candidate": 2, "steps": [50, 100], "min_requests": 20, "key": "X-User-Id",
		"checks": {"max_p99_ratio": null, "max_prediction_distance": null, "min_quality": -0.05, "quality_min_rows": 20}}`
	if code, out := admin(s, "rollout", plan); code != 200 {
		t.Fatalf("start = %d %s", code, out)
	}
	tab := fixture.ReadTable(t, fixture.Path("native", "logreg_binary.csv"))
	var items []map[string]any
	for i, row := range tab.Rows {
		rb, err := json.Marshal(map[string]any{"instances": [][]float64{row}})
		if err != nil {
			t.Fatalf("row %d %v: %v", i, row, err)
		}
		// The stable version's decision is the label.
		code, out, _ := call(s, "POST", "/v1/models/lr/versions/1:predict", string(rb))
		if code != 200 {
			t.Fatalf("predict v1 %s: %d %s", rb, code, out)
		}
		var p struct {
			Predictions []float64 `json:"predictions"`
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Predictions) != 1 {
			t.Fatalf("predict v1 answer %s: %v", out, err)
		}
		label := 0
		if p.Predictions[0] > 0.5 {
			label = 1
		}
		id := fmt.Sprintf("q-%d", i)
		if code, out, _ := call(s, "POST", "/v1/models/lr:predict", string(rb), "X-Request-Id", id, "X-User-Id", id); code != 200 {
			t.Fatalf("predict %s: %d %s", id, code, out)
		}
		items = append(items, map[string]any{"id": id, "label": label})
	}
	if code, out, _ := call(s, "POST", "/v1/models/lr/feedback", feedbackBody(t, items...)); code != 200 {
		t.Fatalf("feedback: %d %s", code, out)
	}
	q := s.rolloutQuality(s.rollouts.get("lr"), time.Now())
	if q == nil || q.Stable != 1 || q.Candidate != 0 || q.CandidateRows+q.StableRows < 100 {
		t.Fatalf("quality pair %+v, want stable AUC 1, candidate 0, over the labelled rows", q)
	}
	s.rolloutTick(time.Now())
	st := rolloutOf(t, s)
	if st.Status != canary.RolledBack || !strings.Contains(st.History[0].Reason, "quality") {
		t.Errorf("after the decision: %s (%+v), want rolled back for its quality", st.Status, st.History)
	}
}
