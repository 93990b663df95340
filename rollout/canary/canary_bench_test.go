package canary

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/predictd/predictd/monitor"
)

var benchSide Side

// BenchmarkAssign: the split with a user key and per request.
func BenchmarkAssign(b *testing.B) {
	keys := make([][]byte, 1024)
	for i := range keys {
		keys[i] = []byte("user-" + strconv.Itoa(i*7919))
	}
	b.Run("key=user", func(b *testing.B) {
		b.ReportAllocs()
		var s Side
		for i := 0; b.Loop(); i++ {
			s ^= Assign(keys[i&1023], uint64(i), 5)
		}
		benchSide = s
	})
	b.Run("key=none", func(b *testing.B) {
		b.ReportAllocs()
		var s Side
		for i := 0; b.Loop(); i++ {
			s ^= Assign(nil, uint64(i), 5)
		}
		benchSide = s
	})
}

// BenchmarkObserve: the recorder from every core at once, beside the
// daemon's own lock-free latency histogram (monitor.Histogram) as the
// peer: the recorder's cost over it is the side lock, the HDR histogram
// and the reservoir. split=50 spreads the calls over both sides' locks,
// split=1 puts 99% of them on the stable side's.
func BenchmarkObserve(b *testing.B) {
	for _, split := range []int{1, 50} {
		b.Run("peer=recorder/split="+strconv.Itoa(split), func(b *testing.B) {
			r, err := NewRecorder(DefaultRecorderOptions())
			if err != nil {
				b.Fatal(err)
			}
			var seq atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					side := Assign(nil, i, float64(split))
					r.Observe(side, time.Duration(1000+i%4096)*time.Microsecond, i%100 == 0, float64(i%997))
				}
			})
		})
	}
	b.Run("peer=monitor.Histogram", func(b *testing.B) {
		h := monitor.NewDurationHistogram(monitor.LatencyBuckets[:])
		var seq atomic.Uint64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := seq.Add(1)
				h.Observe(time.Duration(1000+i%4096) * time.Microsecond)
			}
		})
	})
}

var benchDecision Decision

// BenchmarkDecide: one decision over full samples (two 4096-value sorted
// samples for the KS distance), as the server runs it every few seconds.
func BenchmarkDecide(b *testing.B) {
	r, err := NewRecorder(DefaultRecorderOptions())
	if err != nil {
		b.Fatal(err)
	}
	for i := range 100000 {
		r.Observe(Side(i&1), time.Duration(1000+i%4096)*time.Microsecond, i%1000 == 0, float64(i%997))
	}
	p := DefaultPlan()
	p.Candidate = 2
	now := time.Unix(1e9, 0)
	st := Start(now.Add(-time.Hour))
	b.Run("snapshot+decide", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchDecision = Decide(p, st, r.Snapshot(), nil, now)
		}
	})
}
