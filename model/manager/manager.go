package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/predictd/predictd/model"
)

// ErrNotFound reports an unknown model, a version that is not AVAILABLE, or
// a label that is not set or points at such a version.
var ErrNotFound = errors.New("not found")

// ErrLastVersion reports a refused UnloadVersion of a model's last
// AVAILABLE version.
var ErrLastVersion = errors.New("it is the model's last available version")

// ErrClosed reports a call on a Manager after Close.
var ErrClosed = errors.New("model manager is closed")

// ErrLoading reports a model asked for before the first reconcile (Start)
// has finished loading it: try again shortly.
var ErrLoading = errors.New("models are still loading")

// ErrInvalid reports a malformed argument from a caller (a label with
// characters outside [A-Za-z0-9_-], say): the caller's mistake.
var ErrInvalid = errors.New("invalid argument")

// Options configure a Manager. Zero numeric fields take the defaults.
type Options struct {
	// Repo is the model repository folder
	// (<Repo>/<name>/<version>/{manifest.json,model.bin.zst}). Required; it
	// must exist when New is called.
	Repo string
	// PollInterval is how often the repository is rescanned. Zero means the
	// default, 5s; negative means never (only Reload, LoadVersion and
	// UnloadVersion change what is loaded).
	PollInterval time.Duration
	// Models lists the served models. Empty means every model folder in the
	// repository, each with policy Latest 1, discovered on every scan.
	Models []ModelConfig
	// WarmupRows is the number of rows in the warm-up batch each new version
	// predicts (transformed and raw) before it is published. Zero means the
	// default, 64; negative means no warm-up.
	WarmupRows int
	// Prepare, if set, runs after a version loaded and warmed, before it
	// takes traffic; its result is Handle.Attached. An error fails the load
	// (the version never takes traffic, and Retired does not run for it).
	Prepare func(*model.Loaded) (any, error)
	// Retired, if set, runs exactly once for each version that was
	// published, after it was retired and its last Handle released, with
	// what Prepare returned. See the package doc for the goroutine it runs
	// in.
	Retired func(l *model.Loaded, attached any)
	// Logf reports loads, failures and retirements. Default: discard. Must
	// be safe for concurrent use.
	Logf func(format string, args ...any)
}

// Defaults.
const (
	DefaultPollInterval = 5 * time.Second
	DefaultWarmupRows   = 64
)

// DefaultOptions returns the defaults; set Repo (and Models) before New.
func DefaultOptions() Options {
	return Options{PollInterval: DefaultPollInterval, WarmupRows: DefaultWarmupRows}
}

// Manager loads, publishes and retires model versions. See the package doc.
type Manager struct {
	opts       Options
	configured bool   // opts.Models was set: the model set is fixed
	repoAbs    string // opts.Repo made absolute, for Status's relative paths

	// reconcileMu serializes reconciles and admin calls; it is held while
	// versions load.
	reconcileMu sync.Mutex
	// stateMu guards the version table's state and the publication of
	// snapshots; never held during a load or a hook.
	stateMu sync.Mutex

	// models is the version table. The map, modelState.versions and
	// instance.loadErr and instance.sig are changed only with both mutexes held, so
	// either mutex suffices to read them. modelState.labels is guarded by
	// stateMu alone; pinned and excluded by reconcileMu alone.
	models map[string]*modelState

	// Guarded by reconcileMu.
	started    bool
	pollerDone chan struct{} // nil until the poller starts
	lastPoll   string        // last poll error logged, to log each once
	// Guarded by both mutexes (either to read).
	closed  bool
	scanned bool // the first full reconcile finished

	snap    atomic.Pointer[snapshot]
	closing atomic.Bool
	stop    chan struct{}
	// ctx is cancelled first thing in Close: loads and warm-ups in
	// progress stop, so that Close (and SIGTERM) never waits for them.
	ctx    context.Context
	cancel context.CancelFunc

	loads atomic.Int64 // load attempts, for tests and logs
}

// modelState is a model's row in the version table.
type modelState struct {
	name       string
	policy     Policy
	configured bool
	labels     map[string]int
	pinned     map[int]bool
	excluded   map[int]bool
	versions   map[int]*instance // every version with a status, by number
	problem    string            // why the model has nothing on disk, for Status
	kept       int               // an unwanted version kept for availability (logged once); reconcileMu
}

func newModelState(c ModelConfig, configured bool) *modelState {
	labels := make(map[string]int, len(c.Labels))
	for k, v := range c.Labels {
		labels[k] = v
	}
	return &modelState{
		name:       c.Name,
		policy:     Policy{Latest: c.Policy.Latest, Versions: slices.Clone(c.Policy.Versions), All: c.Policy.All},
		configured: configured,
		labels:     labels,
		pinned:     map[int]bool{},
		excluded:   map[int]bool{},
		versions:   map[int]*instance{},
	}
}

// New validates opts and returns a Manager that has loaded nothing yet; call
// Start.
func New(opts Options) (*Manager, error) {
	if opts.Repo == "" {
		return nil, errors.New("model manager: Options.Repo is required")
	}
	st, err := os.Stat(opts.Repo)
	if err != nil {
		return nil, fmt.Errorf("model manager: Options.Repo: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("model manager: Options.Repo %s is not a folder", opts.Repo)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.WarmupRows == 0 {
		opts.WarmupRows = DefaultWarmupRows
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	m := &Manager{
		opts:       opts,
		configured: len(opts.Models) > 0,
		models:     make(map[string]*modelState, len(opts.Models)),
		stop:       make(chan struct{}),
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.repoAbs, _ = filepath.Abs(opts.Repo)
	for i, c := range opts.Models {
		if err := c.check(i); err != nil {
			return nil, fmt.Errorf("model manager: Options.%w", err)
		}
		if m.models[c.Name] != nil {
			return nil, fmt.Errorf("model manager: Options.Models[%d]: model %q is configured twice", i, c.Name)
		}
		m.models[c.Name] = newModelState(c, true)
	}
	m.opts.Models = nil // the table holds copies; do not keep the caller's slices
	m.stateMu.Lock()
	m.publishLocked()
	m.stateMu.Unlock()
	return m, nil
}

// Start runs the first reconcile synchronously, so that Ready tells the
// caller whether every model has a version, then starts the poller (unless
// PollInterval is negative). It returns an error if the repository (or a
// model folder in it) could not be read; the Manager is then not started
// and Start may be called again. Failed versions are not errors here: see
// Status. Until it returns, Acquire of a model without a version answers
// ErrLoading and Loading is true; the daemon calls it on its own goroutine
// after its listeners are open. Close during Start cancels the loads in
// progress and Start returns ErrClosed.
func (m *Manager) Start() error {
	drop, err := m.start()
	m.dropRefs(drop)
	return err
}

func (m *Manager) start() ([]*instance, error) {
	m.reconcileMu.Lock()
	defer m.reconcileMu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if m.started {
		return nil, errors.New("model manager: Start called twice")
	}
	drop, err := m.reconcileAll(false)
	if m.ctx.Err() != nil {
		return drop, ErrClosed // Close cancelled the first load
	}
	if err != nil {
		return drop, err
	}
	m.started = true
	if m.opts.PollInterval > 0 {
		m.pollerDone = make(chan struct{})
		go m.poll(m.opts.PollInterval, m.pollerDone)
	}
	return drop, nil
}

// Reload rescans the repository and reconciles every model now, retrying
// versions that failed before, and returns when done. Like Start, it
// returns repository read errors, not version load failures (see Status).
// It may be called before Start.
func (m *Manager) Reload() error {
	return m.reconcile(true)
}

// reconcile runs one full reconcile under reconcileMu and drops the retired
// versions' published references after unlocking.
func (m *Manager) reconcile(force bool) error {
	drop, err := func() ([]*instance, error) {
		m.reconcileMu.Lock()
		defer m.reconcileMu.Unlock()
		if m.closed {
			return nil, ErrClosed
		}
		return m.reconcileAll(force)
	}()
	m.dropRefs(drop)
	return err
}

// poll reconciles every interval until stop is closed.
func (m *Manager) poll(every time.Duration, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		err := m.reconcile(false)
		if errors.Is(err, ErrClosed) {
			return
		}
		// Log a persistent error once, not every interval.
		m.reconcileMu.Lock()
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != m.lastPoll {
			if err != nil {
				m.opts.Logf("model manager: poll %s: %v", m.opts.Repo, err)
			} else {
				m.opts.Logf("model manager: poll %s: repository readable again", m.opts.Repo)
			}
			m.lastPoll = msg
		}
		m.reconcileMu.Unlock()
	}
}

// StopLoading cancels the loads and warm-ups in progress and makes every
// later one fail at once, while the loaded versions keep serving: the
// daemon calls it first thing on SIGTERM, so that neither a reload nor a
// slow load holds the drain. Close does it too. It is idempotent.
func (m *Manager) StopLoading() { m.cancel() }

// Close stops the poller (waiting for a reconcile in progress), then
// retires every version: each one's Retired hook runs as its handles drain,
// possibly after Close returns. Acquire then fails with ErrClosed. Close is
// idempotent; a second call returns at once.
func (m *Manager) Close() {
	if !m.closing.CompareAndSwap(false, true) {
		return
	}
	close(m.stop)
	m.cancel()
	m.reconcileMu.Lock()
	m.stateMu.Lock()
	m.closed = true
	m.stateMu.Unlock()
	done := m.pollerDone
	m.reconcileMu.Unlock()
	if done != nil {
		<-done
	}

	m.reconcileMu.Lock()
	m.stateMu.Lock()
	var drop []*instance
	for _, ms := range m.models {
		for _, v := range ms.versions {
			if v.State() == StateAvailable {
				v.setState(StateUnloading)
				drop = append(drop, v)
			}
		}
	}
	m.publishLocked()
	m.stateMu.Unlock()
	m.reconcileMu.Unlock()
	m.dropRefs(drop)
}

// dropRefs drops the published reference of each retired version; a
// version without handles finishes here (its Retired hook runs). Called
// with no lock held.
func (m *Manager) dropRefs(vs []*instance) {
	for _, v := range vs {
		v.unref()
	}
}
