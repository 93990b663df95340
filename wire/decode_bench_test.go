package wire

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/predictd/predictd/model"
)

var (
	sinkErr   error
	sinkFloat float64
	sinkBytes []byte
)

// benchBodies returns a schema of nf float features and n-instance requests
// of random values: predict's object and array forms, and an inference
// request with one 2-D input. Short values have 6 decimals, like 123.456789
// (a feature written from a table); long ones are float32 values widened,
// like 0.10000000149011612 (numpy's float32 through Python's json), which
// take strconv's slower path.
func benchBodies(n, nf int, long bool) (s *Schema, objects, arrays, infer []byte) {
	rng := rand.New(rand.NewPCG(5, 6))
	names := make([]string, nf)
	for j := range names {
		names[j] = fmt.Sprintf("feature_%02d", j)
	}
	s = testSchema(model.KindTrees, names...)
	val := func() []byte {
		if long {
			return strconv.AppendFloat(nil, float64(float32(rng.NormFloat64())), 'g', -1, 64)
		}
		return strconv.AppendFloat(nil, float64(rng.IntN(2e9))/1e6-1000, 'f', 6, 64)
	}
	objects = []byte(`{"instances":[`)
	arrays = []byte(`{"instances":[`)
	infer = fmt.Appendf(nil, `{"id":"bench","inputs":[{"name":"input","shape":[%d,%d],"datatype":"FP64","data":[`, n, nf)
	for i := range n {
		if i > 0 {
			objects, arrays, infer = append(objects, ','), append(arrays, ','), append(infer, ',')
		}
		objects, arrays, infer = append(objects, '{'), append(arrays, '['), append(infer, '[')
		for j := range nf {
			if j > 0 {
				objects, arrays, infer = append(objects, ','), append(arrays, ','), append(infer, ',')
			}
			v := val()
			objects = append(fmt.Appendf(objects, "%q:", names[j]), v...)
			arrays = append(arrays, v...)
			infer = append(infer, v...)
		}
		objects, arrays, infer = append(objects, '}'), append(arrays, ']'), append(infer, ']')
	}
	return s, append(objects, "]}"...), append(arrays, "]}"...), append(infer, "]}]}"...)
}

// BenchmarkDecodePredict decodes a 32-instance, 20-feature request with a
// warm Request, against encoding/json decoding the same body into Go
// values (the peer it replaces; it checks nothing).
func BenchmarkDecodePredict(b *testing.B) {
	const n, nf = 32, 20
	s, objects, arrays, infer := benchBodies(n, nf, false)
	_, _, longArrays, _ := benchBodies(n, nf, true)
	for _, tc := range []struct {
		name string
		body []byte
		dec  func(r *Request, body []byte) error
	}{
		{"form=objects/decoder=predictd", objects, func(r *Request, body []byte) error { return r.DecodePredict(body, s, Limits{}) }},
		{"form=objects/decoder=encoding-json", objects, func(r *Request, body []byte) error {
			var req struct{ Instances []map[string]*float64 }
			return json.Unmarshal(body, &req)
		}},
		{"form=arrays/decoder=predictd", arrays, func(r *Request, body []byte) error { return r.DecodePredict(body, s, Limits{}) }},
		{"form=arrays/decoder=encoding-json", arrays, func(r *Request, body []byte) error {
			var req struct{ Instances [][]*float64 }
			return json.Unmarshal(body, &req)
		}},
		{"form=arrays/values=long/decoder=predictd", longArrays, func(r *Request, body []byte) error { return r.DecodePredict(body, s, Limits{}) }},
		{"form=arrays/values=long/decoder=encoding-json", longArrays, func(r *Request, body []byte) error {
			var req struct{ Instances [][]*float64 }
			return json.Unmarshal(body, &req)
		}},
		{"form=infer/decoder=predictd", infer, func(r *Request, body []byte) error { return r.DecodeInfer(body, s, Limits{}) }},
	} {
		b.Run(fmt.Sprintf("instances=%d/features=%d/%s", n, nf, tc.name), func(b *testing.B) {
			r := GetRequest()
			defer PutRequest(r)
			if err := tc.dec(r, tc.body); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.body)))
			for b.Loop() {
				sinkErr = tc.dec(r, tc.body)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*nf), "ns/value")
		})
	}
}

// BenchmarkNumber measures the scanner's number conversion (its exact fast
// path, ParseFloat past it) against strconv.ParseFloat alone on the text.
func BenchmarkNumber(b *testing.B) {
	for _, text := range []string{"123.456789", "-0.5", "42", "1.2345678901234567e-5"} {
		buf := []byte(text)
		b.Run("text="+text+"/impl=scanner", func(b *testing.B) {
			var sc scanner
			for b.Loop() {
				sc.reset(buf)
				sinkFloat, sinkErr = sc.number()
			}
		})
		b.Run("text="+text+"/impl=strconv", func(b *testing.B) {
			for b.Loop() {
				sinkFloat, sinkErr = strconv.ParseFloat(text, 64)
			}
		})
	}
}

func BenchmarkAppendPredict(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 32} {
		preds := make([]float64, n)
		for i := range preds {
			preds[i] = rng.Float64()
		}
		b.Run(fmt.Sprintf("instances=%d/outputs=1", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkBytes = AppendPredict(sinkBytes[:0], preds, n, 1, false, 3)
			}
		})
	}
}
