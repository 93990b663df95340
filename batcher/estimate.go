package batcher

import (
	"math"
	"time"
)

// rateHorizon is the time constant of rateMeter: long enough that a
// thousand rows a second is measured from about a hundred arrivals, short
// enough that a burst is forgotten within a few tenths of a second of
// silence (e^-3 of it is left after 300ms).
const rateHorizon = 100 * time.Millisecond

// rateMeter estimates two rates in rows per second, each as an
// exponentially time-decayed count: rate(t) = Σ rowsᵢ·e^{−(t−tᵢ)/τ} / τ
// over past arrivals i. For arrivals at a steady λ rows/s its
// expectation is λ once τ has passed; without arrivals it decays to zero.
// all counts every row; joining only the rows that arrived while another
// request was queued or being computed (State.ArrivalRowsPerSecond). The
// two share one clock, so an arrival costs one exponential. The zero value
// reads 0.
type rateMeter struct {
	all, joining float64   // rows/s as of last
	last         time.Time // the latest arrival
	lone         int       // arrivals in a row that were not joining
}

// decayTo is the factor by which the rates decay from m.last to now; 1
// for a now not after m.last (a clock that went back, or the same
// instant).
func (m *rateMeter) decayTo(now time.Time) float64 {
	dt := now.Sub(m.last)
	if dt <= 0 || m.all == 0 && m.joining == 0 {
		return 1
	}
	return math.Exp(-dt.Seconds() / rateHorizon.Seconds())
}

// at returns both rates at now.
func (m *rateMeter) at(now time.Time) (all, joining float64) {
	f := m.decayTo(now)
	return m.all * f, m.joining * f
}

const (
	// loneDecay is the factor by which an arrival that finds the batcher
	// empty and idle (not joining) cuts the joining rate, beyond the decay
	// of the time that passed, once loneRun such arrivals came in a row.
	// They show that nothing would have joined a wait; without the cut,
	// the rate a burst leaves behind decays with time only (rateHorizon),
	// and a lone client right after a burst, whose requests never join,
	// waits on nearly every request for the first few hundred
	// milliseconds (TestLoneClientAfterBurst: 49 of its 50 requests
	// waited, each up to 540µs beside a 760µs compute; 7 now). A run of
	// loneRun, not every lone arrival: a few clients that sometimes find
	// the batcher idle and sometimes join still batch (testdata/simulate,
	// clients=4, is unchanged; with a run of 2 it already changes).
	loneDecay = 0.75
	loneRun   = 3
)

// add counts rows arriving at now, as joining ones if joining.
func (m *rateMeter) add(now time.Time, rows int, joining bool) {
	f := m.decayTo(now)
	m.all *= f
	m.joining *= f
	if joining {
		m.lone = 0
	} else if m.lone++; m.lone >= loneRun {
		m.joining *= loneDecay
	}
	if now.After(m.last) {
		m.last = now
	}
	v := float64(rows) / rateHorizon.Seconds()
	m.all += v
	if joining {
		m.joining += v
	}
}

const (
	// costDecay weighs the previous batches' observations down by this
	// factor at each new one: the fit remembers about 1/(1−0.98) = 50
	// batches, a fraction of a second under load.
	costDecay = 0.98
	// costPrior is the spread of batch sizes, in rows², that the fitted
	// slope needs before it counts as much as the prior slope (see fit).
	costPrior = 0.25
	// costPriorFixed is the share of the mean compute time that the prior
	// counts as fixed cost (see fit).
	costPriorFixed = 0.8
	// A compute time more than costClip times the fitted cost of its batch
	// (a GC pause, a preempted thread) enters the fit clipped to that,
	// once costWarm batches have been seen: least squares would otherwise
	// let one outlier tilt the line for the next hundred batches.
	costClip = 4.0
	costWarm = 8
)

// costModel fits the compute time of a Predict call as a function of its
// rows, t(b) = a + c·b, by exponentially weighted least squares over the
// recent batches. The zero value has no estimate (a = c = 0).
type costModel struct {
	// Decayed sums over observations (b rows, t seconds) of 1, b, b², t
	// and b·t.
	w, b, bb, t, bt float64
	n               int     // observations so far
	a, c            float64 // the fit, in seconds and seconds per row
}

// observe adds a batch of rows that took sec seconds, and refits.
func (m *costModel) observe(rows int, sec float64) {
	if rows <= 0 || !(sec >= 0) || math.IsInf(sec, 0) {
		return
	}
	b := float64(rows)
	if m.n >= costWarm {
		if lim := costClip * (m.a + m.c*b); lim > 0 && sec > lim {
			sec = lim
		}
	}
	m.w = m.w*costDecay + 1
	m.b = m.b*costDecay + b
	m.bb = m.bb*costDecay + b*b
	m.t = m.t*costDecay + sec
	m.bt = m.bt*costDecay + b*sec
	m.n++
	m.fit()
}

// fit solves for a and c. The slope is the least-squares one, shrunk
// toward a prior slope when the batch sizes seen vary little. With one
// batch size only (every batch of one row, as when each worker takes the
// one row it finds) the data say nothing about how the cost splits into
// fixed and per-row, and the prior counts 80% of it as fixed: optimism
// that batching pays, so that under load the batcher tries bigger
// batches and learns the split. Were the prior pessimistic, the batcher
// would never wait, so never see a second batch size and never learn
// that waiting pays (a dense model's cost at batch 1 is nearly all
// fixed). Where the optimism is wrong (a tree model's cost is all per
// row), it costs waits bounded by MaxWait until the sizes vary enough to
// outweigh the prior, and again after long runs of one size, as the
// spread decays: some exploration does not hurt. The guards keep the
// line physical: a negative slope becomes a flat line through the mean,
// a negative intercept a line through the origin.
func (m *costModel) fit() {
	mb, mt := m.b/m.w, m.t/m.w
	vb := max(m.bb/m.w-mb*mb, 0)
	cov := m.bt/m.w - mb*mt
	prior := (1 - costPriorFixed) * mt / mb
	c := (cov + costPrior*prior) / (vb + costPrior)
	a := mt - c*mb
	if c < 0 {
		a, c = mt, 0
	}
	if a < 0 {
		a, c = 0, m.bt/m.bb
	}
	m.a, m.c = a, c
}

// seconds converts seconds to a Duration, rounding to the nanosecond.
func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }
