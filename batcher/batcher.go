package batcher

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/predictd/predictd/model"
)

var (
	// ErrQueueFull refuses a request whose rows do not fit the queue
	// (Options.MaxQueueRows) now. It is returned at once; the server
	// answers 503 with Retry-After.
	ErrQueueFull = errors.New("batcher: queue full")
	// ErrDeadline answers a request whose deadline passed before its
	// computation started; its rows were not computed.
	ErrDeadline = errors.New("batcher: deadline passed before the request was computed")
	// ErrGone answers a request whose gone function reported, while it
	// was queued, that its client had left; it was not computed.
	ErrGone = errors.New("batcher: client gone while the request was queued")
	// ErrClosed refuses a Submit after Close.
	ErrClosed = errors.New("batcher: closed")
)

// Options configure a Batcher. Zero fields take DefaultOptions' values;
// negative ones are an error.
type Options struct {
	// MaxBatchRows is the most rows one Predict call takes; default 64.
	// A request with more rows is still accepted if it fits the queue: it
	// runs alone, as one call.
	MaxBatchRows int
	// MaxQueueRows is the most rows waiting; default 2048. A request that
	// would pass it is refused at once with ErrQueueFull. It must be at
	// least MaxBatchRows.
	MaxQueueRows int
	// TargetP99 is the latency target for a request, queue wait plus
	// compute; default 25ms. Waiting for more rows never spends the part
	// of it that the batch's compute needs.
	TargetP99 time.Duration
	// MaxWait bounds the adaptive wait of a request for others to share
	// its batch; default 2ms.
	MaxWait time.Duration
	// Workers is the number of worker goroutines that compute queued
	// batches, and the most Predict calls at once, counting those of
	// callers that compute their own request (see Submit); only calls
	// that the cost fit puts under 5µs may exceed it. Default
	// runtime.GOMAXPROCS(0).
	Workers int
	// Now is the clock that timestamps arrivals, deadlines and compute
	// times and drives every decision; default time.Now. Waits are slept
	// on real timers, so a fake clock suits tests whose decisions do not
	// wait (no cost estimate: it never advances during Predict).
	Now func() time.Time
	// Observer, if set, receives every batch's size and compute time and
	// every computed request's queue wait (the daemon's histograms);
	// default none.
	Observer Observer
}

// DefaultOptions returns the defaults, which need no tuning: 64 rows
// share a dense model's fixed cost (its weights read once per call) while
// the batch's compute stays far below the p99 target, and 2ms of waiting,
// the most any request waits for company, is small beside a 25ms target.
// The wait itself adapts (Decide).
func DefaultOptions() Options {
	return Options{
		MaxBatchRows: 64,
		MaxQueueRows: 2048,
		TargetP99:    25 * time.Millisecond,
		MaxWait:      2 * time.Millisecond,
		Workers:      runtime.GOMAXPROCS(0),
		Now:          time.Now,
	}
}

// Batcher queues the requests for one model version and computes them in
// batches on its workers. Its methods are safe for concurrent use.
type Batcher struct {
	p    model.Predictor
	nf   int // features per row
	no   int // outputs per row
	opts Options
	now  func() time.Time

	mu sync.Mutex
	q  queue
	// idle is where workers sleep when there is nothing to do, or when
	// another worker is already waiting for rows.
	idle sync.Cond
	// waiting is set while one worker sleeps on a timer for more rows;
	// an arrival then sends on kick (capacity 1) instead of signalling
	// idle, so that worker decides again.
	waiting bool
	kick    chan struct{}

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// New returns a Batcher over p with its workers started. Zero fields of
// opts take DefaultOptions' values; a negative one is an error naming it.
func New(p model.Predictor, opts Options) (*Batcher, error) {
	if p == nil {
		return nil, errors.New("batcher: nil Predictor")
	}
	def := DefaultOptions()
	for _, f := range []struct {
		name string
		v    int64
		unit string
		def  any
	}{
		{"MaxBatchRows", int64(opts.MaxBatchRows), "a positive number of rows", def.MaxBatchRows},
		{"MaxQueueRows", int64(opts.MaxQueueRows), "a positive number of rows", def.MaxQueueRows},
		{"TargetP99", int64(opts.TargetP99), "a positive duration", def.TargetP99},
		{"MaxWait", int64(opts.MaxWait), "a positive duration", def.MaxWait},
		{"Workers", int64(opts.Workers), "a positive number of goroutines", def.Workers},
	} {
		if f.v < 0 {
			return nil, fmt.Errorf("batcher: Options.%s is %v: want %s, or 0 for the default (%v)", f.name, f.v, f.unit, f.def)
		}
	}
	if opts.MaxBatchRows == 0 {
		opts.MaxBatchRows = def.MaxBatchRows
	}
	if opts.MaxQueueRows == 0 {
		opts.MaxQueueRows = max(def.MaxQueueRows, opts.MaxBatchRows)
	}
	if opts.TargetP99 == 0 {
		opts.TargetP99 = def.TargetP99
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = def.MaxWait
	}
	if opts.Workers == 0 {
		opts.Workers = def.Workers
	}
	if opts.Now == nil {
		opts.Now = def.Now
	}
	if opts.MaxQueueRows < opts.MaxBatchRows {
		return nil, fmt.Errorf("batcher: Options.MaxQueueRows is %d, less than Options.MaxBatchRows (%d): a full batch could never queue", opts.MaxQueueRows, opts.MaxBatchRows)
	}
	nf, no := p.NumFeatures(), p.NumOutputs()
	if nf <= 0 || no <= 0 {
		return nil, fmt.Errorf("batcher: the model has %d features and %d outputs per row, want both positive", nf, no)
	}
	b := &Batcher{
		p:    p,
		nf:   nf,
		no:   no,
		opts: opts,
		now:  opts.Now,
		q: newQueue(Policy{
			MaxBatchRows: opts.MaxBatchRows,
			MaxWait:      opts.MaxWait,
			TargetP99:    opts.TargetP99,
			Workers:      opts.Workers,
		}, opts.MaxQueueRows),
		kick: make(chan struct{}, 1),
	}
	b.q.obs = opts.Observer
	b.idle.L = &b.mu
	b.wg.Add(opts.Workers)
	for range opts.Workers {
		w := &worker{
			in:      make([]float64, 0, opts.MaxBatchRows*nf),
			out:     make([]float64, 0, opts.MaxBatchRows*no),
			batch:   make([]*request, 0, opts.MaxBatchRows),
			dropped: make([]*request, 0, opts.MaxBatchRows),
			timer:   time.NewTimer(time.Hour),
		}
		w.timer.Stop()
		go b.work(w)
	}
	return b, nil
}

// Options returns the options b runs with, defaults filled in.
func (b *Batcher) Options() Options { return b.opts }

var requestPool = sync.Pool{New: func() any { return &request{done: make(chan struct{}, 1)} }}

func getRequest() *request { return requestPool.Get().(*request) }

// putRequest clears r, keeping its channel, and pools it.
func putRequest(r *request) {
	done := r.done
	*r = request{done: done}
	requestPool.Put(r)
}

// Submit queues n rows (row-major, n·NumFeatures values; the caller keeps
// them unchanged until Submit returns), waits until they are predicted
// and returns dst with n·NumOutputs predictions appended (transformed
// outputs, Predict's raw = false). On error dst is returned unchanged:
// ErrQueueFull and ErrClosed at once; ErrDeadline if deadline (zero: none)
// is not after the time of the call, or passes while the request is
// queued, which is answered when a worker reaches the request (at the
// latest when the requests ahead of it have been taken); ErrGone if gone,
// when non-nil, returns true. A worker about to compute a request that
// has waited at least 1ms calls gone once, on its own goroutine; gone
// must be cheap and safe to call then.
//
// A request that finds the queue empty and a Predict slot free, when
// Decide says not to wait, is computed on the caller's goroutine: no
// other request can join its batch, and the handoff to a worker would
// only add latency. Otherwise a worker computes it. The rows of one
// request are never split between Predict calls, and the requests of a
// batch are taken in arrival order. Submit does not allocate once its
// pools are warm, unless dst must grow.
func (b *Batcher) Submit(rows []float64, n int, dst []float64, deadline time.Time, gone func() bool) ([]float64, error) {
	switch {
	case n == 0:
		return dst, nil
	case n < 0 || n > len(rows)/b.nf:
		return dst, fmt.Errorf("batcher: Submit of %d rows with %d values, want n ≥ 0 and %d values per row", n, len(rows), b.nf)
	}
	r := getRequest()
	r.rows, r.n, r.dst, r.deadline, r.gone = rows[:n*b.nf], n, dst, deadline, gone
	// The clock is read before the lock to keep the lock short; arrivals
	// may so be stamped a little out of queue order, which the rate meter
	// and the age of the head tolerate.
	now := b.now()
	b.mu.Lock()
	err := b.q.admit(now, r)
	mine := false
	if err == nil {
		_, mine = b.q.claim(now, r)
	}
	if mine {
		// Alone and not worth waiting for company: compute it here. now
		// stands for the start of the call (only the lock lies between),
		// saving a clock read, ~60ns on the VM the benchmarks ran on.
		b.mu.Unlock()
		start := now
		r.dst = b.p.Predict(r.dst, r.rows, false)
		end := b.now()
		b.mu.Lock()
		b.q.finishOne(start, end, r)
		if b.q.head != nil {
			// Requests queued meanwhile may have found every slot taken,
			// or a worker waiting for this call to end.
			b.idle.Signal()
			b.kickWaiter()
		}
		b.mu.Unlock()
		dst = r.dst
		putRequest(r)
		return dst, nil
	}
	if err == nil {
		if b.waiting {
			select {
			case b.kick <- struct{}{}:
			default:
			}
		} else {
			b.idle.Signal()
		}
	}
	b.mu.Unlock()
	if err == nil {
		<-r.done
		dst, err = r.dst, r.err
	}
	putRequest(r)
	return dst, err
}

// Close stops accepting requests (Submit returns ErrClosed), lets the
// workers compute everything already queued without waiting for more,
// and returns when they have stopped. It is idempotent, and safe to call
// concurrently with Submit and itself.
func (b *Batcher) Close() {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.q.closed = true
		b.idle.Broadcast()
		select {
		case b.kick <- struct{}{}:
		default:
		}
		b.mu.Unlock()
	})
	b.wg.Wait()
}

// Stats returns a snapshot of b's counters and estimates.
func (b *Batcher) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.q.stats(b.now())
}

// worker is one worker goroutine's scratch.
type worker struct {
	in, out        []float64 // a batch's rows and predictions
	batch, dropped []*request
	timer          *time.Timer
}

// work is a worker goroutine: it takes turns at the queue until b is
// closed and the queue empty.
func (b *Batcher) work(w *worker) {
	defer b.wg.Done()
	b.mu.Lock()
	for {
		var d decision
		w.batch, w.dropped, d = b.q.take(b.now(), w.batch[:0], w.dropped[:0])
		for i, r := range w.dropped {
			r.done <- struct{}{}
			w.dropped[i] = nil
		}
		if len(w.batch) == 0 {
			switch {
			case d.dispatch:
				// Everything it met had expired: take another turn.
			case d.wait > 0 && !b.waiting:
				b.sleep(w, d.wait)
			case b.q.closed && b.q.head == nil:
				// Wake the workers that slept while every slot was
				// taken, so they see the end too.
				b.idle.Broadcast()
				b.mu.Unlock()
				return
			default:
				b.idle.Wait()
			}
			continue
		}
		if b.q.head != nil {
			// More than one batch is queued: wake another worker.
			b.idle.Signal()
		}
		b.mu.Unlock()
		start, end, rows := b.compute(w)
		b.mu.Lock()
		b.q.finish(start, end, w.batch, rows)
		if b.q.head != nil {
			// A worker may be waiting for this batch to end (decide's
			// step 2a); this one takes its turn first, and the waiter
			// decides again in case this one's decision is to wait.
			b.kickWaiter()
		}
		// Answered after finish, so that a client sending its next
		// request at once finds this batch no longer busy (queue.admit).
		for i, r := range w.batch {
			r.done <- struct{}{}
			w.batch[i] = nil
		}
	}
}

// kickWaiter makes the worker waiting on a timer, if any, decide again.
// Call it with b.mu held.
func (b *Batcher) kickWaiter() {
	if b.waiting {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
}

// sleep waits, without b.mu, until wait has passed or a request arrives,
// as the one worker waiting for rows. It is called and returns with b.mu
// held.
func (b *Batcher) sleep(w *worker, wait time.Duration) {
	b.waiting = true
	b.q.waits++
	select {
	case <-b.kick: // a stale kick from before this wait
	default:
	}
	b.mu.Unlock()
	w.timer.Reset(wait)
	select {
	case <-b.kick:
	case <-w.timer.C:
	}
	w.timer.Stop()
	b.mu.Lock()
	b.waiting = false
}

// compute runs w.batch, taken by queue.take, as one Predict call and
// appends each live request's predictions to its dst. It returns when
// the call ran and the rows it computed. The requests are w's until
// queue.finish and their answer.
func (b *Batcher) compute(w *worker) (start, end time.Time, rows int) {
	start = b.now()
	rows, live, asked := screen(start, w.batch)
	if asked {
		start = b.now() // the gone checks may have taken a while
	}
	switch live {
	case 0:
		return start, start, 0
	case 1:
		// One request: predict straight into its dst, without copies.
		for _, r := range w.batch {
			if r.err == nil {
				r.dst = b.p.Predict(r.dst, r.rows, false)
				return start, b.now(), rows
			}
		}
	}
	in := w.in[:0]
	for _, r := range w.batch {
		if r.err == nil {
			in = append(in, r.rows...)
		}
	}
	out := b.p.Predict(w.out[:0], in, false)
	end = b.now()
	if len(out) != rows*b.no {
		panic(fmt.Sprintf("BUG: batcher: Predict of %d rows returned %d values, want %d per row", rows, len(out), b.no))
	}
	off := 0
	for _, r := range w.batch {
		if r.err == nil {
			k := r.n * b.no
			r.dst = append(r.dst, out[off:off+k]...)
			off += k
		}
	}
	w.in, w.out = in[:0], out[:0]
	return start, end, rows
}
