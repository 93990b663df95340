package drift

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/xgboost"
	mdrift "github.com/predictd/predictd/monitor/drift"
	"github.com/predictd/predictd/tools/profile"
	"github.com/predictd/predictd/tools/score"
)

// version writes the 300-tree, 20-feature fixture model with a reference
// profiled on its 2,000 rows into a repository and loads it.
func version(t *testing.T) (*model.Loaded, *model.Reference, fixture.Table) {
	t.Helper()
	data, err := os.ReadFile(fixture.Path("xgboost", "gbtree_binary_logistic_300x6.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := xgboost.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if _, _, err := model.Write(repo, "m", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "m", 0)
	if err != nil {
		t.Fatal(err)
	}
	csv := fixture.Path("xgboost", "gbtree_binary_logistic_300x6.csv")
	ref, err := profile.File(context.Background(), l.Model, l.Manifest, csv, profile.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return l, ref, fixture.ReadTable(t, csv)
}

// drawn is every other row of the training rows, with edit applied.
func drawn(tab fixture.Table, edit func(r []float64)) [][]float64 {
	var rows [][]float64
	for i := 0; i < len(tab.Rows); i += 2 {
		r := slices.Clone(tab.Rows[i])
		if edit != nil {
			edit(r)
		}
		rows = append(rows, r)
	}
	return rows
}

func col(tab fixture.Table, name string) int {
	return slices.Index(tab.Header, name)
}

func TestFileVerdicts(t *testing.T) {
	l, ref, tab := version(t)
	ctx := context.Background()

	rep, err := File(ctx, l, ref, fixture.WriteCSV(t, "rows.csv", tab.Header, drawn(tab, nil)), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != mdrift.StatusOK || rep.Rows != 1000 {
		var b strings.Builder
		rep.WriteText(&b)
		t.Errorf("rows drawn from the training rows: status %s over %d rows, want ok over 1000\n%s", rep.Status, rep.Rows, b.String())
	}

	// f3 shifted by 3 reference standard deviations, f7 all missing (a
	// broken upstream): those two drift, and no other feature.
	shift := 3 * ref.Features[col(tab, "f3")].Std
	rep, err = File(ctx, l, ref, fixture.WriteCSV(t, "rows.csv", tab.Header, drawn(tab, func(r []float64) {
		r[col(tab, "f3")] += shift
		r[col(tab, "f7")] = math.NaN()
	})), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var features []string
	for _, x := range rep.Features {
		if x.Status != mdrift.StatusOK {
			features = append(features, x.Name+" "+string(x.Status))
		}
	}
	if !slices.Equal(features, []string{"f3 drift", "f7 drift"}) {
		var b strings.Builder
		rep.WriteText(&b)
		t.Errorf("features flagged: %v, want exactly f3 and f7 drifting\n%s", features, b.String())
	}
	if rep.Status != mdrift.StatusDrift {
		t.Errorf("report status %s, want drift", rep.Status)
	}
	f7 := rep.Features[col(tab, "f7")].Stats
	if f7.MissingRate != 1 || !math.IsNaN(f7.PSI) {
		t.Errorf("f7 all missing: missing rate %v, PSI %v", f7.MissingRate, f7.PSI)
	}
}

// TestRowsIsTheAccumulator: the window File compares is the one
// monitor/drift's Accumulator builds from the same rows and the model's own
// predictions, so what the online monitor fills from the same traffic
// gives the same statistics.
func TestRowsIsTheAccumulator(t *testing.T) {
	l, ref, tab := version(t)
	rows := drawn(tab, nil)
	r, closeRows, err := score.OpenInput(fixture.WriteCSV(t, "rows.csv", tab.Header, rows), l.Manifest.Features)
	if err != nil {
		t.Fatal(err)
	}
	defer closeRows()
	opts := DefaultOptions()
	opts.SampleSize = 300 // smaller than the file: the sample is drawn
	w, n, err := Rows(context.Background(), l.Model, l.Manifest, ref, r, opts)
	if err != nil {
		t.Fatal(err)
	}
	acc := mdrift.NewAccumulator(ref, opts.SampleSize, opts.Seed)
	for _, row := range rows {
		acc.AddFeatures(row)
		acc.AddOutputs(l.Model.Predict(nil, row, false))
	}
	want := acc.Window()
	if n != int64(len(rows)) {
		t.Errorf("Rows read %d rows, want %d", n, len(rows))
	}
	for i := range want.Features {
		g, w := w.Features[i], want.Features[i]
		if g.Rows != w.Rows || g.Missing != w.Missing || !slices.Equal(g.Counts, w.Counts) || !slices.Equal(g.Sample, w.Sample) {
			t.Errorf("feature %d: window %+v, accumulator %+v", i, g, w)
		}
	}
	if !slices.Equal(w.Outputs[0].Counts, want.Outputs[0].Counts) || !slices.Equal(w.Outputs[0].Sample, want.Outputs[0].Sample) {
		t.Errorf("output: window %+v, accumulator %+v", w.Outputs[0], want.Outputs[0])
	}
	a, _ := mdrift.Compare(ref, w, opts.Thresholds)
	b, _ := mdrift.Compare(ref, want, opts.Thresholds)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("the reports differ")
	}
}

func TestReportOutput(t *testing.T) {
	l, ref, tab := version(t)
	rep, err := File(context.Background(), l, ref, fixture.WriteCSV(t, "rows.csv", tab.Header, drawn(tab, func(r []float64) { r[0] = math.NaN() })), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"model m version 1: reference 2000 rows of gbtree_binary_logistic_300x6.csv", "input ", "1000 rows", "status drift", "drift f0: missing rate 1"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Model    string `json:"model"`
		Status   string `json:"status"`
		Features []struct {
			Name   string
			Status string
			Stats  map[string]any
		} `json:"features"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Model != "m" || back.Status != "drift" || back.Features[0].Status != "drift" || back.Features[0].Stats["psi"] != nil || back.Features[1].Stats["ks_p"] == nil {
		t.Errorf("JSON report: %s", js.String())
	}
}

func TestFileErrors(t *testing.T) {
	l, ref, tab := version(t)
	ctx := context.Background()
	bad := fixture.WriteCSV(t, "rows.csv", tab.Header, drawn(tab, nil))
	data, _ := os.ReadFile(bad)
	lines := strings.Split(string(data), "\n")
	lines[5] = strings.Replace(lines[5], ",", ",oops", 1)
	os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644)
	empty := fixture.WriteCSV(t, "rows.csv", tab.Header, nil)
	th := DefaultOptions()
	th.Thresholds.PSIDrift = 0.01
	other := *ref
	other.Features = other.Features[1:]
	for _, tc := range []struct {
		path string
		ref  *model.Reference
		opts Options
		want string
	}{
		{bad, ref, DefaultOptions(), bad + `:6: column "f1": "oops`},
		{empty, ref, DefaultOptions(), "no rows to compare"},
		{bad, ref, th, "PSIDrift 0.01 is below PSIWarn 0.1"},
		{bad, &other, DefaultOptions(), "reference has 19 features, the model 20"},
		{filepath.Join(t.TempDir(), "x.json"), ref, DefaultOptions(), "want a .csv or .parquet file"},
	} {
		_, err := File(ctx, l, tc.ref, tc.path, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("File(%s) = %v, want an error containing %q", filepath.Base(tc.path), err, tc.want)
		}
	}
}
