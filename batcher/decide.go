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
	// BusyWorkers is how many workers are computing now; the deciding
	// worker is free. Decide does not need it (see decide), it is here
	// so a trace of decisions shows it.
	BusyWorkers int
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
// comes with a positive wait, and the waits of one head request never add
// up to more than MaxWait.
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
//  2. A full batch is queued (QueuedRows ≥ MaxBatchRows), or the head has
//     waited MaxWait: dispatch. Waiting cannot grow the batch, or may not.
//  3. Without estimates (no cost fitted yet, or no rows arriving that
//     could join) waiting cannot be shown to pay: dispatch. This is the
//     cold start, and the one-client-at-a-time case, whose arrivals never
//     find another request in the batcher (see State.ArrivalRowsPerSecond).
//  4. With no fixed cost (a = 0) a batch of b rows costs b single rows:
//     batching saves nothing, so waiting cannot pay: dispatch.
//  5. Batches of b rows carry λ rows/s on W workers when the workers are
//     busy at most ρ of the time: λ·t(b)/b ≤ ρ·W, i.e. b·(ρW − λc) ≥ λa.
//     The least such b is b* = ⌈λa/(ρW − λc)⌉ (MaxBatchRows when ρW ≤ λc
//     or b* would pass it: then only the biggest batch comes close). If
//     the queued rows already reach b*, dispatch: bigger batches are not
//     needed to keep up, so the queued rows should not wait for them.
//     Under light load b* is 1 and nothing ever waits.
//  6. Waiting idles this worker, which pays only if it saves more worker
//     time than it idles. Dispatching now costs a/q + c of worker time
//     per row; waiting w for the λw rows that arrive meanwhile costs
//     (w + a)/(q + λw) + c, which is less exactly when q < λa: when more
//     rows arrive during one fixed cost than are queued. Otherwise
//     dispatch; under overload the batches then grow by themselves, from
//     the rows that queue while every worker computes. A model whose
//     cost is nearly all per row (small a) therefore hardly ever waits.
//     The target becomes min(b*, ⌈λa⌉).
//  7. Wait for the target − q missing rows, which take (target − q)/λ
//     to arrive, but no longer than what is left of MaxWait, nor than
//     what is left of the p99 budget after the batch's compute time (its
//     fitted t(target), doubled for the tail: costTailFactor). If the
//     budget is spent, or less than one row is expected to arrive in the
//     wait allowed, dispatch now: the wait would most likely be for
//     nothing.
//
// BusyWorkers is not used: the load test in step 5 is a steady-state one
// over all W workers, and rows that arrive while other workers are busy
// join the queue whichever worker then takes them. Waiting also cannot
// deadlock the other workers: only one worker waits at a time (Batcher).
func decide(p Policy, s State) decision {
	q := max(s.QueuedRows, s.HeadRows)
	if q <= 0 {
		return decision{reason: reasonEmpty}
	}
	if p.MaxBatchRows <= 0 || q >= p.MaxBatchRows {
		return decision{dispatch: true, reason: reasonFull}
	}
	age := max(s.Now.Sub(s.Oldest), 0)
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

	// Step 5: the least batch that keeps up, b*.
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
	// Step 6: waiting must save more worker time than it idles.
	gain := lambda * a
	if float64(q) >= gain {
		return decision{dispatch: true, reason: reasonNoGain, target: target}
	}
	if g := int(math.Ceil(gain - 1e-9)); g < target {
		target = g
	}

	// Step 7: how long to wait for the missing rows.
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
