package labels

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/predictd/predictd/monitor/quality"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func testOptions(c *clock) Options {
	return Options{
		JoinWindow:   7 * 24 * time.Hour,
		QueueRecords: 20000,
		RetainEvery:  time.Hour, // tests call Retain themselves
		Now:          c.Now,
	}
}

func mustOpen(t testing.TB, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func binarySpec() Spec {
	return Spec{Task: Binary, SliceColumns: []string{"country", "device", "gender"}, Protected: "gender", Threshold: 0.5}
}

// pred is a test's record of one prediction, and its label if joined.
type pred struct {
	id       string
	ns       int64
	p        float64
	slices   []string
	y        float64
	labelled bool
}

var (
	countries = []string{"de", "fr", "us", "xx"}
	devices   = []string{"desktop", "mobile"}
	genders   = []string{"f", "m", "n"}
)

// makePreds makes n predictions spread over the 48 hours before now.
func makePreds(n int, now time.Time, seed uint64) []pred {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]pred, n)
	for i := range out {
		out[i] = pred{
			id: fmt.Sprintf("req-%05d", i),
			ns: now.Add(-time.Duration(rng.Int64N(int64(48 * time.Hour)))).UnixNano(),
			p:  rng.Float64(),
			slices: []string{
				countries[rng.IntN(len(countries))], devices[rng.IntN(len(devices))], genders[rng.IntN(len(genders))],
			},
		}
	}
	return out
}

func recordAll(t testing.TB, s *Store, model string, version int, ps []pred) {
	t.Helper()
	for _, p := range ps {
		if !s.Record(model, version, p.id, time.Unix(0, p.ns), []float64{1 - p.p, p.p}, p.slices) {
			t.Fatalf("Record(%s) dropped with a queue of %d", p.id, s.opts.QueueRecords)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

// same is bit equality, NaN equal to NaN.
func same(a, b float64) bool {
	return a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b)
}

func checkFloat(t *testing.T, what string, got Float, want float64) {
	t.Helper()
	if !same(float64(got), want) {
		t.Errorf("%s = %v, want %v (quality's function on the same rows)", what, float64(got), want)
	}
}

// TestJoinAndReport records 10,000 predictions, labels a subset with
// every outcome, and holds the report to monitor/quality's functions
// called directly on the same joined rows, bit for bit.
func TestJoinAndReport(t *testing.T) {
	c := &clock{t: t0}
	s := mustOpen(t, t.TempDir(), testOptions(c))
	defer s.Close()
	spec := binarySpec()
	spec.Output = 1
	if err := s.Configure("ctr", spec); err != nil {
		t.Fatal(err)
	}
	ps := makePreds(10000, t0, 1)
	recordAll(t, s, "ctr", 3, ps)
	// Another version must not leak into the report. (Ids are unique
	// per model, across versions.)
	other := makePreds(100, t0, 2)
	for i := range other {
		other[i].id = "v4-" + other[i].id
	}
	recordAll(t, s, "ctr", 4, other)

	rng := rand.New(rand.NewPCG(7, 7))
	var ls []Label
	for i := range ps {
		if i%5 == 0 {
			continue // left unlabelled: CBPE's rows
		}
		p := &ps[i]
		pos := p.p
		if p.slices[0] == "fr" {
			pos = 1 - pos // the concept changed in one slice
		}
		if rng.Float64() < pos {
			p.y = 1
		}
		p.labelled = true
		ls = append(ls, Label{ID: p.id, Value: p.y, Time: time.Unix(0, p.ns).Add(time.Hour)})
	}
	joined := len(ls)
	// The other outcomes, at known positions.
	ls = append(ls,
		Label{ID: "nope-1", Value: 1},                                                         // unknown
		Label{ID: ps[1].id, Value: 1 - ps[1].y},                                               // duplicate in the call: the first is kept
		Label{ID: ps[5].id, Value: math.NaN()},                                                // invalid
		Label{ID: ps[10].id, Value: 2},                                                        // invalid: not 0 or 1
		Label{ID: ps[15].id, Value: math.Inf(1)},                                              // invalid
		Label{ID: ps[20].id, Value: 1, Time: time.Unix(0, ps[20].ns).Add(8 * 24 * time.Hour)}, // late
		Label{ID: "nope-2", Value: 0},                                                         // unknown
	)
	res, err := s.Label("ctr", ls)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Joined: joined, Unknown: 2, Duplicate: 1, Late: 1, Invalid: 3}
	got := res
	got.Errors = nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Label counts = %+v, want %+v", got, want)
	}
	wantErr := []struct {
		index int
		o     Outcome
	}{{joined, Unknown}, {joined + 1, Duplicate}, {joined + 2, Invalid}, {joined + 3, Invalid}, {joined + 4, Invalid}, {joined + 5, Late}, {joined + 6, Unknown}}
	if len(res.Errors) != len(wantErr) {
		t.Fatalf("Label errors = %+v, want %d of them", res.Errors, len(wantErr))
	}
	for i, w := range wantErr {
		e := res.Errors[i]
		if e.Index != w.index || e.Outcome != w.o || e.ID != ls[w.index].ID || !strings.HasPrefix(e.Reason, w.o.String()+": ") {
			t.Errorf("Label error %d = %+v, want index %d id %q outcome %v", i, e, w.index, ls[w.index].ID, w.o)
		}
	}
	// A second call: the same ids again are duplicates.
	res2, err := s.Label("ctr", ls[:3])
	if err != nil {
		t.Fatal(err)
	}
	if res2.Duplicate != 3 || res2.Joined != 0 {
		t.Errorf("labels sent twice: %+v, want 3 duplicates", res2)
	}
	st := s.Stats()
	if st.Joined != int64(joined) || st.Duplicate != 4 || st.Unknown != 2 || st.Late != 1 || st.Invalid != 3 || st.Written != 10100 {
		t.Errorf("Stats = %+v, want joined %d, duplicate 4, unknown 2, late 1, invalid 3, written 10100", st, joined)
	}

	c.Set(t0.Add(time.Minute)) // the report's now; no prediction is after t0
	r, err := s.Report("ctr", 3)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, r, ps, spec, c.Now(), s.opts)

	// JSON: NaN as null, and the same rows encode to the same bytes.
	b1, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal(report): %v", err)
	}
	r2, err := s.Report("ctr", 3)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(r2)
	if string(b1) != string(b2) {
		t.Errorf("two reports of the same rows encode differently:\n%s\n%s", b1, b2)
	}
	var back map[string]any
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Errorf("report JSON does not decode: %v", err)
	}
}

// checkReport recomputes every number of r with monitor/quality from ps.
func checkReport(t *testing.T, r *Report, ps []pred, spec Spec, now time.Time, o Options) {
	t.Helper()
	// Key order: prediction time, then id.
	sorted := slices.Clone(ps)
	slices.SortFunc(sorted, func(a, b pred) int {
		if a.ns != b.ns {
			return int(a.ns>>1 - b.ns>>1)
		}
		return strings.Compare(a.id, b.id)
	})
	if len(r.Windows) != len(o.Windows) {
		t.Fatalf("report has %d windows, want %d", len(r.Windows), len(o.Windows))
	}
	for wi, w := range o.Windows {
		rw := r.Windows[wi]
		from := now.Add(-w).UnixNano()
		var y, p, up []float64
		cols := make([][]string, len(spec.SliceColumns))
		for _, q := range sorted {
			if q.ns <= from || q.ns > now.UnixNano() {
				continue
			}
			if !q.labelled {
				up = append(up, q.p)
				continue
			}
			y, p = append(y, q.y), append(p, q.p)
			for c := range cols {
				cols[c] = append(cols[c], q.slices[c])
			}
		}
		name := fmt.Sprintf("window %v", w)
		if rw.Window != w.String() || rw.Labelled != int64(len(y)) || rw.Unlabelled != int64(len(up)) {
			t.Errorf("%s: window %q labelled %d unlabelled %d, want %q %d %d", name, rw.Window, rw.Labelled, rw.Unlabelled, w.String(), len(y), len(up))
		}
		if len(y) == 0 {
			t.Errorf("%s: no labelled rows: the test does not test", name)
		}
		m := rw.Binary
		checkFloat(t, name+" roc_auc", m.ROCAUC, quality.ROCAUC(y, p))
		checkFloat(t, name+" log_loss", m.LogLoss, quality.LogLoss(y, p))
		checkFloat(t, name+" brier", m.Brier, quality.Brier(y, p))
		checkFloat(t, name+" accuracy", m.Accuracy, quality.BinaryConfusion(y, p, spec.Threshold).Accuracy())
		cal, _ := quality.CalibrationCurve(y, p, o.CalibrationBins)
		checkFloat(t, name+" ece", m.ECE, cal.ECE())
		if len(m.Calibration.Count) != len(cal.Count) || len(cal.Count) == 0 {
			t.Errorf("%s: calibration curve of %d bins, want %d", name, len(m.Calibration.Count), len(cal.Count))
		} else {
			for i := range cal.Count {
				if m.Calibration.Count[i] != cal.Count[i] || !same(float64(m.Calibration.MeanPredicted[i]), cal.MeanPredicted[i]) ||
					!same(float64(m.Calibration.FractionPositive[i]), cal.FractionPositive[i]) {
					t.Errorf("%s: calibration bin %d = %v %v %v, want %v %v %v", name, i, m.Calibration.Count[i],
						m.Calibration.MeanPredicted[i], m.Calibration.FractionPositive[i], cal.Count[i], cal.MeanPredicted[i], cal.FractionPositive[i])
				}
			}
		}
		checkFloat(t, name+" estimated auc", rw.Estimate.AUC, quality.EstimateAUC(up))
		checkFloat(t, name+" estimated accuracy", rw.Estimate.Accuracy, quality.EstimateAccuracy(up, spec.Threshold))
		if rw.Estimate.Rows != int64(len(up)) {
			t.Errorf("%s: estimate rows %d, want %d", name, rw.Estimate.Rows, len(up))
		}
		if len(rw.Slices) != len(spec.SliceColumns) {
			t.Fatalf("%s: %d slice columns, want %d", name, len(rw.Slices), len(spec.SliceColumns))
		}
		for c, col := range spec.SliceColumns {
			sc := rw.Slices[c]
			metrics := sliceMetrics(spec)
			if sc.Column != col || len(sc.Metrics) != len(metrics) {
				t.Fatalf("%s: slice column %d = %q with %d metrics, want %q with %d", name, c, sc.Column, len(sc.Metrics), col, len(metrics))
			}
			for k, nm := range metrics {
				want := quality.BySlice(y, p, cols[c], nm.f, nm.higherIsBetter)
				got := sc.Metrics[k]
				what := fmt.Sprintf("%s %s %s", name, col, nm.name)
				if got.Metric != nm.name || got.Best != want.Best || got.Worst != want.Worst || !same(float64(got.Spread), want.Spread) ||
					len(got.Slices) != len(want.Slices) {
					t.Errorf("%s: %s best %q worst %q spread %v (%d slices), want best %q worst %q spread %v (%d)", what, got.Metric,
						got.Best, got.Worst, float64(got.Spread), len(got.Slices), want.Best, want.Worst, want.Spread, len(want.Slices))
					continue
				}
				for i, v := range want.Slices {
					g := got.Slices[i]
					if g.Value != v.Slice || g.Rows != v.Rows || !same(float64(g.Metric), v.Metric) {
						t.Errorf("%s: slice %d = %+v, want %+v", what, i, g, v)
					}
				}
			}
		}
		// The concept changed in "fr" only: it is the worst country by ROC AUC.
		if got := rw.Slices[0].Metrics[0].Worst; got != "fr" {
			t.Errorf("%s: worst country by roc_auc = %q, want \"fr\" (its labels were flipped)", name, got)
		}
		f := quality.GroupFairness(y, p, cols[2], spec.Threshold)
		fr := rw.Fairness
		if fr == nil || fr.Column != "gender" || len(fr.Groups) != len(f.Groups) {
			t.Fatalf("%s: fairness %+v, want %d groups of gender", name, fr, len(f.Groups))
		}
		checkFloat(t, name+" demographic parity difference", fr.DemographicParityDifference, f.DemographicParityDifference)
		checkFloat(t, name+" equal opportunity difference", fr.EqualOpportunityDifference, f.EqualOpportunityDifference)
		for i, g := range f.Groups {
			fg := fr.Groups[i]
			if fg.Value != g.Group || fg.Rows != g.Rows || fg.Positives != g.Positives || !same(float64(fg.SelectionRate), g.SelectionRate) || !same(float64(fg.TPR), g.TPR) {
				t.Errorf("%s: group %d = %+v, want %+v", name, i, fg, g)
			}
		}
	}
}

func TestRegressionReport(t *testing.T) {
	c := &clock{t: t0}
	s := mustOpen(t, t.TempDir(), testOptions(c))
	defer s.Close()
	if err := s.Configure("price", Spec{Task: Regression, SliceColumns: []string{"city"}}); err != nil {
		t.Fatal(err)
	}
	// Predictions 10, 20, 30 (and one without a label); labels 12, 17, 30.
	for i, v := range []float64{10, 20, 30, 40} {
		s.Record("price", 1, fmt.Sprint(i), t0.Add(-time.Duration(4-i)*time.Minute), []float64{v}, []string{[]string{"a", "b", "b", "a"}[i]})
	}
	res, err := s.Label("price", []Label{{ID: "0", Value: 12}, {ID: "1", Value: 17}, {ID: "2", Value: 30}, {ID: "9", Value: 1}})
	if err != nil || res.Joined != 3 || res.Unknown != 1 {
		t.Fatalf("Label = %+v, %v; want 3 joined, 1 unknown", res, err)
	}
	r, err := s.Report("price", 1)
	if err != nil {
		t.Fatal(err)
	}
	y, p := []float64{12, 17, 30}, []float64{10, 20, 30}
	w := r.Windows[0]
	if w.Binary != nil || w.Estimate != nil || w.Fairness != nil || w.Labelled != 3 || w.Unlabelled != 1 {
		t.Fatalf("regression window = %+v, want regression metrics only over 3 labelled rows, 1 unlabelled", w)
	}
	checkFloat(t, "rmse", w.Regression.RMSE, quality.RMSE(y, p))
	checkFloat(t, "mae", w.Regression.MAE, quality.MAE(y, p))
	checkFloat(t, "mean error", w.Regression.MeanError, (-2.0+3+0)/3)
	city := w.Slices[0].Metrics[0] // rmse by city: a = |10-12| = 2, b = sqrt((9+0)/2)
	if city.Metric != "rmse" || city.Best != "a" || city.Worst != "b" || !same(float64(city.Slices[1].Metric), math.Sqrt(4.5)) {
		t.Errorf("rmse by city = %+v, want a best (2), b worst (%v)", city, math.Sqrt(4.5))
	}
	if got := MeanError(nil, nil); !math.IsNaN(got) {
		t.Errorf("MeanError of no rows = %v, want NaN", got)
	}
}

// TestRetainWindow: predictions older than the join window go, with
// their labels and index entries; a label for one is then Unknown.
func TestRetainWindow(t *testing.T) {
	c := &clock{t: t0}
	o := testOptions(c)
	o.JoinWindow = 24 * time.Hour
	s := mustOpen(t, t.TempDir(), o)
	defer s.Close()
	if err := s.Configure("m", binarySpec()); err != nil {
		t.Fatal(err)
	}
	ps := makePreds(2000, t0, 3) // over the 48 h before t0
	recordAll(t, s, "m", 1, ps)
	var ls []Label
	for i := 0; i < len(ps); i += 2 {
		ls = append(ls, Label{ID: ps[i].id, Value: 1, Time: time.Unix(0, ps[i].ns)})
	}
	if res, err := s.Label("m", ls); err != nil || res.Joined != len(ls) {
		t.Fatalf("Label = %+v, %v; want %d joined", res, err, len(ls))
	}
	before := s.Stats().Bytes
	cutoff := t0.Add(-24 * time.Hour).UnixNano()
	old := 0
	for _, p := range ps {
		if p.ns < cutoff {
			old++
		}
	}
	r, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	if r.Expired != int64(old) || r.Evicted != 0 {
		t.Errorf("Retain = %+v, want %d expired (older than %v), 0 evicted", r, old, o.JoinWindow)
	}
	after := s.Stats().Bytes
	if !(after < before && after > 0) {
		t.Errorf("Stats.Bytes %d before Retain, %d after: want it lower and positive", before, after)
	}
	// Every old prediction's label is now unknown; every recent one's a
	// duplicate (labelled) or joined.
	var again []Label
	wantUnknown, wantDup, wantJoined := 0, 0, 0
	for i, p := range ps {
		again = append(again, Label{ID: p.id, Value: 0, Time: time.Unix(0, p.ns)})
		switch {
		case p.ns < cutoff:
			wantUnknown++
		case i%2 == 0:
			wantDup++
		default:
			wantJoined++
		}
	}
	res, err := s.Label("m", again)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unknown != wantUnknown || res.Duplicate != wantDup || res.Joined != wantJoined {
		t.Errorf("labels after retention = %+v, want unknown %d duplicate %d joined %d", res, wantUnknown, wantDup, wantJoined)
	}
	// The index entries went too: only recent ids are left.
	if n := countKind(t, s, kindIndex); n != len(ps)-old {
		t.Errorf("%d index entries after retention, want %d", n, len(ps)-old)
	}
}

func countKind(t *testing.T, s *Store, kind byte) int {
	t.Helper()
	it, err := s.db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		if it.Key()[0] == kind {
			n++
		}
	}
	return n
}

// TestRetainSize: over MaxBytes, the oldest minutes go first until the
// store is under.
func TestRetainSize(t *testing.T) {
	c := &clock{t: t0}
	o := testOptions(c)
	dir := t.TempDir()
	s := mustOpen(t, dir, o)
	if err := s.Configure("m", binarySpec()); err != nil {
		t.Fatal(err)
	}
	// 100 minutes, 10 predictions each.
	var ps []pred
	for m := range 100 {
		for k := range 10 {
			ps = append(ps, pred{id: fmt.Sprintf("%03d-%d", m, k), ns: t0.Add(-time.Duration(100-m) * time.Minute).UnixNano(), p: 0.5, slices: []string{"de", "mobile", "f"}})
		}
	}
	recordAll(t, s, "m", 1, ps)
	full := s.Stats().Bytes
	s.Close()
	o.MaxBytes = full / 4
	s = mustOpen(t, dir, o) // the size is rebuilt from disk
	defer s.Close()
	if got := s.Stats().Bytes; got != full {
		t.Fatalf("Stats.Bytes after reopen = %d, want %d", got, full)
	}
	if err := s.Configure("m", binarySpec()); err != nil {
		t.Fatal(err)
	}
	r, err := s.Retain()
	if err != nil {
		t.Fatal(err)
	}
	per := full / 100 // every minute holds the same bytes
	keep := o.MaxBytes / per
	if r.Evicted != (100-keep)*10 || r.Expired != 0 {
		t.Errorf("Retain = %+v, want %d evicted (keep %d of 100 minutes under MaxBytes %d of %d)", r, (100-keep)*10, keep, o.MaxBytes, full)
	}
	if got := s.Stats().Bytes; got > o.MaxBytes || got != keep*per {
		t.Errorf("Stats.Bytes after Retain = %d, want %d ≤ MaxBytes %d", got, keep*per, o.MaxBytes)
	}
	first := int(100 - keep)
	res, err := s.Label("m", []Label{{ID: ps[first*10-1].id, Value: 1}, {ID: ps[first*10].id, Value: 1}})
	if err != nil || res.Unknown != 1 || res.Joined != 1 {
		t.Errorf("labels of the newest evicted and the oldest kept = %+v, %v; want 1 unknown, 1 joined", res, err)
	}
}

// TestReopen: Close keeps predictions and labels; the reopened store's
// report and joins are as before.
func TestReopen(t *testing.T) {
	c := &clock{t: t0}
	dir := t.TempDir()
	s := mustOpen(t, dir, testOptions(c))
	s.Configure("m", binarySpec())
	ps := makePreds(1000, t0, 4)
	recordAll(t, s, "m", 2, ps)
	var ls []Label
	for i := 0; i < 500; i++ {
		ls = append(ls, Label{ID: ps[i].id, Value: float64(i % 2), Time: t0})
	}
	if _, err := s.Label("m", ls); err != nil {
		t.Fatal(err)
	}
	r1, _ := s.Report("m", 2)
	b1, _ := json.Marshal(r1)
	bytes1 := s.Stats().Bytes
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if s.Record("m", 2, "x", t0, nil, nil) {
		t.Error("Record after Close = true, want false (dropped)")
	}
	if _, err := s.Label("m", ls); !errors.Is(err, ErrClosed) {
		t.Errorf("Label after Close: %v, want ErrClosed", err)
	}

	s = mustOpen(t, dir, testOptions(c))
	defer s.Close()
	s.Configure("m", binarySpec())
	r2, err := s.Report("m", 2)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(r2)
	if string(b1) != string(b2) {
		t.Errorf("report after reopen differs:\nbefore %s\nafter  %s", b1, b2)
	}
	if got := s.Stats().Bytes; got != bytes1 {
		t.Errorf("Stats.Bytes after reopen = %d, want %d", got, bytes1)
	}
	res, err := s.Label("m", []Label{{ID: ps[0].id, Value: 1, Time: t0}, {ID: ps[999].id, Value: 1, Time: t0}})
	if err != nil || res.Duplicate != 1 || res.Joined != 1 {
		t.Errorf("after reopen, a labelled and an unlabelled id: %+v, %v; want 1 duplicate, 1 joined", res, err)
	}
}

// TestDropWhenFull: with the writer held, Record fills the queue and
// then drops, counting; what it accepted is written once released.
func TestDropWhenFull(t *testing.T) {
	c := &clock{t: t0}
	o := testOptions(c)
	o.QueueRecords, o.BatchRecords = 64, 8
	s := mustOpen(t, t.TempDir(), o)
	defer s.Close()
	s.mu.Lock() // the writer blocks at its first commit
	const n = 1000
	accepted := 0
	for i := range n {
		if s.Record("m", 1, fmt.Sprint(i), t0, []float64{0.5}, nil) {
			accepted++
		}
	}
	st := s.Stats()
	s.mu.Unlock()
	// At most the queue plus the batch the writer took are accepted.
	if max := o.QueueRecords + o.BatchRecords; accepted > max || accepted < o.QueueRecords {
		t.Errorf("accepted %d of %d with the writer held, want between %d and %d", accepted, n, o.QueueRecords, max)
	}
	if st.Recorded != int64(accepted) || st.Dropped != int64(n-accepted) {
		t.Errorf("Stats recorded %d dropped %d, want %d and %d", st.Recorded, st.Dropped, accepted, n-accepted)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Written != int64(accepted) {
		t.Errorf("Stats.Written after release = %d, want %d", st.Written, accepted)
	}
	if got := countKind(t, s, kindPending); got != accepted {
		t.Errorf("%d stored predictions, want %d", got, accepted)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	c := &clock{t: t0}
	o := testOptions(c)
	o.QueueRecords = 300
	s := mustOpen(t, t.TempDir(), o)
	defer s.Close()
	outputs, sl := []float64{0.1, 0.9}, []string{"de", "mobile", "f"}
	tm := t0
	for range o.QueueRecords { // every slot warm
		s.Record("m", 1, "id", tm, outputs, sl)
	}
	s.Flush()
	s.mu.Lock() // park the writer so AllocsPerRun sees Record alone
	defer s.mu.Unlock()
	if n := testing.AllocsPerRun(100, func() {
		if !s.Record("m", 1, "id", tm, outputs, sl) {
			t.Fatal("Record into a free slot = false")
		}
	}); n != 0 {
		t.Errorf("warm Record allocates %v times per call, want 0", n)
	}
}

// TestRejected: the writer refuses what cannot be keyed, and counts it.
func TestRejected(t *testing.T) {
	s := mustOpen(t, t.TempDir(), testOptions(&clock{t: t0}))
	defer s.Close()
	s.Record("", 1, "a", t0, nil, nil)
	s.Record("a\x00b", 1, "a", t0, nil, nil)
	s.Record("m", -1, "a", t0, nil, nil)
	s.Record("m", math.MaxUint32+1, "a", t0, nil, nil)
	s.Record("m", math.MaxUint32, "ok", t0, nil, nil)
	s.Flush()
	if st := s.Stats(); st.Rejected != 4 || st.Written != 1 {
		t.Errorf("Stats = %+v, want 4 rejected, 1 written", st)
	}
}

// TestConcurrent: Record, Label, Report and Retain at once (run with
// -race); every record is written or dropped, every label counted once.
func TestConcurrent(t *testing.T) {
	c := &clock{t: t0}
	o := testOptions(c)
	o.QueueRecords = 256
	s := mustOpen(t, t.TempDir(), o)
	defer s.Close()
	s.Configure("m", binarySpec())
	const writers, per = 4, 2000
	var wg sync.WaitGroup
	var labelsSent sync.Map
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				s.Record("m", 1, fmt.Sprintf("%d-%d", w, i), t0.Add(-time.Duration(i)*time.Second), []float64{float64(i%100) / 100}, []string{"de", "mobile", "f"})
			}
		}()
	}
	total := 0
	var tmu sync.Mutex
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < per; k += 50 {
				var ls []Label
				for i := k; i < k+50; i++ {
					ls = append(ls, Label{ID: fmt.Sprintf("%d-%d", w, i), Value: float64(i % 2)})
				}
				res, err := s.Label("m", ls)
				if err != nil {
					t.Error(err)
					return
				}
				if n := res.Joined + res.Unknown + res.Duplicate + res.Late + res.Invalid; n != len(ls) {
					t.Errorf("Label outcomes add to %d, want %d: %+v", n, len(ls), res)
				}
				tmu.Lock()
				total += len(ls)
				tmu.Unlock()
				labelsSent.Store(k, true)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := s.Report("m", 1); err != nil {
				t.Error(err)
			}
			if _, err := s.Retain(); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	s.Flush()
	st := s.Stats()
	if st.Recorded+st.Dropped != writers*per || st.Written != st.Recorded {
		t.Errorf("Stats = %+v: recorded+dropped want %d, written want recorded", st, writers*per)
	}
	if n := st.Joined + st.Unknown + st.Duplicate + st.Late + st.Invalid; n != int64(total) {
		t.Errorf("label outcomes in Stats add to %d, want %d", n, total)
	}
	if got := countKind(t, s, kindJoined); int64(got) != st.Joined {
		t.Errorf("%d joined rows stored, Stats.Joined %d", got, st.Joined)
	}
}

func TestOptionsAndSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{JoinWindow: -1}, "Options.JoinWindow"},
		{Options{MaxBytes: -1}, "Options.MaxBytes"},
		{Options{QueueRecords: -1}, "Options.QueueRecords"},
		{Options{BatchRecords: -1}, "Options.BatchRecords"},
		{Options{RetainEvery: -1}, "Options.RetainEvery"},
		{Options{CalibrationBins: -1}, "Options.CalibrationBins"},
		{Options{CacheBytes: -1}, "Options.CacheBytes"},
		{Options{Windows: []time.Duration{time.Hour, 0}}, "Options.Windows[1]"},
	} {
		s, err := Open(t.TempDir(), tc.o)
		if err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded, want an error naming %s", tc.o, tc.want)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v) = %v, want it to name %s", tc.o, err, tc.want)
		}
	}
	s := mustOpen(t, t.TempDir(), Options{})
	defer s.Close()
	for _, tc := range []struct {
		sp   Spec
		want string
	}{
		{Spec{}, "Spec.Task"},
		{Spec{Task: Binary, Output: -1}, "Spec.Output"},
		{Spec{Task: Binary, SliceColumns: []string{"a"}, Protected: "b"}, "Spec.Protected"},
		{Spec{Task: Binary, Threshold: 1.5}, "Spec.Threshold"},
		{Spec{Task: Binary, Threshold: math.NaN()}, "Spec.Threshold"},
	} {
		if err := s.Configure("m", tc.sp); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Configure(%+v) = %v, want an error naming %s", tc.sp, err, tc.want)
		}
	}
	if _, err := s.Report("unconfigured", 1); err == nil || !strings.Contains(err.Error(), "Configure") {
		t.Errorf("Report of an unconfigured model = %v, want an error saying to Configure", err)
	}
	res, err := s.Label("unconfigured", []Label{{ID: "a", Value: 1}})
	if err != nil || res.Invalid != 1 {
		t.Errorf("Label of an unconfigured model = %+v, %v; want 1 invalid", res, err)
	}
}

func TestOpenLockedInProcess(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	defer s.Close()
	s2, err := Open(dir, Options{})
	if err == nil {
		s2.Close()
		t.Fatalf("second Open(%s) succeeded, want an error", dir)
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Errorf("second Open(%s) = %v, want one wrapping ErrLocked naming the folder", dir, err)
	}
}

func TestFloatJSON(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		want string
	}{{math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"}, {0.1, "0.1"}, {1e-7, "1e-07"}, {0, "0"}} {
		b, err := json.Marshal(Float(tc.f))
		if err != nil || string(b) != tc.want {
			t.Errorf("json.Marshal(Float(%v)) = %s, %v; want %s", tc.f, b, err, tc.want)
		}
	}
}

// TestBytesFormula holds docs/labels.md's size per prediction: 30 bytes,
// twice the model and the id, 8 per output, each slice plus one; 16 more
// once labelled.
func TestBytesFormula(t *testing.T) {
	s := mustOpen(t, t.TempDir(), testOptions(&clock{t: t0}))
	defer s.Close()
	s.Configure("model", binarySpec())
	s.Record("model", 1, "id-1", t0, []float64{0.2, 0.8}, []string{"de", "mobile", "f"})
	s.Flush()
	want := int64(30 + 2*len("model") + 2*len("id-1") + 2*8 + (1 + 2) + (1 + 6) + (1 + 1))
	if got := s.Stats().Bytes; got != want {
		t.Errorf("Stats.Bytes of one prediction = %d, want %d", got, want)
	}
	s.Label("model", []Label{{ID: "id-1", Value: 1}})
	if got := s.Stats().Bytes; got != want+16 {
		t.Errorf("Stats.Bytes of one labelled prediction = %d, want %d", got, want+16)
	}
}

// TestCloseDuringFlushAndRetain: Close while Flush, Label and Record run
// and the writer retains every millisecond returns, and every call after
// it reports the store closed. (The writer's retention once took the
// close lock for reading, which a Flush waiting for the writer and a
// Close waiting for the lock turned into a deadlock: this test hung.)
func TestCloseDuringFlushAndRetain(t *testing.T) {
	for round := range 20 {
		o := testOptions(&clock{t: t0})
		o.RetainEvery = time.Millisecond
		o.QueueRecords = 64
		s := mustOpen(t, t.TempDir(), o)
		s.Configure("m", binarySpec())
		var wg sync.WaitGroup
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					id := fmt.Sprintf("%d-%d", g, i)
					s.Record("m", 1, id, t0, []float64{0.5}, nil)
					var err error
					if g == 0 {
						err = s.Flush()
					} else {
						_, err = s.Label("m", []Label{{ID: id, Value: 1}})
					}
					if errors.Is(err, ErrClosed) {
						return
					}
					if err != nil {
						t.Errorf("round %d: %v", round, err)
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close: %v", round, err)
		}
		wg.Wait()
		if _, err := s.Report("m", 1); !errors.Is(err, ErrClosed) {
			t.Errorf("Report after Close = %v, want ErrClosed", err)
		}
		if _, err := s.Retain(); !errors.Is(err, ErrClosed) {
			t.Errorf("Retain after Close = %v, want ErrClosed", err)
		}
	}
}

// TestRetainRunsByItself: with RetainEvery set, the writer deletes
// expired predictions without a Retain call. (It polls for the outcome;
// a store that never retains fails by the test's timeout.)
func TestRetainRunsByItself(t *testing.T) {
	c := &clock{t: t0}
	o := testOptions(c)
	o.JoinWindow, o.RetainEvery = time.Hour, time.Millisecond
	s := mustOpen(t, t.TempDir(), o)
	defer s.Close()
	s.Record("m", 1, "old", t0.Add(-2*time.Hour), []float64{0.5}, nil)
	s.Record("m", 1, "new", t0, []float64{0.5}, nil)
	s.Flush()
	for s.Stats().Expired == 0 {
		time.Sleep(time.Millisecond)
	}
	if st := s.Stats(); st.Expired != 1 {
		t.Errorf("Stats.Expired = %d, want 1 (the prediction 2h old with a 1h join window)", st.Expired)
	}
	if n := countKind(t, s, kindPending); n != 1 {
		t.Errorf("%d predictions left, want 1", n)
	}
}
