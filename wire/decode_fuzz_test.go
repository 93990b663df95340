package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model"
)

// The fuzzed decoders check against two schemas: a tree model (missing
// values allowed) and a dense one (not), each with a categorical feature.
var (
	fuzzTrees = testSchema(model.KindTrees, "a", "b", "c:cat")
	fuzzDense = testSchema(model.KindLinear, "x", "input:cat").WithLabel(LabelArgmax)
)

var fuzzLimits = Limits{MaxInstances: 64}

// FuzzDecodePredict holds DecodePredict to encoding/json
// (checkAgainstJSON: invalid JSON refused as a syntax error at the byte
// encoding/json stops at, valid JSON never refused for its syntax, the
// numbers encoding/json reads) and to itself (checkDecoded).
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
		`{"inputs":{"a":[1] "b":[2],"c":[3]}}`,
		`{"inputs":{"a":[1}`,
		`{"return_features":tru}`,
		`{"instances":[[1,2,-Infinity]]}`,
		`{"instances":[[1,2,3],[4,5,6] [7,8,9]]}`,
		`{"instances":[{"a":"x","b":2,"c":3}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := GetRequest()
		defer PutRequest(r)
		for _, s := range []*Schema{fuzzTrees, fuzzDense} {
			err := r.DecodePredict(body, s, fuzzLimits)
			checkAgainstJSON(t, "DecodePredict", body, r, s, err)
			checkDecoded(t, "DecodePredict", body, r, s, err)
		}
	})
}

// FuzzDecodeInfer is FuzzDecodePredict for DecodeInfer.
func FuzzDecodeInfer(f *testing.F) {
	for _, s := range []string{
		`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP64","data":[[1,2,3],[4,null,6]]}]}`,
		`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[0.1,2]}]}`,
		`{"id":"r\"1","parameters":{"timeout":2500,"p":[1,{}]},"inputs":[{"data":[1,2,3],"name":"input","datatype":"INT64","shape":[1,3]}],"outputs":[{"name":"output"}]}`,
		`{"inputs":[{"name":"input","shape":[3],"datatype":"FP64","data":[1,null,3]}]}`,
		`{"inputs":[{"name":"input","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"x","shape":[2],"datatype":"FP64","data":[3,4]}]}`,
		`{"outputs":[{"name":"label","parameters":{"binary_data":false}},{"name":"output"}],"inputs":[{"name":"input","shape":[1,2],"datatype":"FP64","data":[1,2]}]}`,
		`{"outputs":[{"name":"o"}],"inputs":[]}`,
		`{"parameters":{"return_features":false},"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}`,
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
		`{"inputs":[{"name":"input","datatype":"FP64","data":[1,2,3],"shape":[1}]}`,
		`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1.00000005960464477539062500000000001,2,3]}]}`,
		`{"parameters":{"timeout":5 "x":1},"inputs":[]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[1]} {"name":"b"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := GetRequest()
		defer PutRequest(r)
		for _, s := range []*Schema{fuzzTrees, fuzzDense} {
			err := r.DecodeInfer(body, s, fuzzLimits)
			checkAgainstJSON(t, "DecodeInfer", body, r, s, err)
			checkDecoded(t, "DecodeInfer", body, r, s, err)
		}
	})
}

// checkDecoded checks a decoder's result: an error is an *Error a client
// can read; decoded rows are complete and valid for s, and decode
// again to the same rows from the array form of a predict request and the
// 2-D form of an inference request.
func checkDecoded(t *testing.T, fn string, body []byte, r *Request, s *Schema, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) || e.Msg == "" {
			t.Fatalf("%s(%q) error = %#v, want an *Error, ErrInvalid or ErrTooLarge", fn, body, err)
		}
		if !json.Valid(AppendError(nil, e.Msg)) {
			t.Fatalf("%s(%q): error body of %q is not valid JSON", fn, body, e.Msg)
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

// fuzzJoin is fuzzTrees with "a" and "b" fetched from view v by the int
// key "uid", and "c" from view w by the string key "shop".
var fuzzJoin = func() *Schema {
	defs, err := featcache.ParseDefs([]byte(`
entities:
  - {name: user, join_key: uid, key_type: int}
  - {name: shop, join_key: shop, key_type: string}
feature_views:
  - {name: v, entity: user, ttl: 1h, features: [{name: a, type: float}, {name: b, type: float}]}
  - {name: w, entity: shop, ttl: 1h, features: [{name: c, type: categorical}]}
`), "fuzz.yaml")
	if err != nil {
		panic(err)
	}
	m := &model.Manifest{Kind: model.KindTrees, FeatureViews: []string{"v", "w"}, Features: []model.Feature{
		{Name: "a", Type: model.FeatureFloat}, {Name: "b", Type: model.FeatureFloat}, {Name: "c", Type: model.FeatureCategorical}}}
	s, err := NewJoinSchema(m, defs)
	if err != nil {
		panic(err)
	}
	return s
}()

// FuzzDecodePredictJoin decodes requests that may carry entity keys: a
// decoded request has, per instance, every feature either sent or
// fetchable by a key it carries, and canonical keys.
func FuzzDecodePredictJoin(f *testing.F) {
	for _, s := range []string{
		`{"instances":[{"uid":7,"shop":"s1"}]}`,
		`{"return_features":true,"instances":[{"uid":"+007","a":1,"shop":"s\u0031"},{"a":1,"b":2,"c":3}]}`,
		`{"instances":[[1,2,3]],"return_features":false}`,
		`{"inputs":{"a":[1],"b":[2],"c":[3]},"return_features":true}`,
		`{"instances":[{"uid":-9223372036854775808,"c":1}]}`,
		`{"instances":[{"uid":1,"uid":2}]}`,
		`{"instances":[{"shop":"","uid":1}]}`,
		`{"return_features":true,"instances":[{"uid":42.0,"shop":"s"},{"uid":4.2e1,"c":1},{"uid":-9.2e1,"c":2}]}`,
		`{"instances":[{"uid":42.5,"shop":"s"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := GetRequest()
		defer PutRequest(r)
		err := r.DecodePredict(body, fuzzJoin, fuzzLimits)
		checkAgainstJSON(t, "DecodePredict", body, r, fuzzJoin, err)
		checkJoinDecoded(t, "DecodePredict", body, r, err)
	})
}

// FuzzDecodeInferJoin is FuzzDecodePredictJoin for the Open Inference
// Protocol's entity key inputs.
func FuzzDecodeInferJoin(f *testing.F) {
	for _, s := range []string{
		`{"inputs":[{"name":"uid","shape":[2],"datatype":"INT64","data":[7,8]},{"name":"shop","shape":[2,1],"datatype":"BYTES","data":[["s1"],["s2"]]}]}`,
		`{"inputs":[{"name":"uid","shape":[1],"datatype":"BYTES","data":["+007"]},{"name":"c","shape":[1],"datatype":"INT32","data":[3]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[1]},{"name":"b","shape":[1],"datatype":"FP64","data":[null]},{"name":"c","shape":[1],"datatype":"INT64","data":[2]}]}`,
		`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}`,
		`{"inputs":[{"name":"uid","shape":[0],"datatype":"INT64","data":[]}]}`,
		`{"inputs":[{"name":"uid","shape":[1,1],"datatype":"INT64","data":[[]]}]}`,
		`{"parameters":{"return_features":true},"inputs":[{"name":"uid","shape":[2],"datatype":"INT64","data":[7.0,80e-1]},{"name":"c","shape":[2],"datatype":"INT64","data":[1,2]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := GetRequest()
		defer PutRequest(r)
		err := r.DecodeInfer(body, fuzzJoin, fuzzLimits)
		checkAgainstJSON(t, "DecodeInfer", body, r, fuzzJoin, err)
		checkJoinDecoded(t, "DecodeInfer", body, r, err)
	})
}

// checkJoinDecoded checks a decode against fuzzJoin: refused with a 400 or
// 413, or every instance has each feature sent or fetchable by a key it
// carries, and its keys are canonical.
func checkJoinDecoded(t *testing.T, fn string, body []byte, r *Request, err error) {
	t.Helper()
	s := fuzzJoin
	if err != nil {
		checkDecoded(t, fn, body, r, s, err)
		return
	}
	{
		p, nf, nk := s.join, s.NumFeatures(), s.join.NumKeys()
		if len(r.Rows) != r.N*nf || len(r.Given) != r.N*nf || len(r.entOff) != r.N*nk {
			t.Fatalf(fn+"(%q): N %d, %d values, %d given, %d key slots", body, r.N, len(r.Rows), len(r.Given), len(r.entOff))
		}
		for i := range r.N {
			for f := range nf {
				if k, _ := p.Source(f); !r.Given[i*nf+f] && (k < 0 || r.EntityKey(i, k) == "") {
					t.Fatalf(fn+"(%q): instance %d lacks feature %d and the key to fetch it", body, i, f)
				}
				if v := r.Rows[i*nf+f]; r.Given[i*nf+f] && math.IsInf(v, 0) {
					t.Fatalf(fn+"(%q): value %v", body, v)
				}
			}
			for k := range nk {
				key := r.EntityKey(i, k)
				if key == "" {
					continue
				}
				if e := p.Key(k); e.KeyType == featcache.KeyInt {
					if c, err := e.CanonicalKey(key); err != nil || c != key {
						t.Fatalf(fn+"(%q): int key %q is not canonical (%q, %v)", body, key, c, err)
					}
				} else if strings.IndexByte(key, 0) >= 0 {
					t.Fatalf(fn+"(%q): key %q holds NUL", body, key)
				}
			}
		}
	}
}

// fuzzStrings is the schema of a version with transforms: a number, a
// string input, and a string input named "input" (which an OIP input of
// that name then stands for when its shape is [batch, 1]).
var fuzzStrings = transformSchema(model.KindLinear, "a", "country:str", "input:str")

// FuzzDecodeStrings holds both decoders to encoding/json on a schema with
// string inputs (checkAgainstJSON: the categories are the strings
// encoding/json reads) and to themselves (checkStringsDecoded).
func FuzzDecodeStrings(f *testing.F) {
	for _, s := range []string{
		`{"instances":[{"a":1,"country":"DE","input":"x"}]}`,
		`{"instances":[[null,"\u00e9\"\\",null],[2,"","😀"]]}`,
		`{"inputs":{"a":[1,2],"country":["a","b"],"input":[null,"c"]}}`,
		`{"instances":[{"a":1,"country":7,"input":"x"}]}`,
		`{"instances":[["1","DE","x"]]}`,
		"{\"instances\":[[1,\"a\xffb\",\"\\ud800\"]]}",
		`{"inputs":[{"name":"a","shape":[2],"datatype":"FP64","data":[1,null]},{"name":"country","shape":[2],"datatype":"BYTES","data":["DE","FR"]},{"name":"input","shape":[2,1],"datatype":"BYTES","data":[["x"],[null]]}]}`,
		`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}`,
		`{"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":["1"]},{"name":"country","shape":[1],"datatype":"FP64","data":[1]}]}`,
		`{"inputs":[{"name":"country","shape":[1],"datatype":"BYTES","data":["unterminated]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := GetRequest()
		defer PutRequest(r)
		s := fuzzStrings
		err := r.DecodePredict(body, s, fuzzLimits)
		checkAgainstJSON(t, "DecodePredict", body, r, s, err)
		checkStringsDecoded(t, "DecodePredict", body, r, s, err)
		err = r.DecodeInfer(body, s, fuzzLimits)
		checkAgainstJSON(t, "DecodeInfer", body, r, s, err)
		checkStringsDecoded(t, "DecodeInfer", body, r, s, err)
	})
}

// checkStringsDecoded checks a decode against a schema with string
// inputs: refused with an *Error, or every string input holds a category
// (valid UTF-8) or is missing, every number is finite or missing, and the
// rows decode again to the same values from a predict request of arrays
// and from an inference request of one input per feature.
func checkStringsDecoded(t *testing.T, fn string, body []byte, r *Request, s *Schema, err error) {
	t.Helper()
	if err != nil {
		checkDecoded(t, fn, body, r, s, err)
		return
	}
	nf := s.NumFeatures()
	if r.N < 1 || r.N > fuzzLimits.MaxInstances || len(r.Rows) != r.N*nf {
		t.Fatalf("%s(%q) = N %d, %d values; want 1 to %d instances of %d", fn, body, r.N, len(r.Rows), fuzzLimits.MaxInstances, nf)
	}
	for c, x := range r.Rows {
		switch {
		case math.IsNaN(x):
		case s.IsString(c % nf):
			if x != math.Trunc(x) || x < 0 || int(x) >= len(r.strEnd) {
				t.Fatalf("%s(%q): string value %d is %v, not an index of the %d strings", fn, body, c, x, len(r.strEnd))
			}
			if str, _ := r.Category(x); !utf8.ValidString(str) {
				t.Fatalf("%s(%q): category %q is not valid UTF-8", fn, body, str)
			}
		case math.IsInf(x, 0):
			t.Fatalf("%s(%q): value %d is %v", fn, body, c, x)
		}
	}
	want := cells(r, s)
	n := r.N
	value := func(dst []byte, c int) []byte {
		x := r.Rows[c]
		if !s.IsString(c % nf) {
			return appendNumber(dst, x)
		}
		if str, ok := r.Category(x); ok {
			return appendString(dst, str)
		}
		return append(dst, "null"...)
	}
	predict := []byte(`{"instances":[`)
	for i := range n {
		if i > 0 {
			predict = append(predict, ',')
		}
		predict = append(predict, '[')
		for f := range nf {
			if f > 0 {
				predict = append(predict, ',')
			}
			predict = value(predict, i*nf+f)
		}
		predict = append(predict, ']')
	}
	predict = append(predict, `]}`...)
	infer := []byte(`{"inputs":[`)
	for f := range nf {
		if f > 0 {
			infer = append(infer, ',')
		}
		dt := "FP64"
		if s.IsString(f) {
			dt = "BYTES"
		}
		infer = fmt.Appendf(infer, `{"name":%q,"datatype":%q,"shape":[%d],"data":[`, s.names[f], dt, n)
		for i := range n {
			if i > 0 {
				infer = append(infer, ',')
			}
			infer = value(infer, i*nf+f)
		}
		infer = append(infer, `]}`...)
	}
	infer = append(infer, `]}`...)
	for _, again := range []struct {
		name string
		body []byte
		dec  func([]byte, *Schema, Limits) error
	}{
		{"DecodePredict", predict, r.DecodePredict},
		{"DecodeInfer", infer, r.DecodeInfer},
	} {
		if err := again.dec(again.body, s, fuzzLimits); err != nil || r.N != n || !slices.Equal(cells(r, s), want) {
			t.Fatalf("%s(%q) = %v; re-encoded, %s(%q) = %v, %v", fn, body, want, again.name, again.body, cells(r, s), err)
		}
	}
}
