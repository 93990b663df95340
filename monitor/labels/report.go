package labels

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/predictd/predictd/internal/jsonfloat"
	"github.com/predictd/predictd/monitor/quality"
)

// Float is a float64 that encodes to JSON as a number, or null when it
// is NaN or infinite (a metric undefined on the rows); null reads back as
// NaN (jsonfloat.Float).
type Float = jsonfloat.Float

// Report is a model version's live quality, per window. Every list is in
// a fixed order (windows as Options.Windows, slice columns as
// Spec.SliceColumns, metrics as documented, slice values and groups
// ascending), so two reports of the same rows encode to the same bytes.
type Report struct {
	Model     string    `json:"model"`
	Version   int       `json:"version"`
	Task      string    `json:"task"`
	Time      time.Time `json:"time"`                // the windows end here (Options.Now)
	Threshold float64   `json:"threshold,omitempty"` // Binary: Spec.Threshold
	Windows   []Window  `json:"windows"`
}

// Window is the quality of the predictions made in (From, To]: the
// labelled ones measured, the others (Binary) estimated by CBPE.
type Window struct {
	Window     string    `json:"window"` // its length, as time.Duration prints it
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Labelled   int64     `json:"labelled"`   // predictions of the window joined to a label
	Unlabelled int64     `json:"unlabelled"` // predictions of the window still without one
	// Binary or Regression holds the metrics over the labelled rows.
	Binary     *BinaryMetrics     `json:"binary,omitempty"`
	Regression *RegressionMetrics `json:"regression,omitempty"`
	// Slices holds, per Spec.SliceColumns, each value's metrics.
	Slices []SliceColumn `json:"slices,omitempty"`
	// Fairness is over Spec.Protected (Binary, when set).
	Fairness *Fairness `json:"fairness,omitempty"`
	// Estimate is CBPE over the unlabelled rows (Binary).
	Estimate *Estimate `json:"estimate,omitempty"`
}

// BinaryMetrics are quality's functions over a window's labelled rows.
type BinaryMetrics struct {
	ROCAUC   Float `json:"roc_auc"`  // quality.ROCAUC
	LogLoss  Float `json:"log_loss"` // quality.LogLoss
	Brier    Float `json:"brier"`    // quality.Brier
	Accuracy Float `json:"accuracy"` // quality.BinaryConfusion at Threshold, Accuracy
	ECE      Float `json:"ece"`      // quality.CalibrationCurve(CalibrationBins).ECE; null when the curve is undefined
	// Calibration is the reliability curve (non-empty bins).
	Calibration Calibration `json:"calibration"`
}

// Calibration is quality.Calibration for JSON.
type Calibration struct {
	MeanPredicted    []Float `json:"mean_predicted"`
	FractionPositive []Float `json:"fraction_positive"`
	Count            []int64 `json:"count"`
}

// RegressionMetrics are over a window's labelled rows.
type RegressionMetrics struct {
	RMSE Float `json:"rmse"` // quality.RMSE
	MAE  Float `json:"mae"`  // quality.MAE
	// MeanError is the mean of prediction - label over the rows: above
	// 0, the model predicts too high on average. NaN for no rows.
	MeanError Float `json:"mean_error"`
}

// SliceColumn is one slice column's metrics per value. Binary metrics,
// in order: roc_auc, log_loss, brier, accuracy; Regression: rmse, mae.
type SliceColumn struct {
	Column  string        `json:"column"`
	Metrics []SliceMetric `json:"metrics"`
}

// SliceMetric is quality.BySlice of one metric.
type SliceMetric struct {
	Metric         string       `json:"metric"`
	HigherIsBetter bool         `json:"higher_is_better"`
	Slices         []SliceValue `json:"slices"`
	Best           string       `json:"best"`
	Worst          string       `json:"worst"`
	Spread         Float        `json:"spread"`
	Undefined      []string     `json:"undefined,omitempty"`
}

// SliceValue is one slice value's metric.
type SliceValue struct {
	Value  string `json:"value"`
	Rows   int64  `json:"rows"`
	Metric Float  `json:"metric"`
}

// Fairness is quality.GroupFairness over the protected attribute.
type Fairness struct {
	Column                      string   `json:"column"`
	Groups                      []Group  `json:"groups"`
	DemographicParityDifference Float    `json:"demographic_parity_difference"`
	EqualOpportunityDifference  Float    `json:"equal_opportunity_difference"`
	NoPositives                 []string `json:"no_positives,omitempty"`
}

// Group is quality.GroupRates for JSON.
type Group struct {
	Value         string `json:"value"`
	Rows          int64  `json:"rows"`
	Positives     int64  `json:"positives"`
	SelectionRate Float  `json:"selection_rate"`
	TPR           Float  `json:"tpr"`
}

// Estimate is CBPE over the unlabelled predictions of a window: it
// assumes the scores are calibrated probabilities.
type Estimate struct {
	Rows     int64 `json:"rows"`
	AUC      Float `json:"auc"`      // quality.EstimateAUC
	Accuracy Float `json:"accuracy"` // quality.EstimateAccuracy at Threshold
}

// rows are a model version's rows in prediction time order.
type rows struct {
	ns    []int64
	y, p  []float64
	cols  [][]string // cols[c][i]: slice column c of row i
	inter []map[string]string
}

// Report computes model version's live quality from the stored rows, per
// Options.Windows, as of Options.Now(). A window holds the predictions
// whose prediction time is in (now - window, now]: windows by prediction
// time, so that a window's metrics are those of the traffic served in it
// (a late label amends its own window instead of the current one) and its
// measured and estimated rows are the same predictions. The rows are read
// from the store at each call, one pass over the longest window.
func (s *Store) Report(model string, version int) (*Report, error) {
	spec, ok := s.spec(model)
	if !ok {
		return nil, fmt.Errorf("labels: report %s v%d: the model has no Spec (Configure)", model, version)
	}
	if version < 0 || version > math.MaxUint32 {
		return nil, fmt.Errorf("labels: report %s v%d: version outside [0, 2³²-1]", model, version)
	}
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	now := s.opts.Now()
	longest := slices.Max(s.opts.Windows)
	from := now.Add(-longest).UnixNano()
	v := uint32(version)
	// One snapshot for both reads: a label joined meanwhile is in one of
	// them, never both or neither.
	snap := s.db.NewSnapshot()
	defer snap.Close()
	joined, err := s.read(snap, kindJoined, model, v, from, now.UnixNano(), spec)
	if err != nil {
		return nil, err
	}
	pending, err := s.read(snap, kindPending, model, v, from, now.UnixNano(), spec)
	if err != nil {
		return nil, err
	}
	r := &Report{Model: model, Version: version, Task: spec.Task.String(), Time: now}
	if spec.Task == Binary {
		r.Threshold = spec.Threshold
	}
	for _, w := range s.opts.Windows {
		start := now.Add(-w)
		r.Windows = append(r.Windows, window(w, start, now, joined.since(start.UnixNano()), pending.since(start.UnixNano()), spec, s.opts.CalibrationBins))
	}
	return r, nil
}

// since returns the rows after ns (a suffix: rows are in time order).
func (r *rows) since(ns int64) *rows {
	i := sort.Search(len(r.ns), func(i int) bool { return r.ns[i] > ns })
	out := &rows{ns: r.ns[i:], y: r.y[i:], p: r.p[i:], cols: make([][]string, len(r.cols))}
	for c := range r.cols {
		out.cols[c] = r.cols[c][i:]
	}
	return out
}

// read reads the rows of kind with prediction time in (from, to].
func (s *Store) read(snap *pebble.Snapshot, kind byte, model string, version uint32, from, to int64, spec Spec) (*rows, error) {
	lo := appendTimeBound(nil, kind, model, version, from+1)
	var hi []byte
	if to == math.MaxInt64 {
		hi = prefixEnd(appendPrefix(nil, kind, model, version))
	} else {
		hi = appendTimeBound(nil, kind, model, version, to+1)
	}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("labels: report %s v%d: %w", model, version, err)
	}
	defer it.Close()
	r := &rows{cols: make([][]string, len(spec.SliceColumns)), inter: make([]map[string]string, len(spec.SliceColumns))}
	for c := range r.inter {
		r.inter[c] = make(map[string]string)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k, val := it.Key(), it.Value()
		p, err := parseRowKey(k)
		if err == nil {
			err = r.add(p.ns, val, kind == kindJoined, spec.Output)
		}
		if err != nil {
			return nil, fmt.Errorf("labels: report %s v%d: row %q: %w", model, version, k, err)
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("labels: report %s v%d: %w", model, version, err)
	}
	return r, nil
}

// add decodes one stored row.
func (r *rows) add(ns int64, val []byte, labelled bool, output int) error {
	rd := rowReader{v: val}
	score, err := rd.output(output)
	if err != nil {
		return err
	}
	n := len(r.ns)
	err = rd.slices(func(c int, s []byte) {
		if c >= len(r.cols) {
			return
		}
		m := r.inter[c]
		v, ok := m[string(s)] // no allocation for the lookup
		if !ok {
			v = string(s)
			m[v] = v
		}
		r.cols[c] = append(r.cols[c], v)
	})
	if err != nil {
		return err
	}
	for c := range r.cols {
		if len(r.cols[c]) == n {
			r.cols[c] = append(r.cols[c], "")
		}
	}
	y := math.NaN()
	if labelled {
		if y, _, err = rd.label(); err != nil {
			return err
		}
	}
	r.ns, r.y, r.p = append(r.ns, ns), append(r.y, y), append(r.p, score)
	return nil
}

type namedMetric struct {
	name           string
	f              func(y, p []float64) float64
	higherIsBetter bool
}

func sliceMetrics(spec Spec) []namedMetric {
	if spec.Task == Regression {
		return []namedMetric{{"rmse", quality.RMSE, false}, {"mae", quality.MAE, false}}
	}
	th := spec.Threshold
	return []namedMetric{
		{"roc_auc", quality.ROCAUC, true},
		{"log_loss", quality.LogLoss, false},
		{"brier", quality.Brier, false},
		{"accuracy", func(y, p []float64) float64 { return quality.BinaryConfusion(y, p, th).Accuracy() }, true},
	}
}

// MeanError is the mean of p[i] - y[i]; NaN for no rows.
func MeanError(y, p []float64) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	s := 0.0
	for i, v := range y {
		s += p[i] - v
	}
	return s / float64(len(y))
}

func floats(v []float64) []Float {
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

// window computes one window's metrics.
func window(w time.Duration, from, to time.Time, j, u *rows, spec Spec, bins int) Window {
	out := Window{Window: w.String(), From: from, To: to, Labelled: int64(len(j.ns)), Unlabelled: int64(len(u.ns))}
	y, p := j.y, j.p
	switch spec.Task {
	case Binary:
		m := &BinaryMetrics{
			ROCAUC:   Float(quality.ROCAUC(y, p)),
			LogLoss:  Float(quality.LogLoss(y, p)),
			Brier:    Float(quality.Brier(y, p)),
			Accuracy: Float(quality.BinaryConfusion(y, p, spec.Threshold).Accuracy()),
			ECE:      Float(math.NaN()),
		}
		if c, ok := quality.CalibrationCurve(y, p, bins); ok {
			m.ECE = Float(c.ECE())
			m.Calibration = Calibration{MeanPredicted: floats(c.MeanPredicted), FractionPositive: floats(c.FractionPositive), Count: c.Count}
		}
		out.Binary = m
		out.Estimate = &Estimate{
			Rows:     int64(len(u.p)),
			AUC:      Float(quality.EstimateAUC(u.p)),
			Accuracy: Float(quality.EstimateAccuracy(u.p, spec.Threshold)),
		}
	case Regression:
		out.Regression = &RegressionMetrics{RMSE: Float(quality.RMSE(y, p)), MAE: Float(quality.MAE(y, p)), MeanError: Float(MeanError(y, p))}
	}
	for c, name := range spec.SliceColumns {
		col := SliceColumn{Column: name}
		for _, nm := range sliceMetrics(spec) {
			sp := quality.BySlice(y, p, j.cols[c], nm.f, nm.higherIsBetter)
			sm := SliceMetric{Metric: nm.name, HigherIsBetter: nm.higherIsBetter, Best: sp.Best, Worst: sp.Worst,
				Spread: Float(sp.Spread), Undefined: sp.Undefined, Slices: make([]SliceValue, len(sp.Slices))}
			for i, v := range sp.Slices {
				sm.Slices[i] = SliceValue{Value: v.Slice, Rows: v.Rows, Metric: Float(v.Metric)}
			}
			col.Metrics = append(col.Metrics, sm)
		}
		out.Slices = append(out.Slices, col)
		if spec.Task == Binary && name == spec.Protected {
			f := quality.GroupFairness(y, p, j.cols[c], spec.Threshold)
			fr := &Fairness{Column: name, Groups: make([]Group, len(f.Groups)),
				DemographicParityDifference: Float(f.DemographicParityDifference),
				EqualOpportunityDifference:  Float(f.EqualOpportunityDifference), NoPositives: f.NoPositives}
			for i, g := range f.Groups {
				fr.Groups[i] = Group{Value: g.Group, Rows: g.Rows, Positives: g.Positives, SelectionRate: Float(g.SelectionRate), TPR: Float(g.TPR)}
			}
			out.Fairness = fr
		}
	}
	return out
}
