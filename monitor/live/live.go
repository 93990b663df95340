// Package live records a served model version's input and output values
// on live traffic, for drift: per series (an input feature or an output)
// the count of values in each bin of the reference's bins, the missing
// (NaN) count and a bounded sample of raw values, kept in time slots so
// that any recent window (the last five minutes, the last hour) and the
// whole time since load can be read back.
//
// Observe is called after a response, on the request's goroutine. It never
// waits: the counts are split over a few shards, each behind a mutex taken
// with TryLock, and a batch that finds every shard busy is dropped and
// counted (Window.Dropped). It allocates nothing.
//
// A Recorder is safe for concurrent use: Observe from any number of
// goroutines, Window from any other.
package live

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options bound a Recorder's memory and its work per row.
type Options struct {
	// SlotWidth is the time resolution of windows; default one minute.
	SlotWidth time.Duration
	// Slots is how many slots are kept: the longest window is
	// Slots*SlotWidth; default 60 (an hour of minutes).
	Slots int
	// SlotSample is the most raw values kept per series per slot and
	// shard (a uniform sample of the slot's values); default 64, so that a
	// five-minute window over the default 4 shards holds up to 1,280.
	SlotSample int
	// TotalSample is the most raw values kept per series since load (a
	// uniform sample of all values); default 1024.
	TotalSample int
	// Shards is the number of independently locked copies of the counts;
	// default 4. More shards, fewer drops under concurrency, more memory.
	Shards int
	// Every observes one row in Every (1: every row); a per-model setting
	// for models so cheap that recording would show in their latency.
	Every int
}

// DefaultOptions returns the defaults documented on Options.
func DefaultOptions() Options {
	return Options{SlotWidth: time.Minute, Slots: 60, SlotSample: 64, TotalSample: 1024, Shards: 4, Every: 1}
}

// Binner maps a value to its bin: *model.Distribution, the reference's
// own binning, so that live traffic is binned by the very function the
// offline drift tool uses.
type Binner interface {
	// Bin returns the value's bin in [0, NumBins), or -1 for a missing
	// value; it must not allocate and must be safe for concurrent use.
	Bin(float64) int
	NumBins() int
}

// Series names one recorded series and its bins.
type Series struct {
	Name string
	Bins Binner
}

// Recorder records the series of one model version.
type Recorder struct {
	opts    Options
	series  []Series
	nbins   int   // sum over series of NumBins
	offset  []int // where series i's bins start in a slot's counts
	shards  []shard
	next    atomic.Uint32 // the shard the next Observe tries first
	every   atomic.Uint64 // rows seen, for Options.Every
	dropped atomic.Int64
}

type shard struct {
	mu    sync.Mutex
	rng   uint64
	slots []slot
	total slot // since load; its epoch is unused
	_     [64]byte
}

// slot holds one time slot's counts for every series.
type slot struct {
	epoch   int64    // which SlotWidth-long interval; -1 empty
	rows    int64    // rows observed
	counts  []uint64 // per series its bins, at Recorder.offset
	missing []uint64 // per series
	seen    []uint64 // per series: finite values offered to the sample
	sample  [][]float64
}

// New returns a Recorder of series. Errors name the bad field or series.
func New(series []Series, opts Options) (*Recorder, error) {
	d := DefaultOptions()
	if opts.SlotWidth == 0 {
		opts.SlotWidth = d.SlotWidth
	}
	if opts.Slots == 0 {
		opts.Slots = d.Slots
	}
	if opts.SlotSample == 0 {
		opts.SlotSample = d.SlotSample
	}
	if opts.TotalSample == 0 {
		opts.TotalSample = d.TotalSample
	}
	if opts.Shards == 0 {
		opts.Shards = d.Shards
	}
	if opts.Every == 0 {
		opts.Every = d.Every
	}
	switch {
	case opts.SlotWidth < time.Second:
		return nil, fmt.Errorf("live: Options.SlotWidth %s: want at least 1s", opts.SlotWidth)
	case opts.Slots < 1 || opts.Slots > 10000:
		return nil, fmt.Errorf("live: Options.Slots %d: want 1..10000", opts.Slots)
	case opts.SlotSample < 0 || opts.TotalSample < 0:
		return nil, errors.New("live: Options.SlotSample and TotalSample must not be negative")
	case opts.Shards < 1 || opts.Shards > 64:
		return nil, fmt.Errorf("live: Options.Shards %d: want 1..64", opts.Shards)
	case opts.Every < 1:
		return nil, fmt.Errorf("live: Options.Every %d: want 1 or more", opts.Every)
	}
	r := &Recorder{opts: opts, series: slices.Clone(series), offset: make([]int, len(series))}
	for i, s := range series {
		if s.Bins == nil || s.Bins.NumBins() < 1 {
			return nil, fmt.Errorf("live: series %d (%s) has no bins", i, s.Name)
		}
		r.offset[i] = r.nbins
		r.nbins += s.Bins.NumBins()
	}
	r.shards = make([]shard, opts.Shards)
	for i := range r.shards {
		sh := &r.shards[i]
		sh.rng = uint64(i)*0x9e3779b97f4a7c15 + 1
		sh.slots = make([]slot, opts.Slots)
		for j := range sh.slots {
			sh.slots[j] = r.newSlot(opts.SlotSample)
		}
		sh.total = r.newSlot(opts.TotalSample)
	}
	return r, nil
}

func (r *Recorder) newSlot(sample int) slot {
	s := slot{
		epoch:   -1,
		counts:  make([]uint64, r.nbins),
		missing: make([]uint64, len(r.series)),
		seen:    make([]uint64, len(r.series)),
		sample:  make([][]float64, len(r.series)),
	}
	for i := range s.sample {
		s.sample[i] = make([]float64, 0, sample)
	}
	return s
}

func (s *slot) reset(epoch int64) {
	s.epoch, s.rows = epoch, 0
	clear(s.counts)
	clear(s.missing)
	clear(s.seen)
	for i := range s.sample {
		s.sample[i] = s.sample[i][:0]
	}
}

// Series returns the recorded series, in order.
func (r *Recorder) Series() []Series { return r.series }

// Observe records n rows at now: inputs holds n rows of the first
// ninputs series, row-major, and outputs n rows of the remaining ones. It
// never blocks: if every shard is busy the rows are dropped and counted.
func (r *Recorder) Observe(now time.Time, inputs []float64, outputs []float64, n int) {
	if n <= 0 {
		return
	}
	if every := uint64(r.opts.Every); every > 1 {
		// Only the rows whose running index is a multiple of Every.
		first := r.every.Add(uint64(n)) - uint64(n)
		skip := (every - first%every) % every
		if skip >= uint64(n) {
			return
		}
		ni, no := r.widths(inputs, outputs, n)
		inputs, outputs = inputs[int(skip)*ni:], outputs[int(skip)*no:]
		n -= int(skip)
		r.observe(now, inputs, outputs, n, ni, no, int(every))
		return
	}
	ni, no := r.widths(inputs, outputs, n)
	r.observe(now, inputs, outputs, n, ni, no, 1)
}

func (r *Recorder) widths(inputs, outputs []float64, n int) (int, int) {
	ni, no := len(inputs)/n, len(outputs)/n
	if ni+no != len(r.series) || ni*n != len(inputs) || no*n != len(outputs) {
		panic(fmt.Sprintf("BUG: live.Observe of %d rows with %d inputs and %d outputs for %d series", n, len(inputs), len(outputs), len(r.series)))
	}
	return ni, no
}

func (r *Recorder) observe(now time.Time, inputs, outputs []float64, n, ni, no, stride int) {
	sh := r.lockShard()
	if sh == nil {
		r.dropped.Add(int64((n + stride - 1) / stride))
		return
	}
	defer sh.mu.Unlock()
	epoch := now.UnixNano() / int64(r.opts.SlotWidth)
	cur := &sh.slots[int(epoch%int64(len(sh.slots)))]
	if cur.epoch != epoch {
		cur.reset(epoch)
	}
	for row := 0; row < n; row += stride {
		cur.rows++
		sh.total.rows++
		for j := range ni {
			r.add(sh, cur, j, inputs[row*ni+j])
		}
		for j := range no {
			r.add(sh, cur, ni+j, outputs[row*no+j])
		}
	}
}

// lockShard takes a free shard, trying each once from a rotating start;
// nil if all are busy.
func (r *Recorder) lockShard() *shard {
	start := int(r.next.Add(1))
	for k := range r.shards {
		sh := &r.shards[(start+k)%len(r.shards)]
		if sh.mu.TryLock() {
			return sh
		}
	}
	return nil
}

func (r *Recorder) add(sh *shard, cur *slot, i int, v float64) {
	bin := r.series[i].Bins.Bin(v)
	if bin < 0 {
		cur.missing[i]++
		sh.total.missing[i]++
		return
	}
	b := r.offset[i] + bin
	cur.counts[b]++
	sh.total.counts[b]++
	if !math.IsInf(v, 0) {
		sh.offer(cur, i, v)
		sh.offer(&sh.total, i, v)
	}
}

// offer adds v to s's sample of series i by reservoir sampling (Vitter's
// algorithm R), so the sample is uniform over the values offered.
func (sh *shard) offer(s *slot, i int, v float64) {
	s.seen[i]++
	smp := s.sample[i]
	if len(smp) < cap(smp) {
		s.sample[i] = append(smp, v)
		return
	}
	if cap(smp) == 0 {
		return
	}
	// xorshift64*: cheap, and good enough to pick a slot.
	sh.rng ^= sh.rng >> 12
	sh.rng ^= sh.rng << 25
	sh.rng ^= sh.rng >> 27
	if k := (sh.rng * 0x2545f4914f6cdd1d) % s.seen[i]; k < uint64(len(smp)) {
		smp[k] = v
	}
}

// Window is what a Recorder saw over a window, per series in order.
type Window struct {
	Rows    int64 // rows observed (after Options.Every)
	Dropped int64 // rows dropped because every shard was busy, since load
	Series  []SeriesWindow
}

// SeriesWindow is one series over a window.
type SeriesWindow struct {
	Counts  []uint64  // per bin, NumBins
	Missing uint64    // missing values (NaN)
	Sample  []float64 // a uniform sample of the finite values, unordered
}

// Window returns the last span of slots ending at now (a span shorter
// than a slot is one slot; longer than Slots*SlotWidth is all of them),
// or with span 0 everything since load. Samples of several slots are
// merged in proportion to the values each slot saw, so the merged sample
// stays close to uniform over the window.
func (r *Recorder) Window(now time.Time, span time.Duration) Window {
	w := Window{Dropped: r.dropped.Load(), Series: make([]SeriesWindow, len(r.series))}
	for i, s := range r.series {
		w.Series[i].Counts = make([]uint64, s.Bins.NumBins())
	}
	epoch := now.UnixNano() / int64(r.opts.SlotWidth)
	nslots := int64(max(1, min(int64(r.opts.Slots), int64((span+r.opts.SlotWidth-1)/r.opts.SlotWidth))))
	type part struct {
		values []float64
		seen   uint64
	}
	parts := make([][]part, len(r.series))
	for k := range r.shards {
		sh := &r.shards[k]
		sh.mu.Lock()
		take := func(s *slot) {
			w.Rows += s.rows
			for i := range r.series {
				off := r.offset[i]
				for b := range w.Series[i].Counts {
					w.Series[i].Counts[b] += s.counts[off+b]
				}
				w.Series[i].Missing += s.missing[i]
				if s.seen[i] > 0 {
					parts[i] = append(parts[i], part{shuffled(s.sample[i], uint64(i)+1), s.seen[i]})
				}
			}
		}
		if span == 0 {
			take(&sh.total)
		} else {
			for e := epoch - nslots + 1; e <= epoch; e++ {
				if s := &sh.slots[int(e%int64(len(sh.slots)))]; s.epoch == e {
					take(s)
				}
			}
		}
		sh.mu.Unlock()
	}
	limit := r.opts.TotalSample
	for i := range r.series {
		w.Series[i].Sample = mergeSamples(parts[i], limit, func(p part) ([]float64, uint64) { return p.values, p.seen })
	}
	return w
}

// shuffled returns a copy of v in a random order (Fisher-Yates with a
// fixed-seed xorshift: the order needs no secrecy), so that any prefix of
// it is a uniform sample of v.
func shuffled(v []float64, seed uint64) []float64 {
	out := slices.Clone(v)
	x := seed*0x9e3779b97f4a7c15 | 1
	for i := len(out) - 1; i > 0; i-- {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		j := int((x * 0x2545f4914f6cdd1d) % uint64(i+1))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// mergeSamples combines uniform samples of disjoint sets into one of at
// most limit values: each part, in random order (shuffled), contributes a
// prefix in proportion to the number of values it stood for (seen).
func mergeSamples[P any](parts []P, limit int, get func(P) ([]float64, uint64)) []float64 {
	var total uint64
	var have int
	for _, p := range parts {
		v, seen := get(p)
		total += seen
		have += len(v)
	}
	if have <= limit {
		out := make([]float64, 0, have)
		for _, p := range parts {
			v, _ := get(p)
			out = append(out, v...)
		}
		return out
	}
	// Scale every part by the same factor: the fewest values per value
	// seen that any part can supply, capped so the total fits limit.
	rate := float64(limit) / float64(total)
	for _, p := range parts {
		v, seen := get(p)
		rate = min(rate, float64(len(v))/float64(seen))
	}
	out := make([]float64, 0, limit)
	for _, p := range parts {
		v, seen := get(p)
		k := min(len(v), int(math.Round(rate*float64(seen))))
		out = append(out, v[:k]...)
	}
	return out
}
