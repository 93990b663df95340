package wire

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// BenchmarkDecodeInferBinary decodes the same FP32 [rows, 10] input sent
// as JSON data (DecodeInfer) and as binary tensor data
// (DecodeInferBinary), in the same run: the ratio is what the binary
// extension saves a tritonclient caller on the server's side.
func BenchmarkDecodeInferBinary(b *testing.B) {
	const nf = 10
	names := make([]string, nf)
	for i := range names {
		names[i] = fmt.Sprintf("f%d", i)
	}
	s := testSchema(model.KindTrees, names...)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rows := range []int{1, 64, 1024} {
		vals := make([]float32, rows*nf)
		text := make([]string, len(vals))
		for i := range vals {
			vals[i] = float32(rng.NormFloat64() * 100)
			text[i] = strconv.FormatFloat(float64(vals[i]), 'g', -1, 32)
		}
		jsonBody := []byte(fmt.Sprintf(`{"inputs":[{"name":"input","shape":[%d,%d],"datatype":"FP32","data":[%s]}]}`, rows, nf, strings.Join(text, ",")))
		binBodyBytes, hl := binBody(fmt.Sprintf(`{"inputs":[{"name":"input","shape":[%d,%d],"datatype":"FP32","parameters":{"binary_data_size":%d}}]}`, rows, nf, 4*len(vals)), f32Bytes(vals...))
		for _, form := range []string{"json", "binary"} {
			b.Run(fmt.Sprintf("rows=%d/features=%d/form=%s", rows, nf, form), func(b *testing.B) {
				r := GetRequest()
				defer PutRequest(r)
				body := jsonBody
				if form == "binary" {
					body = binBodyBytes
				}
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if form == "binary" {
						sinkErr = r.DecodeInferBinary(body, hl, s, Limits{})
					} else {
						sinkErr = r.DecodeInfer(body, s, Limits{})
					}
					if sinkErr != nil {
						b.Fatal(sinkErr)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
			})
		}
	}
}
