package loadtest

import (
	"math"
	"math/rand/v2"
	"time"
)

// schedule yields an open loop's send times, as offsets from the run's
// start: the warm-up at the profile's first rate, then the measured window
// shaped by the profile. Offsets are computed from a count, not
// accumulated, wherever the profile allows, so the schedule does not drift.
//
// A sender that falls behind does not walk the schedule one send at a
// time: skipTo jumps past every send due before a moment and says how many
// it passed, in O(1) for the constant and ramp profiles, O(Steps) for step
// and O(1) (a Poisson draw) for poisson, whatever the rate. Not safe for
// concurrent use (its pacer owns it).
type schedule struct {
	o      Options
	warmup time.Duration // the measured window starts here
	// warmN sends are due in the warm-up; i counts sends so far (taken or
	// skipped).
	warmN, i int64
	first    float64 // the warm-up's rate
	// The poisson profile: base is the last arrival (or the moment the
	// process restarted, see skipTo), pending the next one once drawn.
	rng        *rand.Rand
	base       time.Duration
	pending    time.Duration
	hasPending bool
}

func newSchedule(o Options) *schedule {
	s := &schedule{o: o, warmup: o.Warmup, first: o.Rate, base: o.Warmup}
	if o.Profile == ProfileStep || o.Profile == ProfileRamp {
		s.first = o.StartRate
	}
	if s.first > 0 {
		s.warmN = int64(math.Ceil(o.Warmup.Seconds() * s.first))
	}
	if o.Profile == ProfilePoisson {
		s.rng = rand.New(rand.NewPCG(uint64(o.Seed), 0x9e3779b97f4a7c15))
	}
	return s
}

// next returns the offset of the next send from the run's start and
// consumes it. Offsets never decrease; past the window they keep growing.
func (s *schedule) next() time.Duration {
	d := s.peek()
	s.i++
	s.hasPending = false
	if s.o.Profile == ProfilePoisson && d >= s.warmup {
		s.base = d
	}
	return d
}

// peek returns the offset next would return, without consuming it.
func (s *schedule) peek() time.Duration {
	if s.i < s.warmN || s.o.Profile != ProfilePoisson {
		return s.offset(s.i)
	}
	if !s.hasPending {
		s.pending = s.base + time.Duration(s.rng.ExpFloat64()/s.o.Rate*float64(time.Second))
		s.hasPending = true
	}
	return s.pending
}

// skipTo consumes every send due before t and returns how many of them
// were due in the warm-up and how many in the measured window.
func (s *schedule) skipTo(t time.Duration) (warm, measured uint64) {
	if s.peek() >= t {
		return 0, 0
	}
	i0 := s.i
	if s.o.Profile != ProfilePoisson {
		s.i = max(s.i, s.index(t))
	} else {
		if s.i < s.warmN {
			s.i = min(s.index(t), s.warmN)
		}
		if s.i >= s.warmN && t > s.warmup {
			// A Poisson process is memoryless: the arrivals in (base, t)
			// are Poisson(rate·(t-base)) in number, and the process after
			// t is the same process started afresh at t.
			lambda := s.o.Rate * (t - s.base).Seconds()
			s.i += poissonCount(s.rng, lambda)
			s.base, s.hasPending = t, false
		}
	}
	w := max(0, min(s.i, s.warmN)-min(i0, s.warmN))
	return uint64(w), uint64(s.i - i0 - w)
}

// poissonCount draws a Poisson(lambda) count: by counting exponential
// gaps for a small lambda, from the normal approximation (rounded, at
// least 0) for a large one, where it is within a fraction of a percent
// of the exact distribution and costs O(1) whatever the rate.
func poissonCount(rng *rand.Rand, lambda float64) int64 {
	if lambda <= 0 {
		return 0
	}
	if lambda < 64 {
		var n int64
		for sum := rng.ExpFloat64(); sum < lambda; sum += rng.ExpFloat64() {
			n++
		}
		return n
	}
	return max(0, int64(math.Round(lambda+math.Sqrt(lambda)*rng.NormFloat64())))
}

// offset returns send i's offset; for poisson only within the warm-up.
func (s *schedule) offset(i int64) time.Duration {
	if i < s.warmN {
		return time.Duration(float64(i) / s.first * float64(time.Second))
	}
	k := float64(i - s.warmN) // index within the measured window
	var t float64             // seconds into the window
	o := s.o
	d := o.Duration.Seconds()
	switch o.Profile {
	case ProfileRamp:
		// The rate rises from r0 to r1 over d: n(t) = r0·t + (r1-r0)·t²/(2d)
		// sends by t. Send k is due when n(t) = k.
		r0, a := o.StartRate, (o.Rate-o.StartRate)/(2*d)
		if a == 0 {
			t = k / r0
		} else {
			t = (-r0 + math.Sqrt(r0*r0+4*a*k)) / (2 * a)
		}
		if t > d { // past the ramp: carry on at the peak rate
			t = d + (k-(r0*d+a*d*d))/o.Rate
		}
	case ProfileStep:
		// Steps of d/Steps each, at rates rising evenly from StartRate to
		// Rate; send k is due in the step whose cumulative count passes k.
		w := d / float64(o.Steps)
		for j := range o.Steps {
			r := s.stepRate(j)
			if n := r * w; k < n || j == o.Steps-1 {
				t += k / r
				break
			} else {
				k -= n
				t += w
			}
		}
	default:
		t = k / o.Rate
	}
	return s.warmup + time.Duration(t*float64(time.Second))
}

// stepRate is step j's rate in the step profile.
func (s *schedule) stepRate(j int) float64 {
	if s.o.Steps > 1 {
		return s.o.StartRate + (s.o.Rate-s.o.StartRate)*float64(j)/float64(s.o.Steps-1)
	}
	return s.o.Rate
}

// index returns the first send due at or after t (for poisson only
// within the warm-up): the inverse of offset, estimated from the
// profile's count of sends by t and then corrected against offset itself,
// so that the two agree exactly despite rounding.
func (s *schedule) index(t time.Duration) int64 {
	if t <= 0 {
		return 0
	}
	if s.o.Profile == ProfilePoisson && t > s.offset(s.warmN-1) {
		return s.warmN // offset knows no Poisson arrival
	}
	var est float64
	if t < s.warmup || s.o.Profile == ProfilePoisson {
		est = min(math.Ceil(t.Seconds()*s.first), float64(s.warmN))
	} else {
		o := s.o
		tw, d := (t - s.warmup).Seconds(), o.Duration.Seconds()
		var n float64 // sends due in the window before tw
		switch o.Profile {
		case ProfileRamp:
			r0, a := o.StartRate, (o.Rate-o.StartRate)/(2*d)
			if tw <= d {
				n = r0*tw + a*tw*tw
			} else {
				n = r0*d + a*d*d + (tw-d)*o.Rate
			}
		case ProfileStep:
			w := d / float64(o.Steps)
			for j := range o.Steps {
				if r := s.stepRate(j); tw <= w || j == o.Steps-1 {
					n += r * tw
					break
				} else {
					n += r * w
					tw -= w
				}
			}
		default:
			n = tw * o.Rate
		}
		est = float64(s.warmN) + math.Ceil(n)
	}
	// Offsets cannot exceed 2^63 ns; nor can an index worth computing.
	i := int64(min(est, 1<<62))
	for i > 0 && s.offset(i-1) >= t {
		i--
	}
	for s.offset(i) < t {
		i++
	}
	return i
}
