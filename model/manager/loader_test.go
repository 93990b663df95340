package manager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

// liveness is how long the tests below wait for something that should
// happen at once: a bound that catches a hang, not a measure of speed.
const liveness = 10 * time.Second

// within returns what ch yields, failing the test if it yields nothing
// within liveness.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(liveness):
		t.Fatalf("%s: nothing after %s", what, liveness)
		panic("unreachable")
	}
}

// eventually polls cond until it holds, failing the test after liveness.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(liveness)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, liveness)
		}
		time.Sleep(time.Millisecond)
	}
}

// newManager makes a Manager without starting it; Close runs at the end
// of the test.
func newManager(t *testing.T, opts Options) *Manager {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	m, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

// gate holds the loads of some versions of one model in the Manager's
// open hook until each is released or its load's context is cancelled,
// as an artifact on a stalled disk would.
type gate struct {
	entered chan int // each held version, when its load reaches the gate
	release map[int]chan struct{}
}

// hold installs a gate for versions of model name; call it before Start.
func hold(m *Manager, name string, versions ...int) *gate {
	g := &gate{entered: make(chan int, 16), release: map[int]chan struct{}{}}
	for _, v := range versions {
		g.release[v] = make(chan struct{})
	}
	open := m.open
	m.open = func(ctx context.Context, repo, n string, v int) (*model.Loaded, error) {
		if rel := g.release[v]; n == name && rel != nil {
			g.entered <- v
			select {
			case <-rel:
			case <-ctx.Done():
				return nil, fmt.Errorf("test gate of %s version %d: %w", n, v, ctx.Err())
			}
		}
		return open(ctx, repo, n, v)
	}
	return g
}

func (g *gate) wait(t *testing.T, want int) {
	t.Helper()
	if got := within(t, g.entered, fmt.Sprintf("load of version %d reaching the gate", want)); got != want {
		t.Fatalf("version %d reached the gate, want %d", got, want)
	}
}

func available(m *Manager, name string, version int) bool {
	h, err := m.Acquire(name, 0, "")
	if err != nil {
		return false
	}
	defer h.Release()
	return h.Version == version
}

// TestSlowLoadHoldsBackNoOtherModel: a model whose load hangs delays
// neither another model's first version (during Start) nor its new
// versions (found by the poller), and the hung model serves its loaded
// version meanwhile (issue 13).
func TestSlowLoadHoldsBackNoOtherModel(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "a-slow", 1) // first by name: its pass runs first
	write(t, repo, "b-fast", 1)
	m := newManager(t, Options{Repo: repo, PollInterval: 5 * time.Millisecond})
	g := hold(m, "a-slow", 1, 2)
	started := make(chan error, 1)
	go func() { started <- m.Start() }()

	g.wait(t, 1)
	eventually(t, "b-fast version 1 available while a-slow's first load hangs", func() bool { return available(m, "b-fast", 1) })
	select {
	case err := <-started:
		t.Fatalf("Start returned (%v) while a-slow's load hangs, want it to wait for every model", err)
	default:
	}
	if _, err := m.Acquire("a-slow", 0, ""); !errors.Is(err, ErrLoading) {
		t.Errorf("Acquire(a-slow) while its first load hangs: error %v, want ErrLoading", err)
	}
	wantStates(t, m, "a-slow", "1:LOADING")
	close(g.release[1])
	if err := within(t, started, "Start after a-slow's load was released"); err != nil {
		t.Fatalf("Start: %v", err)
	}

	// The poller finds a new version of each; a-slow's hangs.
	write(t, repo, "a-slow", 2)
	write(t, repo, "b-fast", 2)
	g.wait(t, 2)
	eventually(t, "b-fast version 2 available while a-slow's version 2 hangs", func() bool { return available(m, "b-fast", 2) })
	acquire(t, m, "a-slow", 0, "", 1).Release()
	wantStates(t, m, "a-slow", "2:LOADING 1:AVAILABLE")
	close(g.release[2])
	eventually(t, "a-slow version 2 available once released", func() bool { return available(m, "a-slow", 2) })
	eventually(t, "a-slow version 1 retired", func() bool { return statusLine(t, m, "a-slow") == "2:AVAILABLE 1:END" })
}

// TestLoadWorkersBound: with one load worker, a model queued behind a
// hung load waits in START (the bound holds), and loads once the worker
// is free.
func TestLoadWorkersBound(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "a-slow", 1)
	write(t, repo, "b-fast", 1)
	m := newManager(t, Options{Repo: repo, PollInterval: -1, LoadWorkers: 1})
	g := hold(m, "a-slow", 1)
	started := make(chan error, 1)
	go func() { started <- m.Start() }()
	g.wait(t, 1)
	eventually(t, "b-fast queued", func() bool { return statusLine(t, m, "b-fast") == "1:START" })
	if _, err := m.Acquire("b-fast", 0, ""); !errors.Is(err, ErrLoading) {
		t.Errorf("Acquire(b-fast) queued behind the only worker: error %v, want ErrLoading", err)
	}
	if n := m.loads.Load(); n != 1 {
		t.Errorf("%d loads began with LoadWorkers 1 and the first one hung, want 1", n)
	}
	close(g.release[1])
	if err := within(t, started, "Start after the hung load was released"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	acquire(t, m, "b-fast", 0, "", 1).Release()
	acquire(t, m, "a-slow", 0, "", 1).Release()
}

// TestStopLoadingWithALoadHung: StopLoading answers a Reload waiting for a
// hung load at once, the loaded version serves on, and later loads fail at
// once; Close during a hung first load returns at once too. The hung load
// honours its context, as model.OpenContext and warm-up do.
func TestStopLoadingWithALoadHung(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	m := newManager(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}})
	g := hold(m, "m", 2)
	if err := m.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	write(t, repo, "m", 2)
	reloaded := make(chan error, 1)
	go func() { reloaded <- m.Reload() }()
	g.wait(t, 2)
	wantStates(t, m, "m", "2:LOADING 1:AVAILABLE") // Status answers during the load
	acquire(t, m, "m", 0, "", 1).Release()

	m.StopLoading()
	if err := within(t, reloaded, "Reload after StopLoading"); err != nil {
		t.Errorf("Reload cut short by StopLoading: %v, want nil (load failures are in Status)", err)
	}
	vs := versionStatus(t, m, "m", 2)
	if vs.State != StateEnd || !strings.Contains(vs.Error, context.Canceled.Error()) {
		t.Errorf("version 2 after StopLoading: %+v, want END with a cancellation error", vs)
	}
	acquire(t, m, "m", 0, "", 1).Release()
	if err := m.LoadVersion("m", 2); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadVersion after StopLoading: error %v, want one wrapping context.Canceled", err)
	}
	closed := make(chan struct{})
	go func() { m.Close(); close(closed) }()
	within(t, closed, "Close after StopLoading")

	// Close while the first load hangs.
	m2 := newManager(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}})
	g2 := hold(m2, "m", 2)
	started := make(chan error, 1)
	go func() { started <- m2.Start() }()
	g2.wait(t, 2)
	closed2 := make(chan struct{})
	go func() { m2.Close(); close(closed2) }()
	within(t, closed2, "Close during a hung first load")
	if err := within(t, started, "Start after Close"); !errors.Is(err, ErrClosed) {
		t.Errorf("Start cut short by Close: %v, want ErrClosed", err)
	}
	wantStates(t, m2, "m", "2:END")
}
