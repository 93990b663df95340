package slo

import (
	"testing"
	"time"
)

// BenchmarkObserve is the request path's cost on the wall clock, with
// goroutines=1 and with every core counting into one model (the counters
// are shared, so that is where contention shows).
func BenchmarkObserve(b *testing.B) {
	tr, err := New(Options{Models: map[string]Config{
		"m": {Latency: &LatencyObjective{Threshold: Duration(25 * time.Millisecond), Objective: 0.99}, Availability: &AvailabilityObjective{Objective: 0.999}},
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("goroutines=1", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			tr.Observe("m", time.Duration(i%50)*time.Millisecond, 200)
		}
	})
	b.Run("goroutines=GOMAXPROCS", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for i := 0; pb.Next(); i++ {
				tr.Observe("m", time.Duration(i%50)*time.Millisecond, 200)
			}
		})
	})
}
