package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// ParallelMinRows is the smallest share of a batch worth handing to another
// core. Below 2·ParallelMinRows rows a batch runs on the calling goroutine:
// a hand-off costs a few microseconds, 64 rows of a 300-tree model about
// half a millisecond.
const ParallelMinRows = 64

// Pool is a set of persistent worker goroutines that help with the rows of
// a batch, so that one call uses several cores without starting goroutines.
//
// A batch is cut into chunks taken from a shared counter. The caller offers
// the batch to idle workers (never waiting for one to become idle) and then
// takes chunks itself until none are left; a worker that picks the offer up
// takes chunks too. An offer no worker has picked up by then is withdrawn,
// so a caller never waits behind another caller's batch: a busy pool (many
// concurrent callers, as in batch scoring) degrades to serial calls rather
// than a queue. Safe for concurrent use.
type Pool struct {
	offers chan *offer
}

// job is one batch being shared out.
type job struct {
	ff        *FastForest
	out, rows []float64
	chunkRows int
	chunks    int64
	next      atomic.Int64 // next chunk to take
	helpers   sync.WaitGroup
	// refs counts the caller and the offers still in the channel; the last
	// to let go returns the job to jobs.
	refs   atomic.Int32
	offers [maxParts]offer
}

// offer is a job offered to one worker: taken (1) by the worker that
// receives it first, or withdrawn (2) by the caller if it is still pending
// (0) when the caller has finished.
type offer struct {
	j     *job
	state atomic.Int32
}

const (
	offerPending int32 = iota
	offerTaken
	offerWithdrawn
)

// maxParts bounds how many goroutines share one batch.
const maxParts = 64

var (
	poolOnce sync.Once
	pool     *Pool
	jobs     = sync.Pool{New: func() any { return new(job) }}
)

// defaultPool has NumCPU-1 workers (the caller is the remaining one); how
// many share a batch is bounded by GOMAXPROCS at the time of the call.
func defaultPool() *Pool {
	poolOnce.Do(func() { pool = NewPool(runtime.NumCPU() - 1) })
	return pool
}

// NewPool starts workers goroutines; they live as long as the process.
func NewPool(workers int) *Pool {
	p := &Pool{offers: make(chan *offer, max(workers, 0)*maxParts)}
	for i := 0; i < workers; i++ {
		go p.run()
	}
	return p
}

func (p *Pool) run() {
	for o := range p.offers {
		j := o.j
		if o.state.CompareAndSwap(offerPending, offerTaken) {
			j.work()
			j.helpers.Done()
		}
		j.release()
	}
}

// work takes chunks until none are left.
func (j *job) work() {
	nf := j.ff.src.NumFeatures
	ng := len(j.ff.src.Base)
	n := len(j.rows) / nf
	for {
		c := j.next.Add(1) - 1
		if c >= j.chunks {
			return
		}
		lo := int(c) * j.chunkRows
		hi := min(n, lo+j.chunkRows)
		j.ff.marginsInto(j.out[lo*ng:hi*ng], j.rows[lo*nf:hi*nf])
	}
}

func (j *job) release() {
	if j.refs.Add(-1) == 0 {
		j.ff, j.out, j.rows = nil, nil, nil
		jobs.Put(j)
	}
}

// forest computes ff's margins of rows into out, sharing the rows with idle
// workers, at most GOMAXPROCS ways.
func (p *Pool) forest(ff *FastForest, out, rows []float64) {
	nf := ff.src.NumFeatures
	n := len(rows) / nf
	parts := min(runtime.GOMAXPROCS(0), n/ParallelMinRows, maxParts, cap(p.offers)/maxParts+1)
	if parts < 2 {
		ff.marginsInto(out, rows)
		return
	}
	j := jobs.Get().(*job)
	j.ff, j.out, j.rows = ff, out, rows
	// Chunks of ParallelMinRows rows balance the cores to within one chunk.
	j.chunkRows = ParallelMinRows
	j.chunks = int64((n + j.chunkRows - 1) / j.chunkRows)
	j.next.Store(0)
	j.refs.Store(1)
	posted := 0
	for k := 0; k < parts-1; k++ {
		o := &j.offers[k]
		o.j = j
		o.state.Store(offerPending)
		j.refs.Add(1)
		j.helpers.Add(1)
		select {
		case p.offers <- o:
			posted++
		default:
			j.refs.Add(-1)
			j.helpers.Done()
		}
	}
	j.work()
	for k := 0; k < posted; k++ {
		if j.offers[k].state.CompareAndSwap(offerPending, offerWithdrawn) {
			j.helpers.Done() // no worker took it; it will only be released
		}
	}
	j.helpers.Wait()
	j.release()
}
