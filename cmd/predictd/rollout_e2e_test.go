//go:build !race

package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/internal/redistest"
	"github.com/predictd/predictd/rollout/canary"
)

// The canary rollouts on the real binary, each under a steady
// `predictd loadtest` (no key: split per request) and a probe client with
// X-User-Id keys. Long (each ~10 s): not under -race (NORACE_TESTS).

const rolloutE2EToken = "rollout-e2e-admin-token-0123456789"

// rolloutCase is one rollout run: the candidate's model file (native
// JSON), the plan, and what must happen.
type rolloutCase struct {
	candidate  func(t *testing.T, dir string) string // writes the candidate's model file
	plan       string
	loadFor    string // loadtest --duration
	wantStatus canary.Status
	wantReason string // in the final transition's reason
}

// e2ePlan is the plan every case runs, short enough for a test: v2 at
// 10, 50 and 100%, a second and 100 requests per side a step, split by
// X-User-Id, with the case's checks.
func e2ePlan(checks string) string {
	return `{"candidate": 2, "steps": [10, 50, 100], "min_duration": "1s", "min_requests": 100, "key": "X-User-Id", "checks": ` + checks + `}`
}

// TestRolloutGoodCandidateE2E: the same model re-imported as v2 goes
// through 10, 50 and 100% and is promoted; the stable label ends on v2.
func TestRolloutGoodCandidateE2E(t *testing.T) {
	runRolloutCase(t, rolloutCase{
		candidate:  func(*testing.T, string) string { return fixture.Path("native", "logreg_binary.model.json") },
		plan:       e2ePlan(`{"max_prediction_distance": 0.3}`),
		loadFor:    "8s",
		wantStatus: canary.Promoted,
		wantReason: "",
	})
}

// TestRolloutErrorsE2E: a candidate that takes 4 inputs fails every
// request; the stable version answers each one, and the candidate is
// rolled back at its first step for its error rate.
func TestRolloutErrorsE2E(t *testing.T) {
	runRolloutCase(t, rolloutCase{
		candidate:  func(*testing.T, string) string { return fixture.Path("native", "logreg_multinomial.model.json") },
		plan:       e2ePlan(`{"max_prediction_distance": 0.3}`),
		loadFor:    "6s",
		wantStatus: canary.RolledBack,
		wantReason: "error rate",
	})
}

// TestRolloutSlowE2E: a much heavier model over the same inputs (an MLP
// 10-768-768-1, ~600k multiply-adds a row against lr's 10) is rolled back
// at its first step for its p99 latency.
func TestRolloutSlowE2E(t *testing.T) {
	runRolloutCase(t, rolloutCase{
		candidate:  bigMLP,
		plan:       e2ePlan(`{"max_p99_increase": "0s", "max_prediction_distance": null}`),
		loadFor:    "8s",
		wantStatus: canary.RolledBack,
		wantReason: "p99",
	})
}

// TestRolloutShiftedE2E: the logistic regression fitted to the flipped
// labels (the same model with its weights and bias negated: p becomes
// 1-p) is rolled back at its first step for its prediction distance.
func TestRolloutShiftedE2E(t *testing.T) {
	runRolloutCase(t, rolloutCase{
		candidate:  func(t *testing.T, dir string) string { return fixture.FlippedLogReg(t, dir) },
		plan:       e2ePlan(`{"max_prediction_distance": 0.3}`),
		loadFor:    "6s",
		wantStatus: canary.RolledBack,
		wantReason: "distance",
	})
}

// bigMLP writes an MLP over lr's ten inputs, 10-768-768-1 with weights
// from a fixed seed: the same request, ~60,000 times the work.
func bigMLP(t *testing.T, dir string) string {
	rng := rand.New(rand.NewPCG(20, 26))
	layer := func(out, in int, act string) map[string]any {
		w := make([][]float64, out)
		for i := range w {
			w[i] = make([]float64, in)
			for j := range w[i] {
				w[i][j] = (rng.Float64() - 0.5) * 0.1
			}
		}
		return map[string]any{"weights": w, "bias": make([]float64, out), "activation": act}
	}
	b, err := os.ReadFile(fixture.Path("native", "logreg_binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lr map[string]any
	if err := json.Unmarshal(b, &lr); err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"kind": "mlp", "task": "binary", "classes": 0, "features": lr["features"],
		"layers": []any{layer(768, 10, "relu"), layer(768, 768, "relu"), layer(1, 768, "sigmoid")}}
	return writeJSONFile(t, filepath.Join(dir, "big-mlp.model.json"), m)
}

func writeJSONFile(t *testing.T, path string, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// rolloutE2EStatus is the part of the rollout member the test reads.
type rolloutE2EStatus struct {
	Status     canary.Status       `json:"status"`
	Step       int                 `json:"step"`
	Share      float64             `json:"share"`
	Generation uint64              `json:"generation"`
	History    []canary.Transition `json:"history"`
}

func runRolloutCase(t *testing.T, rc rolloutCase) {
	dir := t.TempDir()
	repo, body := lrRepo(t)
	mustRun(t, "import", "--from", "native", "--in", rc.candidate(t, dir), "--repo", repo, "--name", "lr", "--version", "2")
	cfg := filepath.Join(dir, "serve.json")
	// "stable" at v1 keeps it loaded beside v2 (the policy's latest).
	writeFile(t, cfg, `{"models": [{"name": "lr", "labels": {"stable": 1}}]}`)
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, rolloutE2EToken+"\n")
	args := []string{"--repo", repo, "--config", cfg, "--state-dir", filepath.Join(dir, "state"), "--poll-interval", "0",
		"--admin-token-file", tokenFile, "--rollout-interval", "200ms"}
	auditLog := filepath.Join(dir, "audit.log")
	args = append(args, "--audit-log", auditLog)
	d := startServe(t, nil, args...)
	predictURL := d.url(false, "/v1/models/lr:predict")

	// The steady load, without keys.
	tab := fixture.ReadTable(t, fixture.Path("native", "logreg_binary.csv"))
	var lines []string
	for _, r := range tab.Rows[:50] {
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	bodies := filepath.Join(dir, "bodies.ndjson")
	writeFile(t, bodies, strings.Join(lines, "\n")+"\n")
	loadJSON := filepath.Join(dir, "load.json")
	load := exec.Command(bin, "loadtest", "--url", predictURL, "--bodies", bodies, "--rate", "400", "--duration", rc.loadFor,
		"--warmup", "0s", "--slo-p99", "10s", "--json", loadJSON, "--quiet")
	var loadOut strings.Builder
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	var loadErr error
	var loadWait sync.WaitGroup
	loadWait.Go(func() { loadErr = load.Wait() })
	t.Cleanup(func() { load.Process.Kill(); loadWait.Wait() })

	plan := filepath.Join(dir, "plan.json")
	writeFile(t, plan, rc.plan)
	r := predictd(t, "rollout", "start", "--url", d.url(false, ""), "--model", "lr", "--token-file", tokenFile, "--plan", plan)
	if r.code != 0 || !strings.Contains(r.stdout, "running") {
		t.Fatalf("predictd rollout start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	status := func() rolloutE2EStatus {
		t.Helper()
		code, out := do(t, d.client(false), http.MethodGet, d.url(false, "/v1/models/lr"), nil)
		var st struct {
			Rollout *rolloutE2EStatus `json:"rollout"`
		}
		if err := json.Unmarshal(out, &st); code != 200 || err != nil || st.Rollout == nil {
			t.Fatalf("GET /v1/models/lr: %d %s (%v), want a rollout", code, out, err)
		}
		return *st.Rollout
	}
	// The probe: 40 users, a request each per round.
	const users = 40
	seen := make([]string, users) // the last version each user got
	rounds, checked := 0, 0
	deadline := time.Now().Add(25 * time.Second)
	var final rolloutE2EStatus
	for {
		before := status()
		got := make([]string, users)
		for u := range users {
			key := fmt.Sprintf("user-%d", u)
			code, out := do(t, d.client(false), http.MethodPost, predictURL, body, "X-User-Id", key)
			var resp struct {
				Version string `json:"model_version"`
			}
			if err := json.Unmarshal(out, &resp); code != 200 || err != nil {
				t.Fatalf("probe %s: %d %s, want 200", key, code, out)
			}
			got[u] = resp.Version
		}
		after := status()
		rounds++
		if before.Generation == after.Generation && after.Status == canary.Running {
			checked++
			for u := range users {
				want := "1"
				if canary.Assign(fmt.Appendf(nil, "user-%d", u), 0, after.Share) == canary.Candidate {
					want = "2"
				}
				// A failing candidate is answered by the stable version.
				if got[u] != want && !(want == "2" && got[u] == "1" && rc.wantStatus == canary.RolledBack) {
					t.Errorf("step %d (share %g%%): user-%d answered by v%s, want v%s", after.Step, after.Share, u, got[u], want)
				}
			}
		}
		if rc.wantStatus == canary.Promoted {
			for u := range users {
				if seen[u] == "2" && got[u] == "1" {
					t.Errorf("user-%d moved from the candidate back to stable while the share grew (round %d, step %d)", u, rounds, after.Step)
				}
				seen[u] = got[u]
			}
		}
		if after.Status.Done() {
			final = after
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rollout did not finish within 25s: %+v", after)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if final.Status != rc.wantStatus {
		t.Fatalf("rollout ended %s (%+v), want %s", final.Status, final.History, rc.wantStatus)
	}
	if checked == 0 {
		t.Errorf("no probe round within one generation: stickiness unchecked (%d rounds)", rounds)
	}
	var actions []string
	for _, h := range final.History {
		actions = append(actions, string(h.Action))
	}
	last := final.History[len(final.History)-1]
	switch rc.wantStatus {
	case canary.Promoted:
		if got := strings.Join(actions, ","); got != "advance,advance,promote" {
			t.Errorf("history %s, want advance,advance,promote", got)
		}
		// "stable" is on v2: requests without a key go there.
		if v := servedBy(t, d, body); v != "2" {
			t.Errorf("after the promotion: served by v%s, want v2", v)
		}
	default:
		if len(final.History) != 1 || last.FromStep != 0 || !strings.Contains(last.Reason, rc.wantReason) {
			t.Errorf("history %+v, want one rollback at step 0 for %q", final.History, rc.wantReason)
		}
		if v := servedBy(t, d, body); v != "1" {
			t.Errorf("after the rollback: served by v%s, want v1", v)
		}
	}
	if code, out := do(t, d.client(false), http.MethodGet, d.url(false, "/v1/models/lr/monitor"), nil); code != 200 || !strings.Contains(string(out), `"rollout":{"plan":`) {
		t.Errorf("GET /v1/models/lr/monitor: %d, want the rollout member\n%.2000s", code, out)
	}
	if v := metricValue(t, d, "predictd_rollout_status", "model", "lr", "status", string(rc.wantStatus)); v != 1 {
		t.Errorf("predictd_rollout_status{status=%s} = %v, want 1", rc.wantStatus, v)
	}
	r = predictd(t, "rollout", "status", "--url", d.url(false, ""), "--model", "lr")
	if r.code != 0 || !strings.Contains(r.stdout, string(rc.wantStatus)) || !strings.Contains(r.stdout, "CHECK") || !strings.Contains(r.stdout, "history:") {
		t.Errorf("predictd rollout status: exit %d, want the status, checks and history\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The load saw no failure.
	loadWait.Wait()
	if loadErr != nil {
		t.Errorf("loadtest: %v\n%s", loadErr, loadOut.String())
	}
	var sum struct {
		Requests    uint64            `json:"requests"`
		ErrorsTotal uint64            `json:"errors_total"`
		Errors      map[string]uint64 `json:"errors"`
	}
	b, err := os.ReadFile(loadJSON)
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("loadtest --json: %v\n%s", err, b)
	}
	if sum.ErrorsTotal != 0 || sum.Requests < 1000 {
		t.Errorf("loadtest: %d requests, %d failed (%v), want 0 failed of at least 1000", sum.Requests, sum.ErrorsTotal, sum.Errors)
	}
	t.Logf("%s: %d load requests, 0 failed; %d probe rounds (%d checked); history %s", rc.wantStatus, sum.Requests, rounds, checked, strings.Join(actions, ","))

	// The audit log verifies and shows the rollout; a copy with the
	// decisive entry's reason edited fails, naming that entry.
	r = predictd(t, "audit", "verify", "--log", auditLog)
	if r.code != 0 {
		t.Errorf("predictd audit verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = predictd(t, "audit", "show", "--log", auditLog, "--model", "lr")
	decisive := "rollback"
	want := []string{"rollout_start", "rollback"}
	if rc.wantStatus == canary.Promoted {
		decisive = "promote"
		want = []string{"rollout_start", "rollout_step", "promote"}
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("predictd audit show: no %s\n%s", w, r.stdout)
		}
	}
	logText, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	entries := strings.Split(string(logText), "\n")
	edited := -1
	for i, l := range entries {
		if strings.Contains(l, `"action":"`+decisive+`"`) {
			edited = i
			entries[i] = strings.Replace(l, `"reason":"`, `"reason":"(edited) `, 1)
			break
		}
	}
	if edited < 0 {
		t.Fatalf("audit log has no %s entry:\n%s", decisive, logText)
	}
	copyPath := filepath.Join(dir, "audit-edited.log")
	writeFile(t, copyPath, strings.Join(entries, "\n"))
	r = predictd(t, "audit", "verify", "--log", copyPath)
	if wantLine := fmt.Sprintf("line %d ", edited+1); r.code != 1 || !strings.Contains(r.stdout+r.stderr, wantLine) || !strings.Contains(r.stdout+r.stderr, "edited") {
		t.Errorf("audit verify of a copy with the %s entry (line %d) edited: exit %d, output %s%s; want exit 1 naming %q, edited", decisive, edited+1, r.code, r.stdout, r.stderr, wantLine)
	}
}

// servedBy is the version that answers body without a key.
func servedBy(t *testing.T, d *daemon, body []byte) string {
	t.Helper()
	code, out := do(t, d.client(false), http.MethodPost, d.url(false, "/v1/models/lr:predict"), body)
	var resp struct {
		Version string `json:"model_version"`
	}
	if err := json.Unmarshal(out, &resp); code != 200 || err != nil {
		t.Fatalf("predict: %d %s", code, out)
	}
	return resp.Version
}

// TestRolloutReplicasAutoE2E: two daemons sharing one redis-server, each
// under its own load, with the config's automatic rollouts. v2 appears in
// the repository: it does not take the traffic at once; one rollout
// starts (stored once, adopted by the other replica), goes through its
// steps on both replicas' decisions and is promoted; both end serving v2,
// and no load request failed.
func TestRolloutReplicasAutoE2E(t *testing.T) {
	repo, body := lrRepo(t)
	srv := redistest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.json")
	writeFile(t, cfg, `{"models": [{"name": "lr", "rollout": {"candidate": "auto", "steps": [20, 50, 100], "min_duration": "1s",
		"min_requests": 50, "key": "X-User-Id", "checks": {"max_p99_ratio": null, "max_prediction_distance": 0.3}}}]}`)
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, rolloutE2EToken)
	args := []string{"--repo", repo, "--config", cfg, "--state-redis", "redis://" + srv.Addr, "--poll-interval", "100ms",
		"--admin-token-file", tokenFile, "--rollout-interval", "100ms"}
	// Ready means the first rollout round ran: "stable" is set to v1.
	a, b := startServe(t, nil, args...), startServe(t, nil, args...)
	tab := fixture.ReadTable(t, fixture.Path("native", "logreg_binary.csv"))
	var lines []string
	for _, r := range tab.Rows[:50] {
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	bodies := filepath.Join(dir, "bodies.ndjson")
	writeFile(t, bodies, strings.Join(lines, "\n")+"\n")
	type loadRun struct {
		cmd  *exec.Cmd
		out  strings.Builder
		json string
		err  error
		wg   sync.WaitGroup
	}
	var loads []*loadRun
	for i, d := range []*daemon{a, b} {
		l := &loadRun{json: filepath.Join(dir, fmt.Sprintf("load-%d.json", i))}
		l.cmd = exec.Command(bin, "loadtest", "--url", d.url(false, "/v1/models/lr:predict"), "--bodies", bodies, "--rate", "300",
			"--duration", "9s", "--warmup", "0s", "--slo-p99", "10s", "--json", l.json, "--quiet")
		l.cmd.Stdout, l.cmd.Stderr = &l.out, &l.out
		if err := l.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		l.wg.Go(func() { l.err = l.cmd.Wait() })
		t.Cleanup(func() { l.cmd.Process.Kill(); l.wg.Wait() })
		loads = append(loads, l)
	}
	time.Sleep(500 * time.Millisecond)
	for _, d := range []*daemon{a, b} {
		if v := servedBy(t, d, body); v != "1" {
			t.Fatalf("before v2: served by v%s, want v1", v)
		}
	}
	importLRVersion(t, repo, "2")
	var final [2]rolloutE2EStatus
	for i, d := range []*daemon{a, b} {
		deadline := time.Now().Add(25 * time.Second)
		for {
			code, out := do(t, d.client(false), http.MethodGet, d.url(false, "/v1/models/lr"), nil)
			var st struct {
				Rollout *rolloutE2EStatus `json:"rollout"`
			}
			if err := json.Unmarshal(out, &st); code != 200 || err != nil {
				t.Fatalf("GET /v1/models/lr: %d %s", code, out)
			}
			if st.Rollout != nil && st.Rollout.Status.Done() {
				final[i] = *st.Rollout
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d: no finished rollout 25s after v2 appeared: %+v", i, st.Rollout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if final[0].Status != canary.Promoted || final[0].Generation != final[1].Generation || len(final[0].History) != 3 {
		t.Errorf("replica a ended %s gen %d (%+v), b %s gen %d: want both promoted at the same generation after 3 transitions",
			final[0].Status, final[0].Generation, final[0].History, final[1].Status, final[1].Generation)
	}
	for i, d := range []*daemon{a, b} {
		waitFor(t, "v2 served after the promotion", func() bool { return servedBy(t, d, body) == "2" })
		if n := metricValue(t, d, "predictd_rollout_status", "model", "lr", "status", "promoted"); n != 1 {
			t.Errorf("replica %d: predictd_rollout_status{promoted} = %v, want 1", i, n)
		}
	}
	for i, l := range loads {
		l.wg.Wait()
		var sum struct {
			Requests    uint64            `json:"requests"`
			ErrorsTotal uint64            `json:"errors_total"`
			Errors      map[string]uint64 `json:"errors"`
		}
		b, err := os.ReadFile(l.json)
		if l.err != nil || err != nil || json.Unmarshal(b, &sum) != nil {
			t.Fatalf("loadtest %d: %v %v\n%s%s", i, l.err, err, l.out.String(), b)
		}
		if sum.ErrorsTotal != 0 || sum.Requests < 1000 {
			t.Errorf("loadtest on replica %d: %d requests, %d failed (%v), want 0 failed of at least 1000", i, sum.Requests, sum.ErrorsTotal, sum.Errors)
		}
	}
}

// TestRolloutCLIE2E: predictd rollout's subcommands on the real binary,
// the plan from flags: start, pause, resume, abort, a refused promote, and
// the refusals of bad flags.
func TestRolloutCLIE2E(t *testing.T) {
	repo, _ := lrRepo(t)
	importLRVersion(t, repo, "2")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.json")
	writeFile(t, cfg, `{"models": [{"name": "lr", "labels": {"stable": 1}}]}`)
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, rolloutE2EToken)
	d := startServe(t, nil, "--repo", repo, "--config", cfg, "--poll-interval", "0", "--admin-token-file", tokenFile)
	base := []string{"--url", d.url(false, ""), "--model", "lr"}
	run := func(sub string, extra ...string) result {
		t.Helper()
		return predictd(t, append(append([]string{"rollout", sub}, base...), extra...)...)
	}
	if r := run("status"); r.code != 0 || !strings.Contains(r.stdout, "model lr: no rollout") {
		t.Errorf("status before a rollout: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run("start", "--token-file", tokenFile, "--candidate", "2", "--steps", "5,x"); r.code != 2 || !strings.Contains(r.stderr, `--steps "5,x"`) {
		t.Errorf("start --steps 5,x: exit %d, want 2 naming the flag\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run("start", "--candidate", "2"); r.code != 2 || !strings.Contains(r.stderr, "no admin token") {
		t.Errorf("start without a token: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := run("start", "--token-file", tokenFile, "--candidate", "2", "--steps", "5,50,100", "--min-duration", "1h", "--min-requests", "10", "--key", "X-User-Id")
	if r.code != 0 || !strings.Contains(r.stdout, "candidate v2 against stable v1: running, step 1 of 3 (share 5%)") {
		t.Fatalf("start: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, c := range []struct{ sub, want string }{{"pause", "paused"}, {"resume", "running"}, {"abort", "aborted"}} {
		if r := run(c.sub, "--token-file", tokenFile); r.code != 0 || !strings.Contains(r.stdout, c.want) || !strings.Contains(r.stdout, "history:") {
			t.Errorf("rollout %s: exit %d, want %s and the history\n%s%s", c.sub, r.code, c.want, r.stdout, r.stderr)
		}
	}
	if r := run("promote", "--token-file", tokenFile); r.code != 1 || !strings.Contains(r.stderr, "409") || !strings.Contains(r.stderr, "already aborted") {
		t.Errorf("promote an aborted rollout: exit %d, want 1 with the 409\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run("status", "--json"); r.code != 0 || !strings.Contains(r.stdout, `"status":"aborted"`) {
		t.Errorf("status --json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
