package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/wire/kservepb"
)

type pbIn = kservepb.ModelInferRequest_InferInputTensor
type pbOut = kservepb.ModelInferRequest_InferRequestedOutputTensor
type pbContents = kservepb.InferTensorContents

func pbBool(v bool) *kservepb.InferParameter {
	return &kservepb.InferParameter{ParameterChoice: &kservepb.InferParameter_BoolParam{BoolParam: v}}
}

func pbInt(v int64) *kservepb.InferParameter {
	return &kservepb.InferParameter{ParameterChoice: &kservepb.InferParameter_Int64Param{Int64Param: v}}
}

// TestDecodeInferProto holds each gRPC request, typed contents or raw, to
// the JSON request with the same values: the same rows, strings, entity
// keys, parameters and requested outputs.
func TestDecodeInferProto(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	strs := transformSchema(model.KindLinear, "amount", "country:str")
	labelled := trees.WithLabel(LabelArgmax)
	for _, tc := range []struct {
		name string
		s    *Schema
		m    *kservepb.ModelInferRequest
		json string
	}{
		{"fp32-2d", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP32", Shape: []int64{2, 3},
			Contents: &pbContents{Fp32Contents: []float32{0.1, -2.5, 3, 1e-40, float32(math.NaN()), 7}}}}},
			`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP32","data":[0.1,-2.5,3,1e-40,null,7]}]}`},
		{"fp32-2d-raw", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP32", Shape: []int64{2, 3}}},
			RawInputContents: [][]byte{f32Bytes(0.1, -2.5, 3, 1e-40, float32(math.NaN()), 7)}},
			`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP32","data":[0.1,-2.5,3,1e-40,null,7]}]}`},
		// An input's own parameters are ignored, binary_data_size too.
		{"fp64-2d", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP64", Shape: []int64{1, 3},
			Parameters: map[string]*kservepb.InferParameter{"binary_data_size": pbInt(999), "x": {}},
			Contents:   &pbContents{Fp64Contents: []float64{0.1, math.MaxFloat64, math.Copysign(0, -1)}}}}},
			`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[0.1,1.7976931348623157e308,-0]}]}`},
		{"per-feature-int64-fp64-bool", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{
			{Name: "c", Datatype: "INT64", Shape: []int64{2}, Contents: &pbContents{Int64Contents: []int64{1 << 53, -7}}},
			{Name: "a", Datatype: "FP64", Shape: []int64{2}, Contents: &pbContents{Fp64Contents: []float64{1, 2}}},
			{Name: "b", Datatype: "BOOL", Shape: []int64{2, 1}, Contents: &pbContents{BoolContents: []bool{true, false}}}}},
			`{"inputs":[{"name":"c","shape":[2],"datatype":"INT64","data":[9007199254740992,-7]},{"name":"a","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"b","shape":[2,1],"datatype":"BOOL","data":[true,false]}]}`},
		{"per-feature-raw", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{
			{Name: "c", Datatype: "INT64", Shape: []int64{2}}, {Name: "a", Datatype: "FP64", Shape: []int64{2}}, {Name: "b", Datatype: "BOOL", Shape: []int64{2, 1}}},
			RawInputContents: [][]byte{i64Bytes(1<<53, -7), f64Bytes(1, 2), {1, 0}}},
			`{"inputs":[{"name":"c","shape":[2],"datatype":"INT64","data":[9007199254740992,-7]},{"name":"a","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"b","shape":[2,1],"datatype":"BOOL","data":[true,false]}]}`},
		{"int32", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "INT32", Shape: []int64{1, 3},
			Contents: &pbContents{IntContents: []int32{math.MinInt32, math.MaxInt32, 0}}}}},
			`{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT32","data":[-2147483648,2147483647,0]}]}`},
		{"strings", strs, &kservepb.ModelInferRequest{Inputs: []*pbIn{
			{Name: "country", Datatype: "BYTES", Shape: []int64{3}, Contents: &pbContents{BytesContents: [][]byte{[]byte("DE"), nil, []byte("K\xf6ln")}}},
			{Name: "amount", Datatype: "FP64", Shape: []int64{3}, Contents: &pbContents{Fp64Contents: []float64{1, 2, 3}}}}},
			`{"inputs":[{"name":"country","shape":[3],"datatype":"BYTES","data":["DE","","K\ufffdln"]},{"name":"amount","shape":[3],"datatype":"FP64","data":[1,2,3]}]}`},
		{"strings-raw", strs, &kservepb.ModelInferRequest{Inputs: []*pbIn{
			{Name: "country", Datatype: "BYTES", Shape: []int64{3}}, {Name: "amount", Datatype: "FP64", Shape: []int64{3}}},
			RawInputContents: [][]byte{bytesElems("DE", "", "K\xf6ln"), f64Bytes(1, 2, 3)}},
			`{"inputs":[{"name":"country","shape":[3],"datatype":"BYTES","data":["DE","","K\ufffdln"]},{"name":"amount","shape":[3],"datatype":"FP64","data":[1,2,3]}]}`},
		{"entity-keys", fuzzJoin, &kservepb.ModelInferRequest{
			Parameters: map[string]*kservepb.InferParameter{"return_features": pbBool(true), "timeout": pbInt(2500)},
			Inputs: []*pbIn{
				{Name: "uid", Datatype: "INT64", Shape: []int64{2}, Contents: &pbContents{Int64Contents: []int64{7, -1 << 62}}},
				{Name: "shop", Datatype: "BYTES", Shape: []int64{2, 1}, Contents: &pbContents{BytesContents: [][]byte{[]byte("s1"), []byte("shop")}}}}},
			`{"parameters":{"return_features":true,"timeout":2500},"inputs":[{"name":"uid","shape":[2],"datatype":"INT64","data":[7,-4611686018427387904]},{"name":"shop","shape":[2,1],"datatype":"BYTES","data":[["s1"],["shop"]]}]}`},
		{"entity-key-int32", fuzzJoin, &kservepb.ModelInferRequest{Inputs: []*pbIn{
			{Name: "uid", Datatype: "INT32", Shape: []int64{1}, Contents: &pbContents{IntContents: []int32{-5}}},
			{Name: "c", Datatype: "INT64", Shape: []int64{1}, Contents: &pbContents{Int64Contents: []int64{3}}}}},
			`{"inputs":[{"name":"uid","shape":[1],"datatype":"INT32","data":[-5]},{"name":"c","shape":[1],"datatype":"INT64","data":[3]}]}`},
		{"outputs", labelled, &kservepb.ModelInferRequest{
			Parameters: map[string]*kservepb.InferParameter{"binary_data_output": pbBool(true)},
			Inputs:     []*pbIn{{Name: "input", Datatype: "FP64", Shape: []int64{1, 3}, Contents: &pbContents{Fp64Contents: []float64{1, 2, 3}}}},
			Outputs:    []*pbOut{{Name: "label", Parameters: map[string]*kservepb.InferParameter{"binary_data": pbBool(false)}}, {Name: "output"}}},
			`{"parameters":{"binary_data_output":true},"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3]}],"outputs":[{"name":"label","parameters":{"binary_data":false}},{"name":"output"}]}`},
	} {
		r, want := GetRequest(), GetRequest()
		err := r.DecodeInferProto(tc.m, tc.s, Limits{})
		werr := want.DecodeInfer([]byte(tc.json), tc.s, Limits{})
		if werr != nil {
			t.Fatalf("%s: DecodeInfer(%s) = %v (the test's JSON request is wrong)", tc.name, tc.json, werr)
		}
		switch {
		case err != nil:
			t.Errorf("%s: DecodeInferProto(%v) = %v, want rows %v", tc.name, tc.m, err, cells(want, tc.s))
		case !slices.Equal(cells(r, tc.s), cells(want, tc.s)) || !sameBits(r.Rows, want.Rows) || r.N != want.N || !slices.Equal(r.Given, want.Given):
			t.Errorf("%s: DecodeInferProto(%v) = rows %v, N %d; the JSON request's are %v, N %d", tc.name, tc.m, cells(r, tc.s), r.N, cells(want, tc.s), want.N)
		case r.TimeoutMicros != want.TimeoutMicros || r.ReturnFeatures != want.ReturnFeatures || !slices.Equal(r.Outputs, want.Outputs) || r.Fetch != want.Fetch:
			t.Errorf("%s: timeout %d, return_features %v, outputs %v, fetch %v; the JSON request's are %d, %v, %v, %v", tc.name,
				r.TimeoutMicros, r.ReturnFeatures, r.Outputs, r.Fetch, want.TimeoutMicros, want.ReturnFeatures, want.Outputs, want.Fetch)
		case r.RawProto != (len(tc.m.RawInputContents) > 0):
			t.Errorf("%s: RawProto %v with %d raw_input_contents", tc.name, r.RawProto, len(tc.m.RawInputContents))
		}
		for _, o := range want.Outputs {
			if r.BinaryOutput(o) != want.BinaryOutput(o) {
				t.Errorf("%s: BinaryOutput(%d) = %v, the JSON request's %v", tc.name, o, r.BinaryOutput(o), want.BinaryOutput(o))
			}
		}
		if err == nil && tc.s.join != nil {
			for i := range r.N {
				for k := range tc.s.join.NumKeys() {
					if g, w := r.EntityKey(i, k), want.EntityKey(i, k); g != w {
						t.Errorf("%s: EntityKey(%d, %d) = %q, the JSON request's is %q", tc.name, i, k, g, w)
					}
				}
			}
		}
		PutRequest(r)
		PutRequest(want)
	}
}

// TestDecodeInferProtoErrors: what the JSON request would be refused for
// is refused with the JSON decoder's message; what only the protobuf form
// can get wrong is refused naming the input and the field; no message
// speaks of body bytes, which a gRPC client never sent.
func TestDecodeInferProtoErrors(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	dense := testSchema(model.KindLinear, "a", "b", "c")
	in := func(name, dt string, shape []int64, c *pbContents) *pbIn {
		return &pbIn{Name: name, Datatype: dt, Shape: shape, Contents: c}
	}
	req := func(ins ...*pbIn) *kservepb.ModelInferRequest { return &kservepb.ModelInferRequest{Inputs: ins} }
	for _, tc := range []struct {
		name   string
		s      *Schema
		m      *kservepb.ModelInferRequest
		status int
		want   string
		json   string // the JSON request refused with the same message; "" for none
	}{
		{"unknown input", trees, req(in("x", "FP64", []int64{1, 3}, &pbContents{Fp64Contents: []float64{1, 2, 3}})), 400, `"x"`,
			`{"inputs":[{"name":"x","datatype":"FP64","shape":[1,3],"data":[1,2,3]}]}`},
		{"bad datatype", trees, req(in("input", "FP16", []int64{1, 3}, nil)), 400, "FP16",
			`{"inputs":[{"name":"input","datatype":"FP16","shape":[1,3],"data":[1,2,3]}]}`},
		{"negative shape", trees, req(in("input", "FP64", []int64{-1, 3}, nil)), 400, "-1",
			`{"inputs":[{"name":"input","datatype":"FP64","shape":[-1,3],"data":[1,2,3]}]}`},
		{"too many", trees, req(in("input", "FP64", []int64{3, 3}, &pbContents{Fp64Contents: make([]float64, 9)})), 413, "",
			`{"inputs":[{"name":"input","datatype":"FP64","shape":[3,3],"data":[0,0,0,0,0,0,0,0,0]}]}`},
		{"no inputs", trees, req(), 400, "", `{"inputs":[]}`},
		{"NaN in a dense model", dense, req(in("input", "FP64", []int64{1, 3}, &pbContents{Fp64Contents: []float64{1, math.NaN(), 3}})), 400,
			`input "input": instance 0: field "b": NaN (a missing value) is not accepted`, ""},
		{"infinity", trees, req(in("input", "FP32", []int64{1, 3}, &pbContents{Fp32Contents: []float32{1, float32(math.Inf(1)), 3}})), 400,
			`input "input": instance 0: field "b": +Inf is not a finite FP32 number`, ""},
		{"INT64 beyond 2^53", trees, req(in("input", "INT64", []int64{1, 3}, &pbContents{Int64Contents: []int64{1, 1<<53 + 1, 3}})), 400,
			`input "input": instance 0: field "b": INT64 9007199254740993 is beyond ±2^53`, ""},
		{"category not whole", trees, req(in("input", "FP64", []int64{1, 3}, &pbContents{Fp64Contents: []float64{1, 2, 3.5}})), 400,
			`input "input": instance 0: field "c": 3.5 is not a category`, `{"inputs":[{"name":"input","datatype":"FP64","shape":[1,3],"data":[1,2,3.5]}]}`},
		{"count off the shape", trees, req(in("input", "FP64", []int64{2, 3}, &pbContents{Fp64Contents: []float64{1, 2, 3}})), 400,
			`input "input": contents.fp64_contents holds 3 values, but shape [2 3] takes 6`, ""},
		{"no contents", trees, req(in("input", "FP64", []int64{1, 3}, nil)), 400,
			`input "input": contents.fp64_contents holds 0 values, but shape [1 3] takes 3`, ""},
		{"another type's contents", trees, req(in("input", "INT64", []int64{1, 3}, &pbContents{IntContents: []int32{1, 2, 3}})), 400,
			`input "input": datatype INT64 takes its values in contents.int64_contents, but contents.int_contents holds 3 values`, ""},
		{"uint contents", trees, req(in("input", "FP32", []int64{1, 3}, &pbContents{UintContents: []uint32{1, 2, 3}})), 400,
			`datatype FP32 takes its values in contents.fp32_contents, but contents.uint_contents holds 3 values`, ""},
		{"huge shape", trees, req(in("input", "FP64", []int64{1 << 32, 3}, nil)), 413,
			`input "input": shape [4294967296 3] holds more than 2147483647 values`, ""},
		{"raw entries", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{in("input", "FP64", []int64{1, 3}, nil)}, RawInputContents: [][]byte{nil, nil}}, 400,
			"raw_input_contents has 2 entries for 1 inputs", ""},
		{"raw size", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{in("input", "FP32", []int64{1, 3}, nil)}, RawInputContents: [][]byte{make([]byte, 11)}}, 400,
			`input "input": raw_input_contents[0] has 11 bytes, but shape [1 3] of FP32 takes 12 (4 each)`, ""},
		{"raw and contents", trees, &kservepb.ModelInferRequest{Inputs: []*pbIn{in("input", "FP64", []int64{1, 3}, &pbContents{Fp64Contents: []float64{1, 2, 3}})}, RawInputContents: [][]byte{f64Bytes(1, 2, 3)}}, 400,
			`input "input": contents set, but the request sends raw_input_contents`, ""},
		{"raw BYTES short", transformSchema(model.KindLinear, "amount", "country:str"), &kservepb.ModelInferRequest{Inputs: []*pbIn{in("country", "BYTES", []int64{2}, nil), in("amount", "FP64", []int64{2}, nil)},
			RawInputContents: [][]byte{bytesElems("DE")[:5], f64Bytes(1, 2)}}, 400, `input "country": raw_input_contents[0]: BYTES element 0 of 2 bytes runs past the entry's 5 bytes`, ""},
		{"raw BYTES trailing", transformSchema(model.KindLinear, "amount", "country:str"), &kservepb.ModelInferRequest{Inputs: []*pbIn{in("country", "BYTES", []int64{1}, nil), in("amount", "FP64", []int64{1}, nil)},
			RawInputContents: [][]byte{append(bytesElems("DE"), 0), f64Bytes(1)}}, 400, `input "country": raw_input_contents[0] has 1 bytes after its 1 BYTES elements`, ""},
		{"timeout type", trees, &kservepb.ModelInferRequest{Parameters: map[string]*kservepb.InferParameter{"timeout": pbBool(true)},
			Inputs: []*pbIn{in("input", "FP64", []int64{1, 3}, &pbContents{Fp64Contents: []float64{1, 2, 3}})}}, 400, `"timeout"`,
			`{"parameters":{"timeout":true},"inputs":[{"name":"input","datatype":"FP64","shape":[1,3],"data":[1,2,3]}]}`},
		{"unknown output", trees, &kservepb.ModelInferRequest{Outputs: []*pbOut{{Name: "probabilities"}},
			Inputs: []*pbIn{in("input", "FP64", []int64{1, 3}, &pbContents{Fp64Contents: []float64{1, 2, 3}})}}, 400, `"probabilities"`,
			`{"inputs":[{"name":"input","datatype":"FP64","shape":[1,3],"data":[1,2,3]}],"outputs":[{"name":"probabilities"}]}`},
	} {
		r := GetRequest()
		err := r.DecodeInferProto(tc.m, tc.s, Limits{MaxInstances: 2})
		if !checkErr(err, tc.status, tc.want) || strings.Contains(err.Error(), "body byte") || strings.Contains(err.Error(), "binary_data_size") {
			t.Errorf("%s: DecodeInferProto(%v) error = %v, want %d containing %q and no body bytes", tc.name, tc.m, err, tc.status, tc.want)
		}
		if tc.json != "" {
			werr := r.DecodeInfer([]byte(tc.json), tc.s, Limits{MaxInstances: 2})
			if werr == nil || err == nil || werr.Error() != err.Error() {
				t.Errorf("%s: DecodeInferProto error %v, DecodeInfer(%s) error %v: want the same message", tc.name, err, tc.json, werr)
			}
		}
		PutRequest(r)
	}
}

// TestInferProto: the response holds the predictions and labels the JSON
// response holds, in typed contents by default and in raw_output_contents
// when the request sent raw inputs or asked for binary data; the label a
// rule cannot read is -1; return_features puts the JSON features array in
// parameters.features.
func TestInferProto(t *testing.T) {
	s := testSchema(model.KindTrees, "a", "b", "c").WithLabel(LabelArgmax)
	preds := []float64{0.1, 0.7, 0.2, math.NaN(), 0.5, 0.5}
	for _, tc := range []struct {
		name string
		m    *kservepb.ModelInferRequest
		raw  bool
	}{
		{"typed", &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP64", Shape: []int64{2, 3}, Contents: &pbContents{Fp64Contents: make([]float64, 6)}}},
			Outputs: []*pbOut{{Name: "output"}, {Name: "label"}}}, false},
		{"raw in", &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP64", Shape: []int64{2, 3}}}, RawInputContents: [][]byte{make([]byte, 48)},
			Outputs: []*pbOut{{Name: "output"}, {Name: "label"}}}, true},
		{"binary_data", &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP64", Shape: []int64{2, 3}, Contents: &pbContents{Fp64Contents: make([]float64, 6)}}},
			Outputs: []*pbOut{{Name: "output"}, {Name: "label", Parameters: map[string]*kservepb.InferParameter{"binary_data": pbBool(true)}}}}, true},
	} {
		r := GetRequest()
		if err := r.DecodeInferProto(tc.m, s, Limits{}); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp := &kservepb.ModelInferResponse{}
		InferProto(resp, "m", 3, "id-1", r, s, preds, 3, nil)
		if resp.ModelName != "m" || resp.ModelVersion != "3" || resp.Id != "id-1" || len(resp.Outputs) != 2 {
			t.Fatalf("%s: InferProto = %v, want model m version 3 id id-1 and 2 outputs", tc.name, resp)
		}
		var got []float64
		var labels []int64
		if tc.raw {
			if len(resp.RawOutputContents) != 2 || resp.Outputs[0].Contents != nil {
				t.Fatalf("%s: %d raw_output_contents, contents %v; want 2 raw and no contents", tc.name, len(resp.RawOutputContents), resp.Outputs[0].Contents)
			}
			for k := 0; k < len(resp.RawOutputContents[0]); k += 8 {
				got = append(got, math.Float64frombits(binary.LittleEndian.Uint64(resp.RawOutputContents[0][k:])))
			}
			for k := 0; k < len(resp.RawOutputContents[1]); k += 8 {
				labels = append(labels, int64(binary.LittleEndian.Uint64(resp.RawOutputContents[1][k:])))
			}
		} else {
			if len(resp.RawOutputContents) != 0 {
				t.Fatalf("%s: raw_output_contents set for a typed request", tc.name)
			}
			got, labels = resp.Outputs[0].Contents.Fp64Contents, resp.Outputs[1].Contents.Int64Contents
		}
		if !sameBits(got, preds) || !slices.Equal(labels, []int64{1, -1}) {
			t.Errorf("%s: outputs %v labels %v, want %v and [1 -1]", tc.name, got, labels, preds)
		}
		if o := resp.Outputs[0]; o.Name != "output" || o.Datatype != "FP64" || !slices.Equal(o.Shape, []int64{2, 3}) {
			t.Errorf("%s: output tensor %s %s %v, want output FP64 [2 3]", tc.name, o.Name, o.Datatype, o.Shape)
		}
		if o := resp.Outputs[1]; o.Name != "label" || o.Datatype != "INT64" || !slices.Equal(o.Shape, []int64{2}) {
			t.Errorf("%s: label tensor %s %s %v, want label INT64 [2]", tc.name, o.Name, o.Datatype, o.Shape)
		}
		PutRequest(r)
	}

	// return_features: parameters.features is the HTTP response's array.
	r := GetRequest()
	defer PutRequest(r)
	m := &kservepb.ModelInferRequest{Parameters: map[string]*kservepb.InferParameter{"return_features": pbBool(true)},
		Inputs: []*pbIn{{Name: "a", Datatype: "FP64", Shape: []int64{1}, Contents: &pbContents{Fp64Contents: []float64{1}}},
			{Name: "b", Datatype: "FP64", Shape: []int64{1}, Contents: &pbContents{Fp64Contents: []float64{2}}},
			{Name: "c", Datatype: "FP64", Shape: []int64{1}, Contents: &pbContents{Fp64Contents: []float64{3}}}}}
	if err := r.DecodeInferProto(m, fuzzJoin, Limits{}); err != nil {
		t.Fatal(err)
	}
	var j featcache.Join
	if err := j.Select(fuzzJoin.Join(), r.N, r, r.Given, true); err != nil {
		t.Fatal(err)
	}
	resp := &kservepb.ModelInferResponse{}
	InferProto(resp, "m", 1, "", r, fuzzJoin, []float64{0.5}, 1, &j)
	want := string(appendFeatureList(nil, fuzzJoin, r, &j))
	if got := resp.Parameters["features"].GetStringParam(); got != want || !strings.Contains(got, `"overridden"`) {
		t.Errorf("parameters.features = %q, want %q", got, want)
	}
}

// FuzzDecodeInferProto decodes any protobuf bytes that parse as a
// ModelInferRequest: an error is an *Error that never speaks of body
// bytes, a success has N rows of NumFeatures values; and FP64 values
// typed, raw, or as JSON decode to the same rows or are refused alike.
func FuzzDecodeInferProto(f *testing.F) {
	seed := func(m *kservepb.ModelInferRequest) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(seed(&kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP32", Shape: []int64{1, 3}, Contents: &pbContents{Fp32Contents: []float32{1, 2, 3}}}}}), f64Bytes(1, 2, 3))
	f.Add(seed(&kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "uid", Datatype: "INT64", Shape: []int64{1}}, {Name: "shop", Datatype: "BYTES", Shape: []int64{1}}},
		RawInputContents: [][]byte{i64Bytes(5), bytesElems("s")}}), f64Bytes(math.NaN(), 2, -0.0))
	f.Add(seed(&kservepb.ModelInferRequest{Parameters: map[string]*kservepb.InferParameter{"timeout": pbInt(5), "return_features": pbBool(true)},
		Inputs:  []*pbIn{{Name: "a", Datatype: "BOOL", Shape: []int64{2}, Contents: &pbContents{BoolContents: []bool{true, false}}}},
		Outputs: []*pbOut{{Name: "output", Parameters: map[string]*kservepb.InferParameter{"binary_data": pbBool(true)}}}}), f64Bytes(math.Inf(1), 1, 2))
	trees := testSchema(model.KindTrees, "a", "b", "c")
	f.Fuzz(func(t *testing.T, msg []byte, vals []byte) {
		r := GetRequest()
		defer PutRequest(r)
		var m kservepb.ModelInferRequest
		if proto.Unmarshal(msg, &m) == nil {
			for _, s := range []*Schema{trees, fuzzJoin} {
				err := r.DecodeInferProto(&m, s, Limits{MaxInstances: 8})
				var e *Error
				switch {
				case err != nil && !errors.As(err, &e):
					t.Errorf("DecodeInferProto(%v) error = %v (%T), want an *Error", &m, err, err)
				case err != nil && (strings.Contains(err.Error(), "body byte") || strings.Contains(err.Error(), "binary_data_size")):
					t.Errorf("DecodeInferProto(%v) error = %v: speaks of the HTTP body", &m, err)
				case err == nil && (r.N == 0 || len(r.Rows) != r.N*s.NumFeatures()):
					t.Errorf("DecodeInferProto(%v): %d values for %d instances of %d features", &m, len(r.Rows), r.N, s.NumFeatures())
				}
			}
		}

		// FP64 values, three a row: typed, raw and JSON agree.
		n := len(vals) / 24
		if n == 0 {
			return
		}
		vals = vals[:24*n]
		f64 := make([]float64, 3*n)
		for i := range f64 {
			f64[i] = math.Float64frombits(binary.LittleEndian.Uint64(vals[8*i:]))
		}
		shape := []int64{int64(n), 3}
		typed := &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP64", Shape: shape, Contents: &pbContents{Fp64Contents: f64}}}}
		raw := &kservepb.ModelInferRequest{Inputs: []*pbIn{{Name: "input", Datatype: "FP64", Shape: shape}}, RawInputContents: [][]byte{vals}}
		bin := GetRequest()
		defer PutRequest(bin)
		body, hl := binBody(`{"inputs":[{"name":"input","shape":[`+itoa(n)+`,3],"datatype":"FP64","parameters":{"binary_data_size":`+itoa(len(vals))+`}}]}`, vals)
		berr := bin.DecodeInferBinary(body, hl, trees, Limits{})
		for name, m := range map[string]*kservepb.ModelInferRequest{"typed": typed, "raw": raw} {
			err := r.DecodeInferProto(m, trees, Limits{})
			switch {
			case (err == nil) != (berr == nil):
				t.Errorf("%s FP64 %v: DecodeInferProto error %v, DecodeInferBinary error %v: want both to decode or both to refuse", name, f64, err, berr)
			case err != nil && strings.Replace(berr.Error(), bodyByteText(berr.Error()), "", 1) != err.Error():
				t.Errorf("%s FP64 %v: DecodeInferProto error %q, DecodeInferBinary error %q: want the same but for the body byte", name, f64, err, berr)
			case err == nil && (!sameBits(r.Rows, bin.Rows) || r.N != bin.N):
				t.Errorf("%s FP64 %v: DecodeInferProto rows %v (N %d), DecodeInferBinary %v (N %d)", name, f64, r.Rows, r.N, bin.Rows, bin.N)
			}
		}
	})
}

func itoa(n int) string { return string(appendNumber(nil, float64(n))) }

// bodyByteText is the "at body byte N: " an HTTP binary error holds, or "".
func bodyByteText(msg string) string {
	i := strings.Index(msg, "at body byte ")
	if i < 0 {
		return ""
	}
	j := strings.Index(msg[i:], ": ")
	return msg[i : i+j+2]
}
