package wire

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

func TestAppendPredict(t *testing.T) {
	for _, tc := range []struct {
		preds      []float64
		n, outputs int
		columnar   bool
		want       string
	}{
		{[]float64{0.25}, 1, 1, false, `{"predictions":[0.25],"model_version":"3"}`},
		{[]float64{0.25, 1e21, math.Copysign(0, -1), 1e-7}, 4, 1, false, `{"predictions":[0.25,1e+21,-0,1e-07],"model_version":"3"}`},
		{[]float64{0.1, 0.9, 0.3, 0.7}, 2, 2, false, `{"predictions":[[0.1,0.9],[0.3,0.7]],"model_version":"3"}`},
		{[]float64{math.NaN(), math.Inf(1), math.Inf(-1)}, 1, 3, true, `{"outputs":[[null,null,null]],"model_version":"3"}`},
		{[]float64{0.30000000000000004}, 1, 1, true, `{"outputs":[0.30000000000000004],"model_version":"3"}`},
		{nil, 0, 1, false, `{"predictions":[],"model_version":"3"}`},
	} {
		got := string(AppendPredict([]byte("x"), tc.preds, tc.n, tc.outputs, tc.columnar, 3))
		if got != "x"+tc.want {
			t.Errorf("AppendPredict(%v, %d, %d, %v) = %s, want %s", tc.preds, tc.n, tc.outputs, tc.columnar, got[1:], tc.want)
		}
		if !json.Valid([]byte(got[1:])) {
			t.Errorf("AppendPredict(%v) = %s, not valid JSON", tc.preds, got[1:])
		}
	}
}

func TestAppendInfer(t *testing.T) {
	for _, tc := range []struct {
		id         []byte
		preds      []float64
		n, outputs int
		want       string
	}{
		{nil, []float64{0.25, math.NaN()}, 2, 1,
			`{"model_name":"churn","model_version":"7","outputs":[{"name":"output","datatype":"FP64","shape":[2],"data":[0.25,null]}]}`},
		{[]byte(`req\"1`), []float64{1, 2, 3, 4, 5, 6}, 2, 3,
			`{"model_name":"churn","model_version":"7","id":"req\"1","outputs":[{"name":"output","datatype":"FP64","shape":[2,3],"data":[1,2,3,4,5,6]}]}`},
		{[]byte{}, []float64{1}, 1, 1,
			`{"model_name":"churn","model_version":"7","id":"","outputs":[{"name":"output","datatype":"FP64","shape":[1],"data":[1]}]}`},
	} {
		got := AppendInfer(nil, "churn", 7, tc.id, "output", tc.preds, tc.n, tc.outputs)
		if string(got) != tc.want {
			t.Errorf("AppendInfer(id %q, %v, %d, %d) = %s, want %s", tc.id, tc.preds, tc.n, tc.outputs, got, tc.want)
		}
		if !json.Valid(got) {
			t.Errorf("AppendInfer(id %q) = %s, not valid JSON", tc.id, got)
		}
	}
}

func TestAppendError(t *testing.T) {
	for msg, want := range map[string]string{
		"plain":                         `{"error":"plain"}`,
		`field "a": x\y`:                `{"error":"field \"a\": x\\y"}`,
		"tab\tnl\ncr\rbs\bff\f\x01\x1f": `{"error":"tab\tnl\ncr\rbs\bff\f\u0001\u001f"}`,
		"bad \xff utf8 \xe2\x82":        `{"error":"bad \ufffd utf8 \ufffd\ufffd"}`,
		"é € 𝄞 \u2028\u2029 <&>":        `{"error":"é € 𝄞 \u2028\u2029 <&>"}`,
	} {
		got := AppendError(nil, msg)
		if string(got) != want {
			t.Errorf("AppendError(%q) = %s, want %s", msg, got, want)
		}
		var back struct{ Error string }
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendError(%q) = %s, not valid JSON: %v", msg, got, err)
		} else if utf8.ValidString(msg) && back.Error != msg {
			t.Errorf("AppendError(%q) reads back as %q", msg, back.Error)
		}
	}
}

// FuzzAppendString: appendString writes a JSON string that encoding/json
// reads back as the input (invalid UTF-8 as U+FFFD, as encoding/json
// itself does).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x7f\x80\xff", "\u2028é𝄞", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("appendString(%q) = %s, not valid JSON: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("appendString(%q) reads back as %q, want %q", s, back, wantBack)
		}
	})
}

func TestAppendPredictMismatchPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Errorf("AppendPredict(3 predictions, n 2, outputs 2) did not panic")
		}
	}()
	AppendPredict(nil, []float64{1, 2, 3}, 2, 2, false, 1)
}
