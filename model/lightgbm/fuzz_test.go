package lightgbm

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
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
		fixture.CheckImported(t, imp, err, values...)
	})
}
