package loadtest

import (
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// staller is a server that answers at once except during stall windows:
// window k (k = 0, 1, ...) is [origin + k·period, origin + k·period +
// stall), and a request that arrives in one is held until the window ends,
// as a server paused by a GC or a compaction holds everything that comes
// in meanwhile.
type staller struct {
	origin        atomic.Int64 // UnixNano of window 0's start; set by the test before each run
	period, stall time.Duration
}

func (s *staller) handler(ctx *fasthttp.RequestCtx) {
	since := time.Since(time.Unix(0, s.origin.Load()))
	if since >= 0 {
		if phase := since % s.period; phase < s.stall {
			time.Sleep(s.stall - phase)
		}
	}
	ctx.SetBodyString(`{"predictions":[0.5]}`)
}

// TestStallPercentiles checks the generator's tail against an analytic
// answer. The server stalls for S = 100ms every P = 1s; the open loop sends
// R = 500 requests per second for N = 3 periods, each window placed in the
// middle of a period of the measured time, so exactly N·S of it is stalled
// wherever within ±(P−S)/2 the run really starts.
//
// A request due at a uniform time in the measured window is due in a stall
// with probability f = S/P = 0.1, and then waits from its due time to the
// stall's end: uniform on (0, S]. The others wait only the base latency b.
// So for a quantile q above 1−f, P(wait > x) = f·(1 − x/S) = 1 − q gives
//
//	latency(q) = S·(1 − (1−q)/f) + b:  p99 = 100ms·(1 − 0.01/0.1) = 90ms, max = S = 100ms,
//
// and p50 = b. The measured window holds R·N·P = 1500 requests, 150 of them
// stalled, so p99 is the 15th slowest: well inside the stalled ones.
//
// A closed loop of C = 8 clients against the same server sees the same
// stalls but only in C requests each (every client is held once, then
// sends again after the stall): at the thousands of requests per second
// this machine answers between stalls, that is C·N = 24 requests of tens of
// thousands, far under 1%, so its p99 is the base latency and the stall
// shows only in its max: the coordinated omission the open loop avoids.
func TestStallPercentiles(t *testing.T) {
	const (
		period = time.Second
		stall  = 100 * time.Millisecond
		rate   = 500.0
		n      = 3 // stalls in the measured window
		warmup = 300 * time.Millisecond
		// A busy 2-core machine under -race delays the base path by a few
		// milliseconds at worst (GC, scheduling, the dispatcher's timer).
		baseSlack = 5 * time.Millisecond
	)
	s := &staller{period: period, stall: stall}
	s.origin.Store(time.Now().Add(time.Hour).UnixNano()) // no stalls until a run sets it
	url := serve(t, s.handler) + "/"

	// Quantile q of the open loop's latency, from the schedule: a fraction
	// f of the requests wait uniformly on (0, S].
	f := float64(stall) / float64(period)
	quantile := func(q float64) time.Duration {
		if q <= 1-f {
			return 0
		}
		return time.Duration(math.Round(float64(stall) * (1 - (1-q)/f)))
	}
	wantP99, wantMax := quantile(0.99), stall

	// Centre each stall in its period of the measured window, which starts
	// warmup after Run is called.
	align := func() {
		s.origin.Store(time.Now().Add(warmup + (period-stall)/2).UnixNano())
	}
	o := Options{
		URL: url, Bodies: bodies(`{"instances":[[1,2,3]]}`),
		// R·S = 50 requests are held in each stall; twice that many
		// connections keeps every send on time.
		Concurrency: 2 * int(rate*stall.Seconds()),
		Rate:        rate,
		Duration:    n * period,
		Warmup:      warmup,
	}
	align()
	open := run(t, o)
	if open.OK != open.Requests || open.Unsent != 0 {
		t.Fatalf("open loop: Requests %d, OK %d, Errors %v, Unsent %d, want all sent and OK", open.Requests, open.OK, open.Errors, open.Unsent)
	}
	if want := rate * o.Duration.Seconds(); float64(open.Requests) != want {
		t.Errorf("open loop: Requests = %d, want the %v due in %v at %v/s", open.Requests, want, o.Duration, rate)
	}
	t.Logf("open loop: p50 %v, p99 %v (analytic %v), max %v (analytic %v)", open.P50, open.P99, wantP99, open.Max, wantMax)
	if open.P50 > baseSlack {
		t.Errorf("open loop p50 = %v, want the base latency, under %v: 90%% of requests are due outside a stall", open.P50, baseSlack)
	}
	// ±15% of the analytic p99, plus slack above: the 50 requests a stall
	// holds are all released at its end and answered one after another, so
	// each adds its place in that drain to its wait. Measured on the 2-core
	// VM this was written on, busy with other load: p99 91–93ms, max
	// 102–107ms; under -race p99 93–104ms, max 104–122ms (35 runs).
	if lo, hi := time.Duration(0.85*float64(wantP99)), time.Duration(1.15*float64(wantP99))+baseSlack; open.P99 < lo || open.P99 > hi {
		t.Errorf("open loop p99 = %v, want %v (S·(1 − 0.01·P/S), S=%v P=%v) within [%v, %v]", open.P99, wantP99, stall, period, lo, hi)
	}
	// The longest wait is a request due right as a stall begins: S, plus
	// its place in the drain and whatever the machine adds to a sleep's
	// wake-up.
	if lo, hi := time.Duration(0.9*float64(wantMax)), wantMax+30*time.Millisecond; open.Max < lo || open.Max > hi {
		t.Errorf("open loop max = %v, want the stall %v within [%v, %v]", open.Max, wantMax, lo, hi)
	}

	o.Rate, o.Concurrency = 0, 8
	align()
	closed := run(t, o)
	t.Logf("closed loop: p99 %v vs the open loop's analytic %v, max %v", closed.P99, wantP99, closed.Max)
	// The premise: the stalled requests, at most one per client per stall,
	// must be under 1% of the closed loop's requests for its p99 to miss
	// them, which takes 800 requests per second; this server answers some
	// 8000 under -race. Measured closed-loop p99: 1.4–20ms (35 runs).
	if stalled := o.Concurrency * n; float64(closed.Requests) < 100*float64(stalled) {
		t.Fatalf("closed loop: %d requests, want more than 100 × %d (clients × stalls): the machine is too slow for this test's premise", closed.Requests, stalled)
	}
	if closed.P99 > wantP99/3 {
		t.Errorf("closed loop p99 = %v, want under a third of the analytic %v: %d clients are held in only %d of %d requests",
			closed.P99, wantP99, o.Concurrency, o.Concurrency*n, closed.Requests)
	}
	if closed.Max < time.Duration(0.9*float64(stall)) {
		t.Errorf("closed loop max = %v, want about the stall %v: each client is held once per stall", closed.Max, stall)
	}
}
