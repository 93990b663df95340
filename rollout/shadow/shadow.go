package shadow

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/predictd/predictd/internal/logx"
	"github.com/predictd/predictd/model"
)

// PredictFunc is the shadow model: it appends to dst the predictions for
// the n rows of rows (row-major, Options.Inputs values each, NaN for
// missing), Options.Outputs values per row, and returns dst. It should stop
// when ctx is cancelled (Close cancels it). rows belongs to the Shadow and
// is valid only during the call. A Shadow with several Workers calls it
// concurrently.
type PredictFunc func(ctx context.Context, dst, rows []float64, n int) ([]float64, error)

// Options configure a Shadow. Zero numeric fields take the defaults of
// DefaultOptions.
type Options struct {
	// QueueRows bounds the rows queued or being predicted; an offer that
	// does not fit is dropped. Default 4096.
	QueueRows int
	// Workers is the number of goroutines that predict; default 1.
	Workers int
	// BatchRows is the most rows one Predict call takes; default 64, at
	// most QueueRows.
	BatchRows int
	// Predict is the shadow model; required.
	Predict PredictFunc
	// Inputs is the width of an input row; Outputs the number of outputs
	// per row, of both sides. Required.
	Inputs, Outputs int
	// Task says how the outputs compare (doc.go): model.TaskBinary,
	// TaskMulticlass (Outputs ≥ 2, one probability per class),
	// TaskRegression, TaskCount or TaskPositive. Required.
	Task model.Task
	// Threshold is the binary decision threshold on output 0, in (0, 1];
	// default 0.5.
	Threshold float64
	// Tolerance is the largest absolute difference of output 0 at which
	// regression sides agree; default 0 (equal values only).
	Tolerance float64
	// Bins is the number of distribution bins: equal bins of [0, 1] for
	// binary, quantile bins for regression (at most; merged edges give
	// fewer); multiclass has one per class instead. Default 20.
	Bins int
	// EdgeRows is how many compared live values set the regression bins'
	// edges; default 1000.
	EdgeRows int
	// Idle, when set, is asked before each batch: a worker starts one only
	// when it returns true (the live server has spare capacity). It must
	// be cheap and safe for concurrent use.
	Idle func() bool
	// IdleWait is how long a worker waits before asking Idle again after
	// it returned false; default 2ms.
	IdleWait time.Duration
	// Now is the clock that times Predict; default time.Now.
	Now func() time.Time
	// Logf reports Predict errors, at most one line a minute plus a count
	// of the rest. Default: discard.
	Logf func(format string, args ...any)
	// IDBytes, when positive, is the longest offer id the queue keeps:
	// OfferID keeps its id with each of its rows, in IDBytes bytes per
	// row preallocated by New, for Predicted (Batch.ID). An id longer
	// than IDBytes is not kept (Batch.ID is nil for its rows). Default 0:
	// no ids are kept. At most MaxIDBytes.
	IDBytes int
	// Predicted, when set, is called by a worker with each batch the
	// shadow predicted without error, before the batch is compared and
	// its rows leave the queue: so once Report.ComparedRows counts a row,
	// Predicted has returned for it. The Batch and every slice it gives
	// are valid only during the call. Several Workers call it
	// concurrently; a panic in it is logged through Logf and the batch
	// still compared.
	Predicted func(b *Batch)
}

// DefaultOptions returns the defaults documented on Options; Predict,
// Inputs, Outputs and Task are left for the caller.
func DefaultOptions() Options {
	return Options{
		QueueRows: 4096,
		Workers:   1,
		BatchRows: 64,
		Threshold: 0.5,
		Bins:      20,
		EdgeRows:  1000,
		IdleWait:  2 * time.Millisecond,
		Now:       time.Now,
		Logf:      func(string, ...any) {},
	}
}

// Limits on Options, so that a typo cannot ask for gigabytes.
const (
	MaxQueueRows = 1 << 24
	MaxWorkers   = 256
	MaxBins      = 1000
	MaxEdgeRows  = 1 << 20
	MaxIDBytes   = 1024
)

// maxLatency is the largest latency the histograms hold; longer ones count
// as this.
const maxLatency = int64(100 * time.Second)

// maxErrorBytes bounds Report.LastError.
const maxErrorBytes = 512

// span is one batch taken by a worker: rows [start, end) of the ring's
// row counter.
type span struct {
	start, end int64
	done       bool
}

// Shadow queues offered rows and compares the shadow's predictions with
// the live ones. See the package doc for its contracts.
type Shadow struct {
	opts   Options
	logf   func(format string, args ...any)
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1: a worker should look at the queue
	stop   chan struct{} // closed by Close
	once   sync.Once
	wg     sync.WaitGroup

	offered, dropped atomic.Int64

	// mu guards the ring's indices and closed (lock order: smu, then
	// mu). Row counters only grow; row r lives in slot r % QueueRows.
	// [head, take) is taken by workers (inflight lists it, oldest
	// first), [take, tail) is queued, and Offer writes at tail while
	// tail+n−head ≤ QueueRows.
	mu   sync.Mutex
	rows []float64       // QueueRows × Inputs
	live []float64       // QueueRows × Outputs
	lat  []time.Duration // per row, its request's live latency
	// Per row, its offer's: the id (IDBytes bytes a row, idLen of them
	// used), the row's index among the offer's rows and their number,
	// and the offer's time (Unix ns, 0 for none).
	ids              []byte
	idLen            []uint16
	part, parts      []int32
	at               []int64
	head, take, tail int64
	inflight         []span // capacity Workers
	closed           bool

	smu sync.Mutex // guards st
	st  stats
}

// stats are the comparison's accumulated figures.
type stats struct {
	batches, compared, agreed, nan, diffRows int64
	sumDiff, maxDiff                         float64
	errors, errorRows                        int64
	lastErr                                  string
	liveBins, shadowBins                     []int64
	// Regression: edges is nil until EdgeRows live values were seen;
	// edgeLive and edgeShadow hold the values until then.
	edges                []float64
	edgeLive, edgeShadow []float64
	shadowBatch          *hdrhistogram.Histogram // ns per Predict call
	shadowRow            *hdrhistogram.Histogram // ns per row
	liveLat              *hdrhistogram.Histogram // ns per compared row
}

// New validates opts and starts the workers. Errors name the bad field.
func New(opts Options) (*Shadow, error) {
	d := DefaultOptions()
	for _, c := range []struct {
		name string
		v    int64
	}{
		{"QueueRows", int64(opts.QueueRows)},
		{"Workers", int64(opts.Workers)},
		{"BatchRows", int64(opts.BatchRows)},
		{"Bins", int64(opts.Bins)},
		{"EdgeRows", int64(opts.EdgeRows)},
		{"IdleWait", int64(opts.IdleWait)},
		{"IDBytes", int64(opts.IDBytes)},
	} {
		if c.v < 0 {
			return nil, fmt.Errorf("shadow: Options.%s is %d, want a positive value or 0 for the default", c.name, c.v)
		}
	}
	if opts.QueueRows == 0 {
		opts.QueueRows = d.QueueRows
	}
	if opts.Workers == 0 {
		opts.Workers = d.Workers
	}
	if opts.BatchRows == 0 {
		opts.BatchRows = min(d.BatchRows, opts.QueueRows)
	}
	if opts.Threshold == 0 {
		opts.Threshold = d.Threshold
	}
	if opts.Bins == 0 {
		opts.Bins = d.Bins
	}
	if opts.EdgeRows == 0 {
		opts.EdgeRows = d.EdgeRows
	}
	if opts.IdleWait == 0 {
		opts.IdleWait = d.IdleWait
	}
	if opts.Now == nil {
		opts.Now = d.Now
	}
	if opts.Logf == nil {
		opts.Logf = d.Logf
	}
	switch {
	case opts.Predict == nil:
		return nil, errors.New("shadow: Options.Predict is nil, want the shadow model's predict function")
	case opts.Inputs < 1:
		return nil, fmt.Errorf("shadow: Options.Inputs is %d, want the width of an input row (1 or more)", opts.Inputs)
	case opts.Outputs < 1:
		return nil, fmt.Errorf("shadow: Options.Outputs is %d, want the number of outputs per row (1 or more)", opts.Outputs)
	case opts.QueueRows > MaxQueueRows:
		return nil, fmt.Errorf("shadow: Options.QueueRows is %d, want at most %d", opts.QueueRows, MaxQueueRows)
	case opts.Workers > MaxWorkers:
		return nil, fmt.Errorf("shadow: Options.Workers is %d, want at most %d", opts.Workers, MaxWorkers)
	case opts.BatchRows > opts.QueueRows:
		return nil, fmt.Errorf("shadow: Options.BatchRows is %d, want at most Options.QueueRows (%d)", opts.BatchRows, opts.QueueRows)
	case opts.Bins < 2 || opts.Bins > MaxBins:
		return nil, fmt.Errorf("shadow: Options.Bins is %d, want 2..%d", opts.Bins, MaxBins)
	case opts.EdgeRows > MaxEdgeRows:
		return nil, fmt.Errorf("shadow: Options.EdgeRows is %d, want at most %d", opts.EdgeRows, MaxEdgeRows)
	case opts.IDBytes > MaxIDBytes:
		return nil, fmt.Errorf("shadow: Options.IDBytes is %d, want at most %d", opts.IDBytes, MaxIDBytes)
	case !(opts.Threshold > 0 && opts.Threshold <= 1):
		return nil, fmt.Errorf("shadow: Options.Threshold is %v, want a probability in (0, 1]", opts.Threshold)
	case !(opts.Tolerance >= 0) || math.IsInf(opts.Tolerance, 1):
		return nil, fmt.Errorf("shadow: Options.Tolerance is %v, want a finite difference ≥ 0", opts.Tolerance)
	case int64(opts.QueueRows)*int64(max(opts.Inputs, opts.Outputs, opts.IDBytes)) > 1<<28:
		return nil, fmt.Errorf("shadow: Options.QueueRows %d × %d values a row is more than %d values; lower QueueRows", opts.QueueRows, max(opts.Inputs, opts.Outputs, opts.IDBytes), 1<<28)
	}
	nbins := opts.Bins
	switch opts.Task {
	case model.TaskBinary, model.TaskRegression, model.TaskCount, model.TaskPositive:
	case model.TaskMulticlass:
		if opts.Outputs < 2 {
			return nil, fmt.Errorf("shadow: Options.Outputs is %d for a multiclass model, want one probability per class (2 or more); a model that outputs the class index is not supported", opts.Outputs)
		}
		nbins = opts.Outputs
	default:
		return nil, fmt.Errorf("shadow: Options.Task is %q, want %s, %s, %s, %s or %s", opts.Task, model.TaskBinary, model.TaskMulticlass, model.TaskRegression, model.TaskCount, model.TaskPositive)
	}
	s := &Shadow{
		opts:     opts,
		logf:     logx.Limit(opts.Logf, 1, time.Minute),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		rows:     make([]float64, opts.QueueRows*opts.Inputs),
		live:     make([]float64, opts.QueueRows*opts.Outputs),
		lat:      make([]time.Duration, opts.QueueRows),
		ids:      make([]byte, opts.QueueRows*opts.IDBytes),
		idLen:    make([]uint16, opts.QueueRows),
		part:     make([]int32, opts.QueueRows),
		parts:    make([]int32, opts.QueueRows),
		at:       make([]int64, opts.QueueRows),
		inflight: make([]span, 0, opts.Workers),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.st = stats{
		liveBins:    make([]int64, nbins),
		shadowBins:  make([]int64, nbins),
		shadowBatch: hdrhistogram.New(1, maxLatency, 3),
		shadowRow:   hdrhistogram.New(1, maxLatency, 3),
		liveLat:     hdrhistogram.New(1, maxLatency, 3),
	}
	if s.regression() {
		s.st.edgeLive = make([]float64, 0, opts.EdgeRows)
		s.st.edgeShadow = make([]float64, 0, opts.EdgeRows)
	}
	s.wg.Add(opts.Workers)
	for range opts.Workers {
		go s.work()
	}
	return s, nil
}

func (s *Shadow) regression() bool {
	return s.opts.Task != model.TaskBinary && s.opts.Task != model.TaskMulticlass
}

// Offer queues n rows (row-major, Options.Inputs values each), the live
// model's outputs for them (Options.Outputs each) and the request's live
// latency, for the shadow to predict and compare. It copies what it keeps
// and never waits for the shadow: if the n rows do not all fit in the
// queue, or the Shadow is closed, it drops them, counts them
// (Report.DroppedRows) and returns false. It allocates nothing. It panics
// if rows or live do not have n rows' worth of values, a caller's bug.
func (s *Shadow) Offer(rows []float64, n int, live []float64, liveLatency time.Duration) bool {
	return s.OfferID(nil, time.Time{}, rows, n, live, liveLatency)
}

// OfferID is Offer for an offer with an id and a time (the live answer's,
// say), kept with each of its rows for Options.Predicted: the id when
// Options.IDBytes is positive and the id at most that long (copied), the
// time always (zero: none). It allocates nothing either.
func (s *Shadow) OfferID(id []byte, at time.Time, rows []float64, n int, live []float64, liveLatency time.Duration) bool {
	in, out, q := s.opts.Inputs, s.opts.Outputs, int64(s.opts.QueueRows)
	if n < 0 || len(rows) != n*in || len(live) != n*out {
		panic(fmt.Sprintf("BUG: shadow: Offer of %d rows with %d input and %d live values, want %d and %d", n, len(rows), len(live), n*in, n*out))
	}
	if n == 0 {
		return true
	}
	s.offered.Add(int64(n))
	s.mu.Lock()
	if s.closed || s.tail+int64(n)-s.head > q {
		s.mu.Unlock()
		s.dropped.Add(int64(n))
		return false
	}
	// Up to two copies: to the ring's end, then from its start.
	slot := int(s.tail % q)
	first := min(n, int(q)-slot)
	copy(s.rows[slot*in:], rows[:first*in])
	copy(s.live[slot*out:], live[:first*out])
	copy(s.rows, rows[first*in:])
	copy(s.live, live[first*out:])
	var ns int64
	if !at.IsZero() {
		ns = at.UnixNano()
	}
	idb := s.opts.IDBytes
	if len(id) > idb {
		id = nil
	}
	for i := range n {
		j := (slot + i) % int(q)
		s.lat[j] = liveLatency
		s.part[j], s.parts[j], s.at[j] = int32(i), int32(n), ns
		s.idLen[j] = uint16(copy(s.ids[j*idb:(j+1)*idb], id))
	}
	s.tail += int64(n)
	s.mu.Unlock()
	s.signal()
	return true
}

// signal wakes a worker if none is already due to look.
func (s *Shadow) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// work is one worker's loop.
func (s *Shadow) work() {
	defer s.wg.Done()
	var (
		dst   = make([]float64, 0, s.opts.BatchRows*s.opts.Outputs)
		timer *time.Timer
		bt    = &Batch{s: s} // Predicted's, reused batch to batch
	)
	for {
		select {
		case <-s.stop:
			return
		case <-s.wake:
		}
		for s.queued() {
			if s.opts.Idle != nil && !s.opts.Idle() {
				if timer == nil {
					timer = time.NewTimer(s.opts.IdleWait)
				} else {
					timer.Reset(s.opts.IdleWait)
				}
				select {
				case <-s.stop:
					timer.Stop()
					return
				case <-timer.C:
				}
				continue
			}
			start, k, ok := s.takeBatch()
			if !ok {
				break
			}
			dst = s.run(dst[:0], start, k, bt)
		}
	}
}

// queued reports whether rows wait to be taken.
func (s *Shadow) queued() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.closed && s.take < s.tail
}

// takeBatch takes the oldest queued rows for one Predict call: at most
// BatchRows, and none past the ring's end, so that they are contiguous.
func (s *Shadow) takeBatch() (start int64, k int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.take == s.tail {
		return 0, 0, false
	}
	q := int64(s.opts.QueueRows)
	k = int(min(int64(s.opts.BatchRows), s.tail-s.take, q-s.take%q))
	start = s.take
	s.take += int64(k)
	s.inflight = append(s.inflight, span{start: start, end: s.take})
	if s.take < s.tail {
		// More for another worker.
		s.signal()
	}
	return start, k, true
}

// release frees the batch that starts at start, and with it every batch
// before it that is done, in order. The caller holds smu, so that a
// Snapshot sees a batch's rows either queued or counted, never both.
func (s *Shadow) release(start int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.inflight {
		if s.inflight[i].start == start {
			s.inflight[i].done = true
		}
	}
	n := 0
	for n < len(s.inflight) && s.inflight[n].done {
		s.head = s.inflight[n].end
		n++
	}
	m := copy(s.inflight, s.inflight[n:])
	s.inflight = s.inflight[:m]
}

// run predicts the k rows from start, which this worker has taken,
// records the comparison and releases the rows. It returns dst for reuse.
// bt is the worker's Batch for Options.Predicted.
func (s *Shadow) run(dst []float64, start int64, k int, bt *Batch) []float64 {
	in, out := s.opts.Inputs, s.opts.Outputs
	slot := int(start % int64(s.opts.QueueRows))
	rows := s.rows[slot*in : (slot+k)*in]
	t0 := s.opts.Now()
	got, err := s.predict(dst, rows, k)
	took := s.opts.Now().Sub(t0)
	if err == nil && len(got) != k*out {
		err = fmt.Errorf("shadow: Predict returned %d values for %d rows of %d outputs, want %d", len(got), k, out, k*out)
	}
	if err != nil {
		s.failed(err, start, k)
		return dst
	}
	if s.opts.Predicted != nil {
		bt.slot, bt.k, bt.shadow = slot, k, got
		s.predicted(bt)
		bt.shadow = nil
	}
	s.compare(start, got, s.live[slot*out:(slot+k)*out], s.lat[slot:slot+k], took)
	return got
}

// predict calls Options.Predict, turning a panic into an error.
func (s *Shadow) predict(dst, rows []float64, k int) (got []float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			got, err = nil, fmt.Errorf("shadow: Predict panicked: %v", p)
		}
	}()
	return s.opts.Predict(s.ctx, dst, rows, k)
}

// failed counts the batch of k rows from start whose Predict failed, and
// releases it.
func (s *Shadow) failed(err error, start int64, k int) {
	s.smu.Lock()
	defer s.smu.Unlock()
	defer s.release(start)
	if s.ctx.Err() != nil {
		// Close cancelled it: the rows are dropped with the queue.
		s.dropped.Add(int64(k))
		return
	}
	msg := err.Error()
	if len(msg) > maxErrorBytes {
		msg = msg[:maxErrorBytes]
	}
	s.st.errors++
	s.st.errorRows += int64(k)
	s.st.lastErr = msg
	s.logf("shadow: predicting %d rows: %s", k, logx.Sanitize(msg))
}

// Close stops the workers: it drops and counts the queued rows, cancels
// the context given to Predict and waits for the batches in flight. Offer
// drops everything after Close. Close may be called more than once.
func (s *Shadow) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.dropped.Add(s.tail - s.take)
		s.tail = s.take
		s.mu.Unlock()
		s.cancel()
		close(s.stop)
	})
	s.wg.Wait()
}

// record adds n observations of latency d to h, clamped to its range.
func record(h *hdrhistogram.Histogram, d time.Duration, n int64) {
	_ = h.RecordValues(min(max(int64(d), 1), maxLatency), n)
}
