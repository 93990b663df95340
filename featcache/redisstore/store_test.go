package redisstore

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
)

func TestOptionsValidate(t *testing.T) {
	f := func(name string, mutate func(*Options), wantField string) {
		t.Helper()
		opts := DefaultOptions()
		opts.Addr = "127.0.0.1:6379"
		mutate(&opts)
		_, err := Open(opts)
		if err == nil || !strings.Contains(err.Error(), wantField) {
			t.Errorf("%s: Open(%+v) = %v, want an error naming %s", name, opts, err, wantField)
		}
	}
	f("no addr", func(o *Options) { o.Addr = "" }, "Options.Addr")
	f("no port", func(o *Options) { o.Addr = "localhost" }, "Options.Addr")
	f("negative db", func(o *Options) { o.DB = -1 }, "Options.DB")
	f("zero dial timeout", func(o *Options) { o.DialTimeout = 0 }, "Options.DialTimeout")
	f("NUL in prefix", func(o *Options) { o.KeyPrefix = "a\x00b" }, "Options.KeyPrefix")
}

func TestOpenUnreachable(t *testing.T) {
	opts := DefaultOptions()
	opts.Addr = "127.0.0.1:" + itoa(freePort(t)) // nothing listens there
	opts.DialTimeout = 500 * time.Millisecond
	start := time.Now()
	s, err := Open(opts)
	if err == nil {
		s.Close()
		t.Fatalf("Open(%s) with no server succeeded", opts.Addr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open(%s) took %v to fail, want about DialTimeout %v", opts.Addr, d, opts.DialTimeout)
	}
	if !strings.Contains(err.Error(), opts.Addr) {
		t.Errorf("Open error %q does not name the address %s", err, opts.Addr)
	}
}

// TestNewerWinsByteOrder checks the Lua comparison against event times whose
// encodings differ in bytes on both sides of 0x80 and across 1970, where a
// locale-aware or signed comparison would go wrong.
func TestNewerWinsByteOrder(t *testing.T) {
	s := openStore(t, startRedis(t))
	ctx := ctxT(t)
	times := []time.Time{
		time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Unix(0, 0x7f),
		time.Unix(0, 0x80),
		time.Unix(0, 0xff),
		time.Unix(0, 0x100),
		time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for i := 1; i < len(times); i++ {
		older, newer := times[i-1], times[i]
		entity := "e" + itoa(i)
		put := func(ts time.Time, v float64) int {
			t.Helper()
			n, err := s.Put(ctx, "v", []featcache.Row{{Entity: entity, EventTime: ts, Values: []float64{v}}})
			if err != nil {
				t.Fatalf("Put(%s at %v): %v", entity, ts, err)
			}
			return n
		}
		if n := put(newer, 2); n != 1 {
			t.Errorf("first Put at %v wrote %d, want 1", newer, n)
		}
		if n := put(older, 1); n != 0 {
			t.Errorf("Put at %v after %v wrote %d, want 0 (older)", older, newer, n)
		}
		if n := put(newer, 3); n != 0 {
			t.Errorf("Put at %v twice wrote %d the second time, want 0 (not newer)", newer, n)
		}
		recs, err := s.Get(ctx, []featcache.Key{{View: "v", Entity: entity}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r := recs[0]; !r.Found || !r.EventTime.Equal(newer) || r.Values[0] != 2 {
			t.Errorf("Get(%s) = %+v, want found at %v with value 2", entity, r, newer)
		}
	}
}

// TestTwoClients is two replicas writing one entity concurrently: the
// server-side script must leave the newest row whatever the interleaving.
func TestTwoClients(t *testing.T) {
	srv := startRedis(t)
	a := openStore(t, srv)
	opts := DefaultOptions()
	opts.Addr, opts.KeyPrefix = srv.Addr, a.prefix
	b, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := ctxT(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 200
	var wg sync.WaitGroup
	for w, s := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				ts := base.Add(time.Duration(i*4+w) * time.Millisecond)
				if _, err := s.Put(ctx, "v", []featcache.Row{{Entity: "x", EventTime: ts, Values: []float64{float64(i*4 + w)}}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	recs, err := b.Get(ctx, []featcache.Key{{View: "v", Entity: "x"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := float64((n-1)*4 + 3)
	if r := recs[0]; !r.Found || r.Values[0] != want {
		t.Errorf("after concurrent Puts Get = %+v, want value %v (the newest)", r, want)
	}
}

// TestScriptFlushed: after SCRIPT FLUSH (or a server restart) Put resends
// the script and still applies newer-wins.
func TestScriptFlushed(t *testing.T) {
	s := openStore(t, startRedis(t))
	ctx := ctxT(t)
	t0 := time.Unix(1000, 0)
	rows := []featcache.Row{
		{Entity: "a", EventTime: t0, Values: []float64{1}},
		{Entity: "b", EventTime: t0, Values: []float64{1}},
	}
	if _, err := s.Put(ctx, "v", rows); err != nil {
		t.Fatal(err)
	}
	if err := s.client.Do(ctx, s.client.B().ScriptFlush().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	rows = []featcache.Row{
		{Entity: "a", EventTime: t0.Add(time.Second), Values: []float64{2}},
		{Entity: "b", EventTime: t0.Add(-time.Second), Values: []float64{2}},
		{Entity: "c", EventTime: t0, Values: []float64{2}},
	}
	n, err := s.Put(ctx, "v", rows)
	if err != nil || n != 2 {
		t.Fatalf("Put after SCRIPT FLUSH = %d, %v; want 2, nil", n, err)
	}
}

func TestGetCorruptValue(t *testing.T) {
	s := openStore(t, startRedis(t))
	ctx := ctxT(t)
	if _, err := s.Put(ctx, "v", []featcache.Row{{Entity: "good", EventTime: time.Unix(1, 0), Values: []float64{1}}}); err != nil {
		t.Fatal(err)
	}
	key := string(featcache.StoreKey([]byte(s.prefix), "v", "bad"))
	for _, val := range []string{"", "short", string(featcache.EncodeRecord(nil, time.Unix(1, 0), []float64{1, 2}))[:20]} {
		if err := s.client.Do(ctx, s.client.B().Set().Key(key).Value(val).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		dst := []featcache.Record{{Found: true}}
		dst, err := s.Get(ctx, []featcache.Key{{View: "v", Entity: "good"}, {View: "v", Entity: "bad"}}, dst)
		if err == nil || !strings.Contains(err.Error(), `entity "bad"`) || !strings.Contains(err.Error(), "redis key") {
			t.Errorf("Get over corrupt value %q: err = %v, want an error naming entity \"bad\" and its redis key", val, err)
		}
		if len(dst) != 1 {
			t.Errorf("Get over corrupt value returned dst of len %d, want the caller's 1", len(dst))
		}
	}
}

func TestGetValuesOwned(t *testing.T) {
	s := openStore(t, startRedis(t))
	ctx := ctxT(t)
	if _, err := s.Put(ctx, "v", []featcache.Row{{Entity: "e", EventTime: time.Unix(1, 0), Values: []float64{1, math.NaN()}}}); err != nil {
		t.Fatal(err)
	}
	k := []featcache.Key{{View: "v", Entity: "e"}, {View: "v", Entity: "e"}, {View: "w", Entity: "e"}}
	recs, err := s.Get(ctx, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || !recs[0].Found || !recs[1].Found || recs[2].Found {
		t.Fatalf("Get(%v) = %+v, want found, found, missing", k, recs)
	}
	recs[0].Values[0] = 42
	if recs[1].Values[0] != 1 || !math.IsNaN(recs[1].Values[1]) {
		t.Errorf("records share Values: second = %v after writing the first, want [1 NaN]", recs[1].Values)
	}
}

// TestServerDown: with the server gone, Get, Put and Ping fail promptly
// instead of hanging until the caller's (long) deadline.
func TestServerDown(t *testing.T) {
	srv := startRedis(t)
	s := openStore(t, srv)
	ctx := ctxT(t)
	if _, err := s.Put(ctx, "v", []featcache.Row{{Entity: "e", EventTime: time.Unix(1, 0), Values: []float64{1}}}); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	check := func(op string, err error, d time.Duration) {
		t.Helper()
		if err == nil {
			t.Errorf("%s with the server down succeeded", op)
		}
		if d > 5*time.Second {
			t.Errorf("%s with the server down took %v, want a prompt error", op, d)
		}
	}
	start := time.Now()
	_, err := s.Get(ctx, []featcache.Key{{View: "v", Entity: "e"}}, nil)
	check("Get", err, time.Since(start))
	start = time.Now()
	_, err = s.Put(ctx, "v", []featcache.Row{{Entity: "e", EventTime: time.Unix(2, 0), Values: []float64{2}}})
	check("Put", err, time.Since(start))
	start = time.Now()
	check("Ping", s.Ping(ctx), time.Since(start))
}

// TestContext: a cancelled context fails at once, and a deadline is
// honoured while the server stalls (CLIENT PAUSE).
func TestContext(t *testing.T) {
	s := openStore(t, startRedis(t))
	keys := []featcache.Key{{View: "v", Entity: "e"}}
	rows := []featcache.Row{{Entity: "e", EventTime: time.Unix(1, 0), Values: []float64{1}}}

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Get(cancelled, keys, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Get(cancelled ctx) = %v, want context.Canceled", err)
	}
	if _, err := s.Put(cancelled, "v", rows); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(cancelled ctx) = %v, want context.Canceled", err)
	}

	ctx := ctxT(t)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// Stall the server for 3s (CLIENT PAUSE holds every client's commands);
	// the calls below must give up at their 200ms deadline.
	if err := s.client.Do(ctx, s.client.B().ClientPause().Timeout(3000).All().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct {
		name string
		do   func(context.Context) error
	}{
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, keys, nil); return err }},
		{"Put", func(ctx context.Context) error { _, err := s.Put(ctx, "v", rows); return err }},
	} {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		start := time.Now()
		err := op.do(short)
		d := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s during CLIENT PAUSE = %v, want context.DeadlineExceeded", op.name, err)
		}
		if d > 2*time.Second {
			t.Errorf("%s during CLIENT PAUSE took %v, want about its 200ms deadline", op.name, d)
		}
	}
}

func TestClosed(t *testing.T) {
	s := openStore(t, startRedis(t))
	ctx := ctxT(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, []featcache.Key{{View: "v", Entity: "e"}}, nil); !errors.Is(err, featcache.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Put(ctx, "v", []featcache.Row{{Entity: "e", EventTime: time.Unix(1, 0)}}); !errors.Is(err, featcache.ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, featcache.ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}
