package manager

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/predictd/predictd/model"
)

// State is a version's lifecycle state, named as in TF Serving.
type State string

const (
	StateStart     State = "START"     // wanted, waiting to load
	StateLoading   State = "LOADING"   // opening, warming, preparing
	StateAvailable State = "AVAILABLE" // published: takes traffic
	StateUnloading State = "UNLOADING" // retired; handles still out
	StateEnd       State = "END"       // drained, or failed to load (Error set)
)

var states = [...]State{StateStart, StateLoading, StateAvailable, StateUnloading, StateEnd}

// instance is one load of one model version.
type instance struct {
	m     *Manager
	model string
	num   int

	// Set by the load before publication; immutable after.
	loaded   *model.Loaded
	attached any

	// refs is 1 (published) + the live handles; 0 once finished. See the
	// package doc.
	refs  atomic.Int64
	state atomic.Int32 // index into states

	// done is closed when the load is over and the pass after it ran:
	// the version is no longer in flight (see settle).
	done chan struct{}

	// Set when the load failed; guarded by stateMu.
	loadErr error
	sig     string // the folder's signature when the load began
	retry   bool   // Reload or LoadVersion asked for another attempt
}

// inFlight reports whether v's load, or the pass after it, is not over.
func (v *instance) inFlight() bool {
	select {
	case <-v.done:
		return false
	default:
		return true
	}
}

func (v *instance) State() State     { return states[v.state.Load()] }
func (v *instance) setState(s State) { v.state.Store(int32(stateIndex(s))) }

func stateIndex(s State) int {
	for i, t := range states {
		if t == s {
			return i
		}
	}
	panic("BUG: manager: unknown state " + string(s))
}

// tryRef takes a reference unless v has finished. It must not increment a
// count of 0: the version's Retired hook may have run.
func (v *instance) tryRef() bool {
	for {
		n := v.refs.Load()
		if n <= 0 {
			return false
		}
		if v.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// unref drops a reference; the last one finishes v.
func (v *instance) unref() {
	n := v.refs.Add(-1)
	if n > 0 {
		return
	}
	if n < 0 {
		panic(fmt.Sprintf("BUG: manager: model %q version %d released more times than acquired", v.model, v.num))
	}
	if s := v.State(); s != StateUnloading {
		panic(fmt.Sprintf("BUG: manager: model %q version %d lost its last reference while %s: a Handle was released twice", v.model, v.num, s))
	}
	if hook := v.m.opts.Retired; hook != nil {
		hook(v.loaded, v.attached)
	}
	// The version stays in the table (its status is END) while its folder
	// is on disk; its model must not: every reload would otherwise keep
	// one more model in memory (the soak benchmark's heap grew 0.25 MB a
	// reload). No Handle can read these any more: refs is 0 for good.
	v.loaded, v.attached = nil, nil
	v.setState(StateEnd)
	v.m.opts.Logf("model manager: model %s version %d: unloaded", v.model, v.num)
}

// Handle is a counted reference to an AVAILABLE model version, taken by
// Acquire. The version stays loaded (its Retired hook does not run) until
// Release. The fields are read-only and valid only until Release; a Handle
// belongs to one request and must not outlive it.
type Handle struct {
	// Loaded is the model version: manifest, folder and Predictor.
	Loaded *model.Loaded
	// Version is Loaded.Manifest.Version.
	Version int
	// Attached is what Options.Prepare returned for this version (nil
	// without Prepare).
	Attached any

	v        *instance
	released atomic.Bool
}

// handlePool recycles Handles so that Acquire does not allocate. A
// per-version preallocated handle (no pool) would lose the per-acquisition
// released flag that catches most double Releases.
var handlePool = sync.Pool{New: func() any { return new(Handle) }}

func getHandle(v *instance) *Handle {
	var h *Handle
	if recycleHandles {
		h = handlePool.Get().(*Handle)
	} else {
		h = new(Handle)
	}
	h.Loaded, h.Version, h.Attached, h.v = v.loaded, v.num, v.attached, v
	h.released.Store(false)
	return h
}

// Release gives the handle back. Call it exactly once per Acquire; a second
// call panics with a BUG: message (reliably under -tags invariants; see the
// package doc). The last Release of a retired version runs its Retired hook
// in the calling goroutine.
func (h *Handle) Release() {
	if !h.released.CompareAndSwap(false, true) || h.v == nil {
		panic("BUG: manager: Handle.Release called twice, or on a Handle not from Acquire")
	}
	v := h.v
	// Clear the fields so a use after Release fails loudly.
	h.Loaded, h.Version, h.Attached, h.v = nil, 0, nil, nil
	if recycleHandles {
		handlePool.Put(h)
	}
	v.unref()
}

// snapshot is what requests read: immutable once stored in Manager.snap.
type snapshot struct {
	models map[string]*modelSnap
	names  []string // every known model, sorted
	ready  bool
	closed bool
	// loading: the first reconcile has not finished; a model without a
	// version then answers ErrLoading rather than ErrNotFound.
	loading bool
}

type modelSnap struct {
	name   string
	avail  []*instance // AVAILABLE, ascending version
	labels map[string]int
	// stable is the version the "stable" label points at, if it is
	// AVAILABLE: the default route.
	stable *instance
}

// Acquire returns a handle to a version of model name: the given version,
// the version the label points at, or, with version 0 and label "", the
// version the "stable" label points at when it is set and that version is
// AVAILABLE, else the highest AVAILABLE version. With both set, the label must point at that
// version. Errors wrap ErrNotFound for an unknown model, a version that is
// not AVAILABLE, or a label that is not set or points at a version that is
// not AVAILABLE; after Close they wrap ErrClosed. Acquire takes no lock and
// does not allocate on success; the caller must Release the handle. It
// keeps no reference to name or label (errors copy them), so they may alias
// a request buffer that is reused after the call.
func (m *Manager) Acquire(name string, version int, label string) (*Handle, error) {
	for {
		s := m.snap.Load()
		ms := s.models[name]
		if ms == nil {
			return nil, s.unknown(name)
		}
		v, err := ms.pick(version, label, s.loading)
		if err != nil {
			return nil, err
		}
		if v.tryRef() {
			return getHandle(v), nil
		}
		// v was retired after s was loaded: its published reference is
		// dropped only after a snapshot without it is stored, so the next
		// Load sees that newer snapshot.
	}
}

func (s *snapshot) unknown(name string) error {
	if s.closed {
		return fmt.Errorf("model %q: %w", name, ErrClosed)
	}
	if s.loading {
		return fmt.Errorf("model %q: %w", name, ErrLoading)
	}
	// The names of the other models are not listed: this answer goes to
	// unauthenticated clients (GET /v1/models/NAME lists one model's
	// versions to whoever names it).
	return fmt.Errorf("no model %q: %w", name, ErrNotFound)
}

// pick finds the AVAILABLE version that version and label select.
func (ms *modelSnap) pick(version int, label string, loading bool) (*instance, error) {
	if label != "" {
		lv, ok := ms.labels[label]
		if !ok {
			return nil, fmt.Errorf("label %q of model %q is not set: %w", label, ms.name, ErrNotFound)
		}
		if version != 0 && version != lv {
			return nil, fmt.Errorf("label %q of model %q points at version %d, not %d: %w", label, ms.name, lv, version, ErrNotFound)
		}
		if v := ms.find(lv); v != nil {
			return v, nil
		}
		return nil, fmt.Errorf("label %q of model %q points at version %d, which is not loaded (loaded: %s): %w",
			label, ms.name, lv, versionList(ms.avail), ErrNotFound)
	}
	if version == 0 {
		if ms.stable != nil {
			return ms.stable, nil
		}
		if len(ms.avail) == 0 {
			if loading {
				return nil, fmt.Errorf("model %q: %w", ms.name, ErrLoading)
			}
			return nil, fmt.Errorf("model %q has no version loaded: %w", ms.name, ErrNotFound)
		}
		return ms.avail[len(ms.avail)-1], nil
	}
	if v := ms.find(version); v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("model %q has no version %d loaded (loaded: %s): %w", ms.name, version, versionList(ms.avail), ErrNotFound)
}

func (ms *modelSnap) find(num int) *instance {
	lo, hi := 0, len(ms.avail)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ms.avail[mid].num < num {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(ms.avail) && ms.avail[lo].num == num {
		return ms.avail[lo]
	}
	return nil
}

// versionList formats vs as "3, 4", or "none".
func versionList(vs []*instance) string {
	if len(vs) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(v.num))
	}
	return b.String()
}
