package featcache_test

import (
	"context"
	"errors"
	"testing"
	"time"
	"unsafe"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
)

// newCached opens a real pebble store with view "v" (TTL 1h) and a cache
// over it whose clock the test sets.
func newCached(t *testing.T, staleness time.Duration) (*featcache.Cache, featcache.Store, *time.Time) {
	t.Helper()
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c, err := featcache.NewCache(st, map[string]time.Duration{"v": time.Hour}, featcache.CacheOptions{
		MaxStaleness: staleness,
		Now:          func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c, st, &now
}

func put(t *testing.T, st featcache.Store, entity string, at time.Time, vals ...float64) {
	t.Helper()
	if _, err := st.Put(context.Background(), "v", []featcache.Row{{Entity: entity, EventTime: at, Values: vals}}); err != nil {
		t.Fatal(err)
	}
}

func TestCacheStatuses(t *testing.T) {
	c, st, now := newCached(t, time.Minute)
	ctx := context.Background()
	put(t, st, "fresh", now.Add(-10*time.Minute), 1, 2)
	put(t, st, "old", now.Add(-2*time.Hour), 3, 4)
	keys := []featcache.Key{{View: "v", Entity: "fresh"}, {View: "v", Entity: "old"}, {View: "v", Entity: "nobody"}}
	for round := 0; round < 2; round++ { // the second round is served from the cache
		recs, sts, err := c.Get(ctx, keys, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []featcache.Status{featcache.StatusPresent, featcache.StatusExpired, featcache.StatusMissing}
		for i := range keys {
			if sts[i] != want[i] {
				t.Errorf("round %d: %s: status %s, want %s", round, keys[i].Entity, sts[i], want[i])
			}
		}
		if !recs[0].Found || len(recs[0].Values) != 2 || recs[0].Values[1] != 2 || recs[1].Found || recs[2].Found {
			t.Errorf("round %d: records %+v", round, recs)
		}
		c.Wait()
	}
	if s := c.Stats(); s.Hits != 2 || s.Misses != 4 {
		t.Errorf("stats %+v, want 2 hits (the second round's fresh and missing answers) and 4 misses (the expired row is never cached)", s)
	}
	// Time passes beyond the row's TTL: the cached row is not served.
	*now = now.Add(51 * time.Minute)
	_, sts, err := c.Get(ctx, keys[:1], nil, nil)
	if err != nil || sts[0] != featcache.StatusExpired {
		t.Errorf("a cached row past its TTL: status %v, err %v, want expired", sts, err)
	}
	if _, _, err := c.Get(ctx, []featcache.Key{{View: "w", Entity: "x"}}, nil, nil); err == nil {
		t.Error("unknown view: no error")
	}
}

// TestCacheStaleness checks a negative entry expires after MaxStaleness
// (ristretto's own clock: a real, short wait).
func TestCacheStaleness(t *testing.T) {
	c, st, now := newCached(t, 50*time.Millisecond)
	ctx := context.Background()
	key := []featcache.Key{{View: "v", Entity: "late"}}
	if _, sts, _ := c.Get(ctx, key, nil, nil); sts[0] != featcache.StatusMissing {
		t.Fatalf("status %s, want missing", sts[0])
	}
	c.Wait()
	put(t, st, "late", *now, 7)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, sts, err := c.Get(ctx, key, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if sts[0] == featcache.StatusPresent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a negative entry outlived MaxStaleness by seconds")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCacheHitAllocs: a warm hit with reused buffers allocates nothing.
func TestCacheHitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	c, st, now := newCached(t, time.Minute)
	ctx := context.Background()
	put(t, st, "a", now.Add(-time.Minute), 1, 2, 3)
	keys := []featcache.Key{{View: "v", Entity: "a"}}
	recs, sts, _ := c.Get(ctx, keys, nil, nil)
	c.Wait()
	recs, sts, _ = c.Get(ctx, keys, recs[:0], sts[:0])
	allocs := testing.AllocsPerRun(100, func() {
		recs, sts, _ = c.Get(ctx, keys, recs[:0], sts[:0])
	})
	if allocs != 0 || sts[0] != featcache.StatusPresent {
		t.Errorf("warm hit: %.1f allocations, status %s; want 0 and present", allocs, sts[0])
	}
}

func BenchmarkCacheHit(b *testing.B) {
	st, err := pebblestore.Open(b.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	c, _ := featcache.NewCache(st, map[string]time.Duration{"v": time.Hour}, featcache.DefaultCacheOptions())
	defer c.Close()
	vals := make([]float64, 20)
	st.Put(context.Background(), "v", []featcache.Row{{Entity: "a", EventTime: time.Now(), Values: vals}})
	keys := []featcache.Key{{View: "v", Entity: "a"}}
	recs, sts, _ := c.Get(context.Background(), keys, nil, nil)
	c.Wait()
	b.ReportAllocs()
	for b.Loop() {
		recs, sts, _ = c.Get(context.Background(), keys, recs[:0], sts[:0])
	}
	if sts[0] != featcache.StatusPresent {
		b.Fatal(sts[0])
	}
}

// failingStore is a Store whose Get fails while down is set.
type failingStore struct {
	featcache.Store
	down bool
}

var errDown = errors.New("store down")

func (f *failingStore) Get(ctx context.Context, keys []featcache.Key, dst []featcache.Record) ([]featcache.Record, error) {
	if f.down {
		return dst, errDown
	}
	return f.Store.Get(ctx, keys, dst)
}

// TestCacheStoreDown checks that a store failure still returns the cache's
// answers, the rest unavailable, with the store's error; and that a key
// built over a buffer the caller reuses is not kept by the cache.
func TestCacheStoreDown(t *testing.T) {
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fs := &failingStore{Store: st}
	c, err := featcache.NewCache(fs, map[string]time.Duration{"v": time.Hour}, featcache.CacheOptions{MaxStaleness: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	put(t, st, "a", time.Now(), 1)
	buf := []byte("a")
	key := unsafe.String(&buf[0], len(buf))
	if _, _, err := c.Get(ctx, []featcache.Key{{View: "v", Entity: key}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	buf[0] = 'z' // the caller reuses its buffer: the cached "a" must not become "z"
	fs.down = true
	keys := []featcache.Key{{View: "v", Entity: "a"}, {View: "v", Entity: "b"}}
	recs, sts, err := c.Get(ctx, keys, nil, nil)
	if !errors.Is(err, errDown) {
		t.Fatalf("Get with the store down: error %v, want %v", err, errDown)
	}
	if len(recs) != 2 || sts[0] != featcache.StatusPresent || recs[0].Values[0] != 1 || sts[1] != featcache.StatusUnavailable || recs[1].Found {
		t.Errorf("Get with the store down = %+v %v, want a present (cached) and b unavailable", recs, sts)
	}
}
