package wire

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/wire/kservepb"
)

// namedSchema is a 2-feature tree model with 3 classes read by argmax and
// named, one name needing JSON escapes.
func namedSchema() *Schema {
	return testSchema(model.KindTrees, "a", "b").WithLabel(LabelArgmax).WithClassNames([]string{"setosa", `ver"si`, "virginica"})
}

// namedPreds: 3 instances of 3 outputs; the second's argmax is class 1,
// the third has a NaN (no label).
var namedPreds = []float64{0.7, 0.2, 0.1, 0.1, 0.5, 0.4, math.NaN(), 0.5, 0.5}

func decodeOrFatal(t *testing.T, r *Request, s *Schema, body string) {
	t.Helper()
	if err := r.DecodeInfer([]byte(body), s, Limits{}); err != nil {
		t.Fatalf("DecodeInfer(%s): %v", body, err)
	}
}

const namedInputs = `"inputs":[{"name":"input","shape":[3,2],"datatype":"FP64","data":[1,2,3,4,5,6]}]`

// TestClassNamesJSON: with class names the label output is BYTES, the
// names as JSON strings (escaped), null where the rule reads no label;
// TF Serving's labels likewise. Without names, Schema.AppendLabels is
// the package's AppendLabels.
func TestClassNamesJSON(t *testing.T) {
	s := namedSchema()
	r := GetRequest()
	defer PutRequest(r)
	decodeOrFatal(t, r, s, `{"outputs":[{"name":"label"}],`+namedInputs+`}`)
	got := string(AppendInferResponse(nil, "m", 2, r, s, namedPreds, 3, nil))
	want := `{"model_name":"m","model_version":"2","outputs":[{"name":"label","datatype":"BYTES","shape":[3],"data":["setosa","ver\"si",null]}]}`
	if got != want {
		t.Errorf("AppendInferResponse(label) with class names = %s, want %s", got, want)
	}
	if got, want := string(s.AppendLabels(nil, namedPreds, 3, 3)), `["setosa","ver\"si",null]`; got != want {
		t.Errorf("Schema.AppendLabels with class names = %s, want %s", got, want)
	}
	plain := testSchema(model.KindTrees, "a", "b").WithLabel(LabelArgmax)
	if got, want := string(plain.AppendLabels(nil, namedPreds, 3, 3)), string(AppendLabels(nil, LabelArgmax, namedPreds, 3, 3)); got != want {
		t.Errorf("Schema.AppendLabels without class names = %s, want AppendLabels' %s", got, want)
	}
	if plain.LabelDatatype() != "INT64" || s.LabelDatatype() != "BYTES" || plain.ClassNames() != nil || len(s.ClassNames()) != 3 {
		t.Errorf("LabelDatatype: plain %s, named %s; ClassNames: plain %q, named %q; want INT64, BYTES, nil, 3 names",
			plain.LabelDatatype(), s.LabelDatatype(), plain.ClassNames(), s.ClassNames())
	}
}

// TestClassNamesOutOfRange: a class index the names do not cover (a
// LabelIndex model's output out of range) is no label: null.
func TestClassNamesOutOfRange(t *testing.T) {
	s := testSchema(model.KindTrees, "a").WithLabel(LabelIndex).WithClassNames([]string{"a", "b"})
	preds := []float64{1, 2, -1, 0}
	if got, want := string(s.AppendLabels(nil, preds, 4, 1)), `["b",null,null,"a"]`; got != want {
		t.Errorf("AppendLabels(%v) = %s, want %s", preds, got, want)
	}
}

// TestClassNamesBinary: the binary extension's label output is BYTES, a
// 4-byte little-endian length and the bytes per instance (empty for no
// label), and binary_data_size says how many bytes that is.
func TestClassNamesBinary(t *testing.T) {
	s := namedSchema()
	r := GetRequest()
	defer PutRequest(r)
	decodeOrFatal(t, r, s, `{"outputs":[{"name":"label","parameters":{"binary_data":true}}],`+namedInputs+`}`)
	out, n := AppendInferBinary(nil, "m", 2, r, s, namedPreds, 3, nil)
	var tail []byte
	for _, name := range []string{"setosa", `ver"si`, ""} {
		tail = binary.LittleEndian.AppendUint32(tail, uint32(len(name)))
		tail = append(tail, name...)
	}
	wantHead := `{"model_name":"m","model_version":"2","outputs":[{"name":"label","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":24}}]}`
	if len(tail) != 24 {
		t.Fatalf("test's own tail is %d bytes, want 24", len(tail))
	}
	if n < 0 || n > len(out) || string(out[:n]) != wantHead || !bytes.Equal(out[n:], tail) {
		t.Errorf("AppendInferBinary(label) = header %d, %q; want %q then %q", n, out, wantHead, tail)
	}
}

// TestClassNamesProto: gRPC carries the names in bytes_contents (empty
// for no label), or with raw output in raw_output_contents laid out as
// the binary extension's BYTES.
func TestClassNamesProto(t *testing.T) {
	s := namedSchema()
	r := GetRequest()
	defer PutRequest(r)
	decodeOrFatal(t, r, s, `{"outputs":[{"name":"label"}],`+namedInputs+`}`)
	var m kservepb.ModelInferResponse
	InferProto(&m, "m", 2, "q", r, s, namedPreds, 3, nil)
	want := [][]byte{[]byte("setosa"), []byte(`ver"si`), {}}
	if len(m.Outputs) != 1 || m.Outputs[0].Datatype != "BYTES" || !slices.Equal(m.Outputs[0].Shape, []int64{3}) ||
		m.Outputs[0].Contents == nil || !slices.EqualFunc(m.Outputs[0].Contents.BytesContents, want, bytes.Equal) {
		t.Fatalf("InferProto(label) outputs = %v, want one BYTES [3] tensor with bytes_contents %q", m.Outputs, want)
	}
	decodeOrFatal(t, r, s, `{"outputs":[{"name":"label","parameters":{"binary_data":true}}],`+namedInputs+`}`)
	m = kservepb.ModelInferResponse{}
	InferProto(&m, "m", 2, "q", r, s, namedPreds, 3, nil)
	wantRaw := s.appendLabelBytes(nil, namedPreds, 3, 3)
	if len(m.Outputs) != 1 || m.Outputs[0].Datatype != "BYTES" || m.Outputs[0].Contents != nil || len(m.RawOutputContents) != 1 ||
		!bytes.Equal(m.RawOutputContents[0], wantRaw) || !strings.Contains(string(wantRaw), "setosa") {
		t.Errorf("InferProto(label, raw) = outputs %v, raw %q; want one BYTES tensor and raw %q", m.Outputs, m.RawOutputContents, wantRaw)
	}
}

// TestWithClassNamesNoLabelPanics: names for a model without a label rule
// are a bug of the caller.
func TestWithClassNamesNoLabelPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("WithClassNames on a schema without a label rule did not panic")
		}
	}()
	testSchema(model.KindTrees, "a").WithClassNames([]string{"x", "y"})
}

// TestClassNamesAllocs: encoding a response with named labels, JSON and
// binary, allocates nothing once dst has grown.
func TestClassNamesAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	s := namedSchema()
	r := GetRequest()
	defer PutRequest(r)
	decodeOrFatal(t, r, s, `{"outputs":[{"name":"label"},{"name":"output","parameters":{"binary_data":true}}],`+namedInputs+`}`)
	buf := make([]byte, 0, 4096)
	for name, run := range map[string]func(){
		"json":   func() { buf = AppendInferResponse(buf[:0], "m", 2, r, s, namedPreds, 3, nil) },
		"binary": func() { buf, _ = AppendInferBinary(buf[:0], "m", 2, r, s, namedPreds, 3, nil) },
		"labels": func() { buf = s.AppendLabels(buf[:0], namedPreds, 3, 3) },
	} {
		if n := testing.AllocsPerRun(100, run); n != 0 {
			t.Errorf("%s: %v allocations per response with class names, want 0", name, n)
		}
	}
}

// TestClassLabelAgreesWithModel: ClassLabel gives a rule exactly where
// model.HasClassLabel says a model has a class label (the manifest check
// of class_labels relies on it).
func TestClassLabelAgreesWithModel(t *testing.T) {
	for _, task := range []model.Task{model.TaskBinary, model.TaskMulticlass, model.TaskRegression, model.TaskCount, model.TaskPositive} {
		for _, outputs := range []int{1, 2, 3} {
			for _, link := range []model.Link{model.LinkIdentity, model.LinkSigmoid, model.LinkSoftmax, model.LinkOVR, model.LinkProbability, model.LinkArgmax, ""} {
				rule := ClassLabel(task, outputs, link)
				if has := model.HasClassLabel(task, outputs, link); has != (rule != NoLabel) {
					t.Errorf("%s, %d outputs, link %q: ClassLabel = %v, model.HasClassLabel = %v; want them to agree", task, outputs, link, rule, has)
				}
			}
		}
	}
}
