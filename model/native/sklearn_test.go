package native

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// sklearnDir holds the scikit-learn 1.2.1 estimators and pipelines that
// testdata/gen/sklearn_native.py (the exporter docs/native-format.md shows)
// wrote, with scikit-learn's own predictions.
const sklearnDir = "native/sklearn"

// TestSklearnParity: every exported pipeline that Parse accepts (scalers
// folded into the first layer) predicts as scikit-learn does, within 1e-12
// of each row's scale for linear models and 1e-9 for MLPs, served at its
// default precision; one-vs-rest files (liblinear, OneVsRestClassifier,
// multi_class="ovr") through model.LinkOVR, never as softmax.
func TestSklearnParity(t *testing.T) {
	names := fixture.CaseNames(t, sklearnDir)
	if len(names) < 6 {
		t.Fatalf("only %d fixtures in testdata/%s", len(names), sklearnDir)
	}
	var ovr, ok int
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(fixture.Path(sklearnDir, name+".model.json"))
			if err != nil {
				t.Fatal(err)
			}
			imp, err := Parse(src)
			if bytes.Contains(src, []byte(`"multiclass": "ovr"`)) {
				ovr++
				if err == nil && imp.Model.(*model.Dense).Link != model.LinkOVR {
					t.Fatalf("Parse(%s): link %s, want ovr", name, imp.Model.(*model.Dense).Link)
				}
			}
			if err != nil {
				t.Fatalf("Parse(%s): %v", name, err)
			}
			ok++
			bound := 1e-9
			if imp.Kind == model.KindLinear {
				bound = 1e-12
			}
			fixture.CheckServedDense(t, sklearnDir, name, imp, bound)
		})
	}
	if ovr < 3 || ok < 3 {
		t.Errorf("%d one-vs-rest and %d accepted fixtures, want at least 3 of each", ovr, ok)
	}
}

// TestOVRWithoutFieldRefused: the liblinear iris model with its multiclass
// field removed (a sigmoid last layer, 3 classes) is refused naming the
// field, and with a softmax last layer written instead nothing in the file
// says one-vs-rest: it is read as multinomial, which is what it says.
func TestOVRWithoutFieldRefused(t *testing.T) {
	src, err := os.ReadFile(fixture.Path(sklearnDir, "ovr_liblinear_iris.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "multiclass")
	noField, _ := json.Marshal(doc)
	_, err = Parse(noField)
	if err == nil || !strings.Contains(err.Error(), `"multiclass": "ovr"`) {
		t.Errorf("Parse(ovr_liblinear_iris without multiclass) error = %v, want it to name \"multiclass\": \"ovr\"", err)
	}
	doc["multiclass"] = "multinomial"
	mismatch, _ := json.Marshal(doc)
	_, err = Parse(mismatch)
	if err == nil || !strings.Contains(err.Error(), "task multiclass needs a last layer of one unit per class with activation softmax") {
		t.Errorf("Parse(ovr_liblinear_iris with multinomial) error = %v, want the softmax requirement", err)
	}
}

func TestParseFormatAdditionErrors(t *testing.T) {
	const layer = `"layers":[{"weights":[[1,2]],"bias":[0],"activation":"sigmoid"}]}`
	for _, tc := range []struct{ in, want string }{
		{`{"kind":"linear","task":"binary","multiclass":"ovr","features":["a","b"],` + layer, `multiclass "ovr" is set but task is "binary"`},
		{`{"kind":"linear","task":"multiclass","classes":3,"multiclass":"both","features":["a"],"layers":[{"weights":[[1],[2],[3]],"bias":[0,0,0],"activation":"softmax"}]}`, `multiclass "both", want "multinomial"`},
		{`{"kind":"linear","task":"multiclass","classes":3,"multiclass":"ovr","features":["a"],"layers":[{"weights":[[1],[2],[3]],"bias":[0,0,0],"activation":"softmax"}]}`, `multiclass "ovr" needs a last layer of one unit per class (3 or more) with activation sigmoid, got 3 units with "softmax"`},
		{`{"kind":"linear","task":"binary","features":["a","b"],"preprocess":[{"scaler":"robust","scale":[1,1]}],` + layer, `preprocess[0].scaler "robust"`},
		{`{"kind":"linear","task":"binary","features":["a","b"],"preprocess":[{"scaler":"standard","mean":[0],"scale":[1,1]}],` + layer, "preprocess[0] has 1 mean and 2 scale values, want 2 each"},
		{`{"kind":"linear","task":"binary","features":["a","b"],"preprocess":[{"scaler":"standard","mean":[0,0],"scale":[1,0]}],` + layer, "preprocess[0].scale[1] is 0"},
		{`{"kind":"linear","task":"binary","features":["a","b"],"preprocess":[{"scaler":"standard","mean":[0,null],"scale":[1,1]}],` + layer, "preprocess[0].mean[1] is null, want a number"},
		{`{"kind":"linear","task":"binary","features":["a","b"],"preprocess":[{"scaler":"minmax","mean":[0,0],"scale":[1,1]}],` + layer, `scaler "minmax" takes min and scale, not mean`},
		{`{"kind":"linear","task":"binary","features":["a","b"],"preprocess":[{"scaler":"minmax","min":[0,0],"scale":[1e308,1]}],"layers":[{"weights":[[1e308,2]],"bias":[0],"activation":"sigmoid"}]}`, "folded into layers[0] makes a weight +Inf"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

// TestPreprocessFolds: two steps in order (standard, then minmax) give the
// same margin as applying them by hand before the layer.
func TestPreprocessFolds(t *testing.T) {
	in := `{"kind":"linear","task":"regression","features":["a","b"],"preprocess":[` +
		`{"scaler":"standard","mean":[10,-4],"scale":[2,0.5]},{"scaler":"minmax","min":[0.25,-1],"scale":[3,0.125]}],` +
		`"layers":[{"weights":[[1.5,-2]],"bias":[0.75],"activation":"identity"}]}`
	imp, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	x := []float64{13, -3}
	s := []float64{(13 - 10) / 2.0, (-3 + 4) / 0.5}
	m := []float64{s[0]*3 + 0.25, s[1]*0.125 - 1}
	want := 1.5*m[0] - 2*m[1] + 0.75
	got := imp.Model.Predict(nil, x, false)
	if len(got) != 1 || got[0] != want {
		t.Errorf("Predict(%v) = %v, want [%v]", x, got, want)
	}
}

// TestDocSnippet: docs/native-format.md shows testdata/gen/sklearn_native.py,
// the exporter the fixtures above were written with, verbatim.
func TestDocSnippet(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "native-format.md"))
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile(filepath.Join("..", "..", "testdata", "gen", "sklearn_native.py"))
	if err != nil {
		t.Fatal(err)
	}
	block := "```python\n" + string(code) + "```\n"
	if !bytes.Contains(doc, []byte(block)) {
		t.Errorf("docs/native-format.md does not show testdata/gen/sklearn_native.py verbatim in a ```python block; copy the file into the doc")
	}
}

// TestSklearnClassLabels: the exporter writes scikit-learn's classes_ as
// text (cases.json's class_labels) and Parse gives them as ClassLabels;
// a regressor has none.
func TestSklearnClassLabels(t *testing.T) {
	data, err := os.ReadFile(fixture.Path(sklearnDir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name        string   `json:"name"`
		Task        string   `json:"task"`
		ClassLabels []string `json:"class_labels"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, c := range cases {
		src, err := os.ReadFile(fixture.Path(sklearnDir, c.Name+".model.json"))
		if err != nil {
			t.Fatal(err)
		}
		imp, err := Parse(src)
		if err != nil {
			t.Fatalf("Parse(%s): %v", c.Name, err)
		}
		if !slices.Equal(imp.ClassLabels, c.ClassLabels) {
			t.Errorf("Parse(%s) (%s): ClassLabels = %q, want %q", c.Name, c.Task, imp.ClassLabels, c.ClassLabels)
		}
		if (c.Task == "regression") == (c.ClassLabels != nil) {
			t.Errorf("%s: task %s with class_labels %q in cases.json", c.Name, c.Task, c.ClassLabels)
		}
		if c.ClassLabels != nil {
			named++
		}
	}
	if named < 2 {
		t.Errorf("%d cases name their classes, want at least 2", named)
	}
}
