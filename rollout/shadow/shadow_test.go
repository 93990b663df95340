package shadow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

// fakeClock is a clock that moves only when told, safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// identity is a shadow model that predicts its input row: Inputs must
// equal Outputs.
func identity(_ context.Context, dst, rows []float64, _ int) ([]float64, error) {
	return append(dst, rows...), nil
}

// gate is an Idle func the test opens and closes.
type gate struct {
	open  atomic.Bool
	asked atomic.Int64
}

func (g *gate) idle() bool { g.asked.Add(1); return g.open.Load() }

func mustNew(t *testing.T, o Options) *Shadow {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatalf("New(%+v): %v", o, err)
	}
	t.Cleanup(s.Close)
	return s
}

// waitFor polls s until cond holds, failing after a generous deadline
// (a liveness bound, not a timing assertion).
func waitFor(t *testing.T, s *Shadow, what string, cond func(Report) bool) Report {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := s.Snapshot()
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s; last report %+v", what, r)
		}
		time.Sleep(time.Millisecond)
	}
}

func offer(t *testing.T, s *Shadow, rows []float64, n int, live []float64, lat time.Duration, want bool) {
	t.Helper()
	if got := s.Offer(rows, n, live, lat); got != want {
		t.Fatalf("Offer(%v, %d, %v) = %v, want %v; report %+v", rows, n, live, got, want, s.Snapshot())
	}
}

func TestNewRejects(t *testing.T) {
	good := Options{Predict: identity, Inputs: 1, Outputs: 1, Task: model.TaskBinary}
	if _, err := New(good); err != nil {
		t.Fatalf("New(%+v) = %v, want no error", good, err)
	}
	for _, c := range []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"no predict", func(o *Options) { o.Predict = nil }, "Options.Predict"},
		{"no inputs", func(o *Options) { o.Inputs = 0 }, "Options.Inputs"},
		{"no outputs", func(o *Options) { o.Outputs = 0 }, "Options.Outputs"},
		{"negative queue", func(o *Options) { o.QueueRows = -1 }, "Options.QueueRows"},
		{"huge queue", func(o *Options) { o.QueueRows = MaxQueueRows + 1 }, "Options.QueueRows"},
		{"negative workers", func(o *Options) { o.Workers = -2 }, "Options.Workers"},
		{"many workers", func(o *Options) { o.Workers = MaxWorkers + 1 }, "Options.Workers"},
		{"batch over queue", func(o *Options) { o.QueueRows, o.BatchRows = 8, 9 }, "Options.BatchRows"},
		{"one bin", func(o *Options) { o.Bins = 1 }, "Options.Bins"},
		{"edge rows", func(o *Options) { o.EdgeRows = -1 }, "Options.EdgeRows"},
		{"idle wait", func(o *Options) { o.IdleWait = -time.Second }, "Options.IdleWait"},
		{"threshold", func(o *Options) { o.Threshold = 1.5 }, "Options.Threshold"},
		{"threshold NaN", func(o *Options) { o.Threshold = math.NaN() }, "Options.Threshold"},
		{"tolerance", func(o *Options) { o.Tolerance = -0.1 }, "Options.Tolerance"},
		{"tolerance inf", func(o *Options) { o.Tolerance = math.Inf(1) }, "Options.Tolerance"},
		{"task", func(o *Options) { o.Task = "ranking" }, "Options.Task"},
		{"class index", func(o *Options) { o.Task = model.TaskMulticlass }, "Options.Outputs"},
		{"too big", func(o *Options) { o.QueueRows, o.Inputs = 1<<20, 1<<10 }, "Options.QueueRows"},
		{"negative id bytes", func(o *Options) { o.IDBytes = -1 }, "Options.IDBytes"},
		{"long ids", func(o *Options) { o.IDBytes = MaxIDBytes + 1 }, "Options.IDBytes"},
	} {
		o := good
		c.edit(&o)
		s, err := New(o)
		if err == nil {
			s.Close()
			t.Errorf("%s: New(%+v) = nil error, want one naming %s", c.name, o, c.field)
			continue
		}
		if !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: New(%+v) = %q, want it to name %s", c.name, o, err, c.field)
		}
	}
}

func TestDefaults(t *testing.T) {
	s := mustNew(t, Options{Predict: identity, Inputs: 1, Outputs: 1, Task: model.TaskBinary})
	d := DefaultOptions()
	got := []any{s.opts.QueueRows, s.opts.Workers, s.opts.BatchRows, s.opts.Threshold, s.opts.Bins, s.opts.EdgeRows, s.opts.IdleWait}
	want := []any{d.QueueRows, d.Workers, d.BatchRows, d.Threshold, d.Bins, d.EdgeRows, d.IdleWait}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("New with zero Options took %v, want the defaults %v", got, want)
	}
	want = []any{4096, 1, 64, 0.5, 20, 1000, 2 * time.Millisecond}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults %v, want the documented %v", got, want)
	}
	small := mustNew(t, Options{Predict: identity, Inputs: 1, Outputs: 1, Task: model.TaskBinary, QueueRows: 10})
	if small.opts.BatchRows != 10 {
		t.Errorf("QueueRows 10: default BatchRows %d, want 10 (at most QueueRows)", small.opts.BatchRows)
	}
}

// checkReport compares the comparison figures of r with want's.
func checkReport(t *testing.T, r, want Report) {
	t.Helper()
	type figures struct {
		Offered, Dropped, Queued, Compared, Agreed, NaN, Batches, Errors, ErrorRows int64
		Rate, Mean, Max                                                             Stat
		Dist                                                                        Distributions
	}
	f := func(r Report) figures {
		d := r.Outputs
		d.JSDistance = 0
		return figures{r.OfferedRows, r.DroppedRows, r.QueuedRows, r.ComparedRows, r.AgreedRows, r.NaNRows, r.Batches, r.Errors, r.ErrorRows,
			r.AgreementRate, r.MeanAbsDiff, r.MaxAbsDiff, d}
	}
	if got, want := f(r), f(want); !reflect.DeepEqual(got, want) {
		t.Errorf("report\n got %+v\nwant %+v", got, want)
	}
}

func TestCompareBinary(t *testing.T) {
	var clock fakeClock
	g := &gate{}
	s := mustNew(t, Options{
		Inputs: 1, Outputs: 1, Task: model.TaskBinary, Bins: 4, BatchRows: 5,
		Predict: func(ctx context.Context, dst, rows []float64, n int) ([]float64, error) {
			clock.advance(1000 * time.Nanosecond)
			return identity(ctx, dst, rows, n)
		},
		Idle: g.idle, Now: clock.now,
	})
	// The shadow predicts the row; threshold 0.5.
	offer(t, s, []float64{0.125, 0.375, 0.625}, 3, []float64{0.25, 0.5, 0.625}, 700*time.Nanosecond, true)
	offer(t, s, []float64{0.875, 0.75}, 2, []float64{0.25, math.NaN()}, 1500*time.Nanosecond, true)
	g.open.Store(true)
	r := waitFor(t, s, "5 rows compared", func(r Report) bool { return r.ComparedRows == 5 })
	// 0.25/0.125 agree, d .125; 0.5/0.375 disagree, d .125; .625/.625
	// agree, d 0; .25/.875 disagree, d .625; NaN live.
	checkReport(t, r, Report{
		OfferedRows: 5, ComparedRows: 5, AgreedRows: 2, NaNRows: 1, Batches: 1,
		AgreementRate: 0.4, MeanAbsDiff: 0.875 / 4, MaxAbsDiff: 0.625,
		Outputs: Distributions{Bins: "probability", Edges: []float64{0.25, 0.5, 0.75},
			Live: []int64{0, 2, 2, 0}, Shadow: []int64{1, 1, 1, 1}},
	})
	// p = (0, ½, ½, 0), q = ¼ each, m = (⅛, ⅜, ⅜, ⅛): KL(p‖m) = log2(4/3),
	// KL(q‖m) = ½ + ½·log2(2/3).
	js := math.Sqrt((math.Log2(4.0/3) + 0.5 + 0.5*math.Log2(2.0/3)) / 2)
	if got := float64(r.Outputs.JSDistance); math.Abs(got-js) > 1e-12 {
		t.Errorf("JSDistance = %v, want %v", got, js)
	}
	lat := []Latency{r.ShadowBatchLatency, r.ShadowRowLatency, r.LiveLatency}
	want := []Latency{{1, 1e-6, 1e-6}, {5, 200e-9, 200e-9}, {5, 700e-9, 1500e-9}}
	if !reflect.DeepEqual(lat, want) {
		t.Errorf("latencies (shadow batch, shadow row, live) = %+v, want %+v", lat, want)
	}
}

func TestCompareMulticlass(t *testing.T) {
	g := &gate{}
	s := mustNew(t, Options{Inputs: 3, Outputs: 3, Task: model.TaskMulticlass, Predict: identity, Idle: g.idle})
	shadow := []float64{
		0.5, 0.25, 0.25, // class 0
		0.125, 0.125, 0.75, // class 2
		0.5, 0.5, 0, // tie: class 0
		0.25, math.NaN(), 0.75,
	}
	live := []float64{
		0.25, 0.5, 0.25, // class 1: disagree, |0.5−0.25| of class 1
		0.25, 0.25, 0.5, // class 2: agree, |0.5−0.75|
		0.5, 0.25, 0.25, // class 0: agree, 0
		0.2, 0.3, 0.5,
	}
	offer(t, s, shadow, 4, live, time.Millisecond, true)
	g.open.Store(true)
	r := waitFor(t, s, "4 rows compared", func(r Report) bool { return r.ComparedRows == 4 })
	checkReport(t, r, Report{
		OfferedRows: 4, ComparedRows: 4, AgreedRows: 2, NaNRows: 1, Batches: 1,
		AgreementRate: 0.5, MeanAbsDiff: 0.5 / 3, MaxAbsDiff: 0.25,
		Outputs: Distributions{Bins: "class", Edges: []float64{},
			Live: []int64{1, 1, 1}, Shadow: []int64{2, 0, 1}},
	})
}

func TestCompareRegression(t *testing.T) {
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskRegression, Predict: identity,
		Tolerance: 0.5, Bins: 4, EdgeRows: 4})
	done := func(n int64) Report {
		return waitFor(t, s, fmt.Sprintf("%d rows compared", n), func(r Report) bool { return r.ComparedRows == n })
	}
	offer(t, s, []float64{1.25, 2}, 2, []float64{1, 2}, time.Millisecond, true)
	// Provisional edges from live 1, 2: sorted[⌊i·2/4⌋] = 1, 2, 2.
	checkReport(t, done(2), Report{
		OfferedRows: 2, ComparedRows: 2, AgreedRows: 2, Batches: 1,
		AgreementRate: 1, MeanAbsDiff: 0.125, MaxAbsDiff: 0.25,
		Outputs: Distributions{Bins: "quantile", Provisional: true, Edges: []float64{1, 2},
			Live: []int64{1, 1, 0}, Shadow: []int64{0, 2, 0}},
	})
	offer(t, s, []float64{3.75, 6}, 2, []float64{3, 4}, time.Millisecond, true)
	// Edges fixed from live 1, 2, 3, 4: 2, 3, 4. |3−3.75| and |4−6| exceed
	// the tolerance.
	checkReport(t, done(4), Report{
		OfferedRows: 4, ComparedRows: 4, AgreedRows: 2, Batches: 2,
		AgreementRate: 0.5, MeanAbsDiff: 0.75, MaxAbsDiff: 2,
		Outputs: Distributions{Bins: "quantile", Edges: []float64{2, 3, 4},
			Live: []int64{2, 1, 1, 0}, Shadow: []int64{2, 0, 1, 1}},
	})
	// Binned by the fixed edges; equal infinities agree with difference 0.
	inf := math.Inf(1)
	offer(t, s, []float64{2.5, inf, math.NaN()}, 3, []float64{10, inf, 1}, time.Millisecond, true)
	checkReport(t, done(7), Report{
		OfferedRows: 7, ComparedRows: 7, AgreedRows: 3, NaNRows: 1, Batches: 3,
		AgreementRate: Stat(3.0 / 7), MeanAbsDiff: 10.5 / 6, MaxAbsDiff: 7.5,
		Outputs: Distributions{Bins: "quantile", Edges: []float64{2, 3, 4},
			Live: []int64{2, 1, 1, 2}, Shadow: []int64{2, 1, 1, 2}},
	})
}

// blocker is a shadow model whose calls wait until released (or, with
// honourCancel, until its context is cancelled); entered receives one value
// per call as it starts.
type blocker struct {
	entered      chan int
	release      chan struct{}
	honourCancel bool
	calls        atomic.Int64
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan int, 100), release: make(chan struct{})}
}

func (b *blocker) predict(ctx context.Context, dst, rows []float64, n int) ([]float64, error) {
	b.calls.Add(1)
	b.entered <- n
	select {
	case <-b.release:
	case <-ctx.Done():
		if b.honourCancel {
			return dst, ctx.Err()
		}
	}
	return identity(ctx, dst, rows, n)
}

func TestFullQueueDrops(t *testing.T) {
	b := newBlocker()
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskRegression, Predict: b.predict, QueueRows: 8, BatchRows: 4})
	rows := func(n int) []float64 { return make([]float64, n) }
	offer(t, s, rows(4), 4, rows(4), time.Millisecond, true)
	if n := <-b.entered; n != 4 {
		t.Fatalf("first batch of %d rows, want 4", n)
	}
	// The worker waits inside Predict with 4 rows; 4 places are left, and
	// no Offer waits for them.
	offer(t, s, rows(3), 3, rows(3), time.Millisecond, true)
	offer(t, s, rows(2), 2, rows(2), time.Millisecond, false)
	offer(t, s, rows(1), 1, rows(1), time.Millisecond, true)
	offer(t, s, rows(1), 1, rows(1), time.Millisecond, false)
	offer(t, s, rows(9), 9, rows(9), time.Millisecond, false) // never fits
	r := s.Snapshot()
	if r.OfferedRows != 20 || r.DroppedRows != 12 || r.QueuedRows != 8 || r.ComparedRows != 0 {
		t.Errorf("with Predict waiting: offered %d, dropped %d, queued %d, compared %d; want 20, 12, 8, 0",
			r.OfferedRows, r.DroppedRows, r.QueuedRows, r.ComparedRows)
	}
	close(b.release)
	r = waitFor(t, s, "8 rows compared", func(r Report) bool { return r.ComparedRows == 8 && r.QueuedRows == 0 })
	if r.DroppedRows != 12 || r.Batches != 2 {
		t.Errorf("drained: dropped %d, batches %d; want 12, 2", r.DroppedRows, r.Batches)
	}
	// The ring has wrapped: the queue takes 8 rows again, in a batch that
	// stops at the ring's end.
	offer(t, s, rows(8), 8, rows(8), time.Millisecond, true)
	r = waitFor(t, s, "16 rows compared", func(r Report) bool { return r.ComparedRows == 16 })
	if r.DroppedRows != 12 || r.QueuedRows != 0 {
		t.Errorf("after wrapping: dropped %d, queued %d; want 12, 0", r.DroppedRows, r.QueuedRows)
	}
}

func TestIdleGates(t *testing.T) {
	g := &gate{}
	var calls atomic.Int64
	s := mustNew(t, Options{Inputs: 2, Outputs: 2, Task: model.TaskMulticlass, QueueRows: 4, Idle: g.idle,
		Predict: func(ctx context.Context, dst, rows []float64, n int) ([]float64, error) {
			calls.Add(1)
			return identity(ctx, dst, rows, n)
		}})
	row := []float64{0.25, 0.75}
	for i := range 6 {
		offer(t, s, row, 1, row, time.Millisecond, i < 4)
	}
	// The worker has been asked to look, and Idle says no: nothing is
	// predicted however long it waits.
	for g.asked.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	r := s.Snapshot()
	if c := calls.Load(); c != 0 || r.ComparedRows != 0 || r.QueuedRows != 4 || r.DroppedRows != 2 {
		t.Errorf("Idle false: %d Predict calls, compared %d, queued %d, dropped %d; want 0, 0, 4, 2", c, r.ComparedRows, r.QueuedRows, r.DroppedRows)
	}
	g.open.Store(true)
	r = waitFor(t, s, "the queue drained", func(r Report) bool { return r.ComparedRows == 4 })
	if r.QueuedRows != 0 || r.DroppedRows != 2 || r.AgreedRows != 4 {
		t.Errorf("Idle true: queued %d, dropped %d, agreed %d; want 0, 2, 4", r.QueuedRows, r.DroppedRows, r.AgreedRows)
	}
}

func TestErrorsCounted(t *testing.T) {
	var (
		mu    sync.Mutex
		lines []string
	)
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskBinary,
		Logf: func(format string, args ...any) {
			mu.Lock()
			lines = append(lines, fmt.Sprintf(format, args...))
			mu.Unlock()
		},
		// Row value 1: an error; 2: two values per row; 3: a panic.
		Predict: func(ctx context.Context, dst, rows []float64, n int) ([]float64, error) {
			switch rows[0] {
			case 1:
				return dst, errors.New("feature 7 is\nmissing")
			case 2:
				return append(append(dst, rows...), rows...), nil
			case 3:
				panic("index out of range")
			}
			return identity(ctx, dst, rows, n)
		}})
	steps := []struct {
		rows    []float64
		lastErr string
	}{
		{[]float64{1, 0.5}, "feature 7 is\nmissing"},
		{[]float64{0}, "feature 7 is\nmissing"},
		{[]float64{2}, "shadow: Predict returned 2 values for 1 rows of 1 outputs, want 1"},
		{[]float64{3, 0, 0}, "shadow: Predict panicked: index out of range"},
	}
	var total int64
	for i, st := range steps {
		n := len(st.rows)
		total += int64(n)
		offer(t, s, st.rows, n, make([]float64, n), time.Millisecond, true)
		r := waitFor(t, s, "the offer handled", func(r Report) bool { return r.ComparedRows+r.ErrorRows == total })
		if r.LastError != st.lastErr {
			t.Errorf("step %d: LastError %q, want %q", i, r.LastError, st.lastErr)
		}
	}
	r := s.Snapshot()
	if r.Errors != 3 || r.ErrorRows != 6 || r.ComparedRows != 1 || r.Batches != 1 {
		t.Errorf("errors %d, error rows %d, compared %d, batches %d; want 3, 6, 1, 1", r.Errors, r.ErrorRows, r.ComparedRows, r.Batches)
	}
	mu.Lock()
	defer mu.Unlock()
	// Three errors within a minute: one line, its control bytes escaped.
	if len(lines) != 1 || !strings.Contains(lines[0], `feature 7 is\nmissing`) {
		t.Errorf("logged %q, want one line naming the first error, newline escaped", lines)
	}
}

func TestCloseDropsQueued(t *testing.T) {
	b := newBlocker()
	b.honourCancel = true
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskRegression, Predict: b.predict, QueueRows: 16, BatchRows: 4})
	offer(t, s, make([]float64, 4), 4, make([]float64, 4), time.Millisecond, true)
	<-b.entered
	offer(t, s, make([]float64, 6), 6, make([]float64, 6), time.Millisecond, true)
	s.Close()
	// 6 queued and the 4 whose Predict the cancel stopped.
	r := s.Snapshot()
	if r.DroppedRows != 10 || r.QueuedRows != 0 || r.Errors != 0 || r.ComparedRows != 0 {
		t.Errorf("after Close: dropped %d, queued %d, errors %d, compared %d; want 10, 0, 0, 0", r.DroppedRows, r.QueuedRows, r.Errors, r.ComparedRows)
	}
	offer(t, s, []float64{1}, 1, []float64{1}, time.Millisecond, false)
	s.Close()
	if r := s.Snapshot(); r.DroppedRows != 11 || r.OfferedRows != 11 {
		t.Errorf("Offer after Close: dropped %d of %d offered; want 11 of 11", r.DroppedRows, r.OfferedRows)
	}
	if c := b.calls.Load(); c != 1 {
		t.Errorf("Predict called %d times, want 1 (nothing taken after Close)", c)
	}
}

func TestCloseWaitsForBatch(t *testing.T) {
	b := newBlocker() // ignores the cancel and finishes its batch
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskRegression, Predict: b.predict, QueueRows: 16, BatchRows: 4})
	offer(t, s, make([]float64, 4), 4, make([]float64, 4), time.Millisecond, true)
	<-b.entered
	s.Close()
	if r := s.Snapshot(); r.ComparedRows != 4 || r.DroppedRows != 0 || r.QueuedRows != 0 {
		t.Errorf("Close returned with compared %d, dropped %d, queued %d; want 4, 0, 0 (the batch in flight finished)", r.ComparedRows, r.DroppedRows, r.QueuedRows)
	}
}

func TestOfferPanicsOnBadLengths(t *testing.T) {
	s := mustNew(t, Options{Inputs: 2, Outputs: 1, Task: model.TaskBinary, Predict: identity})
	for _, c := range []struct {
		rows, live []float64
		n          int
	}{
		{make([]float64, 3), make([]float64, 2), 2},
		{make([]float64, 4), make([]float64, 1), 2},
		{nil, nil, -1},
	} {
		func() {
			defer func() {
				p := recover()
				if msg, _ := p.(string); !strings.HasPrefix(msg, "BUG: shadow: Offer") {
					t.Errorf("Offer(%d input, %d live values, n=%d) panicked with %v, want a BUG panic", len(c.rows), len(c.live), c.n, p)
				}
			}()
			s.Offer(c.rows, c.n, c.live, 0)
		}()
	}
	if !s.Offer(nil, 0, nil, 0) {
		t.Errorf("Offer of 0 rows = false, want true")
	}
}

// TestConcurrent offers from several goroutines into a small ring that
// wraps, with two workers and Snapshots alongside; every accepted row is
// compared once and every refused one dropped once.
func TestConcurrent(t *testing.T) {
	s := mustNew(t, Options{Inputs: 2, Outputs: 2, Task: model.TaskMulticlass, Predict: identity, QueueRows: 64, BatchRows: 8, Workers: 2})
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for gr := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]float64, 10)
			for i := range 500 {
				n := 1 + (gr+i)%5
				for j := range n {
					buf[2*j], buf[2*j+1] = float64(j%2), float64(1-j%2)
				}
				if s.Offer(buf[:2*n], n, buf[:2*n], time.Duration(i)) {
					accepted.Add(int64(n))
				} else {
					refused.Add(int64(n))
				}
				if i%50 == 0 {
					s.Snapshot()
				}
			}
		}()
	}
	wg.Wait()
	r := waitFor(t, s, "the queue drained", func(r Report) bool { return r.QueuedRows == 0 })
	if r.ComparedRows != accepted.Load() || r.DroppedRows != refused.Load() || r.AgreedRows != r.ComparedRows || r.MaxAbsDiff != 0 {
		t.Errorf("compared %d, dropped %d, agreed %d, max diff %v; want %d, %d, all, 0", r.ComparedRows, r.DroppedRows, r.AgreedRows, r.MaxAbsDiff, accepted.Load(), refused.Load())
	}
}

func TestOfferAllocs(t *testing.T) {
	g := &gate{} // closed: the queue only fills
	s := mustNew(t, Options{Inputs: 8, Outputs: 2, Task: model.TaskMulticlass, Predict: identity, QueueRows: 2048, Idle: g.idle})
	rows, live := make([]float64, 16), make([]float64, 4)
	if a := testing.AllocsPerRun(1000, func() { s.Offer(rows, 2, live, time.Millisecond) }); a != 0 {
		t.Errorf("Offer (queued) allocates %v times, want 0", a)
	}
	if a := testing.AllocsPerRun(1000, func() { s.Offer(rows, 2, live, time.Millisecond) }); a != 0 {
		t.Errorf("Offer (dropped) allocates %v times, want 0", a)
	}
	if r := s.Snapshot(); r.DroppedRows == 0 || r.QueuedRows != 2048 {
		t.Errorf("dropped %d, queued %d; want some dropped and 2048 queued, so both paths ran", r.DroppedRows, r.QueuedRows)
	}
}

func TestReportJSON(t *testing.T) {
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskBinary, Predict: identity, Bins: 2})
	b, err := json.Marshal(s.Snapshot())
	if err != nil {
		t.Fatalf("json.Marshal(empty report): %v", err)
	}
	want := `{"task":"binary","offered_rows":0,"dropped_rows":0,"queued_rows":0,"compared_rows":0,"agreed_rows":0,"nan_rows":0,"batches":0,"errors":0,"error_rows":0,` +
		`"agreement_rate":null,"mean_abs_diff":null,"max_abs_diff":null,` +
		`"distributions":{"bins":"probability","edges":[0.5],"provisional":false,"live":[0,0],"shadow":[0,0],"js_distance":null},` +
		`"shadow_batch_latency":{"count":0,"p50_seconds":0,"p99_seconds":0},"shadow_row_latency":{"count":0,"p50_seconds":0,"p99_seconds":0},"live_latency":{"count":0,"p50_seconds":0,"p99_seconds":0}}`
	if string(b) != want {
		t.Errorf("empty report JSON\n got %s\nwant %s", b, want)
	}
}

// TestBatchStopsAtRingEnd: a batch is contiguous in the ring, so the rows
// that wrap come in two batches, and each row still meets its own live
// outputs.
func TestBatchStopsAtRingEnd(t *testing.T) {
	g := &gate{}
	var (
		mu    sync.Mutex
		sizes []int
	)
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskRegression, QueueRows: 6, BatchRows: 4, Idle: g.idle,
		Predict: func(ctx context.Context, dst, rows []float64, n int) ([]float64, error) {
			mu.Lock()
			sizes = append(sizes, n)
			mu.Unlock()
			return identity(ctx, dst, rows, n)
		}})
	offer(t, s, []float64{1, 2, 3, 4}, 4, []float64{1, 2, 3, 4}, time.Millisecond, true)
	g.open.Store(true)
	waitFor(t, s, "4 rows compared", func(r Report) bool { return r.ComparedRows == 4 && r.QueuedRows == 0 })
	g.open.Store(false)
	offer(t, s, []float64{5, 6, 7, 8}, 4, []float64{5, 6, 7, 8}, time.Millisecond, true)
	g.open.Store(true)
	r := waitFor(t, s, "8 rows compared", func(r Report) bool { return r.ComparedRows == 8 })
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(sizes, []int{4, 2, 2}) || r.AgreedRows != 8 || r.MaxAbsDiff != 0 {
		t.Errorf("batches of %v rows, agreed %d, max diff %v; want [4 2 2], 8, 0", sizes, r.AgreedRows, r.MaxAbsDiff)
	}
}

func TestLastErrorCut(t *testing.T) {
	long := strings.Repeat("x", 600)
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskBinary,
		Predict: func(context.Context, []float64, []float64, int) ([]float64, error) { return nil, errors.New(long) }})
	offer(t, s, []float64{0}, 1, []float64{0}, time.Millisecond, true)
	r := waitFor(t, s, "the error counted", func(r Report) bool { return r.Errors == 1 })
	if r.LastError != long[:512] {
		t.Errorf("LastError of a 600-byte error has %d bytes, want its first 512", len(r.LastError))
	}
}

func TestStatJSON(t *testing.T) {
	for _, c := range []struct {
		x    Stat
		want string
	}{{Stat(math.NaN()), "null"}, {Stat(math.Inf(1)), "null"}, {Stat(math.Inf(-1)), "null"}, {0.25, "0.25"}} {
		b, err := json.Marshal(c.x)
		if err != nil || string(b) != c.want {
			t.Errorf("json.Marshal(Stat(%v)) = %s, %v; want %s", float64(c.x), b, err, c.want)
		}
	}
}

// TestCloseWhileOffering: Close races Offers and Snapshots; afterwards
// every offered row is either compared or dropped, none queued.
func TestCloseWhileOffering(t *testing.T) {
	s := mustNew(t, Options{Inputs: 1, Outputs: 1, Task: model.TaskBinary, Predict: identity, QueueRows: 32, BatchRows: 4, Workers: 2})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			row := []float64{0.75, 0.25}
			for range 2000 {
				s.Offer(row, 2, row, time.Millisecond)
			}
			s.Snapshot()
		}()
	}
	s.Close()
	wg.Wait()
	r := s.Snapshot()
	if r.OfferedRows != 12000 || r.QueuedRows != 0 || r.ComparedRows+r.DroppedRows != r.OfferedRows || r.Errors != 0 {
		t.Errorf("offered %d, queued %d, compared %d + dropped %d, errors %d; want 12000, 0, the offered, 0",
			r.OfferedRows, r.QueuedRows, r.ComparedRows, r.DroppedRows, r.Errors)
	}
}
