package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// binBody builds a binary tensor data request as tritonclient sends it:
// the JSON header, then the inputs' bytes in order. It returns the body
// and the header's length (Inference-Header-Content-Length).
func binBody(header string, chunks ...[]byte) ([]byte, int) {
	b := []byte(header)
	for _, c := range chunks {
		b = append(b, c...)
	}
	return b, len(header)
}

func f32Bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

func f64Bytes(vs ...float64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

func i64Bytes(vs ...int64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

func i32Bytes(vs ...int32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// bytesElems is BYTES binary data: per element a 4-byte length, the bytes.
func bytesElems(vs ...string) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	return b
}

// TestDecodeInferBinary holds each binary request to the JSON request
// with the same values: the same rows, strings and entity keys.
func TestDecodeInferBinary(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	strs := transformSchema(model.KindLinear, "amount", "country:str")
	for _, tc := range []struct {
		name   string
		s      *Schema
		header string
		chunks [][]byte
		json   string
	}{
		{"fp32-2d", trees,
			`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP32","parameters":{"binary_data_size":24}}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}`,
			[][]byte{f32Bytes(0.1, -2.5, 3, 1e-40, float32(math.NaN()), 7)},
			`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP32","data":[0.1,-2.5,3,1e-40,null,7]}]}`},
		{"fp64-2d", trees,
			`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","parameters":{"binary_data_size":24}}]}`,
			[][]byte{f64Bytes(0.1, math.MaxFloat64, math.Copysign(0, -1))},
			`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[0.1,1.7976931348623157e308,-0]}]}`},
		{"mixed-json-and-binary", trees,
			`{"inputs":[{"name":"c","shape":[2],"datatype":"INT64","parameters":{"binary_data_size":16}},{"name":"a","shape":[2],"datatype":"FP64","data":[1,2]},` +
				`{"name":"b","shape":[2,1],"datatype":"BOOL","parameters":{"binary_data_size":2}}]}`,
			[][]byte{i64Bytes(1<<53, -7), {1, 0}},
			`{"inputs":[{"name":"c","shape":[2],"datatype":"INT64","data":[9007199254740992,-7]},{"name":"a","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"b","shape":[2,1],"datatype":"BOOL","data":[true,false]}]}`},
		{"int32", trees,
			`{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT32","parameters":{"binary_data_size":12}}]}`,
			[][]byte{i32Bytes(math.MinInt32, math.MaxInt32, 0)},
			`{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT32","data":[-2147483648,2147483647,0]}]}`},
		{"strings", strs,
			`{"inputs":[{"name":"country","shape":[3],"datatype":"BYTES","parameters":{"binary_data_size":18}},{"name":"amount","shape":[3],"datatype":"FP64","parameters":{"binary_data_size":24}}]}`,
			[][]byte{bytesElems("DE", "", "K\xf6ln"), f64Bytes(1, 2, 3)},
			`{"inputs":[{"name":"country","shape":[3],"datatype":"BYTES","data":["DE","","K\ufffdln"]},{"name":"amount","shape":[3],"datatype":"FP64","data":[1,2,3]}]}`},
		{"entity-keys", fuzzJoin,
			`{"inputs":[{"name":"uid","shape":[2],"datatype":"INT64","parameters":{"binary_data_size":16}},{"name":"shop","shape":[2,1],"datatype":"BYTES","parameters":{"binary_data_size":14}}]}`,
			[][]byte{i64Bytes(7, -1<<62), bytesElems("s1", "shop")},
			`{"inputs":[{"name":"uid","shape":[2],"datatype":"INT64","data":[7,-4611686018427387904]},{"name":"shop","shape":[2,1],"datatype":"BYTES","data":[["s1"],["shop"]]}]}`},
		{"entity-key-int32", fuzzJoin,
			`{"inputs":[{"name":"uid","shape":[1],"datatype":"INT32","parameters":{"binary_data_size":4}},{"name":"c","shape":[1],"datatype":"INT64","data":[3]}]}`,
			[][]byte{i32Bytes(-5)},
			`{"inputs":[{"name":"uid","shape":[1],"datatype":"INT32","data":[-5]},{"name":"c","shape":[1],"datatype":"INT64","data":[3]}]}`},
	} {
		body, hl := binBody(tc.header, tc.chunks...)
		r, want := GetRequest(), GetRequest()
		err := r.DecodeInferBinary(body, hl, tc.s, Limits{})
		werr := want.DecodeInfer([]byte(tc.json), tc.s, Limits{})
		if werr != nil {
			t.Fatalf("%s: DecodeInfer(%s) = %v (the test's JSON request is wrong)", tc.name, tc.json, werr)
		}
		if err != nil {
			t.Errorf("%s: DecodeInferBinary(%q, %d) = %v, want rows %v", tc.name, body, hl, err, cells(want, tc.s))
		} else if got, w := cells(r, tc.s), cells(want, tc.s); !slices.Equal(got, w) || !sameBits(r.Rows, want.Rows) || r.N != want.N || !slices.Equal(r.Given, want.Given) {
			t.Errorf("%s: DecodeInferBinary(%q, %d) = rows %v, N %d; the JSON request's are %v, N %d", tc.name, body, hl, got, r.N, w, want.N)
		} else if tc.s.join != nil {
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

func TestDecodeInferBinaryErrors(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	linear := testSchema(model.KindLinear, "a", "b", "c")
	strs := transformSchema(model.KindLinear, "amount", "country:str")
	fp32 := func(size int) string {
		return `{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":` + strconv.Itoa(size) + `}}]}`
	}
	for _, tc := range []struct {
		s      *Schema
		header string
		data   []byte
		hl     int // -1: the header's length
		want   string
	}{
		{trees, fp32(12), f32Bytes(1, 2, 3), 500, "Inference-Header-Content-Length 500 is past the body's end: the body has 110 bytes"},
		{trees, fp32(12), f32Bytes(1, 2, 3), -2, "Inference-Header-Content-Length -2 is past the body's end"},
		{trees, fp32(16), f32Bytes(1, 2, 3, 4), -1, `input "input": "binary_data_size" 16, but shape [1,3] of FP32 takes 12 bytes (4 each)`},
		{trees, fp32(12), f32Bytes(1, 2), -1, `input "input": binary data at body byte 98: "binary_data_size" 12 runs past the body's end (8 bytes of binary data left)`},
		{trees, fp32(12), f32Bytes(1, 2, 3, 4), -1, "binary data: 4 bytes at body byte 110 follow the last binary input's data"},
		{trees, `{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP16","parameters":{"binary_data_size":6}}]}`, []byte{0, 0, 0, 0, 0, 0}, -1, `input "input": datatype "FP16" is not supported`},
		{trees, fp32(12), f32Bytes(1, float32(math.Inf(1)), 3), -1, `input "input": instance 0: field "b": at body byte 102: +Inf is not a finite FP32 number`},
		{trees, fp32(12), f32Bytes(1, 2, 3.5), -1, `input "input": instance 0: field "c": at body byte 106: 3.5 is not a category`},
		{linear, fp32(12), f32Bytes(1, float32(math.NaN()), 3), -1, `field "b": at body byte 102: NaN (a missing value) is not accepted: a linear model`},
		{trees, `{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT64","parameters":{"binary_data_size":24}}]}`, i64Bytes(1, 1<<53+1, 3), -1, `input "input": instance 0: field "b": at body byte 107: INT64 9007199254740993 is beyond ±2^53`},
		{trees, `{"inputs":[{"name":"input","shape":[1,3],"datatype":"BOOL","parameters":{"binary_data_size":3}}]}`, []byte{1, 2, 0}, -1, `field "b": at body byte 98: BOOL byte 2, want 0 (false) or 1 (true)`},
		{trees, `{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`, f32Bytes(1), -1, "binary data: 4 bytes at body byte 76 follow the last binary input's data"},
		{strs, `{"inputs":[{"name":"country","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":7}},{"name":"amount","shape":[1],"datatype":"FP64","data":[1]}]}`, bytesElems("DE", "x"), -1,
			`input "country": "binary_data_size" 7, but its 1 BYTES elements take 6 bytes (each a 4-byte length and the bytes), ending at body byte 163`},
		{strs, `{"inputs":[{"name":"country","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":6}},{"name":"amount","shape":[2],"datatype":"FP64","data":[1,2]}]}`, bytesElems("DE"), -1,
			`input "country": binary data at body byte 165: a BYTES element's 4-byte length runs past its "binary_data_size" 6`},
		{strs, `{"inputs":[{"name":"country","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":5}},{"name":"amount","shape":[1],"datatype":"FP64","data":[1]}]}`, []byte{9, 0, 0, 0, 'x'}, -1,
			`input "country": binary data at body byte 157: a BYTES element of 9 bytes runs past its "binary_data_size" 5`},
		{fuzzJoin, `{"inputs":[{"name":"uid","shape":[1],"datatype":"INT64","parameters":{"binary_data_size":4}}]}`, i32Bytes(1), -1,
			`entity key input "uid": "binary_data_size" 4, but shape [1] of INT64 takes 8 bytes (8 each)`},
		{fuzzJoin, `{"inputs":[{"name":"shop","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]}`, bytesElems("a\x00"), -1,
			`instance 0: entity key "shop" contains a NUL byte`},
		// The JSON header is checked as JSON first, as DecodeInfer's body.
		{trees, `{"inputs":[`, nil, -1, "malformed JSON at byte 11: expected a value, found end of input"},
	} {
		body, hl := binBody(tc.header, tc.data)
		if tc.hl != -1 {
			hl = tc.hl
		}
		r := GetRequest()
		err := r.DecodeInferBinary(body, hl, tc.s, Limits{})
		if !checkErr(err, 400, tc.want) {
			t.Errorf("DecodeInferBinary(%q, %d) error = %v, want 400 and %q", body, hl, err, tc.want)
		}
		PutRequest(r)
	}
}

// TestDecodeInferBinaryOutputs: which outputs the request asks for as
// binary data, by output and by the request's binary_data_output.
func TestDecodeInferBinaryOutputs(t *testing.T) {
	s := testSchema(model.KindTrees, "a")
	in := `"inputs":[{"name":"a","shape":[1],"datatype":"FP64","data":[1]}]`
	for _, tc := range []struct {
		body        string
		pred, label bool
	}{
		{`{` + in + `}`, false, false},
		{`{"parameters":{"binary_data_output":true},` + in + `}`, true, true},
		{`{` + in + `,"outputs":[{"name":"output","parameters":{"binary_data":true}}]}`, true, false},
		{`{"outputs":[{"name":"output","parameters":{"binary_data":false}}],"parameters":{"binary_data_output":true},` + in + `}`, false, true},
	} {
		r := GetRequest()
		if err := r.DecodeInfer([]byte(tc.body), s, Limits{}); err != nil {
			t.Errorf("DecodeInfer(%s) = %v", tc.body, err)
		} else if p, l := r.BinaryOutput(OutputPredictions), r.BinaryOutput(OutputLabel); p != tc.pred || l != tc.label {
			t.Errorf("DecodeInfer(%s): BinaryOutput(output, label) = %v, %v, want %v, %v", tc.body, p, l, tc.pred, tc.label)
		}
		PutRequest(r)
	}
}

func TestAppendInferBinary(t *testing.T) {
	s := testSchema(model.KindTrees, "a")
	s.label = LabelArgmax
	preds := []float64{0.25, 0.75, math.NaN(), 0.5, 0.1, 0.2}
	for _, tc := range []struct {
		body   string
		header string
		data   []byte
	}{
		{`{"inputs":[{"name":"a","shape":[3],"datatype":"FP64","data":[1,2,3]}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}`,
			`{"model_name":"m","model_version":"2","outputs":[{"name":"output","datatype":"FP64","shape":[3,2],"parameters":{"binary_data_size":48}}]}`,
			f64Bytes(preds...)},
		{`{"parameters":{"binary_data_output":true},"inputs":[{"name":"a","shape":[3],"datatype":"FP64","data":[1,2,3]}],"outputs":[{"name":"label"},{"name":"output","parameters":{"binary_data":false}}]}`,
			`{"model_name":"m","model_version":"2","outputs":[{"name":"label","datatype":"INT64","shape":[3],"parameters":{"binary_data_size":24}},{"name":"output","datatype":"FP64","shape":[3,2],"data":[0.25,0.75,null,0.5,0.1,0.2]}]}`,
			i64Bytes(1, -1, 1)},
		{`{"parameters":{"binary_data_output":true},"inputs":[{"name":"a","shape":[3],"datatype":"FP64","data":[1,2,3]}]}`,
			`{"model_name":"m","model_version":"2","outputs":[{"name":"output","datatype":"FP64","shape":[3,2],"parameters":{"binary_data_size":48}}]}`,
			f64Bytes(preds...)},
	} {
		r := GetRequest()
		if err := r.DecodeInfer([]byte(tc.body), s, Limits{}); err != nil {
			t.Fatalf("DecodeInfer(%s) = %v", tc.body, err)
		}
		out, hl := AppendInferBinary([]byte("prefix"), "m", 2, r, s, preds, 2, nil)
		want := "prefix" + tc.header + string(tc.data)
		if string(out) != want || hl != len(tc.header) {
			t.Errorf("AppendInferBinary for %s = %q, headerLen %d; want %q, %d", tc.body, out, hl, want, len(tc.header))
		}
		PutRequest(r)
	}
	// No binary output: AppendInferResponse's body, headerLen -1.
	r := GetRequest()
	defer PutRequest(r)
	body := `{"inputs":[{"name":"a","shape":[3],"datatype":"FP64","data":[1,2,3]}]}`
	if err := r.DecodeInfer([]byte(body), s, Limits{}); err != nil {
		t.Fatal(err)
	}
	out, hl := AppendInferBinary(nil, "m", 2, r, s, preds, 2, nil)
	if want := AppendInferResponse(nil, "m", 2, r, s, preds, 2, nil); string(out) != string(want) || hl != -1 {
		t.Errorf("AppendInferBinary for %s = %q, %d; want %q, -1", body, out, hl, want)
	}
}

func TestDecodeInferBinaryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	s := transformSchema(model.KindLinear, "amount", "country:str")
	body, hl := binBody(`{"inputs":[{"name":"country","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":14}},{"name":"amount","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}],`+
		`"outputs":[{"name":"output","parameters":{"binary_data":true}}]}`, bytesElems("DE", "K\xf6ln"), f32Bytes(1, 2))
	tree := testSchema(model.KindTrees, "a", "b", "c")
	tensor, thl := binBody(`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP64","parameters":{"binary_data_size":48}}]}`, f64Bytes(1, 2, 3, 4, 5, 6))
	keys, khl := binBody(`{"inputs":[{"name":"uid","shape":[2],"datatype":"INT64","parameters":{"binary_data_size":16}},{"name":"shop","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":14}}]}`,
		i64Bytes(7, 8), bytesElems("s1", "shop"))
	preds := []float64{0.5, 0.25}
	for _, tc := range []struct {
		name string
		run  func(r *Request) error
	}{
		{"strings", func(r *Request) error {
			if err := r.DecodeInferBinary(body, hl, s, Limits{}); err != nil {
				return err
			}
			r.Out, _ = AppendInferBinary(r.Out[:0], "m", 1, r, s, preds, 1, nil)
			return nil
		}},
		{"tensor", func(r *Request) error { return r.DecodeInferBinary(tensor, thl, tree, Limits{}) }},
		{"keys", func(r *Request) error { return r.DecodeInferBinary(keys, khl, fuzzJoin, Limits{}) }},
	} {
		r := GetRequest()
		if err := tc.run(r); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var err error
		if n := testing.AllocsPerRun(100, func() { err = tc.run(r) }); n != 0 || err != nil {
			t.Errorf("%s: a warm binary decode allocates %v times (err %v), want 0", tc.name, n, err)
		}
		PutRequest(r)
	}
}

// FuzzDecodeInferBinary: values from data, sent as the binary input
// "input" [n, 3] of datatype dt, decode to the same rows as the JSON
// request that writes them as numbers (NaN as null), or both are refused
// (and the binary refusal of a value JSON takes, an INT64 beyond 2^53 or
// an infinity, names the input). Then any body with any header length is
// decoded without a panic, and refused with an *Error or decoded whole.
func FuzzDecodeInferBinary(f *testing.F) {
	f.Add(f32Bytes(0.1, 2, 3, -4, 5, float32(math.NaN())), uint8(0), []byte(`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","parameters":{"binary_data_size":12}}]}`), uint16(96))
	f.Add(f64Bytes(1e300, -0, 3), uint8(1), []byte(`{"inputs":[{"name":"a","shape":[1],"datatype":"BOOL","parameters":{"binary_data_size":1}}]}`), uint16(90))
	f.Add(i64Bytes(1<<53, 2, 1<<60), uint8(2), []byte("{}"), uint16(1))
	f.Add([]byte{1, 0, 1, 2, 0, 0}, uint8(4), []byte(`{"inputs":[{"name":"shop","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":6}}]}`), uint16(97))
	s := testSchema(model.KindTrees, "a", "b", "c")
	dts := []dtype{dtFP32, dtFP64, dtINT64, dtINT32, dtBOOL}
	f.Fuzz(func(t *testing.T, data []byte, dtSel uint8, header []byte, cut uint16) {
		dt := dts[int(dtSel)%len(dts)]
		size := elemSize(dt)
		n := len(data) / size / 3
		data = data[:n*3*size]
		vals := make([]string, 0, 3*n)
		jsonOK := true
		for k := 0; k < len(data); k += size {
			b := data[k:]
			var v string
			switch dt {
			case dtFP32:
				x := math.Float32frombits(binary.LittleEndian.Uint32(b))
				v = strconv.FormatFloat(float64(x), 'g', -1, 32)
				jsonOK = jsonOK && !math.IsInf(float64(x), 0)
			case dtFP64:
				x := math.Float64frombits(binary.LittleEndian.Uint64(b))
				v = strconv.FormatFloat(x, 'g', -1, 64)
				jsonOK = jsonOK && !math.IsInf(x, 0)
			case dtINT64:
				x := int64(binary.LittleEndian.Uint64(b))
				v = strconv.FormatInt(x, 10)
				jsonOK = jsonOK && x <= maxExactInt && x >= -maxExactInt
			case dtINT32:
				v = strconv.FormatInt(int64(int32(binary.LittleEndian.Uint32(b))), 10)
			case dtBOOL:
				v = map[byte]string{0: "false", 1: "true"}[b[0]]
				if v == "" {
					v = strconv.Itoa(int(b[0])) // refused by both
				}
			}
			if v == "NaN" {
				v = "null"
			}
			vals = append(vals, v)
		}
		shape := fmt.Sprintf("[%d,3]", n)
		jsonBody := `{"inputs":[{"name":"input","shape":` + shape + `,"datatype":"` + dt.String() + `","data":[` + strings.Join(vals, ",") + `]}]}`
		body, hl := binBody(`{"inputs":[{"name":"input","shape":`+shape+`,"datatype":"`+dt.String()+`","parameters":{"binary_data_size":`+strconv.Itoa(len(data))+`}}]}`, data)
		r, want := GetRequest(), GetRequest()
		defer PutRequest(r)
		defer PutRequest(want)
		err := r.DecodeInferBinary(body, hl, s, Limits{})
		werr := want.DecodeInfer([]byte(jsonBody), s, Limits{})
		switch {
		case werr == nil && !jsonOK:
			if !checkErr(err, 400, `input "input": instance `) {
				t.Errorf("DecodeInferBinary(%q) error = %v, want a refusal naming the input (JSON %s decodes)", body, err, jsonBody)
			}
		case (err == nil) != (werr == nil):
			t.Errorf("DecodeInferBinary(%q) error = %v, DecodeInfer(%s) error = %v: want both to decode or both to refuse", body, err, jsonBody, werr)
		case err == nil && (!sameBits(r.Rows, want.Rows) || r.N != want.N):
			t.Errorf("DecodeInferBinary(%q) = %v (N %d), DecodeInfer(%s) = %v (N %d)", body, r.Rows, r.N, jsonBody, want.Rows, want.N)
		}

		// Any body, any header length.
		raw := append(header, data...)
		for _, sch := range []*Schema{s, fuzzJoin} {
			err = r.DecodeInferBinary(raw, int(cut)-1, sch, Limits{MaxInstances: 8})
			var e *Error
			switch {
			case err != nil && !errors.As(err, &e):
				t.Errorf("DecodeInferBinary(%q, %d) error = %v (%T), want an *Error", raw, int(cut)-1, err, err)
			case err == nil && len(r.Rows) != r.N*sch.NumFeatures():
				t.Errorf("DecodeInferBinary(%q, %d): %d values for %d instances of %d features", raw, int(cut)-1, len(r.Rows), r.N, sch.NumFeatures())
			}
		}
	})
}

// TestBinaryDocExample holds docs/api.md's worked example of the binary
// tensor data extension: its bytes decode to its rows, and its answer is
// the bytes it shows.
func TestBinaryDocExample(t *testing.T) {
	s := testSchema(model.KindTrees, "a", "b")
	header := `{"inputs":[{"name":"input","shape":[2,2],"datatype":"FP32","parameters":{"binary_data_size":16}}],"outputs":[{"name":"output","parameters":{"binary_data":true}}]}`
	data := []byte{0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x40, 0x40}
	body, hl := binBody(header, data)
	r := GetRequest()
	defer PutRequest(r)
	if err := r.DecodeInferBinary(body, hl, s, Limits{}); err != nil || hl != 162 || len(body) != 178 || !sameRows(r.Rows, []float64{1.5, -2, 0.25, 3}) {
		t.Fatalf("DecodeInferBinary(doc example, %d) = rows %v, err %v; want 162 of 178 bytes, rows [1.5 -2 0.25 3]", hl, r.Rows, err)
	}
	out, n := AppendInferBinary(nil, "m", 1, r, s, []float64{0.75, 0.125}, 1, nil)
	want := `{"model_name":"m","model_version":"1","outputs":[{"name":"output","datatype":"FP64","shape":[2],"parameters":{"binary_data_size":16}}]}` +
		"\x00\x00\x00\x00\x00\x00\xe8\x3f\x00\x00\x00\x00\x00\x00\xc0\x3f"
	if string(out) != want || n != 135 {
		t.Errorf("AppendInferBinary(doc example) = %q, %d; want %q, 135", out, n, want)
	}
	if got := bytesElems("DE"); string(got) != "\x02\x00\x00\x00DE" {
		t.Errorf("BYTES element \"DE\" = % x, want 02 00 00 00 44 45", got)
	}
	b, hl := binBody(header, data, []byte{0, 0, 0, 0})
	if err := r.DecodeInferBinary(b, hl, s, Limits{}); !checkErr(err, 400, "binary data: 4 bytes at body byte 178 follow") {
		t.Errorf("doc example with 4 bytes more: error %v, want 400 naming body byte 178", err)
	}
	if err := r.DecodeInferBinary(body, 500, s, Limits{}); !checkErr(err, 400, "Inference-Header-Content-Length 500 is past the body's end: the body has 178 bytes") {
		t.Errorf("doc example, header length 500: error %v", err)
	}
}
