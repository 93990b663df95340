package batcher

import (
	"testing"
	"time"
)

// TestLoneClientAfterBurst: 64 clients keep both workers busy for 500ms
// (the queue's estimators learn a high joining rate and a wide model's
// cost: 650µs + 110µs a row), then one client alone sends a request 100µs
// after each answer. Its requests must be computed at once by their own
// caller (claim, no wait) from the loneGrace'th on: the rate of rows that
// could join is not a reason to wait once arrivals find the batcher empty,
// whatever the burst left in the decayed rate. Before loneDecay, the rate
// decayed with time only and 49 of the 50 lone requests waited (up to
// 540µs each, beside a 760µs compute); with it the first 7 do.
const loneGrace = 10

func TestLoneClientAfterBurst(t *testing.T) {
	const a, c = 650 * time.Microsecond, 110 * time.Microsecond
	q := newQueue(Policy{MaxBatchRows: 64, MaxWait: 2 * time.Millisecond, TargetP99: 25 * time.Millisecond, Workers: 2}, 2048)
	cost := func(rows int) time.Duration { return a + time.Duration(rows)*c }

	// The burst, as a closed loop: each answered request's client sends
	// its next one 100µs later; a worker takes whatever is queued when it
	// is free (greedy enough to keep the test about the estimators).
	now := epoch
	type worker struct {
		batch []*request
		until time.Time
		rows  int
		start time.Time
	}
	var ws [2]worker
	pending := map[time.Time]int{} // arrival time → requests
	for i := range 64 {
		pending[now.Add(time.Duration(i)*time.Microsecond)]++
	}
	end := now.Add(500 * time.Millisecond)
	for t0 := now; t0.Before(end); t0 = t0.Add(10 * time.Microsecond) {
		for at, n := range pending {
			if !at.After(t0) {
				for range n {
					if err := q.admit(at, &request{n: 1}); err != nil {
						t.Fatalf("burst: admit: %v", err)
					}
				}
				delete(pending, at)
			}
		}
		for i := range ws {
			w := &ws[i]
			if w.batch != nil && !w.until.After(t0) {
				q.finish(w.start, w.until, w.batch, w.rows)
				for range w.batch {
					pending[w.until.Add(100*time.Microsecond)]++
				}
				w.batch = nil
			}
			if w.batch == nil {
				batch, _, d := q.take(t0, nil, nil)
				if len(batch) > 0 {
					rows, _, _ := screen(t0, batch)
					w.batch, w.start, w.rows, w.until = batch, t0, rows, t0.Add(cost(rows))
				} else if !d.dispatch && d.wait > 0 {
					continue // the waiting worker decides again next step
				}
			}
		}
		now = t0
	}
	for i := range ws {
		if w := &ws[i]; w.batch != nil {
			q.finish(w.start, w.until, w.batch, w.rows)
			now = maxTime(now, w.until)
		}
	}
	// Drain what the burst left queued.
	for q.head != nil {
		batch, _, _ := q.take(now, nil, nil)
		if len(batch) == 0 {
			now = now.Add(100 * time.Microsecond)
			continue
		}
		rows, _, _ := screen(now, batch)
		q.finish(now, now.Add(cost(rows)), batch, rows)
		now = now.Add(cost(rows))
	}
	_, joining := q.rates.at(now)
	if joining < 1000 {
		t.Fatalf("after the burst the joining rate is %.0f rows/s: the burst did not load the estimator", joining)
	}

	// The lone client.
	const n = 50
	waited := 0
	for i := range n {
		now = now.Add(100 * time.Microsecond)
		r := &request{n: 1}
		if err := q.admit(now, r); err != nil {
			t.Fatalf("lone request %d: admit: %v", i, err)
		}
		d, mine := q.claim(now, r)
		if !mine {
			waited++
			if i >= loneGrace {
				_, joining := q.rates.at(now)
				t.Errorf("lone request %d (%v after the burst): not computed at once by its caller: %s (joining rate %.0f rows/s, cost a=%v c=%v)",
					i, now.Sub(end), fmtDecision(d), joining, seconds(q.cost.a), seconds(q.cost.c))
			}
			// As the waiting worker: it dispatches at the latest after MaxWait.
			for {
				batch, _, d := q.take(now, nil, nil)
				if len(batch) > 0 {
					break
				}
				now = now.Add(d.wait)
			}
			q.finish(now, now.Add(cost(1)), []*request{r}, 1)
		} else {
			q.finishOne(now, now.Add(cost(1)), r)
		}
		now = now.Add(cost(1))
	}
	t.Logf("%d of %d lone requests waited", waited, n)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
