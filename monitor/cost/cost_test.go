package cost

import (
	"math"
	"runtime"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// fakeClocks replaces the thread and process clocks with counters the test
// advances.
type fakeClocks struct{ thread, proc int64 }

func (f *fakeClocks) install(t *testing.T, l *Ledger) {
	old := threadClock
	threadClock = func() (int64, bool) { return f.thread, true }
	t.Cleanup(func() { threadClock = old })
	l.processCPU = func() (int64, bool) { return f.proc, true }
}

// work runs n spans of m, each taking ns of thread CPU and making preds
// predictions.
func (f *fakeClocks) work(m *Meter, n int, ns int64, preds int) {
	for range n {
		s := m.Start()
		f.thread += ns
		s.End(preds)
	}
}

// TestAttribution: the process CPU between ticks is split in proportion to
// each version's estimated work (mean sampled span times spans), the
// shares add up to it, and CPU used while no version worked is left
// unattributed.
func TestAttribution(t *testing.T) {
	l, err := NewLedger(Prices{PerCoreHour: 0.036, PerGiBHour: 0.0036}, 4, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var f fakeClocks
	f.install(t, l)
	a := l.Meter("a", 1, 1<<30, t0)
	b := l.Meter("b", 2, 0, t0)
	l.Tick(t0) // the baseline
	f.work(a, 400, 3000, 1)
	f.work(b, 400, 1000, 1)
	f.work(b, 400, 1000, 0) // b's batch worker: work, no predictions
	f.proc += 2_000_000
	l.Tick(t0.Add(time.Minute))
	costs, idle := l.Costs()
	// a: 400 spans of 3 µs = 1.2 ms of work; b: 800 of 1 µs = 0.8 ms.
	want := map[string]float64{"a": 2e6 * 1.2 / 2.0, "b": 2e6 * 0.8 / 2.0}
	var sum float64
	for _, c := range costs {
		if math.Abs(c.CPUSeconds*1e9-want[c.Model]) > 1e-3 {
			t.Errorf("%s v%d: %.0f ns attributed, want %.0f", c.Model, c.Version, c.CPUSeconds*1e9, want[c.Model])
		}
		if c.Predictions != 400 {
			t.Errorf("%s: %d predictions, want 400", c.Model, c.Predictions)
		}
		sum += c.CPUSeconds
	}
	if math.Abs(sum*1e9-2e6) > 1e-3 || idle != 0 {
		t.Errorf("attributed %.0f ns and %v s idle, want all 2e6 ns attributed", sum*1e9, idle)
	}
	// a's price: 1.2 ms of a core at 0.036/h and 1 GiB for a minute at
	// 0.0036/h, over 400 predictions, per million.
	wantA := (1.2e-3/3600*0.036 + 1.0/60*0.0036) / 400 * 1e6
	if c := costs[0]; !c.Priced || math.Abs(c.PerMillion-wantA) > 1e-12 {
		t.Errorf("a: %v per million (priced %v), want %v", c.PerMillion, c.Priced, wantA)
	}
	// Idle: CPU used while nobody worked is unattributed.
	f.proc += 5_000_000
	l.Tick(t0.Add(2 * time.Minute))
	if _, idle := l.Costs(); math.Abs(idle-5e-3) > 1e-12 {
		t.Errorf("idle CPU %v s, want 5e-3", idle)
	}
	// A dropped meter gets nothing more.
	l.Drop(b)
	if costs, _ := l.Costs(); len(costs) != 1 || costs[0].Model != "a" {
		t.Errorf("after Drop(b): %+v", costs)
	}
}

// TestThreadClock: the real thread CPU clock (Linux) advances by about the
// CPU a locked goroutine burns, and never by the time it sleeps.
func TestThreadClock(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, ok := threadCPU(); ok {
			t.Fatal("threadCPU works off Linux; update the doc and this test")
		}
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t1, ok := threadCPU()
	if !ok {
		t.Fatal("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed")
	}
	time.Sleep(50 * time.Millisecond)
	t2, _ := threadCPU()
	x := 1.0
	for i := 0; i < 20_000_000; i++ {
		x = x*1.0000001 + 1e-9
	}
	sink = x
	t3, _ := threadCPU()
	if slept := t2 - t1; slept > 20e6 {
		t.Errorf("the thread clock advanced %d ns over a 50 ms sleep, want little", slept)
	}
	if burned := t3 - t2; burned <= 0 {
		t.Errorf("the thread clock advanced %d ns over a busy loop, want more than 0", burned)
	}
}

var sink float64

func TestSpanAllocs(t *testing.T) {
	l, err := NewLedger(Prices{}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := l.Meter("m", 1, 0, t0)
	if allocs := testing.AllocsPerRun(1000, func() { m.Start().End(1) }); allocs != 0 {
		t.Errorf("a timed span allocates %v times, want 0", allocs)
	}
	var nilMeter *Meter
	nilMeter.Start().End(3) // a nil meter is a no-op
}

func TestNewLedgerRejects(t *testing.T) {
	if _, err := NewLedger(Prices{PerCoreHour: -1}, 0, 0); err == nil {
		t.Error("a negative price was accepted")
	}
	if _, err := NewLedger(Prices{}, -2, 0); err == nil {
		t.Error("a negative sample rate was accepted")
	}
}

func BenchmarkSpan(b *testing.B) {
	l, _ := NewLedger(Prices{}, 0, 0)
	m := l.Meter("m", 1, 0, t0)
	b.ReportAllocs()
	for b.Loop() {
		m.Start().End(1)
	}
}

// TestAttributionRest: CPU beyond the measured work (HTTP, runtime) is
// split by requests, not by work, so a cheap model beside a costly one is
// charged its share of the per-request overhead; and measured work beyond
// the process's CPU (sampling noise) is scaled down to it.
func TestAttributionRest(t *testing.T) {
	l, err := NewLedger(Prices{}, 4, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var f fakeClocks
	f.install(t, l)
	a := l.Meter("a", 1, 0, t0)
	b := l.Meter("b", 1, 0, t0)
	l.Tick(t0)
	f.work(a, 400, 3000, 1) // 1.2 ms of work, 400 requests
	f.work(b, 400, 1000, 1) // 0.4 ms of work, 400 requests
	f.work(b, 400, 1000, 0) // 0.4 ms of batch-worker work, no requests
	f.proc += 4_000_000     // 2 ms measured, 2 ms of the rest
	l.Tick(t0.Add(time.Minute))
	costs, _ := l.Costs()
	for _, c := range costs {
		want := map[string]float64{"a": 1.2e6 + 1e6, "b": 0.8e6 + 1e6}[c.Model]
		if math.Abs(c.CPUSeconds*1e9-want) > 1e-3 {
			t.Errorf("%s: %.0f ns attributed, want %.0f (its work and half the rest)", c.Model, c.CPUSeconds*1e9, want)
		}
	}
	f.work(a, 400, 3000, 1)
	f.proc += 1_000_000 // less than the 1.2 ms measured
	l.Tick(t0.Add(2 * time.Minute))
	costs, _ = l.Costs()
	if got := costs[0].CPUSeconds*1e9 - 2.2e6; math.Abs(got-1e6) > 1e-3 {
		t.Errorf("a: %.0f ns attributed for 1 ms of process CPU, want all of it", got)
	}
}
