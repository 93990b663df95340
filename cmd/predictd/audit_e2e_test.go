package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/rollout/audit"
)

// writeAuditLog writes a small audit log with the package, as the daemon
// would, and returns its path and head.
func writeAuditLog(t *testing.T) (path string, seq int64, hash string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "audit.log")
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	l, err := audit.Open(path, audit.Options{Now: func() time.Time { now = now.Add(time.Second); return now }, OpenReason: "predictd e2e"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []audit.Entry{
		{Actor: "alice", Action: audit.ActionLoad, Model: "churn", Versions: []int64{3}},
		{Actor: "bob", Action: audit.ActionRolloutStart, Model: "churn", Versions: []int64{3, 4}, Reason: "plan 5%,50%,100%"},
		{Actor: audit.ActorDaemon, Action: audit.ActionRollback, Model: "churn", Versions: []int64{4, 3}, Reason: "p99 1.8x stable"},
		{Actor: audit.ActorUnauthenticated, Action: audit.ActionAuthFailure, Reason: "remote 127.0.0.1:4321"},
		{Actor: "alice", Action: audit.ActionLoad, Model: "fraud", Versions: []int64{1}},
	} {
		if _, err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	seq, hash = l.Head()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path, seq, hash
}

func TestAuditVerify(t *testing.T) {
	path, seq, hash := writeAuditLog(t)
	want := fmt.Sprintf("ok: 6 entries, head seq %d hash %s\n", seq, hash)
	if got := mustRun(t, "audit", "verify", "--log", path); got != want {
		t.Errorf("audit verify: %q, want %q", got, want)
	}
	if got := mustRun(t, "audit", "verify", "--log", path, "--anchor-seq", fmt.Sprint(seq), "--anchor-hash", hash); got != want {
		t.Errorf("audit verify with the head as anchor: %q, want %q", got, want)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	damaged := func(lines []string) string {
		p := filepath.Join(t.TempDir(), "copy.log")
		if err := os.WriteFile(p, []byte(strings.Join(lines, "")), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	edited := append([]string(nil), lines...)
	edited[2] = strings.Replace(edited[2], `"actor":"bob"`, `"actor":"eve"`, 1)
	for _, tc := range []struct {
		name   string
		args   []string
		stdout []string
		stderr string
	}{
		{"edited", []string{"--log", damaged(edited)}, []string{"line 3 (seq 3): edited", `line 3: "{\"seq\":3,`, `\"actor\":\"eve\"`}, "the first bad entry is line 3 (seq 3): edited"},
		{"removed", []string{"--log", damaged(append(append([]string(nil), lines[:3]...), lines[4:]...))}, []string{"line 4 (seq 5): removed"}, "line 4 (seq 5): removed"},
		{"swapped", []string{"--log", damaged([]string{lines[0], lines[2], lines[1], lines[3], lines[4], lines[5]})}, []string{"line 2 (seq 3): reordered"}, "line 2 (seq 3)"},
		{"tail cut, anchored", []string{"--log", damaged(lines[:4]), "--anchor-seq", fmt.Sprint(seq), "--anchor-hash", hash}, []string{"truncated", "the anchor is seq 6"}, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := predictd(t, append([]string{"audit", "verify"}, tc.args...)...)
			if r.code != 1 {
				t.Errorf("audit verify %s: exit %d, want 1\n%s%s", tc.args, r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("audit verify %s: stdout %q, want it to contain %q", tc.args, r.stdout, w)
				}
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("audit verify %s: stderr %q, want it to contain %q", tc.args, r.stderr, tc.stderr)
			}
		})
	}
	// Without the anchor the cut tail cannot be seen (docs/audit.md).
	if got := mustRun(t, "audit", "verify", "--log", damaged(lines[:4])); !strings.HasPrefix(got, "ok: 4 entries") {
		t.Errorf("audit verify of a log cut at its tail, no anchor: %q, want ok: 4 entries", got)
	}
	for _, args := range [][]string{
		{"audit", "verify"},
		{"audit", "verify", "--log", filepath.Join(t.TempDir(), "missing.log")},
		{"audit", "verify", "--log", path, "--anchor-seq", "3"},
		{"audit"},
		{"audit", "check"},
	} {
		if r := predictd(t, args...); r.code != 2 {
			t.Errorf("predictd %s: exit %d, want 2 (no check made)\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

func TestAuditShow(t *testing.T) {
	path, _, _ := writeAuditLog(t)
	out := mustRun(t, "audit", "show", "--log", path)
	want := `SEQ  TIME                      ACTOR            ACTION         MODEL  VERSIONS  REASON
1    2026-12-04T10:00:01.000Z  daemon           open           -      -         predictd e2e
2    2026-12-04T10:00:02.000Z  alice            load           churn  3         -
3    2026-12-04T10:00:03.000Z  bob              rollout_start  churn  3 -> 4    plan 5%,50%,100%
4    2026-12-04T10:00:04.000Z  daemon           rollback       churn  4 -> 3    p99 1.8x stable
5    2026-12-04T10:00:05.000Z  unauthenticated  auth_failure   -      -         remote 127.0.0.1:4321
6    2026-12-04T10:00:06.000Z  alice            load           fraud  1         -
`
	if out != want {
		t.Errorf("audit show:\n%s\nwant\n%s", out, want)
	}
	for _, tc := range []struct {
		args []string
		seqs string
	}{
		{[]string{"--model", "churn"}, "2 3 4"},
		{[]string{"--action", "load"}, "2 6"},
		{[]string{"--model", "churn", "--action", "load"}, "2"},
		{[]string{"--actor", "daemon"}, "1 4"},
	} {
		out := mustRun(t, append([]string{"audit", "show", "--log", path}, tc.args...)...)
		var seqs []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			seqs = append(seqs, strings.Fields(l)[0])
		}
		if got := strings.Join(seqs, " "); got != tc.seqs {
			t.Errorf("audit show %s: seqs %q, want %q\n%s", tc.args, got, tc.seqs, out)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, "audit", "show", "--log", path, "--json"); got != string(data) {
		t.Errorf("audit show --json:\n%s\nwant the log as stored:\n%s", got, data)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	if got := mustRun(t, "audit", "show", "--log", path, "--json", "--model", "fraud"); got != string(lines[5]) {
		t.Errorf("audit show --json --model fraud: %q, want %q", got, lines[5])
	}
	if r := predictd(t, "audit", "show", "--log", path, "--action", "deploy"); r.code != 2 || !strings.Contains(r.stderr, "rollout_step") {
		t.Errorf("audit show --action deploy: exit %d, stderr %q; want 2 and the list of actions", r.code, r.stderr)
	}
}
