package materialize

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
	"github.com/predictd/predictd/server"
)

// noModels is a server.Models with no models: the feature routes used
// here never call it (a call would panic on the nil interface).
type noModels struct{ server.Models }

// daemon runs a predictd server with feature serving over a Pebble store
// on 127.0.0.1, as `predictd serve --features` does, and returns its base
// URL and the store it holds.
func daemon(t *testing.T, defsYAML string) (string, featcache.Store) {
	t.Helper()
	d, err := featcache.ParseDefs([]byte(defsYAML), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := featcache.NewService(d, st, featcache.DefaultCacheOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Features: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv.SetModels(noModels{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-done
		svc.Close()
		st.Close()
	})
	return "http://" + ln.Addr().String(), st
}

// TestDaemon materializes a file through a running daemon's push API into
// the Pebble store it holds open, in several requests (a small
// MaxBodyBytes), and checks what the daemon then serves.
func TestDaemon(t *testing.T) {
	base, st := daemon(t, defs)
	v, _, path := setup(t, `user_id,event_time,spend,orders
7,2026-11-20 00:00:00,1.5,1
007,2026-11-22 00:00:00,2.5,2
8,2026-11-21T00:00:00Z,,3
9,2026-11-21T00:00:00.123456789Z,0.1,4
10,2026-11-21T00:00:00Z,1e-300,5
`)
	var bodies []int
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		bodies = append(bodies, int(r.ContentLength))
		return http.DefaultTransport.RoundTrip(r)
	})}
	// A row encodes to about 85 bytes: 200 takes two a request.
	d, err := NewDaemon(DaemonOptions{URL: base, View: v, MaxBodyBytes: 200, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stats, err := File(ctx, d, path, Options{View: v})
	if want := (Stats{Rows: 5, Entities: 4, Written: 4}); err != nil || stats != want {
		t.Fatalf("File through the daemon: %+v, %v; want %+v", stats, err, want)
	}
	if len(bodies) != 2 {
		t.Errorf("request bodies of %v bytes, want 2 requests (two rows each)", bodies)
	}
	for _, n := range bodies {
		if n > 200 {
			t.Errorf("request bodies of %v bytes, want each at most MaxBodyBytes 200", bodies)
		}
	}
	// The rows are older than the view's TTL, so the daemon's Get would
	// say expired: read the store it holds.
	check := func(entity string, spend, orders float64, at time.Time) {
		t.Helper()
		recs, err := st.Get(ctx, []featcache.Key{{View: "stats", Entity: entity}}, nil)
		if err != nil || !recs[0].Found || !recs[0].EventTime.Equal(at) || len(recs[0].Values) != 2 ||
			!same(recs[0].Values[0], spend) || recs[0].Values[1] != orders {
			t.Errorf("stored %s = %+v, %v; want spend %v, orders %v at %v", entity, recs, err, spend, orders, at)
		}
	}
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	check("7", 2.5, 2, day(22))
	check("8", math.NaN(), 3, day(21))
	check("9", 0.1, 4, day(21).Add(123456789))
	check("10", 1e-300, 5, day(21))

	// Again, a row a request (each larger than MaxBodyBytes): the daemon
	// keeps what it has.
	bodies = nil
	d, err = NewDaemon(DaemonOptions{URL: base, View: v, MaxBodyBytes: 10, Client: client})
	if err != nil {
		t.Fatal(err)
	}
	stats, err = File(ctx, d, path, Options{View: v})
	if want := (Stats{Rows: 5, Entities: 4, Skipped: 4}); err != nil || stats != want || len(bodies) != 4 {
		t.Errorf("second File through the daemon: %+v, %v in requests of %v bytes; want %+v in 4", stats, err, bodies, want)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// same is == with NaN equal to NaN.
func same(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }

// TestDaemonErrors: a refusal quotes the daemon's message; an address
// nothing listens on says to check the daemon; a bad URL is refused up
// front.
func TestDaemonErrors(t *testing.T) {
	base, _ := daemon(t, defs)
	other := strings.Replace(defs, "- name: stats", "- name: other", 1)
	od, err := featcache.ParseDefs([]byte(other), "other.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ov, _ := od.View("other")
	d, err := NewDaemon(DaemonOptions{URL: base + "/", View: ov})
	if err != nil {
		t.Fatal(err)
	}
	row := []featcache.Row{{Entity: "1", EventTime: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Values: []float64{1, 2}}}
	_, err = d.Put(context.Background(), "other", row)
	if err == nil || !strings.Contains(err.Error(), "daemon answered 400 Bad Request") || !strings.Contains(err.Error(), `no feature view \"other\"`) {
		t.Errorf("Put to a view the daemon lacks: error %v, want its 400 and message", err)
	}
	if _, err := d.Put(context.Background(), "stats", row); err == nil || !strings.Contains(err.Error(), "through a Daemon for view other") {
		t.Errorf("Put of view stats through a Daemon for other: error %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	d, _ = NewDaemon(DaemonOptions{URL: closed, View: ov})
	if _, err := d.Put(context.Background(), "other", row); err == nil || !strings.Contains(err.Error(), "is predictd serve running there") {
		t.Errorf("Put to %s, where nothing listens: error %v", closed, err)
	}

	for _, u := range []string{"", "127.0.0.1:8080", "ftp://h:1", "http://", "http://h:1/v1/features", "http://h:1?x=1"} {
		if _, err := NewDaemon(DaemonOptions{URL: u, View: ov}); err == nil || !strings.Contains(err.Error(), "want http://HOST:PORT") {
			t.Errorf("NewDaemon(URL %q): error %v, want one asking for http://HOST:PORT", u, err)
		}
	}
	if _, err := NewDaemon(DaemonOptions{URL: base}); err == nil || !strings.Contains(err.Error(), "View is required") {
		t.Errorf("NewDaemon without a View: error %v", err)
	}
}

// TestDaemonConcurrent: one Daemon used by several goroutines at once.
func TestDaemonConcurrent(t *testing.T) {
	base, st := daemon(t, defs)
	d0, err := featcache.ParseDefs([]byte(defs), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := d0.View("stats")
	d, err := NewDaemon(DaemonOptions{URL: base, View: v})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			rows := make([]featcache.Row, 50)
			for i := range rows {
				rows[i] = featcache.Row{Entity: strconv.Itoa(g*100 + i), EventTime: at, Values: []float64{float64(g), float64(i)}}
			}
			n, err := d.Put(context.Background(), "stats", rows)
			if err == nil && n != len(rows) {
				err = fmt.Errorf("goroutine %d: %d written, want %d", g, n, len(rows))
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	recs, err := st.Get(context.Background(), []featcache.Key{{View: "stats", Entity: "749"}}, nil)
	if err != nil || !recs[0].Found || recs[0].Values[0] != 7 || recs[0].Values[1] != 49 {
		t.Errorf("stored 749 = %+v, %v; want spend 7, orders 49", recs, err)
	}
}
