package drift

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// numericDist is a reference distribution of vals (NaN = missing) with 20
// equal-frequency bins and the whole of the finite values as its sample;
// tools/profile builds the real ones.
func numericDist(name string, vals []float64) model.Distribution {
	var fin []float64
	d := model.Distribution{Name: name, Kind: model.DistNumeric, Count: int64(len(vals))}
	for _, v := range vals {
		if math.IsNaN(v) {
			d.Missing++
		} else {
			fin = append(fin, v)
		}
	}
	slices.Sort(fin)
	d.Finite = int64(len(fin))
	d.Min, d.Max = fin[0], fin[len(fin)-1]
	for _, v := range fin {
		d.Mean += v / float64(len(fin))
	}
	for _, v := range fin {
		d.Std += (v - d.Mean) * (v - d.Mean) / float64(len(fin))
	}
	d.Std = math.Sqrt(d.Std)
	d.Edges = []float64{fin[0]}
	for i := 1; i < 20; i++ {
		d.Edges = append(d.Edges, fin[i*len(fin)/20])
	}
	d.Edges = append(slices.Compact(d.Edges), math.Nextafter(d.Max, math.Inf(1)))
	d.Counts = make([]int64, d.NumBins())
	for _, v := range fin {
		d.Counts[d.Bin(v)]++
	}
	d.Sample = fin
	return d
}

func categoricalDist(name string, counts map[float64]int64, missing int64) model.Distribution {
	d := model.Distribution{Name: name, Kind: model.DistCategorical, Missing: missing}
	for c := range counts {
		d.Categories = append(d.Categories, c)
	}
	slices.Sort(d.Categories)
	d.Counts = make([]int64, d.NumBins())
	for i, c := range d.Categories {
		d.Counts[i] = counts[c]
		d.Count += counts[c]
		d.Finite += counts[c]
	}
	d.Count += missing
	d.Min, d.Max = d.Categories[0], d.Categories[len(d.Categories)-1]
	return d
}

// normal draws n values of N(mu, 1), a share missing of them NaN.
func normal(rng *rand.Rand, n int, mu, missing float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		if rng.Float64() < missing {
			v[i] = math.NaN()
		} else {
			v[i] = mu + rng.NormFloat64()
		}
	}
	return v
}

// testRef is a reference of 4000 rows: features x, y, z ~ N(0, 1) (10% of
// y missing) and a categorical c, one output p.
func testRef(t *testing.T) *model.Reference {
	rng := rand.New(rand.NewPCG(42, 1))
	ref := &model.Reference{FormatVersion: model.ReferenceFormatVersion, Rows: 4000}
	ref.Features = []model.Distribution{
		numericDist("x", normal(rng, 4000, 0, 0)),
		numericDist("y", normal(rng, 4000, 0, 0.1)),
		numericDist("z", normal(rng, 4000, 0, 0)),
		categoricalDist("c", map[float64]int64{0: 2000, 1: 1200, 2: 800}, 0),
	}
	ref.Outputs = []model.Distribution{numericDist("p", normal(rng, 4000, 5, 0))}
	if err := ref.Validate(); err != nil {
		t.Fatal(err)
	}
	return ref
}

// window accumulates n rows drawn like the reference, with edit applied to
// each row (x, y, z, c) first.
func window(ref *model.Reference, n int, seed uint64, edit func(row []float64)) *Window {
	rng := rand.New(rand.NewPCG(seed, 9))
	acc := NewAccumulator(ref, 1000, seed)
	row := make([]float64, 4)
	for range n {
		row[0], row[1], row[2] = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
		if rng.Float64() < 0.1 {
			row[1] = math.NaN()
		}
		switch u := rng.Float64(); {
		case u < 0.5:
			row[3] = 0
		case u < 0.8:
			row[3] = 1
		default:
			row[3] = 2
		}
		if edit != nil {
			edit(row)
		}
		acc.AddFeatures(row)
		acc.AddOutputs([]float64{5 + rng.NormFloat64()})
	}
	return acc.Window()
}

func statuses(rep *Report) map[string]Status {
	s := map[string]Status{}
	for _, rs := range [][]Result{rep.Features, rep.Outputs} {
		for _, r := range rs {
			s[r.Name] = r.Status
		}
	}
	return s
}

func TestCompareVerdicts(t *testing.T) {
	ref := testRef(t)
	th := DefaultThresholds()
	for _, tc := range []struct {
		name string
		n    int
		edit func(row []float64)
		want map[string]Status
	}{
		{"same distribution", 2000, nil,
			map[string]Status{"x": StatusOK, "y": StatusOK, "z": StatusOK, "c": StatusOK, "p": StatusOK}},
		{"x shifted by 3 std, y all missing", 2000, func(r []float64) { r[0] += 3; r[1] = math.NaN() },
			map[string]Status{"x": StatusDrift, "y": StatusDrift, "z": StatusOK, "c": StatusOK, "p": StatusOK}},
		{"z scaled, a new category", 2000, func(r []float64) {
			r[2] *= 3
			if r[3] == 2 {
				r[3] = 7
			}
		}, map[string]Status{"x": StatusOK, "y": StatusOK, "z": StatusDrift, "c": StatusDrift, "p": StatusOK}},
		{"too few rows", 100, func(r []float64) { r[0] += 3 },
			map[string]Status{"x": StatusInsufficient, "y": StatusInsufficient, "z": StatusInsufficient, "c": StatusInsufficient, "p": StatusInsufficient}},
	} {
		rep, err := Compare(ref, window(ref, tc.n, 3, tc.edit), th)
		if err != nil {
			t.Fatal(err)
		}
		got := statuses(rep)
		for name, want := range tc.want {
			if got[name] != want {
				var r Result
				for _, x := range append(rep.Features, rep.Outputs...) {
					if x.Name == name {
						r = x
					}
				}
				js, _ := json.Marshal(r)
				t.Errorf("%s: %s is %s, want %s\n%s", tc.name, name, got[name], want, js)
			}
		}
	}
}

func TestCompareStatistics(t *testing.T) {
	ref := testRef(t)
	w := window(ref, 2000, 5, func(r []float64) { r[1] = math.NaN() })
	rep, err := Compare(ref, w, DefaultThresholds())
	if err != nil {
		t.Fatal(err)
	}
	// The report's numbers are the pure functions' over the same data.
	x := rep.Features[0].Stats
	sample := slices.Sorted(slices.Values(w.Features[0].Sample))
	d, p := KS(ref.Features[0].Sample, sample)
	if x.PSI != PSI(ref.Features[0].Counts, w.Features[0].Counts) || x.KS != d || x.KSPValue != p ||
		x.Wasserstein != Wasserstein(ref.Features[0].Sample, sample) || x.SampleRef != 4000 || x.SampleWindow != 1000 {
		t.Errorf("x stats = %+v", x)
	}
	y := rep.Features[1]
	if y.Stats.MissingRate != 1 || y.Stats.Rows != 2000 || !math.IsNaN(y.Stats.PSI) || !math.IsNaN(y.Stats.KS) ||
		len(y.Reasons) != 1 || !strings.HasPrefix(y.Reasons[0], "missing rate 1 (reference 0.1") {
		t.Errorf("y (all missing) = %+v", y)
	}
	c := rep.Features[3].Stats
	if !math.IsNaN(c.KS) || math.IsNaN(c.ChiSquare) || c.ChiSquareDOF != 2 {
		t.Errorf("c (categorical) stats = %+v, want chi-square over 3 categories and no KS", c)
	}
	// NaN statistics are null in JSON.
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"psi":null`) || !strings.Contains(string(js), `"status":"drift"`) {
		t.Errorf("report JSON lacks a null PSI or the drift status:\n%.600s", js)
	}
	if rep.Status != StatusDrift {
		t.Errorf("report status %s, want drift", rep.Status)
	}
}

func TestCompareShapeErrors(t *testing.T) {
	ref := testRef(t)
	w := NewWindow(ref)
	w.Features = w.Features[:3]
	if _, err := Compare(ref, w, DefaultThresholds()); err == nil || !strings.Contains(err.Error(), "the window has 3 features, the reference 4") {
		t.Errorf("Compare with a short window = %v", err)
	}
	w = NewWindow(ref)
	w.Outputs[0].Counts = w.Outputs[0].Counts[:3]
	if _, err := Compare(ref, w, DefaultThresholds()); err == nil || !strings.Contains(err.Error(), `output "p": the window has 3 bins`) {
		t.Errorf("Compare with a short output = %v", err)
	}
}

func TestThresholdsCheck(t *testing.T) {
	if err := DefaultThresholds().Check(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Thresholds)
		want string
	}{
		{func(t *Thresholds) { t.PSIWarn = -1 }, "PSIWarn is -1"},
		{func(t *Thresholds) { t.JSDrift = math.NaN() }, "JSDrift is NaN"},
		{func(t *Thresholds) { t.KSPWarn = 2 }, "KSPWarn is 2, want a p-value"},
		{func(t *Thresholds) { t.PSIDrift = 0.05 }, "PSIDrift 0.05 is below PSIWarn 0.1"},
		{func(t *Thresholds) { t.ChiSquarePDrift = 0.05 }, "ChiSquarePDrift 0.05 is above ChiSquarePWarn 0.01"},
		{func(t *Thresholds) { t.MinRows = -1 }, "MinRows is -1"},
	} {
		th := DefaultThresholds()
		tc.edit(&th)
		if err := th.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check() = %v, want %q", err, tc.want)
		}
	}
	// 0 turns a check off.
	th := DefaultThresholds()
	th.PSIWarn, th.PSIDrift = 0, 0
	if err := th.Check(); err != nil {
		t.Errorf("PSI off: %v", err)
	}
}

func TestAccumulatorDeterministic(t *testing.T) {
	ref := testRef(t)
	a, b := window(ref, 3000, 11, nil), window(ref, 3000, 11, nil)
	for i := range a.Features {
		if !slices.Equal(a.Features[i].Counts, b.Features[i].Counts) || !slices.Equal(a.Features[i].Sample, b.Features[i].Sample) {
			t.Errorf("feature %d: two accumulations of the same rows differ", i)
		}
	}
	if len(a.Features[3].Sample) != 0 {
		t.Errorf("a categorical feature kept a sample of %d", len(a.Features[3].Sample))
	}
	if a.Features[1].Missing == 0 || a.Features[1].Rows != 3000 {
		t.Errorf("y: %d rows, %d missing", a.Features[1].Rows, a.Features[1].Missing)
	}
}
