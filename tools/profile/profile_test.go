package profile

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/xgboost"
	"github.com/predictd/predictd/tools/score"
)

func TestNumericEdges(t *testing.T) {
	seq := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(n - 1 - i) // unsorted on purpose
		}
		return v
	}
	up := func(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }
	inf := math.Inf(1)
	for _, tc := range []struct {
		name   string
		vals   []float64
		bins   int
		edges  []float64
		counts []int64
	}{
		{"0..99 in 10 bins", seq(100), 10,
			[]float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, up(99)},
			[]int64{0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 0}},
		{"0..9 in 4 bins: floor(i·n/bins) ranks", seq(10), 4,
			[]float64{0, 2, 5, 7, up(9)},
			[]int64{0, 2, 3, 2, 3, 0}},
		{"constant", []float64{5, 5, 5, 5}, 20,
			[]float64{5, up(5)},
			[]int64{0, 4, 0}},
		{"a spike at 0 gets its own bin", []float64{0, 0, 0, 0, 0, 1, 2, 3, 4, 5}, 4,
			// ranks 2, 5, 7 of 10 are 0, 1, 3
			[]float64{0, up(0), 1, 3, up(5)},
			[]int64{0, 5, 0, 2, 3, 0}},
		{"fewer values than bins", []float64{3, 1}, 20,
			[]float64{1, up(1), 3, up(3)},
			[]int64{0, 1, 0, 1, 0}},
		{"infinities in the outer bins", []float64{inf, -inf, 1, 2, 3, 4}, 2,
			[]float64{1, 3, up(4)},
			[]int64{1, 2, 2, 1}},
		{"only infinities", []float64{inf, -inf}, 20, nil, []int64{2}},
		{"no values", nil, 20, nil, []int64{0}},
	} {
		vals := slices.Clone(tc.vals)
		d := Numeric("x", vals, int64(len(vals))+3, 3, nil, tc.bins)
		if !slices.Equal(d.Edges, tc.edges) || !slices.Equal(d.Counts, tc.counts) {
			t.Errorf("Numeric(%s) edges %v counts %v, want %v %v", tc.name, d.Edges, d.Counts, tc.edges, tc.counts)
		}
		ref := model.Reference{FormatVersion: model.ReferenceFormatVersion, Rows: d.Count, Features: []model.Distribution{d}}
		if err := ref.Validate(); err != nil {
			t.Errorf("Numeric(%s): %v", tc.name, err)
		}
	}
}

func TestNumericMoments(t *testing.T) {
	d := Numeric("x", []float64{1e9 + 1, 1e9 + 2, 1e9 + 3, math.Inf(1)}, 5, 1, []float64{1e9 + 3, 1e9 + 1}, 20)
	if d.Finite != 3 || d.Min != 1e9+1 || d.Max != 1e9+3 || d.Mean != 1e9+2 || math.Abs(d.Std-math.Sqrt(2.0/3)) > 1e-9 {
		t.Errorf("moments: finite %d min %v max %v mean %v std %v", d.Finite, d.Min, d.Max, d.Mean, d.Std)
	}
	if !slices.Equal(d.Sample, []float64{1e9 + 1, 1e9 + 3}) {
		t.Errorf("sample %v, want it sorted", d.Sample)
	}
	huge := Numeric("x", []float64{math.MaxFloat64, math.MaxFloat64}, 2, 0, nil, 20)
	if huge.Mean != 0 || huge.Std != 0 || len(huge.Edges) != 1 {
		t.Errorf("overflowing moments: mean %v std %v edges %v; want 0, 0 and one edge", huge.Mean, huge.Std, huge.Edges)
	}
}

func TestCategorical(t *testing.T) {
	counts := map[float64]int64{0: 50, 3: 20, 1: 20, 7: 5, 2.5: 5, math.Inf(1): 2}
	d := Categorical("c", counts, 110, 8, 3)
	// Top 3 by count, ties to the smaller code: 0, 1, 3; the rest (7, 2.5,
	// +Inf) are other.
	if !slices.Equal(d.Categories, []float64{0, 1, 3}) || !slices.Equal(d.Counts, []int64{50, 20, 20, 12}) {
		t.Errorf("categories %v counts %v", d.Categories, d.Counts)
	}
	if d.Finite != 100 || d.Min != 0 || d.Max != 7 {
		t.Errorf("finite %d min %v max %v", d.Finite, d.Min, d.Max)
	}
	if want := (0*50 + 3*20 + 1*20 + 7*5 + 2.5*5) / 100.0; math.Abs(d.Mean-want) > 1e-12 {
		t.Errorf("mean %v, want %v", d.Mean, want)
	}
	if d.Bin(7) != 3 || d.Bin(1) != 1 {
		t.Errorf("Bin(7) = %d, Bin(1) = %d; want other (3) and 1", d.Bin(7), d.Bin(1))
	}
	ref := model.Reference{FormatVersion: model.ReferenceFormatVersion, Rows: 110, Features: []model.Distribution{d}}
	if err := ref.Validate(); err != nil {
		t.Error(err)
	}
	none := Categorical("c", map[float64]int64{}, 4, 4, 3)
	if len(none.Categories) != 0 || !slices.Equal(none.Counts, []int64{0}) {
		t.Errorf("all missing: %+v", none)
	}
}

// loadFixture imports an XGBoost fixture model and returns it with a
// manifest describing it and the path of its rows.
func loadFixture(t *testing.T, name string) (*model.Imported, *model.Manifest, string) {
	t.Helper()
	data, err := os.ReadFile(fixture.Path("xgboost", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := xgboost.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	m := &model.Manifest{Name: name, Task: imp.Task, Classes: imp.Classes, Features: imp.Features, Outputs: imp.Outputs}
	return imp, m, fixture.Path("xgboost", name+".csv")
}

// TestBuildOnFixture profiles a real model's rows and checks every count
// against the CSV read independently, and the outputs against the model's
// own predictions.
func TestBuildOnFixture(t *testing.T) {
	for _, name := range []string{"gbtree_binary_logistic_300x6", "gbtree_cat_partition_binary_logistic", "gbtree_multi_softmax", "dart_multi_softprob"} {
		t.Run(name, func(t *testing.T) {
			imp, m, csv := loadFixture(t, name)
			ref, err := File(context.Background(), imp.Model, m, csv, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			tab := fixture.ReadTable(t, csv)
			rows := tab.Flat()
			nf := len(m.Features)
			if ref.Rows != int64(len(tab.Rows)) || ref.Source != name+".csv" {
				t.Fatalf("reference of %d rows of %s, want %d of %s.csv", ref.Rows, ref.Source, len(tab.Rows), name)
			}
			for j, f := range m.Features {
				d := &ref.Features[j]
				var missing int64
				var vals []float64
				for i := range tab.Rows {
					if v := rows[i*nf+j]; math.IsNaN(v) {
						missing++
					} else {
						vals = append(vals, v)
					}
				}
				if d.Name != f.Name || d.Kind != model.FeatureDistKind(f) || d.Missing != missing || d.Finite != int64(len(vals)) {
					t.Errorf("feature %s: %s, %d missing, %d finite; want %s, %d, %d", f.Name, d.Kind, d.Missing, d.Finite, model.FeatureDistKind(f), missing, len(vals))
				}
				counts := make([]int64, d.NumBins())
				for _, v := range vals {
					counts[d.Bin(v)]++
				}
				if !slices.Equal(counts, d.Counts) {
					t.Errorf("feature %s: counts %v, binning the CSV gives %v", f.Name, d.Counts, counts)
				}
				if d.Kind == model.DistNumeric {
					if d.Min != slices.Min(vals) || d.Max != slices.Max(vals) || len(d.Sample) != min(len(vals), DefaultSampleSize) {
						t.Errorf("feature %s: min %v max %v sample %d", f.Name, d.Min, d.Max, len(d.Sample))
					}
					distinct := len(slices.Compact(slices.Sorted(slices.Values(vals))))
					if inner := d.Counts[1 : len(d.Counts)-1]; distinct == len(vals) && slices.Max(inner) > int64(len(vals))/DefaultBins+1 {
						t.Errorf("feature %s: a bin holds %d of %d values, not about 1/%d", f.Name, slices.Max(inner), len(vals), DefaultBins)
					}
				}
			}
			preds := imp.Model.Predict(nil, rows, false)
			no := len(m.Outputs)
			for k := range m.Outputs {
				d := &ref.Outputs[k]
				var vals []float64
				for i := range tab.Rows {
					vals = append(vals, preds[i*no+k])
				}
				if d.Kind != model.OutputDistKind(m) || d.Missing != 0 || d.Min != slices.Min(vals) || d.Max != slices.Max(vals) {
					t.Errorf("output %s: %s, %d missing, min %v max %v; want min %v max %v", d.Name, d.Kind, d.Missing, d.Min, d.Max, slices.Min(vals), slices.Max(vals))
				}
			}
			if name == "gbtree_multi_softmax" && (ref.Outputs[0].Kind != model.DistCategorical || len(ref.Outputs[0].Categories) != 3) {
				t.Errorf("multi:softmax class output: %+v, want 3 categorical classes", ref.Outputs[0])
			}
			// Deterministic: the same rows give the same reference.
			again, err := File(context.Background(), imp.Model, m, csv, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			again.Created = ref.Created
			a, _, _ := model.EncodeReference(ref)
			b, _, _ := model.EncodeReference(again)
			if !slices.Equal(a, b) {
				t.Errorf("two profiles of the same rows differ")
			}
		})
	}
}

// TestProfileRoundTrip: a profile attached to a version in a repository
// reads back equal, and inspect shows it.
func TestProfileRoundTrip(t *testing.T) {
	imp, m, csv := loadFixture(t, "gbtree_binary_logistic_300x6")
	repo := t.TempDir()
	if _, _, err := model.Write(repo, "bench", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "bench", 0)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := File(context.Background(), l.Model, l.Manifest, csv, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	_ = m
	if _, _, err := model.AttachReference(repo, "bench", 0, ref); err != nil {
		t.Fatal(err)
	}
	l, err = model.Open(repo, "bench", 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := model.ReadReference(l.Dir, l.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := model.EncodeReference(ref)
	b, _, _ := model.EncodeReference(got)
	if !slices.Equal(a, b) {
		t.Errorf("the reference read back differs from the one written")
	}
	var desc strings.Builder
	if err := model.Describe(&desc, l); err != nil || !strings.Contains(desc.String(), "2000 rows of gbtree_binary_logistic_300x6.csv, 20 features, 1 outputs") {
		t.Errorf("inspect:\n%s", desc.String())
	}
}

func TestBuildParquet(t *testing.T) {
	imp, m, csv := loadFixture(t, "gbtree_reg_squarederror")
	tab := fixture.ReadTable(t, csv)
	path := filepath.Join(t.TempDir(), "rows.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := score.NewParquetWriter(f, tab.Header)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(tab.Flat()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fromParquet, err := File(context.Background(), imp.Model, m, path, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	fromCSV, err := File(context.Background(), imp.Model, m, csv, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	fromParquet.Created, fromParquet.Source = fromCSV.Created, fromCSV.Source
	a, _, _ := model.EncodeReference(fromParquet)
	b, _, _ := model.EncodeReference(fromCSV)
	if !slices.Equal(a, b) {
		t.Errorf("the Parquet and CSV profiles of the same rows differ")
	}
}

func TestBuildErrors(t *testing.T) {
	imp, m, _ := loadFixture(t, "gbtree_reg_logistic")
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	header := "f0,f1,f2,f3,f4,f5\n"
	bad := write("bad.csv", header+"1,2,3,4,5,6\n1,2,x3,4,5,6\n")
	short := write("short.csv", "f0,f1,f2\n1,2,3\n")
	empty := write("empty.csv", header)
	many := write("many.csv", header+strings.Repeat("1,2,3,4,5,6\n", 11))
	opts := DefaultOptions()
	for _, tc := range []struct {
		path string
		opts func(*Options)
		want string
	}{
		{bad, nil, bad + `:3: column "f2": "x3" is not a number`},
		{short, nil, "f3"},
		{empty, nil, "no rows"},
		{many, func(o *Options) { o.MaxRows = 10 }, "more than 10 rows"},
		{filepath.Join(dir, "rows.txt"), nil, "want a .csv or .parquet file"},
		{filepath.Join(dir, "missing.csv"), nil, "no such file"},
		{many, func(o *Options) { o.Bins = 0 }, "Bins is 0"},
		{many, func(o *Options) { o.SampleSize = -1 }, "SampleSize is -1"},
	} {
		o := opts
		if tc.opts != nil {
			tc.opts(&o)
		}
		_, err := File(context.Background(), imp.Model, m, tc.path, o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("File(%s) = %v, want an error containing %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}
