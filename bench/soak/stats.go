package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// kind is one sort of request soak sends.
type kind struct {
	name string
	// bad marks a bad input: a 4xx or the connection closed is the
	// expected answer, a 2xx or 5xx is not.
	bad bool
	// store marks a good request that reads or writes the feature store:
	// while the store is out (and for the grace after) a 5xx or a client
	// timeout is expected of it.
	store bool
}

// kindStats counts one kind's requests and their outcomes. An outcome is
// a status code ("200", "503"), or what happened instead: "closed" (the
// server closed the connection without an answer), "timeout" (no answer
// within the client's timeout), "conn_error" (any other connection
// failure), "written" (bytes sent on a connection soak then closed itself,
// expecting nothing), "opened" (an idle connection held and closed),
// "skipped" (not sent: that kind already had its most requests in
// flight).
type kindStats struct {
	Sent        int64            `json:"sent"`
	Outcomes    map[string]int64 `json:"outcomes"`
	Expected5xx int64            `json:"expected_5xx"`
	Unexpected  int64            `json:"unexpected"`
}

// example is one unexpected outcome, kept whole for the report.
type example struct {
	AtSeconds float64 `json:"at_seconds"`
	Kind      string  `json:"kind"`
	Outcome   string  `json:"outcome"`
	Request   string  `json:"request"`
	Answer    string  `json:"answer,omitempty"`
}

// window is a store outage: from start to end (zero while it lasts).
type window struct{ start, end time.Time }

// stats is every count of the run; safe for concurrent use.
type stats struct {
	mu       sync.Mutex
	t0       time.Time
	grace    time.Duration
	kinds    map[string]*kindStats
	examples []example
	outages  []window
}

// maxExamples bounds the unexpected outcomes kept whole.
const maxExamples = 50

func newStats() *stats {
	return &stats{t0: time.Now(), kinds: map[string]*kindStats{}}
}

func (s *stats) kind(name string) *kindStats {
	k := s.kinds[name]
	if k == nil {
		k = &kindStats{Outcomes: map[string]int64{}}
		s.kinds[name] = k
	}
	return k
}

// outageStart and outageEnd mark a store outage.
func (s *stats) outageStart() {
	s.mu.Lock()
	s.outages = append(s.outages, window{start: time.Now()})
	s.mu.Unlock()
}

func (s *stats) outageEnd() {
	s.mu.Lock()
	s.outages[len(s.outages)-1].end = time.Now()
	s.mu.Unlock()
}

// storeOut reports whether a request in flight from sent to done overlaps
// an outage or the grace after it. The caller holds mu.
func (s *stats) storeOut(sent, done time.Time) bool {
	for _, w := range s.outages {
		end := w.end
		if end.IsZero() {
			end = done
		}
		if !sent.After(end.Add(s.grace)) && !done.Before(w.start) {
			return true
		}
	}
	return false
}

// storeUp reports whether the store is up now (no outage in progress).
func (s *stats) storeUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.outages) == 0 || !s.outages[len(s.outages)-1].end.IsZero()
}

// skipped counts a request not sent.
func (s *stats) skipped(k kind) {
	s.mu.Lock()
	s.kind(k.name).Outcomes["skipped"]++
	s.mu.Unlock()
}

// record counts one request of kind k sent at sent: answered with code,
// or failed with err (code 0). req and answer describe it for the report
// if the outcome is unexpected.
func (s *stats) record(k kind, sent time.Time, code int, err error, req, answer string) {
	now := time.Now()
	outcome := strconv.Itoa(code)
	if code == 0 {
		outcome = classify(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.kind(k.name)
	ks.Sent++
	ks.Outcomes[outcome]++
	expected := true
	switch {
	case k.bad:
		expected = (code >= 400 && code < 500) || outcome == "closed" || outcome == "written" || outcome == "opened"
	case code >= 200 && code < 300, outcome == "opened":
	case k.store && (code >= 500 || outcome == "timeout") && s.storeOut(sent, now):
		if code >= 500 {
			ks.Expected5xx++
		}
	default:
		expected = false
	}
	if expected {
		return
	}
	ks.Unexpected++
	if len(s.examples) < maxExamples {
		if len(answer) > 500 {
			answer = answer[:500] + "..."
		}
		if len(req) > 300 {
			req = req[:300] + "..."
		}
		s.examples = append(s.examples, example{AtSeconds: round1(now.Sub(s.t0).Seconds()), Kind: k.name, Outcome: outcome, Request: req, Answer: answer})
	}
}

// event counts an unexpected event that is not a request (a reload that
// never became AVAILABLE, a store that would not restart).
func (s *stats) event(name, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ks := s.kind(name)
	ks.Unexpected++
	ks.Outcomes["failed"]++
	if len(s.examples) < maxExamples {
		s.examples = append(s.examples, example{AtSeconds: round1(time.Since(s.t0).Seconds()), Kind: name, Outcome: "failed", Answer: what})
	}
}

// classify names a request's failure.
func classify(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "none"
	case err == errWritten:
		return "written"
	case err == errOpened:
		return "opened"
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), strings.Contains(err.Error(), "EOF"),
		strings.Contains(err.Error(), "server closed"), strings.Contains(err.Error(), "connection reset"):
		return "closed"
	default:
		return "conn_error"
	}
}

// totals are the counts of every kind together.
type totals struct {
	Sent        int64 `json:"sent"`
	C2xx        int64 `json:"2xx"`
	C4xx        int64 `json:"4xx"`
	C5xx        int64 `json:"5xx"`
	Expected5xx int64 `json:"expected_5xx"`
	ConnFail    int64 `json:"conn_failures"` // timeout, closed, conn_error
	Skipped     int64 `json:"skipped"`
	Unexpected  int64 `json:"unexpected"`
}

func (s *stats) totals() totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t totals
	for _, k := range s.kinds {
		t.Sent += k.Sent
		t.Expected5xx += k.Expected5xx
		t.Unexpected += k.Unexpected
		for o, n := range k.Outcomes {
			switch {
			case len(o) == 3 && o[0] == '2':
				t.C2xx += n
			case len(o) == 3 && o[0] == '4':
				t.C4xx += n
			case len(o) == 3 && o[0] == '5':
				t.C5xx += n
			case o == "timeout" || o == "closed" || o == "conn_error":
				t.ConnFail += n
			case o == "skipped":
				t.Skipped += n
			}
		}
	}
	return t
}

// snapshot copies the per-kind counts and the examples.
func (s *stats) snapshot() (map[string]kindStats, []example) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]kindStats, len(s.kinds))
	for name, k := range s.kinds {
		c := *k
		c.Outcomes = make(map[string]int64, len(k.Outcomes))
		for o, n := range k.Outcomes {
			c.Outcomes[o] = n
		}
		m[name] = c
	}
	return m, append([]example(nil), s.examples...)
}

// kindTable prints the per-kind counts, one line each, sorted by name.
func kindTable(m map[string]kindStats) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %8s %8s %10s  %s\n", "kind", "sent", "unexp", "5xx_exp", "outcomes")
	for _, n := range names {
		k := m[n]
		os := make([]string, 0, len(k.Outcomes))
		for o := range k.Outcomes {
			os = append(os, o)
		}
		sort.Strings(os)
		var parts []string
		for _, o := range os {
			parts = append(parts, fmt.Sprintf("%s:%d", o, k.Outcomes[o]))
		}
		fmt.Fprintf(&b, "%-16s %8d %8d %10d  %s\n", n, k.Sent, k.Unexpected, k.Expected5xx, strings.Join(parts, " "))
	}
	return b.String()
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
