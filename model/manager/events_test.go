package manager

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/predictd/predictd/model"
)

// eventLog records Options.Event calls, with the serving version seen at
// each call (what a request would get then), and refuses the events
// refuse says.
type eventLog struct {
	mu     sync.Mutex
	m      *Manager
	events []string
	refuse func(Event) error
}

func (l *eventLog) hook(e Event) error {
	s := fmt.Sprintf("%s %s/%d", e.Kind, e.Model, e.Version)
	if e.Err != nil {
		s += " (failed)"
	}
	if e.Reason != "" {
		s += " " + e.Reason
	}
	// What serves when the event is told: the change has not happened.
	if l.m != nil {
		if h, err := l.m.Acquire(e.Model, e.Version, ""); err == nil {
			s += " [serving]"
			h.Release()
		} else {
			s += " [not serving]"
		}
	}
	l.mu.Lock()
	l.events = append(l.events, s)
	refuse := l.refuse
	l.mu.Unlock()
	if refuse != nil {
		return refuse(e)
	}
	return nil
}

func (l *eventLog) check(t *testing.T, want ...string) {
	t.Helper()
	l.mu.Lock()
	got := strings.Join(l.events, "\n")
	l.events = nil
	l.mu.Unlock()
	if w := strings.Join(want, "\n"); got != w {
		t.Fatalf("events:\n%s\nwant:\n%s", got, w)
	}
}

func TestEventsBeforeChanges(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	var rec recorder
	var ev eventLog
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}, Prepare: rec.prepare, Retired: rec.retired, Event: ev.hook})
	ev.check(t, "load m/1")
	ev.m = m

	// A new version: its load is told before it serves, the old one's
	// retirement while it still serves.
	write(t, repo, "m", 2)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	ev.check(t, "load m/2 [not serving]", "unload m/1 no longer wanted [serving]")
	wantStates(t, m, "m", "2:AVAILABLE 1:END")

	// A failed load is told with its error, and nothing else happens.
	dir := write(t, repo, "m", 3)
	if err := corrupt(dir); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	ev.check(t, "load_failed m/3 (failed) [not serving]")
	wantStates(t, m, "m", "3:END 2:AVAILABLE 1:END")

	// An admin UnloadVersion is the caller's to record: no event.
	if err := m.LoadVersion("m", 1); err != nil {
		t.Fatalf("LoadVersion(m, 1): %v", err)
	}
	ev.check(t, "load m/1 [not serving]", "unload m/2 no longer wanted [serving]") // the pin wants 1, the policy 3
	if err := m.LoadVersion("m", 2); err != nil {
		t.Fatalf("LoadVersion(m, 2): %v", err)
	}
	ev.check(t, "load m/2 [not serving]")
	if err := m.UnloadVersion("m", 1); err != nil {
		t.Fatalf("UnloadVersion(m, 1): %v", err)
	}
	ev.check(t)

	// A removed model folder retires its versions, told as such.
	if err := os.RemoveAll(filepath.Join(repo, "m")); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	ev.check(t, "unload m/2 folder removed [serving]")
}

// corrupt truncates a version's payload so that its load fails.
func corrupt(dir string) error {
	path := filepath.Join(dir, model.PayloadFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data[:len(data)/2], 0o644)
}

func TestEventRefusals(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	var rec recorder
	var ev eventLog
	var logs strings.Builder
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		fmt.Fprintf(&logs, format+"\n", args...)
		logMu.Unlock()
	}
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}, Prepare: rec.prepare, Retired: rec.retired, Event: ev.hook, Logf: logf})
	ev.check(t, "load m/1")
	ev.m = m
	broken := errors.New("audit log broken")
	ev.refuse = func(Event) error { return broken }

	// A refused load: v2 never serves, Retired runs for what Prepare
	// returned, the status names the hook's error, and the failure is
	// still told.
	write(t, repo, "m", 2)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	ev.check(t, "load m/2 [not serving]", "load_failed m/2 (failed) [not serving]")
	wantStates(t, m, "m", "2:END 1:AVAILABLE")
	if vs := versionStatus(t, m, "m", 2); !strings.Contains(vs.Error, "not published: audit log broken") {
		t.Fatalf("v2 status = %+v, want END naming the hook's error", vs)
	}
	acquire(t, m, "m", 0, "", 1).Release()
	rec.check(t, "prepare m/1", "prepare m/2", "retired m/2 (attached m/2)")

	// A refused retirement keeps the version serving; repeated passes
	// log the refusal once; once the hook accepts, it retires.
	ev.refuse = func(e Event) error {
		if e.Kind == EventUnload {
			return broken
		}
		return nil
	}
	if err := m.LoadVersion("m", 2); err != nil {
		t.Fatalf("LoadVersion(m, 2): %v", err)
	}
	for range 2 {
		if err := m.Reload(); err != nil {
			t.Fatalf("Reload: %v", err)
		}
	}
	ev.check(t, "load m/2 [not serving]", "unload m/1 no longer wanted [serving]", "unload m/1 no longer wanted [serving]", "unload m/1 no longer wanted [serving]")
	wantStates(t, m, "m", "2:AVAILABLE 1:AVAILABLE")
	logMu.Lock()
	n := strings.Count(logs.String(), "version 1: not retired, the event hook refused: audit log broken")
	logMu.Unlock()
	if n != 1 {
		t.Fatalf("refusal logged %d times over 3 passes, want once; log:\n%s", n, logs.String())
	}
	ev.refuse = nil
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	ev.check(t, "unload m/1 no longer wanted [serving]")
	wantStates(t, m, "m", "2:AVAILABLE 1:END")
}

func TestRollbackTarget(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	write(t, repo, "m", 2)
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m", Policy: Policy{All: true}}}})
	if _, _, err := m.RollbackTarget("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RollbackTarget(nope): %v, want ErrNotFound", err)
	}
	if _, _, err := m.RollbackTarget("m"); !errors.Is(err, ErrNoRollback) {
		t.Fatalf("RollbackTarget(m) without stable: %v, want ErrNoRollback", err)
	}
	for _, v := range []int{1, 2} {
		if err := m.SetLabel("m", StableLabel, v); err != nil {
			t.Fatalf("SetLabel(stable, %d): %v", v, err)
		}
	}
	for _, want := range [][2]int{{2, 1}, {1, 2}} {
		from, to, err := m.RollbackTarget("m")
		if err != nil || from != want[0] || to != want[1] {
			t.Fatalf("RollbackTarget(m) = %d, %d, %v; want %d, %d", from, to, err, want[0], want[1])
		}
		rf, rt, err := m.Rollback("m")
		if err != nil || rf != from || rt != to {
			t.Fatalf("Rollback(m) = %d, %d, %v; want what RollbackTarget said: %d, %d", rf, rt, err, from, to)
		}
	}
}
