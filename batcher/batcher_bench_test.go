package batcher

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/predictd/predictd/model"
)

// sink keeps benchmark results alive.
var sink []float64

// BenchmarkSubmit serves one-row requests from 1 or 64 concurrent clients
// through a Batcher (batching=on, default options) and, as the peer, by
// each client calling Predict itself (batching=off, what the server does
// with batching disabled). rows/s is the throughput of the whole run;
// batch_rows the mean rows per Predict call.
//
// clients=1 is a plain loop on one goroutine: b.RunParallel starts at
// least GOMAXPROCS goroutines. clients=64 is b.RunParallel with the
// parallelism that makes 64 (or the next multiple of GOMAXPROCS).
func BenchmarkSubmit(b *testing.B) {
	for _, m := range []struct {
		name string
		load func(testing.TB) (model.Predictor, []float64)
	}{
		{"mlp512", func(tb testing.TB) (model.Predictor, []float64) {
			return load(tb, "onnx", "onnx", "mlp512_softmax.onnx", "mlp512_softmax.csv", true)
		}},
		{"logreg", func(tb testing.TB) (model.Predictor, []float64) {
			return load(tb, "native", "native", "logreg_binary.model.json", "logreg_binary.csv", true)
		}},
	} {
		p, data := m.load(b)
		nf := p.NumFeatures()
		nrows := len(data) / nf
		for _, batching := range []string{"on", "off"} {
			for _, clients := range []int{1, 64} {
				b.Run(fmt.Sprintf("model=%s/batching=%s/clients=%d", m.name, batching, clients), func(b *testing.B) {
					var bt *Batcher
					if batching == "on" {
						var err error
						if bt, err = New(p, Options{}); err != nil {
							b.Fatal(err)
						}
						defer bt.Close()
					}
					var next atomic.Int64
					// client serves requests until pull says stop.
					client := func(pull func() bool) {
						var dst []float64
						var err error
						for pull() {
							r := int(next.Add(1)) % nrows
							row := data[r*nf : (r+1)*nf]
							if bt != nil {
								if dst, err = bt.Submit(row, 1, dst[:0], time.Time{}, nil); err != nil {
									panic(err)
								}
							} else {
								dst = p.Predict(dst[:0], row, false)
							}
						}
						sink = dst
					}
					b.ReportAllocs()
					b.ResetTimer()
					if clients == 1 {
						n := 0
						client(func() bool { n++; return n <= b.N })
					} else {
						procs := runtime.GOMAXPROCS(0)
						b.SetParallelism((clients + procs - 1) / procs)
						b.RunParallel(func(pb *testing.PB) { client(pb.Next) })
					}
					b.StopTimer()
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
					if bt != nil {
						st := bt.Stats()
						b.ReportMetric(float64(st.Rows)/float64(max(st.Batches, 1)), "batch_rows")
					}
				})
			}
		}
	}
}
