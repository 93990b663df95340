package labels

import (
	"fmt"
	"testing"
	"time"
)

var reportSink *Report

// BenchmarkRecord is the request path's cost, three ways:
//   - accepted: a free slot, a copy, a send (the writer parked, slots
//     refilled with the timer stopped);
//   - sustained: Record with a Flush every 1024, so the writer's batching
//     and Pebble commits (no fsync) are in the time: its rows/s is what
//     the store absorbs;
//   - full: the queue full, every Record a counted drop (threads=2 with
//     b.RunParallel).
func BenchmarkRecord(b *testing.B) {
	outputs, sl := []float64{0.1, 0.9}, []string{"de", "mobile", "f"}
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("req-%08d", i)
	}
	open := func(b *testing.B, queue int) *Store {
		c := &clock{t: t0}
		o := testOptions(c)
		o.QueueRecords = queue
		return mustOpen(b, b.TempDir(), o)
	}
	b.Run("mode=accepted/outputs=2/slices=3", func(b *testing.B) {
		const queue = 8192
		s := open(b, queue)
		defer s.Close()
		b.ReportAllocs()
		s.mu.Lock()
		n := 0
		for b.Loop() {
			if n == queue-1 {
				b.StopTimer()
				s.mu.Unlock()
				s.Flush()
				s.mu.Lock()
				n = 0
				b.StartTimer()
			}
			if !s.Record("m", 1, ids[n&(len(ids)-1)], t0.Add(time.Duration(n)), outputs, sl) {
				b.Fatal("Record into a free slot dropped")
			}
			n++
		}
		s.mu.Unlock()
	})
	b.Run("mode=sustained/outputs=2/slices=3", func(b *testing.B) {
		s := open(b, 8192)
		defer s.Close()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.Record("m", 1, ids[i&(len(ids)-1)], t0.Add(time.Duration(i)), outputs, sl)
			i++
			if i%1024 == 0 {
				s.Flush()
			}
		}
		s.Flush()
		st := s.Stats()
		b.ReportMetric(float64(st.Written)/b.Elapsed().Seconds(), "rows/s")
		if st.Dropped != 0 {
			b.Errorf("%d dropped with a flush every 1024 and a queue of 8192", st.Dropped)
		}
	})
	b.Run("mode=full/threads=2", func(b *testing.B) {
		s := open(b, 16)
		defer s.Close()
		s.mu.Lock()
		for i := range 64 { // fill the queue (and the writer's batch)
			s.Record("m", 1, ids[i], t0, outputs, sl)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Record("m", 1, ids[0], t0, outputs, sl)
			}
		})
		s.mu.Unlock()
	})
}

// BenchmarkReport reads 100k joined rows (and 10k unlabelled) of one
// model version and computes every window's metrics, slices, fairness
// and estimate.
func BenchmarkReport(b *testing.B) {
	const joined, unlabelled = 100000, 10000
	c := &clock{t: t0}
	o := testOptions(c)
	o.QueueRecords = 1 << 17
	s := mustOpen(b, b.TempDir(), o)
	defer s.Close()
	s.Configure("ctr", binarySpec())
	ps := makePreds(joined+unlabelled, t0, 9)
	recordAll(b, s, "ctr", 1, ps)
	ls := make([]Label, joined)
	for i := range ls {
		ls[i] = Label{ID: ps[i].id, Value: float64(i % 2), Time: time.Unix(0, ps[i].ns)}
	}
	if res, err := s.Label("ctr", ls); err != nil || res.Joined != joined {
		b.Fatalf("Label = %+v, %v; want %d joined", res, err, joined)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := s.Report("ctr", 1)
		if err != nil {
			b.Fatal(err)
		}
		reportSink = r
	}
	b.ReportMetric(float64(joined+unlabelled)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
