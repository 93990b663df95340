package native

import (
	"encoding/json"
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
	var cases []struct {
		Name string `json:"name"`
	}
	data, err := os.ReadFile(fixture.Path("native", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 6 {
		t.Fatalf("only %d native fixtures", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			src, err := os.ReadFile(fixture.Path("native", c.Name+".model.json"))
			if err != nil {
				t.Fatal(err)
			}
			imp, err := Parse(src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			in := fixture.ReadTable(t, fixture.Path("native", c.Name+".csv"))
			for i, f := range imp.Features {
				if in.Header[i] != f.Name {
					t.Fatalf("column %d is %q, model feature is %q", i, in.Header[i], f.Name)
				}
			}
			rows := in.Flat()
			for _, kind := range []string{"pred", "raw"} {
				want := fixture.ReadTable(t, fixture.Path("native", c.Name+"."+kind+".csv"))
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
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) error = %v, want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	src, err := os.ReadFile(fixture.Path("native", "mlp_multiclass_tanh.model.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	f.Add([]byte(`{"kind":"linear","task":"binary","features":["a"],"layers":[{"weights":[[1]],"bias":[0],"activation":"sigmoid"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		imp, err := Parse(data)
		fixture.CheckImported(t, imp, err)
	})
}

// TestPreparedParity holds the float32 serving path (what model.Open gives
// predict and score) to scikit-learn's float64 predictions: each value
// within 1e-5 of the row's largest magnitude (at least 1).
func TestPreparedParity(t *testing.T) {
	var cases []struct {
		Name string `json:"name"`
	}
	data, err := os.ReadFile(fixture.Path("native", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		src, err := os.ReadFile(fixture.Path("native", c.Name+".model.json"))
		if err != nil {
			t.Fatal(err)
		}
		imp, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		d := imp.Model.(*model.Dense)
		if err := d.Prepare(); err != nil {
			t.Fatal(err)
		}
		rows := fixture.ReadTable(t, fixture.Path("native", c.Name+".csv")).Flat()
		for _, kind := range []string{"pred", "raw"} {
			want := fixture.ReadTable(t, fixture.Path("native", c.Name+"."+kind+".csv"))
			got := d.Predict(nil, rows, kind == "raw")
			worst := 0.0
			for i, wr := range want.Rows {
				scale := 1.0
				for _, w := range wr {
					scale = max(scale, math.Abs(w))
				}
				for j, w := range wr {
					worst = max(worst, math.Abs(got[i*len(wr)+j]-w)/scale)
				}
			}
			t.Logf("%s %s: worst error %.2g of the row's scale", c.Name, kind, worst)
			if worst > 1e-5 {
				t.Errorf("%s %s: float32 path off by %.2g of the row's scale, want at most 1e-5", c.Name, kind, worst)
			}
		}
	}
}
