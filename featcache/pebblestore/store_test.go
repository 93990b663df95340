package pebblestore

import (
	"strings"
	"testing"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/storetest"
)

func openTemp(t *testing.T, dir string) featcache.Store {
	t.Helper()
	s, err := Open(dir, Options{CacheBytes: 1 << 20})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) featcache.Store { return openTemp(t, t.TempDir()) })
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	open := func(t *testing.T) featcache.Store { return openTemp(t, dir) }
	storetest.Reopen(t, open, open)
}

func TestOpenOptions(t *testing.T) {
	f := func(dir string, opts Options, want string) {
		t.Helper()
		s, err := Open(dir, opts)
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q, %+v) error = %v, want one containing %q", dir, opts, err, want)
		}
	}
	f(t.TempDir(), Options{CacheBytes: -1}, "Options.CacheBytes -1 is negative")
	f(t.TempDir(), Options{MemTableBytes: -1}, "Options.MemTableBytes -1 is negative")
	f("", Options{}, "empty directory name")
}
