package loadtest

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestSkipToMatchesWalking holds schedule.skipTo, which jumps in O(1), to
// the plain walk it replaces: consuming sends one at a time until one is
// due at or after t. Both must pass the same number of warm-up and
// measured sends and leave the same next send, for every profile whose
// schedule is a function of the index.
func TestSkipToMatchesWalking(t *testing.T) {
	ms := time.Millisecond
	for _, o := range []Options{
		{Rate: 1000, Warmup: 300 * ms, Duration: 2 * time.Second},
		{Rate: 333.3, Warmup: 17 * ms, Duration: time.Second},
		{Rate: 5e5, Warmup: -1, Duration: 200 * ms},
		{Rate: 2000, Profile: ProfileRamp, StartRate: 100, Warmup: 100 * ms, Duration: time.Second},
		{Rate: 2000, Profile: ProfileStep, Steps: 7, Warmup: 250 * ms, Duration: time.Second},
		{Rate: 777, Profile: ProfileStep, Steps: 1, Warmup: 250 * ms, Duration: time.Second},
	} {
		o.URL, o.Bodies = "http://127.0.0.1:1/", bodies("x")
		o, _, err := o.check()
		if err != nil {
			t.Fatal(err)
		}
		end := o.Warmup + o.Duration
		// Jump from several places to several later places.
		for _, fromTo := range [][2]time.Duration{{0, 0}, {0, 1}, {0, o.Warmup}, {0, o.Warmup + 1}, {5 * ms, end / 3},
			{o.Warmup / 2, o.Warmup + o.Duration/2}, {o.Warmup + 3*ms, end}, {end / 2, end + 50*ms}} {
			from, to := fromTo[0], max(fromTo[0], fromTo[1])
			walk, jump := newSchedule(o), newSchedule(o)
			walk.skipTo(0)
			for walk.peek() < from {
				walk.next()
				jump.next()
			}
			var ww, wm uint64
			for walk.peek() < to {
				if walk.next() < o.Warmup {
					ww++
				} else {
					wm++
				}
			}
			jw, jm := jump.skipTo(to)
			if jw != ww || jm != wm || jump.peek() != walk.peek() {
				t.Errorf("%s %g/s: skip from %v to %v = %d warm-up, %d measured, next %v; walking gives %d, %d, next %v",
					o.Profile, o.Rate, from, to, jw, jm, jump.peek(), ww, wm, walk.peek())
			}
		}
	}
}

// TestSkipToIsConstantTime: skipping a schedule of 10^9 sends a second
// past 10^4 seconds (10^13 sends) returns, and counts them all. A walk
// would take hours, so a regression fails by the test's timeout, not by a
// measured time.
func TestSkipToIsConstantTime(t *testing.T) {
	for _, p := range []Profile{ProfileConstant, ProfileRamp, ProfileStep, ProfilePoisson} {
		o := Options{URL: "http://127.0.0.1:1/", Bodies: bodies("x"), Rate: MaxRate, Profile: p,
			Warmup: time.Second, Duration: 1e4 * time.Second}
		o, _, err := o.check()
		if err != nil {
			t.Fatal(err)
		}
		s := newSchedule(o)
		warm, measured := s.skipTo(o.Warmup + o.Duration)
		if want := uint64(math.Ceil(o.Warmup.Seconds() * s.first)); warm != want {
			t.Errorf("%s: skipped %d warm-up sends, want %d", p, warm, want)
		}
		// The window's count for each profile: rate × duration, or its
		// average rate × duration for ramp and step.
		avg := o.Rate
		if p == ProfileRamp || p == ProfileStep {
			avg = (o.StartRate + o.Rate) / 2
		}
		if want := avg * o.Duration.Seconds(); math.Abs(float64(measured)-want) > 1e-6*want {
			t.Errorf("%s: skipped %d measured sends, want about %.0f", p, measured, want)
		}
		if next := s.peek(); next < o.Warmup+o.Duration {
			t.Errorf("%s: after skipping to the window's end the next send is due at %v", p, next)
		}
	}
}

// TestPoissonSkip checks the poisson schedule's skip: the count it draws
// for a span averages rate × span, and the schedule carries on after it.
func TestPoissonSkip(t *testing.T) {
	o := Options{URL: "http://127.0.0.1:1/", Bodies: bodies("x"), Rate: 1000, Profile: ProfilePoisson, Warmup: -1, Duration: time.Hour, Seed: 3}
	o, _, err := o.check()
	if err != nil {
		t.Fatal(err)
	}
	s := newSchedule(o)
	var total uint64
	at := time.Duration(0)
	for range 400 {
		s.next()
		at = max(at, s.peek()) + 50*time.Millisecond // 50 expected arrivals: the counting branch
		_, m := s.skipTo(at)
		total += m
		if s.peek() < at {
			t.Fatalf("after skipTo(%v) the next send is at %v", at, s.peek())
		}
	}
	// 400 draws of Poisson(50): mean 20,000, sd 141.
	if math.Abs(float64(total)-20000) > 6*141 {
		t.Errorf("400 skips of 50ms at 1000/s passed %d sends, want about 20000", total)
	}
}

// limited is a test server of a fixed capacity: one request at a time,
// each held for service, so about 1/service requests a second at most.
type limited struct {
	mu      sync.Mutex
	service time.Duration
	n       int
}

func (l *limited) handle(ctx *fasthttp.RequestCtx) {
	l.mu.Lock()
	time.Sleep(l.service)
	l.n++
	l.mu.Unlock()
	ctx.SetBodyString(`{"predictions":[0.5]}`)
}

// TestOverloadSaturates offers 10x and 100x a server's capacity (the
// dispatcher's rate range and the self-scheduled senders'), and 10^7/s.
// A generator that collapses past capacity (works through the warm-up's
// backlog one send at a time in the window, or walks every due send)
// sends nothing measured at the higher rates; this one must keep the
// server busy: requests sent in the window, every due request sent or
// unsent, and the OK count at 100x not collapsing against 10x. The bounds
// are counts, generous against a noisy machine, never times.
func TestOverloadSaturates(t *testing.T) {
	l := &limited{service: 2 * time.Millisecond} // ≤ 500/s
	url := serve(t, l.handle) + "/"
	capacity := float64(time.Second) / float64(l.service)
	const window = 800 * time.Millisecond
	var ok10 uint64
	for _, c := range []struct {
		name string
		rate float64
	}{{"10x", 10 * capacity}, {"100x", 100 * capacity}, {"1e7", 1e7}} {
		r := run(t, Options{URL: url, Bodies: bodies("x"), Rate: c.rate, Concurrency: 4,
			Warmup: 300 * time.Millisecond, Duration: window, Timeout: 5 * time.Second})
		want := uint64(c.rate * window.Seconds())
		if r.Scheduled != r.Requests+r.Unsent || r.Scheduled < want-1 || r.Scheduled > want+1 {
			t.Errorf("%s: requests %d + unsent %d = %d (scheduled %d), want the %d due in %v at %g/s",
				c.name, r.Requests, r.Unsent, r.Requests+r.Unsent, r.Scheduled, want, window, c.rate)
		}
		if r.OK == 0 || r.OK != r.Requests {
			t.Errorf("%s: %d OK of %d requests in the window; want some, all OK", c.name, r.OK, r.Requests)
		}
		// The server answers at most capacity × (window + timeout slack).
		if most := uint64(capacity*(window+5*time.Second).Seconds()) + 8; r.Requests > most {
			t.Errorf("%s: %d requests, more than the server can answer (%d)", c.name, r.Requests, most)
		}
		switch c.name {
		case "10x":
			ok10 = r.OK
		default:
			if r.OK < ok10/4 {
				t.Errorf("%s: %d OK against %d at 10x: collapsed past capacity", c.name, r.OK, ok10)
			}
		}
		if r.Late == 0 {
			t.Errorf("%s: no late sends at %g/s against a %g/s server", c.name, c.rate, capacity)
		}
	}
}

// TestPacer drives the pacer with an injected clock: the warm-up's
// backlog is dropped uncounted when the window starts, a send more than
// MaxLateness behind is skipped and counted unsent, the ones handed out
// keep their scheduled times, and the window's end counts the rest.
func TestPacer(t *testing.T) {
	o := Options{URL: "http://127.0.0.1:1/", Bodies: bodies("x"), Rate: 1000, Warmup: time.Second,
		Duration: 2 * time.Second, MaxLateness: 100 * time.Millisecond}
	o, _, err := o.check()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return start.Add(d) }
	p := newPacer(o, start)
	ms := time.Millisecond

	// In the warm-up, on time: the first send, unmeasured.
	if d, ok := p.next(at(0), false); !ok || d.at != at(0) || d.measured {
		t.Fatalf("next at 0 = %+v %v, want the send due at 0, unmeasured", d, ok)
	}
	// 1.05 s in, nothing sent since: the 999 warm-up sends left are
	// dropped, not counted; the window's first 50 are within MaxLateness,
	// so the next is the window's first, 50ms late.
	if d, ok := p.next(at(1050*ms), false); !ok || d.at != at(time.Second) || !d.measured || p.unsent != 0 {
		t.Fatalf("next at 1.05s = %+v %v, unsent %d; want the window's first send (1s), measured, none unsent", d, ok, p.unsent)
	}
	// 1.5 s in: the sends due before 1.4 s are more than 100ms late:
	// skipped and counted (1.001 s to 1.399 s: 399 of them).
	if d, ok := p.next(at(1500*ms), false); !ok || d.at != at(1400*ms) || p.unsent != 399 {
		t.Fatalf("next at 1.5s = %+v %v, unsent %d; want the send due at 1.4s, 399 unsent", d, ok, p.unsent)
	}
	// A send handed out at 1.5 s and still waiting at 1.7 s is stale, and
	// counts; a warm-up one in the window is stale and does not.
	d, _ := p.next(at(1500*ms), false)
	if !p.stale(d, at(1700*ms)) || p.unsent != 400 {
		t.Errorf("stale(%v at 1.7s) false or unsent %d, want stale and 400 unsent", d.at.Sub(start), p.unsent)
	}
	if !p.stale(due{at(10 * ms), false}, at(1001*ms)) || p.unsent != 400 {
		t.Errorf("a warm-up send in the window: not stale, or counted (unsent %d)", p.unsent)
	}
	if p.stale(due{at(1600 * ms), true}, at(1650*ms)) {
		t.Errorf("a send 50ms late is stale, want it sent (MaxLateness 100ms)")
	}
	// Past the end: every send due in the window and not sent is unsent:
	// the window's 2000 less the two sent (the stale third is counted).
	if _, ok := p.next(at(3500*ms), false); ok || p.unsentCount() != 2000-2 {
		t.Errorf("next after the end: ok %v, unsent %d; want done, %d unsent", ok, p.unsentCount(), 2000-2)
	}
	if _, ok := p.next(at(3600*ms), true); ok {
		t.Errorf("next after the end handed out a send")
	}
	// The dispatcher, behind, asks with overdue set just after the end:
	// the window's last send still goes (to a sender free at once).
	q := newPacer(o, start)
	q.skipForTest(2999 * ms)
	if d, ok := q.next(at(3002*ms), true); !ok || d.at != at(2999*ms) || !d.measured {
		t.Errorf("overdue next just after the end = %+v %v, want the send due at 2.999s", d, ok)
	}
}

// skipForTest moves the schedule to the first send due at or after t.
func (p *pacer) skipForTest(t time.Duration) { p.sched.skipTo(t) }
