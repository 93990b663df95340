package bench

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/predictd/predictd/model"
)

// Result is a finished measurement.
type Result struct {
	// Rows is the number of distinct input rows the calls cycled through.
	Rows int `json:"rows"`
	// Cells holds one entry per (batch, threads) pair, batches in the
	// outer loop, in the order Options listed them.
	Cells []Cell `json:"results"`
}

// Cell is the measurement of one batch size at one thread count.
type Cell struct {
	Batch   int `json:"batch"`
	Threads int `json:"threads"`
	// NsPerRow is the measured wall time over the rows predicted, in
	// nanoseconds; RowsPerSecond is its inverse.
	NsPerRow      float64 `json:"ns_per_row"`
	RowsPerSecond float64 `json:"rows_per_second"`
	// BatchP50Micros and BatchP99Micros are the median and 99th percentile
	// latency of one Predict call, in microseconds (3 significant digits).
	BatchP50Micros float64 `json:"batch_p50_us"`
	BatchP99Micros float64 `json:"batch_p99_us"`
	// Calls is the number of timed Predict calls.
	Calls int64 `json:"calls"`
}

// maxLatency bounds the histogram; a slower call is recorded as this.
const maxLatency = time.Minute

// Run measures p as opts says and returns one Cell per (batch, threads)
// pair. If ctx is canceled it stops within a few hundred calls and returns
// the cells finished so far with ctx's error. It changes
// runtime.GOMAXPROCS while it runs (see the package doc); p must be safe for
// concurrent use, as every model.Predictor is.
func Run(ctx context.Context, p model.Predictor, opts Options) (Result, error) {
	nf := p.NumFeatures()
	if err := opts.check(nf); err != nil {
		return Result{}, err
	}
	rows := opts.Rows
	if len(rows) == 0 {
		rows = model.SyntheticRows(p, DefaultSyntheticRows, 1)
	}
	res := Result{Rows: len(rows) / nf}
	h := hdrhistogram.New(1, int64(maxLatency), 3)
	out := p.NumOutputs()
	if opts.Raw {
		out = p.NumMargins()
	}
	for _, batch := range opts.Batches {
		in := cycleRows(rows, nf, batch)
		dst := make([]float64, 0, batch*out)
		for _, threads := range opts.Threads {
			c, err := measure(ctx, p, in, nf, batch, threads, dst, &opts, h)
			if err != nil {
				return res, err
			}
			res.Cells = append(res.Cells, c)
		}
	}
	return res, nil
}

// cycleRows returns the n rows of rows followed by their first batch-1 rows
// again (repeating them if n < batch), so that every one of n consecutive
// windows of batch rows, starting at row 0, batch, 2·batch, ... modulo n, is
// contiguous.
func cycleRows(rows []float64, nf, batch int) []float64 {
	n := len(rows) / nf
	if batch == 1 {
		return rows
	}
	out := make([]float64, 0, (n+batch-1)*nf)
	out = append(out, rows...)
	for r := 0; r < batch-1; r++ {
		k := r % n
		out = append(out, rows[k*nf:(k+1)*nf]...)
	}
	return out
}

func measure(ctx context.Context, p model.Predictor, in []float64, nf, batch, threads int, dst []float64, o *Options, h *hdrhistogram.Histogram) (Cell, error) {
	if err := ctx.Err(); err != nil {
		return Cell{}, fmt.Errorf("bench batch=%d threads=%d: %w", batch, threads, err)
	}
	prev := runtime.GOMAXPROCS(threads)
	defer runtime.GOMAXPROCS(prev)
	n := len(in)/nf - (batch - 1) // distinct window starts
	next := 0
	window := func() []float64 {
		w := in[next*nf : (next+batch)*nf]
		next = (next + batch) % n
		return w
	}

	// Warm up: caches, branch predictors, the kernels' worker pool.
	for start := time.Now(); ; {
		dst = p.Predict(dst[:0], window(), o.Raw)
		if time.Since(start) >= o.Warmup {
			break
		}
	}
	// Start every cell from the same heap state, so a collection owed by
	// the previous cell does not land in this one.
	runtime.GC()

	h.Reset()
	var calls int64
	start := time.Now()
	end := start
	for end.Sub(start) < o.Duration {
		w := window()
		t0 := time.Now()
		dst = p.Predict(dst[:0], w, o.Raw)
		end = time.Now()
		d := end.Sub(t0)
		if err := h.RecordValue(max(int64(d), 1)); err != nil {
			h.RecordValue(int64(maxLatency)) // slower than maxLatency: saturate
		}
		calls++
		// ctx.Err takes a lock; a few hundred calls between checks keep
		// cancellation prompt without adding to a short call's time.
		if calls%256 == 0 && ctx.Err() != nil {
			return Cell{}, fmt.Errorf("bench batch=%d threads=%d: %w", batch, threads, ctx.Err())
		}
	}
	elapsed := end.Sub(start)
	rowsDone := float64(calls) * float64(batch)
	return Cell{
		Batch:          batch,
		Threads:        threads,
		NsPerRow:       float64(elapsed.Nanoseconds()) / rowsDone,
		RowsPerSecond:  rowsDone / elapsed.Seconds(),
		BatchP50Micros: float64(h.ValueAtQuantile(50)) / 1e3,
		BatchP99Micros: float64(h.ValueAtQuantile(99)) / 1e3,
		Calls:          calls,
	}, nil
}
