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
	// were never sent because every connection was busy until it ended.
	// They are not in Requests nor in the percentiles, which are therefore
	// optimistic when Unsent is not zero.
	Unsent uint64 `json:"unsent"`
}

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

// recorder gathers the measured outcomes of all clients. One mutex guards
// it: a record costs 21ns (BenchmarkRecord, 2 cores, contended) against
// 20µs or more for the request it records, while a histogram per client
// would cost ~140 KiB each, 1.4 GB at MaxConcurrency.
type recorder struct {
	mu       sync.Mutex
	hist     *hdrhistogram.Histogram // µs, OK responses only
	ok       uint64
	byStatus map[int]uint64
	byKind   map[string]uint64
	late     uint64
}

func newRecorder() *recorder {
	return &recorder{
		hist:     hdrhistogram.New(histMin, histMax, histSigFigs),
		byStatus: make(map[int]uint64),
		byKind:   make(map[string]uint64),
	}
}

// record adds one measured request: its latency, its status (0 if it got
// none), its transport error kind ("" if none) and whether it started late.
func (r *recorder) record(lat time.Duration, status int, kind string, late bool) {
	us := min(max(lat.Microseconds(), histMin), histMax)
	r.mu.Lock()
	switch {
	case kind != "":
		r.byKind[kind]++
	case status < 200 || status > 299:
		r.byStatus[status]++
	default:
		r.ok++
		// us is within the histogram's range, so RecordValue cannot fail.
		_ = r.hist.RecordValue(us)
	}
	if late {
		r.late++
	}
	r.mu.Unlock()
}

// result fills r's counts and percentiles into res, whose Mode, Rate,
// Concurrency, Duration and Unsent the caller sets. No record may be in
// progress.
func (r *recorder) result(res *Result) {
	res.OK = r.ok
	res.Requests = r.ok
	res.Errors = make(map[string]uint64, len(r.byStatus)+len(r.byKind))
	for code, n := range r.byStatus {
		res.Errors[strconv.Itoa(code)] += n
		res.Requests += n
	}
	for kind, n := range r.byKind {
		res.Errors[kind] += n
		res.Requests += n
	}
	res.Late = r.late
	if res.Duration > 0 {
		res.RPS = float64(r.ok) / res.Duration.Seconds()
	}
	if r.ok == 0 {
		return
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	res.Mean = time.Duration(r.hist.Mean() * float64(time.Microsecond))
	res.P50 = us(r.hist.ValueAtQuantile(50))
	res.P90 = us(r.hist.ValueAtQuantile(90))
	res.P99 = us(r.hist.ValueAtQuantile(99))
	res.P999 = us(r.hist.ValueAtQuantile(99.9))
	res.Max = us(r.hist.Max())
}
