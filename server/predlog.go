package server

import (
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/monitor/predlog"
)

// The prediction log (Options.PredictionLog, monitor/predlog): each
// prepared version gets a predlog.Model whose inputs are the request's
// inputs by the version's request schema (wire.Schema): the values the
// request carried with those the online join filled in, and for a
// version with transforms the raw values (strings included), not the
// model's transformed columns, since the raw values are what a user can
// join back and read. After a successful answer is composed, infer logs
// one record per instance: the id ("<id>" for a request of one instance,
// "<id>/<i>" for instance i, from 0, of a larger one), the answer's time,
// the inputs, the instance's outputs and the request's latency. Log never
// blocks (a full buffer drops the record and counts it).

// predlogState is the server's prediction-log bookkeeping: the counts of
// retired versions' predlog.Models, kept so that the counters /metrics
// reports per model never go down.
type predlogState struct {
	mu      sync.Mutex
	retired map[string]predlog.Stats // by model name
}

// preparePredLog gives vs its predlog.Model, when the server logs.
func (s *Server) preparePredLog(vs *versionState, m *model.Manifest) error {
	l := s.opts.PredictionLog
	if l == nil {
		return nil
	}
	fs := make([]predlog.Field, vs.schema.NumFeatures())
	for f := range fs {
		fs[f] = predlog.Field{Name: vs.schema.Name(f), Kind: predlog.Float}
		if vs.schema.IsString(f) {
			fs[f].Kind = predlog.String
		}
	}
	outs := make([]string, len(m.Outputs))
	for i, o := range m.Outputs {
		outs[i] = o.Name
	}
	lm, err := l.Logger(predlog.Schema{Model: vs.name, Version: vs.version, Features: fs, Outputs: outs})
	if err != nil {
		return err
	}
	vs.plog = lm
	return nil
}

// retirePredLog retires vs's predlog.Model, keeping its counts.
func (s *Server) retirePredLog(vs *versionState) {
	if vs.plog == nil {
		return
	}
	vs.plog.Retire()
	st := vs.plog.Stats()
	s.plog.mu.Lock()
	r := s.plog.retired[vs.name]
	r.Logged += st.Logged
	r.Dropped += st.Dropped
	r.SampledOut += st.SampledOut
	s.plog.retired[vs.name] = r
	s.plog.mu.Unlock()
}

// logPredictions logs each instance of c's answered request, computed by
// vs in took, answered at now. It allocates nothing once c's scratch has
// grown: the record, its inputs and the instance ids live in c.
func (s *Server) logPredictions(vs *versionState, c *exchange, took time.Duration, now time.Time) {
	lm := vs.plog
	if lm == nil {
		return
	}
	r := &c.Request
	nf, no := vs.schema.NumFeatures(), vs.outputs
	if cap(c.plIn) < nf {
		c.plIn = make([]predlog.Value, nf)
	}
	in := c.plIn[:nf]
	rec := &c.plRec
	rec.Time, rec.Latency, rec.Inputs = now, took, in
	for i := range r.N {
		id := c.id
		if r.N > 1 {
			c.plID = append(append(c.plID[:0], c.id...), '/')
			c.plID = strconv.AppendInt(c.plID, int64(i), 10)
			id = c.plID
		}
		// Log copies the id before it returns.
		rec.ID = unsafe.String(unsafe.SliceData(id), len(id))
		for f, x := range r.Rows[i*nf : (i+1)*nf] {
			if vs.schema.IsString(f) {
				str, ok := r.Category(x)
				in[f] = predlog.Value{Str: str, Null: !ok}
				continue
			}
			in[f] = predlog.Value{Float: x}
		}
		rec.Outputs = r.Preds[i*no : (i+1)*no]
		lm.Log(rec)
	}
	// Drop the references into the request's buffers.
	clear(in)
	*rec = predlog.Record{}
}

var (
	plRecordsDesc = prometheus.NewDesc("predictd_prediction_log_records_total",
		"Predictions offered to the prediction log, by model and outcome: logged (queued for the writer), dropped (buffer full or log closed), sampled_out (not sampled by the model's rate).",
		[]string{"model", "outcome"}, nil)
	plSegmentsDesc = prometheus.NewDesc("predictd_prediction_log_segments_total",
		"Prediction log segments completed (renamed into place).", nil, nil)
	plBytesDesc = prometheus.NewDesc("predictd_prediction_log_bytes_total",
		"Bytes of completed prediction log segments.", nil, nil)
	plErrorsDesc = prometheus.NewDesc("predictd_prediction_log_errors_total",
		"Prediction log write, rename and delete errors.", nil, nil)
	plLostDesc = prometheus.NewDesc("predictd_prediction_log_lost_records_total",
		"Logged predictions lost to prediction log write errors.", nil, nil)
)

// predlogCollector reports the prediction log's counters: per model, the
// live versions' and the retired ones' summed; the Log's own.
type predlogCollector struct{ s *Server }

func (c predlogCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{plRecordsDesc, plSegmentsDesc, plBytesDesc, plErrorsDesc, plLostDesc} {
		ch <- d
	}
}

func (c predlogCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	sums := map[string]predlog.Stats{}
	s.plog.mu.Lock()
	for name, st := range s.plog.retired {
		sums[name] = st
	}
	s.plog.mu.Unlock()
	s.versions.Range(func(k, _ any) bool {
		vs := k.(*versionState)
		if vs.plog == nil {
			return true
		}
		st, sum := vs.plog.Stats(), sums[vs.name]
		sum.Logged += st.Logged
		sum.Dropped += st.Dropped
		sum.SampledOut += st.SampledOut
		sums[vs.name] = sum
		return true
	})
	for name, st := range sums {
		ch <- prometheus.MustNewConstMetric(plRecordsDesc, prometheus.CounterValue, float64(st.Logged), name, "logged")
		ch <- prometheus.MustNewConstMetric(plRecordsDesc, prometheus.CounterValue, float64(st.Dropped), name, "dropped")
		ch <- prometheus.MustNewConstMetric(plRecordsDesc, prometheus.CounterValue, float64(st.SampledOut), name, "sampled_out")
	}
	st := s.opts.PredictionLog.Stats()
	ch <- prometheus.MustNewConstMetric(plSegmentsDesc, prometheus.CounterValue, float64(st.Segments))
	ch <- prometheus.MustNewConstMetric(plBytesDesc, prometheus.CounterValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(plErrorsDesc, prometheus.CounterValue, float64(st.Errors))
	ch <- prometheus.MustNewConstMetric(plLostDesc, prometheus.CounterValue, float64(st.Lost))
}
