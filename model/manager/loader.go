package manager

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/predictd/predictd/model"
)

// loaderPool runs load jobs, at most workers at a time, in the order they
// were submitted, each with the pool's context (the manager's, cancelled
// by StopLoading and Close). Its queue holds at most one job per version
// in state START, since a plan never starts a version that is on its way.
type loaderPool struct {
	ctx     context.Context
	workers int

	mu      sync.Mutex
	queue   []loadJob
	running int // worker goroutines, at most workers

	wg sync.WaitGroup // submitted jobs not yet done
}

// loadJob is one version's load: load runs on a worker; done runs after,
// on its own goroutine, so that the worker takes the next job at once.
type loadJob struct {
	load func(ctx context.Context) error
	done func(err error)
}

func newLoaderPool(ctx context.Context, workers int) *loaderPool {
	return &loaderPool{ctx: ctx, workers: workers}
}

// submit queues j. It never blocks.
func (p *loaderPool) submit(j loadJob) {
	p.wg.Add(1)
	p.mu.Lock()
	p.queue = append(p.queue, j)
	spawn := p.running < p.workers
	if spawn {
		p.running++
	}
	p.mu.Unlock()
	if spawn {
		go p.work()
	}
}

// work runs queued jobs until the queue is empty.
func (p *loaderPool) work() {
	for {
		p.mu.Lock()
		if len(p.queue) == 0 {
			p.running--
			p.mu.Unlock()
			return
		}
		j := p.queue[0]
		p.queue[0] = loadJob{}
		p.queue = p.queue[1:]
		p.mu.Unlock()
		err := j.load(p.ctx)
		go func() {
			defer p.wg.Done()
			j.done(err)
		}()
	}
}

// wait returns when every submitted job is done.
func (p *loaderPool) wait() { p.wg.Wait() }

// loadJob returns the job that loads v, a version of ms in state START.
// Its load opens, warms and prepares v; its done records the outcome
// (publishing v if it loaded), runs a pass of ms (which retires what v
// replaces, or falls back if v failed) and only then closes v.done, so
// that a caller waiting for ms's loads finds the plan's follow-up done.
func (m *Manager) loadJob(ms *modelState, v *instance) loadJob {
	var sig string
	var start time.Time
	return loadJob{
		load: func(ctx context.Context) error {
			dir := versionDir(filepath.Join(m.opts.Repo, ms.name), v.num)
			sig = folderSig(dir) // before the load, so a change during it triggers a retry
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%s: load cancelled before it began: %w", dir, err)
			}
			v.setState(StateLoading)
			m.loads.Add(1)
			start = time.Now()
			return m.load(ctx, v)
		},
		done: func(err error) {
			defer close(v.done)
			if err != nil && m.ctx.Err() == nil {
				if eerr := m.event(Event{Kind: EventLoadFailed, Model: v.model, Version: v.num, Err: err}); eerr != nil {
					m.opts.Logf("model manager: model %s version %d: the event hook refused the load failure: %v", v.model, v.num, eerr)
				}
			}
			retired := m.finish(v, sig, err)
			switch {
			case retired:
				m.opts.Logf("model manager: model %s version %d: loaded as the manager closed: retired at once", v.model, v.num)
				m.dropRefs([]*instance{v})
			case err == nil:
				m.opts.Logf("model manager: model %s version %d: available (loaded and warmed in %s)", v.model, v.num, time.Since(start).Round(time.Microsecond))
			case m.ctx.Err() != nil:
				m.opts.Logf("model manager: model %s version %d: load cancelled: the manager stopped loading", v.model, v.num)
			default:
				m.opts.Logf("model manager: model %s version %d: load failed, serving continues on the loaded versions: %v", v.model, v.num, err)
				// A failed load may have allocated much before it failed (a
				// payload that decodes to more than it declares, say): give
				// the memory back now rather than at the next GC cycles.
				debug.FreeOSMemory()
			}
			// A repository error is the poller's to report; a pass after
			// Close has nothing to do.
			_ = m.pass(ms, false, 0)
		},
	}
}

// finish records v's load outcome: AVAILABLE and published, or END with
// the error and the folder signature sig. A version that loaded after
// Close is not published: it is retired at once (Prepare ran, so Retired
// must), and finish reports true for the caller to drop its reference
// with no lock held.
func (m *Manager) finish(v *instance, sig string, err error) (retired bool) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	switch {
	case err != nil:
		v.loadErr, v.sig = err, sig
		v.setState(StateEnd)
	case m.closed:
		v.refs.Store(1)
		v.setState(StateUnloading)
		return true
	default:
		v.refs.Store(1) // the published reference
		v.setState(StateAvailable)
		m.publishLocked()
	}
	return false
}

// load opens, warms and prepares v with ctx. It sets v.loaded and
// v.attached on success. Cancelling ctx stops it: model.OpenContext and
// the warm-up stop soon after (see their docs for what runs to its end
// once started) with an error wrapping context.Canceled. Prepare calls
// never overlap (prepareMu), as when loads ran one at a time: a Prepare
// that calibrates or keeps state of its own needs no lock.
func (m *Manager) load(ctx context.Context, v *instance) error {
	l, err := m.open(ctx, m.opts.Repo, v.model, v.num)
	if err != nil {
		return err // it names the file
	}
	if err := warmUp(ctx, l.Model, m.opts.WarmupRows, uint64(v.num)); err != nil {
		return fmt.Errorf("%s: %w", l.Dir, err)
	}
	if m.opts.Prepare != nil {
		m.prepareMu.Lock()
		a, err := m.opts.Prepare(l)
		m.prepareMu.Unlock()
		if err != nil {
			return fmt.Errorf("%s: prepare: %w", l.Dir, err)
		}
		v.attached = a
	}
	if err := m.event(Event{Kind: EventLoad, Model: v.model, Version: v.num}); err != nil {
		if m.opts.Prepare != nil && m.opts.Retired != nil {
			// Prepare ran: Retired must, exactly once (no Handle exists).
			m.opts.Retired(l, v.attached)
		}
		v.attached = nil
		return fmt.Errorf("%s: not published: %w", l.Dir, err)
	}
	v.loaded = l
	return nil
}

// warmUpChunkRows is how many rows warm-up predicts between checks of its
// context: small enough that a cancelled warm-up of a large model stops
// within milliseconds, large enough to exercise batch paths.
const warmUpChunkRows = 256

// warmUp predicts rows synthetic rows, transformed and raw, in chunks of
// warmUpChunkRows, so that lazily built state is in place before the first
// request, and checks the output widths against the model's declared
// shape. It stops with ctx's error when ctx is done.
func warmUp(ctx context.Context, p model.Predictor, rows int, seed uint64) error {
	var out []float64
	for done := 0; done < rows; done += warmUpChunkRows {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("warm-up cancelled after %d of %d rows: %w", done, rows, err)
		}
		n := min(warmUpChunkRows, rows-done)
		x := model.SyntheticRows(p, n, seed+uint64(done))
		if out = p.Predict(out[:0], x, false); len(out) != n*p.NumOutputs() {
			return fmt.Errorf("warm-up: %d rows gave %d outputs, want %d (%d per row)", n, len(out), n*p.NumOutputs(), p.NumOutputs())
		}
		if out = p.Predict(out[:0], x, true); len(out) != n*p.NumMargins() {
			return fmt.Errorf("warm-up: %d rows gave %d raw outputs, want %d (%d per row)", n, len(out), n*p.NumMargins(), p.NumMargins())
		}
	}
	return nil
}
