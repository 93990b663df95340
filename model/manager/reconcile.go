package manager

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/predictd/predictd/model"
)

// reconcileAll runs a pass of every model, discovering the repository's
// models first unless Options.Models is set. force marks every failed
// version for a retry (Reload). wait waits until the loads those passes
// started, and those their completions started in turn, are done; the
// poller does not wait, so that a slow load holds back no other model.
// It returns repository read errors, not load failures. The caller holds
// no lock.
func (m *Manager) reconcileAll(force, wait bool) error {
	list, errs, err := m.discover()
	if err != nil {
		return err
	}
	for _, ms := range list {
		if err := m.pass(ms, force, 0); err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			errs = append(errs, err)
		}
	}
	if wait {
		for _, ms := range list {
			m.settle(ms)
		}
	}
	m.stateMu.Lock()
	m.scanned = true
	m.publishLocked()
	m.stateMu.Unlock()
	return errors.Join(errs...)
}

// discover returns the models to reconcile, by name: the configured ones,
// or the models of the version table after adding every model folder the
// repository has now (one whose folder went away leaves the table at its
// next pass). An unreadable repository is an error and changes nothing: a
// mount hiccup must not retire what is serving. A model seen for the first
// time gets its persisted labels (Options.Labels); one whose labels cannot
// be read is left out of this round (it loads nothing, rather than serve
// by labels that are not the operator's) and its error is in errs. A
// model seen before catches up with label changes other replicas stored
// (syncLabels).
func (m *Manager) discover() (list []*modelState, errs []error, err error) {
	m.planMu.Lock()
	defer m.planMu.Unlock()
	if m.closed {
		return nil, nil, ErrClosed
	}
	if !m.configured {
		names, err := model.Models(m.opts.Repo)
		if err != nil {
			return nil, nil, fmt.Errorf("scan model repository: %w", err)
		}
		m.stateMu.Lock()
		for _, n := range names {
			if m.models[n] == nil {
				m.models[n] = newModelState(ModelConfig{Name: n}, false)
			}
		}
		m.stateMu.Unlock()
	}
	list = make([]*modelState, 0, len(m.models))
	for _, name := range slices.Sorted(maps.Keys(m.models)) {
		ms := m.models[name]
		if ms.labelsLoaded {
			m.syncLabels(ms)
		} else if err := m.loadLabels(ms); err != nil {
			errs = append(errs, err)
			continue
		}
		list = append(list, ms)
	}
	return list, errs, nil
}

// pass runs the source, the plan and the decision once for ms: it queues
// the loads due on the loader pool, retires, forgets and publishes, and
// returns without waiting for the loads (each one's completion runs
// another pass). force marks every failed version of ms for a retry,
// retry (if not 0) that one version. It returns ErrClosed after Close and
// a read error of ms's folder, which changes nothing. The caller holds no
// lock; retired versions' references are dropped after unlocking.
func (m *Manager) pass(ms *modelState, force bool, retry int) error {
	m.planMu.Lock()
	drop, logs, err := m.passLocked(ms, force, retry)
	m.planMu.Unlock()
	for _, line := range logs {
		m.opts.Logf("%s", line)
	}
	m.dropRefs(drop)
	return err
}

// passLocked is pass with planMu held; it returns the retired versions
// and the log lines of the decision.
func (m *Manager) passLocked(ms *modelState, force bool, retry int) ([]*instance, []string, error) {
	if m.closed {
		return nil, nil, ErrClosed
	}
	if m.models[ms.name] != ms {
		return nil, nil, nil // its folder went away and a pass removed it
	}
	a, err := m.aspire(ms)
	if err != nil {
		m.stateMu.Lock()
		ms.problem = err.Error()
		m.stateMu.Unlock()
		return nil, nil, fmt.Errorf("model %q: %w", ms.name, err)
	}
	sigs := m.failedSigs(ms)

	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	in := planInput{Disk: a.disk, Gone: a.gone, Wanted: a.wanted, Excluded: ms.excluded, Labels: ms.labels}
	for _, num := range slices.Sorted(maps.Keys(ms.versions)) {
		v := ms.versions[num]
		failed := v.loadErr != nil
		if failed && (force || num == retry) {
			v.retry = true
		}
		sig, read := sigs[num]
		in.Versions = append(in.Versions, versionView{
			Num:    num,
			State:  v.State(),
			Failed: failed,
			Retry:  failed && (v.retry || read && sig != v.sig),
		})
	}
	d := plan(in)
	if m.ctx.Err() != nil {
		// StopLoading: nothing new loads; what is loaded serves on.
		d.Load, d.Fallback = nil, false
	}
	if len(d.Retire) > 0 && m.opts.Event != nil {
		// The hook may do I/O: told without stateMu. The decision holds
		// meanwhile: entries of the table and AVAILABLE states change only
		// under planMu, which this pass holds (a load completing in
		// between only makes the plan more cautious than it need be).
		m.stateMu.Unlock()
		d.Retire = m.announceRetire(ms, d.Retire, a.gone)
		m.stateMu.Lock()
	}

	ms.problem = a.problem
	for _, num := range d.Load {
		v := &instance{m: m, model: ms.name, num: num, done: make(chan struct{})} // state START
		ms.versions[num] = v
		m.pool.submit(m.loadJob(ms, v))
	}
	drop := make([]*instance, 0, len(d.Retire))
	for _, num := range d.Retire {
		v := ms.versions[num]
		v.setState(StateUnloading)
		drop = append(drop, v)
	}
	for _, num := range d.Forget {
		delete(ms.versions, num)
	}
	if a.gone && !ms.configured && len(d.Load) == 0 && len(d.Wait) == 0 {
		delete(m.models, ms.name)
	}
	m.publishLocked()
	return drop, m.decisionLogs(ms, d), nil
}

// decisionLogs returns the log lines of decision d for ms: fallbacks,
// retirements, and changes of the kept version and of the labels that
// point at nothing loaded (each logged once, not at every pass). The
// caller holds planMu and stateMu.
func (m *Manager) decisionLogs(ms *modelState, d decision) []string {
	var logs []string
	if d.Fallback {
		logs = append(logs, fmt.Sprintf("model manager: model %s: no wanted version loaded; falling back to version %d", ms.name, d.Load[0]))
	}
	for _, num := range d.Retire {
		logs = append(logs, fmt.Sprintf("model manager: model %s version %d: retired, unloading once its requests finish", ms.name, num))
	}
	// Only a decision that waits for nothing says what is kept: while a
	// wanted version loads, the old one serves on as a matter of course.
	if len(d.Load) == 0 && len(d.Wait) == 0 && d.Keep != ms.kept {
		if d.Keep != 0 {
			logs = append(logs, fmt.Sprintf("model manager: model %s: keeping version %d, which the policy no longer wants, because no wanted version is available", ms.name, d.Keep))
		}
		ms.kept = d.Keep
	}
	dangling := make(map[string]int, len(d.Dangling))
	for _, label := range d.Dangling {
		v := ms.labels[label]
		dangling[label] = v
		if old, ok := ms.dangling[label]; !ok || old != v {
			logs = append(logs, fmt.Sprintf("model manager: model %s: label %q points at version %d, which is not loaded: Acquire by the label fails", ms.name, label, v))
		}
	}
	ms.dangling = dangling
	return logs
}

// failedSigs reads the folder signature of each of ms's failed versions,
// for the plan's Retry. The caller holds planMu; the folders are read
// without stateMu, so a version that fails meanwhile has no entry (it was
// just tried: nothing to retry).
func (m *Manager) failedSigs(ms *modelState) map[int]string {
	m.stateMu.Lock()
	var failed []int
	for num, v := range ms.versions {
		if v.loadErr != nil {
			failed = append(failed, num)
		}
	}
	m.stateMu.Unlock()
	dir := filepath.Join(m.opts.Repo, ms.name)
	sigs := make(map[int]string, len(failed))
	for _, num := range failed {
		sigs[num] = folderSig(versionDir(dir, num))
	}
	return sigs
}

// settle waits until no load of ms is in flight. A load's completion runs
// a pass of ms before it counts as done, so once none is in flight the
// plan's follow-ups (retirements, fallbacks) have happened too. The caller
// holds no lock. Loads stop soon after StopLoading or Close, so neither
// waits long here.
func (m *Manager) settle(ms *modelState) {
	for {
		var busy *instance
		m.stateMu.Lock()
		for _, v := range ms.versions {
			if v.inFlight() {
				busy = v
				break
			}
		}
		m.stateMu.Unlock()
		if busy == nil {
			return
		}
		<-busy.done
	}
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
		snap := &modelSnap{name: name, avail: avail, labels: maps.Clone(ms.labels)}
		if num, ok := ms.labels[StableLabel]; ok {
			snap.stable = snap.find(num)
		}
		s.models[name] = snap
	}
	if invariants {
		checkSnapshot(s)
	}
	m.snap.Store(s)
}

// availableLocked returns ms's AVAILABLE versions, ascending. The caller
// holds stateMu.
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
