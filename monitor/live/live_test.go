package live

import (
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

// numeric is a numeric reference distribution over edges: bins closed on
// the left, edges[i-1] <= v < edges[i] for bin i.
func numeric(edges ...float64) *model.Distribution {
	return &model.Distribution{Kind: model.DistNumeric, Edges: edges}
}

var t0 = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func newRecorder(t testing.TB, opts Options) *Recorder {
	t.Helper()
	r, err := New([]Series{
		{Name: "a", Bins: numeric(-1, 0, 1)},
		{Name: "b", Bins: numeric(10)},
		{Name: "p", Bins: numeric(0.25, 0.5, 0.75)},
	}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCounts: every value lands in the bin a brute-force count gives, NaN
// counts as missing, and the window since load and the window of the
// current slot agree when everything happened in one slot.
func TestCounts(t *testing.T) {
	r := newRecorder(t, Options{})
	rng := rand.New(rand.NewPCG(1, 2))
	want := [][]uint64{make([]uint64, 4), make([]uint64, 2), make([]uint64, 4)}
	wantMissing := make([]uint64, 3)
	edges := [][]float64{{-1, 0, 1}, {10}, {0.25, 0.5, 0.75}}
	rows := 0
	for batch := range 50 {
		n := 1 + batch%7
		in := make([]float64, 2*n)
		out := make([]float64, n)
		for i := range in {
			in[i] = rng.NormFloat64() * 5
			if rng.IntN(10) == 0 {
				in[i] = math.NaN()
			}
		}
		for i := range out {
			out[i] = rng.Float64()
		}
		r.Observe(t0.Add(time.Duration(batch)*time.Second), in, out, n)
		rows += n
		for row := range n {
			vals := []float64{in[2*row], in[2*row+1], out[row]}
			for s, v := range vals {
				if math.IsNaN(v) {
					wantMissing[s]++
					continue
				}
				b := 0
				for b < len(edges[s]) && edges[s][b] <= v {
					b++
				}
				want[s][b]++
			}
		}
	}
	for _, span := range []time.Duration{0, time.Minute} {
		w := r.Window(t0.Add(50*time.Second), span)
		if w.Rows != int64(rows) || w.Dropped != 0 {
			t.Errorf("span %v: %d rows, %d dropped, want %d and 0", span, w.Rows, w.Dropped, rows)
		}
		for s := range want {
			sw := w.Series[s]
			for b := range want[s] {
				if sw.Counts[b] != want[s][b] {
					t.Errorf("span %v: series %d bin %d = %d, want %d", span, s, b, sw.Counts[b], want[s][b])
				}
			}
			if sw.Missing != wantMissing[s] {
				t.Errorf("span %v: series %d missing = %d, want %d", span, s, sw.Missing, wantMissing[s])
			}
			// Since load, the sample holds every value (fewer than
			// TotalSample); in the one slot, SlotSample per shard.
			finite := uint64(rows) - wantMissing[s]
			want := int(finite)
			if span > 0 {
				want = min(want, 4*64)
			}
			if len(sw.Sample) != want {
				t.Errorf("span %v: series %d sample of %d, want %d (of %d finite values)", span, s, len(sw.Sample), want, finite)
			}
		}
	}
}

// TestWindows: a window reads back exactly the slots it spans; slots older
// than Slots*SlotWidth are reused, while the window since load keeps
// everything.
func TestWindows(t *testing.T) {
	r := newRecorder(t, Options{Slots: 10})
	one := func(minute int, n int) {
		in := make([]float64, 2*n)
		out := make([]float64, n)
		r.Observe(t0.Add(time.Duration(minute)*time.Minute+30*time.Second), in, out, n)
	}
	// Minute m gets m+1 rows, for minutes 0..14.
	for m := range 15 {
		one(m, m+1)
	}
	now := t0.Add(14*time.Minute + 59*time.Second)
	f := func(span time.Duration, want int64) {
		t.Helper()
		if got := r.Window(now, span).Rows; got != want {
			t.Errorf("Window(span %v).Rows = %d, want %d", span, got, want)
		}
	}
	f(time.Second, 15) // the current slot only
	f(time.Minute, 15) // the same
	f(5*time.Minute, 15+14+13+12+11)
	f(10*time.Minute, 15+14+13+12+11+10+9+8+7+6)
	f(time.Hour, 15+14+13+12+11+10+9+8+7+6) // capped at the 10 slots kept
	f(0, 15*16/2)                           // since load
	// Nothing observed for the next 3 minutes: those slots are empty,
	// not the ones from 10 minutes before.
	now = now.Add(3 * time.Minute)
	f(3*time.Minute, 0)
	f(5*time.Minute, 15+14)
}

// TestEvery: with Every k, exactly the rows whose running index is a
// multiple of k are observed, whatever the batch sizes.
func TestEvery(t *testing.T) {
	r := newRecorder(t, Options{Every: 3})
	total := 0
	var want int64
	for batch := range 40 {
		n := 1 + batch%5
		in := make([]float64, 2*n)
		out := make([]float64, n)
		for row := range n {
			in[2*row] = float64(total + row) // series a carries the running index
			if (total+row)%3 == 0 {
				want++
			}
		}
		r.Observe(t0, in, out, n)
		total += n
	}
	w := r.Window(t0, 0)
	if w.Rows != want {
		t.Fatalf("Every 3 over %d rows observed %d, want %d", total, w.Rows, want)
	}
	for _, v := range w.Series[0].Sample {
		if int(v)%3 != 0 {
			t.Errorf("observed row %v, not a multiple of 3", v)
		}
	}
}

// TestSampleUniform: the merged sample of a window over many slots is
// drawn evenly from them: values 0..N-1 spread over 60 minutes give a
// sample whose mean is near N/2, from every part of the hour.
func TestSampleUniform(t *testing.T) {
	r := newRecorder(t, Options{SlotSample: 64, TotalSample: 1024})
	const perMinute = 500
	v := 0
	for m := range 60 {
		in := make([]float64, 2*perMinute)
		out := make([]float64, perMinute)
		for i := range perMinute {
			in[2*i] = float64(v)
			v++
		}
		r.Observe(t0.Add(time.Duration(m)*time.Minute), in, out, perMinute)
	}
	for _, span := range []time.Duration{time.Hour, 0} {
		s := r.Window(t0.Add(59*time.Minute), span).Series[0].Sample
		if len(s) < 900 || len(s) > 1024 {
			t.Errorf("span %v: sample of %d values, want 900..1024", span, len(s))
		}
		var sum float64
		quarters := make([]int, 4)
		for _, x := range s {
			sum += x
			quarters[int(x)*4/v]++
		}
		mean := sum / float64(len(s))
		// The standard error of the mean of ~1000 uniform draws over
		// 0..30000 is ~270; 5 of them is a generous bound.
		if math.Abs(mean-float64(v)/2) > 1400 {
			t.Errorf("span %v: sample mean %.0f, want near %d", span, mean, v/2)
		}
		for q, c := range quarters {
			if c < len(s)/4-80 || c > len(s)/4+80 {
				t.Errorf("span %v: %d sampled values in quarter %d of the hour, want near %d", span, c, q, len(s)/4)
			}
		}
	}
}

// TestConcurrent: goroutines observing while another reads windows lose
// nothing: every row is either observed or counted as dropped.
func TestConcurrent(t *testing.T) {
	r := newRecorder(t, Options{Shards: 2})
	const workers, batches, n = 4, 2000, 3
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				r.Window(t0, 0)
			}
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := make([]float64, 2*n)
			out := make([]float64, n)
			for range batches {
				r.Observe(t0, in, out, n)
			}
		}()
	}
	wg.Wait()
	close(stop)
	w := r.Window(t0, 0)
	if got := w.Rows + w.Dropped; got != workers*batches*n {
		t.Errorf("observed %d + dropped %d = %d rows, want %d", w.Rows, w.Dropped, got, workers*batches*n)
	}
	t.Logf("%d rows observed, %d dropped", w.Rows, w.Dropped)
}

func TestObserveAllocs(t *testing.T) {
	r := newRecorder(t, Options{})
	in := []float64{1, 20, -3, 5, math.NaN(), 0}
	out := []float64{0.1, 0.9, 0.5}
	now := t0
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Second)
		r.Observe(now, in, out, 3)
	})
	if allocs != 0 {
		t.Errorf("Observe allocates %v times per call, want 0", allocs)
	}
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		series []Series
		opts   Options
		want   string
	}{
		{[]Series{{Name: "x"}}, Options{}, "series 0 (x) has no bins"},
		{nil, Options{SlotWidth: time.Millisecond}, "Options.SlotWidth 1ms: want at least 1s"},
		{nil, Options{Shards: 100}, "Options.Shards 100: want 1..64"},
		{nil, Options{Every: -1}, "Options.Every -1: want 1 or more"},
	} {
		_, err := New(tc.series, tc.opts)
		if err == nil || err.Error() != "live: "+tc.want {
			t.Errorf("New(%v, %+v) = %v, want live: %s", tc.series, tc.opts, err, tc.want)
		}
	}
}

var sink Window

// BenchmarkObserve: the cost per observed row of a model with 40 inputs
// and one output over 20-bin references, the shape of the 300-tree
// benchmark model.
func BenchmarkObserve(b *testing.B) {
	series := make([]Series, 41)
	for i := range series {
		edges := make([]float64, 21)
		for j := range edges {
			edges[j] = float64(j) - 10
		}
		series[i] = Series{Name: "f", Bins: numeric(edges...)}
	}
	r, err := New(series, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, rows := range []int{1, 64} {
		in := make([]float64, 40*rows)
		for i := range in {
			in[i] = rng.NormFloat64() * 4
		}
		out := make([]float64, rows)
		b.Run("features=40/rows="+strconv.Itoa(rows), func(b *testing.B) {
			b.ReportAllocs()
			now := t0
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r.Observe(now, in, out, rows)
				}
			})
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
		})
	}
	sink = r.Window(t0, 0)
}
