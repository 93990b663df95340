package manager

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memLabels is a LabelStore in memory; fail makes Save fail.
type memLabels struct {
	mu       sync.Mutex
	saved    map[string]LabelState
	saves    int
	fail     error
	loadFail error
}

func (s *memLabels) Load(model string) (LabelState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saved[model], s.loadFail
}

func (s *memLabels) Save(model string, st LabelState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if s.saved == nil {
		s.saved = map[string]LabelState{}
	}
	s.saved[model] = LabelState{Labels: maps.Clone(st.Labels), History: slices.Clone(st.History)}
	s.saves++
	return nil
}

// fakeClock is a clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func labelsOf(t *testing.T, m *Manager, name string) string {
	t.Helper()
	st, err := m.Status(name)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(st.Labels)
}

func TestLabelsPersist(t *testing.T) {
	repo := t.TempDir()
	for v := 1; v <= 3; v++ {
		write(t, repo, "m", v)
	}
	store := &memLabels{}
	clock := newFakeClock()
	opts := Options{Repo: repo, PollInterval: -1, Labels: store, Now: clock.Now, Models: []ModelConfig{{
		Name: "m", Policy: Policy{Latest: 1}, Labels: map[string]int{"stable": 2},
	}}}
	m := start(t, opts)
	// Nothing stored yet: the configured labels are the initial values.
	if got, want := labelsOf(t, m, "m"), "map[stable:2]"; got != want {
		t.Fatalf("labels before any change = %s, want %s", got, want)
	}
	if err := m.SetLabel("m", "stable", 3); err != nil {
		t.Fatal(err)
	}
	if err := m.SetLabel("m", "canary", 2); err != nil {
		t.Fatal(err)
	}
	// Setting a label to the version it has saves nothing.
	if err := m.SetLabel("m", "canary", 2); err != nil || store.saves != 2 || len(store.saved["m"].History) != 2 {
		t.Fatalf("SetLabel to the same version: %v, %d saves, history %+v; want nil, 2 saves, 2 changes", err, store.saves, store.saved["m"].History)
	}
	m.Close()

	// A new Manager on the same store: the stored labels override the
	// configured "stable": 2, and the history came along (Rollback works).
	m2 := start(t, opts)
	if got, want := labelsOf(t, m2, "m"), "map[canary:2 stable:3]"; got != want {
		t.Fatalf("labels after a restart = %s, want %s", got, want)
	}
	acquire(t, m2, "m", 0, "", 3).Release()
	acquire(t, m2, "m", 0, "canary", 2).Release()
	from, to, err := m2.Rollback("m")
	if err != nil || from != 3 || to != 2 {
		t.Fatalf("Rollback after a restart = %d, %d, %v; want 3, 2, nil", from, to, err)
	}
	if got := store.saved["m"].History; len(got) != 3 || got[2] != (LabelChange{Label: "stable", From: 3, To: 2, At: clock.Now(), Rollback: true}) {
		t.Errorf("stored history = %+v, want 3 changes ending in the rollback 3 -> 2", got)
	}

	// Discovery mode loads the stored labels too.
	m3 := start(t, Options{Repo: repo, PollInterval: -1, Labels: store, Now: clock.Now})
	if got, want := labelsOf(t, m3, "m"), "map[canary:2 stable:2]"; got != want {
		t.Fatalf("labels in discovery mode = %s, want %s", got, want)
	}
	acquire(t, m3, "m", 0, "", 2).Release()
}

func TestSetLabelSaveFails(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	write(t, repo, "m", 2)
	store := &memLabels{}
	m := start(t, Options{Repo: repo, PollInterval: -1, Labels: store, Models: []ModelConfig{{
		Name: "m", Policy: Policy{Latest: 2}, Labels: map[string]int{"stable": 1},
	}}})
	store.fail = errors.New("disk full")
	err := m.SetLabel("m", "stable", 2)
	want := `label "stable" of model "m": not changed (still version 1): saving the labels failed: disk full`
	if err == nil || err.Error() != want {
		t.Fatalf("SetLabel with a failing Save: error %v, want %q", err, want)
	}
	if got, want := labelsOf(t, m, "m"), "map[stable:1]"; got != want {
		t.Errorf("labels after a failed Save = %s, want %s", got, want)
	}
	acquire(t, m, "m", 0, "", 1).Release()
	if _, _, err := m.Rollback("m"); !errors.Is(err, ErrNoRollback) {
		t.Errorf("Rollback after a failed SetLabel = %v; want ErrNoRollback (no history was recorded)", err)
	}
	store.fail = nil
	if err := m.SetLabel("m", "stable", 2); err != nil {
		t.Fatal(err)
	}
	acquire(t, m, "m", 0, "", 2).Release()
}

func TestRollbackErrors(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	write(t, repo, "n", 1)
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{
		{Name: "m", Labels: map[string]int{"stable": 1}},
		{Name: "n"},
	}})
	for _, tc := range []struct {
		name string
		want string
		is   error
	}{
		{"m", `rollback model "m": label "stable" (version 1) has no earlier version in its history: no earlier stable version to roll back to`, ErrNoRollback},
		{"n", `rollback model "n": label "stable" is not set: no earlier stable version to roll back to`, ErrNoRollback},
		{"x", `rollback: no model "x": not found`, ErrNotFound},
	} {
		_, _, err := m.Rollback(tc.name)
		if err == nil || err.Error() != tc.want || !errors.Is(err, tc.is) {
			t.Errorf("Rollback(%q) = %v, want %q wrapping %v", tc.name, err, tc.want, tc.is)
		}
	}
}

// TestBlueGreenRollback: v2 loads beside v1, "stable" moves to v2 in one
// publish, Rollback moves it back in one publish while requests run; the
// version "stable" left stays loaded during the hold and is retired after
// it.
func TestBlueGreenRollback(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	clock := newFakeClock()
	const hold = 10 * time.Minute
	m := start(t, Options{Repo: repo, PollInterval: -1, RollbackHold: hold, Now: clock.Now, Models: []ModelConfig{{
		Name: "m", Policy: Policy{Latest: 1}, Labels: map[string]int{"stable": 1},
	}}})
	write(t, repo, "m", 2)
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	// Latest 1 wants only v2, but "stable" keeps v1 loaded and serving.
	wantStates(t, m, "m", "2:AVAILABLE 1:AVAILABLE")
	acquire(t, m, "m", 0, "", 1).Release()

	// Requests run all along; each must find a version, never an error.
	var stop atomic.Bool
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				h, err := m.Acquire("m", 0, "")
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					return
				}
				if h.Version != 1 && h.Version != 2 {
					select {
					case errc <- fmt.Errorf("Acquire(m, 0, \"\") = version %d, want 1 or 2", h.Version):
					default:
					}
				}
				h.Release()
			}
		}()
	}

	if err := m.SetLabel("m", "stable", 2); err != nil {
		t.Fatal(err)
	}
	acquire(t, m, "m", 0, "", 2).Release()
	// v1 is held for the rollback.
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "2:AVAILABLE 1:AVAILABLE")

	from, to, err := m.Rollback("m")
	if err != nil || from != 2 || to != 1 {
		t.Fatalf("Rollback = %d, %d, %v; want 2, 1, nil", from, to, err)
	}
	acquire(t, m, "m", 0, "", 1).Release()
	stop.Store(true)
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatalf("Acquire during the label switches: %v", err)
	default:
	}

	// v1 is stable again and v2 is held; Latest 1 wants v2 anyway, so a
	// pass keeps both.
	clock.Advance(hold - time.Second)
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "2:AVAILABLE 1:AVAILABLE")

	// Move stable to v3, then let the hold of v1 run out: v1 is retired
	// by the next pass (neither the policy nor a label wants it).
	write(t, repo, "m", 3)
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := m.SetLabel("m", "stable", 3); err != nil {
		t.Fatal(err)
	}
	// The pass after the change retired v2 (no longer wanted: Latest 1 is
	// v3), and kept v1 (held).
	wantStates(t, m, "m", "3:AVAILABLE 2:END 1:AVAILABLE")
	clock.Advance(hold - time.Second)
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 2:END 1:AVAILABLE")
	clock.Advance(time.Second)
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 2:END 1:END")

	// Rollback to v1, which is no longer loaded: it loads first, then
	// "stable" moves; it is not left pinned (the label keeps it).
	from, to, err = m.Rollback("m")
	if err != nil || from != 3 || to != 1 {
		t.Fatalf("Rollback to an unloaded version = %d, %d, %v; want 3, 1, nil", from, to, err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 2:END 1:AVAILABLE")
	acquire(t, m, "m", 0, "", 1).Release()
	m.planMu.Lock()
	pinned := ms(m, "m").pinned[1]
	m.planMu.Unlock()
	if pinned {
		t.Errorf("version 1 is pinned after Rollback loaded it; want it kept by the label only")
	}

	// A rollback whose version cannot load names it and changes nothing.
	if err := m.SetLabel("m", "stable", 3); err != nil {
		t.Fatal(err)
	}
	clock.Advance(hold)
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 2:END 1:END")
	remove(t, repo, "m", 1)
	_, _, err = m.Rollback("m")
	if err == nil || !strings.Contains(err.Error(), `rollback model "m" from version 3 to 1: load model "m" version 1: not in the repository`) {
		t.Errorf("Rollback to a version gone from disk = %v; want an error naming the version and why", err)
	}
	acquire(t, m, "m", 0, "", 3).Release()
}

func ms(m *Manager, name string) *modelState { return m.models[name] }

// errLabels is a LabelStore whose Load fails.
type errLabels struct{ *memLabels }

func (*errLabels) Load(model string) (LabelState, error) {
	return LabelState{}, errors.New("state folder unreadable")
}

func TestLabelsLoadFails(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	m, err := New(Options{Repo: repo, PollInterval: -1, Labels: &errLabels{&memLabels{}}, Models: []ModelConfig{{Name: "m"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	err = m.Start()
	if want := `model "m": load its labels: state folder unreadable`; err == nil || err.Error() != want {
		t.Fatalf("Start with unreadable labels = %v, want %q", err, want)
	}
	// The model loads nothing rather than serve by labels that may not be
	// the operator's.
	if _, err := m.Acquire("m", 0, ""); err == nil {
		t.Errorf("Acquire of a model whose labels could not be read: nil error, want one")
	}
}

func TestLabelHistoryBounded(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	write(t, repo, "m", 2)
	store := &memLabels{}
	m := start(t, Options{Repo: repo, PollInterval: -1, Labels: store, Models: []ModelConfig{{Name: "m", Policy: Policy{All: true}}}})
	const changes = MaxLabelHistory + 5
	for i := range changes {
		if err := m.SetLabel("m", "stable", 1+i%2); err != nil {
			t.Fatal(err)
		}
	}
	h := store.saved["m"].History
	if len(h) != MaxLabelHistory {
		t.Fatalf("after %d changes the stored history has %d entries, want %d", changes, len(h), MaxLabelHistory)
	}
	// The oldest were dropped: the last entry is the last change.
	if last := h[len(h)-1]; last.To != 1+(changes-1)%2 || last.From != 1+(changes-2)%2 {
		t.Errorf("last history entry = %+v, want %d -> %d", last, 1+(changes-2)%2, 1+(changes-1)%2)
	}
	if h[0].From != 1+(changes-MaxLabelHistory-1)%2 {
		t.Errorf("first kept entry = %+v, want the change number %d", h[0], changes-MaxLabelHistory+1)
	}
}

// TestLabelsReplicasCatchUp: two Managers (replicas) share one LabelStore.
// A label moved on one reaches the other at its next poll (reconcile):
// at once when the version is loaded there; else that poll loads the
// version while the old one keeps serving, and the next one moves the
// label. Rollback on the second replica then follows the first's history.
func TestLabelsReplicasCatchUp(t *testing.T) {
	repo := t.TempDir()
	for v := 1; v <= 3; v++ {
		write(t, repo, "m", v)
	}
	store := &memLabels{}
	clock := newFakeClock()
	opts := Options{Repo: repo, PollInterval: -1, Labels: store, Now: clock.Now, Models: []ModelConfig{{Name: "m", Policy: Policy{Latest: 2}}}}
	a, b := start(t, opts), start(t, opts)
	acquire(t, b, "m", 0, "", 3).Release()

	// v2 is loaded on both (Latest 2): b moves at its next poll.
	if err := a.SetLabel("m", "stable", 2); err != nil {
		t.Fatal(err)
	}
	acquire(t, b, "m", 0, "", 3).Release() // no poll yet
	if err := b.reconcile(false); err != nil {
		t.Fatal(err)
	}
	acquire(t, b, "m", 0, "", 2).Release()

	// v1 is loaded on a only.
	if err := a.LoadVersion("m", 1); err != nil {
		t.Fatal(err)
	}
	if err := a.SetLabel("m", "stable", 1); err != nil {
		t.Fatal(err)
	}
	wantStates(t, b, "m", "3:AVAILABLE 2:AVAILABLE")
	if err := b.reconcile(false); err != nil {
		t.Fatal(err)
	}
	// This poll loaded v1; "stable" stays at v2 until the next one.
	wantStates(t, b, "m", "3:AVAILABLE 2:AVAILABLE 1:AVAILABLE")
	acquire(t, b, "m", 0, "", 2).Release()
	if err := b.reconcile(false); err != nil {
		t.Fatal(err)
	}
	acquire(t, b, "m", 0, "", 1).Release()
	if got, want := labelsOf(t, b, "m"), "map[stable:1]"; got != want {
		t.Errorf("b's labels after catching up = %s, want %s", got, want)
	}

	// b has a's history: its rollback returns to v2, and a follows.
	from, to, err := b.Rollback("m")
	if err != nil || from != 1 || to != 2 {
		t.Fatalf("Rollback on the second replica = %d, %d, %v; want 1, 2, nil", from, to, err)
	}
	if err := a.reconcile(false); err != nil {
		t.Fatal(err)
	}
	acquire(t, a, "m", 0, "", 2).Release()
	if h := store.saved["m"].History; len(h) != 3 {
		t.Errorf("stored history = %+v, want 3 changes", h)
	}
}

// TestLabelsSyncError: a poll that cannot read the stored labels keeps
// the labels in memory and logs the error once, not at every poll.
func TestLabelsSyncError(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	write(t, repo, "m", 2)
	store := &memLabels{}
	var logs recorder
	m := start(t, Options{Repo: repo, PollInterval: -1, Labels: store, Logf: func(f string, a ...any) { logs.add(fmt.Sprintf(f, a...)) },
		Models: []ModelConfig{{Name: "m", Policy: Policy{All: true}}}})
	if err := m.SetLabel("m", "stable", 1); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.loadFail = errors.New("redis down")
	store.mu.Unlock()
	for range 3 {
		if err := m.reconcile(false); err != nil {
			t.Fatalf("poll with unreadable stored labels = %v, want nil (the model serves on)", err)
		}
	}
	acquire(t, m, "m", 0, "", 1).Release()
	logs.mu.Lock()
	n := 0
	for _, l := range logs.events {
		if strings.Contains(l, "read the stored labels: redis down") {
			n++
		}
	}
	logs.mu.Unlock()
	if n != 1 {
		t.Errorf("3 polls with unreadable stored labels logged the error %d times, want 1", n)
	}
}
