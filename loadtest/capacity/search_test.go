package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/loadtest"
)

// serialServer is a test server that answers one request at a time, each
// taking service (a sleep): its capacity is about 1/service requests per
// second, and past it the queue, and so the latency, grows without bound.
// Its /metrics reports process_cpu_seconds_total growing by cpuPerReq per
// prediction answered.
type serialServer struct {
	service   time.Duration
	cpuPerReq float64
	mu        sync.Mutex // serialises the predictions
	served    uint64     // guarded by mu
}

func (s *serialServer) handle(ctx *fasthttp.RequestCtx) {
	if string(ctx.Path()) == "/metrics" {
		s.mu.Lock()
		n := s.served
		s.mu.Unlock()
		fmt.Fprintf(ctx, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", float64(n)*s.cpuPerReq)
		return
	}
	s.mu.Lock()
	time.Sleep(s.service)
	s.served++
	s.mu.Unlock()
	ctx.SetBodyString(`{"predictions":[0.5]}`)
}

func (s *serialServer) start(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: s.handle}
	go srv.Serve(ln)
	t.Cleanup(func() { ln.Close() })
	return "http://" + ln.Addr().String()
}

func TestCapacitySearchFindsTheKnee(t *testing.T) {
	// 5ms of service and a 50ms p99 target leave room for the scheduling
	// noise of a busy 2-core machine under -race (spikes of 20-30ms seen
	// with 2ms and 20ms), while a queue that grows for a step's 1.2s at
	// 10% over capacity still adds 120ms and fails it. Steps of 1s: at
	// 0.4s a step near the knee had 40 requests, so its p99 was its
	// maximum and one 65ms scheduling spike (seen under make test's
	// parallel packages) failed a step at half capacity.
	srv := &serialServer{service: 5 * time.Millisecond, cpuPerReq: 0.001}
	base := srv.start(t)
	capacity := float64(time.Second) / float64(srv.service) // 200/s at best
	o := DefaultOptions()
	o.Load = loadtest.Options{URL: base + "/v1/models/m:predict", Bodies: [][]byte{[]byte(`{"instances":[[1]]}`)}, Timeout: 3 * time.Second}
	o.SLO = loadtest.SLO{P99: 50 * time.Millisecond, MaxErrorRate: 0.001}
	o.StartRate, o.StepDuration, o.Warmup, o.MaxSteps = 25, time.Second, 200*time.Millisecond, 12
	o.MetricsURL = base + "/metrics"
	o.TargetRPS, o.CostPerCoreHour, o.ServerCores = 10_000, 0.05, 2
	var progressed []Step
	o.Progress = func(s Step) { progressed = append(progressed, s) }

	r, err := Search(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range r.Steps {
		t.Logf("step %d %s: target %.0f/s achieved %.0f/s p50 %.2fms p99 %.2fms err %.3g pass %v %v", i+1, s.Phase, s.TargetRPS, s.AchievedRPS, s.P50MS, s.P99MS, s.ErrorRate, s.Pass, s.Reasons)
	}
	if !r.Found || r.Knee == nil {
		t.Fatalf("Search found no knee; message %q", r.Message)
	}
	if lo, hi := 0.5*capacity, 1.1*capacity; r.Knee.AchievedRPS < lo || r.Knee.AchievedRPS > hi {
		t.Errorf("knee achieved %.0f/s, want within [%.0f, %.0f] (service time %v)", r.Knee.AchievedRPS, lo, hi, srv.service)
	}
	if len(progressed) != len(r.Steps) {
		t.Errorf("Progress called %d times for %d steps", len(progressed), len(r.Steps))
	}

	// Ramp: StartRate doubling while steps pass, ending at the first
	// failure; then bisection inside the last bracket.
	var lo, hi float64
	i := 0
	for rate := o.StartRate; i < len(r.Steps) && r.Steps[i].Phase == PhaseRamp; i, rate = i+1, rate*2 {
		s := r.Steps[i]
		if s.TargetRPS != rate {
			t.Errorf("ramp step %d at %g/s, want %g/s", i+1, s.TargetRPS, rate)
		}
		if s.Pass {
			lo = s.TargetRPS
		} else {
			hi = s.TargetRPS
			if i+1 < len(r.Steps) && r.Steps[i+1].Phase == PhaseRamp {
				t.Errorf("ramp went on after step %d failed", i+1)
			}
		}
	}
	if lo == 0 || hi == 0 {
		t.Fatalf("ramp bracket [%g, %g]: want a passing and a failing step", lo, hi)
	}
	// After the ramp: bisection steps inside the bracket, verifications
	// of its ends, and repeats of a rate whose runs split; the bracket
	// moves by each rate's majority verdict.
	for ; i < len(r.Steps); i++ {
		s := r.Steps[i]
		switch s.Phase {
		case PhaseBisect:
			if s.TargetRPS <= lo || s.TargetRPS >= hi {
				t.Errorf("bisect step %d at %g/s, want inside the bracket (%g, %g)", i+1, s.TargetRPS, lo, hi)
			}
		case PhaseVerify, PhaseRepeat:
			if s.Run < 2 {
				t.Errorf("%s step %d at %g/s is run %d, want a rerun", s.Phase, i+1, s.TargetRPS, s.Run)
			}
			continue
		default:
			t.Fatalf("step %d phase %q after the ramp", i+1, s.Phase)
		}
		if s.Pass {
			lo = s.TargetRPS
		} else {
			hi = s.TargetRPS
		}
	}
	switch r.Stopped {
	case StopPrecision:
		if (hi-lo)/lo >= o.Precision {
			t.Errorf("stopped for precision with bracket [%g, %g], want (hi-lo)/lo < %g", lo, hi, o.Precision)
		}
	case StopMaxSteps:
		if len(r.Steps) != o.MaxSteps {
			t.Errorf("stopped for max steps after %d steps, want %d", len(r.Steps), o.MaxSteps)
		}
	default:
		t.Errorf("Stopped = %q, want %q or %q", r.Stopped, StopPrecision, StopMaxSteps)
	}
	if !r.Inconsistent && r.Knee.TargetRPS != lo {
		t.Errorf("knee at %g/s, want the bracket's passing end %g/s", r.Knee.TargetRPS, lo)
	}
	for j := 1; j < len(r.Curve); j++ {
		if r.Curve[j].TargetRPS < r.Curve[j-1].TargetRPS {
			t.Errorf("curve not sorted by rate: %g after %g", r.Curve[j].TargetRPS, r.Curve[j-1].TargetRPS)
		}
	}
	if len(r.Spectrum) == 0 || len(r.OverSpectrum) == 0 {
		t.Errorf("spectra: knee %d points, over %d points; want both", len(r.Spectrum), len(r.OverSpectrum))
	}
	// The fake server's CPU counter grows by exactly cpuPerReq a request.
	if got := r.Knee.CPUSecondsPerRequest; math.Abs(got-srv.cpuPerReq) > 0.05*srv.cpuPerReq {
		t.Errorf("knee CPU seconds per request %g, want %g ±5%%", got, srv.cpuPerReq)
	}
	if r.Plan == nil {
		t.Fatalf("no plan; notes %q", r.Notes)
	}
	if want := int(math.Ceil(o.TargetRPS / (r.Knee.AchievedRPS * DefaultHeadroom))); r.Plan.Replicas != want || r.Plan.CostBasis != BasisCPU {
		t.Errorf("plan replicas %d basis %q, want %d %q", r.Plan.Replicas, r.Plan.CostBasis, want, BasisCPU)
	}
}

func TestCapacitySearchFirstStepFails(t *testing.T) {
	srv := &serialServer{service: 2 * time.Millisecond}
	base := srv.start(t)
	o := Options{
		Load:         loadtest.Options{URL: base + "/p", Bodies: [][]byte{[]byte(`{}`)}},
		SLO:          loadtest.SLO{P99: time.Microsecond}, // no request is that fast
		StepDuration: 200 * time.Millisecond, Warmup: -1,
	}
	r, err := Search(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Found || r.Knee != nil || r.Plan != nil || len(r.Steps) != 1 || r.Stopped != StopFirstStep {
		t.Errorf("Search = found %v, knee %v, plan %v, %d steps, stopped %q; want no knee, no plan, 1 step, %q",
			r.Found, r.Knee, r.Plan, len(r.Steps), r.Stopped, StopFirstStep)
	}
	if !strings.Contains(r.Message, "first step") {
		t.Errorf("Message = %q, want it to say the first step failed", r.Message)
	}
}

func TestCapacitySearchMetricsScrapeFailureIsANote(t *testing.T) {
	srv := &serialServer{service: 0}
	base := srv.start(t)
	o := Options{
		Load:      loadtest.Options{URL: base + "/p", Bodies: [][]byte{[]byte(`{}`)}},
		SLO:       loadtest.SLO{P99: time.Second},
		StartRate: 50, MaxRate: 50, StepDuration: 100 * time.Millisecond, Warmup: -1,
		MetricsURL: "http://127.0.0.1:1/metrics", // nothing listens on port 1
	}
	r, err := Search(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Stopped != StopMaxRate || !r.Found {
		t.Errorf("Stopped %q, found %v; want %q and a knee", r.Stopped, r.Found, StopMaxRate)
	}
	if len(r.Notes) == 0 || !strings.Contains(strings.Join(r.Notes, "\n"), "no CPU time per request") {
		t.Errorf("Notes = %q, want one about the failed scrape", r.Notes)
	}
	if r.Knee != nil && r.Knee.CPUSecondsPerRequest != 0 {
		t.Errorf("knee CPU per request %g without metrics, want 0", r.Knee.CPUSecondsPerRequest)
	}
}

func TestCapacityOptionsErrorsNameTheField(t *testing.T) {
	ok := Options{Load: loadtest.Options{URL: "http://x/p", Bodies: [][]byte{[]byte("{}")}}, SLO: loadtest.SLO{P99: time.Millisecond}}
	for _, c := range []struct {
		field string
		edit  func(*Options)
	}{
		{"Load.URL", func(o *Options) { o.Load.URL = "" }},
		{"Load.URL", func(o *Options) { o.Load.URL = "ftp://x/p" }},
		{"Load.Concurrency", func(o *Options) { o.Load.Concurrency = -1 }},
		{"Load.Bodies", func(o *Options) { o.Load.Bodies = nil }},
		{"SLO.P99", func(o *Options) { o.SLO.P99 = 0 }},
		{"SLO.MaxErrorRate", func(o *Options) { o.SLO.MaxErrorRate = 1 }},
		{"StartRate", func(o *Options) { o.StartRate = -1 }},
		{"MaxRate", func(o *Options) { o.StartRate, o.MaxRate = 100, 50 }},
		{"MaxRate", func(o *Options) { o.MaxRate = 2 * loadtest.MaxRate }},
		{"StepDuration", func(o *Options) { o.StepDuration = -time.Second }},
		{"Precision", func(o *Options) { o.Precision = 1 }},
		{"MaxSteps", func(o *Options) { o.MaxSteps = -1 }},
		{"Headroom", func(o *Options) { o.Headroom = 1.5 }},
		{"ServerCores", func(o *Options) { o.ServerCores = -2 }},
		{"TargetRPS", func(o *Options) { o.TargetRPS = math.NaN() }},
		{"CostPerCoreHour", func(o *Options) { o.CostPerCoreHour = -1 }},
		{"Currency", func(o *Options) { o.Currency = "US$" }},
		{"MetricsURL", func(o *Options) { o.MetricsURL = "localhost:9/metrics" }},
	} {
		o := ok
		c.edit(&o)
		_, err := o.check()
		if cerr := o.Check(); cerr == nil || err == nil || cerr.Error() != err.Error() {
			t.Errorf("Check with bad %s = %v, want check's error %v", c.field, cerr, err)
		}
		if err == nil || !strings.Contains(err.Error(), "Options."+c.field+" ") || !errors.Is(err, ErrBadOptions) {
			t.Errorf("check with bad %s: error %v, want one naming Options.%s", c.field, err, c.field)
		}
	}
	got, err := ok.check()
	if err != nil {
		t.Fatalf("check(valid) = %v", err)
	}
	def := DefaultOptions()
	if got.StartRate != def.StartRate || got.MaxRate != def.MaxRate || got.StepDuration != def.StepDuration ||
		got.Warmup != def.Warmup || got.Precision != def.Precision || got.MaxSteps != def.MaxSteps ||
		got.Headroom != def.Headroom || got.ServerCores != def.ServerCores {
		t.Errorf("check filled %+v, want DefaultOptions' values %+v", got, def)
	}
}
