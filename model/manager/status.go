package manager

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/predictd/predictd/model"
)

// ModelStatus reports a model's versions and labels.
type ModelStatus struct {
	Name string `json:"name"`
	// Versions lists every version with a state: loading, loaded, draining,
	// failed, or retired and still on disk; newest first.
	Versions []VersionStatus `json:"versions"`
	Labels   map[string]int  `json:"labels,omitempty"`
	// Error says why the model has nothing to load (its folder is missing
	// or empty, or policy versions are missing); failed versions carry
	// their own Error.
	Error string `json:"error,omitempty"`
}

// VersionStatus is one version's state; Error is set for a failed load and
// names the file and the reason.
type VersionStatus struct {
	Version int    `json:"version"`
	State   State  `json:"state"`
	Error   string `json:"error,omitempty"`
}

// Ready reports whether every model (configured or, without Models, found
// in the repository) has at least one AVAILABLE version. It is false before
// the first reconcile, after Close, and when there are no models at all.
func (m *Manager) Ready() bool { return m.snap.Load().ready }

// NotReady says why Ready is false, for a readiness probe's body: the
// first load still in progress, or the models that have no loaded
// version. It is "" when Ready is true.
func (m *Manager) NotReady() string {
	s := m.snap.Load()
	switch {
	case s.ready:
		return ""
	case s.closed:
		return "the model manager is closed"
	case len(s.names) == 0 && s.loading:
		return "loading: scanning the model repository"
	case len(s.names) == 0:
		return "no models in the repository"
	}
	var missing []string
	for _, name := range s.names {
		if len(s.models[name].avail) == 0 {
			missing = append(missing, name)
		}
	}
	const most = 10
	list := strings.Join(missing[:min(len(missing), most)], ", ")
	if len(missing) > most {
		list += fmt.Sprintf(" and %d more", len(missing)-most)
	}
	if s.loading {
		return "loading: no version loaded yet for " + list
	}
	return "no version loaded for " + list
}

// Names returns the known models, sorted: the configured ones, or without
// Models those found by the last scan.
func (m *Manager) Names() []string { return slices.Clone(m.snap.Load().names) }

// Status reports model name's versions (newest first) and labels; an
// unknown model is an error wrapping ErrNotFound.
func (m *Manager) Status(name string) (ModelStatus, error) {
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	ms := m.models[name]
	if ms == nil {
		return ModelStatus{}, fmt.Errorf("no model %q: %w", name, ErrNotFound)
	}
	st := ModelStatus{
		Name:     name,
		Versions: make([]VersionStatus, 0, len(ms.versions)),
		Labels:   maps.Clone(ms.labels),
		Error:    m.relative(ms.problem),
	}
	nums := slices.Sorted(maps.Keys(ms.versions))
	slices.Reverse(nums)
	for _, num := range nums {
		v := ms.versions[num]
		vs := VersionStatus{Version: num, State: v.State()}
		if v.loadErr != nil {
			vs.Error = m.relative(v.loadErr.Error())
		}
		st.Versions = append(st.Versions, vs)
	}
	return st, nil
}

// relative strips the repository's path from msg: status answers name
// files relative to the repository, so that they do not tell clients where
// the daemon's files are. Logs keep the full paths.
func (m *Manager) relative(msg string) string {
	for _, p := range []string{m.repoAbs, m.opts.Repo} {
		if p != "" && p != "." && p != "/" {
			msg = strings.ReplaceAll(msg, strings.TrimSuffix(p, string(filepath.Separator))+string(filepath.Separator), "")
		}
	}
	return msg
}

// LoadVersion pins version of model name so that it is wanted besides the
// policy (and no longer excluded by UnloadVersion), loads it now if it is
// not loaded, retrying a failed load, and returns the load error once the
// model's loads are done. The version must be on disk, else the error
// wraps ErrNotFound. After StopLoading the error wraps context.Canceled.
// Pins last until UnloadVersion of that version or the Manager's end.
func (m *Manager) LoadVersion(name string, version int) error {
	ms, err := m.pin(name, version)
	if err != nil {
		return err
	}
	if err := m.pass(ms, false, version); err != nil {
		return err
	}
	m.settle(ms)
	m.stateMu.Lock()
	v := ms.versions[version]
	var state State
	var loadErr error
	if v != nil {
		state, loadErr = v.State(), v.loadErr
	}
	m.stateMu.Unlock()
	switch {
	case v == nil:
		// Its folder went away meanwhile.
		return fmt.Errorf("load model %q version %d: no longer in the repository: %w", name, version, ErrNotFound)
	case loadErr != nil:
		return fmt.Errorf("load model %q version %d: %w", name, version, loadErr)
	case state != StateAvailable && m.ctx.Err() != nil:
		return fmt.Errorf("load model %q version %d: not loaded, the manager stopped loading: %w", name, version, m.ctx.Err())
	}
	return nil
}

// pin checks that version of model name is on disk and pins it (lifting
// an exclusion), adding the model to the table if it is new in discovery
// mode.
func (m *Manager) pin(name string, version int) (*modelState, error) {
	m.planMu.Lock()
	defer m.planMu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	ms := m.models[name]
	if ms == nil && m.configured {
		return nil, fmt.Errorf("load model %q version %d: the model is not configured: %w", name, version, ErrNotFound)
	}
	disk, err := model.Versions(m.opts.Repo, name)
	if errors.Is(err, model.ErrNotFound) {
		return nil, fmt.Errorf("load model %q version %d: no folder %s: %w", name, version, filepath.Join(m.opts.Repo, name), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("load model %q version %d: %w", name, version, err)
	}
	if !slices.Contains(disk, version) {
		return nil, fmt.Errorf("load model %q version %d: not in the repository (versions: %s): %w",
			name, version, intList(disk), ErrNotFound)
	}
	if ms == nil {
		// Discovery mode, and the model appeared since the last scan.
		ms = newModelState(ModelConfig{Name: name}, false)
		if err := m.loadLabels(ms); err != nil {
			return nil, fmt.Errorf("load model %q version %d: %w", name, version, err)
		}
		m.stateMu.Lock()
		m.models[name] = ms
		m.stateMu.Unlock()
	}
	ms.pinned[version] = true
	delete(ms.excluded, version)
	return ms, nil
}

// UnloadVersion retires version of model name and keeps it excluded from
// the wanted set (and unpinned) until LoadVersion of that version. The
// version must be AVAILABLE (else the error wraps ErrNotFound), and not the
// model's last AVAILABLE one: load another version first. Its Retired hook
// runs once its handles are released.
func (m *Manager) UnloadVersion(name string, version int) error {
	drop, err := m.unloadVersion(name, version)
	if err == nil {
		m.opts.Logf("model manager: model %s version %d: unloaded by request, unloading once its requests finish", name, version)
	}
	m.dropRefs(drop)
	return err
}

func (m *Manager) unloadVersion(name string, version int) ([]*instance, error) {
	m.planMu.Lock()
	defer m.planMu.Unlock()
	m.stateMu.Lock()
	defer m.stateMu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	ms := m.models[name]
	if ms == nil {
		return nil, fmt.Errorf("unload model %q version %d: no such model: %w", name, version, ErrNotFound)
	}
	avail := availableLocked(ms)
	v := ms.versions[version]
	if v == nil || v.State() != StateAvailable {
		return nil, fmt.Errorf("unload model %q: it has no version %d loaded (loaded: %s): %w", name, version, versionList(avail), ErrNotFound)
	}
	if len(avail) == 1 {
		return nil, fmt.Errorf("unload model %q version %d: refused, %w; load another version first", name, version, ErrLastVersion)
	}
	ms.excluded[version] = true
	delete(ms.pinned, version)
	v.setState(StateUnloading)
	m.publishLocked()
	return []*instance{v}, nil
}

// intList formats vs as "3, 4", or "none".
func intList(vs []int) string {
	if len(vs) == 0 {
		return "none"
	}
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, ", ")
}
