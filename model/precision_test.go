package model_test

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/native"
)

func nativeImport(t *testing.T, name string) *model.Imported {
	t.Helper()
	src, err := os.ReadFile(fixture.Path("native", name+".model.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := native.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// TestPrecision: a dense model's precision is recorded at import (float64
// by default for scikit-learn models, float32 on request for an MLP), is
// what Open runs, and is refused where it does not fit.
func TestPrecision(t *testing.T) {
	mlp := nativeImport(t, "mlp_multiclass_tanh")
	rows := fixture.ReadTable(t, fixture.Path("native", "mlp_multiclass_tanh.csv")).Flat()
	ref := mlp.Model.Predict(nil, rows, false) // the float64 reference path
	for _, c := range []struct {
		precision, want string
	}{
		{"", model.PrecisionFloat64},
		{"float64", model.PrecisionFloat64},
		{"float32", model.PrecisionFloat32},
	} {
		repo := t.TempDir()
		m, dir, err := model.Write(repo, "m", mlp, model.WriteOptions{Precision: c.precision})
		if err != nil {
			t.Fatal(err)
		}
		if m.Precision != c.want {
			t.Errorf("Write(precision %q) recorded %q, want %q", c.precision, m.Precision, c.want)
		}
		l, err := model.OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		got := l.Model.Predict(nil, rows, false)
		same := true
		for i := range got {
			same = same && got[i] == ref[i]
		}
		if same != (c.want == model.PrecisionFloat64) {
			t.Errorf("precision %q: predictions equal to the float64 reference: %v, want %v", c.want, same, c.want == model.PrecisionFloat64)
		}
		var desc strings.Builder
		model.Describe(&desc, l)
		if !regexp.MustCompile(`(?m)^precision\s+` + c.want + ` `).MatchString(desc.String()) {
			t.Errorf("inspect of a %s model does not say so:\n%s", c.want, desc.String())
		}
	}
	linear := nativeImport(t, "logreg_binary")
	for _, c := range []struct {
		imp       *model.Imported
		precision string
		want      string
	}{
		{linear, "float32", "a linear model is always served in float64"},
		{mlp, "float16", `precision "float16": want float64 or float32`},
	} {
		_, _, err := model.Write(t.TempDir(), "m", c.imp, model.WriteOptions{Precision: c.precision})
		if !errors.Is(err, model.ErrBadOption) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Write(precision %q) = %v, want ErrBadOption saying %q", c.precision, err, c.want)
		}
	}
}
