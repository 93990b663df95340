package loadtest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Result is what one Run measured. Durations are nanoseconds in JSON.
type Result struct {
	// Mode is "closed" or "open".
	Mode string `json:"mode"`
	// Rate is the open loop's target rate in requests per second; 0 for
	// the closed loop.
	Rate float64 `json:"rate"`
	// Concurrency is the number of connections used.
	Concurrency int `json:"concurrency"`
	// Duration is the measured time: Options.Duration, or less if the run
	// was canceled.
	Duration time.Duration `json:"duration_ns"`
	// Requests counts the measured requests that completed: OK plus every
	// count in Errors.
	Requests uint64 `json:"requests"`
	// OK counts 2xx responses.
	OK uint64 `json:"ok"`
	// Errors counts the other outcomes by status code ("503") or transport
	// error kind ("timeout", "connection_refused", "connection_reset",
	// "connection_closed", "dial_timeout", "no_free_conns", "other"). Never
	// nil.
	Errors map[string]uint64 `json:"errors"`
	// RPS is OK responses per second of Duration.
	RPS float64 `json:"rps"`
	// Latency of the OK responses: from the send (closed loop) or the
	// scheduled send (open loop) to the end of the response. Zero when
	// there were none.
	Mean time.Duration `json:"mean_ns"`
	P50  time.Duration `json:"p50_ns"`
	P90  time.Duration `json:"p90_ns"`
	P95  time.Duration `json:"p95_ns"`
	P99  time.Duration `json:"p99_ns"`
	P999 time.Duration `json:"p999_ns"`
	Max  time.Duration `json:"max_ns"`
	// Late (open loop) counts measured sends that started more than
	// LateThreshold after their scheduled time: every connection was busy,
	// or the generator itself could not keep up. Their latency still counts
	// from the schedule; many of them mean the server, or this machine, is
	// past capacity at Rate, or Concurrency is too small for the latency.
	Late uint64 `json:"late"`
	// Unsent (open loop) counts requests due in the measured window that
	// were never sent: every connection was busy until the window ended,
	// or until the request was more than Options.MaxLateness overdue. They
	// are not in Requests nor in the percentiles.
	Unsent uint64 `json:"unsent"`
	// Scheduled (open loop) counts the requests due in the measured window
	// (until it ended, or the run was canceled): Requests + Unsent.
	Scheduled uint64 `json:"scheduled"`
	// Spectrum is the latency at each of SpectrumPercentiles (the
	// percentile spectrum a report plots); nil when nothing was OK.
	Spectrum []Point `json:"spectrum"`
	// Intervals split the measured window into equal slices (1 s, longer
	// for windows over 5 minutes so there are at most maxIntervals), by
	// each request's scheduled send: how the rate and latency moved over
	// a step or ramp profile, or a run that degraded.
	Intervals []Interval `json:"intervals"`
}

// Interval is one slice of the measured window.
type Interval struct {
	Start  time.Duration `json:"start_ns"` // from the window's start
	Width  time.Duration `json:"width_ns"`
	OK     uint64        `json:"ok"`
	Errors uint64        `json:"errors"`
	P50    time.Duration `json:"p50_ns"` // of the OK responses; 0 when none
	P99    time.Duration `json:"p99_ns"`
	Max    time.Duration `json:"max_ns"`
}

// Point is one point of a latency percentile spectrum.
type Point struct {
	Percentile float64       `json:"percentile"`
	Latency    time.Duration `json:"latency_ns"`
}

// SpectrumPercentiles are the percentiles Result.Spectrum holds: dense
// toward the tail, where a latency SLO lives.
var SpectrumPercentiles = []float64{0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 92.5, 95, 96, 97, 98, 99,
	99.25, 99.5, 99.75, 99.9, 99.95, 99.99, 99.995, 99.999, 100}

// String summarizes r on two lines: counts and rate, then latency.
func (r Result) String() string {
	var b strings.Builder
	if r.Mode == "open" {
		fmt.Fprintf(&b, "open loop at %g/s, %d connections", r.Rate, r.Concurrency)
	} else {
		fmt.Fprintf(&b, "%s loop, %d connections", r.Mode, r.Concurrency)
	}
	fmt.Fprintf(&b, ", %v: %d requests, %d OK, %.1f OK/s", r.Duration.Round(time.Millisecond), r.Requests, r.OK, r.RPS)
	if len(r.Errors) > 0 {
		b.WriteString("; errors")
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s:%d", k, r.Errors[k])
		}
	}
	if r.Mode == "open" {
		fmt.Fprintf(&b, "; late %d, unsent %d", r.Late, r.Unsent)
	}
	fmt.Fprintf(&b, "\nlatency: mean %s p50 %s p90 %s p99 %s p99.9 %s max %s",
		fmtDuration(r.Mean), fmtDuration(r.P50), fmtDuration(r.P90), fmtDuration(r.P99), fmtDuration(r.P999), fmtDuration(r.Max))
	return b.String()
}

// fmtDuration prints d with three significant digits in the unit that
// suits it: 873µs, 1.25ms, 12.5ms, 2.31s.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', digits(d.Seconds()), 64) + "s"
	case d >= time.Millisecond:
		ms := float64(d) / float64(time.Millisecond)
		return strconv.FormatFloat(ms, 'f', digits(ms), 64) + "ms"
	default:
		return strconv.FormatInt(d.Microseconds(), 10) + "µs"
	}
}

// digits is the number of decimals that shows v (at least 1) with three
// significant digits.
func digits(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	}
	return 2
}

// Histogram bounds, in microseconds.
const (
	histMin     = 1
	histMax     = 60_000_000
	histSigFigs = 3
)

// maxIntervals bounds Result.Intervals; each costs a histogram of 20 KiB.
const maxIntervals = 300

// timeline is the recorder's per-interval record, shared by all clients
// under one mutex (a record costs tens of nanoseconds against the request
// it records); its histograms keep 2 significant digits.
type timeline struct {
	mu     sync.Mutex
	width  time.Duration
	hists  []*hdrhistogram.Histogram
	ok     []uint64
	errors []uint64
}

func newTimeline(window time.Duration) *timeline {
	w := max(time.Second, (window+maxIntervals-1)/maxIntervals)
	n := int(max(1, (window+w-1)/w))
	return &timeline{width: w, hists: make([]*hdrhistogram.Histogram, n), ok: make([]uint64, n), errors: make([]uint64, n)}
}

// record adds one outcome scheduled at offset from the window's start.
func (t *timeline) record(offset, lat time.Duration, ok bool) {
	i := int(offset / t.width)
	if offset < 0 || i >= len(t.ok) {
		return
	}
	us := min(max(lat.Microseconds(), histMin), histMax)
	t.mu.Lock()
	if !ok {
		t.errors[i]++
	} else {
		t.ok[i]++
		if t.hists[i] == nil {
			t.hists[i] = hdrhistogram.New(histMin, histMax, 2)
		}
		_ = t.hists[i].RecordValue(us)
	}
	t.mu.Unlock()
}

// intervals returns the slices that saw requests, up to the last one.
func (t *timeline) intervals() []Interval {
	last := -1
	for i := range t.ok {
		if t.ok[i]+t.errors[i] > 0 {
			last = i
		}
	}
	out := make([]Interval, 0, last+1)
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	for i := 0; i <= last; i++ {
		iv := Interval{Start: time.Duration(i) * t.width, Width: t.width, OK: t.ok[i], Errors: t.errors[i]}
		if h := t.hists[i]; h != nil {
			iv.P50, iv.P99, iv.Max = us(h.ValueAtQuantile(50)), us(h.ValueAtQuantile(99)), us(h.Max())
		}
		out = append(out, iv)
	}
	return out
}

// recorder gathers the measured outcomes of all clients: one shard (an HDR
// histogram and counts) per client, merged at the end, so that the
// full-precision record takes no lock shared by all clients (wrk2's
// layout). A histogram of this range costs 136 KiB, so past maxShards
// clients share shards round-robin, each shard with its own mutex. The
// per-interval timeline is one shared, coarser record: a timeline per
// shard would cost 20 KiB per shard and interval, and the shared lock
// costs 25 ns a request when contended (BenchmarkRecord shared=true),
// 1 ms a second at 40,000 requests a second.
type recorder struct {
	mu     sync.Mutex // guards shards and n
	shards []*shard
	n      int // shards handed out
	max    int
	// timeline, when set, also records each outcome by interval.
	timeline *timeline
}

// maxShards bounds the histograms of one run (64 × 136 KiB = 8.7 MiB).
const maxShards = 64

// shard is the part of a recorder one client (or a few) writes.
type shard struct {
	mu       sync.Mutex              // uncontended unless clients share the shard
	hist     *hdrhistogram.Histogram // µs, OK responses only
	ok       uint64
	byStatus map[int]uint64
	byKind   map[string]uint64
	late     uint64
}

func newRecorder(clients int) *recorder {
	return &recorder{max: min(max(clients, 1), maxShards)}
}

// shard returns the shard for the next client.
func (r *recorder) shard() *shard {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := r.n % r.max
	r.n++
	if i == len(r.shards) {
		r.shards = append(r.shards, &shard{
			hist:     hdrhistogram.New(histMin, histMax, histSigFigs),
			byStatus: make(map[int]uint64),
			byKind:   make(map[string]uint64),
		})
	}
	return r.shards[i]
}

// record adds one measured request: its latency, its status (0 if it got
// none), its transport error kind ("" if none) and whether it started late.
func (s *shard) record(lat time.Duration, status int, kind string, late bool) {
	us := min(max(lat.Microseconds(), histMin), histMax)
	s.mu.Lock()
	switch {
	case kind != "":
		s.byKind[kind]++
	case status < 200 || status > 299:
		s.byStatus[status]++
	default:
		s.ok++
		// us is within the histogram's range, so RecordValue cannot fail.
		_ = s.hist.RecordValue(us)
	}
	if late {
		s.late++
	}
	s.mu.Unlock()
}

// result merges the shards' counts and percentiles into res, whose Mode,
// Rate, Concurrency, Duration and Unsent the caller sets. No record may be
// in progress.
func (r *recorder) result(res *Result) {
	hist := hdrhistogram.New(histMin, histMax, histSigFigs)
	res.Errors = make(map[string]uint64)
	res.OK, res.Requests, res.Late = 0, 0, 0
	for _, s := range r.shards {
		hist.Merge(s.hist)
		res.OK += s.ok
		res.Requests += s.ok
		for code, n := range s.byStatus {
			res.Errors[strconv.Itoa(code)] += n
			res.Requests += n
		}
		for kind, n := range s.byKind {
			res.Errors[kind] += n
			res.Requests += n
		}
		res.Late += s.late
	}
	if res.Duration > 0 {
		res.RPS = float64(res.OK) / res.Duration.Seconds()
	}
	if r.timeline != nil {
		res.Intervals = r.timeline.intervals()
	}
	if res.OK == 0 {
		return
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	res.Mean = time.Duration(hist.Mean() * float64(time.Microsecond))
	res.P50 = us(hist.ValueAtQuantile(50))
	res.P90 = us(hist.ValueAtQuantile(90))
	res.P95 = us(hist.ValueAtQuantile(95))
	res.P99 = us(hist.ValueAtQuantile(99))
	res.P999 = us(hist.ValueAtQuantile(99.9))
	res.Max = us(hist.Max())
	res.Spectrum = make([]Point, len(SpectrumPercentiles))
	for i, p := range SpectrumPercentiles {
		v := us(hist.ValueAtQuantile(p))
		if p == 100 {
			v = res.Max
		}
		res.Spectrum[i] = Point{p, v}
	}
}
