package wire

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// testSchema builds a schema of the named features; a name ending in
// ":cat" is categorical.
func testSchema(kind model.Kind, features ...string) *Schema {
	m := &model.Manifest{Kind: kind}
	for _, f := range features {
		name, cat := strings.CutSuffix(f, ":cat")
		typ := model.FeatureFloat
		if cat {
			typ = model.FeatureCategorical
		}
		m.Features = append(m.Features, model.Feature{Name: name, Type: typ})
	}
	return NewSchema(m)
}

// transformSchema is the schema of a version with transforms whose raw
// inputs are features: "name:str" is a string input, "name" a number.
func transformSchema(kind model.Kind, features ...string) *Schema {
	m := &model.Manifest{Kind: kind, Transform: &model.TransformFile{File: "transform.json"}}
	for _, f := range features {
		name, str := strings.CutSuffix(f, ":str")
		typ := model.FeatureFloat
		if str {
			typ = model.FeatureString
		}
		m.Features = append(m.Features, model.Feature{Name: name, Type: typ})
	}
	return NewSchema(m)
}

var nan = math.NaN()

// sameRows compares rows, NaN equal to NaN.
func sameRows(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			return false
		}
	}
	return true
}

// checkErr reports whether err is an *Error of the kind HTTP answers with
// status (400: ErrInvalid, 413: ErrTooLarge) whose message contains every
// want.
func checkErr(err error, status int, want ...string) bool {
	kind := map[int]error{400: ErrInvalid, 413: ErrTooLarge}[status]
	var e *Error
	if !errors.As(err, &e) || kind == nil || !errors.Is(err, kind) {
		return false
	}
	for _, w := range want {
		if !strings.Contains(e.Msg, w) {
			return false
		}
	}
	return true
}

func TestNewSchema(t *testing.T) {
	s := testSchema(model.KindTrees, "a", "b:cat")
	if s.NumFeatures() != 2 || !s.allowMissing || s.categorical[0] || !s.categorical[1] || s.featureList != "a, b" {
		t.Errorf("NewSchema(trees a, b:cat) = %+v", s)
	}
	if s := testSchema(model.KindLinear, "a"); s.allowMissing {
		t.Errorf("NewSchema(linear).allowMissing = true, want false")
	}
	var many []string
	for i := range 20 {
		many = append(many, string(rune('a'+i)))
	}
	if got, want := testSchema(model.KindMLP, many...).featureList, "a, b, c, d, e, f, g, h, and 12 more"; got != want {
		t.Errorf("featureList of 20 features = %q, want %q", got, want)
	}
}

func TestPutRequest(t *testing.T) {
	r := GetRequest()
	s := testSchema(model.KindTrees, "a")
	if err := r.DecodeInfer([]byte(`{"id":"x","parameters":{"timeout":5},"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[1]}]}`), s, Limits{}); err != nil {
		t.Fatal(err)
	}
	r.Preds = append(r.Preds, 1)
	r.Out = append(r.Out, "x"...)
	r.Rows = make([]float64, 0, maxPooledBytes/8+1) // grown past the cap
	PutRequest(r)
	if len(r.Preds) != 0 || len(r.Out) != 0 || r.Rows != nil || r.N != 0 || r.ID != nil || r.TimeoutMicros != 0 || r.Columnar {
		t.Errorf("after PutRequest: %+v, want an empty request without the huge Rows", r)
	}
}

// TestDecodeAllocs: a warm request decodes and encodes without allocating.
func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	var names []string
	for i := range 10 {
		names = append(names, "feature_"+string(rune('a'+i)))
	}
	names[9] += ":cat"
	s := testSchema(model.KindTrees, names...)
	predict := []byte(`{"instances":[{"feature_a":1.5,"feature_b":-2,"feature_c":null,"feature_d":3.25e2,` +
		`"feature_\u0065":0.001,"feature_f":123456.789,"feature_g":1e-300,"feature_h":12345678901234567890,"feature_i":0,"feature_j":7}]}`)
	infer := []byte(`{"id":"req-1","parameters":{"timeout":2500,"priority":1},"inputs":[{"name":"input","shape":[2,10],"datatype":"FP32",` +
		`"data":[[1,2,3,4,5,6,7,8,9,10],[1.5,null,3,4,5,6,7,8,9,10]]}],"outputs":[{"name":"output"}]}`)
	columns := []byte(`{"inputs":{"feature_a":[1],"feature_b":[2],"feature_c":[3],"feature_d":[4],"feature_e":[5],` +
		`"feature_f":[6],"feature_g":[7],"feature_h":[8],"feature_i":[9],"feature_j":[10]}}`)
	for _, tc := range []struct {
		name string
		run  func(r *Request) error
	}{
		{"predict", func(r *Request) error {
			if err := r.DecodePredict(predict, s, Limits{MaxInstances: 10}); err != nil {
				return err
			}
			r.Preds = append(r.Preds[:0], 0.25)
			r.Out = AppendPredict(r.Out[:0], r.Preds, r.N, 1, r.Columnar, 3)
			return nil
		}},
		{"predict-columns", func(r *Request) error {
			if err := r.DecodePredict(columns, s, Limits{}); err != nil {
				return err
			}
			r.Preds = append(r.Preds[:0], 0.25, 0.75)
			r.Out = AppendPredict(r.Out[:0], r.Preds, r.N, 2, r.Columnar, 3)
			return nil
		}},
		{"infer", func(r *Request) error {
			if err := r.DecodeInfer(infer, s, Limits{MaxInstances: 10}); err != nil {
				return err
			}
			r.Preds = append(r.Preds[:0], 0.25, math.NaN())
			r.Out = AppendInfer(r.Out[:0], "churn", 3, r.ID, "output", r.Preds, r.N, 1)
			return nil
		}},
	} {
		r := GetRequest()
		if err := tc.run(r); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var err error
		if n := testing.AllocsPerRun(100, func() { err = tc.run(r) }); n != 0 || err != nil {
			t.Errorf("%s: a warm decode and encode allocates %v times (err %v), want 0", tc.name, n, err)
		}
		PutRequest(r)
	}
}

// TestRequestReuse: a Decode resets what the one before it reported, and
// keeps nothing pointing into its body.
func TestRequestReuse(t *testing.T) {
	s := testSchema(model.KindTrees, "a")
	r := GetRequest()
	defer PutRequest(r)
	body := []byte(`{"id":"req-1","parameters":{"timeout":5},"inputs":[{"name":"a","shape":[2],"datatype":"FP64","data":[1,2]}]}`)
	if err := r.DecodeInfer(body, s, Limits{}); err != nil {
		t.Fatal(err)
	}
	copy(body[7:], "XXXXX")
	if string(r.ID) != "req-1" {
		t.Errorf("after overwriting the body, ID = %q, want %q", r.ID, "req-1")
	}
	if err := r.DecodePredict([]byte(`{"inputs":{"a":[3]}}`), s, Limits{}); err != nil || !r.Columnar || r.ID != nil || r.TimeoutMicros != 0 || !sameRows(r.Rows, []float64{3}) {
		t.Errorf("DecodePredict after DecodeInfer = rows %v, columnar %v, ID %q, timeout %d, err %v; want [3], true, nil, 0",
			r.Rows, r.Columnar, r.ID, r.TimeoutMicros, err)
	}
	if err := r.DecodePredict([]byte(`{"instances":[[4]]}`), s, Limits{}); err != nil || r.Columnar || r.N != 1 || !sameRows(r.Rows, []float64{4}) {
		t.Errorf("DecodePredict after a columnar one = rows %v, N %d, columnar %v, err %v; want [4], 1, false", r.Rows, r.N, r.Columnar, err)
	}
}
