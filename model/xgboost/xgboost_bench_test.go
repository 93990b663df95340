package xgboost

import (
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
)

var sink []float64

// BenchmarkPredict scores the 300-tree, depth-6 XGBoost fixture (20
// features, 2000 real rows with missing values) from one goroutine, with
// GOMAXPROCS set to the thread count (a batch of 128 rows or more is shared
// over that many cores).
func BenchmarkPredict(b *testing.B) {
	const name = "gbtree_binary_logistic_300x6"
	data, err := os.ReadFile(fixture.Path("xgboost", name+".json"))
	if err != nil {
		b.Fatal(err)
	}
	imp, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	all := fixture.ReadTable(b, fixture.Path("xgboost", name+".csv")).Flat()
	nf := imp.Model.NumFeatures()
	for _, threads := range []int{1, 2} {
		for _, batch := range []int{1, 32, 256} {
			b.Run(fmt.Sprintf("trees=300/depth=6/batch=%d/threads=%d", batch, threads), func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
				dst := make([]float64, 0, batch)
				nrows := len(all) / nf
				b.ReportAllocs()
				b.ResetTimer()
				r := 0
				for i := 0; i < b.N; i++ {
					if r+batch > nrows {
						r = 0
					}
					dst = imp.Model.Predict(dst[:0], all[r*nf:(r+batch)*nf], false)
					r += batch
				}
				sink = dst
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/row")
			})
		}
	}
}

func TestPredictAllocs(t *testing.T) {
	data, err := os.ReadFile(fixture.Path("xgboost", "gbtree_multi_softprob.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	rows := fixture.ReadTable(t, fixture.Path("xgboost", "gbtree_multi_softprob.csv")).Flat()[:imp.Model.NumFeatures()*32]
	dst := make([]float64, 0, 32*imp.Model.NumOutputs())
	if n := testing.AllocsPerRun(100, func() { dst = imp.Model.Predict(dst[:0], rows, false) }); n != 0 {
		t.Errorf("Predict allocates %v times per call on a warm model, want 0", n)
	}
}
