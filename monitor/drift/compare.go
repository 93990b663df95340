package drift

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/predictd/predictd/model"
)

// Status is the verdict on one feature or output.
type Status string

const (
	StatusOK    Status = "ok"
	StatusWarn  Status = "warn"
	StatusDrift Status = "drift"
	// StatusInsufficient: the window holds fewer than Thresholds.MinRows
	// rows for it; its statistics are reported but not judged.
	StatusInsufficient Status = "insufficient"
)

func (s Status) rank() int {
	switch s {
	case StatusOK:
		return 1
	case StatusWarn:
		return 2
	case StatusDrift:
		return 3
	}
	return 0
}

// Worse returns the more severe of s and t: drift > warn > ok >
// insufficient.
func (s Status) Worse(t Status) Status {
	if t.rank() > s.rank() {
		return t
	}
	return s
}

// Thresholds turn statistics into a Status. A statistic at or past its
// Drift threshold makes the distribution drift, else at or past Warn warn;
// the distribution's status is the worst of them. A threshold of 0 turns
// its check off.
type Thresholds struct {
	// PSIWarn, PSIDrift: PSI at or above.
	PSIWarn  float64 `json:"psi_warn"`
	PSIDrift float64 `json:"psi_drift"`
	// JSWarn, JSDrift: Jensen-Shannon distance (base 2) at or above.
	JSWarn  float64 `json:"js_warn"`
	JSDrift float64 `json:"js_drift"`
	// KSPWarn, KSPDrift: Kolmogorov-Smirnov p-value below (numeric).
	KSPWarn  float64 `json:"ks_p_warn"`
	KSPDrift float64 `json:"ks_p_drift"`
	// ChiSquarePWarn, ChiSquarePDrift: chi-square p-value below
	// (categorical).
	ChiSquarePWarn  float64 `json:"chi2_p_warn"`
	ChiSquarePDrift float64 `json:"chi2_p_drift"`
	// MissingWarn, MissingDrift: the missing rate's change, either way, at
	// or above (a fraction of rows: 0.05 is 5 points).
	MissingWarn  float64 `json:"missing_warn"`
	MissingDrift float64 `json:"missing_drift"`
	// WassersteinStdWarn, WassersteinStdDrift: the Wasserstein distance in
	// units of the reference's standard deviation, at or above (numeric).
	WassersteinStdWarn  float64 `json:"wasserstein_std_warn"`
	WassersteinStdDrift float64 `json:"wasserstein_std_drift"`
	// MinRows: a distribution whose window holds fewer rows is
	// StatusInsufficient; the missing rate is judged over at least MinRows
	// rows, the other statistics over at least MinRows values.
	MinRows int64 `json:"min_rows"`
}

// DefaultThresholds returns the defaults, and where each comes from:
//
//   - PSI 0.1 warn, 0.25 drift: the credit-scoring convention (below 0.1 no
//     significant change, 0.1 to 0.25 some, above 0.25 a major shift;
//     Siddiqi, Credit Risk Scorecards, 2006), used by most drift tools.
//   - Jensen-Shannon distance 0.134 warn, 0.212 drift: the distances that
//     the PSI thresholds correspond to for small shifts. Both expand to the
//     same chi-square-like sum Σ(w−r)²/r to second order, PSI to all of it
//     and the JS divergence in nats to 1/8 of it, so JS distance (base 2) ≈
//     √(PSI / (8 ln 2)): √(0.1/5.545) = 0.134, √(0.25/5.545) = 0.212. JS
//     reports the same change on a bounded scale and without PSI's
//     empty-bin Epsilon.
//   - Kolmogorov-Smirnov and chi-square p-values below 0.01 warn, below
//     0.001 drift: the conventional 1% and 0.1% significance levels. With
//     one test per feature and no multiple-testing correction, a model of
//     40 features drawn from its reference still warns on some feature in
//     about a third of windows and drifts in 4%; the bounded samples (1,000
//     reference values) keep the tests from flagging differences too small
//     to matter in huge windows.
//   - Missing rate change 0.05 warn, 0.2 drift (our choice; no convention
//     exists): 1 row in 20 newly missing (or newly filled) is worth a look,
//     1 in 5 is a broken upstream. Over 500 rows the sampling noise of a
//     rate near 10% is 1.3 points, so 5 points is not noise.
//   - Wasserstein: off. The distance is in the feature's units; set
//     WassersteinStd* to judge it in reference standard deviations
//     (Evidently's normed Wasserstein test uses 0.1).
//   - MinRows 500: PSI's expected value from sampling noise alone is about
//     (bins − 1)·(1/n_reference + 1/n_window), 0.05 for 22 bins, 2,000
//     reference rows and 500 window rows, half the warn threshold; at 200
//     window rows it would reach it.
func DefaultThresholds() Thresholds {
	return Thresholds{
		PSIWarn: 0.1, PSIDrift: 0.25,
		JSWarn: 0.134, JSDrift: 0.212,
		KSPWarn: 0.01, KSPDrift: 0.001,
		ChiSquarePWarn: 0.01, ChiSquarePDrift: 0.001,
		MissingWarn: 0.05, MissingDrift: 0.2,
		MinRows: 500,
	}
}

// Check reports the first threshold that is out of range, naming it.
func (t Thresholds) Check() error {
	pairs := []struct {
		name       string
		warn, drft float64
		pvalue     bool
	}{
		{"PSI", t.PSIWarn, t.PSIDrift, false},
		{"JS", t.JSWarn, t.JSDrift, false},
		{"KSP", t.KSPWarn, t.KSPDrift, true},
		{"ChiSquareP", t.ChiSquarePWarn, t.ChiSquarePDrift, true},
		{"Missing", t.MissingWarn, t.MissingDrift, false},
		{"WassersteinStd", t.WassersteinStdWarn, t.WassersteinStdDrift, false},
	}
	for _, p := range pairs {
		for _, v := range []struct {
			field string
			x     float64
		}{{p.name + "Warn", p.warn}, {p.name + "Drift", p.drft}} {
			if !(v.x >= 0) || math.IsInf(v.x, 0) || p.pvalue && v.x > 1 {
				hi := "a finite number >= 0"
				if p.pvalue {
					hi = "a p-value in [0, 1]"
				}
				return fmt.Errorf("drift thresholds: %s is %v, want %s", v.field, v.x, hi)
			}
		}
		if p.warn == 0 || p.drft == 0 {
			continue
		}
		if p.pvalue && p.drft > p.warn {
			return fmt.Errorf("drift thresholds: %sDrift %v is above %sWarn %v; a p-value that drifts must be smaller than one that warns", p.name, p.drft, p.name, p.warn)
		}
		if !p.pvalue && p.drft < p.warn {
			return fmt.Errorf("drift thresholds: %sDrift %v is below %sWarn %v", p.name, p.drft, p.name, p.warn)
		}
	}
	if t.MinRows < 0 {
		return fmt.Errorf("drift thresholds: MinRows is %d, want 0 or more", t.MinRows)
	}
	return nil
}

// Observed is a window's record of one feature or output, over the bins of
// its reference distribution.
type Observed struct {
	// Rows is the number of values seen, missing included; Missing of them
	// were NaN.
	Rows    int64
	Missing int64
	// Counts holds the non-missing values per bin of the reference
	// distribution (model.Distribution.Bin): NumBins entries.
	Counts []int64
	// Sample is a bounded sample of the finite values, in any order (numeric
	// distributions; Compare sorts a copy). Leave it empty for categorical
	// ones.
	Sample []float64
}

// Add counts x, binned by d (the reference distribution o records). It does
// not touch Sample and does not allocate.
func (o *Observed) Add(d *model.Distribution, x float64) {
	o.Rows++
	b := d.Bin(x)
	if b < 0 {
		o.Missing++
		return
	}
	o.Counts[b]++
}

// Window is what a window of rows looked like: one Observed per reference
// feature and output, in the reference's order.
type Window struct {
	Features []Observed
	Outputs  []Observed
}

// NewWindow returns an empty window shaped for ref: Counts sized to each
// distribution's bins, no samples.
func NewWindow(ref *model.Reference) *Window {
	shape := func(ds []model.Distribution) []Observed {
		obs := make([]Observed, len(ds))
		for i := range ds {
			obs[i].Counts = make([]int64, ds[i].NumBins())
		}
		return obs
	}
	return &Window{Features: shape(ref.Features), Outputs: shape(ref.Outputs)}
}

// Accumulator fills a Window from rows, with a Reservoir per numeric
// distribution for the samples. Not safe for concurrent use; adding
// features and adding outputs touch separate state, so one goroutine may do
// each.
type Accumulator struct {
	ref         *model.Reference
	w           *Window
	feats, outs []*Reservoir // nil for categorical distributions
}

// NewAccumulator returns an empty accumulator for ref whose samples hold at
// most sampleSize values each (> 0), drawn with seed: feature i uses
// stream i, output k stream len(ref.Features)+k.
func NewAccumulator(ref *model.Reference, sampleSize int, seed uint64) *Accumulator {
	a := &Accumulator{ref: ref, w: NewWindow(ref)}
	res := func(ds []model.Distribution, first int) []*Reservoir {
		rs := make([]*Reservoir, len(ds))
		for i := range ds {
			if ds[i].Kind == model.DistNumeric {
				rs[i] = NewReservoir(sampleSize, seed, uint64(first+i))
			}
		}
		return rs
	}
	a.feats = res(ref.Features, 0)
	a.outs = res(ref.Outputs, len(ref.Features))
	return a
}

func add(ds []model.Distribution, obs []Observed, rs []*Reservoir, rows []float64) {
	n := len(ds)
	if n == 0 || len(rows)%n != 0 {
		panic("BUG: drift: rows are not whole rows of the reference's width")
	}
	for r := 0; r < len(rows); r += n {
		for i, x := range rows[r : r+n] {
			obs[i].Add(&ds[i], x)
			if rs[i] != nil && !math.IsNaN(x) && !math.IsInf(x, 0) {
				rs[i].Add(x)
			}
		}
	}
}

// AddFeatures adds rows of input features, row-major in the model's order,
// NaN for missing.
func (a *Accumulator) AddFeatures(rows []float64) {
	add(a.ref.Features, a.w.Features, a.feats, rows)
}

// AddOutputs adds rows of predictions, row-major in the model's output
// order.
func (a *Accumulator) AddOutputs(rows []float64) {
	add(a.ref.Outputs, a.w.Outputs, a.outs, rows)
}

// Window returns the window accumulated so far, its samples taken from the
// reservoirs. It shares the accumulator's memory.
func (a *Accumulator) Window() *Window {
	for i, r := range a.feats {
		if r != nil {
			a.w.Features[i].Sample = r.Values()
		}
	}
	for i, r := range a.outs {
		if r != nil {
			a.w.Outputs[i].Sample = r.Values()
		}
	}
	return a.w
}

// Stats are the statistics of one distribution, window against reference.
// A statistic that does not apply (KS for a categorical feature) or cannot
// be computed (no values in the window) is NaN, and null in JSON.
type Stats struct {
	Rows    int64 // window rows
	Missing int64 // of them missing
	// MissingRateRef and MissingRate are the reference's and the window's
	// shares of missing rows; MissingChange is window minus reference.
	MissingRateRef, MissingRate, MissingChange float64
	PSI                                        float64
	JS                                         float64 // Jensen-Shannon distance, base 2
	// KS and KSPValue: Kolmogorov-Smirnov statistic and exact p-value over
	// the samples (numeric).
	KS, KSPValue float64
	// Wasserstein is in the distribution's units; WassersteinStd divides it
	// by the reference's standard deviation (NaN if that is 0).
	Wasserstein, WassersteinStd float64
	// ChiSquare, its p-value and degrees of freedom (categorical).
	ChiSquare, ChiSquarePValue float64
	ChiSquareDOF               int
	// SampleRef and SampleWindow are the sample sizes KS and Wasserstein
	// used.
	SampleRef, SampleWindow int
}

// MarshalJSON writes NaN statistics as null.
func (s Stats) MarshalJSON() ([]byte, error) {
	f := func(x float64) *float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return &x
	}
	return json.Marshal(struct {
		Rows            int64    `json:"rows"`
		Missing         int64    `json:"missing"`
		MissingRateRef  *float64 `json:"missing_rate_ref"`
		MissingRate     *float64 `json:"missing_rate"`
		MissingChange   *float64 `json:"missing_change"`
		PSI             *float64 `json:"psi"`
		JS              *float64 `json:"js"`
		KS              *float64 `json:"ks"`
		KSPValue        *float64 `json:"ks_p"`
		Wasserstein     *float64 `json:"wasserstein"`
		WassersteinStd  *float64 `json:"wasserstein_std"`
		ChiSquare       *float64 `json:"chi2"`
		ChiSquarePValue *float64 `json:"chi2_p"`
		ChiSquareDOF    int      `json:"chi2_dof"`
		SampleRef       int      `json:"sample_ref"`
		SampleWindow    int      `json:"sample_window"`
	}{
		s.Rows, s.Missing, f(s.MissingRateRef), f(s.MissingRate), f(s.MissingChange),
		f(s.PSI), f(s.JS), f(s.KS), f(s.KSPValue), f(s.Wasserstein), f(s.WassersteinStd),
		f(s.ChiSquare), f(s.ChiSquarePValue), s.ChiSquareDOF, s.SampleRef, s.SampleWindow,
	})
}

// Result is the verdict on one feature or output.
type Result struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // model.DistNumeric or model.DistCategorical
	Status Status `json:"status"`
	// Reasons name each statistic past a threshold, worst first.
	Reasons []string `json:"reasons,omitempty"`
	Stats   Stats    `json:"stats"`
}

// Report is Compare's answer.
type Report struct {
	// Status is the worst of the features' and outputs'.
	Status     Status     `json:"status"`
	Features   []Result   `json:"features"`
	Outputs    []Result   `json:"outputs"`
	Thresholds Thresholds `json:"thresholds"`
}

// Compare computes every statistic of every feature and output of w against
// ref and judges them with th. w must be shaped for ref (NewWindow). It
// allocates the report and a sorted copy of each window sample; it only
// reads its arguments.
func Compare(ref *model.Reference, w *Window, th Thresholds) (*Report, error) {
	if err := th.Check(); err != nil {
		return nil, err
	}
	rep := &Report{Status: StatusInsufficient, Thresholds: th}
	var err error
	if rep.Features, err = compareAll("feature", ref.Features, w.Features, th); err != nil {
		return nil, err
	}
	if rep.Outputs, err = compareAll("output", ref.Outputs, w.Outputs, th); err != nil {
		return nil, err
	}
	for _, rs := range [][]Result{rep.Features, rep.Outputs} {
		for _, r := range rs {
			rep.Status = rep.Status.Worse(r.Status)
		}
	}
	return rep, nil
}

func compareAll(what string, ds []model.Distribution, obs []Observed, th Thresholds) ([]Result, error) {
	if len(ds) != len(obs) {
		return nil, fmt.Errorf("drift: the window has %d %ss, the reference %d", len(obs), what, len(ds))
	}
	res := make([]Result, len(ds))
	for i := range ds {
		if len(obs[i].Counts) != ds[i].NumBins() {
			return nil, fmt.Errorf("drift: %s %s: the window has %d bins, the reference %d", what, model.Quote(ds[i].Name), len(obs[i].Counts), ds[i].NumBins())
		}
		res[i] = CompareDistribution(&ds[i], &obs[i], th)
	}
	return res, nil
}

// CompareDistribution is Compare for one distribution; o.Counts must have
// d.NumBins() entries. th is not checked (Compare checks it).
func CompareDistribution(d *model.Distribution, o *Observed, th Thresholds) Result {
	nan := math.NaN()
	st := Stats{
		Rows: o.Rows, Missing: o.Missing,
		MissingRateRef: d.MissingRate(), MissingRate: nan, MissingChange: nan,
		PSI: nan, JS: nan, KS: nan, KSPValue: nan, Wasserstein: nan, WassersteinStd: nan,
		ChiSquare: nan, ChiSquarePValue: nan,
	}
	if o.Rows > 0 {
		st.MissingRate = float64(o.Missing) / float64(o.Rows)
		st.MissingChange = st.MissingRate - st.MissingRateRef
	}
	st.PSI = PSI(d.Counts, o.Counts)
	st.JS = JSDistance(d.Counts, o.Counts)
	if d.Kind == model.DistCategorical {
		st.ChiSquare, st.ChiSquarePValue, st.ChiSquareDOF = ChiSquare(d.Counts, o.Counts)
	} else {
		sample := make([]float64, 0, len(o.Sample))
		for _, x := range o.Sample {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				sample = append(sample, x)
			}
		}
		slices.Sort(sample)
		st.SampleRef, st.SampleWindow = len(d.Sample), len(sample)
		st.KS, st.KSPValue = KS(d.Sample, sample)
		st.Wasserstein = Wasserstein(d.Sample, sample)
		if d.Std > 0 {
			st.WassersteinStd = st.Wasserstein / d.Std
		}
	}
	r := Result{Name: d.Name, Kind: d.Kind, Stats: st}
	r.Status, r.Reasons = judge(st, sum64(o.Counts), th)
	return r
}

// judge applies th to st; values is the window's non-missing count.
func judge(st Stats, values int64, th Thresholds) (Status, []string) {
	if st.Rows < th.MinRows || st.Rows == 0 {
		return StatusInsufficient, []string{fmt.Sprintf("%d rows, fewer than the %d needed (min_rows)", st.Rows, th.MinRows)}
	}
	status := StatusOK
	var drifts, warns []string
	flag := func(s Status, msg string) {
		status = status.Worse(s)
		if s == StatusDrift {
			drifts = append(drifts, msg)
		} else {
			warns = append(warns, msg)
		}
	}
	// atLeast judges a statistic that is bad when large, below one that is
	// bad when small (p-values).
	atLeast := func(name string, x, warn, drift float64) {
		switch {
		case math.IsNaN(x):
		case drift > 0 && x >= drift:
			flag(StatusDrift, fmt.Sprintf("%s %.4g >= %g", name, x, drift))
		case warn > 0 && x >= warn:
			flag(StatusWarn, fmt.Sprintf("%s %.4g >= %g", name, x, warn))
		}
	}
	below := func(name string, x, warn, drift float64) {
		switch {
		case math.IsNaN(x):
		case x < drift:
			flag(StatusDrift, fmt.Sprintf("%s %.4g < %g", name, x, drift))
		case x < warn:
			flag(StatusWarn, fmt.Sprintf("%s %.4g < %g", name, x, warn))
		}
	}
	if !math.IsNaN(st.MissingChange) {
		atLeast(fmt.Sprintf("missing rate %.4g (reference %.4g), change", st.MissingRate, st.MissingRateRef),
			math.Abs(st.MissingChange), th.MissingWarn, th.MissingDrift)
	}
	if values >= max(th.MinRows, 1) {
		atLeast("psi", st.PSI, th.PSIWarn, th.PSIDrift)
		atLeast("js", st.JS, th.JSWarn, th.JSDrift)
		below("ks p-value", st.KSPValue, th.KSPWarn, th.KSPDrift)
		below("chi-square p-value", st.ChiSquarePValue, th.ChiSquarePWarn, th.ChiSquarePDrift)
		atLeast("wasserstein/std", st.WassersteinStd, th.WassersteinStdWarn, th.WassersteinStdDrift)
	}
	return status, append(drifts, warns...)
}
