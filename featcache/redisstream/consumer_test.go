package redisstream

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/redistest"
)

func TestNewOptions(t *testing.T) {
	defs := parseDefs(t)
	f := func(name string, change func(*Options), want string) {
		t.Helper()
		o := DefaultOptions()
		o.Addr, o.Stream, o.Group, o.Consumer = "127.0.0.1:6379", "s", "g", "c"
		change(&o)
		_, err := New(defs, writerFunc(nil), o)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: New error %v, want one naming %q", name, err, want)
		}
	}
	f("no addr", func(o *Options) { o.Addr = "" }, "Options.Addr")
	f("no port", func(o *Options) { o.Addr = "localhost" }, "Options.Addr")
	f("negative db", func(o *Options) { o.DB = -1 }, "Options.DB")
	f("no dial timeout", func(o *Options) { o.DialTimeout = 0 }, "Options.DialTimeout")
	f("no stream", func(o *Options) { o.Stream = "" }, "Options.Stream")
	f("no group", func(o *Options) { o.Group = "" }, "Options.Group")
	f("no consumer", func(o *Options) { o.Consumer = "" }, "Options.Consumer")
	f("zero count", func(o *Options) { o.Count = 0 }, "Options.Count")
	f("block forever", func(o *Options) { o.Block = 0 }, "Options.Block")
	f("zero claim idle", func(o *Options) { o.ClaimMinIdle = 0 }, "Options.ClaimMinIdle")
	f("zero backoff", func(o *Options) { o.RetryBackoff = 0 }, "Options.RetryBackoff")
	f("no start id", func(o *Options) { o.StartID = "" }, "Options.StartID")
	f("dead letter is stream", func(o *Options) { o.DeadLetter = "s" }, "Options.DeadLetter")

	o := DefaultOptions()
	o.Addr, o.Stream, o.Group, o.Consumer = "127.0.0.1:6379", "s", "g", "c"
	c, err := New(defs, writerFunc(nil), o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	if c.opts.DeadLetter != "s:dead" {
		t.Errorf("DeadLetter = %q, want the default s:dead", c.opts.DeadLetter)
	}
}

// writerFunc is a Writer in a function.
type writerFunc func(ctx context.Context, view string, rows []featcache.Row) (featcache.PushResult, error)

func (f writerFunc) Write(ctx context.Context, view string, rows []featcache.Row) (featcache.PushResult, error) {
	return f(ctx, view, rows)
}

// TestApply checks published entries are written and acknowledged, an int
// key "+007" lands as "7", and replaying older or equal events is skipped.
func TestApply(t *testing.T) {
	srv := redistest.Start(t)
	rc := newClient(t, srv)
	svc, _ := newService(t)
	c, err := New(svc.Defs, svc, testOptions(t, srv, "a"))
	if err != nil {
		t.Fatal(err)
	}
	start(t, c)
	xadd(t, rc, "features", "view", "stats", "entity", "+007", "event_time", ts(10), "spend", "1.5", "orders", "2")
	xadd(t, rc, "features", "view", "stats", "entity", "8", "event_time", ts(10), "spend", "", "orders", "3")
	xadd(t, rc, "features", "view", "item_stats", "entity", "i1", "event_time", ts(10), "score", "0.25")
	waitFor(t, "3 entries acked", func() bool { return c.Stats().Acked == 3 })

	check := func(view, entity, feature string, want float64, wantTime string) {
		t.Helper()
		got, err := svc.Get(context.Background(), view, entity)
		if err != nil || got.Status != "present" || got.EventTime.UTC().Format(time.RFC3339) != wantTime {
			t.Fatalf("Get(%s, %s) = %+v, %v; want present at %s", view, entity, got, err, wantTime)
		}
		v := got.Values[feature]
		if (v == nil) != math.IsNaN(want) || v != nil && *v != want {
			t.Errorf("Get(%s, %s) %s = %v, want %v", view, entity, feature, v, want)
		}
	}
	check("stats", "7", "spend", 1.5, ts(10))
	check("stats", "7", "orders", 2, ts(10))
	check("stats", "8", "spend", math.NaN(), ts(10))
	check("item_stats", "i1", "score", 0.25, ts(10))
	if p := pending(t, rc, "features", "g"); len(p) != 0 {
		t.Errorf("XPENDING after apply = %v, want none", p)
	}

	// Older and equal event times are skipped; a newer one wins.
	xadd(t, rc, "features", "view", "stats", "entity", "7", "event_time", ts(5), "spend", "99", "orders", "99")
	xadd(t, rc, "features", "view", "stats", "entity", "7", "event_time", ts(10), "spend", "98", "orders", "98")
	xadd(t, rc, "features", "view", "stats", "entity", "8", "event_time", ts(11), "spend", "4", "orders", "4")
	waitFor(t, "6 entries acked", func() bool { return c.Stats().Acked == 6 })
	check("stats", "7", "spend", 1.5, ts(10))
	check("stats", "8", "spend", 4, ts(11))
	if st := c.Stats(); st.Written != 4 || st.Skipped != 2 || st.Read != 6 || st.Dead != 0 || st.StoreErrors != 0 {
		t.Errorf("Stats = %+v, want Read 6, Written 4, Skipped 2, no dead or errors", st)
	}
}

// TestDeadLetter checks malformed entries and entries Write refuses go to
// the dead-letter stream with an error naming the field, are acknowledged,
// and do not stop good entries of the same batch.
func TestDeadLetter(t *testing.T) {
	srv := redistest.Start(t)
	rc := newClient(t, srv)
	svc, _ := newService(t)
	// Entity 13 is refused by the writer though Decode accepts it: the
	// batch falls back to one write per entry.
	w := writerFunc(func(ctx context.Context, view string, rows []featcache.Row) (featcache.PushResult, error) {
		for i, r := range rows {
			if r.Entity == "13" {
				return featcache.PushResult{}, &featcache.InputError{Msg: fmt.Sprintf("row %d: field \"entity\": 13 is unlucky", i)}
			}
		}
		return svc.Write(ctx, view, rows)
	})
	good := func(entity string) []string {
		return []string{"view", "stats", "entity", entity, "event_time", ts(1), "spend", "1", "orders", "1"}
	}
	bad := []struct {
		fields []string
		want   string
	}{
		{append(good("20"), "clicks", "1"), `unknown field "clicks"`},
		{good("21")[:8], `feature "orders" missing`},
		{[]string{"view", "stats", "entity", "22", "event_time", "noon", "spend", "1", "orders", "1"}, `field "event_time"`},
		{[]string{"view", "stats", "entity", "23", "event_time", ts(1), "spend", "1", "orders", "1.5"}, `feature "orders": want an integer`},
		{[]string{"view", "nope", "entity", "24", "event_time", ts(1)}, `field "view": no feature view "nope"`},
		{[]string{"view", "stats", "entity", "25", "event_time", ts(1), "spend", "1", "orders", "1", "id", "x"}, `unknown field "id"`},
		{good("13"), `13 is unlucky`},
		// Refused by Service.Write: a row dated 2100 would hide every later
		// update of entity 26 (newer wins) until then.
		{[]string{"view", "stats", "entity", "26", "event_time", "2100-01-01T00:00:00Z", "spend", "1", "orders", "1"}, `field "event_time": 2100-01-01T00:00:00Z is`},
		{[]string{"view", "stats", "entity", "27", "event_time", "9999-01-01T00:00:00Z", "spend", "1", "orders", "1"}, `is outside the years 1678..2262`},
	}
	// All published before the consumer starts, so they arrive in one batch.
	var ids []string
	ids = append(ids, xadd(t, rc, "features", good("1")...))
	want := map[string]string{} // dead entry id -> error
	for _, b := range bad {
		id := xadd(t, rc, "features", b.fields...)
		want[id] = b.want
		ids = append(ids, id)
	}
	ids = append(ids, xadd(t, rc, "features", good("2")...))
	c, err := New(svc.Defs, w, testOptions(t, srv, "a"))
	if err != nil {
		t.Fatal(err)
	}
	start(t, c)
	waitFor(t, fmt.Sprintf("%d entries acked", len(ids)), func() bool { return c.Stats().Acked == int64(len(ids)) })
	if st := c.Stats(); st.Dead != int64(len(bad)) || st.Written != 2 {
		t.Errorf("Stats = %+v, want Dead %d, Written 2", st, len(bad))
	}
	for _, e := range []string{"1", "2"} {
		if got, err := svc.Get(context.Background(), "stats", e); err != nil || got.Status != "present" {
			t.Errorf("good entity %s: %+v, %v; want present", e, got, err)
		}
	}
	if p := pending(t, rc, "features", "g"); len(p) != 0 {
		t.Errorf("XPENDING = %v, want none", p)
	}
	dead, err := rc.Do(context.Background(), rc.B().Xrange().Key("features:dead").Start("-").End("+").Build()).AsXRangeSlices()
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != len(bad) {
		t.Fatalf("dead-letter stream has %d entries, want %d", len(dead), len(bad))
	}
	for _, d := range dead {
		f := map[string]string{}
		for _, fv := range d.FieldValues {
			f[fv.Field] = fv.Value
		}
		w, ok := want[f["id"]]
		if !ok {
			t.Errorf("dead entry %v: id %q is not one of the bad entries", d.FieldValues, f["id"])
			continue
		}
		if !strings.Contains(f["error"], w) || f["view"] == "" || f["entity"] == "" {
			t.Errorf("dead entry %v: error %q, want it to contain %q, and the original fields", d.FieldValues, f["error"], w)
		}
		if f["entity"] == "25" && f["orig:id"] != "x" {
			t.Errorf("dead entry %v: original field id not kept as orig:id", d.FieldValues)
		}
	}
}

// TestStoreFailure checks a failing store leaves entries pending and
// unacknowledged, retried until the store recovers.
func TestStoreFailure(t *testing.T) {
	srv := redistest.Start(t)
	rc := newClient(t, srv)
	svc, fs := newService(t)
	fs.failing.Store(true)
	c, err := New(svc.Defs, svc, testOptions(t, srv, "a"))
	if err != nil {
		t.Fatal(err)
	}
	// All five are in the stream before the consumer starts (a new group
	// reads from "0"), so its first read takes them all: started first, it
	// could read one, fail three times and be checked with one pending.
	for i := 0; i < 5; i++ {
		xadd(t, rc, "features", "view", "stats", "entity", fmt.Sprint(i), "event_time", ts(1), "spend", "1", "orders", "1")
	}
	start(t, c)
	waitFor(t, "3 failed writes", func() bool { return c.Stats().StoreErrors >= 3 })
	if st, p := c.Stats(), pending(t, rc, "features", "g"); st.Acked != 0 || p["a"] != 5 {
		t.Fatalf("while the store fails: Stats %+v, XPENDING %v; want nothing acked, 5 pending for a", st, p)
	}
	fs.failing.Store(false)
	waitFor(t, "5 entries acked", func() bool { return c.Stats().Acked == 5 })
	if st := c.Stats(); st.Written != 5 || st.Dead != 0 {
		t.Errorf("Stats = %+v, want Written 5, Dead 0", st)
	}
	if p := pending(t, rc, "features", "g"); len(p) != 0 {
		t.Errorf("XPENDING after recovery = %v, want none", p)
	}
	if got, err := svc.Get(context.Background(), "stats", "4"); err != nil || got.Status != "present" {
		t.Errorf("entity 4 after recovery: %+v, %v; want present", got, err)
	}
}

// readAndDie publishes n entries and runs consumer name until it has read
// them but, its store blocked, acknowledged none; then stops it. The
// entries are left in name's pending list.
func readAndDie(t *testing.T, srv *redistest.Server, svc *featcache.Service, fs *faultStore, name string, n int) {
	t.Helper()
	rc := newClient(t, srv)
	for i := 0; i < n; i++ {
		xadd(t, rc, "features", "view", "stats", "entity", fmt.Sprint(i), "event_time", ts(1), "spend", fmt.Sprint(i), "orders", "1")
	}
	fs.block.Store(true)
	c, err := New(svc.Defs, svc, testOptions(t, srv, name))
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, c)
	waitFor(t, "the write to block", func() bool { return fs.puts.Load() >= 1 })
	stop()
	fs.block.Store(false)
	if st, p := c.Stats(), pending(t, rc, "features", "g"); st.Acked != 0 || st.Read != int64(n) || p[name] != int64(n) {
		t.Fatalf("after the dead run: Stats %+v, XPENDING %v; want %d read, none acked, %d pending for %s", st, p, n, n, name)
	}
}

// TestRestartRereadsPending checks a consumer restarted under the same
// name applies the entries its previous run read but did not acknowledge.
func TestRestartRereadsPending(t *testing.T) {
	srv := redistest.Start(t)
	svc, fs := newService(t)
	readAndDie(t, srv, svc, fs, "a", 4)
	c, err := New(svc.Defs, svc, testOptions(t, srv, "a"))
	if err != nil {
		t.Fatal(err)
	}
	start(t, c)
	waitFor(t, "4 entries acked", func() bool { return c.Stats().Acked == 4 })
	if st := c.Stats(); st.Written != 4 || st.Claimed != 0 {
		t.Errorf("Stats = %+v, want Written 4 from its own pending list (Claimed 0)", st)
	}
	if p := pending(t, newClient(t, srv), "features", "g"); len(p) != 0 {
		t.Errorf("XPENDING = %v, want none", p)
	}
}

// TestClaimFromDeadConsumer checks another consumer takes over a dead
// consumer's pending entries once they are idle for ClaimMinIdle.
func TestClaimFromDeadConsumer(t *testing.T) {
	srv := redistest.Start(t)
	svc, fs := newService(t)
	readAndDie(t, srv, svc, fs, "a", 4)
	o := testOptions(t, srv, "b")
	o.ClaimMinIdle = 50 * time.Millisecond
	c, err := New(svc.Defs, svc, o)
	if err != nil {
		t.Fatal(err)
	}
	start(t, c)
	waitFor(t, "4 entries acked", func() bool { return c.Stats().Acked == 4 })
	if st := c.Stats(); st.Written != 4 || st.Claimed != 4 {
		t.Errorf("Stats = %+v, want 4 claimed and written", st)
	}
	if p := pending(t, newClient(t, srv), "features", "g"); len(p) != 0 {
		t.Errorf("XPENDING = %v, want none", p)
	}
}

// TestRedisAway checks Run keeps retrying while Redis is unreachable and
// still returns nil on cancel.
func TestRedisAway(t *testing.T) {
	svc, _ := newService(t)
	o := DefaultOptions()
	o.Addr = fmt.Sprintf("127.0.0.1:%d", redistest.FreePort(t)) // nothing listens there
	o.Stream, o.Group, o.Consumer = "features", "g", "a"
	o.RetryBackoff, o.DialTimeout = 10*time.Millisecond, 100*time.Millisecond
	o.Logf = func(string, ...any) {}
	c, err := New(svc.Defs, svc, o)
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, c)
	waitFor(t, "3 failed connects", func() bool { return c.Stats().RedisErrors >= 3 })
	stop()
}
