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

// open runs the open loop: one dispatcher (this goroutine) hands each
// scheduled send time, when it comes, to whichever of Concurrency senders
// is free. When none is free the dispatcher waits, so sends start late,
// but each latency still counts from its schedule. It returns the window
// and the measured requests it never handed out.
func (g *generator) open(ctx context.Context) (warmEnd, end time.Time, unsent uint64) {
	ch := make(chan due) // unbuffered: a send waits for a free sender, never in a queue
	var wg sync.WaitGroup
	for range g.opts.Concurrency {
		wg.Go(func() {
			c := g.newClient()
			defer c.release()
			for d := range ch {
				c.send(d.at, time.Now(), d.measured)
			}
		})
	}

	start := g.start
	warmEnd = start.Add(g.opts.Warmup)
	end = warmEnd.Add(g.opts.Duration)
	// The schedule gives each send's due time (see schedule). The
	// dispatcher sleeps until each is due on its own OS thread with
	// nanosleep: a runtime timer overshot by 573µs (median; p90 1.0ms) on
	// the loaded 2-core VM this was measured on, nanosleep by 83µs (p90
	// 126µs), and an overshoot is counted in every latency. Spinning would
	// be exact but burns a core the server under test needs.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sched := newSchedule(g.opts)
	endTimer := time.NewTimer(time.Until(end))
	defer endTimer.Stop()

	stopAt := end  // the schedule's last moment: end, or when ctx was canceled
	ended := false // endTimer fired
	at := start.Add(sched.next())
dispatch:
	for ; ; at = start.Add(sched.next()) {
		if !at.Before(end) {
			break
		}
		if !sleepUntil(ctx, at) {
			stopAt = time.Now()
			break dispatch
		}
		d := due{at, !at.Before(warmEnd)}
		if !ended {
			select {
			case ch <- d:
				continue
			case <-endTimer.C:
				ended = true
			case <-ctx.Done():
				stopAt = time.Now()
				break dispatch
			}
		}
		// The window is over and this send is overdue. The dispatcher may
		// only be behind (timer slack, a busy machine), so a sender that is
		// free right now still gets it; if none is, it is unsent.
		select {
		case ch <- d:
		default:
			break dispatch
		}
	}
	close(ch)
	// Count what was due in the measured window but not handed out: the
	// send in hand when the loop broke (at, never sent) and every later one.
	for ; at.Before(stopAt); at = start.Add(sched.next()) {
		if !at.Before(warmEnd) {
			unsent++
		}
	}
	wg.Wait()
	return warmEnd, end, unsent
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
// the next due time from the shared schedule and sleeps until it comes on a
// runtime timer (punctual enough when the process is this busy), so no
// handoff sits between the schedule and the send. A due time that nobody
// was free to take on time is taken late by the next sender that frees
// up, and its latency still counts from the schedule. It returns the window
// and the measured requests never sent.
func (g *generator) openShared(ctx context.Context) (warmEnd, end time.Time, unsent uint64) {
	start := g.start
	warmEnd = start.Add(g.opts.Warmup)
	end = warmEnd.Add(g.opts.Duration)
	var (
		mu    sync.Mutex // guards sched, done and unsent
		sched = newSchedule(g.opts)
		done  bool // the schedule is over: the window ended or ctx was canceled
		wg    sync.WaitGroup
	)
	// finish counts at and every later due time of the window as unsent;
	// mu is held.
	finish := func(at, stopAt time.Time) {
		if done {
			return
		}
		done = true
		for ; at.Before(stopAt); at = start.Add(sched.next()) {
			if !at.Before(warmEnd) {
				unsent++
			}
		}
	}
	for range g.opts.Concurrency {
		wg.Go(func() {
			c := g.newClient()
			defer c.release()
			t := time.NewTimer(time.Hour)
			defer t.Stop()
			for {
				mu.Lock()
				if done {
					mu.Unlock()
					return
				}
				at := start.Add(sched.next())
				now := time.Now()
				switch {
				case !at.Before(end):
					done = true
				case ctx.Err() != nil:
					finish(at, now)
				case !now.Before(end):
					finish(at, end) // overdue, and the window is over
				}
				if done {
					mu.Unlock()
					return
				}
				mu.Unlock()
				if d := at.Sub(now); d > 0 {
					t.Reset(d)
					select {
					case <-t.C:
					case <-ctx.Done():
						mu.Lock()
						finish(at, time.Now())
						mu.Unlock()
						return
					}
				}
				c.send(at, time.Now(), !at.Before(warmEnd))
			}
		})
	}
	wg.Wait()
	return warmEnd, end, unsent
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
