package native

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// TestParity compares linear and MLP predictions with scikit-learn's
// predict_proba/predict on the same rows (float64 throughout, so 1e-9).
func TestParity(t *testing.T) {
	names := fixture.CaseNames(t, "native")
	if len(names) < 6 {
		t.Fatalf("only %d native fixtures", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(fixture.Path("native", name+".model.json"))
			if err != nil {
				t.Fatal(err)
			}
			imp, err := Parse(src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			in := fixture.ReadTable(t, fixture.Path("native", name+".csv"))
			for i, f := range imp.Features {
				if in.Header[i] != f.Name {
					t.Fatalf("column %d is %q, model feature is %q", i, in.Header[i], f.Name)
				}
			}
			rows := in.Flat()
			for _, kind := range []string{"pred", "raw"} {
				want := fixture.ReadTable(t, fixture.Path("native", name+"."+kind+".csv"))
				got := imp.Model.Predict(nil, rows, kind == "raw")
				w := want.Flat()
				if len(got) != len(w) {
					t.Fatalf("%s: %d values, want %d", kind, len(got), len(w))
				}
				for i := range w {
					if e := fixture.RelErr(got[i], w[i]); e > 1e-9 && math.Abs(got[i]-w[i]) > 1e-12 {
						t.Fatalf("%s value %d: got %.17g, want %.17g", kind, i, got[i], w[i])
					}
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"kind":"tree"}`, `kind "tree"`},
		{`{"kind":"linear","task":"binary","features":["a"],"layers":[]}`, "kind linear has 0 layers"},
		{`{"kind":"mlp","task":"binary","features":["a","b"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}]}`, "layers[0].weights[0] has 1 values, want 2"},
		{`{"kind":"mlp","task":"binary","features":["a"],"layers":[{"weights":[[1],[2]],"bias":[0],"activation":"relu"}]}`, "layers[0].bias has 1 values"},
		{`{"kind":"mlp","task":"binary","features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"gelu"},{"weights":[[1]],"bias":[0],"activation":"sigmoid"}]}`, `layers[0].activation "gelu"`},
		{`{"kind":"mlp","task":"multiclass","classes":3,"features":["a"],"layers":[{"weights":[[1],[2]],"bias":[0,0],"activation":"softmax"}]}`, "classes is 3 but the last layer has 2"},
		{`{"kind":"linear","task":"binary","features":["a","a"],"layers":[{"weights":[[1,1]],"bias":[0],"activation":"sigmoid"}]}`, `features[1] "a" is empty or repeated`},
		{`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}],"extra":1}`, `unknown field "extra"`},
		{`{"kind":"linear","task":"regression","features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}]}`, "task regression needs"},
		// encoding/json leaves a float64 at 0 for null: refused, with its place.
		{`{"kind":"linear","task":"binary","features":["a","b"],"layers":[{"weights":[[1,null]],"bias":[0],"activation":"sigmoid"}]}`, "layers[0].weights[0][1] is null, want a number"},
		{`{"kind":"mlp","task":"binary","features":["a"],"layers":[{"weights":[[1],[2]],"bias":[0,0],"activation":"relu"},{"weights":[[1,2]],"bias":[null],"activation":"sigmoid"}]}`, "layers[1].bias[0] is null, want a number"},
		{`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[["1"]],"bias":[0],"activation":"sigmoid"}]}`, `layers[0].weights[0][0] is "\"1\"", want a number`},
		{`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[[1]],"bias":[true],"activation":"sigmoid"}]}`, `layers[0].bias[0] is "true", want a number`},
		{`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[[{}]],"bias":[0],"activation":"sigmoid"}]}`, `layers[0].weights[0][0] is "{}", want a number`},
		{`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[[1e999]],"bias":[0],"activation":"sigmoid"}]}`, "layers[0].weights[0][0] is +Inf, want a finite number"},
		{`{"kind":"linear","task":"binary","class_labels":["a","b","c"],"features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}]}`, "class_labels: 3 labels for a binary model of 2 classes, want 2"},
		{`{"kind":"linear","task":"binary","class_labels":["a",""],"features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}]}`, "class_labels[1] is empty"},
		{`{"kind":"linear","task":"regression","class_labels":["a","b"],"features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"identity"}]}`, "class_labels: a regression model has no classes"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

// TestParseErrorsQuoteBriefly: a huge value the file names (an unknown
// key, a task, a feature) is cut in the error, and control bytes escaped.
func TestParseErrorsQuoteBriefly(t *testing.T) {
	huge := strings.Repeat("x", 10<<20) + `\u001b[2J`
	for _, in := range []string{
		`{"kind":"linear","task":"` + huge + `","features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}]}`,
		`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}],"` + huge + `":1}`,
		`{"kind":"linear","task":"binary","features":["` + huge + `","` + huge + `"],"layers":[{"weights":[[1,1]],"bias":[0],"activation":"sigmoid"}]}`,
		`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[["` + huge + `"]],"bias":[0],"activation":"sigmoid"}]}`,
	} {
		_, err := Parse([]byte(in))
		if err == nil || len(err.Error()) > 300 || strings.ContainsRune(err.Error(), 0x1b) || !strings.Contains(err.Error(), "bytes)") {
			t.Errorf("Parse(%.100s...) error = %.400v (%d bytes), want a short one with the value cut", in, err, len(fmt.Sprint(err)))
		}
	}
}

func FuzzParse(f *testing.F) {
	src, err := os.ReadFile(fixture.Path("native", "mlp_multiclass_tanh.model.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	for _, name := range []string{"pipe_standard_logreg_iris", "pipe_minmax_mlpregressor_diabetes", "ovr_liblinear_iris"} {
		src, err := os.ReadFile(fixture.Path("native", "sklearn", name+".model.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add([]byte(`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		imp, err := Parse(data)
		fixture.CheckImported(t, imp, err)
	})
}

// TestPreparedParity holds the float32 serving path to scikit-learn's
// float64 predictions (fixture.CheckPreparedDense).
func TestPreparedParity(t *testing.T) {
	for _, name := range fixture.CaseNames(t, "native") {
		fixture.CheckPreparedDense(t, "native", name, parseCase(t, name))
	}
}

// parseCase imports testdata/native/<name>.model.json.
func parseCase(t *testing.T, name string) *model.Imported {
	t.Helper()
	src, err := os.ReadFile(fixture.Path("native", name+".model.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// TestServedParity holds what predict, score and serve run (the model
// written and opened with its default precision: float64 for scikit-learn
// models) to scikit-learn's own predictions: 1e-12 of each row's scale for
// linear models, 1e-9 for MLPs (issue 13: every dense model ran on float32
// kernels, up to 3.06e-6 off).
func TestServedParity(t *testing.T) {
	for _, name := range fixture.CaseNames(t, "native") {
		imp := parseCase(t, name)
		bound := 1e-9
		if imp.Kind == model.KindLinear {
			bound = 1e-12
		}
		fixture.CheckServedDense(t, "native", name, imp, bound)
	}
}
