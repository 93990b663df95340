package loadtest

import (
	"context"
	"errors"
	"math"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The timing tests run on shared, noisy machines, often under -race: their
// bounds are generous, and each asserts something a broken generator would
// really get wrong (a count above what the server can answer, a latency
// below the server's delay, percentiles that miss a queue).

// serve starts a fasthttp server on 127.0.0.1:0 and returns its base URL.
func serve(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fasthttp.Server{Handler: h}
	go s.Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String()
}

// seen records what a test server received.
type seen struct {
	mu       sync.Mutex
	total    int
	bodies   map[string]int
	methods  map[string]int
	ctypes   map[string]int
	xtest    int
	arrivals []time.Time
}

func newSeen() *seen {
	return &seen{bodies: map[string]int{}, methods: map[string]int{}, ctypes: map[string]int{}}
}

// handler answers each request after delay with status(body).
func (s *seen) handler(delay time.Duration, status func(body string) int) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		now := time.Now()
		body := string(ctx.PostBody())
		s.mu.Lock()
		s.total++
		s.bodies[body]++
		s.methods[string(ctx.Method())]++
		s.ctypes[string(ctx.Request.Header.ContentType())]++
		if string(ctx.Request.Header.Peek("X-Test")) == "yes" {
			s.xtest++
		}
		s.arrivals = append(s.arrivals, now)
		s.mu.Unlock()
		time.Sleep(delay)
		ctx.SetStatusCode(status(body))
		ctx.SetBodyString(`{"predictions":[0.5]}`)
	}
}

func always(code int) func(string) int { return func(string) int { return code } }

func bodies(ss ...string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func run(t *testing.T, o Options) Result {
	t.Helper()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("%s", r)
	return r
}

// checkOrdered checks the percentiles are ordered and at least floor.
func checkOrdered(t *testing.T, r Result, floor time.Duration) {
	t.Helper()
	ps := []time.Duration{r.P50, r.P90, r.P99, r.P999, r.Max}
	for i := 1; i < len(ps); i++ {
		if ps[i] < ps[i-1] {
			t.Errorf("percentiles p50 p90 p99 p99.9 max = %v, want non-decreasing", ps)
		}
	}
	if r.P50 < floor || r.Mean < floor {
		t.Errorf("p50 = %v, mean = %v, want at least the server's delay %v", r.P50, r.Mean, floor)
	}
}

func TestClosedLoop(t *testing.T) {
	const (
		delay = 2 * time.Millisecond
		conc  = 8
	)
	s := newSeen()
	url := serve(t, s.handler(delay, always(200)))
	r := run(t, Options{
		URL:         url + "/v1/models/m:predict",
		Bodies:      bodies("a", "b", "c"),
		Header:      map[string]string{"X-Test": "yes"},
		Concurrency: conc,
		Duration:    time.Second,
		Warmup:      200 * time.Millisecond,
	})
	if r.Mode != "closed" || r.Concurrency != conc || r.Duration != time.Second {
		t.Errorf("Mode, Concurrency, Duration = %q, %d, %v, want closed, %d, 1s", r.Mode, r.Concurrency, r.Duration, conc)
	}
	if r.Requests == 0 || r.OK != r.Requests || len(r.Errors) != 0 {
		t.Errorf("Requests, OK, Errors = %d, %d, %v, want all OK", r.Requests, r.OK, r.Errors)
	}
	// conc clients each waiting delay per request cannot exceed conc/delay.
	ceiling := float64(conc) / delay.Seconds()
	if r.RPS > ceiling*1.05 || r.RPS < 100 {
		t.Errorf("RPS = %.0f, want in [100, %.0f] (%d clients, %v per request)", r.RPS, ceiling*1.05, conc, delay)
	}
	if got := float64(r.OK) / r.Duration.Seconds(); math.Abs(got-r.RPS) > 1e-6 {
		t.Errorf("RPS = %v, want OK/Duration = %v", r.RPS, got)
	}
	checkOrdered(t, r, delay)

	s.mu.Lock()
	defer s.mu.Unlock()
	if uint64(s.total) < r.Requests {
		t.Errorf("server saw %d requests, generator recorded %d: more than were sent", s.total, r.Requests)
	}
	if s.methods["POST"] != s.total || s.ctypes["application/json"] != s.total || s.xtest != s.total {
		t.Errorf("server saw methods %v, content types %v, X-Test on %d of %d, want POST, application/json, X-Test on all",
			s.methods, s.ctypes, s.xtest, s.total)
	}
	for _, b := range []string{"a", "b", "c"} {
		if n := s.bodies[b]; math.Abs(float64(n)-float64(s.total)/3) > conc {
			t.Errorf("server saw body %q %d times of %d, want a third (round-robin)", b, n, s.total)
		}
	}
}

func TestErrorStatusesCounted(t *testing.T) {
	const conc = 4
	codes := map[string]int{"ok": 200, "busy": 503, "bad": 400}
	s := newSeen()
	url := serve(t, s.handler(0, func(b string) int { return codes[b] }))
	r := run(t, Options{URL: url + "/", Bodies: bodies("ok", "busy", "bad"), Concurrency: conc, Duration: 500 * time.Millisecond, Warmup: -1})
	if len(r.Errors) != 2 || r.Requests != r.OK+r.Errors["503"]+r.Errors["400"] {
		t.Fatalf("Requests %d, OK %d, Errors %v, want OK, 503 and 400 adding up to Requests", r.Requests, r.OK, r.Errors)
	}
	third := float64(r.Requests) / 3
	for k, n := range map[string]uint64{"OK": r.OK, "503": r.Errors["503"], "400": r.Errors["400"]} {
		if math.Abs(float64(n)-third) > third/10+2*conc {
			t.Errorf("%s: %d of %d requests, want about a third (bodies round-robin)", k, n, r.Requests)
		}
	}
	if want := float64(r.OK) / r.Duration.Seconds(); r.RPS != want {
		t.Errorf("RPS = %v, want OK responses per second %v (errors excluded)", r.RPS, want)
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		r := run(t, Options{URL: "http://" + addr + "/", Bodies: bodies("x"), Concurrency: 2, Duration: 200 * time.Millisecond, Warmup: -1})
		if r.Requests == 0 || r.OK != 0 || r.Errors["connection_refused"] != r.Requests {
			t.Errorf("Requests %d, OK %d, Errors %v, want every request connection_refused", r.Requests, r.OK, r.Errors)
		}
		if r.P50 != 0 || r.Max != 0 || r.RPS != 0 {
			t.Errorf("p50 %v, max %v, RPS %v with no OK response, want 0", r.P50, r.Max, r.RPS)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		url := serve(t, newSeen().handler(time.Second, always(200)))
		start := time.Now()
		r := run(t, Options{URL: url + "/", Bodies: bodies("x"), Concurrency: 2, Duration: 300 * time.Millisecond, Warmup: -1, Timeout: 50 * time.Millisecond})
		if r.Requests == 0 || r.OK != 0 || r.Errors["timeout"] != r.Requests {
			t.Errorf("Requests %d, OK %d, Errors %v, want every request a timeout", r.Requests, r.OK, r.Errors)
		}
		if took := time.Since(start); took > 800*time.Millisecond {
			t.Errorf("Run took %v with Duration 300ms and Timeout 50ms against a 1s server, want the timeout to cut requests short", took)
		}
	})
}

func TestOpenLoopRate(t *testing.T) {
	const (
		rate     = 200.0
		duration = 2 * time.Second
		delay    = time.Millisecond
	)
	s := newSeen()
	url := serve(t, s.handler(delay, always(200)))
	warmup := 250 * time.Millisecond
	r := run(t, Options{URL: url + "/", Bodies: bodies("x"), Rate: rate, Duration: duration, Warmup: warmup})
	want := rate * duration.Seconds()
	if r.Mode != "open" || r.Rate != rate || r.Concurrency != DefaultConcurrency {
		t.Errorf("Mode, Rate, Concurrency = %q, %v, %d, want open, %v, %d", r.Mode, r.Rate, r.Concurrency, rate, DefaultConcurrency)
	}
	if math.Abs(float64(r.Requests)-want) > 0.2*want || r.OK != r.Requests {
		t.Errorf("Requests %d, OK %d, want all OK and %v ± 20%% (rate × duration)", r.Requests, r.OK, want)
	}
	// Sent or not, exactly the requests due in the window are accounted for.
	if got := float64(r.Requests + r.Unsent); math.Abs(got-want) > 1 {
		t.Errorf("Requests + Unsent = %v, want the %v due in the window", got, want)
	}
	checkOrdered(t, r, delay)

	// A fixed schedule spreads the requests: no 100ms slice of the measured
	// window gets more than a few times its share (a burst would).
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.arrivals[0].Add(warmup)
	buckets := map[int]int{}
	for _, a := range s.arrivals {
		if a.After(first) {
			buckets[int(a.Sub(first)/(100*time.Millisecond))]++
		}
	}
	for b, n := range buckets {
		if share := rate / 10; float64(n) > 5*share {
			t.Errorf("%d requests arrived in 100ms slice %d, want about %v (fixed schedule, no bursts)", n, b, share)
		}
	}
}

// TestCoordinatedOmission serves every request in 20ms on one connection:
// 50 requests per second at most. A closed loop sees 20ms each. An open loop
// asking for 100 per second builds a queue that grows by half a second per
// second, and its percentiles, counted from the scheduled send, must show
// it.
func TestCoordinatedOmission(t *testing.T) {
	const delay = 20 * time.Millisecond
	url := serve(t, newSeen().handler(delay, always(200)))
	o := Options{URL: url + "/", Bodies: bodies("x"), Concurrency: 1, Warmup: 100 * time.Millisecond}

	o.Duration = time.Second
	closed := run(t, o)
	checkOrdered(t, closed, delay)
	if closed.P99 > 5*delay {
		t.Errorf("closed loop p99 = %v, want about the server's %v", closed.P99, delay)
	}

	o.Rate, o.Duration = 100, 2*time.Second
	open := run(t, o)
	// The k-th request is due at 10ms·k and answered at 20ms·k: the median
	// waits about half a second, the tail about a second.
	if open.P50 < 10*delay || open.P99 < 20*delay {
		t.Errorf("open loop p50 = %v, p99 = %v, want ≥ %v and %v: latency from the scheduled send must include the queue",
			open.P50, open.P99, 10*delay, 20*delay)
	}
	if open.P99 < 10*closed.P99 {
		t.Errorf("open loop p99 = %v, closed loop p99 = %v, want open ≥ 10× closed", open.P99, closed.P99)
	}
	if open.Late == 0 || open.Unsent == 0 {
		t.Errorf("Late = %d, Unsent = %d, want both > 0: the server cannot keep up", open.Late, open.Unsent)
	}
	if ceiling := 1 / delay.Seconds(); open.RPS > ceiling*1.05 {
		t.Errorf("open loop RPS = %.1f, want at most the server's %v", open.RPS, ceiling)
	}
	if got := open.Requests + open.Unsent; got < 199 || got > 201 {
		t.Errorf("Requests + Unsent = %d, want the 200 due in 2s at 100/s", got)
	}
}

func TestCancel(t *testing.T) {
	url := serve(t, newSeen().handler(time.Millisecond, always(200)))
	for _, rate := range []float64{0, 200} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		start := time.Now()
		r, err := Run(ctx, Options{URL: url + "/", Bodies: bodies("x"), Rate: rate, Duration: 10 * time.Second, Warmup: -1})
		took := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("rate %v: Run after cancel: error %v, want context.DeadlineExceeded", rate, err)
		}
		if took > 3*time.Second || r.Duration > time.Second || r.Duration < 200*time.Millisecond {
			t.Errorf("rate %v: Run took %v, measured %v after a cancel at 300ms, want about 300ms", rate, took, r.Duration)
		}
		if r.Requests == 0 || r.OK != r.Requests {
			t.Errorf("rate %v: Requests %d, OK %d, want the requests measured before the cancel", rate, r.Requests, r.OK)
		}
	}
}

func TestUnixSocketAndGET(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := newSeen()
	h := s.handler(0, always(200))
	go fasthttp.Serve(ln, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.RequestURI()) != "/v1/models/m:predict?x=1" || string(ctx.Host()) != "localhost" {
			ctx.SetStatusCode(404)
			return
		}
		h(ctx)
	})
	r := run(t, Options{URL: "unix:" + sock + ":/v1/models/m:predict?x=1", Method: "get", Concurrency: 2, Duration: 200 * time.Millisecond, Warmup: -1})
	if r.Requests == 0 || r.OK != r.Requests {
		t.Errorf("Requests %d, OK %d, Errors %v, want all OK", r.Requests, r.OK, r.Errors)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.methods["GET"] != s.total || s.bodies[""] != s.total {
		t.Errorf("server saw methods %v, bodies %v, want GET with no body", s.methods, s.bodies)
	}
}

func TestOptionsErrorsNameTheField(t *testing.T) {
	good := Options{URL: "http://127.0.0.1:1/", Bodies: bodies("x")}
	for _, tc := range []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"no URL", func(o *Options) { o.URL = "" }, "Options.URL"},
		{"ftp URL", func(o *Options) { o.URL = "ftp://h/x" }, "Options.URL"},
		{"no host", func(o *Options) { o.URL = "http:///x" }, "Options.URL"},
		{"user info", func(o *Options) { o.URL = "http://u:p@h/x" }, "Options.URL"},
		{"unix without path", func(o *Options) { o.URL = "unix:/tmp/s.sock" }, "Options.URL"},
		{"no bodies", func(o *Options) { o.Bodies = nil }, "Options.Bodies"},
		{"negative concurrency", func(o *Options) { o.Concurrency = -1 }, "Options.Concurrency"},
		{"huge concurrency", func(o *Options) { o.Concurrency = MaxConcurrency + 1 }, "Options.Concurrency"},
		{"negative rate", func(o *Options) { o.Rate = -1 }, "Options.Rate"},
		{"NaN rate", func(o *Options) { o.Rate = math.NaN() }, "Options.Rate"},
		{"huge rate", func(o *Options) { o.Rate = 2 * MaxRate }, "Options.Rate"},
		{"negative duration", func(o *Options) { o.Duration = -time.Second }, "Options.Duration"},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, "Options.Timeout"},
		{"bad header", func(o *Options) { o.Header = map[string]string{"Bad Name": "x"} }, "Options.Header"},
		{"bad method", func(o *Options) { o.Method = "GE T" }, "Options.Method"},
	} {
		o := good
		tc.edit(&o)
		start := time.Now()
		_, err := Run(context.Background(), o)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: Run error = %v, want an error naming %s", tc.name, err, tc.field)
		}
		if took := time.Since(start); took > 2*time.Second { // a run would take DefaultDuration
			t.Errorf("%s: Run took %v to refuse its options, want at once", tc.name, took)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	for _, tc := range []struct {
		in                Options
		conc              int
		warmup            time.Duration
		method            string
		duration, timeout time.Duration
	}{
		{Options{}, 64, time.Second, "POST", 10 * time.Second, 10 * time.Second},
		{Options{Rate: 100}, 64, time.Second, "POST", 10 * time.Second, 10 * time.Second},
		{Options{Rate: 5000}, 500, time.Second, "POST", 10 * time.Second, 10 * time.Second},
		{Options{Rate: MaxRate}, MaxConcurrency, time.Second, "POST", 10 * time.Second, 10 * time.Second},
		{Options{Rate: 5000, Concurrency: 3, Warmup: -1, Method: "put", Duration: 1, Timeout: 2}, 3, 0, "PUT", 1, 2},
	} {
		tc.in.URL, tc.in.Bodies = "http://h/", bodies("x")
		o, _, err := tc.in.check()
		if err != nil {
			t.Errorf("check(%+v): %v", tc.in, err)
			continue
		}
		if o.Concurrency != tc.conc || o.Warmup != tc.warmup || o.Method != tc.method || o.Duration != tc.duration || o.Timeout != tc.timeout {
			t.Errorf("check(Rate %v, Concurrency %d, Warmup %v, Method %q, Duration %v, Timeout %v) = %d, %v, %q, %v, %v, want %d, %v, %q, %v, %v",
				tc.in.Rate, tc.in.Concurrency, tc.in.Warmup, tc.in.Method, tc.in.Duration, tc.in.Timeout,
				o.Concurrency, o.Warmup, o.Method, o.Duration, o.Timeout, tc.conc, tc.warmup, tc.method, tc.duration, tc.timeout)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want target
	}{
		{"http://127.0.0.1:8080/v1/models/m:predict", target{addr: "127.0.0.1:8080", host: "127.0.0.1:8080", reqURI: "/v1/models/m:predict", fullURI: "http://127.0.0.1:8080/v1/models/m:predict"}},
		{"http://example.com/x?y=1", target{addr: "example.com:80", host: "example.com", reqURI: "/x?y=1", fullURI: "http://example.com/x?y=1"}},
		{"http://[::1]:9/", target{addr: "[::1]:9", host: "[::1]:9", reqURI: "/", fullURI: "http://[::1]:9/"}},
		{"https://h", target{addr: "h:443", tls: true, host: "h", reqURI: "/", fullURI: "https://h/"}},
		{"unix:/run/p.sock:/v1/models/m/versions/2:predict", target{addr: "/run/p.sock", unix: true, host: "localhost", reqURI: "/v1/models/m/versions/2:predict", fullURI: "http://localhost/v1/models/m/versions/2:predict"}},
	} {
		got, err := parseTarget(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseTarget(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestErrorKind(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fasthttp.ErrTimeout, "timeout"},
		{fasthttp.ErrDialTimeout, "dial_timeout"},
		{fasthttp.ErrNoFreeConns, "no_free_conns"},
		{fasthttp.ErrConnectionClosed, "connection_closed"},
		{&net.OpError{Op: "dial", Err: errors.New("weird")}, "other"},
		{errors.New("something else"), "other"},
	} {
		if got := errorKind(tc.err); got != tc.want {
			t.Errorf("errorKind(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestResultString(t *testing.T) {
	r := Result{
		Mode: "open", Rate: 100, Concurrency: 64, Duration: 10 * time.Second,
		Requests: 1000, OK: 997, Errors: map[string]uint64{"timeout": 1, "503": 2}, RPS: 99.7,
		Mean: 1250 * time.Microsecond, P50: 873 * time.Microsecond, P90: 12500 * time.Microsecond,
		P99: 125 * time.Millisecond, P999: 2310 * time.Millisecond, Max: 60 * time.Second, Late: 3, Unsent: 4,
	}
	want := "open loop at 100/s, 64 connections, 10s: 1000 requests, 997 OK, 99.7 OK/s; errors 503:2 timeout:1; late 3, unsent 4\n" +
		"latency: mean 1.25ms p50 873µs p90 12.5ms p99 125ms p99.9 2.31s max 60.0s"
	if got := r.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
	r = Result{Mode: "closed", Concurrency: 2, Duration: time.Second, Requests: 5, OK: 5, RPS: 5}
	want = "closed loop, 2 connections, 1s: 5 requests, 5 OK, 5.0 OK/s\n" +
		"latency: mean 0µs p50 0µs p90 0µs p99 0µs p99.9 0µs max 0µs"
	if got := r.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}

func TestRecorderClampsAndCounts(t *testing.T) {
	rec := newRecorder(3)
	a, b := rec.shard(), rec.shard()       // two clients' shards, merged at the end
	a.record(0, 200, "", false)            // below the histogram's 1µs
	b.record(2*time.Minute, 204, "", true) // above its 60s
	a.record(time.Millisecond, 503, "", false)
	b.record(time.Millisecond, 0, "timeout", true)
	res := Result{Duration: time.Second}
	rec.result(&res)
	if res.Requests != 4 || res.OK != 2 || res.Errors["503"] != 1 || res.Errors["timeout"] != 1 || res.Late != 2 {
		t.Errorf("Requests %d OK %d Errors %v Late %d, want 4, 2, 503:1 timeout:1, 2", res.Requests, res.OK, res.Errors, res.Late)
	}
	if res.P50 != time.Microsecond || res.Max < 59*time.Second || res.Max > 61*time.Second {
		t.Errorf("p50 %v, max %v, want 1µs and 60s (clamped to the histogram)", res.P50, res.Max)
	}
}
