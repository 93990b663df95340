package model

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cancelAt is a context that cancels itself at the Err call numbered at
// (from 0), so a test can stop an open at each of its checks in turn. It is
// for one goroutine: OpenContext checks ctx in the calling one.
type cancelAt struct {
	context.Context
	cancel context.CancelFunc
	calls  int // Err calls so far
	at     int // the call that cancels; -1 never
}

func newCancelAt(at int) *cancelAt {
	ctx, cancel := context.WithCancel(context.Background())
	return &cancelAt{Context: ctx, cancel: cancel, at: at}
}

func (c *cancelAt) Err() error {
	if c.calls == c.at {
		c.cancel()
	}
	c.calls++
	return c.Context.Err()
}

// TestOpenContextCancelled: a context cancelled before the call stops
// OpenContext before it reads anything, whether the version is asked for
// by number or as the latest; the error wraps context.Canceled and names
// the model's folder. A live context opens the model.
func TestOpenContextCancelled(t *testing.T) {
	repo, _ := writeLimitsModel(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, version := range []int{1, 0} {
		ca := newCancelAt(0)
		l, err := OpenContext(ca, repo, "m", version)
		if l != nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), filepath.Join(repo, "m")) {
			t.Errorf("OpenContext(cancelled, %q, m, %d) = %v, %v; want nil and an error naming %s that wraps context.Canceled", repo, version, l, err, filepath.Join(repo, "m"))
		}
		if ca.calls != 1 {
			t.Errorf("OpenContext(cancelled, %q, m, %d) checked ctx %d times, want 1 (stop at the first check)", repo, version, ca.calls)
		}
		if _, err := OpenContext(ctx, repo, "m", version); !errors.Is(err, context.Canceled) {
			t.Errorf("OpenContext(context.WithCancel cancelled, %q, m, %d) error = %v, want context.Canceled", repo, version, err)
		}
		if _, err := OpenContext(context.Background(), repo, "m", version); err != nil {
			t.Errorf("OpenContext(live, %q, m, %d): %v", repo, version, err)
		}
	}
}

// TestOpenContextCheckpoints: cancelled at each of its checks in turn
// (before the manifest, before the payload, while the payload is read,
// while the body is decoded, before the model is prepared), OpenContext
// stops there with an error that wraps context.Canceled and names the file
// it was reading. Past the last check it opens the model.
func TestOpenContextCheckpoints(t *testing.T) {
	repo, dir := writeLimitsModel(t)
	live := newCancelAt(-1)
	if _, err := OpenContext(live, repo, "m", 1); err != nil {
		t.Fatal(err)
	}
	checks := live.calls
	if checks < 5 {
		t.Fatalf("OpenContext checked ctx %d times, want at least 5 (start, manifest, payload, read, decode)", checks)
	}
	for at := range checks {
		ctx := newCancelAt(at)
		_, err := OpenContext(ctx, repo, "m", 1)
		want := filepath.Join(dir, PayloadFile)
		switch at {
		case 0:
			want = filepath.Join(repo, "m")
		case 1:
			want = filepath.Join(dir, ManifestFile)
		}
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), want) {
			t.Errorf("OpenContext cancelled at check %d of %d: error = %v, want one naming %s that wraps context.Canceled", at, checks, err, want)
		}
		if ctx.calls != at+1 {
			t.Errorf("OpenContext cancelled at check %d of %d: checked ctx %d times after, want it to stop at once", at, checks, ctx.calls-at-1)
		}
	}
}

// TestOpenContextCancelDuringDecode: a model whose body is tens of MB
// checks its context at least once per MiB of body decoded, and once
// cancelled at any check it stops there: no further check, so no further
// decoding, and an error wrapping context.Canceled that names the payload
// and the section. Counted, not timed (a timed bound flaked on a loaded
// machine).
func TestOpenContextCancelDuringDecode(t *testing.T) {
	imp := limitsModel(t)
	imp.Model = synthTrees(t, 600, 10, 6)
	repo := t.TempDir()
	m, dir, err := Write(repo, "big", imp, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Payload.DecodedBytes < 16<<20 {
		t.Fatalf("body is %d bytes, want tens of MB", m.Payload.DecodedBytes)
	}
	payload := filepath.Join(dir, PayloadFile)

	live := newCancelAt(-1)
	if _, err := OpenContext(live, repo, "big", 1); err != nil {
		t.Fatal(err)
	}
	// fill checks once per chunkBytes it reads; an array can be read in
	// pieces up to trustBytes, so the bound is one check per trustBytes.
	if min := int(m.Payload.DecodedBytes / trustBytes); live.calls < min {
		t.Fatalf("an open of a %d-byte body checks ctx %d times, want at least one per %d bytes (%d)", m.Payload.DecodedBytes, live.calls, trustBytes, min)
	}
	for _, at := range []int{live.calls / 5, live.calls / 2, live.calls - 2} {
		c := newCancelAt(at)
		_, err := OpenContext(c, repo, "big", 1)
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), payload) {
			t.Errorf("OpenContext cancelled at check %d of %d: %v, want an error naming %s that wraps context.Canceled", at, live.calls, err, payload)
		}
		if c.calls != at+1 {
			t.Errorf("OpenContext cancelled at check %d of %d went on to check %d times in all, want it to stop at that check", at, live.calls, c.calls)
		}
	}
	mid := newCancelAt(live.calls / 2)
	_, err = OpenContext(mid, repo, "big", 1)
	if want := payload + " (" + strconv.FormatInt(m.Payload.Bytes, 10) + " bytes): decode payload: tree section: cancelled after "; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), want) {
		t.Errorf("OpenContext cancelled at check %d of %d: error = %v, want one containing %q that wraps context.Canceled", live.calls/2, live.calls, err, want)
	}
}

// TestOpenSymlinkOutHidesTarget: a manifest, payload or version folder
// that is a symlink out of the repository is refused with an error that
// names the link but not where it points, whether the target exists or
// not (a dangling link's error would otherwise carry the path that failed
// to resolve; a dangling version folder is not found, as if absent).
func TestOpenSymlinkOutHidesTarget(t *testing.T) {
	repo, dir := writeLimitsModel(t)
	outside := t.TempDir()
	for _, f := range []string{ManifestFile, PayloadFile} {
		if err := os.WriteFile(filepath.Join(outside, f), mustRead(t, filepath.Join(dir, f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	versionDir := filepath.Join(repo, "m", "2")
	for _, c := range []struct {
		name    string
		link    string // replaced by a symlink to target
		target  string
		version int
		want    string // the error contains this
		missing bool   // the error wraps fs.ErrNotExist
	}{
		{"payload", filepath.Join(dir, PayloadFile), filepath.Join(outside, PayloadFile), 1,
			filepath.Join(dir, PayloadFile) + ": resolves outside the folder " + dir + ": refused", false},
		{"manifest", filepath.Join(dir, ManifestFile), filepath.Join(outside, ManifestFile), 1,
			filepath.Join(dir, ManifestFile) + ": resolves outside the folder " + dir + ": refused", false},
		{"payload/dangling", filepath.Join(dir, PayloadFile), filepath.Join(outside, "gone", PayloadFile), 1,
			filepath.Join(dir, PayloadFile) + ": resolves outside the folder " + dir, true},
		{"manifest/dangling", filepath.Join(dir, ManifestFile), filepath.Join(outside, "gone"), 1,
			filepath.Join(dir, ManifestFile) + ": resolves outside the folder " + dir, true},
		{"version", versionDir, outside, 2,
			versionDir + " resolves outside the repository " + repo + ": refused", false},
		// os.Stat finds nothing there: the version is not in the repository.
		{"version/dangling", versionDir, filepath.Join(outside, "gone"), 2,
			`model "m" version 2 in ` + repo + ": not found", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var moved string
			if _, err := os.Lstat(c.link); err == nil {
				moved = c.link + ".orig"
				if err := os.Rename(c.link, moved); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Symlink(c.target, c.link); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := os.Remove(c.link); err != nil {
					t.Fatal(err)
				}
				if moved != "" {
					if err := os.Rename(moved, c.link); err != nil {
						t.Fatal(err)
					}
				}
			}()
			_, err := OpenContext(context.Background(), repo, "m", c.version)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), outside) {
				t.Fatalf("OpenContext with %s symlinked to %s: error = %v, want one containing %q and not %s", c.link, c.target, err, c.want, outside)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != c.missing {
				t.Errorf("OpenContext with %s symlinked to %s: errors.Is(%v, fs.ErrNotExist) = %v, want %v", c.link, c.target, err, got, c.missing)
			}
		})
	}
	if _, err := Open(repo, "m", 1); err != nil {
		t.Errorf("Open after the links were undone: %v", err)
	}
}
