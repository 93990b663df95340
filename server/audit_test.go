package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/rollout/audit"
)

const (
	aliceToken = "alice-token-0123456789"
	bobToken   = "bob-token-0123456789ab"
	adminTok   = "admin-token-0123456789"
)

// auditServer serves "lr" versions 1 and 2 (the manager's default policy
// loads 2) with an audit log, the named tokens alice and bob, and
// AdminToken (named "admin").
func auditServer(t *testing.T) (*Server, *audit.Log) {
	t.Helper()
	repo := t.TempDir()
	imp, err := importer.ImportFile("native", fixture.Path("native", "logreg_binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 2; v++ {
		if _, _, err := model.Write(repo, "lr", imp, model.WriteOptions{Version: v}); err != nil {
			t.Fatal(err)
		}
	}
	log, err := audit.Open(filepath.Join(t.TempDir(), "audit.log"), audit.Options{NoSync: true, OpenReason: "server test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	s := serveRepo(t, Options{Audit: log, AdminToken: adminTok, AdminTokens: map[string]string{"alice": aliceToken, "bob": bobToken}}, repo)
	return s, log
}

// entries reads the log's entries after the open entry, as
// "actor action model versions reason" lines.
func entries(t *testing.T, l *audit.Log) []string {
	t.Helper()
	f, err := os.Open(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	if err := audit.Scan(f, func(e audit.Entry, _ []byte) error {
		if e.Action != audit.ActionOpen {
			out = append(out, fmt.Sprintf("%s %s %s %s %s", e.Actor, e.Action, e.Model, audit.FormatVersions(e.Versions), e.Reason))
		}
		return nil
	}); err != nil {
		t.Fatalf("Scan %s: %v", l.Path(), err)
	}
	return out
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestAuditAdminActions(t *testing.T) {
	s, l := auditServer(t)
	// A rollback with nowhere to go (stable unset) changes nothing: no
	// entry.
	if code, body, _ := call(s, "POST", "/v1/admin/models/lr/rollback", "", bearer(aliceToken)...); code == 200 || !strings.Contains(body, `label \"stable\" is not set`) {
		t.Fatalf("rollback without stable: %d %s, want an error saying stable is not set", code, body)
	}
	if got := entries(t, l); len(got) != 0 {
		t.Fatalf("a refused rollback appended %q", got)
	}
	for _, c := range []struct {
		tok, uri, body string
		want           string // the entry appended
	}{
		{aliceToken, "/v1/admin/models/lr/versions/1/load", "", "alice load lr 1 admin API: load"},
		{bobToken, "/v1/admin/models/lr/labels/stable", `{"version": 1}`, "bob label lr 0 -> 1 label stable"},
		{bobToken, "/v1/admin/models/lr/labels/stable", `{"version": 2}`, "bob label lr 1 -> 2 label stable"},
		{aliceToken, "/v1/admin/models/lr/rollback", "", `alice rollback lr 2 -> 1 admin API: rollback of label "stable"`},
		{aliceToken, "/v1/admin/models/lr/versions/1/unload", "", "alice unload lr 1 admin API: unload"},
		{adminTok, "/v1/admin/reload", "", "admin config_reload  - admin API: reload"},
	} {
		before := len(entries(t, l))
		code, body, _ := call(s, "POST", c.uri, c.body, bearer(c.tok)...)
		if code != 200 {
			t.Fatalf("POST %s %s: %d %s, want 200", c.uri, c.body, code, body)
		}
		got := entries(t, l)
		if len(got) != before+1 || got[len(got)-1] != c.want {
			t.Fatalf("POST %s %s: entries after %q, want one more: %q", c.uri, c.body, got, c.want)
		}
	}
	// No token ever reaches the log.
	data, _ := os.ReadFile(l.Path())
	for _, tok := range []string{aliceToken, bobToken, adminTok} {
		if bytes.Contains(data, []byte(tok)) {
			t.Fatalf("the audit log holds the token %q:\n%s", tok, data)
		}
	}
	// A call that changes nothing (no such model, no earlier stable to
	// roll back to) writes no entry.
	before := len(entries(t, l))
	for _, uri := range []string{"/v1/admin/models/nope/versions/1/unload", "/v1/admin/models/nope/rollback", "/v1/admin/models/nope/labels/x"} {
		if code, body, _ := call(s, "POST", uri, `{"version": 1}`, bearer(aliceToken)...); code == 200 {
			t.Fatalf("POST %s: %d %s, want an error", uri, code, body)
		}
	}
	if got := entries(t, l); len(got) != before {
		t.Fatalf("calls that change nothing appended %q", got[before:])
	}
}

// TestAuditRefusesWhenLogFails: with the log closed (every append fails)
// each admin change is answered 503 naming the log and is not made.
func TestAuditRefusesWhenLogFails(t *testing.T) {
	s, l := auditServer(t)
	if code, body, _ := call(s, "POST", "/v1/admin/models/lr/labels/stable", `{"version": 2}`, bearer(aliceToken)...); code != 200 {
		t.Fatalf("set stable: %d %s", code, body)
	}
	if code, body, _ := call(s, "POST", "/v1/admin/models/lr/versions/1/load", "", bearer(aliceToken)...); code != 200 {
		t.Fatalf("load v1: %d %s", code, body)
	}
	if code, body, _ := call(s, "POST", "/v1/admin/models/lr/labels/stable", `{"version": 1}`, bearer(aliceToken)...); code != 200 {
		t.Fatalf("set stable: %d %s", code, body)
	}
	status := func() string {
		st, err := s.models.Status("lr")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(st)
		return string(b)
	}
	was := status()
	l.Close()
	for _, c := range []struct{ uri, body string }{
		{"/v1/admin/models/lr/versions/1/unload", ""},
		{"/v1/admin/models/lr/labels/stable", `{"version": 2}`},
		{"/v1/admin/models/lr/labels/canary", `{"version": 2}`},
		{"/v1/admin/models/lr/rollback", ""},
		{"/v1/admin/reload", ""},
	} {
		code, body, _ := call(s, "POST", c.uri, c.body, bearer(bobToken)...)
		if code != fasthttp.StatusServiceUnavailable || !strings.Contains(body, l.Path()) || !strings.Contains(body, "the change was not made") {
			t.Errorf("POST %s %s with the audit log closed: %d %s, want 503 naming %s", c.uri, c.body, code, body, l.Path())
		}
		if now := status(); now != was {
			t.Fatalf("POST %s %s with the audit log closed changed the model:\n%s\nwas\n%s", c.uri, c.body, now, was)
		}
	}
	// The unload refused leaves the version serving.
	if code, body, _ := call(s, "POST", "/v1/admin/models/lr/versions/2/unload", "", bearer(bobToken)...); code != 503 {
		t.Fatalf("unload v2: %d %s, want 503", code, body)
	}
	if _, _, err := s.models.Acquire("lr", 2, ""); err != nil {
		t.Fatalf("v2 after a refused unload: %v, want it still serving", err)
	}
}

// callFrom is call with the request coming from addr.
func callFrom(s *Server, addr, method, uri string, header ...string) (int, string) {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		panic(err)
	}
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, ta, nil)
	s.Handle(ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Body())
}

func TestAuditAuthFailures(t *testing.T) {
	s, l := auditServer(t)
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	s.authFail.now = func() time.Time { return now }
	fail := func(addr string, header ...string) {
		t.Helper()
		if code, body := callFrom(s, addr, "POST", "/v1/admin/reload", header...); code != 401 {
			t.Fatalf("bad token from %s: %d %s, want 401", addr, code, body)
		}
	}
	wrong := bearer("not-a-token-at-all-0000")
	fail("10.0.0.1:1000", wrong...)
	for i := range 4 {
		fail(fmt.Sprintf("10.0.0.1:%d", 1001+i)) // no header at all, another port
	}
	want := []string{`unauthenticated auth_failure  - remote 10.0.0.1:1000 POST "/v1/admin/reload"`}
	if got := entries(t, l); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after 5 failures from one address in a window: entries %q, want %q", got, want)
	}
	now = now.Add(authFailWindow)
	fail("10.0.0.1:2000", wrong...)
	want = append(want, `unauthenticated auth_failure  - remote 10.0.0.1:2000 POST "/v1/admin/reload"; 4 more failures from 10.0.0.1 since its last entry, not recorded (rate limit)`)
	if got := entries(t, l); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after the window: entries %q, want %q", got, want)
	}
	// Many addresses at once: at most authFailBurst entries a window,
	// the rest counted in the next one.
	now = now.Add(authFailWindow)
	for i := range authFailBurst + 5 {
		fail(fmt.Sprintf("10.1.0.%d:80", i), wrong...)
	}
	if got := len(entries(t, l)); got != 2+authFailBurst {
		t.Fatalf("after %d addresses in one window: %d entries, want %d", authFailBurst+5, got, 2+authFailBurst)
	}
	now = now.Add(authFailWindow)
	fail("10.2.0.1:80", wrong...)
	got := entries(t, l)
	if last := got[len(got)-1]; !strings.HasSuffix(last, "; 5 failures from other addresses not recorded (rate limit)") {
		t.Fatalf("the entry after the burst: %q, want it to count the 5 not recorded", last)
	}
	if n := s.authFail.total.Load(); n != 1+4+1+authFailBurst+5+1 {
		t.Fatalf("predictd_admin_auth_failures_total = %d, want every failure counted: %d", n, 1+4+1+authFailBurst+5+1)
	}
	_, metrics, _ := call(s, "GET", "/metrics", "")
	if want := fmt.Sprintf("\npredictd_admin_auth_failures_total %d\n", 1+4+1+authFailBurst+5+1); !strings.Contains(metrics, want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, metrics)
	}
	// The right token from a failing address passes at once.
	if code, body := callFrom(s, "10.0.0.1:3000", "POST", "/v1/admin/reload", bearer(aliceToken)...); code != 200 {
		t.Fatalf("alice after failures from her address: %d %s", code, body)
	}
}

func TestAuditHead(t *testing.T) {
	s, l := auditServer(t)
	call(s, "POST", "/v1/admin/reload", "", bearer(aliceToken)...)
	code, body, _ := call(s, "GET", "/v1/admin/audit/head", "", bearer(bobToken)...)
	seq, hash := l.Head()
	var got struct {
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || got.Seq != seq || got.Hash != hash || seq != 2 {
		t.Fatalf("GET /v1/admin/audit/head: %d %s, want 200 with seq %d (2: open, reload) hash %s", code, body, seq, hash)
	}
	_, metrics, _ := call(s, "GET", "/metrics", "")
	if !strings.Contains(metrics, "\npredictd_audit_entries 2\n") {
		t.Fatalf("/metrics lacks predictd_audit_entries 2:\n%s", metrics)
	}
	if code, body, _ := call(s, "GET", "/v1/admin/audit/head", ""); code != 401 {
		t.Fatalf("GET /v1/admin/audit/head without a token: %d %s, want 401", code, body)
	}
	// Without a log: 404 saying how to turn it on.
	s2 := newTestServer(t, Options{AdminToken: adminTok})
	if code, body, _ := call(s2, "GET", "/v1/admin/audit/head", "", bearer(adminTok)...); code != 404 || !strings.Contains(body, "--audit-log") {
		t.Fatalf("GET /v1/admin/audit/head without an audit log: %d %s, want 404 naming --audit-log", code, body)
	}
}

func TestAdminTokensChecked(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{AdminTokens: map[string]string{"daemon": aliceToken}}, `"daemon" is reserved`},
		{Options{AdminTokens: map[string]string{"unauthenticated": aliceToken}}, `"unauthenticated" is reserved`},
		{Options{AdminTokens: map[string]string{"al ice": aliceToken}}, `token name "al ice"`},
		{Options{AdminTokens: map[string]string{"alice": ""}}, `AdminTokens["alice"] is empty`},
		{Options{AdminTokens: map[string]string{"alice": aliceToken, "bob": aliceToken}}, `"alice" and "bob" have the same token`},
		{Options{AdminToken: adminTok, AdminTokens: map[string]string{"admin": aliceToken}}, `AdminTokens has that name too`},
	} {
		if _, err := New(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(AdminToken %q, AdminTokens %v): %v, want an error containing %q", c.opts.AdminToken, c.opts.AdminTokens, err, c.want)
		}
	}
}
