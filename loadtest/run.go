package loadtest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Run offers load as opts describes (closed loop, or open loop when
// opts.Rate > 0) and returns what it measured. It returns an error naming
// the field at once if opts is invalid. If ctx is canceled, Run stops
// sending, waits for the requests in flight (each at most opts.Timeout) and
// returns what was measured until then with ctx's error.
func Run(ctx context.Context, opts Options) (Result, error) {
	o, t, err := opts.check()
	if err != nil {
		return Result{}, err
	}
	g := newGenerator(o, t)
	defer g.client.CloseIdleConnections()
	g.start = time.Now()
	if o.Progress != nil {
		stop := g.progress()
		defer stop()
	}

	var canceledAt atomic.Int64 // UnixNano when ctx was canceled; 0 if not
	stopCancel := context.AfterFunc(ctx, func() { canceledAt.Store(time.Now().UnixNano()) })
	defer stopCancel()

	res := Result{Mode: "closed", Concurrency: o.Concurrency}
	var warmEnd, end time.Time
	if o.Rate > 0 {
		res.Mode, res.Rate = "open", o.Rate
		if o.Rate > dispatchMaxRate {
			warmEnd, end, res.Unsent = g.openShared(ctx)
		} else {
			warmEnd, end, res.Unsent = g.open(ctx)
		}
	} else {
		warmEnd, end = g.closed(&canceledAt)
	}
	err = nil
	if at := canceledAt.Load(); at != 0 && time.Unix(0, at).Before(end) {
		end, err = time.Unix(0, at), ctx.Err()
	}
	res.Duration = max(end.Sub(warmEnd), 0)
	g.rec.result(&res)
	if res.Mode == "open" {
		res.Scheduled = res.Requests + res.Unsent
	}
	return res, err
}

// generator is one run's client and shared state.
type generator struct {
	opts   Options
	client *fasthttp.HostClient
	req    *fasthttp.Request // template: method, URI, headers; copied per client
	next   atomic.Uint64     // index of the next body, round-robin
	rec    *recorder
	start  time.Time
	// Live counts for Options.Progress: completed (warm-up included), OK,
	// errors, late, and requests in flight.
	done, ok, failed, late atomic.Uint64
	inflight               atomic.Int64
}

// progress calls Options.Progress every ProgressInterval until the
// returned stop is called, which reports once more.
func (g *generator) progress() (stop func()) {
	quit, exited := make(chan struct{}), make(chan struct{})
	report := func() {
		el := time.Since(g.start)
		g.opts.Progress(Progress{
			Elapsed: el, Warmup: el < g.opts.Warmup,
			Done: g.done.Load(), OK: g.ok.Load(), Errors: g.failed.Load(), Late: g.late.Load(),
			InFlight: g.inflight.Load(),
		})
	}
	go func() {
		defer close(exited)
		t := time.NewTicker(g.opts.ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report()
			case <-quit:
				return
			}
		}
	}()
	return func() {
		close(quit)
		<-exited
		report()
	}
}

func newGenerator(o Options, t target) *generator {
	c := &fasthttp.HostClient{
		Addr:                      t.addr,
		IsTLS:                     t.tls,
		Name:                      "predictd-loadtest",
		MaxConns:                  o.Concurrency,
		MaxConnWaitTimeout:        o.Timeout, // never reached: at most MaxConns requests are outstanding
		MaxIdleConnDuration:       time.Minute,
		MaxIdemponentCallAttempts: 1,
		// A load generator must not retry: a retry would hide an error
		// and count two sends as one latency.
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
	if t.tls {
		c.TLSConfig = &tls.Config{ServerName: hostOnly(t.host)}
	}
	if t.unix {
		path := t.addr
		c.DialTimeout = func(_ string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout("unix", path, timeout)
		}
	}
	req := new(fasthttp.Request)
	req.Header.SetMethod(o.Method)
	req.SetRequestURI(t.fullURI)
	req.Header.SetHost(t.host)
	req.Header.SetContentType("application/json")
	for k, v := range o.Header {
		req.Header.Set(k, v)
	}
	rec := newRecorder(o.Concurrency)
	rec.timeline = newTimeline(o.Duration)
	return &generator{opts: o, client: c, req: req, rec: rec}
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// closed runs the closed loop: Concurrency clients each send, wait for the
// answer, and send again, until the measured window ends or canceledAt is
// set. It returns the window.
func (g *generator) closed(canceledAt *atomic.Int64) (warmEnd, end time.Time) {
	start := g.start
	warmEnd = start.Add(g.opts.Warmup)
	end = warmEnd.Add(g.opts.Duration)
	var wg sync.WaitGroup
	for range g.opts.Concurrency {
		wg.Go(func() {
			c := g.newClient()
			defer c.release()
			for canceledAt.Load() == 0 {
				now := time.Now()
				if !now.Before(end) {
					return
				}
				c.send(now, now, !now.Before(warmEnd))
			}
		})
	}
	wg.Wait()
	return warmEnd, end
}

// due is one open-loop request: when it was scheduled and whether it falls
// in the measured window.
type due struct {
	at       time.Time
	measured bool
}

// pacer hands an open loop's due times out to whoever sends them (the
// dispatcher, or the senders themselves) and counts the ones it skips. It
// is what keeps a generator asked for more than the server can take
// sending as fast as its connections allow instead of collapsing:
//
//   - When the measured window starts, every warm-up send still due is
//     dropped (not counted: the warm-up is not measured), so a backlog built
//     in the warm-up never eats the window.
//   - A send that no connection could start within MaxLateness of its
//     schedule is skipped and counted in Unsent, as a user who waited that
//     long would have given up.
//   - When the window ends, every send still due in it is counted in
//     Unsent.
//
// Each skip is one schedule.skipTo, O(1) whatever the rate, so a rate far
// above capacity (10^7/s) costs counters, not work per due send. The sends
// that are handed out keep their scheduled time: their latency counts from
// it however late they go (no coordinated omission). Safe for concurrent
// use.
type pacer struct {
	mu          sync.Mutex
	sched       *schedule
	start       time.Time
	warmup, end time.Duration // the measured window, as offsets from start
	maxLate     time.Duration
	unsent      uint64 // measured sends skipped or never sent
	done        bool   // the schedule is over: the window ended or ctx was canceled
}

func newPacer(o Options, start time.Time) *pacer {
	return &pacer{sched: newSchedule(o), start: start, warmup: o.Warmup, end: o.Warmup + o.Duration, maxLate: o.MaxLateness}
}

// next returns the next send due, as seen at now, or ok false when the
// schedule is over. Once the window has ended it ends the schedule, unless
// overdue is set: then it still hands out the sends due in the window (the
// dispatcher, which may just be behind, passes them on only to a sender
// free at that instant, and calls finish when none is).
func (p *pacer) next(now time.Time, overdue bool) (d due, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return due{}, false
	}
	el := now.Sub(p.start)
	if el >= p.end && !overdue {
		p.finishLocked(p.end) // overdue, and the window is over
		return due{}, false
	}
	if el >= p.warmup {
		p.sched.skipTo(p.warmup) // the warm-up's backlog: dropped
	}
	if el-p.maxLate > 0 {
		_, m := p.sched.skipTo(el - p.maxLate)
		p.unsent += m
	}
	off := p.sched.peek()
	if off >= p.end {
		p.done = true
		return due{}, false
	}
	p.sched.next()
	return due{p.start.Add(off), off >= p.warmup}, true
}

// stale reports whether d, handed out earlier, should no longer be sent
// at now: a warm-up send once the window has started, or a send more than
// MaxLateness behind. A stale measured send is counted in Unsent.
func (p *pacer) stale(d due, now time.Time) bool {
	if !d.measured {
		return now.Sub(p.start) >= p.warmup
	}
	if now.Sub(d.at) <= p.maxLate {
		return false
	}
	p.drop(d)
	return true
}

// drop counts d, handed out but never sent, in Unsent if it is measured.
func (p *pacer) drop(d due) {
	if d.measured {
		p.mu.Lock()
		p.unsent++
		p.mu.Unlock()
	}
}

// finish ends the schedule at stopAt: every measured send due before it
// and not yet handed out is unsent.
func (p *pacer) finish(stopAt time.Time) {
	p.mu.Lock()
	p.finishLocked(min(stopAt.Sub(p.start), p.end))
	p.mu.Unlock()
}

func (p *pacer) finishLocked(stopAt time.Duration) {
	if p.done {
		return
	}
	p.done = true
	_, m := p.sched.skipTo(stopAt)
	p.unsent += m
}

// unsentCount returns the measured sends never sent; call it after every
// sender has stopped.
func (p *pacer) unsentCount() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unsent
}

// open runs the open loop: one dispatcher (this goroutine) hands each
// scheduled send time, when it comes, to whichever of Concurrency senders
// is free. When none is free the dispatcher waits, so sends start late,
// but each latency still counts from its schedule; the pacer skips what
// fell too far behind. It returns the window and the measured requests
// never sent.
func (g *generator) open(ctx context.Context) (warmEnd, end time.Time, unsent uint64) {
	start := g.start
	warmEnd = start.Add(g.opts.Warmup)
	end = warmEnd.Add(g.opts.Duration)
	p := newPacer(g.opts, start)
	ch := make(chan due) // unbuffered: a send waits for a free sender, never in a queue
	var wg sync.WaitGroup
	for range g.opts.Concurrency {
		wg.Go(func() {
			c := g.newClient()
			defer c.release()
			for d := range ch {
				// d may have waited in the handoff for a sender to free up.
				if now := time.Now(); !p.stale(d, now) {
					c.send(d.at, now, d.measured)
				}
			}
		})
	}

	// The dispatcher sleeps until each send is due on its own OS thread
	// with nanosleep: a runtime timer overshot by 573µs (median; p90
	// 1.0ms) on the loaded 2-core VM this was measured on, nanosleep by
	// 83µs (p90 126µs), and an overshoot is counted in every latency.
	// Spinning would be exact but burns a core the server under test needs.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	endTimer := time.NewTimer(time.Until(end))
	defer endTimer.Stop()
	ended := false // endTimer fired
dispatch:
	for {
		d, ok := p.next(time.Now(), true)
		if !ok {
			break
		}
		if !sleepUntil(ctx, d.at) {
			p.drop(d)
			p.finish(time.Now())
			break
		}
		if !ended {
			select {
			case ch <- d:
				continue
			case <-endTimer.C:
				ended = true
			case <-ctx.Done():
				p.drop(d)
				p.finish(time.Now())
				break dispatch
			}
		}
		// The window is over and this send is overdue. The dispatcher may
		// only be behind (timer slack, a busy machine), so a sender that is
		// free right now still gets it; if none is, it is unsent.
		select {
		case ch <- d:
		default:
			p.drop(d)
			p.finish(end)
			break dispatch
		}
	}
	close(ch)
	wg.Wait()
	return warmEnd, end, p.unsentCount()
}

// sleepUntil blocks until at, or returns false early if ctx is done (seen
// within 10ms).
func sleepUntil(ctx context.Context, at time.Time) bool {
	for {
		d := time.Until(at)
		if d <= 0 {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		nanosleep(min(d, 10*time.Millisecond))
	}
}

// dispatchMaxRate is the highest open-loop rate the dispatcher (open)
// serves; above it the senders keep the schedule themselves (openShared).
// The dispatcher's nanosleep on a locked thread is the more punctual while
// the process is mostly idle, but each handoff to a sender wakes a parked
// goroutine from that thread, which costs more as the rate grows. Against
// a do-nothing server, 64 connections, 3 s, same loaded 2-core VM:
//
//	rate/s   dispatcher p50, late      self-scheduled p50, late
//	 5,000   161µs,     16 of 15k      647µs, 2,138 of 15k (timer slack)
//	15,000   154µs,    188 of 45k      185µs, 2,007 of 45k
//	20,000   288µs,    650 of 60k      139µs,   967 of 60k
//	30,000   478µs-3.6ms, 4.9k-50k     170-394µs, 2.3k-11k of 90k
const dispatchMaxRate = 20000

// openShared is the open loop for high rates: each sender, when free, takes
// the next due time from the pacer and sleeps until it comes on a runtime
// timer (punctual enough when the process is this busy), so no handoff
// sits between the schedule and the send. A due time that nobody was free
// to take on time is taken late by the next sender that frees up (or
// skipped by the pacer if it is too late), and its latency still counts
// from the schedule. It returns the window and the measured requests
// never sent.
func (g *generator) openShared(ctx context.Context) (warmEnd, end time.Time, unsent uint64) {
	start := g.start
	warmEnd = start.Add(g.opts.Warmup)
	end = warmEnd.Add(g.opts.Duration)
	p := newPacer(g.opts, start)
	var wg sync.WaitGroup
	for range g.opts.Concurrency {
		wg.Go(func() {
			c := g.newClient()
			defer c.release()
			t := time.NewTimer(time.Hour)
			defer t.Stop()
			for {
				if ctx.Err() != nil {
					p.finish(time.Now())
					return
				}
				d, ok := p.next(time.Now(), false)
				if !ok {
					return
				}
				if w := time.Until(d.at); w > 0 {
					t.Reset(w)
					select {
					case <-t.C:
					case <-ctx.Done():
						p.drop(d)
						p.finish(time.Now())
						return
					}
				}
				c.send(d.at, time.Now(), d.measured)
			}
		})
	}
	wg.Wait()
	return warmEnd, end, p.unsentCount()
}

// client is one connection's worth of request state, owned by one
// goroutine.
type client struct {
	g    *generator
	req  *fasthttp.Request
	resp *fasthttp.Response
	rec  *shard // this client's histogram (shared with others past maxShards)
}

func (g *generator) newClient() *client {
	req := fasthttp.AcquireRequest()
	g.req.CopyTo(req)
	return &client{g: g, req: req, resp: fasthttp.AcquireResponse(), rec: g.rec.shard()}
}

func (c *client) release() {
	fasthttp.ReleaseRequest(c.req)
	fasthttp.ReleaseResponse(c.resp)
}

// send sends the next body, waits for the answer and, if measured, records
// it with its latency from scheduled. started is when the send began (the
// same as scheduled in the closed loop).
func (c *client) send(scheduled, started time.Time, measured bool) {
	g := c.g
	if n := uint64(len(g.opts.Bodies)); n > 0 {
		c.req.SetBodyRaw(g.opts.Bodies[(g.next.Add(1)-1)%n])
	}
	g.inflight.Add(1)
	err := g.client.DoTimeout(c.req, c.resp, g.opts.Timeout)
	lat := time.Since(scheduled)
	g.inflight.Add(-1)
	g.done.Add(1)
	late := started.Sub(scheduled) > LateThreshold
	if late {
		g.late.Add(1)
	}
	status := 0
	if err == nil {
		status = c.resp.StatusCode()
	}
	if err == nil && status >= 200 && status <= 299 {
		g.ok.Add(1)
	} else {
		g.failed.Add(1)
	}
	if !measured {
		return
	}
	g.rec.timeline.record(scheduled.Sub(g.start)-g.opts.Warmup, lat, err == nil && status >= 200 && status <= 299)
	if err != nil {
		c.rec.record(lat, 0, errorKind(err), late)
		return
	}
	c.rec.record(lat, status, "", late)
}

// errorKind names a transport error for Result.Errors. The set is small
// and fixed so that the map stays readable whatever goes wrong.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrDialTimeout):
		return "dial_timeout"
	case errors.Is(err, fasthttp.ErrTimeout), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_conns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection_reset"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_closed"
	}
	return "other"
}
