package state

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/predictd/predictd/internal/redistest"
)

// conformance holds a Store to the contract of the package doc.
func conformance(t *testing.T, s Store) {
	ctx := context.Background()
	r, err := s.Get(ctx, "labels/iris")
	if err != nil || r.Gen != 0 || r.Data != nil {
		t.Fatalf("Get(missing) = %+v, %v; want the zero Record, nil", r, err)
	}
	g, err := s.CAS(ctx, "labels/iris", 0, []byte(`{"stable":1}`))
	if err != nil || g != 1 {
		t.Fatalf("CAS(missing, gen 0) = %d, %v; want 1, nil", g, err)
	}
	r, err = s.Get(ctx, "labels/iris")
	if err != nil || r.Gen != 1 || string(r.Data) != `{"stable":1}` {
		t.Fatalf("Get after CAS = {%q %d}, %v; want {%q 1}, nil", r.Data, r.Gen, err, `{"stable":1}`)
	}
	for _, gen := range []int64{0, 2, 7} {
		_, err := s.CAS(ctx, "labels/iris", gen, []byte("lost"))
		if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "labels/iris") {
			t.Errorf("CAS(gen %d, stored 1) = %v; want ErrConflict naming the key", gen, err)
		}
	}
	bin := []byte{0, 1, 0xff, '\n', '"'}
	if g, err := s.CAS(ctx, "labels/iris", 1, bin); err != nil || g != 2 {
		t.Fatalf("CAS(gen 1) = %d, %v; want 2, nil", g, err)
	}
	if r, err := s.Get(ctx, "labels/iris"); err != nil || r.Gen != 2 || string(r.Data) != string(bin) {
		t.Errorf("Get = {%q %d}, %v; want {%q 2}", r.Data, r.Gen, err, bin)
	}
	// Keys are distinct even where a file name escape could merge them.
	if _, err := s.CAS(ctx, "labels:iris", 0, []byte("other")); err != nil {
		t.Errorf("CAS(labels:iris, 0) = %v; want a new key", err)
	}
	for _, bad := range []string{"", ".hidden", "a b", "x%2F", strings.Repeat("k", 201)} {
		if _, err := s.Get(ctx, bad); err == nil {
			t.Errorf("Get(%q) = nil error; want a bad key error", bad)
		}
		if _, err := s.CAS(ctx, bad, 0, nil); err == nil {
			t.Errorf("CAS(%q) = nil error; want a bad key error", bad)
		}
	}

	// Concurrent writers from generation 0: exactly one wins each round.
	const writers, rounds = 4, 20
	var wg sync.WaitGroup
	wins := make([]int, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for {
					r, err := s.Get(ctx, "counter")
					if err != nil {
						t.Error(err)
						return
					}
					_, err = s.CAS(ctx, "counter", r.Gen, []byte{byte(w)})
					if err == nil {
						wins[w]++
						break
					}
					if !errors.Is(err, ErrConflict) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if r, err := s.Get(ctx, "counter"); err != nil || r.Gen != writers*rounds {
		t.Errorf("after %d successful CAS by %d writers: Gen %d, %v; want %d", writers*rounds, writers, r.Gen, err, writers*rounds)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if _, err := s.Get(ctx, "labels/iris"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close = %v; want ErrClosed", err)
	}
	if _, err := s.CAS(ctx, "labels/iris", 2, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("CAS after Close = %v; want ErrClosed", err)
	}
}

func TestConformanceDir(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	conformance(t, s)
	// Reopened, the records are there.
	s2, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if r, err := s2.Get(context.Background(), "labels/iris"); err != nil || r.Gen != 2 {
		t.Errorf("reopened Get = {%q %d}, %v; want generation 2", r.Data, r.Gen, err)
	}
}

func TestConformanceRedis(t *testing.T) {
	srv := redistest.Start(t)
	o, err := RedisOptionsFromURL("redis://" + srv.Addr + "/2")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenRedis(o)
	if err != nil {
		t.Fatal(err)
	}
	conformance(t, s)
	s2, err := OpenRedis(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if r, err := s2.Get(context.Background(), "labels/iris"); err != nil || r.Gen != 2 {
		t.Errorf("second client Get = {%q %d}, %v; want generation 2", r.Data, r.Gen, err)
	}
}

func TestDirLockedByAnother(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenDir(dir)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second OpenDir(%s) = %v; want an error naming the folder in use", dir, err)
	}
	s.Close()
	s2, err := OpenDir(dir)
	if err != nil {
		t.Fatalf("OpenDir after Close = %v; want the lock free", err)
	}
	s2.Close()
}

func TestDirCorruptFile(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.CAS(ctx, "labels/iris", 0, []byte("x")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "labels%2Firis.json")
	for _, body := range []string{`{"key":"labels/iris","gen":`, `{"key":"labels/other","gen":3}`, `{"key":"labels/iris","gen":0}`} {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Get(ctx, "labels/iris")
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("Get with file %q = %v; want an error naming %s as corrupt", body, err, p)
		}
		if _, err := s.CAS(ctx, "labels/iris", 1, nil); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("CAS with file %q = %v; want an error naming %s", body, err, p)
		}
	}
}

func TestRedisUnreachable(t *testing.T) {
	o := DefaultRedisOptions()
	o.Addr = "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	_, err := OpenRedis(o)
	if err == nil || !strings.Contains(err.Error(), o.Addr) {
		t.Errorf("OpenRedis(%s, nothing listening) = %v; want an error naming the address", o.Addr, err)
	}
	if _, err := OpenRedis(RedisOptions{DialTimeout: 1}); err == nil || !strings.Contains(err.Error(), "Options.Addr") {
		t.Errorf("OpenRedis(no Addr) = %v; want an error naming Options.Addr", err)
	}
}
