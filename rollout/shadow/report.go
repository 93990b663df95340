package shadow

import (
	"math"
	"slices"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/predictd/predictd/internal/jsonfloat"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/monitor/drift"
)

// Stat is a statistic that may be undefined (no rows yet): NaN in Go, null
// in JSON. Infinities are null too (jsonfloat.Float).
type Stat = jsonfloat.Float

// Latency is a latency distribution's median and 99th percentile, in
// seconds, over Count observations; both 0 when Count is 0. They are
// HdrHistogram's values at 3 significant digits.
type Latency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_seconds"`
	P99   float64 `json:"p99_seconds"`
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	return Latency{
		Count: h.TotalCount(),
		P50:   time.Duration(h.ValueAtQuantile(50)).Seconds(),
		P99:   time.Duration(h.ValueAtQuantile(99)).Seconds(),
	}
}

// Distributions are both sides' predictions counted over the same bins
// (doc.go says which, per task).
type Distributions struct {
	// Bins is "probability" (binary), "class" (multiclass) or "quantile"
	// (regression).
	Bins string `json:"bins"`
	// Edges are the inner bin boundaries: Bins−1 of them for probability
	// bins (bin i is [i/Bins, (i+1)/Bins)), the live quantiles for
	// regression (bin i is Edges[i−1] < x ≤ Edges[i]); none for classes.
	Edges []float64 `json:"edges"`
	// Provisional is set for regression bins whose edges come from fewer
	// than Options.EdgeRows live values: a later Snapshot may bin
	// differently.
	Provisional bool    `json:"provisional"`
	Live        []int64 `json:"live"`
	Shadow      []int64 `json:"shadow"`
	// JSDistance is the Jensen-Shannon distance, base 2, between Live and
	// Shadow (drift.JSDistance): 0 for equal proportions, 1 for disjoint
	// ones; null before any row.
	JSDistance Stat `json:"js_distance"`
}

// Report is a Shadow's figures since New. Row counts: OfferedRows =
// DroppedRows + QueuedRows + ComparedRows + ErrorRows whenever no Offer is
// under way (QueuedRows counts the rows in flight too; a batch's rows
// leave it as they are counted).
type Report struct {
	Task        model.Task `json:"task"`
	OfferedRows int64      `json:"offered_rows"`
	// DroppedRows were offered into a full queue or after Close, queued at
	// Close, or in a batch whose Predict failed after Close.
	DroppedRows int64 `json:"dropped_rows"`
	QueuedRows  int64 `json:"queued_rows"`
	// ComparedRows were predicted by the shadow and compared; AgreedRows of
	// them agreed; NaNRows had a NaN on either side (doc.go).
	ComparedRows int64 `json:"compared_rows"`
	AgreedRows   int64 `json:"agreed_rows"`
	NaNRows      int64 `json:"nan_rows"`
	// Batches is the number of Predict calls that returned predictions.
	Batches int64 `json:"batches"`
	// Errors counts failed Predict calls, ErrorRows their rows; LastError
	// is the last one's text (cut to 512 bytes).
	Errors    int64  `json:"errors"`
	ErrorRows int64  `json:"error_rows"`
	LastError string `json:"last_error,omitempty"`
	// AgreementRate is AgreedRows / ComparedRows.
	AgreementRate Stat `json:"agreement_rate"`
	// MeanAbsDiff and MaxAbsDiff are over the compared rows without NaN
	// (doc.go says which difference, per task).
	MeanAbsDiff Stat          `json:"mean_abs_diff"`
	MaxAbsDiff  Stat          `json:"max_abs_diff"`
	Outputs     Distributions `json:"distributions"`
	// ShadowBatchLatency is per Predict call, ShadowRowLatency that time
	// over the batch's rows (one per row), LiveLatency the request latency
	// given to Offer (one per compared row).
	ShadowBatchLatency Latency `json:"shadow_batch_latency"`
	ShadowRowLatency   Latency `json:"shadow_row_latency"`
	LiveLatency        Latency `json:"live_latency"`
}

// Snapshot returns the figures so far. It may be called from any
// goroutine; it allocates its Report.
func (s *Shadow) Snapshot() Report {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.mu.Lock()
	queued, offered, dropped := s.tail-s.head, s.offered.Load(), s.dropped.Load()
	s.mu.Unlock()
	st := &s.st
	nan := math.NaN()
	r := Report{
		Task:               s.opts.Task,
		OfferedRows:        offered,
		DroppedRows:        dropped,
		QueuedRows:         queued,
		ComparedRows:       st.compared,
		AgreedRows:         st.agreed,
		NaNRows:            st.nan,
		Batches:            st.batches,
		Errors:             st.errors,
		ErrorRows:          st.errorRows,
		LastError:          st.lastErr,
		AgreementRate:      Stat(nan),
		MeanAbsDiff:        Stat(nan),
		MaxAbsDiff:         Stat(nan),
		ShadowBatchLatency: latencyOf(st.shadowBatch),
		ShadowRowLatency:   latencyOf(st.shadowRow),
		LiveLatency:        latencyOf(st.liveLat),
	}
	if st.compared > 0 {
		r.AgreementRate = Stat(float64(st.agreed) / float64(st.compared))
	}
	if st.diffRows > 0 {
		r.MeanAbsDiff = Stat(st.sumDiff / float64(st.diffRows))
		r.MaxAbsDiff = Stat(st.maxDiff)
	}
	d := &r.Outputs
	switch s.opts.Task {
	case model.TaskBinary:
		d.Bins = "probability"
		d.Edges = make([]float64, s.opts.Bins-1)
		for i := range d.Edges {
			d.Edges[i] = float64(i+1) / float64(s.opts.Bins)
		}
		d.Live, d.Shadow = slices.Clone(st.liveBins), slices.Clone(st.shadowBins)
	case model.TaskMulticlass:
		d.Bins = "class"
		d.Edges = []float64{}
		d.Live, d.Shadow = slices.Clone(st.liveBins), slices.Clone(st.shadowBins)
	default:
		d.Bins = "quantile"
		if st.edges != nil {
			d.Edges = slices.Clone(st.edges)
			d.Live = slices.Clone(st.liveBins[:len(st.edges)+1])
			d.Shadow = slices.Clone(st.shadowBins[:len(st.edges)+1])
		} else {
			d.Provisional = true
			d.Edges = quantileEdges(st.edgeLive, s.opts.Bins)
			d.Live = make([]int64, len(d.Edges)+1)
			d.Shadow = make([]int64, len(d.Edges)+1)
			binInto(d.Live, d.Edges, st.edgeLive)
			binInto(d.Shadow, d.Edges, st.edgeShadow)
		}
	}
	d.JSDistance = Stat(drift.JSDistance(d.Live, d.Shadow))
	return r
}
