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
// Not safe for concurrent use (the dispatcher owns it).
type schedule struct {
	o      Options
	warmup time.Duration // the measured window starts here
	// warmN sends are due in the warm-up; i counts sends so far.
	warmN, i int64
	first    float64 // the warm-up's rate
	rng      *rand.Rand
	poisson  time.Duration // the poisson profile's last offset
}

func newSchedule(o Options) *schedule {
	s := &schedule{o: o, warmup: o.Warmup, first: o.Rate}
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

// next returns the offset of the next send from the run's start. Offsets
// never decrease; past the window they keep growing.
func (s *schedule) next() time.Duration {
	i := s.i
	s.i++
	if i < s.warmN {
		return time.Duration(float64(i) / s.first * float64(time.Second))
	}
	k := float64(i - s.warmN) // index within the measured window
	var t float64             // seconds into the window
	o := s.o
	d := o.Duration.Seconds()
	switch o.Profile {
	case ProfilePoisson:
		if i == s.warmN {
			s.poisson = s.warmup
		}
		s.poisson += time.Duration(s.rng.ExpFloat64() / o.Rate * float64(time.Second))
		return s.poisson
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
			r := o.Rate
			if o.Steps > 1 {
				r = o.StartRate + (o.Rate-o.StartRate)*float64(j)/float64(o.Steps-1)
			}
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
