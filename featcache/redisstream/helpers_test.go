package redisstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
	"github.com/predictd/predictd/internal/redistest"
)

const testDefs = `
entities:
  - {name: user, join_key: user_id, key_type: int}
  - {name: item, join_key: item_id, key_type: string}
feature_views:
  - name: stats
    entity: user
    ttl: 1h
    features:
      - {name: spend, type: float, default: 0}
      - {name: orders, type: int}
  - name: item_stats
    entity: item
    ttl: 1h
    features:
      - {name: score, type: float}
`

func parseDefs(tb testing.TB) *featcache.Defs {
	tb.Helper()
	defs, err := featcache.ParseDefs([]byte(testDefs), "defs.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return defs
}

// faultStore wraps a Store: while failing is set, Put fails with a store
// error; while block is set, Put waits for release (or its context).
type faultStore struct {
	featcache.Store
	failing atomic.Bool
	block   atomic.Bool
	release chan struct{}
	puts    atomic.Int64 // Put calls that failed or blocked
}

func (s *faultStore) Put(ctx context.Context, view string, rows []featcache.Row) (int, error) {
	if s.failing.Load() {
		s.puts.Add(1)
		return 0, errors.New("faultStore: disk on fire")
	}
	if s.block.Load() {
		s.puts.Add(1)
		select {
		case <-s.release:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return s.Store.Put(ctx, view, rows)
}

// newService returns a Service over a pebble store wrapped in a faultStore.
func newService(tb testing.TB) (*featcache.Service, *faultStore) {
	tb.Helper()
	st, err := pebblestore.Open(tb.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	fs := &faultStore{Store: st, release: make(chan struct{})}
	svc, err := featcache.NewService(parseDefs(tb), fs, featcache.DefaultCacheOptions())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(svc.Close)
	return svc, fs
}

// newClient returns a client to srv, closed when tb ends.
func newClient(tb testing.TB, srv *redistest.Server) rueidis.Client {
	tb.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true, ForceSingleClient: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// testOptions are fast options for consumer name on srv.
func testOptions(tb testing.TB, srv *redistest.Server, consumer string) Options {
	o := DefaultOptions()
	o.Addr, o.Stream, o.Group, o.Consumer = srv.Addr, "features", "g", consumer
	o.Block = 50 * time.Millisecond
	o.RetryBackoff = 20 * time.Millisecond
	var mu sync.Mutex
	done := false
	tb.Cleanup(func() { mu.Lock(); done = true; mu.Unlock() })
	o.Logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if !done {
			tb.Logf(format, args...)
		}
	}
	return o
}

// start runs c until the returned stop is called (or tb ends) and checks
// Run returns nil.
func start(tb testing.TB, c *Consumer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("Run returned %v after cancel, want nil", err)
				}
			case <-time.After(10 * time.Second):
				tb.Errorf("Run did not return within 10s of cancel")
			}
		})
	}
	tb.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing after 10s with what.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after 10s waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond) // polling a condition, not waiting for an event
	}
}

func xadd(tb testing.TB, c rueidis.Client, stream string, fields ...string) string {
	tb.Helper()
	fv := c.B().Xadd().Key(stream).Id("*").FieldValue()
	for i := 0; i+1 < len(fields); i += 2 {
		fv = fv.FieldValue(fields[i], fields[i+1])
	}
	id, err := c.Do(context.Background(), fv.Build()).ToString()
	if err != nil {
		tb.Fatalf("XADD %s %q: %v", stream, fields, err)
	}
	return id
}

// pending returns the group's pending entry count per consumer.
func pending(tb testing.TB, c rueidis.Client, stream, group string) map[string]int64 {
	tb.Helper()
	arr, err := c.Do(context.Background(), c.B().Xpending().Key(stream).Group(group).Build()).ToArray()
	if err != nil {
		tb.Fatalf("XPENDING %s %s: %v", stream, group, err)
	}
	got := map[string]int64{}
	if len(arr) < 4 {
		return got
	}
	cons, _ := arr[3].ToArray()
	for _, p := range cons {
		pair, _ := p.ToArray()
		name, _ := pair[0].ToString()
		s, _ := pair[1].ToString()
		var n int64
		fmt.Sscan(s, &n)
		got[name] = n
	}
	return got
}

// tsBase is recent enough that rows written at tsBase+seconds are within
// the views' 1h TTL for the whole test run.
var tsBase = time.Now().Add(-10 * time.Minute).Truncate(time.Second)

// ts is an event time sec seconds after tsBase, in RFC 3339.
func ts(sec int) string {
	return tsBase.Add(time.Duration(sec) * time.Second).UTC().Format(time.RFC3339)
}
