package labels

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Options configure a Store. Zero fields take DefaultOptions' values;
// negative ones are an error.
type Options struct {
	// JoinWindow is how long a prediction waits for its label; default
	// 7 days. A label whose time is after the prediction's time plus
	// JoinWindow is late (counted, not joined), and Retain deletes
	// predictions, labelled or not, older than now minus JoinWindow.
	JoinWindow time.Duration
	// MaxBytes bounds the store's logical size in bytes (keys and values
	// of the predictions, their labels and the id index, before Pebble's
	// compression); default 1 GiB. Retain deletes the oldest predictions
	// first, a minute of prediction time at a time, until it is under.
	MaxBytes int64
	// QueueRecords is the number of predictions Record can hold for the
	// writer; default 8192. When all are taken, Record drops and counts.
	QueueRecords int
	// BatchRecords is the most predictions the writer puts in one Pebble
	// batch; default 512.
	BatchRecords int
	// RetainEvery is how often the store runs Retain by itself; default
	// 1 minute.
	RetainEvery time.Duration
	// Windows are the report's time windows, by prediction time, each
	// ending at the report's time; default 1h, 24h, 7d. A window longer
	// than JoinWindow sees only what retention kept.
	Windows []time.Duration
	// CalibrationBins is the number of uniform bins of the report's
	// calibration curve; default 10.
	CalibrationBins int
	// CacheBytes is Pebble's block cache in bytes; default 32 MiB.
	CacheBytes int64
	// Now is the clock; default time.Now. Retention, the label time of
	// a label without one, and the reports' windows read it.
	Now func() time.Time
	// Logf reports background errors (a failed commit or retention);
	// default: discarded. They are also counted in Stats.Errors.
	Logf func(format string, args ...any)
}

// DefaultOptions returns the defaults documented on Options' fields.
func DefaultOptions() Options {
	return Options{
		JoinWindow:      7 * 24 * time.Hour,
		MaxBytes:        1 << 30,
		QueueRecords:    8192,
		BatchRecords:    512,
		RetainEvery:     time.Minute,
		Windows:         []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour},
		CalibrationBins: 10,
		CacheBytes:      32 << 20,
		Now:             time.Now,
		Logf:            func(string, ...any) {},
	}
}

func (o *Options) fill() error {
	d := DefaultOptions()
	switch {
	case o.JoinWindow < 0:
		return fmt.Errorf("labels: Options.JoinWindow %v is negative", o.JoinWindow)
	case o.MaxBytes < 0:
		return fmt.Errorf("labels: Options.MaxBytes %d is negative", o.MaxBytes)
	case o.QueueRecords < 0:
		return fmt.Errorf("labels: Options.QueueRecords %d is negative", o.QueueRecords)
	case o.BatchRecords < 0:
		return fmt.Errorf("labels: Options.BatchRecords %d is negative", o.BatchRecords)
	case o.RetainEvery < 0:
		return fmt.Errorf("labels: Options.RetainEvery %v is negative", o.RetainEvery)
	case o.CalibrationBins < 0:
		return fmt.Errorf("labels: Options.CalibrationBins %d is negative", o.CalibrationBins)
	case o.CacheBytes < 0:
		return fmt.Errorf("labels: Options.CacheBytes %d is negative", o.CacheBytes)
	}
	for i, w := range o.Windows {
		if w <= 0 {
			return fmt.Errorf("labels: Options.Windows[%d] %v is not positive", i, w)
		}
	}
	if o.JoinWindow == 0 {
		o.JoinWindow = d.JoinWindow
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = d.MaxBytes
	}
	if o.QueueRecords == 0 {
		o.QueueRecords = d.QueueRecords
	}
	if o.BatchRecords == 0 {
		o.BatchRecords = d.BatchRecords
	}
	if o.RetainEvery == 0 {
		o.RetainEvery = d.RetainEvery
	}
	if len(o.Windows) == 0 {
		o.Windows = d.Windows
	}
	if o.CalibrationBins == 0 {
		o.CalibrationBins = d.CalibrationBins
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = d.CacheBytes
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	if o.Logf == nil {
		o.Logf = d.Logf
	}
	return nil
}

// Stats are a Store's counters since Open.
type Stats struct {
	Recorded int64 // predictions Record accepted
	Dropped  int64 // predictions Record dropped: queue full or store closed
	Written  int64 // predictions committed to Pebble
	// Rejected counts predictions the writer refused: a model name
	// holding 0x00 or empty, a version outside [0, 2³²-1].
	Rejected int64
	Lost     int64 // predictions lost to a failed commit
	Errors   int64 // failed commits and retentions

	// Label outcomes, summed over Label calls.
	Joined, Unknown, Duplicate, Late, Invalid int64

	Expired int64 // predictions (labelled or not) deleted by Retain
	Bytes   int64 // the logical size Options.MaxBytes bounds
}

// entry is one queued prediction. Its slices are reused from one
// prediction to the next, so a warm Record allocates nothing.
type entry struct {
	model   string
	version int
	id      []byte // copied: the caller may reuse the id's memory at once
	ns      int64
	outputs []float64
	slices  []string
}

// Store keeps, for every prediction recorded, what joining its label
// needs, joins labels, and reports live quality. It is safe for
// concurrent use; see the package doc.
type Store struct {
	opts Options
	db   *pebble.DB

	free  chan *entry // slots Record may fill
	queue chan *entry // filled slots for the writer; cap = slots, never blocks

	flushReq chan chan struct{}
	quit     chan struct{}
	done     chan struct{}

	// closeMu keeps Record from queueing after Close stopped the
	// writer, and every call from using the database after Close.
	closeMu sync.RWMutex
	closed  bool

	// mu serializes the store's writes: the writer's commits, Label
	// and Retain, and guards the accounting below.
	mu sync.Mutex
	// versions holds every model version with a row in the store.
	versions map[mv]struct{}
	// bytesByMinute is the logical size of the rows by minute of
	// prediction time (Unix ns / 1 min, floored); total is their sum.
	bytesByMinute map[int64]int64
	total         int64
	// totalBytes mirrors total for Stats, which must not wait for mu.
	totalBytes atomic.Int64

	specMu sync.RWMutex
	specs  map[string]Spec

	recorded, dropped, written, rejected, lost, errs   atomic.Int64
	joined, unknown, duplicate, late, invalid, expired atomic.Int64
}

// ErrLocked is wrapped by Open's error when another open of the same
// directory holds Pebble's lock on it.
var ErrLocked = errors.New("labels store locked")

// ErrClosed is returned by calls on a closed Store.
var ErrClosed = errors.New("labels store closed")

// Open opens (creating if needed) the store in directory dir, reads its
// rows once to rebuild the size accounting, and starts the writer and
// the periodic retention.
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, errors.New("labels: empty directory name")
	}
	db, err := pebble.Open(dir, &pebble.Options{
		CacheSize: opts.CacheBytes,
		Logger:    quietLogger{},
	})
	if err != nil {
		if lockErr := lockHeld(dir, err); lockErr != nil {
			return nil, lockErr
		}
		return nil, fmt.Errorf("labels: open %s: %w", dir, err)
	}
	s := &Store{
		opts:          opts,
		db:            db,
		free:          make(chan *entry, opts.QueueRecords),
		queue:         make(chan *entry, opts.QueueRecords),
		flushReq:      make(chan chan struct{}),
		quit:          make(chan struct{}),
		done:          make(chan struct{}),
		versions:      make(map[mv]struct{}),
		bytesByMinute: make(map[int64]int64),
		specs:         make(map[string]Spec),
	}
	for range opts.QueueRecords {
		s.free <- new(entry)
	}
	if err := s.scan(); err != nil {
		db.Close()
		return nil, fmt.Errorf("labels: open %s: %w", dir, err)
	}
	go s.run()
	return s, nil
}

// lockHeld returns an error wrapping ErrLocked if err from pebble.Open is
// its directory lock being held (featcache/pebblestore explains the
// checks); else nil.
func lockHeld(dir string, err error) error {
	var pathErr *fs.PathError
	if strings.Contains(err.Error(), "lock held by current process") {
		return fmt.Errorf("labels: the store folder %s is already open in this process (%w)", dir, ErrLocked)
	}
	if errors.As(err, &pathErr) || !(errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EACCES)) {
		return nil
	}
	return fmt.Errorf("labels: the store folder %s is in use by another process (%w: %v); "+
		"one predictd serve owns a labels store: stop the other process or give this one another folder", dir, ErrLocked, err)
}

type quietLogger struct{}

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf("labels: pebble: "+format, args...))
}

// scan reads every row key and value once, rebuilding versions and the
// size accounting.
func (s *Store) scan() error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{kindJoined}, UpperBound: []byte{kindPending + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if k[0] != kindJoined && k[0] != kindPending {
			continue
		}
		p, err := parseRowKey(k)
		if err != nil {
			return fmt.Errorf("key %q: %w", k, err)
		}
		s.versions[mv{string(p.model), p.version}] = struct{}{}
		s.account(p.ns, rowBytes(len(k), len(it.Value()), len(p.model), len(p.id)))
	}
	return it.Error()
}

// account adds n bytes to the minute of prediction time ns. s.mu held
// (or the store not yet shared).
func (s *Store) account(ns int64, n int64) {
	m := minuteOf(ns)
	s.bytesByMinute[m] += n
	if s.bytesByMinute[m] == 0 {
		delete(s.bytesByMinute, m)
	}
	s.total += n
	s.totalBytes.Store(s.total)
}

func minuteOf(ns int64) int64 {
	m := ns / int64(time.Minute)
	if ns < 0 && ns%int64(time.Minute) != 0 {
		m--
	}
	return m
}

// Record queues a prediction for the writer: model, version, its id (as
// the response gave it), its time, its outputs and its slice values (in
// the order of the model's Spec.SliceColumns). It never blocks: when the
// queue is full, or the store is closed, the prediction is dropped,
// counted in Stats.Dropped, and Record returns false. Warm (every queue
// slot used once with as many outputs and slices), it allocates nothing.
// The store copies the id's bytes and outputs' values, and keeps the
// model and slice strings themselves: the caller may reuse the id's
// memory (a string viewing a reused buffer) and the slices at once, but
// the model and slice strings must not change.
// Ids should be unique per model: a repeated id's later prediction is the
// one a label joins.
func (s *Store) Record(model string, version int, id string, t time.Time, outputs []float64, slices []string) bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		s.dropped.Add(1)
		return false
	}
	var e *entry
	select {
	case e = <-s.free:
	default:
		s.dropped.Add(1)
		return false
	}
	e.model, e.version, e.ns = model, version, t.UnixNano()
	e.id = append(e.id[:0], id...)
	e.outputs = append(e.outputs[:0], outputs...)
	e.slices = append(e.slices[:0], slices...)
	s.queue <- e // cannot block: as many places as slots
	s.recorded.Add(1)
	return true
}

// Flush returns once every prediction Record accepted before the call is
// committed (or lost to a failed commit, counted). Label calls it first.
func (s *Store) Flush() error {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	ack := make(chan struct{})
	s.flushReq <- ack
	<-ack
	return nil
}

// run is the writer: it takes queued predictions into batches of at most
// BatchRecords and commits them without fsync (pebble.NoSync), and runs
// Retain every RetainEvery.
func (s *Store) run() {
	defer close(s.done)
	tick := time.NewTicker(s.opts.RetainEvery)
	defer tick.Stop()
	w := &writer{s: s}
	for {
		select {
		case e := <-s.queue:
			w.add(e)
			w.drain(s.opts.BatchRecords)
		case ack := <-s.flushReq:
			w.drain(math.MaxInt)
			close(ack)
		case <-tick.C:
			if _, err := s.retain(); err != nil {
				s.opts.Logf("labels: retain: %v", err)
			}
		case <-s.quit:
			w.drain(math.MaxInt)
			return
		}
	}
}

// writer builds the batches; owned by run.
type writer struct {
	s        *Store
	b        *pebble.Batch
	n        int
	key, val []byte
	pending  []pendingRow
}

// pendingRow is the accounting of a row in the open batch.
type pendingRow struct {
	v     mv
	ns    int64
	bytes int64
}

// add puts e in the open batch and gives its slot back.
func (w *writer) add(e *entry) {
	s := w.s
	if e.model == "" || strings.IndexByte(e.model, 0) >= 0 || e.version < 0 || e.version > math.MaxUint32 {
		s.rejected.Add(1)
		s.free <- e
		return
	}
	if w.b == nil {
		w.b = s.db.NewBatch()
	}
	v := uint32(e.version)
	w.key = appendRowKey(w.key[:0], kindPending, e.model, v, e.ns, e.id)
	w.val = appendRow(w.val[:0], e.outputs, e.slices)
	// Set copies key and value into the batch.
	_ = w.b.Set(w.key, w.val, nil)
	n := rowBytes(len(w.key), len(w.val), len(e.model), len(e.id))
	w.key = appendIndexKey(w.key[:0], e.model, e.id)
	w.val = appendIndexValue(w.val[:0], v, e.ns)
	_ = w.b.Set(w.key, w.val, nil)
	w.pending = append(w.pending, pendingRow{mv{e.model, v}, e.ns, n})
	w.n++
	e.model = "" // do not hold the caller's string longer than needed
	clear(e.slices)
	s.free <- e
}

// drain adds what is queued, committing every BatchRecords, until the
// queue is empty or max predictions were taken, then commits.
func (w *writer) drain(max int) {
	for taken := 0; taken < max; taken++ {
		if w.n >= w.s.opts.BatchRecords {
			w.commit()
		}
		select {
		case e := <-w.s.queue:
			w.add(e)
			continue
		default:
		}
		break
	}
	w.commit()
}

func (w *writer) commit() {
	if w.b == nil {
		return
	}
	s := w.s
	s.mu.Lock()
	err := w.b.Commit(pebble.NoSync)
	if err == nil {
		for _, r := range w.pending {
			s.versions[r.v] = struct{}{}
			s.account(r.ns, r.bytes)
		}
	}
	s.mu.Unlock()
	if err != nil {
		s.errs.Add(1)
		s.lost.Add(int64(w.n))
		s.opts.Logf("labels: commit %d predictions: %v", w.n, err)
	} else {
		s.written.Add(int64(w.n))
	}
	w.b.Close()
	w.b, w.n = nil, 0
	clear(w.pending)
	w.pending = w.pending[:0]
}

// Stats returns the counters.
func (s *Store) Stats() Stats {
	total := s.totalBytes.Load()
	return Stats{
		Recorded: s.recorded.Load(), Dropped: s.dropped.Load(), Written: s.written.Load(),
		Rejected: s.rejected.Load(), Lost: s.lost.Load(), Errors: s.errs.Load(),
		Joined: s.joined.Load(), Unknown: s.unknown.Load(), Duplicate: s.duplicate.Load(),
		Late: s.late.Load(), Invalid: s.invalid.Load(), Expired: s.expired.Load(), Bytes: total,
	}
}

// Close commits what is queued, stops the writer and closes the
// database. Later calls return ErrClosed (Record drops). Close twice
// returns ErrClosed.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.closeMu.Unlock()
	close(s.quit)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	// Flush the memtable so the predictions committed without fsync
	// are on disk when Close returns.
	if err := s.db.Flush(); err != nil {
		s.db.Close()
		return fmt.Errorf("labels: close: flush: %w", err)
	}
	return s.db.Close()
}
