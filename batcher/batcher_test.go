package batcher

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
)

// load imports a fixture model, prepared for serving if prepare is set,
// and returns it with the fixture's rows.
func load(t testing.TB, format, dir, file, csv string, prepare bool) (model.Predictor, []float64) {
	t.Helper()
	imp, err := importer.ImportFile(format, fixture.Path(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := imp.Model.(interface{ Prepare() error }); ok && prepare {
		if err := p.Prepare(); err != nil {
			t.Fatal(err)
		}
	}
	return imp.Model, fixture.ReadTable(t, fixture.Path(dir, csv)).Flat()
}

func logreg(t testing.TB) (model.Predictor, []float64) {
	return load(t, "native", "native", "logreg_binary.model.json", "logreg_binary.csv", false)
}

func newBatcher(t testing.TB, p model.Predictor, opts Options) *Batcher {
	t.Helper()
	b, err := New(p, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// gated is a Predictor whose calls block until the test releases them,
// so the queue fills deterministically behind a busy worker.
type gated struct {
	model.Predictor
	entered chan int // rows of each call, on entry
	release chan struct{}
	rows    atomic.Int64 // rows computed
}

func newGated(p model.Predictor) *gated {
	return &gated{Predictor: p, entered: make(chan int, 100), release: make(chan struct{}, 100)}
}

func (g *gated) Predict(dst, rows []float64, raw bool) []float64 {
	n := len(rows) / g.NumFeatures()
	g.entered <- n
	<-g.release
	g.rows.Add(int64(n))
	return g.Predictor.Predict(dst, rows, raw)
}

// waitFor polls cond until it holds or a few seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(100 * time.Microsecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestNewOptions(t *testing.T) {
	p, _ := logreg(t)
	for _, c := range []struct {
		opts Options
		want string // in the error; "" for none
	}{
		{Options{}, ""},
		{Options{MaxBatchRows: -1}, "Options.MaxBatchRows is -1"},
		{Options{MaxQueueRows: -5}, "Options.MaxQueueRows is -5"},
		{Options{TargetP99: -time.Millisecond}, "Options.TargetP99"},
		{Options{MaxWait: -1}, "Options.MaxWait"},
		{Options{Workers: -2}, "Options.Workers is -2"},
		{Options{MaxBatchRows: 128, MaxQueueRows: 64}, "Options.MaxQueueRows is 64, less than Options.MaxBatchRows (128)"},
		{Options{MaxBatchRows: 4096}, ""}, // the default queue grows to hold a batch
	} {
		b, err := New(p, c.opts)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("New(%+v) = %v, want no error", c.opts, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("New(%+v) = %v, want an error containing %q", c.opts, err, c.want)
		}
		if b != nil {
			b.Close()
		}
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Errorf("New(nil, Options{}) succeeded, want an error")
	}
	b := newBatcher(t, p, Options{})
	got, def := b.Options(), DefaultOptions()
	if got.MaxBatchRows != def.MaxBatchRows || got.MaxQueueRows != def.MaxQueueRows || got.TargetP99 != def.TargetP99 ||
		got.MaxWait != def.MaxWait || got.Workers != def.Workers || got.Now == nil {
		t.Errorf("New(Options{}).Options() = %+v, want the defaults %+v", got, def)
	}
}

// TestPredictionsMatch has many clients submit requests of varied sizes
// at once, and checks that each gets exactly (bit for bit) the
// predictions of its own rows, as a direct Predict call gives them.
// The models are prepared as serving prepares them; one whose result for
// a row depended on the rows computed with it would fail here.
func TestPredictionsMatch(t *testing.T) {
	for _, c := range []struct {
		name                     string
		format, dir, file, rowsF string
	}{
		{"logreg", "native", "native", "logreg_binary.model.json", "logreg_binary.csv"},
		{"mlp_multiclass", "native", "native", "mlp_multiclass_tanh.model.json", "mlp_multiclass_tanh.csv"},
		{"trees_softprob", "xgboost", "xgboost", "gbtree_multi_softprob.json", "gbtree_multi_softprob.csv"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, data := load(t, c.format, c.dir, c.file, c.rowsF, true)
			nf, no := p.NumFeatures(), p.NumOutputs()
			nrows := len(data) / nf
			var obs countingObserver
			b := newBatcher(t, p, Options{MaxBatchRows: 8, MaxQueueRows: 4096, Workers: 2, Observer: &obs})
			const clients, perClient = 16, 150
			var wg sync.WaitGroup
			for cl := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(cl), 7))
					var dst, want []float64
					for range perClient {
						n := 1 + rng.IntN(12) // sometimes more than a batch
						first := rng.IntN(nrows - n + 1)
						rows := data[first*nf : (first+n)*nf]
						prefix := rng.IntN(3) // dst arrives with values to keep
						dst = append(dst[:0], make([]float64, prefix)...)
						got, err := b.Submit(rows, n, dst, time.Time{}, nil)
						if err != nil {
							t.Errorf("Submit of rows %d..%d: %v", first, first+n-1, err)
							return
						}
						want = p.Predict(want[:0], rows, false)
						if len(got) != prefix+n*no {
							t.Errorf("Submit of rows %d..%d: %d values, want %d", first, first+n-1, len(got), prefix+n*no)
							return
						}
						for i, w := range want {
							if g := got[prefix+i]; math.Float64bits(g) != math.Float64bits(w) {
								t.Errorf("Submit of rows %d..%d: value %d = %v, want %v", first, first+n-1, i, g, w)
								return
							}
						}
						dst = got
					}
				}()
			}
			wg.Wait()
			st := b.Stats()
			requests := uint64(clients * perClient)
			t.Logf("%d requests, %d rows in %d batches (%.1f rows each); cost a=%v c=%v", requests, st.Rows, st.Batches,
				float64(st.Rows)/float64(st.Batches), st.CostFixed, st.CostPerRow)
			if obs.waits.Load() != requests || st.Shed+st.Expired+st.Gone != 0 || st.QueuedRows != 0 {
				t.Errorf("Stats: %d queue waits observed, %d shed, %d expired, %d gone, %d queued; want %d, 0, 0, 0, 0",
					obs.waits.Load(), st.Shed, st.Expired, st.Gone, st.QueuedRows, requests)
			}
			if obs.batches.Load() != st.Batches || obs.rows.Load() != st.Rows {
				t.Errorf("Stats: %d batches of %d rows, but %d batches of %d rows observed", st.Batches, st.Rows, obs.batches.Load(), obs.rows.Load())
			}
			if obs.alone.Load() == 0 {
				t.Errorf("no request above MaxBatchRows ran alone: no batch of more than 8 rows observed")
			}
		})
	}
}

// TestBatchesForm holds one batch in Predict while more requests queue,
// and checks that the next batch takes them together, in arrival order,
// up to MaxBatchRows, never splitting a request.
func TestBatchesForm(t *testing.T) {
	p, data := logreg(t)
	g := newGated(p)
	nf := p.NumFeatures()
	b := newBatcher(t, g, Options{MaxBatchRows: 4, Workers: 1})
	var wg sync.WaitGroup
	submit := func(first, n int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows := data[first*nf : (first+n)*nf]
			got, err := b.Submit(rows, n, nil, time.Time{}, nil)
			if want := p.Predict(nil, rows, false); err != nil || !equalBits(got, want) {
				t.Errorf("Submit of rows %d..%d = %v, %v; want %v", first, first+n-1, got, err, want)
			}
		}()
	}
	submit(0, 1)
	if n := <-g.entered; n != 1 {
		t.Fatalf("first call has %d rows, want 1", n)
	}
	// Queue 1+2, then 2 (does not fit with them), then 1.
	queued := 0
	for i, n := range []int{1, 2, 2, 1} {
		submit(10*(i+1), n)
		queued += n
		waitFor(t, "the request to queue", func() bool { return b.Stats().QueuedRows == queued })
	}
	g.release <- struct{}{}
	if n := <-g.entered; n != 3 {
		t.Errorf("second call has %d rows, want 3 (requests of 1 and 2 rows)", n)
	}
	g.release <- struct{}{}
	if n := <-g.entered; n != 3 {
		t.Errorf("third call has %d rows, want 3 (requests of 2 and 1 rows)", n)
	}
	g.release <- struct{}{}
	wg.Wait()
	if st := b.Stats(); st.Batches != 3 || st.Rows != 7 {
		t.Errorf("Stats: %d batches of %d rows, want 3 of 7", st.Batches, st.Rows)
	}
}

func equalBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

func TestDeadline(t *testing.T) {
	p, data := logreg(t)
	nf := p.NumFeatures()
	g := newGated(p)
	b := newBatcher(t, g, Options{Workers: 1})

	// Already passed: refused at once, nothing computed.
	dst := []float64{42}
	got, err := b.Submit(data[:nf], 1, dst, time.Now().Add(-time.Millisecond), nil)
	if !errors.Is(err, ErrDeadline) || len(got) != 1 || got[0] != 42 {
		t.Errorf("Submit with a past deadline = %v, %v; want [42], ErrDeadline", got, err)
	}

	// Passes while queued behind a busy worker: answered without being
	// computed.
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { _, err := b.Submit(data[:nf], 1, nil, time.Time{}, nil); first <- err }()
	<-g.entered
	go func() {
		_, err := b.Submit(data[nf:3*nf], 2, nil, time.Now().Add(20*time.Millisecond), nil)
		second <- err
	}()
	waitFor(t, "the request to queue", func() bool { return b.Stats().QueuedRows == 2 })
	time.Sleep(30 * time.Millisecond)
	g.release <- struct{}{}
	if err := <-first; err != nil {
		t.Errorf("first Submit = %v, want no error", err)
	}
	if err := <-second; !errors.Is(err, ErrDeadline) {
		t.Errorf("Submit whose deadline passed while queued = %v, want ErrDeadline", err)
	}
	st := b.Stats()
	if st.Expired != 2 || st.Rows != 1 || g.rows.Load() != 1 {
		t.Errorf("Stats: %d expired, %d rows computed (predictor saw %d); want 2, 1, 1", st.Expired, st.Rows, g.rows.Load())
	}
}

func TestGone(t *testing.T) {
	p, data := logreg(t)
	nf := p.NumFeatures()
	g := newGated(p)
	b := newBatcher(t, g, Options{Workers: 1})

	done := make(chan error, 3)
	go func() { _, err := b.Submit(data[:nf], 1, nil, time.Time{}, nil); done <- err }()
	<-g.entered
	var asked, askedStaying atomic.Int32
	go func() {
		_, err := b.Submit(data[nf:2*nf], 1, nil, time.Time{}, func() bool { asked.Add(1); return true })
		done <- err
	}()
	waitFor(t, "the request to queue", func() bool { return b.Stats().QueuedRows == 1 })
	go func() {
		_, err := b.Submit(data[2*nf:3*nf], 1, nil, time.Time{}, func() bool { askedStaying.Add(1); return false })
		done <- err
	}()
	waitFor(t, "the request to queue", func() bool { return b.Stats().QueuedRows == 2 })
	time.Sleep(2 * goneAfter)
	g.release <- struct{}{}
	if err := <-done; err != nil {
		t.Errorf("first Submit = %v, want no error", err)
	}
	<-g.entered // the staying request's batch
	g.release <- struct{}{}
	var errs []error
	for range 2 {
		errs = append(errs, <-done)
	}
	if !(errors.Is(errs[0], ErrGone) && errs[1] == nil || errors.Is(errs[1], ErrGone) && errs[0] == nil) {
		t.Errorf("Submits of a gone and a staying client = %v, want ErrGone and no error", errs)
	}
	st := b.Stats()
	if st.Gone != 1 || st.Rows != 2 || g.rows.Load() != 2 || asked.Load() != 1 || askedStaying.Load() != 1 {
		t.Errorf("Stats: %d gone, %d rows computed (predictor saw %d), gone asked %d and %d times; want 1, 2, 2, 1, 1",
			st.Gone, st.Rows, g.rows.Load(), asked.Load(), askedStaying.Load())
	}
}

// TestGoneNotAskedFresh checks that a request computed before it has
// waited 1ms never has its gone function called (the fake clock does not
// move, so no request ever waits).
func TestGoneNotAskedFresh(t *testing.T) {
	p, data := logreg(t)
	nf := p.NumFeatures()
	now := time.Now()
	b := newBatcher(t, p, Options{Now: func() time.Time { return now }})
	for i := range 20 {
		if _, err := b.Submit(data[i*nf:(i+1)*nf], 1, nil, time.Time{}, func() bool {
			t.Errorf("gone asked of a request that waited no time")
			return true
		}); err != nil {
			t.Fatalf("Submit: %v", err)
		}
	}
}

func TestQueueFull(t *testing.T) {
	p, data := logreg(t)
	nf := p.NumFeatures()
	g := newGated(p)
	b := newBatcher(t, g, Options{MaxBatchRows: 2, MaxQueueRows: 4, Workers: 1})
	done := make(chan error, 10)
	submit := func(n int) {
		go func() { _, err := b.Submit(data[:n*nf], n, nil, time.Time{}, nil); done <- err }()
	}
	submit(1)
	<-g.entered
	for i, n := range []int{1, 3} {
		submit(n)
		waitFor(t, "the request to queue", func() bool { return b.Stats().QueuedRows == []int{1, 4}[i] })
	}
	start := time.Now()
	for _, n := range []int{1, 4} {
		if _, err := b.Submit(data[:n*nf], n, nil, time.Time{}, nil); !errors.Is(err, ErrQueueFull) {
			t.Errorf("Submit of %d rows to a full queue = %v, want ErrQueueFull", n, err)
		}
	}
	if _, err := b.Submit(data[:5*nf], 5, nil, time.Time{}, nil); err == nil || errors.Is(err, ErrQueueFull) || !strings.Contains(err.Error(), "MaxQueueRows") {
		t.Errorf("Submit of 5 rows to a queue of 4 = %v, want an error naming MaxQueueRows", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusals took %v, want them at once", d)
	}
	for range 3 {
		g.release <- struct{}{}
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Errorf("queued Submit = %v, want no error", err)
		}
	}
	if st := b.Stats(); st.Shed != 3 || st.Rows != 5 {
		t.Errorf("Stats: %d shed, %d rows; want 3, 5", st.Shed, st.Rows)
	}
}

// TestClose checks that Close lets queued work finish, refuses new work,
// and can be called again and concurrently.
func TestClose(t *testing.T) {
	p, data := logreg(t)
	nf := p.NumFeatures()
	g := newGated(p)
	b, err := New(g, Options{Workers: 1, MaxBatchRows: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 10)
	for i := range 4 {
		go func() { _, err := b.Submit(data[i*nf:(i+1)*nf], 1, nil, time.Time{}, nil); done <- err }()
		if i == 0 {
			<-g.entered
		}
	}
	waitFor(t, "requests to queue", func() bool { return b.Stats().QueuedRows == 3 })
	closed := make(chan struct{})
	for range 2 {
		go func() { b.Close(); closed <- struct{}{} }()
	}
	waitFor(t, "Close to start", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.q.closed
	})
	if _, err := b.Submit(data[:nf], 1, nil, time.Time{}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit during Close = %v, want ErrClosed", err)
	}
	select {
	case <-closed:
		t.Fatal("Close returned with work queued")
	default:
	}
	for range 4 {
		g.release <- struct{}{}
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Errorf("Submit queued before Close = %v, want no error", err)
		}
	}
	<-closed
	<-closed
	b.Close()
	if _, err := b.Submit(data[:nf], 1, nil, time.Time{}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close = %v, want ErrClosed", err)
	}
	if st := b.Stats(); st.Rows != 4 {
		t.Errorf("Stats: %d rows computed, want 4", st.Rows)
	}
}

// TestCloseWithCallersComputing closes a batcher whose Predict slots are
// all held by callers computing their own requests, with a request queued
// behind them and the workers asleep: the queued request is computed and
// every worker stops.
func TestCloseWithCallersComputing(t *testing.T) {
	p, data := logreg(t)
	nf := p.NumFeatures()
	g := newGated(p)
	b, err := New(g, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 3)
	for i := range 3 {
		go func() { _, err := b.Submit(data[i*nf:(i+1)*nf], 1, nil, time.Time{}, nil); done <- err }()
		if i < 2 {
			<-g.entered // computed by its caller: no cost estimate yet, a slot free
		}
	}
	waitFor(t, "the third request to queue", func() bool { return b.Stats().QueuedRows == 1 })
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	waitFor(t, "Close to start", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.q.closed
	})
	for range 3 {
		g.release <- struct{}{}
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Errorf("Submit = %v, want no error", err)
		}
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the queue drained")
	}
}

// TestOneClientNeverWaits submits one request at a time: each finds the
// batcher idle, so no worker ever sleeps on a timer for company.
func TestOneClientNeverWaits(t *testing.T) {
	p, data := logreg(t)
	nf := p.NumFeatures()
	b := newBatcher(t, p, Options{Workers: 2})
	var dst []float64
	for i := range 500 {
		var err error
		r := i % (len(data) / nf)
		if dst, err = b.Submit(data[r*nf:(r+1)*nf], 1, dst[:0], time.Time{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	b.mu.Lock()
	waits := b.q.waits
	_, joining := b.q.rates.at(b.now())
	b.mu.Unlock()
	if waits != 0 || joining != 0 {
		t.Errorf("after 500 requests one at a time: %d waits, joining rate %v; want 0, 0", waits, joining)
	}
}

func TestSubmitArgs(t *testing.T) {
	p, data := logreg(t)
	nf := p.NumFeatures()
	b := newBatcher(t, p, Options{})
	if got, err := b.Submit(nil, 0, []float64{1}, time.Time{}, nil); err != nil || len(got) != 1 {
		t.Errorf("Submit of 0 rows = %v, %v; want [1], nil", got, err)
	}
	for _, n := range []int{-1, 3} {
		if _, err := b.Submit(data[:2*nf], n, nil, time.Time{}, nil); err == nil {
			t.Errorf("Submit of %d rows with 2 rows' values succeeded, want an error", n)
		}
	}
}

func TestSubmitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, name := range []string{"logreg", "mlp512"} {
		var c struct {
			p    model.Predictor
			data []float64
		}
		if name == "logreg" {
			c.p, c.data = logreg(t)
		} else {
			c.p, c.data = load(t, "onnx", "onnx", "mlp512_softmax.onnx", "mlp512_softmax.csv", true)
		}
		nf := c.p.NumFeatures()
		b := newBatcher(t, c.p, Options{Workers: 2})
		dst := make([]float64, 0, 64)
		for range 100 {
			dst, _ = b.Submit(c.data[:nf], 1, dst[:0], time.Time{}, nil)
		}
		if n := testing.AllocsPerRun(1000, func() {
			dst, _ = b.Submit(c.data[:nf], 1, dst[:0], time.Time{}, nil)
		}); n != 0 {
			t.Errorf("%s: Submit of 1 row allocates %v times, want 0", name, n)
		}
		// Several rows, and a batch of several requests.
		var wg sync.WaitGroup
		var bg atomic.Bool
		bg.Store(true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := make([]float64, 0, 64)
			for bg.Load() {
				d, _ = b.Submit(c.data[:4*nf], 4, d[:0], time.Time{}, nil)
			}
		}()
		for range 100 {
			dst, _ = b.Submit(c.data[:3*nf], 3, dst[:0], time.Time{}, nil)
		}
		if n := testing.AllocsPerRun(1000, func() {
			dst, _ = b.Submit(c.data[:3*nf], 3, dst[:0], time.Time{}, nil)
		}); n != 0 {
			t.Errorf("%s: Submit of 3 rows beside another client allocates %v times, want 0", name, n)
		}
		bg.Store(false)
		wg.Wait()
	}
}

// countingObserver counts what a Batcher reports to its Observer.
type countingObserver struct {
	batches, rows, alone, waits atomic.Uint64
}

func (o *countingObserver) ObserveBatch(rows int, compute time.Duration) {
	o.batches.Add(1)
	o.rows.Add(uint64(rows))
	if rows > 8 {
		o.alone.Add(1)
	}
}

func (o *countingObserver) ObserveQueueWait(time.Duration) { o.waits.Add(1) }
