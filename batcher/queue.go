package batcher

import (
	"fmt"
	"time"
)

// request is one Submit call while it is in the batcher. Requests are
// pooled with their done channel.
type request struct {
	next     *request // in the queue
	rows     []float64
	n        int // rows, len(rows)/NumFeatures
	dst      []float64
	arrival  time.Time
	deadline time.Time // zero: none
	gone     func() bool
	err      error
	// done receives one value when the request is answered: dst or err
	// is final and the batcher no longer touches the request.
	done chan struct{}
}

// goneAfter is how long a request must have waited before a worker asks
// its gone function: a request that waited less was most likely sent by a
// client still there, and the check (a syscall in the server) stays off
// the fast path.
const goneAfter = time.Millisecond

// queue is a Batcher's state apart from its goroutines: the FIFO of
// requests, the estimators and the counters. Every method takes the time
// as an argument and none blocks, so the datadriven scripts drive it with
// a fake clock exactly as the workers do with the real one. The Batcher
// calls it under its lock.
type queue struct {
	policy       Policy
	maxQueueRows int

	head, tail *request
	queued     int // rows queued
	busy       int // batches taken and not yet finished
	closed     bool
	// running holds up to Workers of the busy batches: when each was
	// taken and its rows, for State.BusyUntil. A batch is known by its
	// first request (no two running batches share one).
	running []runningBatch

	// rates measures the admitted rows, and apart the joining ones: those
	// that arrived while another request was queued or being computed,
	// the rows a waiting batch could have gained
	// (State.ArrivalRowsPerSecond).
	rates    rateMeter
	cost     costModel
	lastWait time.Duration
	counters

	// decide is the decision function: decide, or a rival policy that
	// the simulation tests compare with it.
	decide func(Policy, State) decision
}

// runningBatch is a busy batch as queue.running tracks it.
type runningBatch struct {
	first *request
	taken time.Time
	rows  int
}

func newQueue(p Policy, maxQueueRows int) queue {
	return queue{policy: p, maxQueueRows: maxQueueRows, decide: decide,
		running: make([]runningBatch, 0, max(p.Workers, 1))}
}

// started counts a batch taken at now, starting with first, as busy.
func (q *queue) started(now time.Time, first *request, rows int) {
	q.busy++
	// Callers' cheap calls (claim, inlineCost) may exceed Workers; they
	// end too soon to matter to BusyUntil, and running does not grow.
	if len(q.running) < cap(q.running) {
		q.running = append(q.running, runningBatch{first: first, taken: now, rows: rows})
	}
}

// ended counts the batch that started with first as no longer busy.
func (q *queue) ended(first *request) {
	q.busy--
	for i, r := range q.running {
		if r.first == first {
			last := len(q.running) - 1
			q.running[i] = q.running[last]
			q.running[last] = runningBatch{}
			q.running = q.running[:last]
			return
		}
	}
}

// busyUntil is when the running batch expected to end first ends, by the
// fitted cost; zero if none is tracked or there is no fit yet.
func (q *queue) busyUntil() time.Time {
	var until time.Time
	if !(q.cost.a > 0 || q.cost.c > 0) {
		return until
	}
	for _, r := range q.running {
		if end := r.taken.Add(seconds(q.cost.a + q.cost.c*float64(r.rows))); until.IsZero() || end.Before(until) {
			until = end
		}
	}
	return until
}

// admit queues r, which arrived at now, or says why not: ErrClosed,
// ErrDeadline (its deadline is not after now), ErrQueueFull. It sets
// r.arrival.
func (q *queue) admit(now time.Time, r *request) error {
	switch {
	case q.closed:
		return ErrClosed
	case !r.deadline.IsZero() && !now.Before(r.deadline):
		q.expired++
		return ErrDeadline
	case r.n > q.maxQueueRows:
		// Not ErrQueueFull: retrying cannot help.
		q.shed++
		return fmt.Errorf("batcher: a request of %d rows can never fit a queue of Options.MaxQueueRows = %d rows: raise MaxQueueRows or send fewer rows per request", r.n, q.maxQueueRows)
	case q.queued+r.n > q.maxQueueRows:
		q.shed++
		return ErrQueueFull
	}
	q.rates.add(now, r.n, q.queued > 0 || q.busy > 0)
	r.arrival = now
	r.next = nil
	if q.tail == nil {
		q.head = r
	} else {
		q.tail.next = r
	}
	q.tail = r
	q.queued += r.n
	return nil
}

// pop removes the head.
func (q *queue) pop() *request {
	r := q.head
	q.head = r.next
	if q.head == nil {
		q.tail = nil
	}
	r.next = nil
	q.queued -= r.n
	return r
}

// expire answers r ErrDeadline if its deadline is not after now.
func (q *queue) expire(now time.Time, r *request) bool {
	if r.deadline.IsZero() || now.Before(r.deadline) {
		return false
	}
	r.err = ErrDeadline
	q.expired++
	return true
}

// state is what Decide sees at now. The queue must not be empty.
func (q *queue) state(now time.Time) State {
	_, joining := q.rates.at(now)
	return State{
		Now:                  now,
		QueuedRows:           q.queued,
		HeadRows:             q.head.n,
		Oldest:               q.head.arrival,
		BusyWorkers:          q.busy,
		BusyUntil:            q.busyUntil(),
		ArrivalRowsPerSecond: joining,
		CostFixed:            seconds(q.cost.a),
		CostPerRow:           seconds(q.cost.c),
	}
}

// take is a free worker's turn at now. It answers the expired requests at
// the head (appending them to dropped), then decides. On dispatch it moves
// whole requests from the head to batch while their rows fit
// MaxBatchRows (the head goes even if alone it does not), answering and
// skipping expired ones on the way, and counts the batch as busy until
// finish. A dispatch can come with an empty batch when every request it
// met had expired; the worker then takes another turn.
func (q *queue) take(now time.Time, batch, dropped []*request) ([]*request, []*request, decision) {
	for q.head != nil && q.expire(now, q.head) {
		dropped = append(dropped, q.pop())
	}
	var d decision
	switch {
	case q.head == nil:
		d = decision{reason: reasonEmpty}
	case q.busy >= max(q.policy.Workers, 1):
		// Callers computing their own requests (claim) hold the slots.
		d = decision{reason: reasonBusy}
	case q.closed:
		// Finish what is queued as fast as the workers can.
		d = decision{dispatch: true, reason: reasonClosing}
	default:
		d = q.decide(q.policy, q.state(now))
	}
	q.lastWait = d.wait
	if !d.dispatch {
		return batch, dropped, d
	}
	rows := 0
	for q.head != nil && rows < q.policy.MaxBatchRows {
		if q.expire(now, q.head) {
			dropped = append(dropped, q.pop())
			continue
		}
		if rows > 0 && rows+q.head.n > q.policy.MaxBatchRows {
			break
		}
		r := q.pop()
		batch = append(batch, r)
		rows += r.n
	}
	if len(batch) > 0 {
		q.started(now, batch[0], rows)
	}
	return batch, dropped, d
}

// inlineCost is the fitted cost of a Predict call below which claim lets
// a caller compute its request even when every slot is taken: a call
// that costs less than the two goroutine wake-ups of a handoff to a
// worker (a few µs, more when they cross cores) is cheaper to make at
// once than to queue, and too short for the Workers bound to matter.
// BenchmarkSubmit/model=logreg measures the difference.
const inlineCost = 5 * time.Microsecond

// claim is Submit's shortcut. If r, just admitted at now, is alone in the
// queue, a Predict slot is free (or the call is cheaper than inlineCost)
// and the decision is to dispatch, then no other request can join r's
// batch, and handing r to a worker goroutine would only add two goroutine
// wake-ups to its latency. claim then takes r out of the queue as a batch
// of one, busy until finishOne, for its caller to compute, and reports
// true with the decision.
func (q *queue) claim(now time.Time, r *request) (decision, bool) {
	if q.head != r || q.tail != r {
		return decision{}, false
	}
	if q.busy >= max(q.policy.Workers, 1) && !(q.cost.n > 0 && q.cost.a+q.cost.c*float64(r.n) < inlineCost.Seconds()) {
		return decision{}, false
	}
	d := q.decide(q.policy, q.state(now))
	q.lastWait = d.wait
	if !d.dispatch {
		return d, false
	}
	q.pop()
	q.started(now, r, r.n)
	return d, true
}

// screen asks the gone function of each request in batch that has waited
// goneAfter by now, and answers ErrGone those whose client left. It returns
// the rows left to compute, the number of requests they come from, and
// whether it asked any gone function. The requests of a taken batch
// belong to its worker, which calls screen without the lock.
func screen(now time.Time, batch []*request) (rows, live int, asked bool) {
	for _, r := range batch {
		if r.gone != nil && now.Sub(r.arrival) >= goneAfter {
			asked = true
			if r.gone() {
				r.err = ErrGone
				continue
			}
		}
		rows += r.n
		live++
	}
	return rows, live, asked
}

// finish records a batch taken by take: its live requests (err nil) were
// computed by one Predict call of rows rows that ran from start to end.
func (q *queue) finish(start, end time.Time, batch []*request, rows int) {
	if len(batch) > 0 {
		q.ended(batch[0])
	} else {
		q.busy--
	}
	for _, r := range batch {
		q.answered(start, r)
	}
	q.computed(start, end, rows)
}

// finishOne records a request taken by claim and computed from start to
// end.
func (q *queue) finishOne(start, end time.Time, r *request) {
	q.ended(r)
	q.answered(start, r)
	q.computed(start, end, r.n)
}

// answered counts r, taken in a batch whose Predict call started at start
// (if it had any rows).
func (q *queue) answered(start time.Time, r *request) {
	switch r.err {
	case nil:
		if q.obs != nil {
			q.obs.ObserveQueueWait(max(start.Sub(r.arrival), 0))
		}
	case ErrGone:
		q.gone++
	}
}

// computed records a Predict call of rows rows from start to end.
func (q *queue) computed(start, end time.Time, rows int) {
	if rows == 0 {
		return
	}
	d := max(end.Sub(start), 0)
	q.batches++
	q.rows += uint64(rows)
	if q.obs != nil {
		q.obs.ObserveBatch(rows, d)
	}
	q.cost.observe(rows, d.Seconds())
}

// stats is the Stats snapshot at now.
func (q *queue) stats(now time.Time) Stats {
	all, _ := q.rates.at(now)
	return Stats{
		Batches:              q.batches,
		Rows:                 q.rows,
		Shed:                 q.shed,
		Expired:              q.expired,
		Gone:                 q.gone,
		QueuedRows:           q.queued,
		Busy:                 q.busy,
		Wait:                 q.lastWait,
		CostFixed:            seconds(q.cost.a),
		CostPerRow:           seconds(q.cost.c),
		ArrivalRowsPerSecond: all,
	}
}
