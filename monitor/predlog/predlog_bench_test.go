package predlog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

var benchSink bool

func benchLog(b *testing.B, rate float64, bufferRecords int) (*Log, *Model) {
	b.Helper()
	keyFile, _ := writeKeyB(b)
	l, err := New(Options{Dir: b.TempDir(), KeyFile: keyFile, BufferRecords: bufferRecords, Models: map[string]Policy{"ctr": {
		SampleRate: rate,
		Fields:     []string{"age", "country", "user_id", "clicks"},
		Hashed:     []string{"user_id"},
	}}})
	if err != nil {
		b.Fatal(err)
	}
	m, err := l.Logger(testSchema())
	if err != nil {
		b.Fatal(err)
	}
	return l, m
}

func writeKeyB(b *testing.B) (string, []byte) {
	p := filepath.Join(b.TempDir(), "key")
	if err := os.WriteFile(p, []byte(testKeyHex), 0o600); err != nil {
		b.Fatal(err)
	}
	return p, nil
}

// BenchmarkLog is the request path's cost: Log from parallel goroutines
// with the writer running, at each sampling rate. A record that finds the
// buffer full is dropped (dropped/op says how many).
func BenchmarkLog(b *testing.B) {
	for _, rate := range []float64{1, 0.1, 0.01} {
		b.Run(fmt.Sprintf("rate=%v", rate), func(b *testing.B) {
			l, m := benchLog(b, rate, 8192)
			recs := testRecords(1)
			ids := make([]string, 1<<16)
			for i := range ids {
				ids[i] = "req-" + strconv.Itoa(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rec := recs[0]
				i := 0
				for pb.Next() {
					rec.ID = ids[i&(len(ids)-1)]
					i++
					benchSink = m.Log(&rec)
				}
			})
			b.StopTimer()
			st := m.Stats()
			b.ReportMetric(float64(st.Dropped)/float64(b.N), "dropped/op")
			b.ReportMetric(float64(st.Logged)/float64(b.N), "logged/op")
			l.Close(context.Background())
		})
	}
}

// BenchmarkWrite is the writer's sustained rate: records logged as fast
// as the buffer takes them (none dropped), until all are on disk in
// completed segments.
func BenchmarkWrite(b *testing.B) {
	l, m := benchLog(b, 1, 8192)
	recs := testRecords(4096)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		rec := &recs[i&4095]
		rec.ID = strconv.Itoa(i) // distinct ids, as in service
		for !m.Log(rec) {
			time.Sleep(50 * time.Microsecond)
		}
	}
	if err := l.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	st := l.Stats()
	if st.Records != int64(b.N) {
		b.Fatalf("wrote %d records, want %d", st.Records, b.N)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "records/s")
	b.ReportMetric(float64(st.Bytes)/float64(b.N), "disk_bytes/record")
}

// BenchmarkLogAccepted is the cost of a record that gets a slot (the copy
// and the two channel operations), the writer kept out of the way: it is
// stalled, and the benchmark recycles the queued slots itself.
func BenchmarkLogAccepted(b *testing.B) {
	keyFile, _ := writeKeyB(b)
	release := make(chan struct{})
	o := Options{Dir: b.TempDir(), KeyFile: keyFile, BufferRecords: 1024, Models: map[string]Policy{"ctr": {
		SampleRate: 1, Fields: []string{"age", "country", "user_id", "clicks"}, Hashed: []string{"user_id"},
	}}}
	o.beforeWrite = func() { <-release }
	l, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	m, err := l.Logger(testSchema())
	if err != nil {
		b.Fatal(err)
	}
	rec := testRecords(1)[0]
	recycle := func() {
		for len(l.full) > 0 {
			l.free <- <-l.full
		}
	}
	for range 1024 { // warm every slot
		m.Log(&rec)
	}
	recycle()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if !m.Log(&rec) {
			b.StopTimer()
			recycle()
			b.StartTimer()
			m.Log(&rec)
		}
	}
	b.StopTimer()
	recycle()
	close(release)
	l.Close(context.Background())
}
