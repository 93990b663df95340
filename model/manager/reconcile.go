package manager

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/predictd/predictd/model"
)

// reconcileAll scans the repository and reconciles every model; force
// retries versions that failed before. The caller holds reconcileMu and
// drops the returned versions' published references after unlocking it.
func (m *Manager) reconcileAll(force bool) ([]*instance, error) {
	if !m.configured {
		names, err := model.Models(m.opts.Repo)
		if err != nil {
			// Change nothing: an unreadable repository (a mount hiccup)
			// must not retire what is serving.
			return nil, fmt.Errorf("scan model repository: %w", err)
		}
		m.stateMu.Lock()
		for _, n := range names {
			if m.models[n] == nil {
				m.models[n] = newModelState(ModelConfig{Name: n}, false)
			}
		}
		m.stateMu.Unlock()
	}
	var drop []*instance
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m.models)) {
		d, err := m.reconcileModel(m.models[name], force, 0)
		drop = append(drop, d...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	m.stateMu.Lock()
	m.scanned = true
	m.publishLocked()
	m.stateMu.Unlock()
	return drop, errors.Join(errs...)
}

// reconcileModel brings ms's loaded versions to what its policy, pins and
// exclusions want from the versions on disk: it loads and publishes the
// missing ones, newest first, then retires the unwanted ones, keeping the
// model's last available version unless the model folder is gone. force
// retries every failed version, retry that one version (0: none); other
// failed versions are retried only if their folder changed. The caller
// holds reconcileMu and drops the returned versions' published references
// after unlocking it.
func (m *Manager) reconcileModel(ms *modelState, force bool, retry int) ([]*instance, error) {
	dir := filepath.Join(m.opts.Repo, ms.name)
	disk, err := model.Versions(m.opts.Repo, ms.name)
	gone := errors.Is(err, model.ErrNotFound)
	if err != nil && !gone {
		m.stateMu.Lock()
		ms.problem = err.Error()
		m.stateMu.Unlock()
		// Change nothing, as for an unreadable repository.
		return nil, fmt.Errorf("model %q: %w", ms.name, err)
	}
	onDisk := make(map[int]bool, len(disk))
	for _, v := range disk {
		onDisk[v] = true
	}
	wanted := ms.policy.apply(disk)
	for v := range ms.pinned {
		if onDisk[v] && !slices.Contains(wanted, v) {
			wanted = append(wanted, v)
		}
	}
	wanted = slices.DeleteFunc(wanted, func(v int) bool { return ms.excluded[v] })
	slices.Sort(wanted)
	slices.Reverse(wanted) // newest first: the likely default version serves soonest
	isWanted := make(map[int]bool, len(wanted))
	for _, v := range wanted {
		isWanted[v] = true
	}

	var problem string
	switch {
	case gone:
		problem = fmt.Sprintf("no model folder %s", dir)
	case len(disk) == 0:
		problem = fmt.Sprintf("no versions in %s", dir)
	case len(ms.policy.Versions) > 0:
		var missing []string
		for _, v := range ms.policy.Versions {
			if !onDisk[v] {
				missing = append(missing, strconv.Itoa(v))
			}
		}
		if len(missing) > 0 {
			problem = fmt.Sprintf("policy versions %s are not in %s", strings.Join(missing, ", "), dir)
		}
	}

	// Decide what to load. A failed version is retried only when asked to,
	// or when its folder changed: retrying on every poll would spin.
	var toLoad []*instance
	for _, num := range wanted {
		if old := ms.versions[num]; old != nil {
			switch old.State() {
			case StateAvailable:
				continue
			case StateEnd:
				if old.loadErr != nil && !force && num != retry && old.sig == folderSig(versionDir(dir, num)) {
					continue
				}
			}
		}
		// An UNLOADING version wanted again is loaded afresh: its count may
		// be reaching 0, so it cannot be safely revived.
		toLoad = append(toLoad, &instance{m: m, model: ms.name, num: num}) // state START
	}
	m.stateMu.Lock()
	ms.problem = problem
	for _, v := range toLoad {
		ms.versions[v.num] = v
	}
	m.stateMu.Unlock()

	for _, v := range toLoad {
		m.loadOne(v, dir)
	}

	if !gone && len(wanted) > 0 && len(availableLocked(ms)) == 0 {
		m.fallBack(ms, disk, isWanted, force)
	}

	// Retire only now that the new versions serve (availability first).
	var avail, retire []*instance
	for _, num := range slices.Sorted(maps.Keys(ms.versions)) {
		v := ms.versions[num]
		if v.State() != StateAvailable {
			continue
		}
		avail = append(avail, v)
		if gone || !isWanted[num] {
			retire = append(retire, v)
		}
	}
	kept := 0
	if !gone && len(retire) > 0 && len(retire) == len(avail) {
		kept = retire[len(retire)-1].num
		retire = retire[:len(retire)-1]
	}
	if kept != ms.kept {
		if kept != 0 {
			m.opts.Logf("model manager: model %s: keeping version %d, which the policy no longer wants, because no wanted version is available", ms.name, kept)
		}
		ms.kept = kept
	}
	m.stateMu.Lock()
	for _, v := range retire {
		v.setState(StateUnloading)
	}
	for num, v := range ms.versions {
		if !onDisk[num] && v.State() == StateEnd {
			delete(ms.versions, num)
		}
	}
	if gone && !ms.configured {
		delete(m.models, ms.name)
	}
	m.publishLocked()
	m.stateMu.Unlock()
	for _, v := range retire {
		m.opts.Logf("model manager: model %s version %d: retired, unloading once its requests finish", v.model, v.num)
	}
	return retire, nil
}

// loadOne loads v (in state START), publishes it if the load succeeds and
// records the failure otherwise. It reports whether v is AVAILABLE. The
// caller holds reconcileMu.
func (m *Manager) loadOne(v *instance, dir string) bool {
	sig := folderSig(versionDir(dir, v.num)) // before the load, so a change during it triggers a retry
	v.setState(StateLoading)
	m.loads.Add(1)
	start := time.Now()
	err := m.load(v)
	m.stateMu.Lock()
	if err != nil {
		v.loadErr, v.sig = err, sig
		v.setState(StateEnd)
	} else {
		v.refs.Store(1) // the published reference
		v.setState(StateAvailable)
		m.publishLocked()
	}
	m.stateMu.Unlock()
	switch {
	case err == nil:
		m.opts.Logf("model manager: model %s version %d: available (loaded and warmed in %s)", v.model, v.num, time.Since(start).Round(time.Microsecond))
	case m.ctx.Err() != nil:
		m.opts.Logf("model manager: model %s version %d: load cancelled: the manager is closing", v.model, v.num)
	default:
		m.opts.Logf("model manager: model %s version %d: load failed, serving continues on the loaded versions: %v", v.model, v.num, err)
		// A failed load may have allocated much before it failed (a
		// payload that decodes to more than it declares, say): give the
		// memory back now rather than at the next GC cycles.
		debug.FreeOSMemory()
	}
	return err == nil
}

// fallBack serves an older version of ms when none of its wanted versions
// loaded and none is available: on a restart with a corrupt newest
// version, the daemon serves the newest version on disk that loads, as it
// would have kept serving it had it been running. The fallback is unwanted
// by the policy, so it stays only while no wanted version is available
// (the retire step keeps the last available version). Versions that failed
// before are retried only if forced or changed, as wanted ones are. The
// caller holds reconcileMu.
func (m *Manager) fallBack(ms *modelState, disk []int, isWanted map[int]bool, force bool) {
	dir := filepath.Join(m.opts.Repo, ms.name)
	older := slices.Clone(disk)
	slices.Sort(older)
	slices.Reverse(older)
	for _, num := range older {
		if isWanted[num] || ms.excluded[num] || m.ctx.Err() != nil {
			continue
		}
		if old := ms.versions[num]; old != nil {
			if old.State() != StateEnd {
				continue // loading or unloading: not a candidate now
			}
			if old.loadErr != nil && !force && old.sig == folderSig(versionDir(dir, num)) {
				continue
			}
		}
		v := &instance{m: m, model: ms.name, num: num}
		m.stateMu.Lock()
		ms.versions[num] = v
		m.stateMu.Unlock()
		m.opts.Logf("model manager: model %s: no wanted version loaded; falling back to version %d", ms.name, num)
		if m.loadOne(v, dir) {
			return
		}
	}
}

// load opens, warms and prepares v. It sets v.loaded and v.attached on
// success. Close cancels it: model.OpenContext and the warm-up stop soon
// after (see their docs for what runs to its end once started) with an
// error wrapping context.Canceled.
func (m *Manager) load(v *instance) error {
	l, err := model.OpenContext(m.ctx, m.opts.Repo, v.model, v.num)
	if err != nil {
		return err // it names the file
	}
	if err := warmUp(m.ctx, l.Model, m.opts.WarmupRows, uint64(v.num)); err != nil {
		return fmt.Errorf("%s: %w", l.Dir, err)
	}
	if m.opts.Prepare != nil {
		a, err := m.opts.Prepare(l)
		if err != nil {
			return fmt.Errorf("%s: prepare: %w", l.Dir, err)
		}
		v.attached = a
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

// publishLocked builds a snapshot from the version table and stores it.
// The caller holds stateMu.
func (m *Manager) publishLocked() {
	s := &snapshot{
		models: make(map[string]*modelSnap, len(m.models)),
		names:  slices.Sorted(maps.Keys(m.models)),
		closed: m.closed,
		ready:  m.scanned && !m.closed && len(m.models) > 0,
		// loading: before the first reconcile ends.
		loading: !m.scanned && !m.closed,
	}
	if m.closed {
		// Acquire reports ErrClosed for every name.
		m.snap.Store(s)
		return
	}
	for name, ms := range m.models {
		avail := availableLocked(ms)
		if len(avail) == 0 {
			s.ready = false
		}
		s.models[name] = &modelSnap{name: name, avail: avail, labels: maps.Clone(ms.labels)}
	}
	if invariants {
		checkSnapshot(s)
	}
	m.snap.Store(s)
}

// availableLocked returns ms's AVAILABLE versions, ascending. The caller
// holds stateMu or reconcileMu.
func availableLocked(ms *modelState) []*instance {
	var avail []*instance
	for _, v := range ms.versions {
		if v.State() == StateAvailable {
			avail = append(avail, v)
		}
	}
	slices.SortFunc(avail, func(a, b *instance) int { return a.num - b.num })
	return avail
}
