package wire

import (
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

func TestDecodePredict(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	for _, tc := range []struct {
		body     string
		rows     []float64
		columnar bool
	}{
		{`{"instances":[{"a":1,"b":2.5,"c":3}]}`, []float64{1, 2.5, 3}, false},
		{`{"instances":[{"c":1,"b":null,"a":-0.5}]}`, []float64{-0.5, nan, 1}, false},
		{`{"instances":[[1,2,3],[4,null,6.0]]}`, []float64{1, 2, 3, 4, nan, 6}, false},
		{" \t\r\n{ \"instances\" : [ [ 1 , 2 , 3 ] ] }\n ", []float64{1, 2, 3}, false},
		{`{"instances":[[1,2,3],{"b":5,"a":4,"c":6}]}`, []float64{1, 2, 3, 4, 5, 6}, false},
		{`{"instances":[[1e2,-2.5E-3,0],[0.1,1E+2,-0]]}`, []float64{100, -0.0025, 0, 0.1, 100, 0}, false},
		{`{"instances":[[123456789012345678901234567890,1e-400,2e0]]}`, []float64{1.2345678901234568e29, 0, 2}, false},
		{`{"inputs":{"a":[1,2],"b":[3,null],"c":[5,6]}}`, []float64{1, 3, 5, 2, nan, 6}, true},
		{`{"inputs":{"c":[7],"a":[8],"b":[9]}}`, []float64{8, 9, 7}, true},
		{`{"inputs":[[1,2,3]]}`, []float64{1, 2, 3}, true},
		{`{"signature_name":"serving_default","instances":[[1,2,3]]}`, []float64{1, 2, 3}, false},
		{`{"instances":[[1,2,3]],"signature_name":"x\"y"}`, []float64{1, 2, 3}, false},
		{`{"instanc\u0065s":[{"\u0061":1,"b":2,"c":3}]}`, []float64{1, 2, 3}, false},
	} {
		r := GetRequest()
		err := r.DecodePredict([]byte(tc.body), trees, Limits{MaxInstances: 2})
		if err != nil {
			t.Errorf("DecodePredict(%q) error = %v, want rows %v", tc.body, err, tc.rows)
		} else if !sameRows(r.Rows, tc.rows) || r.N != len(tc.rows)/3 || r.Columnar != tc.columnar {
			t.Errorf("DecodePredict(%q) = rows %v, N %d, columnar %v; want %v, %d, %v",
				tc.body, r.Rows, r.N, r.Columnar, tc.rows, len(tc.rows)/3, tc.columnar)
		}
		PutRequest(r)
	}
}

func TestDecodePredictErrors(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	linear := testSchema(model.KindLinear, "x", "y")
	deep := `{"instances":[[1,2,3,` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `]]}`
	for _, tc := range []struct {
		body   string
		s      *Schema
		status int
		want   []string
	}{
		{`{"instances":[{"a":1,"b":"x","c":3}]}`, trees, 400, []string{`instance 0: field "b": expected a number, got a string`}},
		{`{"instances":[[1,2,3],[1,{},3]]}`, trees, 400, []string{`instance 1: field "b": expected a number, got an object`}},
		{`{"instances":[[1,2,[3]]]}`, trees, 400, []string{`instance 0: field "c": expected a number, got an array`}},
		{`{"instances":[{"a":1,"b":2}]}`, trees, 400, []string{`instance 0: missing feature "c" (send null for a missing value)`}},
		{`{"instances":[{"x":1}]}`, linear, 400, []string{`instance 0: missing feature "y"`}},
		{`{"instances":[{"a":1,"b":2,"c":3},{"a":1,"b":2,"cc":3}]}`, trees, 400, []string{`instance 1: unknown feature "cc"`}},
		{`{"instances":[{"a":1,"\u0061":2}]}`, trees, 400, []string{`instance 0: feature "a" appears twice`}},
		{`{"instances":[[1,2]]}`, trees, 400, []string{`instance 0: 2 values, the model takes 3 features (a, b, c)`}},
		{`{"instances":[[1,2,3],[1,2,3,4,[5]]]}`, trees, 400, []string{`instance 1: 5 values, the model takes 3 features (a, b, c)`}},
		{`{"instances":[[1,2,1.5]]}`, trees, 400, []string{`instance 0: field "c": 1.5 is not a category`}},
		{`{"instances":[[1,true,1]]}`, trees, 400, []string{`instance 0: field "b": expected a number, got a boolean`}},
		{`{"instances":[[1e999,2,1]]}`, trees, 400, []string{`instance 0: field "a": 1e999 is not a finite number`}},
		{`{"instances":[[1,-1e400,1]]}`, trees, 400, []string{`field "b": -1e400 is not a finite number`}},
		{`{"instances":[[1,null]]}`, linear, 400, []string{`instance 0: field "y": null (a missing value) is not accepted: a linear model`}},
		{`{"instances":[]}`, trees, 400, []string{"request has no instances"}},
		{`{"inputs":{"a":[],"b":[],"c":[]}}`, trees, 400, []string{"request has no instances"}},
		{`{}`, trees, 400, []string{`needs "instances" or "inputs"`}},
		{`{"signature_name":"s"}`, trees, 400, []string{`needs "instances" or "inputs"`}},
		{`{"instances":[[1,2,3]],"inputs":[[1,2,3]]}`, trees, 400, []string{`either "instances" or "inputs", not both`}},
		{`{"instances":[[1,2,3]],"instances":[[1,2,3]]}`, trees, 400, []string{`key "instances" appears twice`}},
		{`{"instances":[[1,2,3]],"foo":1}`, trees, 400, []string{`unknown key "foo"`}},
		{`{"signature_name":1,"instances":[[1,2,3]]}`, trees, 400, []string{`"signature_name": expected a string, got a number`}},
		{`{"instances":[1]}`, trees, 400, []string{`instance 0: expected an object or an array, got a number`}},
		{`{"instances":{"a":1}}`, trees, 400, []string{`"instances": expected an array, got an object`}},
		{`{"inputs":"abc"}`, trees, 400, []string{`"inputs": expected an object of columns or an array of instances, got a string`}},
		{`[1]`, trees, 400, []string{"a predict request must be a JSON object, got an array"}},
		{``, trees, 400, []string{"a predict request must be a JSON object, got an empty body"}},
		{`  `, trees, 400, []string{"got an empty body"}},
		{`{"inputs":{"a":[1,2],"b":[3],"c":[5,6]}}`, trees, 400, []string{`inputs: feature "b" has 1 values, feature "a" has 2`}},
		{`{"inputs":{"a":[1],"b":[3]}}`, trees, 400, []string{`inputs: missing feature "c"`}},
		{`{"inputs":{"a":[1],"b":[3],"z":[1]}}`, trees, 400, []string{`inputs: unknown feature "z"`}},
		{`{"inputs":{"a":[1],"a":[3]}}`, trees, 400, []string{`inputs: feature "a" appears twice`}},
		{`{"inputs":{"a":1}}`, trees, 400, []string{`inputs: feature "a": expected an array of values, got a number`}},
		{`{"inputs":{"a":[1,2],"b":[3,"4"],"c":[5,6]}}`, trees, 400, []string{`instance 1: field "b": expected a number, got a string`}},
		{`{"instances":[[1,2,3],[1,2,3],[1,2,3]]}`, trees, 413, []string{"request has 3 instances, the limit is 2 (max_instances)"}},
		{`{"instances":[[1,2,3],[1,2,3],"x",{}]}`, trees, 413, []string{"request has 4 instances, the limit is 2"}},
		{`{"inputs":{"a":[1,2,3,4,5]}}`, trees, 413, []string{"request has 5 instances, the limit is 2"}},
		// Syntax errors, with the offset of the offending byte.
		{`{"instances":[[1,2,3]]} x`, trees, 400, []string{"malformed JSON at byte 24: expected the end of input after the top-level value, found 'x'"}},
		{`{"instances":[[1,2,3]] "x"}`, trees, 400, []string{"malformed JSON at byte 23: expected ',' or '}' after object value"}},
		{`{"instances":[[1,2,3}`, trees, 400, []string{"malformed JSON at byte 20: expected ',' or ']' after array element, found '}'"}},
		{`{"instances":[[1,2,3]]`, trees, 400, []string{"malformed JSON at byte 22: expected ',' or '}' after object value, found end of input"}},
		{`{"instances":[[1,2,NaN]]}`, trees, 400, []string{"malformed JSON at byte 19: NaN is not a JSON value"}},
		{`{"instances":[[1,2,-Infinity]]}`, trees, 400, []string{"malformed JSON at byte 20: -Infinity is not a JSON value"}},
		{`{"instances":[[01,2,3]]}`, trees, 400, []string{"malformed JSON at byte 16: expected ',' or ']' after array element, found '1'"}},
		{`{"instances":[[1.,2,3]]}`, trees, 400, []string{"malformed JSON at byte 17: expected a digit after '.'"}},
		{`{"instances":[[1e,2,3]]}`, trees, 400, []string{"malformed JSON at byte 17: expected a digit in number's exponent"}},
		{`{"instances":[[+1,2,3]]}`, trees, 400, []string{"malformed JSON at byte 15: expected a value, found '+'"}},
		{`{"instances":[[1,2,3],]}`, trees, 400, []string{"malformed JSON at byte 22: expected a value, found ']'"}},
		{`{"instances":[[1,2,nul]]}`, trees, 400, []string{"malformed JSON at byte 22: expected the literal null, found ']'"}},
		{`{"instances":[{"a":1,}]}`, trees, 400, []string{"malformed JSON at byte 21: expected '\"' to begin an object key, found '}'"}},
		{`{"instances":[{"a" 1}]}`, trees, 400, []string{"malformed JSON at byte 19: expected ':' after object key, found '1'"}},
		{"{\"instances\":[{\"a\tb\":1}]}", trees, 400, []string{"malformed JSON at byte 17: control character in string"}},
		{`{"instances":[{"a\x":1}]}`, trees, 400, []string{"malformed JSON at byte 18: invalid escape in string, found 'x'"}},
		{`{"instances":[{"a\u12":1}]}`, trees, 400, []string{"malformed JSON at byte 21: expected 4 hex digits after \\u"}},
		{`{"instances":[{"a`, trees, 400, []string{"malformed JSON at byte 17: unterminated string, found end of input"}},
		{`{'instances':[]}`, trees, 400, []string{"malformed JSON at byte 1: expected '\"' to begin an object key, found '\\''"}},
		{deep, trees, 400, []string{"nested deeper than 64 levels"}},
	} {
		r := GetRequest()
		err := r.DecodePredict([]byte(tc.body), tc.s, Limits{MaxInstances: 2})
		if !checkErr(err, tc.status, tc.want...) {
			body := tc.body
			if len(body) > 100 {
				body = body[:100] + "..."
			}
			t.Errorf("DecodePredict(%q) error = %v, want status %d and %q", body, err, tc.status, tc.want)
		}
		PutRequest(r)
	}
}

// TestDecodePredictUnlimited: Limits{} takes any number of instances.
func TestDecodePredictUnlimited(t *testing.T) {
	s := testSchema(model.KindLinear, "x")
	body := `{"instances":[` + strings.Repeat(`[1],`, 4999) + `[2]]}`
	r := GetRequest()
	defer PutRequest(r)
	if err := r.DecodePredict([]byte(body), s, Limits{}); err != nil || r.N != 5000 || r.Rows[4999] != 2 {
		t.Errorf("DecodePredict(5000 instances, no limit) = N %d, err %v; want 5000 instances", r.N, err)
	}
}
