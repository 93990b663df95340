package wire

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// cells renders r's decoded rows for s as text, a cell per value: the
// number, "null" for NaN, or the category quoted, so that a test compares
// numbers and strings in one go.
func cells(r *Request, s *Schema) []string {
	nf := s.NumFeatures()
	out := make([]string, len(r.Rows))
	for c, x := range r.Rows {
		switch {
		case math.IsNaN(x):
			out[c] = "null"
		case s.IsString(c % nf):
			str, _ := r.Category(x)
			out[c] = fmt.Sprintf("%q", str)
		default:
			out[c] = fmt.Sprint(x)
		}
	}
	return out
}

func TestNewSchemaTransform(t *testing.T) {
	s := transformSchema(model.KindLinear, "amount", "country:str", "city:str")
	if s.NumFeatures() != 3 || s.NumStrings() != 2 || s.IsString(0) || !s.IsString(1) || !s.IsString(2) {
		t.Errorf("transformSchema(amount, country:str, city:str): %d features, %d strings, IsString %v %v %v; want 3, 2, false true true",
			s.NumFeatures(), s.NumStrings(), s.IsString(0), s.IsString(1), s.IsString(2))
	}
	if !s.allowMissing {
		t.Errorf("a linear version with transforms: allowMissing = false, want true (its imputers decide)")
	}
	if got, want := s.stringList(), "country, city"; got != want {
		t.Errorf("stringList() = %q, want %q", got, want)
	}
	if plain := testSchema(model.KindLinear, "a"); plain.IsString(0) || plain.NumStrings() != 0 {
		t.Errorf("a schema without transforms has string inputs")
	}
}

// TestDecodeStrings: every request form carries a string input's value
// as the JSON string encoding/json reads (escapes, non-ASCII, empty), or
// null; numbers beside them as before.
func TestDecodeStrings(t *testing.T) {
	s := transformSchema(model.KindLinear, "amount", "country:str")
	want := []string{"1.5", `"DE"`, "null", `"é\"x"`, "3", "null", "-2", `""`}
	in := func(name, shape, dt, data string) string {
		return `{"name":"` + name + `","shape":` + shape + `,"datatype":"` + dt + `","data":` + data + `}`
	}
	for _, tc := range []struct {
		name, body string
		infer      bool
	}{
		{"objects", `{"instances":[{"amount":1.5,"country":"DE"},{"country":"\u00e9\"x","amount":null},{"amount":3,"country":null},{"amount":-2,"country":""}]}`, false},
		{"arrays", `{"instances":[[1.5,"DE"],[null,"é\"x"],[3,null],[-2,""]]}`, false},
		{"columns", `{"inputs":{"country":["DE","\u00e9\u0022x",null,""],"amount":[1.5,null,3,-2]}}`, false},
		{"oip", `{"inputs":[` + in("amount", "[4]", "FP64", "[1.5,null,3,-2]") + `,` + in("country", "[4]", "BYTES", `["DE","é\"x",null,""]`) + `]}`, true},
		{"oip-2d", `{"inputs":[` + in("country", "[4,1]", "BYTES", `[["DE"],["é\"x"],[null],[""]]`) + `,` + in("amount", "[4,1]", "FP32", "[[1.5],[null],[3],[-2]]") + `]}`, true},
	} {
		r := GetRequest()
		var err error
		if tc.infer {
			err = r.DecodeInfer([]byte(tc.body), s, Limits{})
		} else {
			err = r.DecodePredict([]byte(tc.body), s, Limits{})
		}
		if got := cells(r, s); err != nil || r.N != 4 || !slices.Equal(got, want) {
			t.Errorf("%s: decode(%s) = N %d, %v, err %v; want 4, %v", tc.name, tc.body, r.N, got, err, want)
		}
		raw := r.RawRow(nil, s, 1)
		if len(raw) != 2 || raw[0].Kind != transform.Missing || raw[1] != transform.Str("é\"x") {
			t.Errorf("%s: RawRow(1) = %+v, want [missing, Str(%q)]", tc.name, raw, "é\"x")
		}
		if raw := r.RawRow(raw, s, 0); raw[0] != transform.Num(1.5) || raw[1] != transform.Str("DE") {
			t.Errorf("%s: RawRow(0) = %+v, want [Num(1.5), Str(DE)]", tc.name, raw)
		}
		if raw := r.RawRow(raw, s, 2); raw[1].Kind != transform.Missing {
			t.Errorf("%s: RawRow(2) = %+v, want country missing", tc.name, raw)
		}
		PutRequest(r)
	}
}

// TestDecodeStringsInvalidUTF8: a category holds valid UTF-8, as
// encoding/json would read it: bad bytes and lone surrogates become
// U+FFFD.
func TestDecodeStringsInvalidUTF8(t *testing.T) {
	s := transformSchema(model.KindTrees, "c:str")
	r := GetRequest()
	defer PutRequest(r)
	for _, tc := range []struct{ body, want string }{
		{"{\"instances\":[[\"a\xffb\"]]}", "a\ufffdb"},
		{`{"instances":[["\ud800z"]]}`, "\ufffdz"},
		{`{"instances":[["\ud83d\ude00"]]}`, "😀"},
	} {
		if err := r.DecodePredict([]byte(tc.body), s, Limits{}); err != nil {
			t.Fatalf("DecodePredict(%q): %v", tc.body, err)
		}
		if got, ok := r.Category(r.Rows[0]); !ok || got != tc.want {
			t.Errorf("DecodePredict(%q): category %q, %v; want %q", tc.body, got, ok, tc.want)
		}
	}
}

func TestDecodeStringsErrors(t *testing.T) {
	s := transformSchema(model.KindLinear, "amount", "country:str")
	in := func(name, shape, dt, data string) string {
		return `{"name":"` + name + `","shape":` + shape + `,"datatype":"` + dt + `","data":` + data + `}`
	}
	req := func(inputs ...string) string { return `{"inputs":[` + strings.Join(inputs, ",") + `]}` }
	for _, tc := range []struct {
		body  string
		infer bool
		want  string
	}{
		{`{"instances":[{"amount":1,"country":"DE"},{"amount":1,"country":"DE"},{"amount":1,"country":"DE"},{"amount":2,"country":7}]}`, false,
			`instance 3: field "country": want a string (a category) or null, got a number`},
		{`{"instances":[[1,true]]}`, false, `instance 0: field "country": want a string (a category) or null, got a boolean`},
		{`{"instances":[[1,["DE"]]]}`, false, `instance 0: field "country": want a string (a category) or null, got an array`},
		{`{"instances":[["1","DE"]]}`, false, `instance 0: field "amount": expected a number, got a string`},
		{`{"inputs":{"amount":[1,2],"country":["DE",3]}}`, false, `instance 1: field "country": want a string (a category) or null, got a number`},
		{req(in("input", "[1,2]", "FP64", "[1,2]")), true, `input "input": the model has string inputs (country), which a 2-D numeric tensor cannot carry: send one input per feature (amount, country), with datatype BYTES for a string input`},
		{req(in("amount", "[1]", "FP64", "[1]"), in("country", "[1]", "FP64", "[1]")), true, `input "country": datatype FP64, but "country" is a string input (a category): send datatype BYTES`},
		{req(in("amount", "[1]", "BYTES", `["1"]`), in("country", "[1]", "BYTES", `["DE"]`)), true, `input "amount": datatype BYTES is for string inputs (country) and entity keys`},
		{req(in("amount", "[2]", "FP64", "[1,2]"), in("country", "[2]", "BYTES", `["DE",3]`)), true, `input "country": instance 1: want a string (a category) or null, got a number`},
	} {
		r := GetRequest()
		var err error
		if tc.infer {
			err = r.DecodeInfer([]byte(tc.body), s, Limits{})
		} else {
			err = r.DecodePredict([]byte(tc.body), s, Limits{})
		}
		if !checkErr(err, 400, tc.want) {
			t.Errorf("decode(%s) error = %v, want 400 containing %q", tc.body, err, tc.want)
		}
		PutRequest(r)
	}
}

// TestJoinSchemaRefusesStringFromView: a feature view serves numbers, so
// a string input cannot come from one.
func TestJoinSchemaRefusesStringFromView(t *testing.T) {
	defs, err := featcache.ParseDefs([]byte(`
entities:
  - {name: user, join_key: uid, key_type: int}
feature_views:
  - {name: v, entity: user, ttl: 1h, features: [{name: a, type: float}, {name: country, type: categorical}]}
`), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := &model.Manifest{Kind: model.KindTrees, Transform: &model.TransformFile{}, FeatureViews: []string{"v"}, Features: []model.Feature{
		{Name: "a", Type: model.FeatureFloat}, {Name: "country", Type: model.FeatureString}}}
	_, err = NewJoinSchema(m, defs)
	if err == nil || !strings.Contains(err.Error(), `view v would fill "country", a string input (a category)`) {
		t.Fatalf("NewJoinSchema(country from view v) error = %v, want one naming the view and the string input", err)
	}
	m.FeatureViews = []string{"v:a"}
	s, err := NewJoinSchema(m, defs)
	if err != nil {
		t.Fatalf("NewJoinSchema(only a from view v): %v", err)
	}
	r := GetRequest()
	defer PutRequest(r)
	if err := r.DecodePredict([]byte(`{"instances":[{"uid":7,"country":"DE"}]}`), s, Limits{}); err != nil || !r.Fetch || r.Given[0] || !r.Given[1] {
		t.Fatalf("DecodePredict(uid and country) = fetch %v, given %v, err %v; want a fetched, country given", r.Fetch, r.Given, err)
	}
	if got, ok := r.Category(r.Rows[1]); !ok || got != "DE" {
		t.Errorf("country = %q, %v; want DE", got, ok)
	}
}

// TestDecodeStringsAllocs: with string inputs a warm decode, and
// RawRow into a row with room, allocate nothing (the strings live in the
// request's arena).
func TestDecodeStringsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	s := transformSchema(model.KindLinear, "amount", "country:str", "city:str")
	predict := []byte(`{"instances":[{"amount":1.5,"country":"DE","city":"K\u00f6ln"},{"amount":null,"country":null,"city":"Paris"}]}`)
	columns := []byte(`{"inputs":{"amount":[1],"country":["US"],"city":["New \"York\""]}}`)
	infer := []byte(`{"inputs":[{"name":"amount","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"country","shape":[2],"datatype":"BYTES","data":["DE","FR"]},` +
		`{"name":"city","shape":[2,1],"datatype":"BYTES","data":[["Berlin"],[null]]}]}`)
	row := make(transform.Row, 0, 3)
	for _, tc := range []struct {
		name string
		run  func(r *Request) error
	}{
		{"predict", func(r *Request) error { return r.DecodePredict(predict, s, Limits{}) }},
		{"predict-columns", func(r *Request) error { return r.DecodePredict(columns, s, Limits{}) }},
		{"infer", func(r *Request) error { return r.DecodeInfer(infer, s, Limits{}) }},
	} {
		r := GetRequest()
		run := func() error {
			if err := tc.run(r); err != nil {
				return err
			}
			for i := range r.N {
				row = r.RawRow(row, s, i)
			}
			return nil
		}
		if err := run(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var err error
		if n := testing.AllocsPerRun(100, func() { err = run() }); n != 0 || err != nil {
			t.Errorf("%s: a warm decode with string inputs allocates %v times (err %v), want 0", tc.name, n, err)
		}
		PutRequest(r)
	}
}
