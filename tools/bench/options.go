package bench

import (
	"fmt"
	"runtime"
	"time"
)

// Options configures a measurement. The zero value of a field means its
// default (see DefaultOptions).
type Options struct {
	// Batches are the rows per Predict call to measure, each in
	// [1, MaxBatch]. Default DefaultBatches.
	Batches []int
	// Threads are the GOMAXPROCS values to measure with, each in
	// [1, MaxThreads]. The kernels use at most runtime.NumCPU() cores
	// whatever the value. Default {1, NumCPU} ({1} on one core).
	Threads []int
	// Duration is the measured time of each (batch, threads) cell.
	// Default 2s.
	Duration time.Duration
	// Warmup is the untimed run before each cell's measurement; at least
	// one call is made. Default the smaller of DefaultWarmup and Duration.
	Warmup time.Duration
	// Raw measures raw margins (Predict's raw argument) instead of
	// transformed predictions.
	Raw bool
	// Rows are the input rows, row-major, NumFeatures values each (NaN for
	// missing); the calls cycle through them. Run neither modifies nor
	// keeps them. Empty means model.SyntheticRows(p, DefaultSyntheticRows, 1).
	Rows []float64
}

// Defaults and bounds of Options.
const (
	DefaultDuration      = 2 * time.Second
	DefaultWarmup        = 250 * time.Millisecond
	DefaultSyntheticRows = 4096
	// MaxBatch bounds Options.Batches: a larger call measures memory, not
	// the model.
	MaxBatch   = 1 << 20
	MaxThreads = 1 << 10
)

// DefaultBatches are the default Options.Batches: one online request, a
// small server-side batch, and a batch large enough to be shared over cores.
var DefaultBatches = []int{1, 32, 256}

// DefaultOptions returns Options with every field but Raw and Rows set to
// its default.
func DefaultOptions() Options {
	threads := []int{1}
	if n := runtime.NumCPU(); n > 1 {
		threads = append(threads, n)
	}
	return Options{
		Batches:  append([]int(nil), DefaultBatches...),
		Threads:  threads,
		Duration: DefaultDuration,
		Warmup:   min(DefaultWarmup, DefaultDuration),
	}
}

// check fills defaults into o and reports the first field that is out of
// range for a model with nf features.
func (o *Options) check(nf int) error {
	def := DefaultOptions()
	if len(o.Batches) == 0 {
		o.Batches = def.Batches
	}
	if len(o.Threads) == 0 {
		o.Threads = def.Threads
	}
	if o.Duration == 0 {
		o.Duration = def.Duration
	}
	if o.Warmup == 0 {
		o.Warmup = min(DefaultWarmup, o.Duration)
	}
	for i, b := range o.Batches {
		if b < 1 || b > MaxBatch {
			return fmt.Errorf("bench options: Batches[%d] is %d, want a row count in [1, %d]", i, b, MaxBatch)
		}
	}
	for i, t := range o.Threads {
		if t < 1 || t > MaxThreads {
			return fmt.Errorf("bench options: Threads[%d] is %d, want a thread count in [1, %d]", i, t, MaxThreads)
		}
	}
	switch {
	case o.Duration < 0:
		return fmt.Errorf("bench options: Duration is %v, want a positive time (0 for the default %v)", o.Duration, DefaultDuration)
	case o.Warmup < 0:
		return fmt.Errorf("bench options: Warmup is %v, want a positive time (0 for the default)", o.Warmup)
	case nf <= 0:
		return fmt.Errorf("bench options: the model takes %d features, want at least 1", nf)
	case len(o.Rows)%nf != 0:
		return fmt.Errorf("bench options: Rows holds %d values, not a whole number of rows of %d features", len(o.Rows), nf)
	}
	return nil
}
