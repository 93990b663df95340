package slo

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Tracker.
type Options struct {
	// Models maps a model name to its objectives. Requests of a model not
	// in it are not tracked. Each Config must pass Validate.
	Models map[string]Config
	// Now is the clock every observation and report reads; nil means
	// time.Now. Tests inject a fake one.
	Now func() time.Time
}

// DefaultOptions returns Options with no models and the wall clock.
func DefaultOptions() Options { return Options{Now: time.Now} }

// Resolution of the Tracker's windows: windows up to fineSpan (5m, 30m,
// 1h, 2h, 6h; an SLO window of minutes in tests) are read from 1-minute
// slots, longer ones (1d, 3d, a 28-day SLO window) from 1-hour slots.
// Within the oldest slot of a window the count is interpolated linearly,
// so a window is as long as it says and its counts are exact when traffic
// is steady over that one slot. An hour of a 1-day window is 4%, but the
// rates are ratios of bad to all requests in the same span, which a
// misplaced edge moves only where the error rate changed within that hour.
const (
	fineSlot   = time.Minute
	fineSpan   = 6 * time.Hour
	coarseSlot = time.Hour
)

// Tracker keeps each configured model's request counts over time and
// reports its SLIs, error budget and burn rates (Snapshot), also as
// Prometheus metrics (Describe, Collect). Safe for concurrent use; see the
// package doc for what Observe costs.
type Tracker struct {
	now    func() time.Time
	models map[string]*tracked // fixed by New: read without a lock
	names  []string            // sorted
}

// counts are a model's cumulative counts: requests; 5xx among them;
// requests with a latency; those slower than the threshold.
type counts struct {
	total, errors, timed, slow uint64
}

// tracked is one model's counters and their history.
//
// The counters only grow. Each ring slot holds their values at the start
// of its minute (or hour), written by roll when the clock first reads a
// later minute, so the requests of a span are the counters now minus a
// slot's values. A request that races the first request of a minute may
// be counted in the minute before.
type tracked struct {
	cfg       Config
	window    time.Duration
	threshold float64 // latency threshold in seconds; used only if timedSLO
	timedSLO  bool

	total, errors, timed, slow atomic.Uint64

	cur atomic.Int64 // the latest minute rolled to; only grows

	mu          sync.Mutex // guards what follows and serializes roll
	start       time.Time  // when tracking began: nothing was counted before
	startMinute int64
	curHour     int64
	minutes     []counts // minutes[m mod len]: the counts at the start of minute m
	hours       []counts // hours[h mod len]: the counts at the start of hour h
}

// New returns a Tracker of opts.Models, starting now (opts.Now). It
// allocates each model's slots up front.
func New(opts Options) (*Tracker, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	t := &Tracker{now: opts.Now, models: make(map[string]*tracked, len(opts.Models))}
	start := opts.Now()
	for name, cfg := range opts.Models {
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("slo: Models[%q]: %w", name, err)
		}
		m := &tracked{cfg: cfg, window: cfg.WindowOrDefault(), start: start}
		if cfg.Latency != nil {
			m.timedSLO, m.threshold = true, cfg.Latency.ThresholdBound()
		}
		m.startMinute = floorDiv(start.UnixNano(), int64(fineSlot))
		m.cur.Store(m.startMinute)
		m.curHour = floorDiv(m.startMinute, int64(coarseSlot/fineSlot))
		// A window of k slots reads the slot k back and the one after it,
		// so k+1 slots must be live at once.
		m.minutes = make([]counts, fineSpan/fineSlot+1)
		longest := max(Windows[len(Windows)-1], m.window)
		m.hours = make([]counts, (longest+coarseSlot-1)/coarseSlot+1)
		t.models[name] = m
		t.names = append(t.names, name)
	}
	slices.Sort(t.names)
	return t, nil
}

// Models returns the names of the tracked models, sorted.
func (t *Tracker) Models() []string { return slices.Clone(t.names) }

// Observe counts one request of model answered with HTTP status code
// after latency. A negative latency means the request has none (the
// client left before its answer; the latency histogram does not count it
// either): it counts for availability only. A model without objectives is
// ignored. It does not allocate.
func (t *Tracker) Observe(model string, latency time.Duration, code int) {
	m := t.models[model]
	if m == nil {
		return
	}
	if minute := floorDiv(t.now().UnixNano(), int64(fineSlot)); minute > m.cur.Load() {
		m.mu.Lock()
		m.roll(minute)
		m.mu.Unlock()
	}
	m.total.Add(1)
	if code >= 500 && code <= 599 {
		m.errors.Add(1)
	}
	if latency >= 0 && m.timedSLO {
		m.timed.Add(1)
		// As monitor.Histogram buckets it: a request of exactly the
		// bound is within it.
		if latency.Seconds() > m.threshold {
			m.slow.Add(1)
		}
	}
}

func (m *tracked) load() counts {
	return counts{m.total.Load(), m.errors.Load(), m.timed.Load(), m.slow.Load()}
}

// roll records the counters as the counts at the start of every minute
// (and hour) from the latest one rolled to up to minute: no request came
// in between, or it would have rolled. A clock that went back is
// ignored. m.mu is held; at most one ring's length of slots is written.
func (m *tracked) roll(minute int64) {
	cur := m.cur.Load()
	if minute <= cur {
		return
	}
	c := m.load()
	n := int64(len(m.minutes))
	for s := max(cur+1, minute-n+1); s <= minute; s++ {
		m.minutes[mod(s, n)] = c
	}
	if h := floorDiv(minute, int64(coarseSlot/fineSlot)); h > m.curHour {
		n := int64(len(m.hours))
		for s := max(m.curHour+1, h-n+1); s <= h; s++ {
			m.hours[mod(s, n)] = c
		}
		m.curHour = h
	}
	m.cur.Store(minute)
}

// span is what was counted in a window: request counts, fractional where
// the window's start cuts a slot.
type span struct {
	total, errors, timed, slow float64
	covered                    time.Duration // the part of the window since tracking began
}

// since returns what was counted in the window w up to now, c being the
// counters now. m.mu is held and m rolled to now.
func (m *tracked) since(now time.Time, w time.Duration, c counts) span {
	from := now.Add(-w)
	if !from.After(m.start) {
		return span{float64(c.total), float64(c.errors), float64(c.timed), float64(c.slow), now.Sub(m.start)}
	}
	slot, ring, first := fineSlot, m.minutes, m.startMinute
	if w > fineSpan {
		slot, ring, first = coarseSlot, m.hours, floorDiv(m.startMinute, int64(coarseSlot/fineSlot))
	}
	at := func(s int64) counts {
		if s < first {
			return counts{}
		}
		return ring[mod(s, int64(len(ring)))]
	}
	ns := from.UnixNano()
	s := floorDiv(ns, int64(slot))
	frac := float64(ns-s*int64(slot)) / float64(slot)
	a, b := at(s), at(s+1)
	lerp := func(now, x, y uint64) float64 { return float64(now) - (float64(x) + frac*(float64(y)-float64(x))) }
	return span{lerp(c.total, a.total, b.total), lerp(c.errors, a.errors, b.errors), lerp(c.timed, a.timed, b.timed), lerp(c.slow, a.slow, b.slow), w}
}

// Snapshot is a model's objectives as the Tracker last saw them: the
// /monitor endpoint's "slo" section. Its JSON names are a contract.
type Snapshot struct {
	Model      string              `json:"model"`
	Objectives []ObjectiveSnapshot `json:"objectives"` // availability first, then latency
}

// ObjectiveSnapshot is one objective's indicators. With no request in a
// window, its SLI is 1, its budget untouched and its burn rate 0 (JSON has
// no NaN; Requests says there were none).
type ObjectiveSnapshot struct {
	SLO       string  `json:"slo"` // Availability or Latency
	Objective float64 `json:"objective"`
	// ThresholdSeconds is the latency objective's threshold; 0 for
	// availability.
	ThresholdSeconds float64  `json:"threshold_seconds,omitempty"`
	Window           Duration `json:"window"`
	// CoveredSeconds is how much of the window the Tracker has seen: less
	// than the window until it has run that long.
	CoveredSeconds float64 `json:"covered_seconds"`
	// Requests and Good are counted over the window (fractional where the
	// window's start falls inside a slot: see the resolution above).
	Requests float64 `json:"requests"`
	Good     float64 `json:"good"`
	// SLI is Good / Requests.
	SLI float64 `json:"sli"`
	// ErrorBudgetRemaining is 1 - (1 - SLI) / (1 - Objective): 1 when
	// nothing went wrong, 0 when the budget is spent, below 0 past it.
	ErrorBudgetRemaining float64 `json:"error_budget_remaining"`
	// BurnRates are over Windows, in order.
	BurnRates []BurnRate `json:"burn_rates"`
}

// BurnRate is how fast the error budget burned over a window: the bad
// fraction of its requests divided by the budget (1 - objective). At 1
// the budget lasts exactly the SLO window.
type BurnRate struct {
	Window Duration `json:"window"`
	Rate   float64  `json:"rate"`
}

// Snapshot reports model's objectives now; false if it has none.
func (t *Tracker) Snapshot(model string) (Snapshot, bool) {
	m := t.models[model]
	if m == nil {
		return Snapshot{}, false
	}
	return m.snapshot(model, t.now()), true
}

func (m *tracked) snapshot(name string, now time.Time) Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(floorDiv(now.UnixNano(), int64(fineSlot)))
	c := m.load()
	var spans [len(Windows) + 1]span
	for i, w := range Windows {
		spans[i] = m.since(now, w, c)
	}
	spans[len(Windows)] = m.since(now, m.window, c)

	s := Snapshot{Model: name}
	add := func(kind string, objective, threshold float64, bad func(span) (bad, total float64)) {
		o := ObjectiveSnapshot{SLO: kind, Objective: objective, ThresholdSeconds: threshold, Window: Duration(m.window)}
		win := spans[len(Windows)]
		b, n := bad(win)
		o.CoveredSeconds = win.covered.Seconds()
		o.Requests, o.Good = n, n-b
		o.SLI, o.ErrorBudgetRemaining = 1, 1
		if n > 0 {
			o.SLI = (n - b) / n
			o.ErrorBudgetRemaining = 1 - (b/n)/(1-objective)
		}
		o.BurnRates = make([]BurnRate, len(Windows))
		for i, w := range Windows {
			b, n := bad(spans[i])
			o.BurnRates[i] = BurnRate{Window: Duration(w)}
			if n > 0 {
				o.BurnRates[i].Rate = (b / n) / (1 - objective)
			}
		}
		s.Objectives = append(s.Objectives, o)
	}
	if a := m.cfg.Availability; a != nil {
		add(Availability, a.Objective, 0, func(s span) (float64, float64) { return s.errors, s.total })
	}
	if l := m.cfg.Latency; l != nil {
		add(Latency, l.Objective, m.threshold, func(s span) (float64, float64) { return s.slow, s.timed })
	}
	return s
}

// floorDiv is a / b rounded down (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// mod is a mod n in [0, n).
func mod(a, n int64) int64 {
	r := a % n
	if r < 0 {
		r += n
	}
	return r
}
