package server

import (
	"time"

	"github.com/predictd/predictd/model"
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

// Batching pays when a batch saves at least minBatchSaving per row against
// predicting the row alone AND at most maxBatchCostRatio of the single-row
// cost is left per row in a batch: the saving must cover handing requests
// to the batcher and back and the rows' copies, and be large beside what a
// request costs anyway (HTTP, decoding, encoding: 10-20 µs here), which
// batching does not reduce.
//
// Measured on this project's 2-core machine (bench/batching.sh, batching
// forced on vs off, closed loop, 64 connections): the MLP 64→512→512→512→10
// costs 51-63 µs for one row and 40 µs a row in a batch of 64 (ratio 0.64);
// forced batching gave 0.93x the throughput of no batching (0.82x in a
// noisier run), batches averaging about 2 rows. The 300-tree model (ratio
// about 0.75) gave 0.80x; a logistic model (saving 0.1 µs a row) lost more.
// So auto leaves batching off for all of these here; a model whose single
// call is dominated by fixed cost (ratio ≤ 0.5) gets it.
const (
	minBatchSaving    = 10 * time.Microsecond
	maxBatchCostRatio = 0.5
)

// calibration is what Prepare measured of a model version.
type calibration struct {
	Single, PerRowInBatch time.Duration // t(1), t(B)/B
	Batch                 int           // B
}

// calibrate times one row alone and a batch of big rows (the fastest of a
// few runs each, so a busy machine does not inflate it).
func calibrate(p model.Predictor, big int) calibration {
	rows := model.SyntheticRows(p, big, 7)
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

// pays reports whether batching saves enough per row (see minBatchSaving).
func (c calibration) pays() bool {
	return c.Single-c.PerRowInBatch >= minBatchSaving &&
		float64(c.PerRowInBatch) <= maxBatchCostRatio*float64(c.Single)
}
