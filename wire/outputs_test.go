package wire

import (
	"encoding/json"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// TestDecodeInferOneInstance: a 1-D "input" of the model's width is one
// instance; with a feature named "input", a 1-D "input" stays that
// feature's column.
func TestDecodeInferOneInstance(t *testing.T) {
	trees := testSchema(model.KindTrees, "a", "b", "c:cat")
	one := testSchema(model.KindTrees, "x")
	withInput := testSchema(model.KindTrees, "input", "b")
	for _, tc := range []struct {
		body string
		s    *Schema
		rows []float64
	}{
		{`{"inputs":[{"name":"input","shape":[3],"datatype":"FP64","data":[1,null,3]}]}`, trees, []float64{1, nan, 3}},
		{`{"inputs":[{"name":"input","shape":[3],"datatype":"FP32","data":[[0.5],[2],[3]]}]}`, trees, []float64{0.5, 2, 3}},
		{`{"inputs":[{"name":"input","shape":[1],"datatype":"INT64","data":[7]}]}`, one, []float64{7}},
		{`{"inputs":[{"name":"input","shape":[2],"datatype":"FP64","data":[1,2]},{"name":"b","shape":[2],"datatype":"FP64","data":[3,4]}]}`, withInput, []float64{1, 3, 2, 4}},
	} {
		r := GetRequest()
		err := r.DecodeInfer([]byte(tc.body), tc.s, Limits{MaxInstances: 2})
		if err != nil || !sameRows(r.Rows, tc.rows) || r.N != len(tc.rows)/tc.s.NumFeatures() {
			t.Errorf("DecodeInfer(%s) = N %d, %v, %v; want %v", tc.body, r.N, r.Rows, err, tc.rows)
		}
		PutRequest(r)
	}
	// [4] for a 1-feature model is not a batch of 4: it is refused.
	r := GetRequest()
	defer PutRequest(r)
	err := r.DecodeInfer([]byte(`{"inputs":[{"name":"input","shape":[4],"datatype":"FP64","data":[1,2,3,4]}]}`), one, Limits{})
	if !checkErr(err, 400, `shape [4]: a 1-D input "input" is one instance's 1 features (x); send shape [1], or [batch, 1] for a batch`) {
		t.Errorf("1-D input [4] of a 1-feature model: error %v, want it refused naming [1] and [batch, 1]", err)
	}
}

// TestDecodeOutputs: requested OIP outputs are read in order; "label" only
// for a model with a label rule; TF Serving's return_labels likewise.
func TestDecodeOutputs(t *testing.T) {
	plain := testSchema(model.KindTrees, "a", "b")
	cls := plain.WithLabel(LabelArgmax)
	if plain.Label() != NoLabel || cls.Label() != LabelArgmax {
		t.Fatalf("WithLabel: plain %v, copy %v; want the copy alone to have the rule", plain.Label(), cls.Label())
	}
	const in = `"inputs":[{"name":"input","shape":[1,2],"datatype":"FP64","data":[1,2]}]`
	for _, tc := range []struct {
		s    *Schema
		body string
		want []Output
	}{
		{plain, `{` + in + `}`, nil},
		{plain, `{"outputs":[],` + in + `}`, nil},
		{plain, `{"outputs":[{"name":"output","parameters":{"binary_data":false}}],` + in + `}`, []Output{OutputPredictions}},
		{cls, `{"outputs":[{"name":"label"}],` + in + `}`, []Output{OutputLabel}},
		{cls, `{` + in + `,"outputs":[{"name":"label"},{"name":"output"}]}`, []Output{OutputLabel, OutputPredictions}},
	} {
		r := GetRequest()
		err := r.DecodeInfer([]byte(tc.body), tc.s, Limits{})
		if err != nil || !slices.Equal(r.Outputs, tc.want) {
			t.Errorf("DecodeInfer(%s) outputs = %v, %v; want %v", tc.body, r.Outputs, err, tc.want)
		}
		PutRequest(r)
	}
	for _, tc := range []struct {
		s    *Schema
		body string
		want bool
		err  string
	}{
		{cls, `{"instances":[[1,2]],"return_labels":true}`, true, ""},
		{cls, `{"return_labels":false,"instances":[[1,2]]}`, false, ""},
		{plain, `{"instances":[[1,2]],"return_labels":false}`, false, ""},
		{plain, `{"instances":[[1,2]],"return_labels":true}`, false, `"return_labels": this model has no class label`},
		{cls, `{"instances":[[1,2]],"return_labels":"yes"}`, false, `"return_labels": expected true or false, got a string`},
		{cls, `{"instances":[[1,2]],"return_labels":true,"return_labels":true}`, false, `key "return_labels" appears twice`},
	} {
		r := GetRequest()
		err := r.DecodePredict([]byte(tc.body), tc.s, Limits{})
		switch {
		case tc.err == "" && (err != nil || r.ReturnLabels != tc.want):
			t.Errorf("DecodePredict(%s) = ReturnLabels %v, %v; want %v", tc.body, r.ReturnLabels, err, tc.want)
		case tc.err != "" && !checkErr(err, 400, tc.err):
			t.Errorf("DecodePredict(%s) error = %v, want %q", tc.body, err, tc.err)
		}
		PutRequest(r)
	}
}

// TestClassLabel: which models have a label rule, and the labels each
// rule reads, NaN included.
func TestClassLabel(t *testing.T) {
	for _, c := range []struct {
		task    model.Task
		outputs int
		link    model.Link
		want    LabelRule
	}{
		{model.TaskBinary, 1, model.LinkSigmoid, LabelThreshold},
		{model.TaskBinary, 1, model.LinkProbability, LabelThreshold},
		{model.TaskBinary, 1, model.LinkIdentity, NoLabel},
		{model.TaskMulticlass, 3, model.LinkSoftmax, LabelArgmax},
		{model.TaskMulticlass, 3, model.LinkSigmoid, LabelArgmax},
		{model.TaskMulticlass, 3, model.LinkIdentity, LabelArgmax},
		{model.TaskMulticlass, 1, model.LinkArgmax, LabelIndex},
		{model.TaskRegression, 1, model.LinkIdentity, NoLabel},
		{model.TaskCount, 1, "exp", NoLabel},
	} {
		if got := ClassLabel(c.task, c.outputs, c.link); got != c.want {
			t.Errorf("ClassLabel(%s, %d, %s) = %v, want %v", c.task, c.outputs, c.link, got, c.want)
		}
	}
	for _, c := range []struct {
		rule LabelRule
		row  []float64
		want int64
		ok   bool
	}{
		{LabelThreshold, []float64{0.51}, 1, true},
		{LabelThreshold, []float64{0.5}, 0, true},
		{LabelThreshold, []float64{0.0}, 0, true},
		{LabelThreshold, []float64{nan}, 0, false},
		{LabelArgmax, []float64{0.2, 0.5, 0.3}, 1, true},
		{LabelArgmax, []float64{0.4, 0.2, 0.4}, 0, true},
		{LabelArgmax, []float64{-3, -1, -2}, 1, true},
		{LabelArgmax, []float64{0.1, nan, 0.9}, 0, false},
		{LabelIndex, []float64{2}, 2, true},
		{LabelIndex, []float64{nan}, 0, false},
		{NoLabel, []float64{1}, 0, false},
	} {
		if got, ok := c.rule.Label(c.row); got != c.want || ok != c.ok {
			t.Errorf("%v.Label(%v) = %d, %v; want %d, %v", c.rule, c.row, got, ok, c.want, c.ok)
		}
	}
	if got, want := string(AppendLabels(nil, LabelArgmax, []float64{0.1, 0.9, 0.7, 0.3, nan, 1}, 3, 2)), `[1,0,null]`; got != want {
		t.Errorf("AppendLabels(argmax, 3 rows) = %s, want %s", got, want)
	}
}

// TestEntityKeyIntegralNumber: an int-keyed entity takes a JSON number
// whose value is whole (42.0, 4.2e1) as that integer, exactly; a fraction
// is refused naming the instance and the key.
func TestEntityKeyIntegralNumber(t *testing.T) {
	for _, c := range []struct {
		uid  string
		want string // the canonical key, or the error
	}{
		{"42.0", "42"},
		{"4.2e1", "42"},
		{"420E-1", "42"},
		{"-7.000", "-7"},
		{"0.0e5", "0"},
		{"-0.0", "0"},
		{"1e18", "1000000000000000000"},
		{"9007199254740993.0", "9007199254740993"},
		{"9223372036854775807.0", "9223372036854775807"},
		{"-9223372036854775808.00", "-9223372036854775808"},
		{"42.5", `instance 0: entity key "uid": "42.5" is not an integer (entity user has int keys)`},
		{"1e-1", `"1e-1" is not an integer`},
		{"9223372036854775808.0", `is not an integer`},
		{"1e19", `is not an integer`},
		{"1e999999999", `is not an integer`},
		{"5e-999999999", `is not an integer`},
	} {
		for _, form := range []string{"predict", "infer"} {
			r := GetRequest()
			var err error
			if form == "predict" {
				err = r.DecodePredict([]byte(`{"instances":[{"uid":`+c.uid+`,"c":1}]}`), fuzzJoin, Limits{})
			} else {
				err = r.DecodeInfer([]byte(`{"inputs":[{"name":"uid","shape":[1],"datatype":"INT64","data":[`+c.uid+`]},{"name":"c","shape":[1],"datatype":"INT64","data":[1]}]}`), fuzzJoin, Limits{})
			}
			if strings.Contains(c.want, " ") {
				if !checkErr(err, 400, c.want) {
					t.Errorf("%s: uid %s: error %v, want %q", form, c.uid, err, c.want)
				}
			} else if err != nil || r.EntityKey(0, 0) != c.want {
				t.Errorf("%s: uid %s: key %q, %v; want %q", form, c.uid, r.EntityKey(0, 0), err, c.want)
			}
			PutRequest(r)
		}
	}
}

// FuzzIntegralNumber holds integralNumber to math/big: a JSON number is
// read as an integer exactly when its value is a whole number in the
// int64 range, and then as that number.
func FuzzIntegralNumber(f *testing.F) {
	for _, s := range []string{"42.0", "4.2e1", "-0.0", "1e18", "9223372036854775807.0", "-9223372036854775808e0",
		"9223372036854775808", "42.5", "1e-1", "0.000e-99999", "100e-2", "1.5e1", "12345678901234567890e-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		if _, isNum := v.(float64); !isNum || strings.ContainsAny(s, " \t\r\n") {
			return
		}
		got, ok := integralNumber([]byte(s))
		want, wantOK := bigIntegral(s)
		if ok != wantOK || ok && got != want {
			t.Fatalf("integralNumber(%q) = %d, %v; math/big: %d, %v", s, got, ok, want, wantOK)
		}
	})
}

// bigIntegral is integralNumber through math/big.Rat.
func bigIntegral(s string) (int64, bool) {
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	var e int64
	if exp != "" {
		var err error
		if e, err = strconv.ParseInt(exp, 10, 64); err != nil {
			// Beyond int64: zero if the mantissa is, else no int64.
			e = math.MaxInt32
			if strings.HasPrefix(exp, "-") {
				e = math.MinInt32
			}
		}
	}
	m, ok := new(big.Rat).SetString(mant)
	if !ok {
		return 0, false
	}
	if m.Sign() == 0 {
		return 0, true
	}
	if e > 100000 || e < -100000 {
		// With a mantissa of under 100,000 digits: past int64, or a
		// fraction.
		return 0, false
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(max(e, -e)), nil)
	if e >= 0 {
		m.Mul(m, new(big.Rat).SetInt(p))
	} else {
		m.Quo(m, new(big.Rat).SetInt(p))
	}
	if !m.IsInt() || !m.Num().IsInt64() {
		return 0, false
	}
	return m.Num().Int64(), true
}

// TestAppendInferResponse: with no outputs asked for, the response is
// AppendInfer's byte for byte; asked for, the tensors come in the
// request's order.
func TestAppendInferResponse(t *testing.T) {
	s := testSchema(model.KindTrees, "a", "b").WithLabel(LabelArgmax)
	preds := []float64{0.2, 0.8, 0.6, 0.4}
	r := GetRequest()
	defer PutRequest(r)
	if err := r.DecodeInfer([]byte(`{"id":"q","inputs":[{"name":"input","shape":[2,2],"datatype":"FP64","data":[1,2,3,4]}]}`), s, Limits{}); err != nil {
		t.Fatal(err)
	}
	got := string(AppendInferResponse(nil, "m", 3, r, s, preds, 2, nil))
	if want := string(AppendInfer(nil, "m", 3, r.ID, OutputName, preds, 2, 2)); got != want {
		t.Errorf("AppendInferResponse, no outputs asked = %s, want AppendInfer's %s", got, want)
	}
	if err := r.DecodeInfer([]byte(`{"outputs":[{"name":"label"},{"name":"output"}],"inputs":[{"name":"input","shape":[2,2],"datatype":"FP64","data":[1,2,3,4]}]}`), s, Limits{}); err != nil {
		t.Fatal(err)
	}
	got = string(AppendInferResponse(nil, "m", 3, r, s, preds, 2, nil))
	want := `{"model_name":"m","model_version":"3","outputs":[{"name":"label","datatype":"INT64","shape":[2],"data":[1,0]},{"name":"output","datatype":"FP64","shape":[2,2],"data":[0.2,0.8,0.6,0.4]}]}`
	if got != want {
		t.Errorf("AppendInferResponse(label, output) = %s, want %s", got, want)
	}
}
