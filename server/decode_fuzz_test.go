package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/predictd/predictd/model"
)

// The fuzzed decoders check against two schemas: a tree model (missing
// values allowed) and a dense one (not), each with a categorical feature.
var (
	fuzzTrees = testSchema(model.KindTrees, "a", "b", "c:cat")
	fuzzDense = testSchema(model.KindLinear, "x", "input:cat")
)

var fuzzLimits = Limits{MaxInstances: 64}

func FuzzDecodePredict(f *testing.F) {
	for _, s := range []string{
		`{"instances":[{"a":1,"b":2.5,"c":3}]}`,
		`{"instances":[{"c":1,"b":null,"a":-0.5},{"x":1,"input":2}]}`,
		`{"instances":[[1,2,3],[4,null,6.0]]}`,
		`{"instances":[[1,2]]}`,
		`{"inputs":{"a":[1,2],"b":[3,null],"c":[5,6]}}`,
		`{"inputs":{"x":[1e-300],"input":[7]}}`,
		`{"inputs":[[1,2,3]],"signature_name":"serving_default"}`,
		`{"instanc\u0065s":[{"\u0061":1,"b":2,"c":3}]}`,
		`{"instances":[[1e999,2,1]]}`,
		`{"instances":[[1,2,1.5]]}`,
		`{"instances":[[1,true,1]]}`,
		`{"instances":[{"a":1,"a":2}]}`,
		`{"instances":[]}`,
		`{"instances":[[1,2,3]]} x`,
		`{"instances":[[1,2,NaN]]}`,
		`{"instances":[[1,2,[[[[[[[[]]]]]]]]]]}`,
		`[1]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := GetRequest()
		defer PutRequest(r)
		for _, s := range []*Schema{fuzzTrees, fuzzDense} {
			err := r.DecodePredict(body, s, fuzzLimits)
			checkDecoded(t, "DecodePredict", body, r, s, err)
		}
	})
}

func FuzzDecodeInfer(f *testing.F) {
	for _, s := range []string{
		`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP64","data":[[1,2,3],[4,null,6]]}]}`,
		`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[0.1,2]}]}`,
		`{"id":"r\"1","parameters":{"timeout":2500,"p":[1,{}]},"inputs":[{"data":[1,2,3],"name":"input","datatype":"INT64","shape":[1,3]}],"outputs":[{"name":"o"}]}`,
		`{"inputs":[{"name":"c","shape":[2],"datatype":"INT32","data":[7,8]},{"name":"a","shape":[2,1],"datatype":"FP64","data":[[1],[2]]},{"name":"b","shape":[2],"datatype":"BOOL","data":[true,null]}]}`,
		`{"inputs":[{"name":"input","shape":[2,1],"datatype":"INT64","data":[1,2]},{"name":"x","shape":[2],"datatype":"FP64","data":[3,4]}]}`,
		`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP64","data":[1,2,3,4,5]}]}`,
		`{"inputs":[{"name":"input","shape":[1,3],"datatype":"BYTES","data":["a"]}]}`,
		`{"inputs":[{"name":"input","shape":[-1,3],"datatype":"FP64","data":[1,2,3]}]}`,
		`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,1e39,3]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[1]},{"name":"a","shape":[1],"datatype":"FP64","data":[1]}]}`,
		`{"inputs":[{"name":"input","shape":[0,3],"datatype":"FP64","data":[]}]}`,
		`{"inputs":[{"name":"input","shape":[100,3],"datatype":"FP64","data":[]}]}`,
		`{"parameters":{"timeout":-1},"inputs":[]}`,
		`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2 3]}]}`,
		`{"inputs":[{"name":"input"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := GetRequest()
		defer PutRequest(r)
		for _, s := range []*Schema{fuzzTrees, fuzzDense} {
			err := r.DecodeInfer(body, s, fuzzLimits)
			checkDecoded(t, "DecodeInfer", body, r, s, err)
		}
	})
}

// checkDecoded checks a decoder's result: an error is a *StatusError a
// client can read; decoded rows are complete and valid for s, and decode
// again to the same rows from the array form of a predict request and the
// 2-D form of an inference request.
func checkDecoded(t *testing.T, fn string, body []byte, r *Request, s *Schema, err error) {
	t.Helper()
	if err != nil {
		var se *StatusError
		if !errors.As(err, &se) || (se.Status != 400 && se.Status != 413) || se.Msg == "" {
			t.Fatalf("%s(%q) error = %#v, want a *StatusError of status 400 or 413", fn, body, err)
		}
		if !json.Valid(AppendError(nil, se.Msg)) {
			t.Fatalf("%s(%q): error body of %q is not valid JSON", fn, body, se.Msg)
		}
		return
	}
	nf := s.NumFeatures()
	if r.N < 1 || r.N > fuzzLimits.MaxInstances || len(r.Rows) != r.N*nf {
		t.Fatalf("%s(%q) = N %d, %d values; want 1 to %d instances of %d", fn, body, r.N, len(r.Rows), fuzzLimits.MaxInstances, nf)
	}
	for i, v := range r.Rows {
		switch {
		case math.IsInf(v, 0):
			t.Fatalf("%s(%q): value %d is %v", fn, body, i, v)
		case math.IsNaN(v) && !s.allowMissing:
			t.Fatalf("%s(%q): value %d is NaN, but the %s schema takes no missing values", fn, body, i, s.kind)
		case s.categorical[i%nf] && !math.IsNaN(v) && !isInt(v):
			t.Fatalf("%s(%q): categorical value %d is %v", fn, body, i, v)
		}
	}
	if r.ID != nil && !json.Valid(append(append([]byte(`"`), r.ID...), '"')) {
		t.Fatalf("%s(%q): ID %q is not a JSON string's contents", fn, body, r.ID)
	}
	rows, n := append([]float64(nil), r.Rows...), r.N

	predict := []byte(`{"instances":[`)
	for i := range n {
		if i > 0 {
			predict = append(predict, ',')
		}
		predict = appendNumbers(predict, rows[i*nf:(i+1)*nf])
	}
	predict = append(predict, `]}`...)
	infer := fmt.Appendf(nil, `{"inputs":[{"name":"input","datatype":"FP64","shape":[%d,%d],"data":`, n, nf)
	infer = appendNumbers(infer, rows)
	infer = append(infer, `}]}`...)

	for _, again := range []struct {
		name string
		body []byte
		dec  func([]byte, *Schema, Limits) error
	}{
		{"DecodePredict", predict, r.DecodePredict},
		{"DecodeInfer", infer, r.DecodeInfer},
	} {
		if err := again.dec(again.body, s, fuzzLimits); err != nil || r.N != n || !sameBits(r.Rows, rows) {
			t.Fatalf("%s(%q) = %v; re-encoded, %s(%q) = %v, %v", fn, body, rows, again.name, again.body, r.Rows, err)
		}
	}
}

// sameBits compares rows bit for bit, any NaN equal to any NaN.
func sameBits(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			return false
		}
	}
	return true
}
