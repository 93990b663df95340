package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/internal/redistest"
	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/rollout/state"
)

// TestServeRollback: blue-green on the real binary. Three versions of lr,
// the policy Latest 1 (it wants v3), "stable" configured at v1 (so v1 is
// kept loaded), and --state-dir: requests without a version go to v1; the
// admin API loads v2 beside it and moves "stable" to v2, and they go to
// v2; after a restart (the config still says v1) the persisted label
// holds: v2, with v1 still loaded (held for the rollback); `predictd
// rollback` prints the switch and the next request goes to v1, with v2
// still loaded (held: neither the policy nor a label wants it). A wrong
// token and a model without a stable label are refused with the server's
// reason.
func TestServeRollback(t *testing.T) {
	repo, body := lrRepo(t)
	importLRVersion(t, repo, "2")
	importLRVersion(t, repo, "3")
	importLR(t, repo, "other")
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "serve.json")
	writeFile(t, cfg, `{"models": [{"name": "lr", "labels": {"stable": 1}}, {"name": "other"}]}`)
	const token = "rollback-admin-token-0123456789"
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, token+"\n")
	args := []string{"--repo", repo, "--config", cfg, "--state-dir", stateDir, "--poll-interval", "0", "--admin-token-file", tokenFile}

	served := func(d *daemon) string {
		t.Helper()
		code, out := do(t, d.client(false), "POST", d.url(false, "/v1/models/lr:predict"), body)
		var resp struct {
			ModelVersion string `json:"model_version"`
		}
		if err := json.Unmarshal(out, &resp); code != http.StatusOK || err != nil {
			t.Fatalf("predict without a version: %d %s (%v)", code, out, err)
		}
		return resp.ModelVersion
	}
	states := func(d *daemon) string {
		t.Helper()
		code, out := do(t, d.client(false), "GET", d.url(false, "/v1/models/lr"), nil)
		if code != http.StatusOK {
			t.Fatalf("GET /v1/models/lr: %d %s", code, out)
		}
		return string(out)
	}

	d := startServe(t, nil, args...)
	if got := served(d); got != "1" {
		t.Fatalf("before any label change: served by version %s, want 1 (the configured stable)", got)
	}
	wantLoaded := func(d *daemon, when string, versions ...string) {
		t.Helper()
		s := states(d)
		for _, v := range versions {
			if !strings.Contains(s, `"version":"`+v+`","state":"AVAILABLE"`) {
				t.Fatalf("%s: GET /v1/models/lr = %s, want version %s AVAILABLE", when, s, v)
			}
		}
	}
	wantLoaded(d, "at start", "3", "1")
	code, out := do(t, d.client(false), "POST", d.url(false, "/v1/admin/models/lr/versions/2/load"), nil, "Authorization", "Bearer "+token)
	if code != http.StatusOK {
		t.Fatalf("load version 2: %d %s", code, out)
	}
	if got := served(d); got != "1" {
		t.Fatalf("with v2 loaded beside v1: served by version %s, want 1 (stable)", got)
	}
	code, out = do(t, d.client(false), "POST", d.url(false, "/v1/admin/models/lr/labels/stable"), `{"version": 2}`, "Authorization", "Bearer "+token)
	if code != http.StatusOK {
		t.Fatalf("set stable to 2: %d %s", code, out)
	}
	if got := served(d); got != "2" {
		t.Fatalf("after stable -> 2: served by version %s, want 2", got)
	}

	// Restart: the persisted label wins over the configured one.
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-d.done
	if d.err != nil {
		t.Fatalf("predictd serve exited with %v after SIGTERM, want status 0", d.err)
	}
	d = startServe(t, nil, args...)
	if got := served(d); got != "2" {
		t.Fatalf("after a restart: served by version %s, want 2 (the persisted stable)", got)
	}
	wantLoaded(d, "after a restart", "3", "2", "1")

	rb := func(tokenFile, model string) result {
		return predictd(t, "rollback", "--url", "http://"+d.addr, "--model", model, "--token-file", tokenFile)
	}
	bad := filepath.Join(dir, "bad-token")
	writeFile(t, bad, "wrong-token-0123456789")
	if r := rb(bad, "lr"); r.code == 0 || !strings.Contains(r.stderr, "401") || !strings.Contains(r.stderr, "Authorization: Bearer") {
		t.Errorf("rollback with a wrong token: exit %d, stderr %q; want a failure quoting the server's 401", r.code, r.stderr)
	}
	if r := rb(tokenFile, "other"); r.code == 0 || !strings.Contains(r.stderr, "409") || !strings.Contains(r.stderr, `label "stable" is not set`) {
		t.Errorf("rollback of a model without a stable label: exit %d, stderr %q; want a 409 naming the label", r.code, r.stderr)
	}
	if got := served(d); got != "2" {
		t.Fatalf("after refused rollbacks: served by version %s, want 2", got)
	}

	r := rb(tokenFile, "lr")
	if r.code != 0 || r.stdout != "model lr: stable v2 -> v1\n" {
		t.Fatalf("predictd rollback: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "model lr: stable v2 -> v1\n")
	}
	if got := served(d); got != "1" {
		t.Fatalf("after predictd rollback: served by version %s, want 1", got)
	}
	wantLoaded(d, "after the rollback", "3", "2", "1")
	if _, err := os.Stat(filepath.Join(stateDir, "labels%2Flr.json")); err != nil {
		t.Errorf("the state folder has no record of lr's labels: %v", err)
	}
}

// importLR imports the lr fixture as model name in repo.
func importLR(t *testing.T, repo, name string) {
	t.Helper()
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", name)
}

// TestLabelStoreRedis: serve --state-redis's label store round-trips a
// model's labels and history through a real redis-server, reads nothing
// stored as nil Labels (the configured ones stay), and a write by another
// replica between its read and its write is refused with ErrConflict.
func TestLabelStoreRedis(t *testing.T) {
	srv := redistest.Start(t)
	st, err := openStateStore("", "redis://"+srv.Addr+"/1")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ls := labelStore{st}
	if got, err := ls.Load("lr"); err != nil || got.Labels != nil {
		t.Fatalf("Load of nothing stored = %+v, %v; want nil Labels, nil", got, err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want := manager.LabelState{Labels: map[string]int{"stable": 2}, History: []manager.LabelChange{{Label: "stable", From: 1, To: 2, At: at}}}
	if err := ls.Save("lr", want); err != nil {
		t.Fatal(err)
	}
	got, err := ls.Load("lr")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load after Save = %+v, %v; want %+v", got, err, want)
	}
	// Another replica writes between this one's read and write.
	ctx := context.Background()
	r, err := st.Get(ctx, "labels/lr")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CAS(ctx, "labels/lr", r.Gen, []byte(`{"labels":{"stable":3}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CAS(ctx, "labels/lr", r.Gen, []byte(`{"labels":{"stable":1}}`)); !errors.Is(err, state.ErrConflict) {
		t.Errorf("CAS at a stale generation = %v; want state.ErrConflict", err)
	}
	if _, err := openStateStore(t.TempDir(), "redis://"+srv.Addr); err == nil || !strings.Contains(err.Error(), "give one of them") {
		t.Errorf("openStateStore with both a folder and Redis = %v; want a refusal", err)
	}
}

// TestServeRollbackReplicas: two daemons share a real redis-server as
// --state-redis. "stable" moved on one reaches the other at its polls,
// and `predictd rollback` sent to the second reaches the first; each
// request without a version is served by the old or the new stable,
// never fails. The wait for a replica to catch up is bounded (a poll is
// 100ms; 30s allows for a loaded machine).
func TestServeRollbackReplicas(t *testing.T) {
	repo, body := lrRepo(t)
	importLRVersion(t, repo, "2")
	srv := redistest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.json")
	writeFile(t, cfg, `{"models": [{"name": "lr", "policy": {"latest": 2}}]}`)
	const token = "rollback-admin-token-0123456789"
	tokenFile := filepath.Join(dir, "token")
	writeFile(t, tokenFile, token)
	args := []string{"--repo", repo, "--config", cfg, "--state-redis", "redis://" + srv.Addr, "--poll-interval", "100ms", "--admin-token-file", tokenFile}
	a, b := startServe(t, nil, args...), startServe(t, nil, args...)

	served := func(d *daemon) string {
		t.Helper()
		code, out := do(t, d.client(false), "POST", d.url(false, "/v1/models/lr:predict"), body)
		var resp struct {
			ModelVersion string `json:"model_version"`
		}
		if err := json.Unmarshal(out, &resp); code != http.StatusOK || err != nil {
			t.Fatalf("predict without a version: %d %s (%v)", code, out, err)
		}
		return resp.ModelVersion
	}
	// await polls d until it serves version want; before that it must
	// serve was.
	await := func(d *daemon, name, was, want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := served(d)
			if got == want {
				return
			}
			if got != was {
				t.Fatalf("replica %s served by version %s while catching up from %s to %s", name, got, was, want)
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s still serves version %s 30s after stable moved to %s", name, got, want)
			}
			time.Sleep(20 * time.Millisecond) // the replica polls every 100ms; nothing to wait on
		}
	}
	if got := served(b); got != "2" {
		t.Fatalf("before any label: replica b served by version %s, want 2 (the highest)", got)
	}
	code, out := do(t, a.client(false), "POST", a.url(false, "/v1/admin/models/lr/labels/stable"), `{"version": 1}`, "Authorization", "Bearer "+token)
	if code != http.StatusOK {
		t.Fatalf("set stable to 1 on replica a: %d %s", code, out)
	}
	if got := served(a); got != "1" {
		t.Fatalf("replica a after stable -> 1: served by version %s, want 1", got)
	}
	await(b, "b", "2", "1")

	// Stable moves to 2 on b, then b rolls back to 1; a follows.
	code, out = do(t, b.client(false), "POST", b.url(false, "/v1/admin/models/lr/labels/stable"), `{"version": 2}`, "Authorization", "Bearer "+token)
	if code != http.StatusOK {
		t.Fatalf("set stable to 2 on replica b: %d %s", code, out)
	}
	await(a, "a", "1", "2")
	r := predictd(t, "rollback", "--url", "http://"+b.addr, "--model", "lr", "--token-file", tokenFile)
	if r.code != 0 || r.stdout != "model lr: stable v2 -> v1\n" {
		t.Fatalf("predictd rollback on replica b: exit %d, stdout %q, stderr %q; want 0 and %q", r.code, r.stdout, r.stderr, "model lr: stable v2 -> v1\n")
	}
	if got := served(b); got != "1" {
		t.Fatalf("replica b after the rollback: served by version %s, want 1", got)
	}
	await(a, "a", "2", "1")
}

func importLRVersion(t *testing.T, repo, version string) {
	t.Helper()
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", "lr", "--version", version)
}
