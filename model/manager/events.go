package manager

import (
	"fmt"
	"strconv"
)

// The manager's own changes (a version published, failed or retired by a
// pass) are told to Options.Event before they take effect, so that a
// caller can record them first (the daemon's audit log, rollout/audit)
// and veto them when it cannot. Admin calls (LoadVersion, UnloadVersion,
// SetLabel, Rollback) are the caller's to record before it makes them;
// what a LoadVersion then loads, or a label move then retires, is still
// told here, as the manager does it.

// EventKind says what an Event announces.
type EventKind int

// The events.
const (
	// EventLoad: a version loaded, warmed and prepared, about to be
	// published (take traffic). An error from the hook fails the load:
	// the version never takes traffic, its status is END with the hook's
	// error, and Options.Retired runs for what Prepare returned.
	EventLoad EventKind = iota + 1
	// EventLoadFailed: a version's load failed (not cancelled by
	// StopLoading or Close): Err says why. Told before the failure is
	// recorded; the hook's error is only logged, since there is nothing
	// to undo.
	EventLoadFailed
	// EventUnload: a pass is about to retire a version (the policy no
	// longer wants it, a label left it, its folder went away): told
	// before it leaves the snapshot. An error from the hook keeps the
	// version serving; the next pass (poll, Reload) tries again. Not told
	// for UnloadVersion (an admin call) nor for Close's retirement of
	// every version.
	EventUnload
)

// String returns the kind's name: "load", "load_failed", "unload".
func (k EventKind) String() string {
	switch k {
	case EventLoad:
		return "load"
	case EventLoadFailed:
		return "load_failed"
	case EventUnload:
		return "unload"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is what Options.Event is told.
type Event struct {
	Kind    EventKind
	Model   string
	Version int
	// Err is why the load failed (EventLoadFailed only).
	Err error
	// Reason says why, in words: "folder removed" or "no longer wanted"
	// for EventUnload; "" otherwise.
	Reason string
}

// event tells Options.Event about e; nil without a hook.
func (m *Manager) event(e Event) error {
	if m.opts.Event == nil {
		return nil
	}
	return m.opts.Event(e)
}

// announceRetire tells Options.Event of each version in retire (ms's
// versions a pass is about to retire) and returns those whose event was
// accepted. The caller holds planMu and not stateMu: the hook may do I/O
// (an fsync). Versions stay AVAILABLE meanwhile, since only holders of
// planMu retire a version. A refused retirement is logged, at most once
// per model version and error.
func (m *Manager) announceRetire(ms *modelState, retire []int, gone bool) []int {
	reason := "no longer wanted"
	if gone {
		reason = "folder removed"
	}
	kept := retire[:0:0]
	for _, num := range retire {
		err := m.event(Event{Kind: EventUnload, Model: ms.name, Version: num, Reason: reason})
		key := ms.name + "/" + strconv.Itoa(num)
		if err != nil {
			if msg := err.Error(); m.eventErrs[key] != msg {
				m.eventErrs[key] = msg
				m.opts.Logf("model manager: model %s version %d: not retired, the event hook refused: %v; serving on, the next pass tries again", ms.name, num, err)
			}
			continue
		}
		delete(m.eventErrs, key)
		kept = append(kept, num)
	}
	return kept
}

// RollbackTarget returns the versions Rollback(name) would move "stable"
// from and to now, changing nothing, with the errors Rollback would
// return before it acts (ErrClosed, ErrNotFound, ErrNoRollback). A caller
// records the rollback with them before it calls Rollback; a label change
// in between makes Rollback fail rather than move another way, since it
// switches only if "stable" still points at from.
func (m *Manager) RollbackTarget(name string) (from, to int, err error) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	ms := m.models[name]
	switch {
	case m.closed:
		return 0, 0, ErrClosed
	case ms == nil:
		return 0, 0, fmt.Errorf("rollback: no model %q: %w", name, ErrNotFound)
	}
	cur, ok := ms.labels[StableLabel]
	if !ok {
		return 0, 0, fmt.Errorf("rollback model %q: label %q is not set: %w", name, StableLabel, ErrNoRollback)
	}
	to = previousStable(ms.history, cur)
	if to == 0 {
		return cur, 0, fmt.Errorf("rollback model %q: label %q (version %d) has no earlier version in its history: %w", name, StableLabel, cur, ErrNoRollback)
	}
	return cur, to, nil
}
