package bench

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// TestReadModelRows: for a version with feature transforms, ReadModelRows
// reads a file of its raw inputs into the rows model.TransformRow gives,
// up to maxRows; standard input is refused.
func TestReadModelRows(t *testing.T) {
	p, err := transform.FitRows([]transform.Feature{
		{Name: "amount", Columns: []string{"amount"}, Steps: []transform.Step{{Op: transform.OpStandardize}}},
		{Name: "country", Columns: []string{"country"}, Encode: &transform.Encoding{Op: transform.EncOneHot, Unknown: "zeros"}},
	}, []transform.Row{{transform.Num(1), transform.Str("DE")}, {transform.Num(4), transform.Str("US")}})
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]model.Feature, p.Width())
	for i, n := range p.Names() {
		cols[i] = model.Feature{Name: n, Type: model.FeatureFloat}
	}
	outs, raw := model.DefaultOutputs(model.TaskRegression, 1, model.LinkIdentity)
	imp := &model.Imported{
		Kind: model.KindLinear, Task: model.TaskRegression, Features: cols, Outputs: outs, RawOutputs: raw,
		Source: model.Source{Format: "predictd-train", File: "spec.yaml", SHA256: "00"},
		Model:  &model.Dense{Layers: []model.Layer{{In: p.Width(), Out: 1, Weights: make([]float64, p.Width()), Bias: []float64{0}, Activation: kernels.ActIdentity}}, Link: model.LinkIdentity},
	}
	repo := t.TempDir()
	if _, _, err := model.Write(repo, "tm", imp, model.WriteOptions{Transform: p}); err != nil {
		t.Fatal(err)
	}
	l, err := model.Open(repo, "tm", 0)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "raw.csv")
	if err := os.WriteFile(in, []byte("country,amount\nUS,2.5\nDE,-1\nFR,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var want []float64
	for _, r := range []transform.Row{{transform.Num(2.5), transform.Str("US")}, {transform.Num(-1), transform.Str("DE")}, {transform.Num(3), transform.Str("FR")}} {
		if want, err = model.TransformRow(want, l.Transform, false, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadModelRows(in, l, DefaultMaxRows)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ReadModelRows(%s) = %v, %v; want %v", in, got, err, want)
	}
	got, err = ReadModelRows(in, l, 2)
	if err != nil || !slices.Equal(got, want[:2*p.Width()]) {
		t.Errorf("ReadModelRows(%s, max 2) = %v, %v; want %v", in, got, err, want[:2*p.Width()])
	}
	if _, err := ReadModelRows("-", l, 2); err == nil || !strings.Contains(err.Error(), "want a .csv or .parquet file") {
		t.Errorf("ReadModelRows(-) = %v, want a refusal", err)
	}
}
