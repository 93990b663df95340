package shadow

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

var benchSink []float64

// cheap is a shadow model of about a linear model's cost: a sigmoid of
// the row's sum.
func cheap(_ context.Context, dst, rows []float64, n int) ([]float64, error) {
	w := len(rows) / n
	for i := range n {
		var s float64
		for _, x := range rows[i*w : (i+1)*w] {
			s += x
		}
		dst = append(dst, 1/(1+math.Exp(-s/float64(w))))
	}
	return dst, nil
}

func benchRows(n, inputs int) (rows, live []float64) {
	rows, live = make([]float64, n*inputs), make([]float64, n)
	for i := range rows {
		rows[i] = float64(i%7) - 3
	}
	live, _ = cheap(context.Background(), live[:0], rows, n)
	return rows, live
}

// BenchmarkOffer is the live path's cost: Offer from parallel goroutines,
// into a queue that is emptied whenever it fills (queued: the offers that
// find it full, reported as dropped/offered, are one in QueueRows/rows) or
// that is kept full (dropped); with ids (OfferID of a 32-byte id, as the
// server's generated ones, kept in IDBytes 128 a row, as the server does
// with labels on) or without (Offer).
func BenchmarkOffer(b *testing.B) {
	const inputs = 32
	id := []byte("0123456789abcdef0123456789abcdef")
	for _, path := range []string{"queued", "dropped"} {
		for _, n := range []int{1, 16} {
			for _, idBytes := range []int{0, 128} {
				b.Run(fmt.Sprintf("path=%s/inputs=%d/rows=%d/id_bytes=%d", path, inputs, n, idBytes), func(b *testing.B) {
					benchOffer(b, path, inputs, n, idBytes, id)
				})
			}
		}
	}
}

func benchOffer(b *testing.B, path string, inputs, n, idBytes int, id []byte) {
	// Idle false: no worker takes a batch, so the queue stays as the
	// benchmark leaves it.
	o := Options{Inputs: inputs, Outputs: 1, Task: model.TaskBinary, Predict: cheap, Idle: func() bool { return false }, IDBytes: idBytes}
	s, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	offer := func(rows []float64, n int, live []float64) bool {
		if idBytes == 0 {
			return s.Offer(rows, n, live, time.Millisecond)
		}
		return s.OfferID(id, time.Time{}, rows, n, live, time.Millisecond)
	}
	if path == "dropped" {
		rows, live := benchRows(1, inputs)
		for offer(rows, 1, live) {
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(n * (inputs + 1) * 8))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rows, live := benchRows(n, inputs)
		for pb.Next() {
			if !offer(rows, n, live) && path == "queued" {
				s.discardQueued()
			}
		}
	})
	b.StopTimer()
	r := s.Snapshot()
	b.ReportMetric(float64(r.DroppedRows)/float64(max(r.OfferedRows, 1)), "dropped/offered")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}

// BenchmarkWorker is the shadow's throughput: b.N rows offered in requests
// of 16 rows (retrying while the queue is full) and compared, in rows/s,
// against the peer "direct": the same model called on the same rows in
// batches of the same size, without queue or comparison.
func BenchmarkWorker(b *testing.B) {
	const inputs, per = 32, 16
	for _, batch := range []int{16, 64} {
		b.Run(fmt.Sprintf("path=shadow/inputs=%d/batch=%d/workers=1", inputs, batch), func(b *testing.B) {
			s, err := New(Options{Inputs: inputs, Outputs: 1, Task: model.TaskBinary, Predict: cheap, BatchRows: batch})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			rows, live := benchRows(per, inputs)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var sent int64
			for sent < int64(b.N) {
				for !s.Offer(rows, per, live, time.Millisecond) {
					runtime.Gosched()
				}
				sent += per
			}
			for s.Snapshot().ComparedRows < sent {
				runtime.Gosched()
			}
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(sent)/el.Seconds(), "rows/s")
		})
		b.Run(fmt.Sprintf("path=direct/inputs=%d/batch=%d/workers=1", inputs, batch), func(b *testing.B) {
			rows, _ := benchRows(batch, inputs)
			dst := make([]float64, 0, batch)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var done int64
			for done < int64(b.N) {
				dst, _ = cheap(context.Background(), dst[:0], rows, batch)
				done += int64(batch)
			}
			el := time.Since(start)
			b.StopTimer()
			benchSink = dst
			b.ReportMetric(float64(done)/el.Seconds(), "rows/s")
		})
	}
}

// discardQueued empties the queue of rows no worker has taken, uncounted:
// the benchmark's way to keep measuring Offer's queued path.
func (s *Shadow) discardQueued() {
	s.mu.Lock()
	s.tail = s.take
	s.mu.Unlock()
}
