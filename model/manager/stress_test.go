package manager

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

// tracker is what the stress test's Prepare attaches to each version: live
// counts the handles in use, retired is set by the Retired hook.
type tracker struct {
	version int
	live    atomic.Int64
	retired atomic.Bool
}

// TestConcurrentStress runs requests (Acquire, Predict, Release) on many
// goroutines while versions are written and deleted, the poller runs every
// millisecond, and Reload, LoadVersion, UnloadVersion and Status are called.
// Requests must never fail, and no Retired hook may run for a version that
// has a live handle, or run twice.
func TestConcurrentStress(t *testing.T) {
	iterations := 40
	if testing.Short() {
		iterations = 10
	}
	repo := t.TempDir()
	write(t, repo, "m", 1)
	write(t, repo, "m", 2)

	var prepared, retired, problems atomic.Int64
	report := func(format string, args ...any) {
		if problems.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	m := start(t, Options{
		Repo:         repo,
		PollInterval: time.Millisecond,
		WarmupRows:   8,
		Models:       []ModelConfig{{Name: "m", Policy: Policy{Latest: 2}}},
		Prepare: func(l *model.Loaded) (any, error) {
			prepared.Add(1)
			return &tracker{version: l.Manifest.Version}, nil
		},
		Retired: func(l *model.Loaded, attached any) {
			tr := attached.(*tracker)
			if n := tr.live.Load(); n != 0 {
				report("Retired(version %d) ran with %d live handles, want 0", tr.version, n)
			}
			if tr.retired.Swap(true) {
				report("Retired(version %d) ran twice, want once", tr.version)
			}
			retired.Add(1)
		},
		Logf: func(string, ...any) {},
	})

	nf := load(t, treeFixture).Model.NumFeatures()
	var stop atomic.Bool
	var acquires, pinnedMisses atomic.Int64
	var wg sync.WaitGroup
	request := func(h *Handle, row []float64, dst []float64) []float64 {
		tr := h.Attached.(*tracker)
		tr.live.Add(1)
		if tr.retired.Load() {
			report("Acquire gave version %d, whose Retired hook already ran", h.Version)
		}
		if tr.version != h.Version {
			report("Handle.Version = %d, but its Attached is for version %d", h.Version, tr.version)
		}
		dst = h.Loaded.Model.Predict(dst[:0], row, false)
		if len(dst) != 1 {
			report("Predict of one row on version %d gave %d values, want 1", h.Version, len(dst))
		}
		if tr.retired.Load() {
			report("version %d retired while a handle was live", h.Version)
		}
		tr.live.Add(-1)
		h.Release()
		acquires.Add(1)
		return dst
	}
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := make([]float64, nf)
			dst := make([]float64, 0, 1)
			last := 0
			for !stop.Load() {
				// Odd goroutines ask for the version they saw last, which
				// may have been retired since: only ErrNotFound is allowed.
				if g%2 == 1 && last != 0 {
					h, err := m.Acquire("m", last, "")
					if err != nil {
						if !errors.Is(err, ErrNotFound) {
							report("Acquire(m, %d) error %v, want nil or ErrNotFound", last, err)
						}
						pinnedMisses.Add(1)
						last = 0
						continue
					}
					dst = request(h, row, dst)
					continue
				}
				h, err := m.Acquire("m", 0, "")
				if err != nil {
					report("Acquire(m, 0) error %v, want nil: the model always has an available version", err)
					continue
				}
				last = h.Version
				dst = request(h, row, dst)
			}
		}()
	}
	wg.Add(1)
	go func() { // control-plane reads during all this
		defer wg.Done()
		for !stop.Load() {
			if _, err := m.Status("m"); err != nil {
				report("Status(m): %v", err)
			}
			if !m.Ready() {
				report("Ready() = false, want true throughout")
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()

	next := 3
	for i := 0; i < iterations; i++ {
		write(t, repo, "m", next)
		next++
		vs, err := model.Versions(repo, "m")
		if err != nil {
			t.Fatal(err)
		}
		for len(vs) > 3 {
			remove(t, repo, "m", vs[0])
			vs = vs[1:]
		}
		switch i % 4 {
		case 0:
			if err := m.Reload(); err != nil {
				t.Errorf("Reload: %v", err)
			}
		case 1:
			if err := m.LoadVersion("m", vs[0]); err != nil {
				t.Errorf("LoadVersion(m, %d): %v", vs[0], err)
			}
		case 2:
			// May be refused (last version) or not loaded: only no panic
			// and no request failure matter.
			_ = m.UnloadVersion("m", vs[len(vs)-1])
		case 3:
			if err := m.SetLabel("m", "latest", vs[len(vs)-1]); err != nil && !errors.Is(err, ErrNotFound) {
				t.Errorf("SetLabel(m, latest, %d): %v", vs[len(vs)-1], err)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	m.Close()
	if got, want := retired.Load(), prepared.Load(); got != want {
		t.Errorf("after Close with no handles out: Retired ran %d times, want %d (once per prepared version)", got, want)
	}
	if acquires.Load() == 0 {
		t.Errorf("no request completed")
	}
	t.Logf("%d requests, %d misses of a remembered version, %d versions prepared", acquires.Load(), pinnedMisses.Load(), prepared.Load())
}

func TestAcquireAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, so Acquire allocates")
	}
	if invariants {
		t.Skip("-tags invariants allocates a Handle per Acquire to catch every double Release")
	}
	repo := t.TempDir()
	write(t, repo, "m", 1)
	write(t, repo, "m", 2)
	m := start(t, Options{Repo: repo, PollInterval: -1, Models: []ModelConfig{{
		Name: "m", Policy: Policy{Latest: 2}, Labels: map[string]int{"stable": 1},
	}}})
	for _, tc := range []struct {
		version int
		label   string
	}{{0, ""}, {1, ""}, {0, "stable"}, {1, "stable"}} {
		allocs := testing.AllocsPerRun(1000, func() {
			h, err := m.Acquire("m", tc.version, tc.label)
			if err != nil {
				panic(err)
			}
			h.Release()
		})
		if allocs != 0 {
			t.Errorf("Acquire(m, %d, %q) + Release: %v allocations per run, want 0", tc.version, tc.label, allocs)
		}
	}
}
