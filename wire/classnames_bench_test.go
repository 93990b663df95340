package wire

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/predictd/predictd/model"
)

// BenchmarkLabelNames encodes the label output of rows instances of a
// 3-class model as class indices (INT64) and as class names (BYTES), JSON
// and binary, in the same run: the ratio is what naming the classes costs
// the response encoder.
func BenchmarkLabelNames(b *testing.B) {
	plain := testSchema(model.KindTrees, "a", "b").WithLabel(LabelArgmax)
	named := plain.WithClassNames([]string{"setosa", "versicolor", "virginica"})
	rng := rand.New(rand.NewPCG(3, 4))
	for _, rows := range []int{1, 64, 1024} {
		preds := make([]float64, 3*rows)
		for i := range preds {
			preds[i] = rng.Float64()
		}
		for _, form := range []string{"json", "binary"} {
			for _, labels := range []string{"index", "name"} {
				b.Run(fmt.Sprintf("rows=%d/form=%s/labels=%s", rows, form, labels), func(b *testing.B) {
					s := plain
					if labels == "name" {
						s = named
					}
					binary := ""
					if form == "binary" {
						binary = `,"parameters":{"binary_data":true}`
					}
					r := GetRequest()
					defer PutRequest(r)
					body := fmt.Sprintf(`{"outputs":[{"name":"label"%s}],"inputs":[{"name":"input","shape":[%d,2],"datatype":"FP64","data":[%s]}]}`, binary, rows, zeros(2*rows))
					if err := r.DecodeInfer([]byte(body), s, Limits{}); err != nil {
						b.Fatal(err)
					}
					buf := make([]byte, 0, 64<<10)
					b.ReportAllocs()
					for b.Loop() {
						buf, _ = AppendInferBinary(buf[:0], "m", 1, r, s, preds, 3, nil)
					}
					sinkLabelBytes = len(buf)
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
				})
			}
		}
	}
}

var sinkLabelBytes int

func zeros(n int) string {
	b := make([]byte, 0, 2*n)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '0')
	}
	return string(b)
}
