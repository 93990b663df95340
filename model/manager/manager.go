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
	// LoadWorkers is how many versions load (open, warm up, Prepare) at
	// once, across all models: a slow load holds one worker, not the
	// others. Zero means the default, 2; negative is an error.
	LoadWorkers int
	// Prepare, if set, runs after a version loaded and warmed, before it
	// takes traffic; its result is Handle.Attached. An error fails the load
	// (the version never takes traffic, and Retired does not run for it).
	// It runs on a loader pool goroutine; calls never overlap.
	Prepare func(*model.Loaded) (any, error)
	// Retired, if set, runs exactly once for each version that was
	// prepared, after it was retired (or loaded as the Manager closed) and
	// its last Handle released, with what Prepare returned. See the
	// package doc for the goroutine it runs in.
	Retired func(l *model.Loaded, attached any)
	// Logf reports loads, failures and retirements. Default: discard. Must
	// be safe for concurrent use.
	Logf func(format string, args ...any)
	// Labels, if set, persists each model's labels and their history:
	// SetLabel and Rollback save before they publish, and the first scan
	// of a model loads them, replacing its configured Labels (which are
	// then only the initial values). Nil: labels live in memory only.
	Labels LabelStore
	// RollbackHold is how long the version "stable" left stays wanted
	// (loaded) after "stable" moves, so that Rollback finds it loaded.
	// After it, the first pass (the poll, Reload) retires it as usual if
	// nothing else wants it. Zero means the default, 10m; negative means
	// no hold.
	RollbackHold time.Duration
	// Now is the clock for label changes and RollbackHold. Default
	// time.Now; tests inject a fake one.
	Now func() time.Time
	// Event, if set, is told of the manager's own changes before they
	// take effect (events.go): EventLoad before a version is published
	// (an error fails the load), EventLoadFailed before a failure is
	// recorded, EventUnload before a pass retires a version (an error
	// keeps it serving). EventLoad and EventLoadFailed run on loader
	// goroutines, EventUnload with planMu held (never stateMu); calls
	// may overlap, so it must be safe for concurrent use, and it must
	// not call the Manager. Nil: nothing is told.
	Event func(Event) error
}

// Defaults.
const (
	DefaultPollInterval = 5 * time.Second
	DefaultWarmupRows   = 64
	DefaultLoadWorkers  = 2
	DefaultRollbackHold = 10 * time.Minute
)

// DefaultOptions returns the defaults; set Repo (and Models) before New.
func DefaultOptions() Options {
	return Options{PollInterval: DefaultPollInterval, WarmupRows: DefaultWarmupRows, LoadWorkers: DefaultLoadWorkers, RollbackHold: DefaultRollbackHold}
}

// Manager loads, publishes and retires model versions. See the package doc.
type Manager struct {
	opts       Options
	configured bool   // opts.Models was set: the model set is fixed
	repoAbs    string // opts.Repo made absolute, for Status's relative paths

	// planMu serializes passes (source, plan, decision) and admin calls.
	// It is never held during a load: loads run on the pool.
	planMu sync.Mutex
	// stateMu guards the version table's state and the publication of
	// snapshots; never held during a load, a hook or a folder read. Lock
	// order: planMu, then stateMu.
	stateMu sync.Mutex
	// prepareMu keeps Options.Prepare calls from overlapping.
	prepareMu sync.Mutex

	// models is the version table. The map and modelState.versions are
	// changed only with both mutexes held, so either mutex suffices to
	// read them. modelState.labels and history are also changed only with
	// both held (SetLabel, Rollback, the first load of persisted labels).
	// modelState.problem, and instance.loadErr, sig and retry, are guarded
	// by stateMu; pinned, excluded, kept, dangling, labelsLoaded, remote
	// and syncErr by planMu.
	models map[string]*modelState

	// Guarded by planMu.
	starting   bool // Start is running
	started    bool
	pollerDone chan struct{} // nil until the poller starts
	// Guarded by both mutexes (either to read).
	closed  bool
	scanned bool // the first full reconcile finished

	snap    atomic.Pointer[snapshot]
	closing atomic.Bool
	stop    chan struct{}
	// ctx is cancelled by StopLoading and first thing in Close: loads and
	// warm-ups in progress stop, so that Close (and SIGTERM) never waits
	// long for them. Every load runs with it.
	ctx    context.Context
	cancel context.CancelFunc
	pool   *loaderPool

	// open is model.OpenContext; tests replace it (before Start) to make
	// a load slow or blocked.
	open func(ctx context.Context, repo, name string, version int) (*model.Loaded, error)

	loads atomic.Int64 // load attempts, for tests and logs

	// eventErrs: the last error Options.Event gave for retiring each
	// "model/version", so a refusal repeated at every pass is logged once.
	// Guarded by planMu.
	eventErrs map[string]string
}

// modelState is a model's row in the version table.
type modelState struct {
	name       string
	policy     Policy
	configured bool
	labels     map[string]int
	history    []LabelChange // label changes, oldest first, at most MaxLabelHistory
	// labelsLoaded: Options.Labels was read for this model (or is nil).
	labelsLoaded bool
	// remote: versions another replica's stored labels point at that are
	// not AVAILABLE here yet: wanted, and the labels move once they are.
	remote map[int]bool
	// syncErr is the last error of reading the stored labels at a poll,
	// logged once.
	syncErr  string
	pinned   map[int]bool
	excluded map[int]bool
	versions map[int]*instance // every version with a status, by number
	problem  string            // why the model has nothing on disk, for Status
	kept     int               // an unwanted version kept for availability (logged once)
	dangling map[string]int    // labels pointing at nothing loaded (logged once)
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
	switch {
	case opts.LoadWorkers == 0:
		opts.LoadWorkers = DefaultLoadWorkers
	case opts.LoadWorkers < 0:
		return nil, fmt.Errorf("model manager: Options.LoadWorkers %d: want a positive count of concurrent loads, or 0 for the default %d", opts.LoadWorkers, DefaultLoadWorkers)
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.RollbackHold == 0 {
		opts.RollbackHold = DefaultRollbackHold
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	m := &Manager{
		opts:       opts,
		configured: len(opts.Models) > 0,
		models:     make(map[string]*modelState, len(opts.Models)),
		stop:       make(chan struct{}),
		eventErrs:  map[string]string{},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.pool = newLoaderPool(m.ctx, opts.LoadWorkers)
	m.open = model.OpenContext
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

// Start runs the first reconcile and waits for its loads, so that Ready
// tells the caller whether every model has a version, then starts the
// poller (unless PollInterval is negative). It returns an error if the
// repository (or a model folder in it) could not be read; the Manager is
// then not started and Start may be called again. Failed versions are not
// errors here: see Status. Until it returns, Acquire of a model without a
// version answers ErrLoading and NotReady says loading; models load on the pool
// side by side, and each takes traffic as soon as it loaded. The daemon
// calls it on its own goroutine after its listeners are open. StopLoading
// or Close during Start cancels the loads in progress and Start returns
// ErrClosed.
func (m *Manager) Start() error {
	m.planMu.Lock()
	switch {
	case m.closed:
		m.planMu.Unlock()
		return ErrClosed
	case m.started || m.starting:
		m.planMu.Unlock()
		return errors.New("model manager: Start called twice")
	}
	m.starting = true
	m.planMu.Unlock()

	err := m.reconcileAll(false, true)

	m.planMu.Lock()
	defer m.planMu.Unlock()
	m.starting = false
	switch {
	case m.ctx.Err() != nil:
		return ErrClosed // StopLoading or Close cancelled the first load
	case err != nil:
		return err
	}
	m.started = true
	if m.opts.PollInterval > 0 {
		m.pollerDone = make(chan struct{})
		go m.poll(m.opts.PollInterval, m.pollerDone)
	}
	return nil
}

// Reload rescans the repository and reconciles every model now, retrying
// versions that failed before, and returns when their loads are done
// (those of every model: a slow one delays Reload's return, not the other
// models' new versions). Like Start, it returns repository read errors,
// not version load failures (see Status). It may be called before Start.
func (m *Manager) Reload() error {
	return m.reconcile(true)
}

// reconcile is reconcileAll waiting for the loads: Reload's, and the
// tests' stand-in for a poll whose outcome they check at once.
func (m *Manager) reconcile(force bool) error {
	return m.reconcileAll(force, true)
}

// poll runs a reconcile every interval until stop is closed. It does not
// wait for the loads it starts: their completions carry on.
func (m *Manager) poll(every time.Duration, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	lastErr := "" // last poll error logged, to log each once
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		err := m.reconcileAll(false, false)
		if errors.Is(err, ErrClosed) {
			return
		}
		// Log a persistent error once, not every interval.
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != lastErr {
			if err != nil {
				m.opts.Logf("model manager: poll %s: %v", m.opts.Repo, err)
			} else {
				m.opts.Logf("model manager: poll %s: repository readable again", m.opts.Repo)
			}
			lastErr = msg
		}
	}
}

// StopLoading cancels the loads and warm-ups in progress and starts no
// later one, while the loaded versions keep serving: the daemon calls it
// first thing on SIGTERM, so that neither a reload nor a slow load holds
// the drain. Start, Reload and LoadVersion waiting for loads return soon
// after. Close does it too. It is idempotent and returns at once.
func (m *Manager) StopLoading() { m.cancel() }

// Close stops the poller and the loads in progress (waiting for them to
// notice: model.OpenContext and warm-up stop within milliseconds, a
// Prepare call in progress runs to its end), then retires every version:
// each one's Retired hook runs as its handles drain, possibly after Close
// returns. Acquire then fails with ErrClosed. Close is idempotent; a
// second call returns at once.
func (m *Manager) Close() {
	if !m.closing.CompareAndSwap(false, true) {
		return
	}
	close(m.stop)
	m.cancel()
	m.planMu.Lock()
	m.stateMu.Lock()
	m.closed = true // no pass changes the table from now on
	m.stateMu.Unlock()
	done := m.pollerDone
	m.planMu.Unlock()
	if done != nil {
		<-done
	}
	// Every load was queued before closed was set (under stateMu), and
	// each one that finishes now is retired at once (finish).
	m.pool.wait()

	m.planMu.Lock()
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
	m.planMu.Unlock()
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
