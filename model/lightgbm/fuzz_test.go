package lightgbm

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// FuzzParse: Parse never panics, and whatever it accepts is a valid model
// whose shape agrees with its manifest fields and which predicts, raw and
// transformed, without panicking on ordinary, extreme, categorical-looking
// and missing values.
func FuzzParse(f *testing.F) {
	f.Add([]byte(errBase))
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "lightgbm")
	for _, name := range []string{"model_simple.txt", "lgmulticlass.model", "lg_dart_breast_cancer.model"} {
		seeds = append(seeds, filepath.Join(dir, name))
	}
	for _, path := range seeds {
		if data, err := os.ReadFile(path); err == nil {
			f.Add(data)
		}
	}
	for _, name := range []string{"tree_1leaf.txt", "tree_2leaves.txt", "tree_3leaves.txt"} {
		if data, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(wrapTree(data))
		}
	}
	values := []float64{0, 1, -1, -0.5, 0.5, 100, 40, 1e-36, math.NaN(), math.Inf(1), math.Inf(-1), 1e300, -1e300, 3e9}
	f.Fuzz(func(t *testing.T, data []byte) {
		imp, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "BUG") {
				t.Fatalf("Parse hit a broken invariant: %v", err)
			}
			if imp != nil {
				t.Fatalf("Parse returned a model and an error: %v", err)
			}
			return
		}
		tr, ok := imp.Model.(*model.Trees)
		if !ok {
			t.Fatalf("model is %T, want *model.Trees", imp.Model)
		}
		if err := tr.Validate(); err != nil {
			t.Fatalf("accepted model fails Validate: %v", err)
		}
		if len(imp.Features) != tr.NumFeatures() || len(imp.Outputs) != tr.NumOutputs() || len(imp.RawOutputs) != tr.NumMargins() {
			t.Fatalf("%d features, %d outputs, %d raw outputs for a model of %d, %d, %d",
				len(imp.Features), len(imp.Outputs), len(imp.RawOutputs), tr.NumFeatures(), tr.NumOutputs(), tr.NumMargins())
		}
		nf := tr.NumFeatures()
		rows := make([]float64, 0, (len(values)+1)*nf)
		for _, v := range values {
			for j := 0; j < nf; j++ {
				rows = append(rows, v)
			}
		}
		for j := 0; j < nf; j++ { // one mixed row
			rows = append(rows, values[j%len(values)])
		}
		n := len(rows) / nf
		if got := tr.Predict(nil, rows, true); len(got) != n*tr.NumMargins() {
			t.Fatalf("raw predict gave %d values for %d rows", len(got), n)
		}
		if got := tr.Predict(nil, rows, false); len(got) != n*tr.NumOutputs() {
			t.Fatalf("predict gave %d values for %d rows", len(got), n)
		}
	})
}
