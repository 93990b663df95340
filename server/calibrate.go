package server

import (
	"time"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/tools/bench"
)

// BatchingMode says whether a model's requests go through its batcher.
type BatchingMode string

const (
	// BatchingAuto batches a model only if measurement at load time says
	// it pays (see batchingPays); the default.
	BatchingAuto   BatchingMode = ""
	BatchingAlways BatchingMode = "always"
	BatchingNever  BatchingMode = "never"
)

// minBatchSaving is how much a batch must save per row, against predicting
// that row alone, for batching to pay: it covers handing a request to a
// batch worker and back (two goroutine wake-ups on a busy CPU) and the
// rows' copies. Measured with bench/serve-wrk.sh on this project's 2-core
// machine: batching a logistic model (saving ~0.1 µs a row) cut its
// requests per second from 0.88 to 0.61 of a do-nothing handler's, and a
// 300-tree model (saving ~2 µs) from 0.6 to 0.31, while an MLP of three
// 512-wide layers saves ~100 µs a row.
const minBatchSaving = 10 * time.Microsecond

// calibration is what Prepare measured of a model version.
type calibration struct {
	Single, PerRowInBatch time.Duration // t(1), t(B)/B
	Batch                 int           // B
}

// calibrate times one row alone and a batch of big rows (the fastest of a
// few runs each, so a busy machine does not inflate it).
func calibrate(p model.Predictor, big int) calibration {
	rows := bench.SyntheticRows(p, big, 7)
	nf := p.NumFeatures()
	dst := make([]float64, 0, big*p.NumOutputs())
	best := func(n, reps int) time.Duration {
		var min time.Duration
		for i := 0; i < reps; i++ {
			start := time.Now()
			dst = p.Predict(dst[:0], rows[:n*nf], false)
			if d := time.Since(start); i == 0 || d < min {
				min = d
			}
		}
		return min
	}
	best(big, 1) // warm caches
	c := calibration{Single: best(1, 20), Batch: big}
	c.PerRowInBatch = best(big, 5) / time.Duration(big)
	return c
}

// pays reports whether batching saves at least minBatchSaving per row.
func (c calibration) pays() bool { return c.Single-c.PerRowInBatch >= minBatchSaving }
