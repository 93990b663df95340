package batcher

import (
	"math"
	"time"
)

// Policy is the part of Options that Decide reads.
type Policy struct {
	// MaxBatchRows is the most rows one Predict call takes. Zero or
	// negative means every decision dispatches.
	MaxBatchRows int
	// MaxWait bounds how long the oldest request waits for company; zero
	// or negative means never wait.
	MaxWait time.Duration
	// TargetP99 is the latency a request should stay under (queue wait
	// plus compute); a wait never spends the part of it a batch needs.
	// Zero or negative means never wait.
	TargetP99 time.Duration
	// Workers is how many goroutines call Predict; less than 1 counts as 1.
	Workers int
}

// State is what Decide sees of a batcher at one instant.
type State struct {
	Now time.Time
	// QueuedRows is the rows waiting; HeadRows the rows of the oldest
	// waiting request, which always goes in the next batch.
	QueuedRows int
	HeadRows   int
	// Oldest is when the oldest waiting request arrived.
	Oldest time.Time
	// BusyWorkers is how many batches are being computed now (by workers
	// or by callers computing their own request); the deciding worker is
	// free.
	BusyWorkers int
	// BusyUntil is when the running batch expected to finish first ends:
	// its start plus its fitted cost. Zero when no batch is running, or
	// none is tracked.
	BusyUntil time.Time
	// ArrivalRowsPerSecond is the rate of rows that could join a waiting
	// batch. The Batcher passes the rate of rows that arrived while other
	// requests were queued or being computed, not of all rows: a client
	// that sends one request at a time never arrives while its own
	// request waits, so waiting for it cannot pay (see Batcher.observe).
	ArrivalRowsPerSecond float64
	// CostFixed and CostPerRow are the fitted cost of a Predict call of b
	// rows, t(b) = CostFixed + CostPerRow·b. Both zero means no estimate
	// yet.
	CostFixed, CostPerRow time.Duration
}

// Decide says what a free worker does now: dispatch (true) a batch of up to
// MaxBatchRows rows now, or wait at most wait for more rows and decide
// again on the next arrival or when the wait ends. With nothing queued it
// returns (false, 0): sleep until an arrival. Otherwise a false dispatch
// comes with a positive wait, and the waits of one head request for
// company never add up to more than MaxWait; a wait for a running batch
// to end (the rows then go to the worker it frees) is bounded by
// TargetP99 instead.
//
// It is a pure function of p and s; the rule is documented on decide.
func Decide(p Policy, s State) (dispatch bool, wait time.Duration) {
	d := decide(p, s)
	return d.dispatch, d.wait
}

const (
	// utilisationTarget is the share of the workers' time that batches
	// may fill at the offered load, ρ. Queueing delay grows as 1/(1−ρ):
	// at 0.8 a burst still finds slack, and the batch size that keeps up
	// is rarely more than a few rows above the least one that would.
	utilisationTarget = 0.8
	// costTailFactor multiplies the fitted (mean) cost of a batch when
	// spending the p99 budget: a batch's compute time has a tail (GC
	// assists, preemption, a cold cache) that the mean does not show.
	costTailFactor = 2.0
)

// reason says why decide decided; the datadriven scripts print it.
type reason uint8

const (
	reasonEmpty    reason = iota // nothing queued: sleep until an arrival
	reasonFull                   // a full batch is queued
	reasonMaxWait                // the head has waited MaxWait
	reasonClosing                // the batcher is closing (set by the caller, not decide)
	reasonCold                   // no cost estimate yet
	reasonQuiet                  // no rows are arriving that could join
	reasonFlat                   // no fixed cost: bigger batches cost the same per row
	reasonKeepsUp                // the queued rows already make a batch that keeps up
	reasonNoGain                 // waiting would idle the worker longer than the batch saves
	reasonBusy                   // every Predict slot is taken (set by the queue, not decide)
	reasonBudget                 // the p99 budget has no time left for waiting
	reasonUnlikely               // less than one row is expected within the allowed wait
	reasonFill                   // wait: the expected time to fill the target batch
	reasonWaitCap                // wait: what is left of MaxWait
	reasonWaitP99                // wait: what is left of the p99 budget
	reasonDefer                  // wait: the running batches keep up; the first worker free takes the rows
)

var reasonNames = [...]string{
	reasonEmpty:    "queue empty",
	reasonFull:     "full batch",
	reasonMaxWait:  "head waited max-wait",
	reasonClosing:  "closing",
	reasonCold:     "no cost estimate yet",
	reasonQuiet:    "no rows arriving to wait for",
	reasonFlat:     "no fixed cost to share",
	reasonKeepsUp:  "queued rows keep up",
	reasonNoGain:   "waiting costs more than it saves",
	reasonBusy:     "all workers busy",
	reasonBudget:   "p99 budget spent",
	reasonUnlikely: "under one row expected in the wait",
	reasonFill:     "fill time",
	reasonWaitCap:  "rest of max-wait",
	reasonWaitP99:  "rest of p99 budget",
	reasonDefer:    "running batches keep up",
}

func (r reason) String() string { return reasonNames[r] }

// decision is Decide's answer with its reason and, where it was computed,
// the target batch size b*.
type decision struct {
	dispatch bool
	wait     time.Duration
	reason   reason
	target   int
}

// decide is Decide with its reasoning. In order:
//
//  1. Nothing queued: nothing to do.
//  2. A full batch is queued (QueuedRows ≥ MaxBatchRows): dispatch.
//     Waiting cannot grow the batch.
//  3. A batch is running (BusyWorkers > 0, BusyUntil known): do not start
//     another beside it, but wait for the first one to end; its worker
//     then takes the queued rows, more by those that arrive meanwhile
//     (see deferral), unless a row in a full batch costs more than half
//     a row alone (deferMaxRatio: too little fixed cost to share), or the
//     busy workers could not carry the
//     arrival rate even in full batches (λ·t(MaxBatchRows)/MaxBatchRows ≥
//     BusyWorkers: the queue would only grow, as with a model whose cost
//     is mostly per row). Another batch beside the running one does not add
//     compute where the workers are as many as the cores: it takes the
//     cores the server needs to read requests (so fewer rows reach the
//     queue and batches stay small), and it reads the model's weights
//     again, where a model that shares a batch with idle cores (a dense
//     one: kernels.GemmBiasAct) reads them once for all. Issue 15's wide
//     MLP, 64 connections: one batch at a time served 4.7-5.1k requests/s
//     where two at once served 2.0-2.2k (same run). The wait is bounded
//     by the p99 budget, not MaxWait (it waits for a worker, not for
//     company): the head's age, the running batch's fitted rest and the
//     next batch's doubled cost must fit TargetP99, else dispatch; and a
//     full batch (step 2) dispatches anyway, so under overload every
//     worker computes full batches.
//  4. The head has waited MaxWait: dispatch. It may not wait longer for
//     company.
//  5. Without estimates (no cost fitted yet, or no rows arriving that
//     could join) waiting cannot be shown to pay: dispatch. This is the
//     cold start, and the one-client-at-a-time case, whose arrivals never
//     find another request in the batcher (see State.ArrivalRowsPerSecond).
//  6. With no fixed cost (a = 0) a batch of b rows costs b single rows:
//     batching saves nothing, so waiting cannot pay: dispatch.
//  7. Batches of b rows carry λ rows/s on W workers when the workers are
//     busy at most ρ of the time: λ·t(b)/b ≤ ρ·W, i.e. b·(ρW − λc) ≥ λa.
//     The least such b is b* = ⌈λa/(ρW − λc)⌉ (MaxBatchRows when ρW ≤ λc
//     or b* would pass it: then only the biggest batch comes close). If
//     the queued rows already reach b*, dispatch: bigger batches are not
//     needed to keep up, so the queued rows should not wait for them.
//     Under light load b* is 1 and nothing ever waits.
//  8. Waiting idles this worker, which pays only if it saves more worker
//     time than it idles. Dispatching now costs a/q + c of worker time
//     per row; waiting w for the λw rows that arrive meanwhile costs
//     (w + a)/(q + λw) + c, which is less exactly when q < λa: when more
//     rows arrive during one fixed cost than are queued. Otherwise
//     dispatch; under overload the batches then grow by themselves, from
//     the rows that queue while every worker computes. A model whose
//     cost is nearly all per row (small a) therefore hardly ever waits.
//     The target becomes min(b*, ⌈λa⌉).
//  9. Wait for the target − q missing rows, which take (target − q)/λ
//     to arrive, but no longer than what is left of MaxWait, nor than
//     what is left of the p99 budget after the batch's compute time (its
//     fitted t(target), doubled for the tail: costTailFactor). If the
//     budget is spent, or less than one row is expected to arrive in the
//     wait allowed, dispatch now: the wait would most likely be for
//     nothing.
//
// BusyWorkers counts only in step 3: the load test in step 7 is a
// steady-state one over all W workers, and rows that arrive while other
// workers are busy join the queue whichever worker then takes them.
// Waiting also cannot deadlock the other workers: only one worker waits
// at a time (Batcher), and a worker that ends its batch takes the queue
// itself.
func decide(p Policy, s State) decision {
	q := max(s.QueuedRows, s.HeadRows)
	if q <= 0 {
		return decision{reason: reasonEmpty}
	}
	if p.MaxBatchRows <= 0 || q >= p.MaxBatchRows {
		return decision{dispatch: true, reason: reasonFull}
	}
	age := max(s.Now.Sub(s.Oldest), 0)
	if d, ok := deferral(p, s, q, age); ok {
		return d
	}
	if age >= p.MaxWait {
		return decision{dispatch: true, reason: reasonMaxWait}
	}
	lambda := s.ArrivalRowsPerSecond
	a, c := s.CostFixed.Seconds(), s.CostPerRow.Seconds()
	if !(a > 0) && !(c > 0) {
		return decision{dispatch: true, reason: reasonCold}
	}
	if !(lambda > 0) || math.IsInf(lambda, 0) {
		return decision{dispatch: true, reason: reasonQuiet}
	}
	if !(a > 0) {
		return decision{dispatch: true, reason: reasonFlat}
	}
	c = max(c, 0)

	// Step 7: the least batch that keeps up, b*.
	workers := float64(max(p.Workers, 1))
	target := p.MaxBatchRows
	if slack := utilisationTarget*workers - lambda*c; slack > 0 {
		// The 1e-9 keeps an exact integer from rounding up a row.
		if need := lambda*a/slack - 1e-9; need < float64(p.MaxBatchRows) {
			target = max(1, int(math.Ceil(need)))
		}
	}
	if q >= target {
		return decision{dispatch: true, reason: reasonKeepsUp, target: target}
	}
	// Step 8: waiting must save more worker time than it idles.
	gain := lambda * a
	if float64(q) >= gain {
		return decision{dispatch: true, reason: reasonNoGain, target: target}
	}
	if g := int(math.Ceil(gain - 1e-9)); g < target {
		target = g
	}

	// Step 9: how long to wait for the missing rows.
	fill := float64(target-q) / lambda
	rest := (p.MaxWait - age).Seconds()
	budget := (p.TargetP99 - age).Seconds() - costTailFactor*(a+c*float64(target))
	if budget <= 0 {
		return decision{dispatch: true, reason: reasonBudget, target: target}
	}
	wait, why := fill, reasonFill
	if rest < wait {
		wait, why = rest, reasonWaitCap
	}
	if budget < wait {
		wait, why = budget, reasonWaitP99
	}
	d := time.Duration(wait * float64(time.Second))
	if lambda*wait < 1 || d <= 0 {
		return decision{dispatch: true, reason: reasonUnlikely, target: target}
	}
	return decision{wait: d, reason: why, target: target}
}

// deferMaxRatio is the most that a row in a full batch may cost, as a
// share of a row alone, for step 3 to leave rows to a running batch (the
// server's auto mode turns batching on at the same ratio).
const deferMaxRatio = 0.5

// deferral is step 3 of decide: whether the free worker leaves the q
// queued rows, whose head is age old, to the worker of a running batch,
// and for how long at most.
func deferral(p Policy, s State, q int, age time.Duration) (decision, bool) {
	a, c := max(s.CostFixed.Seconds(), 0), max(s.CostPerRow.Seconds(), 0)
	if s.BusyWorkers < 1 || s.BusyUntil.IsZero() || !(a+c > 0) {
		return decision{}, false
	}
	lambda := s.ArrivalRowsPerSecond
	if !(lambda >= 0) || math.IsInf(lambda, 0) {
		lambda = 0
	}
	full := a/float64(max(p.MaxBatchRows, 1)) + c // cost per row in a full batch
	if full > deferMaxRatio*(a+c) {
		// Mostly per-row cost: little to share, so a bigger batch saves
		// little, and the busy cores are the ones computing anyway.
		return decision{}, false
	}
	if lambda*full >= float64(s.BusyWorkers) {
		// The busy workers could not carry the load even in full
		// batches and fully busy: the queue would only grow.
		return decision{}, false
	}
	rest := max(s.BusyUntil.Sub(s.Now).Seconds(), 0)
	// The rows the freed worker will find, and the latest time their
	// batch may start within the head's p99 budget.
	next := min(float64(q)+lambda*rest, float64(p.MaxBatchRows))
	latest := (p.TargetP99 - age).Seconds() - (a + c*next)
	if latest <= rest {
		return decision{}, false
	}
	d := time.Duration(latest * float64(time.Second))
	if d <= 0 {
		return decision{}, false
	}
	return decision{wait: d, reason: reasonDefer}, true
}
