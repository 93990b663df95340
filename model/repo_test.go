package model_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/xgboost"
)

func imported(t *testing.T) (*model.Imported, []float64) {
	t.Helper()
	data, err := os.ReadFile(fixture.Path("xgboost", "dart_multi_softprob.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := xgboost.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	imp.Source.File, imp.Source.SHA256 = "dart_multi_softprob.json", "00"
	rows := fixture.ReadTable(t, fixture.Path("xgboost", "dart_multi_softprob.csv")).Flat()
	return imp, rows
}

func TestWriteOpen(t *testing.T) {
	imp, rows := imported(t)
	repo := t.TempDir()
	created := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m, dir, err := model.Write(repo, "iris", imp, model.WriteOptions{Created: created})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || dir != filepath.Join(repo, "iris", "1") {
		t.Fatalf("Write = version %d in %s, want 1 in %s/iris/1", m.Version, dir, repo)
	}
	l, err := model.Open(repo, "iris", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Manifest.Created.Equal(created) || l.Manifest.Source.Objective != "multi:softprob" || l.Manifest.Classes != 4 {
		t.Errorf("manifest = %+v", l.Manifest)
	}
	want := imp.Model.Predict(nil, rows, false)
	got := l.Model.Predict(nil, rows, false)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("prediction %d after a round trip = %v, want %v", i, got[i], want[i])
		}
	}
	// The next write takes the next number; an explicit existing one fails.
	if m, _, err := model.Write(repo, "iris", imp, model.WriteOptions{}); err != nil || m.Version != 2 {
		t.Fatalf("second Write = %v, %v; want version 2", m, err)
	}
	if _, _, err := model.Write(repo, "iris", imp, model.WriteOptions{Version: 1}); !errors.Is(err, model.ErrVersionExists) {
		t.Fatalf("Write over version 1: err = %v, want ErrVersionExists", err)
	}
	if _, _, err := model.Write(repo, "iris", imp, model.WriteOptions{Version: 7}); err != nil {
		t.Fatal(err)
	}
	vs, err := model.Versions(repo, "iris")
	if err != nil || len(vs) != 3 || vs[2] != 7 {
		t.Fatalf("Versions = %v, %v; want [1 2 7]", vs, err)
	}
	if _, err := model.Open(repo, "iris", 3); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Open(v3) err = %v, want ErrNotFound", err)
	}
	if _, err := model.Open(repo, "nope", 0); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Open(nope) err = %v, want ErrNotFound", err)
	}
	// No temporary folders are left behind.
	ents, _ := os.ReadDir(filepath.Join(repo, "iris"))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}

func TestConcurrentWritersGetDistinctVersions(t *testing.T) {
	imp, _ := imported(t)
	repo := t.TempDir()
	const n = 8
	var wg sync.WaitGroup
	versions := make([]int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m, _, err := model.Write(repo, "m", imp, model.WriteOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			versions[i] = m.Version
		}(i)
	}
	wg.Wait()
	seen := map[int]bool{}
	for _, v := range versions {
		if seen[v] {
			t.Fatalf("two writers got version %d: %v", v, versions)
		}
		seen[v] = true
	}
	for v := 1; v <= n; v++ {
		if _, err := model.Open(repo, "m", v); err != nil {
			t.Errorf("version %d: %v", v, err)
		}
	}
}

func TestCorruptArtifactRefused(t *testing.T) {
	imp, _ := imported(t)
	for _, tc := range []struct {
		name string
		harm func(dir string) error
		want string
	}{
		{"flipped byte", func(dir string) error {
			p := filepath.Join(dir, model.PayloadFile)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x40
			return os.WriteFile(p, b, 0o644)
		}, "sha256"},
		{"truncated", func(dir string) error {
			p := filepath.Join(dir, model.PayloadFile)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:len(b)-10], 0o644)
		}, "truncated"},
		{"payload missing", func(dir string) error {
			return os.Remove(filepath.Join(dir, model.PayloadFile))
		}, model.PayloadFile},
		{"manifest garbage", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, model.ManifestFile), []byte("{"), 0o644)
		}, model.ManifestFile},
		{"manifest version mismatch", func(dir string) error {
			p := filepath.Join(dir, model.ManifestFile)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, []byte(strings.Replace(string(b), `"version": 1`, `"version": 2`, 1)), 0o644)
		}, "does not match its folder"},
		{"feature list shortened", func(dir string) error {
			p := filepath.Join(dir, model.ManifestFile)
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, []byte(strings.Replace(string(b), `"name": "f0",`, `"name": "f0", "x": 1,`, 1)), 0o644)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			_, dir, err := model.Write(repo, "m", imp, model.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.harm(dir); err != nil {
				t.Fatal(err)
			}
			_, err = model.Open(repo, "m", 1)
			if tc.want == "" {
				return // harmless edit: only must not panic
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("Open() error = %v, want it to name %q and the folder", err, tc.want)
			}
		})
	}
}

func TestVersionsIgnoresInProgressWrites(t *testing.T) {
	repo := t.TempDir()
	for _, d := range []string{"m/.tmp-123", "m/3", "m/01", "m/x", "m/10"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := model.Versions(repo, "m")
	if err != nil || len(vs) != 2 || vs[0] != 3 || vs[1] != 10 {
		t.Fatalf("Versions = %v, %v; want [3 10]", vs, err)
	}
}
