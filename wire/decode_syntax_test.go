package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// TestDecodeSyntaxFirst: a body that is not valid JSON is refused with a
// 400 that says so and names the byte, at every nesting level, even where
// the decoder would have refused what the body says first. Each want is
// also held to encoding/json's SyntaxError.Offset (see checkAgainstJSON).
func TestDecodeSyntaxFirst(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	const in = `{"name":"input","shape":[1,3],"datatype":"FP64","data":[1,2,3]}`
	for _, tc := range []struct {
		dec  string // "predict" or "infer"
		body string
		want string
	}{
		// The example: the columns' nextMember error was lost to a
		// shadowed err, and the request answered "missing feature b".
		{"predict", `{"inputs":{"a":[1] "b":[2],"c":[3]}}`, `malformed JSON at byte 19: expected ',' or '}' after object value, found '"'`},
		{"predict", `{"inputs":{"a":[1}`, `malformed JSON at byte 17: expected ',' or ']' after array element, found '}'`},
		{"predict", `{"inputs":{"a":[1 2],"b":[2],"c":[3]}}`, `malformed JSON at byte 18: expected ',' or ']' after array element, found '2'`},
		{"predict", `{"inputs":{"a" [1],"b":[2],"c":[3]}}`, `malformed JSON at byte 15: expected ':' after object key, found '['`},
		{"predict", `{"inputs" {"a":[1],"b":[2],"c":[3]}}`, `malformed JSON at byte 10: expected ':' after object key, found '{'`},
		{"predict", `{"inputs":{"a":[1],"b":[2],"c":[3]} "signature_name":"s"}`, `malformed JSON at byte 36: expected ',' or '}' after object value, found '"'`},
		// Rows: a missing comma or colon at each level.
		{"predict", `{"instances":[[1,2,3] [4,5,6]]}`, `malformed JSON at byte 22: expected ',' or ']' after array element, found '['`},
		{"predict", `{"instances":[[1,2 3]]}`, `malformed JSON at byte 19: expected ',' or ']' after array element, found '3'`},
		{"predict", `{"instances":[{"a":1 "b":2,"c":3}]}`, `malformed JSON at byte 21: expected ',' or '}' after object value, found '"'`},
		{"predict", `{"instances":[{"a":1,"b" 2,"c":3}]}`, `malformed JSON at byte 25: expected ':' after object key, found '2'`},
		{"predict", `{"instances":[{"a":1,"b":2,"c":3} {"a":1}]}`, `malformed JSON at byte 34: expected ',' or ']' after array element, found '{'`},
		// Trailing garbage, unterminated strings, broken literals.
		{"predict", `{"instances":[[1,2,3]]}}`, `malformed JSON at byte 23: expected the end of input after the top-level value, found '}'`},
		{"predict", `{"instances":[[1,2,3]]}[`, `malformed JSON at byte 23: expected the end of input after the top-level value, found '['`},
		{"predict", `{"instances":[{"a":1,"b`, `malformed JSON at byte 23: unterminated string, found end of input`},
		{"predict", `{"instances":[[1,2,3]],"signature_name":"s`, `malformed JSON at byte 42: unterminated string, found end of input`},
		{"predict", `{"return_features":tru}`, `malformed JSON at byte 22: expected the literal true, found '}'`},
		{"predict", `{"instances":[[1,2,-x]]}`, `malformed JSON at byte 20: expected a digit after '-' in number, found 'x'`},
		{"predict", `{"instances":[[1,2,nan]]}`, `malformed JSON at byte 20: nan is not a JSON value`},
		{"predict", ``, `malformed JSON at byte 0: a predict request must be a JSON object, got an empty body`},
		// Syntax errors after what the decoder would refuse first: a
		// wrong type, an unknown key, too many instances, too deep.
		{"predict", `{"instances":[{"a":"x","b":2,"c":3}]`, `malformed JSON at byte 36: expected ',' or '}' after object value, found end of input`},
		{"predict", `{"foo":1,`, `malformed JSON at byte 9: expected '"' to begin an object key, found end of input`},
		{"predict", `{"instances":[[1,2,3],[1,2,3],[1,2,3],[1 2]]}`, `malformed JSON at byte 41: expected ',' or ']' after array element, found '2'`},
		{"predict", `{"instances":[` + strings.Repeat("[", 100), `malformed JSON at byte 114: expected a value, found end of input`},
		{"predict", `[1,2`, `malformed JSON at byte 4: expected ',' or ']' after array element, found end of input`},
		// Inference requests.
		{"infer", `{"inputs":[{"name":"input","datatype":"FP64","data":[1,2,3],"shape":[1}]}`, `malformed JSON at byte 70: expected ',' or ']' after array element, found '}'`},
		{"infer", `{"inputs":[{"name":"input","shape":[1 3],"datatype":"FP64","data":[1,2,3]}]}`, `malformed JSON at byte 38: expected ',' or ']' after array element, found '3'`},
		{"infer", `{"inputs":[` + in + ` ` + in + `]}`, `malformed JSON at byte 75: expected ',' or ']' after array element, found '{'`},
		{"infer", `{"inputs":[{"name" "input","shape":[1,3],"datatype":"FP64","data":[1,2,3]}]}`, `malformed JSON at byte 19: expected ':' after object key, found '"'`},
		{"infer", `{"inputs":[{"name":"input","shape":[2,3],"datatype":"FP64","data":[[1,2,3] [4,5,6]]}]}`, `malformed JSON at byte 75: expected ',' or ']' after array element, found '['`},
		{"infer", `{"inputs":[{"data":[[1,2,3] [4,5,6]],"name":"input","shape":[2,3],"datatype":"FP64"}]}`, `malformed JSON at byte 28: expected ',' or ']' after array element, found '['`},
		{"infer", `{"parameters":{"timeout":5 "x":1},"inputs":[` + in + `]}`, `malformed JSON at byte 27: expected ',' or '}' after object value, found '"'`},
		{"infer", `{"parameters":{"timeout" 5},"inputs":[` + in + `]}`, `malformed JSON at byte 25: expected ':' after object key, found '5'`},
		{"infer", `{"inputs":[` + in + `]]`, `malformed JSON at byte 75: expected ',' or '}' after object value, found ']'`},
		{"infer", `{"id":"abc`, `malformed JSON at byte 10: unterminated string, found end of input`},
		{"infer", `{"inputs":[{"name":"x","shape":[1],"datatype":"FP64","data":[1]}],"outputs":[{]}`, `malformed JSON at byte 78: expected '"' to begin an object key, found ']'`},
		{"infer", `{"model":"m","inputs":[` + in + `],}`, `malformed JSON at byte 88: expected '"' to begin an object key, found '}'`},
	} {
		r := GetRequest()
		var err error
		if tc.dec == "predict" {
			err = r.DecodePredict([]byte(tc.body), trees, Limits{MaxInstances: 2})
		} else {
			err = r.DecodeInfer([]byte(tc.body), trees, Limits{MaxInstances: 2})
		}
		PutRequest(r)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(e.Msg, tc.want) || !isSyntaxError(err) {
			t.Errorf("Decode %s(%q) error = %v, want ErrInvalid %q", tc.dec, tc.body, err, tc.want)
			continue
		}
		off, _ := syntaxOffset(err)
		if want, jerr := jsonSyntaxByte([]byte(tc.body)); off != want {
			t.Errorf("Decode %s(%q) error = %v, at byte %d; encoding/json: %v, byte %d", tc.dec, tc.body, err, off, jerr, want)
		}
	}
}

// TestDecodeValidNotSyntax: valid JSON is never refused as a syntax error,
// though the decoder reads only so much of it.
func TestDecodeValidNotSyntax(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	for _, tc := range []struct {
		dec  string
		s    *Schema
		body string
		want string
	}{
		{"predict", trees, `{"instances":[[1,2,` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]]}`, `instance 0: field "c": expected a number, got an array`},
		{"infer", trees, `{"outputs":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `],"inputs":[]}`, `arrays and objects nested deeper than 64 levels (at byte 74)`},
		// Types checked after a literal was read were once named by
		// the byte after it: a syntax error at the ','.
		{"infer", trees, `{"inputs":[{"name":"input","shape":[null,3],"datatype":"FP64","data":[1,2,3]}]}`, `input "input": shape: expected an integer, got null`},
		{"infer", trees, `{"parameters":{"timeout":true},"inputs":[]}`, `parameters: "timeout": expected a number of microseconds, got a boolean`},
		// An empty inner array of an entity key input once read as a
		// syntax error (no value where one was expected).
		{"infer", fuzzJoin, `{"inputs":[{"name":"uid","shape":[1,1],"datatype":"INT64","data":[[]]}]}`, `entity key input "uid": shape [1,1], but instance 0 holds no value`},
	} {
		r := GetRequest()
		var err error
		if tc.dec == "predict" {
			err = r.DecodePredict([]byte(tc.body), tc.s, Limits{MaxInstances: 2})
		} else {
			err = r.DecodeInfer([]byte(tc.body), tc.s, Limits{MaxInstances: 2})
		}
		PutRequest(r)
		if !json.Valid([]byte(tc.body)) {
			t.Fatalf("test body %q is not valid JSON", tc.body)
		}
		if !checkErr(err, 400, tc.want) || isSyntaxError(err) {
			t.Errorf("Decode %s(%q) error = %v, want 400 %q", tc.dec, tc.body, err, tc.want)
		}
	}
}

// TestFloat32Tie: FP32 data is rounded to float32 from its text, also at
// a tie of the float64 it reads as.
func TestFloat32Tie(t *testing.T) {
	for _, text := range []string{
		"1.00000005960464477539062500000000001", // just above 1+2^-24: rounds up
		"1.00000005960464477539062499999999999", // just below: down
		"1.000000059604644775390625",            // the tie: to even, 1
		"1.00000017881393432617187500000000001", // above 1+3*2^-24
		"-1.00000005960464477539062500000000001",
		"3.40282356779733661637539395458142568447e38", // just below the tie past MaxFloat32
		"0.1", "16777217", "1e-46", "7e-46",
	} {
		var sc scanner
		sc.reset([]byte(text))
		v, err := sc.number()
		var want float32
		jerr := json.Unmarshal([]byte(text), &want)
		if got := sc.float32(v); err != nil || jerr != nil || got != want {
			t.Errorf("float32(%s) = %v (%v); encoding/json reads %v (%v)", text, got, err, want, jerr)
		}
	}
}
