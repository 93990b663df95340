package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
)

// Fixtures: a tree ensemble (exercises model.SyntheticRows' split-aware
// rows) and a dense model.
var (
	treeFixture  = fixtureSpec{"xgboost", "../../testdata/xgboost/gbtree_binary_logistic.json"}
	denseFixture = fixtureSpec{"native", "../../testdata/native/logreg_binary.model.json"}
)

type fixtureSpec struct{ format, path string }

var (
	importedMu sync.Mutex
	imported   = map[fixtureSpec]*model.Imported{}
)

func load(t testing.TB, f fixtureSpec) *model.Imported {
	t.Helper()
	importedMu.Lock()
	defer importedMu.Unlock()
	if imp := imported[f]; imp != nil {
		return imp
	}
	imp, err := importer.ImportFile(f.format, f.path)
	if err != nil {
		t.Fatalf("ImportFile(%q, %q): %v", f.format, f.path, err)
	}
	imported[f] = imp
	return imp
}

// write stores the tree fixture as version v of model name.
func write(t testing.TB, repo, name string, v int) string {
	t.Helper()
	return writeFixture(t, repo, name, v, treeFixture)
}

func writeFixture(t testing.TB, repo, name string, v int, f fixtureSpec) string {
	t.Helper()
	_, dir, err := model.Write(repo, name, load(t, f), model.WriteOptions{Version: v})
	if err != nil {
		t.Fatalf("model.Write(%s, %s, v%d): %v", repo, name, v, err)
	}
	return dir
}

// remove deletes a version folder atomically (rename out of the way first),
// as a careful operator would.
func remove(t testing.TB, repo, name string, v int) {
	t.Helper()
	dir := filepath.Join(repo, name, fmt.Sprint(v))
	tmp := filepath.Join(repo, name, fmt.Sprintf(".del-%d", v))
	if err := os.Rename(dir, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
}

// start makes a Manager and starts it; Close runs at the end of the test.
func start(t testing.TB, opts Options) *Manager {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	m, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(m.Close)
	if err := m.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return m
}

// statusLine renders a model's status as "3:AVAILABLE 2:END", newest first.
func statusLine(t testing.TB, m *Manager, name string) string {
	t.Helper()
	st, err := m.Status(name)
	if err != nil {
		t.Fatalf("Status(%q): %v", name, err)
	}
	parts := make([]string, len(st.Versions))
	for i, v := range st.Versions {
		parts[i] = fmt.Sprintf("%d:%s", v.Version, v.State)
	}
	return strings.Join(parts, " ")
}

func wantStates(t testing.TB, m *Manager, name, want string) {
	t.Helper()
	if got := statusLine(t, m, name); got != want {
		t.Fatalf("Status(%q) versions = %q, want %q", name, got, want)
	}
}

func versionStatus(t testing.TB, m *Manager, name string, v int) VersionStatus {
	t.Helper()
	st, err := m.Status(name)
	if err != nil {
		t.Fatalf("Status(%q): %v", name, err)
	}
	for _, vs := range st.Versions {
		if vs.Version == v {
			return vs
		}
	}
	t.Fatalf("Status(%q) has no version %d: %+v", name, v, st.Versions)
	return VersionStatus{}
}

// acquire takes a handle and checks it is for version want.
func acquire(t testing.TB, m *Manager, name string, version int, label string, want int) *Handle {
	t.Helper()
	h, err := m.Acquire(name, version, label)
	if err != nil {
		t.Fatalf("Acquire(%q, %d, %q): %v, want version %d", name, version, label, err, want)
	}
	if h.Version != want || h.Loaded.Manifest.Version != want {
		t.Fatalf("Acquire(%q, %d, %q) = version %d (manifest %d), want %d", name, version, label, h.Version, h.Loaded.Manifest.Version, want)
	}
	return h
}

// recorder logs Prepare and Retired calls in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

func (r *recorder) prepare(l *model.Loaded) (any, error) {
	r.add(fmt.Sprintf("prepare %s/%d", l.Manifest.Name, l.Manifest.Version))
	return fmt.Sprintf("attached %s/%d", l.Manifest.Name, l.Manifest.Version), nil
}

func (r *recorder) retired(l *model.Loaded, attached any) {
	r.add(fmt.Sprintf("retired %s/%d (%v)", l.Manifest.Name, l.Manifest.Version, attached))
}

func (r *recorder) check(t testing.TB, want ...string) {
	t.Helper()
	r.mu.Lock()
	got := slices.Clone(r.events)
	r.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("hook calls = %q, want %q", got, want)
	}
}

func TestNewRejects(t *testing.T) {
	repo := t.TempDir()
	file := filepath.Join(repo, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		want string // substring of the error
	}{
		{"no repo", Options{}, "Options.Repo is required"},
		{"missing repo", Options{Repo: filepath.Join(repo, "nope")}, "Options.Repo"},
		{"repo is a file", Options{Repo: file}, "is not a folder"},
		{"bad name", Options{Repo: repo, Models: []ModelConfig{{Name: ".hidden"}}}, `Models[0].Name ".hidden"`},
		{"two policy fields", Options{Repo: repo, Models: []ModelConfig{{Name: "a"}, {Name: "b", Policy: Policy{Latest: 2, All: true}}}},
			`Models[1] "b" Policy sets [Latest All]`},
		{"versions and all", Options{Repo: repo, Models: []ModelConfig{{Name: "a", Policy: Policy{Versions: []int{1}, All: true}}}},
			`Models[0] "a" Policy sets [Versions All]`},
		{"negative latest", Options{Repo: repo, Models: []ModelConfig{{Name: "a", Policy: Policy{Latest: -1}}}}, `Policy.Latest -1`},
		{"zero version", Options{Repo: repo, Models: []ModelConfig{{Name: "a", Policy: Policy{Versions: []int{2, 0}}}}}, `Policy.Versions[1] = 0`},
		{"duplicate version", Options{Repo: repo, Models: []ModelConfig{{Name: "a", Policy: Policy{Versions: []int{2, 2}}}}}, `lists version 2 twice`},
		{"duplicate model", Options{Repo: repo, Models: []ModelConfig{{Name: "a"}, {Name: "a"}}}, `Models[1]: model "a" is configured twice`},
		{"bad label", Options{Repo: repo, Models: []ModelConfig{{Name: "a", Labels: map[string]int{"no spaces": 1}}}}, `label "no spaces"`},
		{"long label", Options{Repo: repo, Models: []ModelConfig{{Name: "a", Labels: map[string]int{strings.Repeat("x", 65): 1}}}}, `use 1-64 letters`},
		{"label version", Options{Repo: repo, Models: []ModelConfig{{Name: "a", Labels: map[string]int{"stable": 0}}}}, `Labels["stable"] = 0`},
		{"negative load workers", Options{Repo: repo, LoadWorkers: -1}, "Options.LoadWorkers -1: want a positive count"},
	} {
		_, err := New(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New(%+v) error = %v, want one containing %q", tc.name, tc.opts, err, tc.want)
		}
	}
}

func TestPolicyApply(t *testing.T) {
	disk := []int{1, 2, 5, 7}
	for _, tc := range []struct {
		p    Policy
		want []int
	}{
		{Policy{}, []int{7}},
		{Policy{Latest: 1}, []int{7}},
		{Policy{Latest: 2}, []int{5, 7}},
		{Policy{Latest: 10}, []int{1, 2, 5, 7}},
		{Policy{Versions: []int{5, 1, 3}}, []int{1, 5}},
		{Policy{All: true}, []int{1, 2, 5, 7}},
	} {
		if got := tc.p.apply(disk); !slices.Equal(got, tc.want) {
			t.Errorf("%+v.apply(%v) = %v, want %v", tc.p, disk, got, tc.want)
		}
	}
	if got := (Policy{Latest: 3}).apply(nil); len(got) != 0 {
		t.Errorf("Latest 3 of no versions = %v, want none", got)
	}
}

func TestPolicies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		want   string
		latest int // what Acquire(name, 0, "") gives
	}{
		{"default", Policy{}, "4:AVAILABLE", 4},
		{"latest 2", Policy{Latest: 2}, "4:AVAILABLE 3:AVAILABLE", 4},
		{"versions", Policy{Versions: []int{1, 3}}, "3:AVAILABLE 1:AVAILABLE", 3},
		{"all", Policy{All: true}, "4:AVAILABLE 3:AVAILABLE 2:AVAILABLE 1:AVAILABLE", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			for v := 1; v <= 4; v++ {
				write(t, repo, "m", v)
			}
			m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m", Policy: tc.policy}}})
			wantStates(t, m, "m", tc.want)
			acquire(t, m, "m", 0, "", tc.latest).Release()
			if !m.Ready() {
				t.Errorf("Ready() = false, want true")
			}
		})
	}
}

func TestDiscoverAllModels(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "trees", 1)
	write(t, repo, "trees", 2)
	writeFixture(t, repo, "dense", 3, denseFixture)
	m := start(t, Options{Repo: repo, PollInterval: -1})
	if got, want := m.Names(), []string{"dense", "trees"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %q, want %q", got, want)
	}
	wantStates(t, m, "trees", "2:AVAILABLE")
	wantStates(t, m, "dense", "3:AVAILABLE")
	if !m.Ready() {
		t.Fatalf("Ready() = false, want true")
	}
	h := acquire(t, m, "dense", 0, "", 3)
	out := h.Loaded.Model.Predict(nil, make([]float64, h.Loaded.Model.NumFeatures()), false)
	if len(out) != h.Loaded.Model.NumOutputs() {
		t.Errorf("dense Predict of one row gave %d values, want %d", len(out), h.Loaded.Model.NumOutputs())
	}
	h.Release()

	// A new model folder without versions makes the manager not ready.
	if err := os.Mkdir(filepath.Join(repo, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got, want := m.Names(), []string{"dense", "empty", "trees"}; !slices.Equal(got, want) {
		t.Fatalf("after mkdir empty: Names() = %q, want %q", got, want)
	}
	if m.Ready() {
		t.Errorf("with an empty model folder: Ready() = true, want false")
	}
	if st, _ := m.Status("empty"); !strings.Contains(st.Error, "no versions in") {
		t.Errorf("Status(empty).Error = %q, want it to say there are no versions", st.Error)
	}

	// Removing a discovered model's folder retires it and forgets it.
	if err := os.RemoveAll(filepath.Join(repo, "empty")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(repo, "dense")); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got, want := m.Names(), []string{"trees"}; !slices.Equal(got, want) {
		t.Fatalf("after removing dense and empty: Names() = %q, want %q", got, want)
	}
	if _, err := m.Acquire("dense", 0, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Acquire(dense) after its folder was removed: error %v, want ErrNotFound", err)
	}
	if !m.Ready() {
		t.Errorf("Ready() = false, want true")
	}
}

func TestNewVersionRetiresOldAfterRelease(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	var rec recorder
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}, Prepare: rec.prepare, Retired: rec.retired})
	h1 := acquire(t, m, "m", 0, "", 1)
	if h1.Attached != "attached m/1" {
		t.Fatalf("Handle.Attached = %v, want what Prepare returned, %q", h1.Attached, "attached m/1")
	}

	write(t, repo, "m", 2)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	wantStates(t, m, "m", "2:AVAILABLE 1:UNLOADING")
	rec.check(t, "prepare m/1", "prepare m/2") // v1 still has a handle: not retired yet
	h2 := acquire(t, m, "m", 0, "", 2)
	if _, err := m.Acquire("m", 1, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Acquire(m, 1) of a retired version: error %v, want ErrNotFound", err)
	}
	// The old handle still works.
	rows := make([]float64, h1.Loaded.Model.NumFeatures())
	if got := h1.Loaded.Model.Predict(nil, rows, false); len(got) != 1 {
		t.Fatalf("Predict on the retiring version gave %d values, want 1", len(got))
	}

	h1.Release()
	rec.check(t, "prepare m/1", "prepare m/2", "retired m/1 (attached m/1)")
	wantStates(t, m, "m", "2:AVAILABLE 1:END")
	h2.Release()
	rec.check(t, "prepare m/1", "prepare m/2", "retired m/1 (attached m/1)")

	// A retired version with no handles finishes during the reconcile.
	write(t, repo, "m", 3)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	rec.check(t, "prepare m/1", "prepare m/2", "retired m/1 (attached m/1)", "prepare m/3", "retired m/2 (attached m/2)")
	wantStates(t, m, "m", "3:AVAILABLE 2:END 1:END")
	// Retired versions stay in the table while on disk, but hold no model:
	// a daemon reloading all day must not keep every model it served.
	m.stateMu.Lock()
	for _, num := range []int{1, 2} {
		if v := m.models["m"].versions[num]; v.loaded != nil || v.attached != nil {
			t.Errorf("retired version %d still holds its model (%v) or attachment (%v)", num, v.loaded != nil, v.attached)
		}
	}
	m.stateMu.Unlock()

	m.Close()
	rec.check(t, "prepare m/1", "prepare m/2", "retired m/1 (attached m/1)", "prepare m/3", "retired m/2 (attached m/2)", "retired m/3 (attached m/3)")
}

// TestRestartFallsBack: a manager starting on a repository whose newest
// versions are corrupt serves the newest one that loads, shows the
// failures in Status, and moves to the wanted version once it is fixed
// (issue 12, finding 3: a restart took such a model down).
func TestRestartFallsBack(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	for _, v := range []int{2, 3} {
		dir := write(t, repo, "m", v)
		if err := os.WriteFile(filepath.Join(dir, model.PayloadFile), []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(t, repo, "other", 1)
	var rec recorder
	m := start(t, Options{Repo: repo, PollInterval: -1, Prepare: rec.prepare, Retired: rec.retired})
	wantStates(t, m, "m", "3:END 2:END 1:AVAILABLE")
	acquire(t, m, "m", 0, "", 1).Release()
	if !m.Ready() || m.NotReady() != "" {
		t.Errorf("Ready() = %v, NotReady() = %q with the fallback serving; want true, \"\"", m.Ready(), m.NotReady())
	}
	if vs := versionStatus(t, m, "m", 3); !strings.Contains(vs.Error, filepath.Join("m", "3", model.PayloadFile)) {
		t.Errorf("v3 status = %+v, want the failure naming its payload", vs)
	}
	// Polls neither retry the unchanged failures nor drop the fallback.
	loads := m.loads.Load()
	if err := m.reconcile(false); err != nil {
		t.Fatal(err)
	}
	if got := m.loads.Load() - loads; got != 0 {
		t.Errorf("a poll with nothing changed made %d load attempts, want 0", got)
	}
	wantStates(t, m, "m", "3:END 2:END 1:AVAILABLE")

	// v3 fixed: the next poll loads it and retires the fallback.
	if err := os.RemoveAll(filepath.Join(repo, "m", "3")); err != nil {
		t.Fatal(err)
	}
	write(t, repo, "m", 3)
	if err := m.reconcile(false); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 2:END 1:END")
	acquire(t, m, "m", 0, "", 3).Release()

	// Every version corrupt: not ready, and readiness names the model.
	repo2 := t.TempDir()
	dir := write(t, repo2, "m", 1)
	if err := os.WriteFile(filepath.Join(dir, model.PayloadFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	m2 := start(t, Options{Repo: repo2, PollInterval: -1})
	if m2.Ready() || m2.NotReady() != "no version loaded for m" {
		t.Errorf("all corrupt: Ready() = %v, NotReady() = %q, want false, %q", m2.Ready(), m2.NotReady(), "no version loaded for m")
	}
}

// TestCloseCancelsStart: Close during the first load stops it at once
// (SIGTERM during start-up must not wait for a long warm-up), and until
// then a model asked for answers ErrLoading.
func TestCloseCancelsStart(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	m, err := New(Options{Repo: repo, PollInterval: -1, WarmupRows: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Acquire("m", 0, ""); !errors.Is(err, ErrLoading) {
		t.Errorf("Acquire before Start = %v, want ErrLoading", err)
	}
	if got := m.NotReady(); !strings.HasPrefix(got, "loading") {
		t.Errorf("NotReady() before Start = %q, want it to say loading", got)
	}
	done := make(chan error, 1)
	go func() { done <- m.Start() }()
	time.Sleep(100 * time.Millisecond) // well into the warm-up of 2^30 rows
	if _, err := m.Acquire("m", 0, ""); !errors.Is(err, ErrLoading) {
		t.Errorf("Acquire during the first load = %v, want ErrLoading", err)
	}
	t0 := time.Now()
	m.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Start cancelled by Close = %v, want ErrClosed", err)
		}
		t.Logf("Start returned %v, %s after Close", err, time.Since(t0))
	case <-time.After(10 * time.Second):
		t.Fatal("Start still running 10s after Close: the warm-up was not cancelled")
	}
	if _, err := m.Acquire("m", 0, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close = %v, want ErrClosed", err)
	}
}

func TestCorruptVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string                   // the file garbled
		garble  func(data []byte) []byte // what is written instead
		wantErr string                   // in the status error
	}{
		{
			name:    "truncated payload",
			file:    model.PayloadFile,
			garble:  func(data []byte) []byte { return data[:len(data)/2] },
			wantErr: "the artifact is truncated or corrupt",
		},
		{
			name:    "garbled manifest",
			file:    model.ManifestFile,
			garble:  func(data []byte) []byte { return append([]byte("{oops"), data...) },
			wantErr: "invalid character",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			write(t, repo, "m", 1)
			var rec recorder
			m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}, Prepare: rec.prepare, Retired: rec.retired})

			dir := write(t, repo, "m", 2)
			path := filepath.Join(dir, tc.file)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tc.garble(orig), 0o644); err != nil {
				t.Fatal(err)
			}
			loads := m.loads.Load()
			if err := m.reconcile(false); err != nil { // a poll's passes, waiting for their loads
				t.Fatalf("poll: %v", err)
			}
			if got := m.loads.Load() - loads; got != 1 {
				t.Fatalf("first poll after v2 appeared: %d load attempts, want 1", got)
			}
			vs := versionStatus(t, m, "m", 2)
			rel := filepath.Join("m", "2", tc.file) // status names files relative to the repository
			if vs.State != StateEnd || !strings.HasPrefix(vs.Error, rel) || strings.Contains(vs.Error, repo) || !strings.Contains(vs.Error, tc.wantErr) {
				t.Fatalf("corrupt v2 status = %+v, want END with an error naming %s (not %s) and saying %q", vs, rel, path, tc.wantErr)
			}
			wantStates(t, m, "m", "2:END 1:AVAILABLE")
			acquire(t, m, "m", 0, "", 1).Release()
			rec.check(t, "prepare m/1") // Prepare never saw v2, Retired never ran
			if !m.Ready() {
				t.Errorf("Ready() = false with v1 serving, want true")
			}

			// Polls do not retry an unchanged failed version.
			for i := 0; i < 3; i++ {
				if err := m.reconcile(false); err != nil {
					t.Fatalf("poll: %v", err)
				}
			}
			if got := m.loads.Load() - loads; got != 1 {
				t.Fatalf("after 3 more polls: %d load attempts in all, want still 1", got)
			}

			// Reload retries it (and it fails again).
			if err := m.Reload(); err != nil {
				t.Fatalf("Reload: %v", err)
			}
			if got := m.loads.Load() - loads; got != 2 {
				t.Fatalf("after Reload: %d load attempts in all, want 2", got)
			}
			wantStates(t, m, "m", "2:END 1:AVAILABLE")

			// LoadVersion retries it and returns the error.
			if err := m.LoadVersion("m", 2); err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadVersion(m, 2) of the corrupt version: error %v, want one naming %s", err, path)
			}
			if got := m.loads.Load() - loads; got != 3 {
				t.Fatalf("after LoadVersion: %d load attempts in all, want 3", got)
			}

			// Repairing the file is noticed by a plain poll.
			if err := os.WriteFile(path, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := m.reconcile(false); err != nil {
				t.Fatalf("poll: %v", err)
			}
			if got := m.loads.Load() - loads; got != 4 {
				t.Fatalf("after repairing %s and a poll: %d load attempts in all, want 4", tc.file, got)
			}
			wantStates(t, m, "m", "2:AVAILABLE 1:END")
			rec.check(t, "prepare m/1", "prepare m/2", "retired m/1 (attached m/1)")
		})
	}
}

func TestPrepareErrorFailsLoad(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	var rec recorder
	prepare := func(l *model.Loaded) (any, error) {
		if l.Manifest.Version == 2 {
			return nil, errors.New("no GPU for you")
		}
		return rec.prepare(l)
	}
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}, Prepare: prepare, Retired: rec.retired})
	write(t, repo, "m", 2)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	vs := versionStatus(t, m, "m", 2)
	if vs.State != StateEnd || !strings.Contains(vs.Error, "prepare: no GPU for you") {
		t.Fatalf("v2 status = %+v, want END with the Prepare error", vs)
	}
	acquire(t, m, "m", 0, "", 1).Release()
	rec.check(t, "prepare m/1")
}

func TestDeletedVersion(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	write(t, repo, "m", 2)
	var rec recorder
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}, Prepare: rec.prepare, Retired: rec.retired})
	wantStates(t, m, "m", "2:AVAILABLE")

	// Deleting the served version rolls back to the one below it.
	remove(t, repo, "m", 2)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	// v2 drained during the reconcile; its END record goes with the next.
	wantStates(t, m, "m", "2:END 1:AVAILABLE")
	rec.check(t, "prepare m/2", "prepare m/1", "retired m/2 (attached m/2)")

	// Deleting the last version keeps it serving: the model folder is there.
	remove(t, repo, "m", 1)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	wantStates(t, m, "m", "1:AVAILABLE")
	acquire(t, m, "m", 0, "", 1).Release()
	if st, _ := m.Status("m"); !strings.Contains(st.Error, "no versions in") {
		t.Errorf("Status(m).Error = %q, want it to say there are no versions", st.Error)
	}

	// Deleting the model folder retires everything.
	if err := os.RemoveAll(filepath.Join(repo, "m")); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	rec.check(t, "prepare m/2", "prepare m/1", "retired m/2 (attached m/2)", "retired m/1 (attached m/1)")
	wantStates(t, m, "m", "1:END")
	if m.Ready() {
		t.Errorf("configured model's folder removed: Ready() = true, want false")
	}
	_, err := m.Acquire("m", 0, "")
	if want := `model "m" has no version loaded: not found`; err == nil || err.Error() != want || !errors.Is(err, ErrNotFound) {
		t.Errorf("Acquire(m) with the folder gone: error %v, want %q wrapping ErrNotFound", err, want)
	}
	if st, _ := m.Status("m"); !strings.Contains(st.Error, "no model folder") {
		t.Errorf("Status(m).Error = %q, want it to say the folder is missing", st.Error)
	}
}

func TestLabels(t *testing.T) {
	repo := t.TempDir()
	for v := 1; v <= 3; v++ {
		write(t, repo, "m", v)
	}
	m := start(t, Options{Repo: repo, PollInterval: -1, RollbackHold: -1, Models: []ModelConfig{{
		Name:   "m",
		Policy: Policy{Latest: 2},
		Labels: map[string]int{"stable": 2, "old": 1, "gone": 9},
	}}})
	// A labelled version is wanted beside the policy's pick: "old" keeps
	// version 1 loaded although Latest 2 wants only 2 and 3.
	wantStates(t, m, "m", "3:AVAILABLE 2:AVAILABLE 1:AVAILABLE")
	acquire(t, m, "m", 0, "stable", 2).Release()
	acquire(t, m, "m", 2, "stable", 2).Release()
	acquire(t, m, "m", 0, "old", 1).Release()
	// The default route follows "stable", not the highest version.
	acquire(t, m, "m", 0, "", 2).Release()

	for _, tc := range []struct {
		version int
		label   string
		want    string
	}{
		{0, "canary", `label "canary" of model "m" is not set: not found`},
		{0, "gone", `label "gone" of model "m" points at version 9, which is not loaded (loaded: 1, 2, 3): not found`},
		{3, "stable", `label "stable" of model "m" points at version 2, not 3: not found`},
	} {
		_, err := m.Acquire("m", tc.version, tc.label)
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrNotFound) {
			t.Errorf("Acquire(m, %d, %q) error = %v, want %q wrapping ErrNotFound", tc.version, tc.label, err, tc.want)
		}
	}

	if err := m.SetLabel("m", "canary", 3); err != nil {
		t.Fatalf("SetLabel(m, canary, 3): %v", err)
	}
	acquire(t, m, "m", 0, "canary", 3).Release()
	if err := m.SetLabel("m", "stable", 3); err != nil { // overrides the config
		t.Fatalf("SetLabel(m, stable, 3): %v", err)
	}
	acquire(t, m, "m", 0, "stable", 3).Release()
	acquire(t, m, "m", 0, "", 3).Release()

	err := m.SetLabel("m", "old", 9)
	if want := `label "old": model "m" has no version 9 loaded (loaded: 1, 2, 3): not found`; err == nil || err.Error() != want || !errors.Is(err, ErrNotFound) {
		t.Errorf("SetLabel(m, old, 9) of an unloaded version: error %v, want %q wrapping ErrNotFound", err, want)
	}
	if err := m.SetLabel("m", "bad label", 3); err == nil || !strings.Contains(err.Error(), `label "bad label": use 1-64`) {
		t.Errorf("SetLabel with a space in the label: error %v, want one naming the label", err)
	}
	if err := m.SetLabel("x", "stable", 3); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetLabel on an unknown model: error %v, want ErrNotFound", err)
	}

	st, err := m.Status("m")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"stable": 3, "old": 1, "canary": 3, "gone": 9}; fmt.Sprint(st.Labels) != fmt.Sprint(want) {
		t.Errorf("Status(m).Labels = %v, want %v", st.Labels, want)
	}

	// Newer versions do not retire labelled ones.
	write(t, repo, "m", 4)
	write(t, repo, "m", 5)
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "5:AVAILABLE 4:AVAILABLE 3:AVAILABLE 2:END 1:AVAILABLE")
	acquire(t, m, "m", 0, "canary", 3).Release()
	// An admin unload wins over a label: the label then fails by name and
	// version, and the default route falls back to the highest version.
	if err := m.UnloadVersion("m", 3); err != nil {
		t.Fatal(err)
	}
	_, err = m.Acquire("m", 0, "canary")
	if want := `label "canary" of model "m" points at version 3, which is not loaded (loaded: 1, 4, 5): not found`; err == nil || err.Error() != want {
		t.Errorf("Acquire by a label whose version was unloaded: error %v, want %q", err, want)
	}
	acquire(t, m, "m", 0, "", 5).Release()
}

func TestLoadUnloadVersion(t *testing.T) {
	repo := t.TempDir()
	for v := 1; v <= 3; v++ {
		write(t, repo, "m", v)
	}
	var rec recorder
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "m"}}, Prepare: rec.prepare, Retired: rec.retired})
	wantStates(t, m, "m", "3:AVAILABLE")

	err := m.UnloadVersion("m", 3)
	if err == nil || !strings.Contains(err.Error(), "last available version") || errors.Is(err, ErrNotFound) {
		t.Fatalf("UnloadVersion of the last available version: error %v, want a refusal", err)
	}
	if err := m.UnloadVersion("m", 2); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "no version 2 loaded (loaded: 3)") {
		t.Fatalf("UnloadVersion of an unloaded version: error %v, want ErrNotFound naming the loaded versions", err)
	}

	// Roll back: pin v1, then unload v3.
	if err := m.LoadVersion("m", 1); err != nil {
		t.Fatalf("LoadVersion(m, 1): %v", err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 1:AVAILABLE")
	if err := m.UnloadVersion("m", 3); err != nil {
		t.Fatalf("UnloadVersion(m, 3): %v", err)
	}
	wantStates(t, m, "m", "3:END 1:AVAILABLE")
	acquire(t, m, "m", 0, "", 1).Release()

	// The pin and the exclusion survive reconciles.
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "3:END 1:AVAILABLE")

	// LoadVersion lifts the exclusion; the pin on v1 stays.
	if err := m.LoadVersion("m", 3); err != nil {
		t.Fatalf("LoadVersion(m, 3): %v", err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 1:AVAILABLE")
	acquire(t, m, "m", 0, "", 3).Release()
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 1:AVAILABLE")
	// Unloading the pinned version drops its pin.
	if err := m.UnloadVersion("m", 1); err != nil {
		t.Fatalf("UnloadVersion(m, 1): %v", err)
	}
	wantStates(t, m, "m", "3:AVAILABLE 1:END")
	rec.check(t, "prepare m/3", "prepare m/1", "retired m/3 (attached m/3)", "prepare m/3", "retired m/1 (attached m/1)")

	for _, tc := range []struct {
		name    string
		version int
		want    string
	}{
		{"m", 7, `load model "m" version 7: not in the repository (versions: 1, 2, 3): not found`},
		{"x", 1, `load model "x" version 1: the model is not configured: not found`},
	} {
		err := m.LoadVersion(tc.name, tc.version)
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrNotFound) {
			t.Errorf("LoadVersion(%q, %d) error = %v, want %q wrapping ErrNotFound", tc.name, tc.version, err, tc.want)
		}
	}
}

func TestLoadVersionDiscovers(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "a", 1)
	m := start(t, Options{Repo: repo, PollInterval: -1})
	write(t, repo, "b", 1)
	write(t, repo, "b", 2)
	if err := m.LoadVersion("b", 1); err != nil {
		t.Fatalf("LoadVersion(b, 1) of a model that appeared after the last scan: %v", err)
	}
	wantStates(t, m, "b", "2:AVAILABLE 1:AVAILABLE")
	err := m.LoadVersion("c", 1)
	if want := fmt.Sprintf(`load model "c" version 1: no folder %s: not found`, filepath.Join(repo, "c")); err == nil || err.Error() != want {
		t.Errorf("LoadVersion(c, 1) error = %v, want %q", err, want)
	}
}

func TestReady(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "a", 1)
	m, err := New(Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "a"}, {Name: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Ready() {
		t.Errorf("before Start: Ready() = true, want false")
	}
	if got, want := m.Names(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want the configured %q", got, want)
	}
	if err := m.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if m.Ready() {
		t.Errorf("configured model b has no folder: Ready() = true, want false")
	}
	if st, _ := m.Status("b"); !strings.Contains(st.Error, "no model folder") {
		t.Errorf("Status(b).Error = %q, want it to name the missing folder", st.Error)
	}
	write(t, repo, "b", 1)
	if err := m.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if !m.Ready() {
		t.Errorf("both models loaded: Ready() = false, want true")
	}
	m.Close()
	if m.Ready() {
		t.Errorf("after Close: Ready() = true, want false")
	}
}

func TestEmptyRepoNotReady(t *testing.T) {
	m := start(t, Options{Repo: t.TempDir(), PollInterval: -1})
	if m.Ready() {
		t.Errorf("empty repository: Ready() = true, want false")
	}
}

func TestAcquireErrors(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "x", 3)
	write(t, repo, "x", 4)
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{Name: "x", Policy: Policy{Latest: 2}}, {Name: "y"}}})
	for _, tc := range []struct {
		name    string
		version int
		label   string
		want    string
	}{
		{"x", 7, "", `model "x" has no version 7 loaded (loaded: 3, 4): not found`},
		{"x", -1, "", `model "x" has no version -1 loaded (loaded: 3, 4): not found`},
		{"x", 0, "canary", `label "canary" of model "x" is not set: not found`},
		{"y", 0, "", `model "y" has no version loaded: not found`},
		{"y", 1, "", `model "y" has no version 1 loaded (loaded: none): not found`},
		{"z", 0, "", `no model "z": not found`},
	} {
		h, err := m.Acquire(tc.name, tc.version, tc.label)
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrNotFound) || h != nil {
			t.Errorf("Acquire(%q, %d, %q) = %v, %v; want nil, %q wrapping ErrNotFound", tc.name, tc.version, tc.label, h, err, tc.want)
		}
	}
	if _, err := m.Status("z"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status(z) error = %v, want ErrNotFound", err)
	}
}

func TestDoubleReleasePanics(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	m := start(t, Options{Repo: repo, PollInterval: -1})
	h := acquire(t, m, "m", 0, "", 1)
	h.Release()
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.HasPrefix(s, "BUG: ") {
			t.Errorf("second Release panicked with %v, want a BUG: message", r)
		}
	}()
	h.Release()
}

func TestClose(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	var rec recorder
	m := start(t, Options{Repo: repo, PollInterval: time.Millisecond, Prepare: rec.prepare, Retired: rec.retired})
	h := acquire(t, m, "m", 0, "", 1)
	m.Close()
	m.Close() // idempotent
	rec.check(t, "prepare m/1")
	wantStates(t, m, "m", "1:UNLOADING")
	if _, err := m.Acquire("m", 0, ""); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close: error %v, want ErrClosed", err)
	}
	h.Release()
	rec.check(t, "prepare m/1", "retired m/1 (attached m/1)")
	wantStates(t, m, "m", "1:END")
	for name, err := range map[string]error{
		"Reload":        m.Reload(),
		"Start":         m.Start(),
		"LoadVersion":   m.LoadVersion("m", 1),
		"UnloadVersion": m.UnloadVersion("m", 1),
		"SetLabel":      m.SetLabel("m", "a", 1),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: error %v, want ErrClosed", name, err)
		}
	}
}

func TestPollSeesNewVersion(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	m := start(t, Options{Repo: repo, PollInterval: 5 * time.Millisecond, Models: []ModelConfig{{Name: "m"}}})
	write(t, repo, "m", 2)
	deadline := time.Now().Add(10 * time.Second)
	for statusLine(t, m, "m") != "2:AVAILABLE 1:END" {
		if time.Now().After(deadline) {
			t.Fatalf("10s after writing v2: Status(m) = %q, want %q", statusLine(t, m, "m"), "2:AVAILABLE 1:END")
		}
		time.Sleep(2 * time.Millisecond)
	}
	acquire(t, m, "m", 0, "", 2).Release()
}

func TestStartRepoError(t *testing.T) {
	repo := t.TempDir()
	write(t, repo, "m", 1)
	m, err := New(Options{Repo: repo, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Replace the repository with a file: the scan cannot list it.
	if err := os.RemoveAll(repo); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(repo, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err == nil || !strings.Contains(err.Error(), "scan model repository") {
		t.Fatalf("Start on an unreadable repository: error %v, want a scan error", err)
	}
	if m.Ready() {
		t.Errorf("after a failed Start: Ready() = true, want false")
	}
	// Fixed, Start may be called again.
	if err := os.Remove(repo); err != nil {
		t.Fatal(err)
	}
	write(t, repo, "m", 1)
	if err := m.Start(); err != nil {
		t.Fatalf("Start after fixing the repository: %v", err)
	}
	if !m.Ready() {
		t.Errorf("Ready() = false, want true")
	}
}

// badPredictor declares one output but gives two per row.
type badPredictor struct{}

func (badPredictor) NumFeatures() int { return 2 }
func (badPredictor) NumMargins() int  { return 1 }
func (badPredictor) NumOutputs() int  { return 1 }
func (badPredictor) Predict(dst, rows []float64, raw bool) []float64 {
	for i := 0; i < len(rows)/2; i++ {
		dst = append(dst, 0, 0)
	}
	return dst
}

func TestWarmUpChecksWidths(t *testing.T) {
	err := warmUp(context.Background(), badPredictor{}, 4, 1)
	if want := "warm-up: 4 rows gave 8 outputs, want 4 (1 per row)"; err == nil || err.Error() != want {
		t.Errorf("warmUp(a predictor giving 2 outputs per row, declaring 1) = %v, want %q", err, want)
	}
	if err := warmUp(context.Background(), badPredictor{}, -1, 1); err != nil {
		t.Errorf("warmUp with rows -1 = %v, want nil (no warm-up)", err)
	}
	for _, f := range []fixtureSpec{treeFixture, denseFixture} {
		p := load(t, f).Model
		if err := warmUp(context.Background(), p, 64, 1); err != nil {
			t.Errorf("warmUp(%s) = %v, want nil", f.path, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := warmUp(ctx, p, 100_000_000, 1); !errors.Is(err, context.Canceled) {
			t.Errorf("warmUp(%s) of 1e8 rows with a cancelled context = %v, want context.Canceled at once", f.path, err)
		}
	}
}
