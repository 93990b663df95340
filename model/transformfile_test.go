package model

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model/transform"
)

// transformedModel is a logistic model over a fitted pipeline of one
// standardized number and a one-hot category.
func transformedModel(t *testing.T) (*Imported, *transform.Pipeline) {
	t.Helper()
	feats := []transform.Feature{
		{Name: "amount", Columns: []string{"amount"}, Steps: []transform.Step{{Op: transform.OpStandardize}}},
		{Name: "country", Columns: []string{"country"}, Encode: &transform.Encoding{Op: transform.EncOneHot, Unknown: "zeros"}},
	}
	rows := []transform.Row{
		{transform.Num(1), transform.Str("DE")},
		{transform.Num(3), transform.Str("US")},
		{transform.Num(5), transform.Str("US")},
	}
	p, err := transform.FitRows(feats, rows)
	if err != nil {
		t.Fatal(err)
	}
	names := p.Names()
	cols := make([]Feature, len(names))
	w := make([]float64, len(names))
	for i, n := range names {
		cols[i] = Feature{Name: n, Type: FeatureFloat}
		w[i] = float64(i + 1)
	}
	d := &Dense{Layers: []Layer{{In: len(names), Out: 1, Weights: w, Bias: []float64{-0.5}, Activation: kernels.ActIdentity}}, Link: LinkSigmoid}
	outs, raw := DefaultOutputs(TaskBinary, 1, LinkSigmoid)
	return &Imported{
		Kind: KindLinear, Task: TaskBinary, Features: cols, Outputs: outs, RawOutputs: raw,
		Source: Source{Format: "predictd-train", File: "spec.yaml", SHA256: "00"}, Model: d,
	}, p
}

func TestWriteOpenTransform(t *testing.T) {
	imp, p := transformedModel(t)
	repo := t.TempDir()
	m, dir, err := Write(repo, "fraud", imp, WriteOptions{Transform: p})
	if err != nil {
		t.Fatal(err)
	}
	want := []Feature{{Name: "amount", Type: FeatureFloat}, {Name: "country", Type: FeatureString}}
	if len(m.Features) != 2 || m.Features[0] != want[0] || m.Features[1] != want[1] {
		t.Fatalf("Features = %v, want %v", m.Features, want)
	}
	if len(m.ModelFeatures) != p.Width() || m.ModelFeatures[1].Name != "country=DE" {
		t.Fatalf("ModelFeatures = %v, want the transform's names %v", m.ModelFeatures, p.Names())
	}
	l, err := Open(repo, "fraud", 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.Transform == nil {
		t.Fatal("Open: no Transform for a version with one")
	}
	x, err := l.Transform.Apply(nil, transform.Row{transform.Num(3), transform.Str("US")})
	if err != nil {
		t.Fatal(err)
	}
	// amount 3 is the mean: standardized 0; country=US is the third column.
	got := l.Model.Predict(nil, x, true)
	if wantM := 3*1.0 - 0.5; got[0] != wantM {
		t.Errorf("margin of (3, US) = %v, want %v", got[0], wantM)
	}
	if _, err := os.Stat(filepath.Join(dir, m.Transform.File)); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesBadTransform(t *testing.T) {
	imp, p := transformedModel(t)
	cases := []struct {
		name string
		edit func(t *testing.T, dir string, m *Manifest)
		want string
	}{
		{"corrupt", func(t *testing.T, dir string, m *Manifest) {
			path := filepath.Join(dir, m.Transform.File)
			data, _ := os.ReadFile(path)
			data[len(data)/2] ^= 1
			os.WriteFile(path, data, 0o644)
		}, "the transform is corrupt"},
		{"truncated", func(t *testing.T, dir string, m *Manifest) {
			path := filepath.Join(dir, m.Transform.File)
			data, _ := os.ReadFile(path)
			os.WriteFile(path, data[:len(data)-1], 0o644)
		}, "the transform is truncated or corrupt"},
		{"inputs renamed", func(t *testing.T, dir string, m *Manifest) {
			editManifest(t, dir, func(mm map[string]any) {
				mm["features"].([]any)[0].(map[string]any)["name"] = "amt"
			})
		}, "are not the transform's inputs"},
		{"string input without transform", func(t *testing.T, dir string, m *Manifest) {
			editManifest(t, dir, func(mm map[string]any) {
				delete(mm, "transform")
			})
		}, "only a version with transforms takes"},
		{"model_features renamed", func(t *testing.T, dir string, m *Manifest) {
			editManifest(t, dir, func(mm map[string]any) {
				mm["model_features"].([]any)[1].(map[string]any)["name"] = "country=FR"
			})
		}, `model_features[1] is "country=FR"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			m, dir, err := Write(repo, "fraud", imp, WriteOptions{Transform: p})
			if err != nil {
				t.Fatal(err)
			}
			c.edit(t, dir, m)
			_, err = Open(repo, "fraud", 0)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Open after %s: err = %v, want one containing %q", c.name, err, c.want)
			}
		})
	}
}

func TestWriteRefusesTransformThatDoesNotFit(t *testing.T) {
	imp, p := transformedModel(t)
	imp.Features[0].Name = "amount_scaled"
	_, _, err := Write(t.TempDir(), "fraud", imp, WriteOptions{Transform: p})
	if !errors.Is(err, ErrBadOption) || !strings.Contains(err.Error(), "model_features[0]") {
		t.Fatalf("Write with columns not named as the transform's: err = %v, want ErrBadOption naming model_features[0]", err)
	}
	imp, p = transformedModel(t)
	_, _, err = Write(t.TempDir(), "fraud", imp, WriteOptions{Transform: p, Lineage: []byte(`[1]`)})
	if !errors.Is(err, ErrBadOption) || !strings.Contains(err.Error(), "Lineage") {
		t.Fatalf("Write with a Lineage that is a list: err = %v, want ErrBadOption naming Lineage", err)
	}
}

func TestTransformRowMissing(t *testing.T) {
	_, p := transformedModel(t)
	raw := transform.Row{{}, transform.Str("US")}
	if _, err := TransformRow(nil, p, true, raw); err != nil {
		t.Fatalf("TransformRow(missing amount) for a model that takes missing values: %v", err)
	}
	_, err := TransformRow(nil, p, false, raw)
	if !errors.Is(err, ErrMissingValue) || !strings.Contains(err.Error(), "column amount") {
		t.Fatalf("TransformRow(missing amount) for a dense model: err = %v, want ErrMissingValue naming column amount", err)
	}
	x, err := TransformRow(make([]float64, 0, 8), p, false, transform.Row{transform.Num(1), {}})
	if err != nil || len(x) != 3 {
		t.Fatalf("TransformRow(1, missing country): %v, %v: a onehot encoding of a missing category is all zeros, not missing", x, err)
	}
}

func TestDescribeTrained(t *testing.T) {
	imp, p := transformedModel(t)
	repo := t.TempDir()
	lin := `{"training": {"tool": "predictd retrain", "predictd_version": "v9", "spec": "train.yaml", "spec_sha256": "ab", "spec_yaml": "label: y", "data": [{"file": "d.csv", "sha256": "cd", "bytes": 10, "rows": 3}], "seed": 7, "validation_fraction": 0.2, "train_rows": 2, "valid_rows": 1, "parent": {"name": "fraud", "version": 1}, "created": "2026-12-01T00:00:00Z"}}`
	if _, _, err := Write(repo, "fraud", imp, WriteOptions{Transform: p, Lineage: []byte(lin)}); err != nil {
		t.Fatal(err)
	}
	l, err := Open(repo, "fraud", 0)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Describe(&b, l); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"lineage      trained by predictd retrain v9", "retrained from fraud:1", "data d.csv: 3 rows, 10 bytes, sha256 cd",
		"2 training rows, 1 validation rows (fraction 0.2), seed 7", "raw inputs   2", "country (string)",
		"transform    2 features -> 3 model columns", "country <- country: onehot (2 categories)", "amount <- amount: standardize",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Describe lacks %q:\n%s", want, b.String())
		}
	}
}
