package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/rollout/audit"
)

// TestServeAuditTrail: the real binary with --audit-log and a token file
// naming alice and bob. The first load, a version the poll finds and
// the one it replaces, an admin load, label and unload, a wrong token, a
// SIGHUP and a version that fails to load each append one entry (the
// admin load two: alice's request and the daemon's load), with the right
// actor, before the change. After the stop `predictd audit verify`
// passes, also with the anchor the daemon published, and `show` lists
// the actors; a copy with one reason edited fails verify naming that
// entry's line and seq, and the daemon refuses to start on it (exit 2,
// naming the file and line); a restart on the intact log continues its
// chain.
func TestServeAuditTrail(t *testing.T) {
	repo, _ := lrRepo(t)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "audit.log")
	const alice, bob = "alice-token-0123456789abcdef", "bob-token-0123456789abcdef0"
	tokenFile := filepath.Join(dir, "tokens")
	writeFile(t, tokenFile, "# predictd admin tokens\nalice "+alice+"\n\nbob\t"+bob+"\n")
	args := []string{"--repo", repo, "--poll-interval", "100ms", "--admin-token-file", tokenFile, "--audit-log", logPath} // --audit-log last

	d := startServe(t, nil, args...)
	c := d.client(false)
	admin := func(tok, path, body string, want int) {
		t.Helper()
		var b any
		if body != "" {
			b = body
		}
		code, out := do(t, c, "POST", d.url(false, path), b, "Authorization", "Bearer "+tok)
		if code != want {
			t.Fatalf("POST %s %s: %d %s, want %d", path, body, code, out, want)
		}
	}
	states := func() map[string]string { return modelStatus(t, d, "lr") }
	waitState := func(what string, want map[string]string) {
		t.Helper()
		waitFor(t, what, func() bool {
			got := states()
			for v, s := range want {
				if got[v] != s {
					return false
				}
			}
			return true
		})
	}

	// The poll finds v2: it loads, v1 retires.
	importLRVersion(t, repo, "2")
	waitState("v2 loaded by the poll, v1 retired", map[string]string{"2": "AVAILABLE", "1": "END"})
	admin(alice, "/v1/admin/models/lr/versions/1/load", "", http.StatusOK)
	admin(bob, "/v1/admin/models/lr/labels/stable", `{"version": 1}`, http.StatusOK)
	admin(alice, "/v1/admin/models/lr/versions/2/unload", "", http.StatusOK)
	admin("wrong-token-0123456789abcdef", "/v1/admin/reload", "", http.StatusUnauthorized)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the SIGHUP reload", func() bool { return strings.Contains(d.log.String(), "SIGHUP: repository reloaded") })
	// v3's payload is cut short (before it enters the repository, in one
	// rename): its load fails once, v1 serves on.
	staging := t.TempDir()
	importLRVersion(t, staging, "3")
	payload := filepath.Join(staging, "lr", "3", model.PayloadFile)
	data, err := os.ReadFile(payload)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, payload, string(data[:len(data)/2]))
	if err := os.Rename(filepath.Join(staging, "lr", "3"), filepath.Join(repo, "lr", "3")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "v3's load failure", func() bool {
		return strings.Contains(d.log.String(), "model lr version 3: load failed")
	})

	// The anchor the daemon publishes.
	code, out := do(t, c, "GET", d.url(false, "/v1/admin/audit/head"), nil, "Authorization", "Bearer "+bob)
	var head struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(out, &head); code != http.StatusOK || err != nil || head.Seq == 0 {
		t.Fatalf("GET /v1/admin/audit/head: %d %s (%v)", code, out, err)
	}
	if got := metricValue(t, d, "predictd_audit_entries"); got != float64(head.Seq) {
		t.Fatalf("predictd_audit_entries = %v, want the head seq %d", got, head.Seq)
	}
	d.stop(defaultStop, "with an audit log")
	if log := d.log.String(); strings.Contains(log, alice) || strings.Contains(log, bob) {
		t.Fatalf("the daemon's log holds a token:\n%s", log)
	}

	// What the log says, in order; v3's failure, which the poll finds
	// at its own time, is counted apart.
	type row struct{ actor, action, model, versions string }
	var got []row
	failed := 0
	entries := readAuditLog(t, logPath)
	for _, e := range entries {
		if e.Action == audit.ActionLoadFailed {
			failed++
			if e.Actor != audit.ActorDaemon || e.Model != "lr" || audit.FormatVersions(e.Versions) != "3" || !strings.Contains(e.Reason, "truncated or corrupt") {
				t.Errorf("load_failed entry %+v, want daemon, lr, [3], the reason naming the damage", e)
			}
			continue
		}
		got = append(got, row{e.Actor, string(e.Action), e.Model, audit.FormatVersions(e.Versions)})
	}
	want := []row{
		{"daemon", "open", "", "-"},
		{"daemon", "load", "lr", "1"},
		{"daemon", "load", "lr", "2"},
		{"daemon", "unload", "lr", "1"},
		{"alice", "load", "lr", "1"},
		{"daemon", "load", "lr", "1"},
		{"bob", "label", "lr", "0 -> 1"},
		{"alice", "unload", "lr", "2"},
		{"unauthenticated", "auth_failure", "", "-"},
		{"daemon", "config_reload", "", "-"},
	}
	if r := entries[0].Reason; !strings.HasPrefix(r, "predictd ") || !strings.Contains(r, " pid ") {
		t.Errorf("open entry's reason %q, want the predictd version and pid", r)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || failed != 1 {
		t.Fatalf("audit log entries (load_failed apart: %d):\n%v\nwant\n%v and one load_failed", failed, got, want)
	}
	if r := predictd(t, "audit", "verify", "--log", logPath); r.code != 0 || !strings.HasPrefix(r.stdout, fmt.Sprintf("ok: %d entries", len(entries))) {
		t.Fatalf("audit verify: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := predictd(t, "audit", "verify", "--log", logPath, "--anchor-seq", strconv.FormatInt(head.Seq, 10), "--anchor-hash", head.Hash); r.code != 0 {
		t.Fatalf("audit verify with the daemon's anchor: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := predictd(t, "audit", "show", "--log", logPath)
	for _, w := range []string{"alice", "bob", "unauthenticated", "load_failed", "config_reload"} {
		if r.code != 0 || !strings.Contains(r.stdout, w) {
			t.Fatalf("audit show: exit %d, output lacks %q:\n%s%s", r.code, w, r.stdout, r.stderr)
		}
	}

	// An edited copy: bob's label entry with another reason.
	lines := bytes.SplitAfter(must(os.ReadFile(logPath)), []byte("\n"))
	labelLine := 7 // 1-based, as in want
	if !bytes.Contains(lines[labelLine-1], []byte(`"action":"label"`)) {
		t.Fatalf("line %d is not the label entry: %s", labelLine, lines[labelLine-1])
	}
	lines[labelLine-1] = bytes.Replace(lines[labelLine-1], []byte(`"reason":"label stable"`), []byte(`"reason":"label stab1e"`), 1)
	edited := filepath.Join(dir, "edited.log")
	writeFile(t, edited, string(bytes.Join(lines, nil)))
	r = predictd(t, "audit", "verify", "--log", edited)
	if wantErr := fmt.Sprintf("line %d (seq %d): edited", labelLine, labelLine); r.code != 1 || !strings.Contains(r.stderr+r.stdout, wantErr) {
		t.Fatalf("audit verify of the edited copy: exit %d\n%s%s\nwant exit 1 naming %q", r.code, r.stdout, r.stderr, wantErr)
	}
	// The daemon refuses to extend it.
	r = predictd(t, append([]string{"serve", "--listen", "127.0.0.1:0"}, replaceArg(args, "--audit-log", edited)...)...)
	if r.code != 2 || !strings.Contains(r.stderr, edited) || !strings.Contains(r.stderr, fmt.Sprintf("line %d", labelLine)) {
		t.Fatalf("serve on the edited log: exit %d\n%s\nwant exit 2 naming %s and line %d", r.code, r.stderr, edited, labelLine)
	}

	// A restart on the intact log (named by the environment this time)
	// continues the chain.
	d = startServe(t, []string{"PREDICTD_AUDIT_LOG=" + logPath}, args[:len(args)-2]...)
	d.stop(defaultStop, "after the restart")
	again := readAuditLog(t, logPath)
	if len(again) <= len(entries) || again[len(entries)].Action != audit.ActionOpen || again[len(entries)].Prev != entries[len(entries)-1].Hash {
		t.Fatalf("after a restart: %d entries (was %d), want an open entry chained to the old head %s next", len(again), len(entries), entries[len(entries)-1].Hash)
	}
	if r := predictd(t, "audit", "verify", "--log", logPath, "--anchor-seq", strconv.FormatInt(head.Seq, 10), "--anchor-hash", head.Hash); r.code != 0 {
		t.Fatalf("audit verify after the restart: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// defaultStop bounds a SIGTERM of an idle daemon.
const defaultStop = 30 * time.Second

func readAuditLog(t *testing.T, path string) []audit.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var es []audit.Entry
	if err := audit.Scan(f, func(e audit.Entry, _ []byte) error { es = append(es, e); return nil }); err != nil {
		t.Fatalf("scan %s: %v", path, err)
	}
	return es
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// replaceArg returns args with the value after flag replaced by v.
func replaceArg(args []string, flag, v string) []string {
	out := append([]string(nil), args...)
	for i := range out {
		if out[i] == flag && i+1 < len(out) {
			out[i+1] = v
		}
	}
	return out
}

func TestParseAdminTokens(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    string // fmt of the map, or the error's text
		wantErr bool
	}{
		{"0123456789abcdef\n", "map[admin:0123456789abcdef]", false},
		{"  0123456789abcdef  ", "map[admin:0123456789abcdef]", false},
		{"# tokens\nalice 0123456789abcdef\n\nbob\t0123456789abcdeg\n", "map[alice:0123456789abcdef bob:0123456789abcdeg]", false},
		{"alice:0123456789abcdef\n", `line 1: looks like NAME:TOKEN; write NAME TOKEN`, true},
		{"0123456789abcdef\n0123456789abcdeg\n", `line 1: 1 fields`, true},
		{"alice 0123456789abcdef extra\n", `line 1: 3 fields`, true},
		{"alice short\n", `line 1: the admin token of "alice" is 5 bytes`, true},
		{"alice 0123456789abcdef\nalice 0123456789abcdeg\n", `line 2: name "alice" is given twice`, true},
		{"alice 0123456789abcdef\nbob 0123456789abcdef\n", `line 2: "bob" has the same token as "alice"`, true},
		{"daemon 0123456789abcdef\n", `line 1: token name "daemon" is reserved`, true},
		{"# nothing\n\n", `no token`, true},
	} {
		got, err := parseAdminTokens([]byte(c.in), "tokens")
		switch {
		case c.wantErr && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("parseAdminTokens(%q) = %v, %v; want an error containing %q", c.in, got, err, c.want)
		case !c.wantErr && (err != nil || fmt.Sprint(got) != c.want):
			t.Errorf("parseAdminTokens(%q) = %v, %v; want %s", c.in, got, err, c.want)
		case err != nil && strings.Contains(err.Error(), "0123456789abcde"):
			t.Errorf("parseAdminTokens(%q): error %q quotes a token", c.in, err)
		}
	}
}

// TestAuditEvents: the manager's events become the daemon's entries
// (load, load_failed with the error cut at maxAuditReason, unload with
// its reason), a SIGHUP's config_reload; with the log closed each append
// fails, so the manager vetoes the change and the SIGHUP reload is not
// run.
func TestAuditEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := audit.Open(path, audit.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	d := &wiring{audit: l}
	long := strings.Repeat("x", 2*maxAuditReason)
	for _, e := range []manager.Event{
		{Kind: manager.EventLoad, Model: "m", Version: 3},
		{Kind: manager.EventLoadFailed, Model: "m", Version: 4, Err: errors.New("m/4/model.bin.zst: truncated")},
		{Kind: manager.EventLoadFailed, Model: "m", Version: 5, Err: errors.New(long)},
		{Kind: manager.EventUnload, Model: "m", Version: 2, Reason: "no longer wanted"},
	} {
		if err := d.auditEvent(e); err != nil {
			t.Fatalf("auditEvent(%+v): %v", e, err)
		}
	}
	if err := d.auditReload(); err != nil {
		t.Fatalf("auditReload: %v", err)
	}
	var got []string
	for _, e := range readAuditLog(t, path)[1:] {
		got = append(got, fmt.Sprintf("%s %s %s %s %.40s (%d)", e.Actor, e.Action, e.Model, audit.FormatVersions(e.Versions), e.Reason, len(e.Reason)))
	}
	want := []string{
		"daemon load m 3 loaded and warmed, about to serve (33)",
		"daemon load_failed m 4 m/4/model.bin.zst: truncated (28)",
		fmt.Sprintf("daemon load_failed m 5 %.40s (%d)", long, maxAuditReason+3),
		"daemon unload m 2 no longer wanted (16)",
		"daemon config_reload  - SIGHUP (6)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	l.Close()
	if err := d.auditEvent(manager.Event{Kind: manager.EventLoad, Model: "m", Version: 6}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("auditEvent with the log closed: %v, want audit.ErrClosed (the manager then vetoes the load)", err)
	}
	if err := d.auditReload(); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("auditReload with the log closed: %v, want audit.ErrClosed (the SIGHUP reload is then not run)", err)
	}
	if err := (&wiring{}).auditReload(); err != nil {
		t.Fatalf("auditReload without an audit log: %v, want nil", err)
	}
}

// TestAdminTokenClient: a client's token file (predictd rollback,
// rollout) holds one token, bare or named; more are refused.
func TestAdminTokenClient(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ in, want, wantErr string }{
		{"0123456789abcdef\n", "0123456789abcdef", ""},
		{"# mine\nalice 0123456789abcdef\n", "0123456789abcdef", ""},
		{"alice 0123456789abcdef\nbob 0123456789abcdeg\n", "", "holds 2 tokens"},
		{"short", "", "is 5 bytes"},
	} {
		path := filepath.Join(dir, "token")
		writeFile(t, path, c.in)
		got, err := adminToken(path)
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) || c.wantErr == "" && (err != nil || got != c.want) {
			t.Errorf("adminToken of a file %q = %q, %v; want %q or an error containing %q", c.in, got, err, c.want, c.wantErr)
		}
	}
}
