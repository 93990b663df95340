package lightgbm

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/predictd/predictd/model"
)

var benchSink []float64

// BenchmarkPredict scores the multiclass fixture (50 trees of 31 leaves, 5
// classes, 28 features) on its own test rows, in batches.
func BenchmarkPredict(b *testing.B) {
	dir := fixtureDir(b)
	_, tr := mustParse(b, "lgmulticlass.model", readFile(b, filepath.Join(dir, "lgmulticlass.model")))
	rows := readTSV(b, filepath.Join(dir, "multiclass_test.tsv"), 1)
	for _, batch := range []int{1, 64} {
		b.Run(fmt.Sprintf("trees=50/classes=5/batch=%d", batch), func(b *testing.B) {
			flat := make([]float64, 0, batch*tr.NumFeatures())
			for i := 0; i < batch; i++ {
				flat = append(flat, rows[i%len(rows)]...)
			}
			dst := make([]float64, 0, batch*tr.NumOutputs())
			b.ReportAllocs()
			b.SetBytes(int64(8 * len(flat)))
			for b.Loop() {
				dst = tr.Predict(dst[:0], flat, false)
			}
			benchSink = dst
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	// The same trees with a linear model of 3 terms on every leaf, to price
	// linear leaves against the constant ones above.
	lin := withLinearLeaves(tr, 3)
	const batch = 64
	b.Run(fmt.Sprintf("trees=50/classes=5/linear_terms=3/batch=%d", batch), func(b *testing.B) {
		flat := make([]float64, 0, batch*lin.NumFeatures())
		for i := 0; i < batch; i++ {
			flat = append(flat, rows[i%len(rows)]...)
		}
		dst := make([]float64, 0, batch*lin.NumOutputs())
		b.ReportAllocs()
		b.SetBytes(int64(8 * len(flat)))
		for b.Loop() {
			dst = lin.Predict(dst[:0], flat, false)
		}
		benchSink = dst
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
	})
}

// withLinearLeaves returns a copy of tr whose every leaf is a linear leaf of
// terms terms over consecutive features.
func withLinearLeaves(tr *model.Trees, terms int) *model.Trees {
	out := *tr
	f := &out.Forest
	f.Nodes = slices.Clone(f.Nodes)
	f.LinConst, f.LinBounds, f.LinFeatures, f.LinCoeffs = nil, []int32{0}, nil, nil
	for i := range f.Nodes {
		nd := &f.Nodes[i]
		if !nd.IsLeaf() {
			continue
		}
		for j := 0; j < terms; j++ {
			f.LinFeatures = append(f.LinFeatures, int32((i+j)%f.NumFeatures))
			f.LinCoeffs = append(f.LinCoeffs, 1e-3*float64(j+1))
		}
		f.LinConst = append(f.LinConst, nd.Value)
		f.LinBounds = append(f.LinBounds, int32(len(f.LinFeatures)))
		nd.Linear = int32(len(f.LinConst))
	}
	if err := out.Validate(); err != nil {
		panic("BUG: " + err.Error())
	}
	return &out
}

// BenchmarkParse reads the multiclass fixture (about 120 KB).
func BenchmarkParse(b *testing.B) {
	dir := fixtureDir(b)
	data := readFile(b, filepath.Join(dir, "lgmulticlass.model"))
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
