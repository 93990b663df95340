package onnx

import (
	"strconv"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
)

var treeBenchSink []float64

// BenchmarkTreeSklearnRF predicts rf_classifier_multi's 100 rows (12 trees
// of depth 5, 3 classes: 36 predictd trees) with FastForest, against the
// reference walk (kernels.Forest.Margins) in the same run.
func BenchmarkTreeSklearnRF(b *testing.B) {
	dir := fixture.Path("onnx", "sklearn")
	n, width := findTreeEnsemble(b, dir+"/rf_classifier_multi.onnx")
	in := fixture.ReadTable(b, dir+"/rf_classifier_multi.csv")
	rows := in.Flat()
	for _, prepared := range []bool{true, false} {
		e, err := treeEnsemble(n, width)
		if err != nil {
			b.Fatal(err)
		}
		name := "kernel=reference"
		if prepared {
			name = "kernel=fast"
			if err := e.Trees.Prepare(); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(name+"/batch="+strconv.Itoa(len(in.Rows)), func(b *testing.B) {
			b.ReportAllocs()
			dst := make([]float64, 0, len(in.Rows)*3)
			for b.Loop() {
				dst = e.Trees.Predict(dst[:0], rows, false)
			}
			treeBenchSink = dst
			b.ReportMetric(float64(b.N)*float64(len(in.Rows))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
