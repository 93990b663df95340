package transform

import (
	"testing"
	"time"
)

var benchSink []float64

// BenchmarkApply: the oracle pipeline (11 features, 43 output columns:
// impute, log1p, standardize, minmax, clip, bucketize, onehot with rare
// folding, ordinal, hash, cross) on one raw row at a time.
func BenchmarkApply(b *testing.B) {
	p := fitOracle(b, 100)
	rows := []Row{
		{Num(12.5), Value{}, Num(41), Str("NZ"), Str("ios")},
		{Value{}, Num(52000), Value{}, Str("BR"), Str("web")},
		{Str("830.1"), Num(31000), Num(70), Str("ZZ"), Value{}},
	}
	dst := make([]float64, 0, p.Width())
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var err error
		if dst, err = p.Apply(dst[:0], rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
	benchSink = dst
}

// BenchmarkFitTable: NewFitter, AddTable over the 300-row oracle CSV, Fit.
func BenchmarkFitTable(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		benchSink = fitOracle(b, 128).Features()[0].Steps[0].Edges
	}
	b.ReportMetric(300*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
