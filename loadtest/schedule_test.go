package loadtest

import (
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// offsets returns the schedule's offsets before limit.
func offsets(t *testing.T, o Options, limit time.Duration) []time.Duration {
	t.Helper()
	o.URL, o.Bodies = "http://127.0.0.1:1/", bodies("x")
	o, _, err := o.check()
	if err != nil {
		t.Fatal(err)
	}
	s := newSchedule(o)
	var out []time.Duration
	for prev := time.Duration(-1); ; {
		d := s.next()
		if d < prev {
			t.Fatalf("%s: offset %v after %v: the schedule went back", o.Profile, d, prev)
		}
		if d >= limit {
			return out
		}
		out = append(out, d)
		prev = d
	}
}

// count returns how many offsets fall in [from, to).
func count(ds []time.Duration, from, to time.Duration) int {
	n := 0
	for _, d := range ds {
		if d >= from && d < to {
			n++
		}
	}
	return n
}

// TestSchedules checks each profile's sends per interval against the rate
// it should have there.
func TestSchedules(t *testing.T) {
	sec := time.Second
	near := func(got int, want float64) bool { return math.Abs(float64(got)-want) <= 1+0.03*want }

	// constant: 100/s through the warm-up and the window.
	ds := offsets(t, Options{Rate: 100, Warmup: sec, Duration: 4 * sec}, 5*sec)
	for s := range 5 {
		if n := count(ds, time.Duration(s)*sec, time.Duration(s+1)*sec); n != 100 {
			t.Errorf("constant 100/s: %d sends in second %d, want 100", n, s)
		}
	}

	// step: 5 steps of 1s from 200 to 1000/s, warm-up at 200/s.
	ds = offsets(t, Options{Rate: 1000, Profile: ProfileStep, Warmup: sec, Duration: 5 * sec}, 6*sec)
	for s, want := range []float64{200, 200, 400, 600, 800, 1000} {
		if n := count(ds, time.Duration(s)*sec, time.Duration(s+1)*sec); !near(n, want) {
			t.Errorf("step: %d sends in second %d, want %v", n, s, want)
		}
	}

	// ramp: 100/s to 1100/s over 10s: the rate at second s is about
	// 150 + 100s, and the window holds (100+1100)/2·10 sends.
	ds = offsets(t, Options{Rate: 1100, StartRate: 100, Profile: ProfileRamp, Warmup: -1, Duration: 10 * sec}, 10*sec)
	for s := range 10 {
		if n, want := count(ds, time.Duration(s)*sec, time.Duration(s+1)*sec), 150+100*float64(s); !near(n, want) {
			t.Errorf("ramp: %d sends in second %d, want %v", n, s, want)
		}
	}
	if len(ds) < 5999 || len(ds) > 6001 {
		t.Errorf("ramp: %d sends in the window, want 6000", len(ds))
	}

	// poisson: 1000/s on average, the same schedule for the same seed,
	// and inter-arrival times as variable as an exponential's (CV 1).
	o := Options{Rate: 1000, Profile: ProfilePoisson, Warmup: -1, Duration: 20 * sec, Seed: 7}
	ds = offsets(t, o, 20*sec)
	if n := len(ds); n < 19000 || n > 21000 {
		t.Errorf("poisson 1000/s: %d sends in 20s, want about 20000", n)
	}
	var sum, sq float64
	for i := 1; i < len(ds); i++ {
		g := (ds[i] - ds[i-1]).Seconds()
		sum += g
		sq += g * g
	}
	m := sum / float64(len(ds)-1)
	if cv := math.Sqrt(sq/float64(len(ds)-1)-m*m) / m; cv < 0.9 || cv > 1.1 {
		t.Errorf("poisson: inter-arrival CV %.3f, want about 1", cv)
	}
	again := offsets(t, o, 20*sec)
	if len(again) != len(ds) || again[len(ds)/2] != ds[len(ds)/2] {
		t.Errorf("poisson: the same seed gave another schedule")
	}
}

// TestProfileOptions checks the profile fields are validated by name.
func TestProfileOptions(t *testing.T) {
	good := Options{URL: "http://127.0.0.1:1/", Bodies: bodies("x"), Rate: 100}
	for _, tc := range []struct {
		mut  func(*Options)
		want string
	}{
		{func(o *Options) { o.Profile = "sine" }, "Options.Profile"},
		{func(o *Options) { o.Profile, o.Rate = ProfileRamp, 0 }, "Options.Profile ramp needs an open loop"},
		{func(o *Options) { o.Profile, o.Steps = ProfileStep, -1 }, "Options.Steps"},
		{func(o *Options) { o.Profile, o.StartRate = ProfileRamp, 200 }, "Options.StartRate"},
		{func(o *Options) { o.ProgressInterval = -time.Second }, "Options.ProgressInterval"},
	} {
		o := good
		tc.mut(&o)
		if _, _, err := o.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check(%+v) = %v, want an error naming %s", o, err, tc.want)
		}
	}
}

// TestProgress checks the progress callback runs on its interval and its
// last call counts every completed request.
func TestProgress(t *testing.T) {
	url := serve(t, newSeen().handler(time.Millisecond, always(200)))
	var mu sync.Mutex
	var calls []Progress
	r := run(t, Options{URL: url + "/", Bodies: bodies("x"), Concurrency: 2, Rate: 200,
		Warmup: 100 * time.Millisecond, Duration: 400 * time.Millisecond, ProgressInterval: 50 * time.Millisecond,
		Progress: func(p Progress) { mu.Lock(); calls = append(calls, p); mu.Unlock() }})
	mu.Lock()
	defer mu.Unlock()
	if len(calls) < 5 || !calls[0].Warmup {
		t.Fatalf("%d progress calls, first %+v; want at least 5, the first in the warm-up", len(calls), calls[0])
	}
	last := calls[len(calls)-1]
	if last.Warmup || last.Done < r.Requests || last.OK != last.Done || last.InFlight != 0 {
		t.Errorf("last progress %+v, want after the warm-up, all %d+ requests done and OK, none in flight", last, r.Requests)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].Done < calls[i-1].Done || calls[i].Elapsed < calls[i-1].Elapsed {
			t.Errorf("progress went back: %+v after %+v", calls[i], calls[i-1])
		}
	}
}

// TestOpenLoopShared checks the high-rate open loop (senders keep the
// schedule) accounts for every due send: sent or unsent, and every sent
// one answered, whether or not this machine keeps up.
func TestOpenLoopShared(t *testing.T) {
	s := newSeen()
	url := serve(t, s.handler(0, always(200)))
	const rate = dispatchMaxRate * 1.25
	r := run(t, Options{URL: url + "/", Bodies: bodies("x"), Rate: rate, Concurrency: 16,
		Warmup: 100 * time.Millisecond, Duration: 400 * time.Millisecond})
	want := uint64(rate * 0.4)
	if got := r.Requests + r.Unsent; got < want-1 || got > want+1 {
		t.Errorf("Requests %d + Unsent %d = %d, want the %d due in 400ms at %v/s", r.Requests, r.Unsent, got, want, rate)
	}
	if r.OK != r.Requests || r.Requests == 0 {
		t.Errorf("OK %d of %d requests, want all", r.OK, r.Requests)
	}
	checkOrdered(t, r, 0)
}

// TestIntervals checks a step profile shows in the run's intervals: each
// second's 2xx count follows its step's rate.
func TestIntervals(t *testing.T) {
	url := serve(t, newSeen().handler(0, always(200)))
	r := run(t, Options{URL: url + "/", Bodies: bodies("x"), Rate: 400, Profile: ProfileStep, Steps: 4,
		Warmup: -1, Duration: 4 * time.Second})
	if len(r.Intervals) != 4 {
		t.Fatalf("%d intervals, want 4 (one a second): %+v", len(r.Intervals), r.Intervals)
	}
	var total uint64
	for i, iv := range r.Intervals {
		want := float64(100 * (i + 1)) // steps of 100, 200, 300, 400/s
		if got := float64(iv.OK + iv.Errors); math.Abs(got-want) > 2+0.03*want || iv.Start != time.Duration(i)*time.Second || iv.Width != time.Second {
			t.Errorf("interval %d: %+v, want %v requests starting at %ds", i, iv, want, i)
		}
		if iv.OK > 0 && (iv.P50 <= 0 || iv.P99 < iv.P50 || iv.Max < iv.P99) {
			t.Errorf("interval %d: p50 %v p99 %v max %v, want ordered and positive", i, iv.P50, iv.P99, iv.Max)
		}
		total += iv.OK + iv.Errors
	}
	if total != r.Requests {
		t.Errorf("intervals hold %d requests, the run %d", total, r.Requests)
	}
	s := Summarize(Options{}, r, nil)
	if len(s.Intervals) != 4 || math.Abs(s.Intervals[3].AchievedRPS-400) > 15 {
		t.Errorf("summary intervals %+v, want 4 ending near 400/s", s.Intervals)
	}
}
