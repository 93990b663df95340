// Package cost attributes the daemon's CPU time, and the memory its loaded
// models hold, to model versions, and prices them per million predictions.
//
// Method. The process's CPU time (getrusage) is exact but not split by
// model; a thread's CPU clock is per model but costs a system call to
// read. So a Meter per model version reads the thread CPU clock around one
// span of work in SampleEvery (a request's decode, predict and encode; a
// batch worker's Predict), with the goroutine locked to its thread for the
// span so that the thread's clock is the goroutine's. At each Tick the
// process CPU used since the last one is split among the versions: each is
// charged its estimated work (mean sampled span times spans), and the rest
// (HTTP, the runtime, the garbage collector, about the same per request
// whatever the model) in proportion to its requests. The attributed times
// add up to the process's; CPU used while no version worked is left
// unattributed. With one model serving, its CPU is the process's, the
// figure `predictd capacity` computes.
//
// Concurrency: Meter.Start and Span.End are safe from any goroutine and do
// not allocate; Ledger methods are safe for concurrent use.
package cost

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Prices are what a core and memory cost. Zero prices leave costs
// unpriced (CPU seconds and bytes are still counted).
type Prices struct {
	PerCoreHour float64 // currency per CPU core-hour
	PerGiBHour  float64 // currency per GiB of memory held for an hour
}

// DefaultSampleEvery is NewLedger's default: one span in 16 is timed, so
// a span costs 122 ns on average (BenchmarkSpan, AMD EPYC), about 1% of a
// 10 µs request.
const DefaultSampleEvery = 16

// Meter counts one model version's spans and predictions.
type Meter struct {
	Model    string
	Version  int
	MemBytes int64 // memory the loaded version holds (its decoded payload)

	every   uint64
	spans   atomic.Uint64
	sampled atomic.Uint64
	spanNs  atomic.Int64
	preds   atomic.Uint64
	reqs    atomic.Uint64 // spans that made predictions: requests

	// Guarded by Ledger.mu.
	cpuNs      float64 // attributed since the meter was made
	last       work    // the counters at the last Tick
	base       mark    // the start of the window Cost.PerMillion covers
	perMillion float64
	priced     bool
}

type work struct {
	spans, sampled, preds, reqs uint64
	spanNs                      int64
}

type mark struct {
	at    time.Time
	cpuNs float64
	preds uint64
}

// Span is one timed (or, most of the time, merely counted) piece of work.
type Span struct {
	m  *Meter
	t0 int64 // thread CPU at the start; -1 when not timed
}

// Start begins a span of m's work. A nil Meter gives a span whose End
// does nothing.
func (m *Meter) Start() Span {
	if m == nil {
		return Span{}
	}
	if m.spans.Add(1)%m.every != 0 {
		return Span{m: m, t0: -1}
	}
	runtime.LockOSThread()
	t, ok := threadClock()
	if !ok {
		runtime.UnlockOSThread()
		return Span{m: m, t0: -1}
	}
	return Span{m: m, t0: t}
}

// End ends the span, which made predictions predictions (0 for a batch
// worker's span, whose predictions the requests count).
func (s Span) End(predictions int) {
	if s.m == nil {
		return
	}
	if predictions > 0 {
		s.m.preds.Add(uint64(predictions))
		s.m.reqs.Add(1)
	}
	if s.t0 < 0 {
		return
	}
	t, ok := threadClock()
	runtime.UnlockOSThread()
	if d := t - s.t0; ok && d >= 0 {
		s.m.spanNs.Add(d)
		s.m.sampled.Add(1)
	}
}

// threadClock reads the thread CPU clock; tests replace it.
var threadClock = threadCPU

// Ledger holds the meters of the loaded versions and attributes the
// process's CPU time to them.
type Ledger struct {
	mu         sync.Mutex
	prices     Prices
	every      uint64
	window     time.Duration
	meters     []*Meter
	lastProc   int64
	lastTick   time.Time
	unattrib   float64 // ns of process CPU no meter worked in
	processCPU func() (int64, bool)
}

// NewLedger returns a Ledger pricing with p, timing one span in every
// (0: DefaultSampleEvery), whose Cost.PerMillion covers at least window
// (0: one minute) of the most recent ticks.
func NewLedger(p Prices, every int, window time.Duration) (*Ledger, error) {
	if p.PerCoreHour < 0 || p.PerGiBHour < 0 {
		return nil, fmt.Errorf("cost: prices must not be negative: %+v", p)
	}
	if every < 0 {
		return nil, fmt.Errorf("cost: sample every %d: want 1 or more (0 for %d)", every, DefaultSampleEvery)
	}
	if every == 0 {
		every = DefaultSampleEvery
	}
	if window <= 0 {
		window = time.Minute
	}
	return &Ledger{prices: p, every: uint64(every), window: window, processCPU: processCPU}, nil
}

// Meter returns a new meter for a model version holding memBytes, counted
// from now on.
func (l *Ledger) Meter(model string, version int, memBytes int64, now time.Time) *Meter {
	m := &Meter{Model: model, Version: version, MemBytes: memBytes, every: l.every, base: mark{at: now}}
	l.mu.Lock()
	l.meters = append(l.meters, m)
	l.mu.Unlock()
	return m
}

// Drop forgets m (its version retired). Spans still running on it are
// harmless.
func (l *Ledger) Drop(m *Meter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, x := range l.meters {
		if x == m {
			l.meters = append(l.meters[:i], l.meters[i+1:]...)
			return
		}
	}
}

// Tick attributes the process CPU used since the previous Tick.
func (l *Ledger) Tick(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	proc, ok := l.processCPU()
	if !ok {
		return
	}
	first := l.lastTick.IsZero()
	delta := float64(proc - l.lastProc)
	l.lastProc, l.lastTick = proc, now
	// Each meter's work since the last tick, estimated from its samples
	// (or, without a thread clock, its spans), and its requests.
	est := make([]float64, len(l.meters))
	reqs := make([]float64, len(l.meters))
	var total, totalReqs float64
	for i, m := range l.meters {
		w := work{spans: m.spans.Load(), sampled: m.sampled.Load(), preds: m.preds.Load(), reqs: m.reqs.Load(), spanNs: m.spanNs.Load()}
		spans := float64(w.spans - m.last.spans)
		if s := w.sampled - m.last.sampled; s > 0 {
			est[i] = spans * float64(w.spanNs-m.last.spanNs) / float64(s)
		} else if w.sampled == 0 {
			est[i] = spans // no thread clock: weigh spans alike
		}
		reqs[i] = float64(w.reqs - m.last.reqs)
		m.last = w
		total += est[i]
		totalReqs += reqs[i]
	}
	if first || delta <= 0 {
		return
	}
	if total == 0 && totalReqs == 0 {
		l.unattrib += delta
	}
	// The measured work is charged as measured, up to the process's CPU.
	// The rest (HTTP parsing and writing, the runtime, the garbage
	// collector: about the same per request whatever the model) is split
	// by requests: split by measured work instead, a cheap model served
	// beside a costly one was charged 0.3x of its cost alone
	// (bench/cost.sh, two models at once).
	measured := min(total, delta)
	rest := delta - measured
	if totalReqs == 0 {
		measured, rest = delta, 0
	}
	for i, m := range l.meters {
		if total > 0 {
			m.cpuNs += measured * est[i] / total
		}
		if totalReqs > 0 {
			m.cpuNs += rest * reqs[i] / totalReqs
		}
		l.price(m, now)
	}
}

// price updates m.perMillion over the window since m.base, and moves the
// base forward once the window is twice as long as asked.
func (l *Ledger) price(m *Meter, now time.Time) {
	preds := m.last.preds - m.base.preds
	span := now.Sub(m.base.at)
	if preds > 0 && span >= l.window/2 {
		cpuHours := (m.cpuNs - m.base.cpuNs) / 1e9 / 3600
		memHours := float64(m.MemBytes) / (1 << 30) * span.Hours()
		m.perMillion = (cpuHours*l.prices.PerCoreHour + memHours*l.prices.PerGiBHour) / float64(preds) * 1e6
		m.priced = true
	}
	if span >= 2*l.window {
		m.base = mark{at: now, cpuNs: m.cpuNs, preds: m.last.preds}
	}
}

// Cost is one version's account.
type Cost struct {
	Model       string
	Version     int
	Predictions uint64  // since load
	CPUSeconds  float64 // attributed since load
	MemBytes    int64
	// PerMillion is the price of a million predictions over the recent
	// window (CPU and memory, at Prices); valid when Priced.
	PerMillion float64
	Priced     bool
	// CPUPerPrediction is CPUSeconds / Predictions (0 before any).
	CPUPerPrediction float64
}

// Costs returns every meter's account, by model then version, and the CPU
// seconds no version was working in.
func (l *Ledger) Costs() ([]Cost, float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Cost, 0, len(l.meters))
	for _, m := range l.meters {
		c := Cost{Model: m.Model, Version: m.Version, Predictions: m.last.preds, CPUSeconds: m.cpuNs / 1e9,
			MemBytes: m.MemBytes, PerMillion: m.perMillion, Priced: m.priced}
		if c.Predictions > 0 {
			c.CPUPerPrediction = c.CPUSeconds / float64(c.Predictions)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Model != out[j].Model {
			return out[i].Model < out[j].Model
		}
		return out[i].Version < out[j].Version
	})
	return out, l.unattrib / 1e9
}
