package wire

import (
	"math"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

func TestDecodeInfer(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	withInput := testSchema(model.KindTrees, "input", "b")
	one := testSchema(model.KindTrees, "input")
	f32 := float64(float32(0.1))
	for _, tc := range []struct {
		body    string
		s       *Schema
		rows    []float64
		id      string // "-" for absent
		timeout int64
	}{
		{`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP64","data":[1,2,3,4,5,6]}]}`, trees, []float64{1, 2, 3, 4, 5, 6}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP64","data":[[1,2,3],[4,null,6]]}]}`, trees, []float64{1, 2, 3, 4, nan, 6}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[[[1],[2]],[],[[3]]]}]}`, trees, []float64{1, 2, 3}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[0.1,1e-46,3]}]}`, trees, []float64{f32, 0, 3}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT64","data":[-9223372036854775808,9223372036854775807,3]}]}`, trees, []float64{-0x1p63, 0x1p63, 3}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT32","data":[-2147483648,2147483647,3.0]}]}`, trees, []float64{math.MinInt32, math.MaxInt32, 3}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"BOOL","data":[true,false,null]}]}`, trees, []float64{1, 0, nan}, "-", 0},
		// Fields in any order: data before shape and datatype.
		{`{"inputs":[{"data":[[1,2,3]],"name":"input","datatype":"FP64","shape":[1,3],"parameters":{"x":[1,{"y":null}]}}]}`, trees, []float64{1, 2, 3}, "-", 0},
		{`{"id":"r\"1","parameters":{"timeout":2500,"other":{"a":[1,"2"]}},"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3]}],"outputs":[{"name":"output","parameters":{}}]}`, trees, []float64{1, 2, 3}, `r\"1`, 2500},
		{`{"id":"","inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}`, trees, []float64{1, 2, 3}, "", 0},
		{"{\"id\":\"a\xffb\",\"inputs\":[{\"name\":\"input\",\"shape\":[1,3],\"datatype\":\"FP64\",\"data\":[1,2,3]}]}", trees, []float64{1, 2, 3}, `a\ufffdb`, 0},
		// One input per feature, each with its own datatype.
		{`{"inputs":[{"name":"c","shape":[2],"datatype":"INT64","data":[7,8]},{"name":"a","shape":[2,1],"datatype":"FP64","data":[[1],[2]]},{"name":"b","shape":[2],"datatype":"FP32","data":[0.1,null]}]}`, trees, []float64{1, f32, 7, 2, nan, 8}, "-", 0},
		{`{"inputs":[{"name":"\u0061","shape":[1],"datatype":"FP64","data":[1]},{"name":"b","shape":[1],"datatype":"FP64","data":[2]},{"name":"c","shape":[1],"datatype":"BOOL","data":[true]}]}`, trees, []float64{1, 2, 1}, "-", 0},
		// A feature named "input": the 2-D input is told apart by its shape.
		{`{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP64","data":[1,2]}]}`, withInput, []float64{1, 2}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP64","data":[1,2]},{"name":"b","shape":[2],"datatype":"FP64","data":[3,4]}]}`, withInput, []float64{1, 3, 2, 4}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"b","shape":[2],"datatype":"FP64","data":[3,4]}]}`, withInput, []float64{1, 3, 2, 4}, "-", 0},
		{`{"inputs":[{"name":"input","shape":[2,1],"datatype":"FP64","data":[1,2]}]}`, one, []float64{1, 2}, "-", 0},
	} {
		r := GetRequest()
		err := r.DecodeInfer([]byte(tc.body), tc.s, Limits{MaxInstances: 2})
		nf := tc.s.NumFeatures()
		id := "-"
		if r.ID != nil {
			id = string(r.ID)
		}
		if err != nil {
			t.Errorf("DecodeInfer(%q) error = %v, want rows %v", tc.body, err, tc.rows)
		} else if !sameRows(r.Rows, tc.rows) || r.N != len(tc.rows)/nf || id != tc.id || r.TimeoutMicros != tc.timeout {
			t.Errorf("DecodeInfer(%q) = rows %v, N %d, id %q, timeout %d; want %v, %d, %q, %d",
				tc.body, r.Rows, r.N, id, r.TimeoutMicros, tc.rows, len(tc.rows)/nf, tc.id, tc.timeout)
		}
		PutRequest(r)
	}
}

func TestDecodeInferErrors(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	mlp := testSchema(model.KindMLP, "x", "y")
	in := func(name, shape, dt, data string) string {
		return `{"name":"` + name + `","shape":` + shape + `,"datatype":"` + dt + `","data":` + data + `}`
	}
	req := func(inputs ...string) string { return `{"inputs":[` + strings.Join(inputs, ",") + `]}` }
	deep := req(in("input", "[1,3]", "FP64", strings.Repeat("[", 1000)+"1,2,3"+strings.Repeat("]", 1000)))
	for _, tc := range []struct {
		body   string
		s      *Schema
		status int
		want   []string
	}{
		{req(in("input", "[2,3]", "FP64", "[1,2,3,4,5,6,7]")), trees, 400, []string{`input "input": 7 values, shape [2,3] needs 6`}},
		{req(in("input", "[2,3]", "FP64", "[[1,2,3],[4,5]]")), trees, 400, []string{`input "input": 5 values, shape [2,3] needs 6`}},
		{req(in("input", "[2,4]", "FP64", "[1,2,3,4,5,6,7,8]")), trees, 400, []string{`input "input": shape [2,4], the model takes [batch, 3] (a, b, c)`}},
		{req(in("input", "[6]", "FP64", "[1,2,3,4,5,6]")), trees, 400, []string{`input "input": shape [6]: a 1-D input "input" is one instance's 3 features (a, b, c); send shape [3], or [batch, 3] for a batch`}},
		{req(in("input", "[3]", "FP64", "[1,2]")), trees, 400, []string{`input "input": 2 values, shape [3] needs 3`}},
		{req(in("input", "[2]", "FP64", "[1,null]")), mlp, 400, []string{`input "input": instance 0: field "y": null (a missing value) is not accepted`}},
		{`{"outputs":[{"name":"out"}],"inputs":[]}`, trees, 400, []string{`outputs[0]: unknown output "out": the model's output is "output" (it has no class label)`}},
		{`{"outputs":[{"name":"output"},{"name":"label"}],"inputs":[]}`, trees, 400, []string{`outputs[1]: output "label": this model has no class label: only a classifier has one`, `the model's output is "output"`}},
		{`{"outputs":[{"name":"output"},{"name":"output"}],"inputs":[]}`, trees, 400, []string{`outputs[1]: output "output" is requested twice`}},
		{`{"outputs":[{"parameters":{}}],"inputs":[]}`, trees, 400, []string{`outputs[0]: missing "name"`}},
		{`{"outputs":[{"name":1}],"inputs":[]}`, trees, 400, []string{`outputs[0]: "name": expected a string, got a number`}},
		{`{"outputs":[{"name":"output","shape":[1]}],"inputs":[]}`, trees, 400, []string{`outputs[0]: unknown key "shape": a requested output takes "name" and optionally "parameters"`}},
		{`{"outputs":["output"],"inputs":[]}`, trees, 400, []string{`outputs[0]: expected an object such as {"name": "output"}, got a string`}},
		{`{"outputs":[{"name":"output","parameters":{"binary_data":true,"binary_data":false}}],"inputs":[]}`, trees, 400, []string{`outputs[0]: parameters: "binary_data" appears twice`}},
		{`{"outputs":[{"name":"output","parameters":{"binary_data":0}}],"inputs":[]}`, trees, 400, []string{`outputs[0]: parameters: "binary_data": expected true or false, got a number`}},
		{`{"outputs":[{"name":"output","parameters":{"classification":2}}],"inputs":[]}`, trees, 400, []string{`outputs[0]: parameters: "classification" is not supported: request the output "label"`}},
		{`{"outputs":[{"name":"output","parameters":{"top_k":2}}],"inputs":[]}`, trees, 400, []string{`outputs[0]: parameters: unknown parameter "top_k": a requested output takes "binary_data" (true or false)`}},
		{`{"parameters":{"return_features":true},"inputs":[]}`, trees, 400, []string{`parameters: "return_features": this model reads no online features`}},
		{`{"parameters":{"return_features":1},"inputs":[]}`, trees, 400, []string{`parameters: "return_features": expected true or false, got a number`}},
		{`{"parameters":{"return_features":false,"return_features":false},"inputs":[]}`, trees, 400, []string{`parameters: "return_features" appears twice`}},
		{req(in("x", "[1]", "FP64", "[1]")), trees, 400, []string{`unknown input "x"`, "(a, b, c)"}},
		{req(in("input", "[1,3]", "FP64", "[1,2,3]"), in("input", "[1,3]", "FP64", "[1,2,3]")), trees, 400, []string{`input "input" appears twice`}},
		{req(in("input", "[1,3]", "FP64", "[1,2,3]"), in("a", "[1]", "FP64", "[1]")), trees, 400, []string{`input "a": the model takes one input "input" or one input per feature, not both`}},
		{req(in("a", "[1]", "FP64", "[1]"), in("input", "[1,3]", "FP64", "[1,2,3]")), trees, 400, []string{`not both`}},
		{req(in("a", "[1]", "FP64", "[1]"), in("b", "[1]", "FP64", "[1]")), trees, 400, []string{`no input for feature "c"`}},
		{req(in("a", "[1]", "FP64", "[1]"), in("a", "[1]", "FP64", "[1]")), trees, 400, []string{`input "a" appears twice`}},
		{req(in("a", "[2]", "FP64", "[1,2]"), in("b", "[1]", "FP64", "[1]")), trees, 400, []string{`input "b": batch 1, the inputs before it have 2`}},
		{req(in("a", "[1,2]", "FP64", "[1,2]")), trees, 400, []string{`input "a": shape [1,2], a feature's input has shape [batch] or [batch, 1]`}},
		{req(in("input", "[1,3]", "FP64", `[1,"x",3]`)), trees, 400, []string{`input "input": instance 0: field "b": expected a number, got a string`}},
		{req(in("input", "[2,3]", "FP64", `[1,2,3,4,5,1.5]`)), trees, 400, []string{`input "input": instance 1: field "c": 1.5 is not a category`}},
		{req(in("b", "[2]", "FP64", `[1,{}]`)), trees, 400, []string{`input "b": instance 1: expected a number, got an object`}},
		{req(in("input", "[1,2]", "FP64", `[1,null]`)), mlp, 400, []string{`input "input": instance 0: field "y": null (a missing value) is not accepted: a mlp model`}},
		{req(in("input", "[1,3]", "FP32", `[1,1e39,3]`)), trees, 400, []string{`field "b": 1e39 is not a finite FP32 number`}},
		{req(in("input", "[1,3]", "FP64", `[1,1e309,3]`)), trees, 400, []string{`field "b": 1e309 is not a finite number`}},
		{req(in("input", "[1,3]", "INT32", `[1,2147483648,3]`)), trees, 400, []string{`field "b": 2147483648 is not an INT32`}},
		{req(in("input", "[1,3]", "INT32", `[1,2.5,3]`)), trees, 400, []string{`field "b": 2.5 is not an INT32`}},
		{req(in("input", "[1,3]", "INT64", `[1,9223372036854775808,3]`)), trees, 400, []string{`field "b": 9223372036854775808 is not an INT64`}},
		{req(in("input", "[1,3]", "INT64", `[1,-9223372036854775809,3]`)), trees, 400, []string{`is not an INT64`}},
		{req(in("input", "[1,3]", "INT64", `[1,1e19,3]`)), trees, 400, []string{`field "b": 1e19 is not an INT64`}},
		{req(in("input", "[1,3]", "BOOL", `[true,1,false]`)), trees, 400, []string{`field "b": expected true or false (datatype BOOL), got a number`}},
		{req(in("input", "[1,3]", "BOOL", `[true,"t",false]`)), trees, 400, []string{`field "b": expected true or false, got a string`}},
		{req(in("input", "[1,3]", "FP64", `[true,1,0]`)), trees, 400, []string{`field "a": expected a number (datatype FP64), got a boolean`}},
		{req(in("input", "[1,3]", "BYTES", `["a"]`)), trees, 400, []string{`input "input": datatype BYTES is for entity keys; a feature takes FP32, FP64, INT32, INT64 or BOOL`}},
		{req(in("input", "[1,3]", "STRING", `["a"]`)), trees, 400, []string{`input "input": datatype "STRING" is not supported: use FP32, FP64, INT32, INT64 or BOOL (BYTES for string inputs and entity keys)`}},
		{req(in("input", "[1,3]", "FP16", `[1,2,3]`)), trees, 400, []string{`datatype "FP16" is not supported`}},
		{req(in("input", "[1,-3]", "FP64", `[1,2,3]`)), trees, 400, []string{`input "input": shape entry -3 is not a non-negative integer`}},
		{req(in("input", "[1,2.5]", "FP64", `[1,2,3]`)), trees, 400, []string{`shape entry 2.5 is not a non-negative integer`}},
		{req(in("input", `[1,"3"]`, "FP64", `[1,2,3]`)), trees, 400, []string{`input "input": shape: expected an integer, got a string`}},
		{req(in("input", `[1,1,1,1,1,1,1,1,1]`, "FP64", `[1]`)), trees, 400, []string{`shape has more than 8 dimensions`}},
		{req(in("input", `[1,3,1]`, "FP64", `[1,2,3]`)), trees, 400, []string{`unknown input "input"`}},
		{req(in("input", `[4294967296,4294967296]`, "FP64", `[1,2,3]`)), trees, 400, []string{`shape [4294967296,4294967296], the model takes [batch, 3]`}},
		{req(in("a", `[4294967296,4294967296]`, "FP64", `[1,2,3]`)), trees, 400, []string{`a feature's input has shape [batch] or [batch, 1]`}},
		{req(in("input", "[0,3]", "FP64", "[]")), trees, 400, []string{"request has no instances"}},
		{req(in("input", "[3,3]", "FP64", "[1]")), trees, 413, []string{"request has 3 instances, the limit is 2 (max_instances)"}},
		{req(in("a", "[5]", "FP64", "[1]")), trees, 413, []string{"request has 5 instances, the limit is 2"}},
		{`{"inputs":[{"shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}`, trees, 400, []string{`inputs[0]: missing "name"`}},
		{`{"inputs":[{"name":"input","datatype":"FP64","data":[1,2,3]}]}`, trees, 400, []string{`input "input": missing "shape"`}},
		{`{"inputs":[{"name":"input","shape":[1,3],"data":[1,2,3]}]}`, trees, 400, []string{`input "input": missing "datatype"`}},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64"}]}`, trees, 400, []string{`input "input": missing "data"`}},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","parameters":{"binary_data_size":24}}]}`, trees, 400, []string{`input "input": parameters: "binary_data_size" 24, but the request has no binary data: send the HTTP header Inference-Header-Content-Length`}},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","parameters":{"x":1}}]}`, trees, 400, []string{`input "input": missing "data" (or, for binary data, "parameters": {"binary_data_size": bytes})`}},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3],"parameters":{"binary_data_size":24}}]}`, trees, 400, []string{`input "input": both "data" and "parameters": {"binary_data_size": 24}: send one`}},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","parameters":{"binary_data_size":2.5}}]}`, trees, 400, []string{`input "input": parameters: "binary_data_size": 2.5 is not a whole, non-negative number of bytes`}},
		{`{"inputs":[{"name":"input","name":"input"}]}`, trees, 400, []string{`input "input": key "name" appears twice`}},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3],"data":[1,2,3]}]}`, trees, 400, []string{`key "data" appears twice`}},
		{`{"inputs":[{"name":"input","foo":1}]}`, trees, 400, []string{`input "input": unknown key "foo"`}},
		{`{"inputs":[{"name":1}]}`, trees, 400, []string{`inputs[0]: "name": expected a string, got a number`}},
		{`{"inputs":[{"name":"input","data":{}}]}`, trees, 400, []string{`input "input": "data": expected an array, got an object`}},
		{`{"inputs":[{"name":"input","parameters":[]}]}`, trees, 400, []string{`input "input": "parameters": expected an object, got an array`}},
		{`{"inputs":[[1,2,3]]}`, trees, 400, []string{`inputs[0]: expected an object, got an array`}},
		{`{"inputs":[]}`, trees, 400, []string{`"inputs" is empty`}},
		{`{"inputs":{}}`, trees, 400, []string{`"inputs": expected an array, got an object`}},
		{`{"id":"x"}`, trees, 400, []string{`needs "inputs"`}},
		{`{"id":1,"inputs":[]}`, trees, 400, []string{`"id": expected a string, got a number`}},
		{`{"model_name":"m","inputs":[]}`, trees, 400, []string{`unknown key "model_name"`}},
		{`{"inputs":[],"inputs":[]}`, trees, 400, []string{`"inputs" is empty`}},
		{`{"parameters":{"timeout":-1},"inputs":[]}`, trees, 400, []string{`parameters: "timeout": -1 is not a whole, non-negative number of microseconds`}},
		{`{"parameters":{"timeout":1.5},"inputs":[]}`, trees, 400, []string{`1.5 is not a whole`}},
		{`{"parameters":{"timeout":"5"},"inputs":[]}`, trees, 400, []string{`parameters: "timeout": expected a number of microseconds, got a string`}},
		{`{"parameters":{"timeout":1,"timeout":2},"inputs":[]}`, trees, 400, []string{`"timeout" appears twice`}},
		{`{"parameters":[],"inputs":[]}`, trees, 400, []string{`"parameters": expected an object, got an array`}},
		{`{"outputs":{},"inputs":[]}`, trees, 400, []string{`"outputs": expected an array, got an object`}},
		{`{"outputs":[{"name":]}],"inputs":[]}`, trees, 400, []string{`malformed JSON at byte 20: expected a value, found ']'`}},
		{`{"parameters":{"x":tru},"inputs":[]}`, trees, 400, []string{`malformed JSON at byte 22: expected the literal true, found '}'`}},
		{`{"inputs":[{"data":[1,2,,3],"name":"input","shape":[1,3],"datatype":"FP64"}]}`, trees, 400, []string{`malformed JSON at byte 24: expected a value, found ','`}},
		{`{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2 3]}]}`, trees, 400, []string{`malformed JSON at byte 71: expected ',' or ']' after array element, found '3'`}},
		{`"inputs"`, trees, 400, []string{`an inference request must be a JSON object, got a string`}},
		{deep, trees, 400, []string{"nested deeper than 64 levels"}},
	} {
		r := GetRequest()
		err := r.DecodeInfer([]byte(tc.body), tc.s, Limits{MaxInstances: 2})
		if !checkErr(err, tc.status, tc.want...) {
			body := tc.body
			if len(body) > 120 {
				body = body[:120] + "..."
			}
			t.Errorf("DecodeInfer(%q) error = %v, want status %d and %q", body, err, tc.status, tc.want)
		}
		PutRequest(r)
	}
}
