package batcher

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// The datadriven scripts under testdata/ (run with -rewrite to regenerate
// the expected output after a deliberate change):
//
//   - decide: the pure decision function on explicit states.
//   - cost: the fit of t(b) = a + c·b from (rows, seconds) observations.
//   - queue: the queue's state machine, as the workers drive it, on a fake
//     clock: arrivals, a free worker's turn (drops, decision, batch),
//     completions, and the estimators they feed.
//   - simulate: whole runs of a discrete-event simulation of clients,
//     workers and a linear-cost model on the same queue code, summarised.

// epoch is time zero of the scripts.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func argDur(t testing.TB, td *datadriven.TestData, key string, def time.Duration) time.Duration {
	t.Helper()
	arg, ok := td.Arg(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(arg.SingleVal(t))
	if err != nil {
		td.Fatalf(t, "%s=%s: %v", key, arg.SingleVal(t), err)
	}
	return d
}

func argInt(t testing.TB, td *datadriven.TestData, key string, def int) int {
	t.Helper()
	td.MaybeScanArgs(t, key, &def)
	return def
}

func argFloat(t testing.TB, td *datadriven.TestData, key string, def float64) float64 {
	t.Helper()
	arg, ok := td.Arg(key)
	if !ok {
		return def
	}
	v, err := strconv.ParseFloat(arg.SingleVal(t), 64)
	if err != nil {
		td.Fatalf(t, "%s=%s: %v", key, arg.SingleVal(t), err)
	}
	return v
}

// fmtDur prints a duration to three or four significant digits.
func fmtDur(d time.Duration) string {
	unit := time.Duration(1)
	for d >= 1000*unit || d <= -1000*unit {
		unit *= 10
	}
	return d.Round(unit).String()
}

func fmtDecision(d decision) string {
	var b strings.Builder
	switch {
	case d.dispatch:
		b.WriteString("dispatch: ")
	case d.wait > 0:
		fmt.Fprintf(&b, "wait %s: ", fmtDur(d.wait))
	default:
		b.WriteString("sleep: ")
	}
	b.WriteString(d.reason.String())
	if d.target > 0 {
		fmt.Fprintf(&b, " (target %d)", d.target)
	}
	return b.String()
}

// policyArgs reads a Policy from max-batch, max-wait, p99 and workers,
// defaulting to DefaultOptions' values and 2 workers.
func policyArgs(t testing.TB, td *datadriven.TestData) Policy {
	def := DefaultOptions()
	return Policy{
		MaxBatchRows: argInt(t, td, "max-batch", def.MaxBatchRows),
		MaxWait:      argDur(t, td, "max-wait", def.MaxWait),
		TargetP99:    argDur(t, td, "p99", def.TargetP99),
		Workers:      argInt(t, td, "workers", 2),
	}
}

// busyUntil reads State.BusyUntil as until=D, D from now (negative: past);
// without it, zero.
func busyUntil(t testing.TB, td *datadriven.TestData, now time.Time) time.Time {
	if !td.HasArg("until") {
		return time.Time{}
	}
	return now.Add(argDur(t, td, "until", 0))
}

// TestDecide runs testdata/decide:
//
//	policy max-batch=64 max-wait=2ms p99=25ms workers=2
//	decide queued=3 head=1 age=100us busy=1 until=300us rate=20000 a=200us c=5us
//
// decide prints the decision, its reason and the target batch.
func TestDecide(t *testing.T) {
	var p Policy
	datadriven.RunTest(t, "testdata/decide", func(t *testing.T, td *datadriven.TestData) string {
		switch td.Cmd {
		case "policy":
			p = policyArgs(t, td)
			return ""
		case "decide":
			now := epoch.Add(time.Second)
			s := State{
				Now:                  now,
				QueuedRows:           argInt(t, td, "queued", 0),
				HeadRows:             argInt(t, td, "head", 1),
				Oldest:               now.Add(-argDur(t, td, "age", 0)),
				BusyWorkers:          argInt(t, td, "busy", 0),
				BusyUntil:            busyUntil(t, td, now),
				ArrivalRowsPerSecond: argFloat(t, td, "rate", 0),
				CostFixed:            argDur(t, td, "a", 0),
				CostPerRow:           argDur(t, td, "c", 0),
			}
			d := decide(p, s)
			if dispatch, wait := Decide(p, s); dispatch != d.dispatch || wait != d.wait {
				t.Errorf("%s: Decide = %v, %v; decide = %v, %v", td.Pos, dispatch, wait, d.dispatch, d.wait)
			}
			if !d.dispatch && s.QueuedRows > 0 && d.wait <= 0 {
				t.Errorf("%s: no dispatch and no wait with %d rows queued", td.Pos, s.QueuedRows)
			}
			if age := now.Sub(s.Oldest); !d.dispatch && d.reason != reasonDefer && age+d.wait > p.MaxWait {
				t.Errorf("%s: wait %v after %v passes max-wait %v", td.Pos, d.wait, age, p.MaxWait)
			}
			if age := now.Sub(s.Oldest); d.reason == reasonDefer && age+d.wait > p.TargetP99 {
				t.Errorf("%s: deferral %v after %v passes the p99 target %v", td.Pos, d.wait, age, p.TargetP99)
			}
			return fmtDecision(d)
		}
		td.Fatalf(t, "unknown command %q", td.Cmd)
		return ""
	})
}

// TestCost runs testdata/cost: fit feeds the input's "rows seconds" lines
// to a fresh costModel in order and prints the fit and t(b) at a few b.
func TestCost(t *testing.T) {
	datadriven.RunTest(t, "testdata/cost", func(t *testing.T, td *datadriven.TestData) string {
		if td.Cmd != "fit" {
			td.Fatalf(t, "unknown command %q", td.Cmd)
		}
		var m costModel
		for _, line := range strings.Split(strings.TrimSpace(td.Input), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			// "rows duration", optionally "×count" to repeat.
			rows, err := strconv.Atoi(f[0])
			if err != nil || len(f) < 2 {
				td.Fatalf(t, "line %q: want rows and a duration", line)
			}
			d, err := time.ParseDuration(f[1])
			if err != nil {
				td.Fatalf(t, "line %q: %v", line, err)
			}
			n := 1
			if len(f) > 2 {
				if n, err = strconv.Atoi(strings.TrimPrefix(f[2], "x")); err != nil {
					td.Fatalf(t, "line %q: repeat %v", line, err)
				}
			}
			for range n {
				m.observe(rows, d.Seconds())
			}
		}
		a, c := seconds(m.a), seconds(m.c)
		return fmt.Sprintf("a=%s c=%s t(1)=%s t(64)=%s", fmtDur(a), fmtDur(c), fmtDur(a+c), fmtDur(a+64*c))
	})
}

// sim drives a queue by script for TestQueue.
type sim struct {
	q       queue
	names   map[*request]string
	byName  map[string]*request
	workers map[string]*simBatch
	asked   map[string]int // gone calls per request
}

type simBatch struct {
	batch  []*request
	start  time.Time
	rows   int
	caller bool // claimed by Submit's caller
}

func (s *sim) name(r *request) string { return s.names[r] }

// TestQueue runs testdata/queue:
//
//	new max-batch=8 max-queue=32 max-wait=2ms p99=25ms workers=2
//	cost a=200us c=5us        seeds the cost fit (as if from batches of 1 and max-batch rows)
//	rate joining=20000 t=0    seeds the joining rate
//	arrive t=1ms id=a rows=1 [deadline=3ms] [gone]   as Submit: the caller may compute it (claim)
//	arrivals from=0 to=10ms every=100us rows=1   arrivals the queue absorbs
//	worker t=1ms [w=w1]       a free worker's turn: drops, decision, batch
//	done t=1.3ms [w=w1]       the worker's (or claiming caller's) batch completes
//	state t=2ms               queued rows, busy workers, rates, cost, counters
func TestQueue(t *testing.T) {
	var s *sim
	datadriven.RunTest(t, "testdata/queue", func(t *testing.T, td *datadriven.TestData) string {
		at := func() time.Time { return epoch.Add(argDur(t, td, "t", 0)) }
		var out strings.Builder
		switch td.Cmd {
		case "new":
			p := policyArgs(t, td)
			s = &sim{
				q:       newQueue(p, argInt(t, td, "max-queue", 4*p.MaxBatchRows)),
				names:   map[*request]string{},
				byName:  map[string]*request{},
				workers: map[string]*simBatch{},
				asked:   map[string]int{},
			}
			return ""
		case "cost":
			a, c := argDur(t, td, "a", 0).Seconds(), argDur(t, td, "c", 0).Seconds()
			maxB := s.q.policy.MaxBatchRows
			for range 200 {
				s.q.cost.observe(1, a+c)
				s.q.cost.observe(maxB, a+c*float64(maxB))
			}
			return fmt.Sprintf("cost a=%s c=%s", fmtDur(seconds(s.q.cost.a)), fmtDur(seconds(s.q.cost.c)))
		case "rate":
			// Seeds the joining rate as of t.
			s.q.rates.all, _ = s.q.rates.at(at())
			s.q.rates.joining, s.q.rates.last = argFloat(t, td, "joining", 0), at()
			return ""
		case "arrive":
			var id string
			td.ScanArgs(t, "id", &id)
			r := &request{n: argInt(t, td, "rows", 1), done: make(chan struct{}, 1)}
			if d := argDur(t, td, "deadline", 0); d > 0 {
				r.deadline = epoch.Add(d)
			}
			if td.HasArg("gone") {
				r.gone = func() bool { s.asked[id]++; return true }
			}
			s.names[r], s.byName[id] = id, r
			if err := s.q.admit(at(), r); err != nil {
				return fmt.Sprintf("%s: %v", id, err)
			}
			// As Submit: alone, a free slot and a dispatch decision, the
			// caller computes it ("done w=<id>" completes it).
			if d, mine := s.q.claim(at(), r); mine {
				s.workers[id] = &simBatch{batch: []*request{r}, start: at(), rows: r.n, caller: true}
				return fmt.Sprintf("%s: its caller computes it, %s", id, fmtDecision(d))
			}
			return fmt.Sprintf("%s: queued (%d rows queued)", id, s.q.queued)
		case "arrivals":
			from, to := argDur(t, td, "from", 0), argDur(t, td, "to", 0)
			every := argDur(t, td, "every", time.Millisecond)
			rows := argInt(t, td, "rows", 1)
			admitted, refused := 0, 0
			for d := from; d < to; d += every {
				if s.q.admit(epoch.Add(d), &request{n: rows}) == nil {
					admitted++
				} else {
					refused++
				}
			}
			return fmt.Sprintf("%d admitted, %d refused (%d rows queued)", admitted, refused, s.q.queued)
		case "worker":
			w := "w1"
			td.MaybeScanArgs(t, "w", &w)
			if s.workers[w] != nil {
				td.Fatalf(t, "%s is computing", w)
			}
			now := at()
			batch, dropped, d := s.q.take(now, nil, nil)
			for _, r := range dropped {
				fmt.Fprintf(&out, "%s: %v\n", s.name(r), r.err)
			}
			if len(batch) == 0 {
				out.WriteString(fmtDecision(d))
				return out.String()
			}
			rows, _, _ := screen(now, batch)
			fmt.Fprintf(&out, "%s %s:", w, fmtDecision(d))
			for i, r := range batch {
				if i == 6 && len(batch) > 8 {
					fmt.Fprintf(&out, " +%d more", len(batch)-i)
					break
				}
				if r.err != nil {
					fmt.Fprintf(&out, " %s(%v)", s.name(r), r.err)
				} else {
					fmt.Fprintf(&out, " %s(%d)", s.name(r), r.n)
				}
			}
			fmt.Fprintf(&out, " = %d rows", rows)
			s.workers[w] = &simBatch{batch: batch, start: now, rows: rows}
			return out.String()
		case "done":
			w := "w1"
			td.MaybeScanArgs(t, "w", &w)
			b := s.workers[w]
			if b == nil {
				td.Fatalf(t, "%s has no batch", w)
			}
			delete(s.workers, w)
			now := at()
			if b.caller {
				s.q.finishOne(b.start, now, b.batch[0])
			} else {
				s.q.finish(b.start, now, b.batch, b.rows)
			}
			return fmt.Sprintf("%s: %d rows in %s; cost a=%s c=%s", w, b.rows, fmtDur(now.Sub(b.start)),
				fmtDur(seconds(s.q.cost.a)), fmtDur(seconds(s.q.cost.c)))
		case "state":
			now := at()
			reqs := 0
			for r := s.q.head; r != nil; r = r.next {
				reqs++
			}
			st := s.q.stats(now)
			fmt.Fprintf(&out, "queued %d rows in %d requests, busy %d\n", s.q.queued, reqs, s.q.busy)
			_, joining := s.q.rates.at(now)
			fmt.Fprintf(&out, "rate %.0f rows/s, joining %.0f rows/s\n", st.ArrivalRowsPerSecond, joining)
			fmt.Fprintf(&out, "cost a=%s c=%s, wait %s\n", fmtDur(st.CostFixed), fmtDur(st.CostPerRow), fmtDur(st.Wait))
			fmt.Fprintf(&out, "batches %d rows %d shed %d expired %d gone %d", st.Batches, st.Rows, st.Shed, st.Expired, st.Gone)
			if len(s.asked) > 0 {
				out.WriteString("\ngone asked:")
				for _, id := range slices.Sorted(maps.Keys(s.asked)) {
					fmt.Fprintf(&out, " %s×%d", id, s.asked[id])
				}
			}
			return out.String()
		case "close":
			s.q.closed = true
			return ""
		}
		td.Fatalf(t, "unknown command %q", td.Cmd)
		return ""
	})
}
