package manager

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// StableLabel is the label whose version takes the requests that name
// neither a version nor a label, and that Rollback moves back.
const StableLabel = "stable"

// MaxLabelHistory is how many label changes a model keeps (and persists),
// oldest dropped first.
const MaxLabelHistory = 16

// ErrNoRollback reports a Rollback of a model whose "stable" label has no
// earlier version to return to.
var ErrNoRollback = errors.New("no earlier stable version to roll back to")

// LabelStore persists a model's labels and their history, so that they
// survive a restart. The caller implements it (cmd/predictd does over
// rollout/state); the manager calls it with planMu held, from SetLabel,
// Rollback, Start and a discovery scan, never on the request path. It must
// be safe for concurrent use.
type LabelStore interface {
	// Load returns what Save stored for model, or a LabelState with nil
	// Labels when nothing is stored.
	Load(model string) (LabelState, error)
	// Save stores st for model durably before it returns nil.
	Save(model string, st LabelState) error
}

// LabelState is what a LabelStore keeps of one model.
type LabelState struct {
	// Labels maps each label to its version.
	Labels map[string]int `json:"labels"`
	// History lists the label changes, oldest first, at most
	// MaxLabelHistory.
	History []LabelChange `json:"history,omitempty"`
}

// LabelChange is one change of a label.
type LabelChange struct {
	Label string `json:"label"`
	// From is the version the label pointed at before (0: it was not set);
	// To the version after.
	From int `json:"from"`
	To   int `json:"to"`
	// At is when the change was made (Options.Now).
	At time.Time `json:"at"`
	// Rollback says Rollback made the change.
	Rollback bool `json:"rollback,omitempty"`
}

// SetLabel points label at version of model name, replacing a configured or
// earlier value. The version must be AVAILABLE, else the error wraps
// ErrNotFound; a label is 1-64 of [A-Za-z0-9_-]. With Options.Labels set,
// the new labels are saved first: if Save fails, the label keeps its old
// version and the error says why. The change is then published in one
// snapshot swap, so a request sees the old version or the new one, never
// neither. A labelled version stays wanted (loaded) while the label points
// at it; when "stable" moves, the version it left stays wanted for
// Options.RollbackHold. Setting a label to the version it already has
// changes nothing and records no history.
func (m *Manager) SetLabel(name, label string, version int) error {
	_, err := m.setLabel(name, label, version, -1)
	return err
}

// setLabel is SetLabel; with expect >= 0 it is Rollback's switch, which
// fails if the label no longer points at expect.
func (m *Manager) setLabel(name, label string, version, expect int) (from int, err error) {
	if err := checkLabel(label); err != nil {
		return 0, err
	}
	m.planMu.Lock()
	from, drop, logs, err := m.setLabelLocked(name, label, version, expect)
	m.planMu.Unlock()
	for _, line := range logs {
		m.opts.Logf("%s", line)
	}
	m.dropRefs(drop)
	return from, err
}

// setLabelLocked is setLabel with planMu held. Between the check and the
// publication the version cannot stop being AVAILABLE: only passes,
// UnloadVersion and Close retire a version, and they all hold planMu.
func (m *Manager) setLabelLocked(name, label string, version, expect int) (int, []*instance, []string, error) {
	if m.closed {
		return 0, nil, nil, ErrClosed
	}
	ms := m.models[name]
	if ms == nil {
		return 0, nil, nil, fmt.Errorf("label %q: no model %q: %w", label, name, ErrNotFound)
	}
	if err := m.loadLabels(ms); err != nil {
		return 0, nil, nil, fmt.Errorf("label %q: %w", label, err)
	}
	m.stateMu.Lock()
	if v := ms.versions[version]; v == nil || v.State() != StateAvailable {
		loaded := versionList(availableLocked(ms))
		m.stateMu.Unlock()
		return 0, nil, nil, fmt.Errorf("label %q: model %q has no version %d loaded (loaded: %s): %w",
			label, name, version, loaded, ErrNotFound)
	}
	from, had := ms.labels[label]
	m.stateMu.Unlock()
	if expect >= 0 && from != expect {
		return from, nil, nil, fmt.Errorf("label %q of model %q: it changed to version %d meanwhile (was %d); not rolled back", label, name, from, expect)
	}
	if had && from == version {
		return from, nil, nil, nil
	}
	// labels and history change only with both mutexes held, so planMu
	// suffices to read them here.
	next := LabelState{Labels: maps.Clone(ms.labels), History: slices.Clone(ms.history)}
	next.Labels[label] = version
	next.History = append(next.History, LabelChange{Label: label, From: from, To: version, At: m.opts.Now().Round(0), Rollback: expect >= 0})
	if n := len(next.History) - MaxLabelHistory; n > 0 {
		next.History = slices.Delete(next.History, 0, n)
	}
	if m.opts.Labels != nil {
		if err := m.opts.Labels.Save(name, next); err != nil {
			return from, nil, nil, fmt.Errorf("label %q of model %q: not changed (still version %d): saving the labels failed: %w", label, name, from, err)
		}
	}
	m.stateMu.Lock()
	ms.labels, ms.history = next.Labels, next.History
	m.publishLocked()
	m.stateMu.Unlock()
	logs := []string{fmt.Sprintf("model manager: model %s: label %q -> version %d (was %d)", name, label, version, from)}
	// The version the label left may no longer be wanted.
	drop, more, err := m.passLocked(ms, false, 0)
	if err != nil {
		logs = append(logs, fmt.Sprintf("model manager: model %s: pass after the label change: %v", name, err))
	}
	return from, drop, append(logs, more...), nil
}

// Rollback points "stable" back at the version it pointed at before its
// last change, and returns the versions it moved from and to. If that
// version is no longer loaded, it is loaded first (as LoadVersion, but not
// left pinned: the label keeps it wanted), and the switch happens only once
// it is AVAILABLE; the error then names the version and why it failed. The
// rollback is itself a change of "stable" (a second Rollback returns to
// where the first one started) and keeps the version it left loaded for
// Options.RollbackHold. An unset "stable", or one never changed since it
// was set, is an error wrapping ErrNoRollback.
func (m *Manager) Rollback(name string) (from, to int, err error) {
	m.stateMu.Lock()
	ms := m.models[name]
	var cur int
	var ok bool
	if ms != nil {
		cur, ok = ms.labels[StableLabel]
		to = previousStable(ms.history, cur)
	}
	closed := m.closed
	m.stateMu.Unlock()
	switch {
	case closed:
		return 0, 0, ErrClosed
	case ms == nil:
		return 0, 0, fmt.Errorf("rollback: no model %q: %w", name, ErrNotFound)
	case !ok:
		return 0, 0, fmt.Errorf("rollback model %q: label %q is not set: %w", name, StableLabel, ErrNoRollback)
	case to == 0:
		return cur, 0, fmt.Errorf("rollback model %q: label %q (version %d) has no earlier version in its history: %w", name, StableLabel, cur, ErrNoRollback)
	}
	m.planMu.Lock()
	wasPinned := ms.pinned[to]
	m.planMu.Unlock()
	if !m.available(ms, to) {
		m.opts.Logf("model manager: model %s: rollback to version %d: loading it first", name, to)
		if err := m.LoadVersion(name, to); err != nil {
			return cur, to, fmt.Errorf("rollback model %q from version %d to %d: %w", name, cur, to, err)
		}
	}
	_, err = m.setLabel(name, StableLabel, to, cur)
	if !wasPinned {
		m.planMu.Lock()
		delete(ms.pinned, to) // the label keeps it wanted
		m.planMu.Unlock()
	}
	if err != nil {
		return cur, to, fmt.Errorf("rollback model %q from version %d to %d: %w", name, cur, to, err)
	}
	return cur, to, nil
}

func (m *Manager) available(ms *modelState, num int) bool {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	v := ms.versions[num]
	return v != nil && v.State() == StateAvailable
}

// previousStable returns the version "stable" pointed at before its last
// change to cur, or 0.
func previousStable(history []LabelChange, cur int) int {
	for _, c := range slices.Backward(history) {
		if c.Label == StableLabel {
			if c.To != cur {
				return 0 // the history does not lead to the current value
			}
			return c.From
		}
	}
	return 0
}

// heldVersion returns the version "stable" left at its last change if that
// change is younger than hold at now (0: none), which stays wanted.
func heldVersion(history []LabelChange, hold time.Duration, now time.Time) int {
	for _, c := range slices.Backward(history) {
		if c.Label == StableLabel {
			if c.From != 0 && now.Before(c.At.Add(hold)) {
				return c.From
			}
			return 0
		}
	}
	return 0
}

// loadLabels replaces ms's labels with the persisted ones, if any. The
// caller holds planMu; ms is not yet in the table or stateMu is taken
// for the write.
func (m *Manager) loadLabels(ms *modelState) error {
	if m.opts.Labels == nil || ms.labelsLoaded {
		return nil
	}
	st, err := m.opts.Labels.Load(ms.name)
	if err != nil {
		return fmt.Errorf("model %q: load its labels: %w", ms.name, err)
	}
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	if st.Labels != nil {
		for label := range st.Labels {
			if err := checkLabel(label); err != nil {
				return fmt.Errorf("model %q: stored labels: %w", ms.name, err)
			}
		}
		ms.labels, ms.history = maps.Clone(st.Labels), slices.Clone(st.History)
	}
	ms.labelsLoaded = true
	return nil
}

// syncLabels catches ms up with the labels stored by other replicas
// sharing Options.Labels (a Redis state store): each stored label whose
// version is AVAILABLE here moves now, in one publish; one whose version
// is not yet is left at its old value, and its version becomes wanted
// (ms.remote) so that this pass loads it and a later one (the next poll)
// moves the label: a replica keeps serving the old version until it has
// the new one. Once every stored label is applied, the stored history
// replaces the local one (so Rollback and RollbackHold agree across
// replicas). A read error is logged once and changes nothing. The caller
// holds planMu.
func (m *Manager) syncLabels(ms *modelState) {
	if m.opts.Labels == nil {
		return
	}
	st, err := m.opts.Labels.Load(ms.name)
	if err != nil {
		if msg := err.Error(); msg != ms.syncErr {
			m.opts.Logf("model manager: model %s: read the stored labels: %v (keeping the labels in memory)", ms.name, err)
			ms.syncErr = msg
		}
		return
	}
	ms.syncErr = ""
	if st.Labels == nil {
		return
	}
	var logs []string
	defer func() {
		for _, line := range logs {
			m.opts.Logf("%s", line)
		}
	}()
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	if maps.Equal(st.Labels, ms.labels) && historyEqual(st.History, ms.history) {
		ms.remote = nil
		return
	}
	labels := maps.Clone(ms.labels)
	var remote map[int]bool
	moved := false
	for label, num := range st.Labels {
		if old, ok := labels[label]; ok && old == num {
			continue
		}
		if checkLabel(label) != nil {
			continue
		}
		if v := ms.versions[num]; v != nil && v.State() == StateAvailable {
			labels[label] = num
			moved = true
			logs = append(logs, fmt.Sprintf("model manager: model %s: label %q -> version %d (was %d), as stored by another replica", ms.name, label, num, ms.labels[label]))
			continue
		}
		if remote == nil {
			remote = map[int]bool{}
		}
		remote[num] = true
	}
	ms.remote = remote
	if moved {
		ms.labels = labels
		m.publishLocked()
	}
	if len(remote) == 0 {
		ms.history = slices.Clone(st.History)
	}
}

// historyEqual compares histories, times by Equal (a stored time has no
// monotonic reading and may have another *Location).
func historyEqual(a, b []LabelChange) bool {
	return slices.EqualFunc(a, b, func(x, y LabelChange) bool {
		return x.Label == y.Label && x.From == y.From && x.To == y.To && x.Rollback == y.Rollback && x.At.Equal(y.At)
	})
}
