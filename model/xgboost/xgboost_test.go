package xgboost

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

type fixtureCase struct {
	Name      string  `json:"name"`
	Booster   string  `json:"booster"`
	Objective string  `json:"objective"`
	NumClass  int     `json:"num_class"`
	NumFeat   int     `json:"num_features"`
	BaseScore float64 `json:"base_score"`
	NumTrees  int     `json:"num_trees"`
}

func loadCases(t *testing.T, dir string) []fixtureCase {
	t.Helper()
	data, err := os.ReadFile(fixture.Path(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs []fixtureCase
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

// rowsFor orders the fixture table's columns as the model's features.
func rowsFor(t *testing.T, feats []model.Feature, tab fixture.Table) []float64 {
	t.Helper()
	col := map[string]int{}
	for i, h := range tab.Header {
		col[h] = i
	}
	var out []float64
	for _, r := range tab.Rows {
		for _, f := range feats {
			j, ok := col[f.Name]
			if !ok {
				t.Fatalf("fixture lacks column %q", f.Name)
			}
			out = append(out, r[j])
		}
	}
	return out
}

// checkParity compares the model's margins (exactly, as float32: XGBoost
// sums in float32 and so do we) and predictions (each within one float32
// step) with XGBoost's own output for the same rows. It returns how many
// predictions were a step off and how many it compared; TestParity bounds
// their ratio.
func checkParity(t *testing.T, dir string, c fixtureCase) (offByOne, n int) {
	data, err := os.ReadFile(fixture.Path(dir, c.Name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return checkImportedParity(t, dir, c, imp)
}

// checkImportedParity is checkParity for a model already imported.
func checkImportedParity(t *testing.T, dir string, c fixtureCase, imp *model.Imported) (offByOne, n int) {
	if imp.Source.Objective != c.Objective || imp.Source.Booster != c.Booster {
		t.Errorf("source = %s/%s, want %s/%s", imp.Source.Objective, imp.Source.Booster, c.Objective, c.Booster)
	}
	rows := rowsFor(t, imp.Features, fixture.ReadTable(t, fixture.Path(dir, c.Name+".csv")))
	for _, kind := range []string{"margin", "pred"} {
		want := fixture.ReadTable(t, fixture.Path(dir, c.Name+"."+kind+".csv"))
		got := imp.Model.Predict(nil, rows, kind == "margin")
		width := len(want.Header)
		if len(got) != len(want.Rows)*width {
			t.Fatalf("%s: got %d values, want %d rows × %d", kind, len(got), len(want.Rows), width)
		}
		// Margins are float32 sums in both; predictions are XGBoost's
		// float32 link, which we reproduce to within one float32 step
		// (glibc's expf rounds some near-ties the other way).
		steps := int64(1)
		if kind == "margin" {
			steps = 0
		}
		bad := 0
		for i, wr := range want.Rows {
			for j, w := range wr {
				g := got[i*width+j]
				d := fixture.Float32Steps(float32(g), float32(w))
				if kind == "pred" && d == 1 {
					offByOne++
				}
				if d > steps {
					if bad < 5 {
						t.Errorf("%s row %d col %d: got %.9g, want %.9g (%d float32 steps, want at most %d)", kind, i, j, g, w, d, steps)
					}
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d values differ", kind, bad, len(got))
		}
		if kind == "pred" {
			n = len(got)
		}
	}
	if offByOne > 0 {
		t.Logf("pred: %d of %d predictions one float32 step off", offByOne, n)
	}
	return offByOne, n
}

func TestParity(t *testing.T) {
	cases := loadCases(t, "xgboost")
	seen := map[string]bool{}
	off, total := 0, 0
	for _, c := range cases {
		seen[c.Booster+" "+c.Objective] = true
		t.Run(c.Name, func(t *testing.T) {
			o, n := checkParity(t, "xgboost", c)
			off += o
			total += n
		})
	}
	// The README's claim: predictions bit for bit but for at most 1 value
	// in 8,000, that one a float32 step off (measured: 1 of 10,250, in
	// dart_reg_logistic).
	t.Logf("predictions: %d of %d one float32 step off", off, total)
	if off*8000 > total {
		t.Errorf("%d of %d predictions are one float32 step off XGBoost's; want at most 1 in 8,000", off, total)
	}
	// Every objective the importer promises is covered for both boosters.
	for _, obj := range []string{"binary:logistic", "binary:logitraw", "reg:squarederror", "reg:logistic",
		"reg:pseudohubererror", "count:poisson", "reg:gamma", "reg:tweedie", "multi:softprob", "multi:softmax"} {
		for _, b := range []string{"gbtree", "dart"} {
			if !seen[b+" "+obj] {
				t.Errorf("no fixture for %s %s", b, obj)
			}
		}
	}
}

func TestParseErrors(t *testing.T) {
	good, err := os.ReadFile(fixture.Path("xgboost", "gbtree_binary_logistic.json"))
	if err != nil {
		t.Fatal(err)
	}
	// edit decodes the good model, applies f, and re-encodes it.
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	learner := func(m map[string]any) map[string]any { return m["learner"].(map[string]any) }
	tree0 := func(m map[string]any) map[string]any {
		gb := learner(m)["gradient_booster"].(map[string]any)
		return gb["model"].(map[string]any)["trees"].([]any)[0].(map[string]any)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"truncated", good[:len(good)/2], "truncated JSON"},
		{"syntax", []byte("{\n\"learner\": {,}}"), "line 2 column"},
		{"not a model", []byte(`{"a": 1}`), `no "learner"`},
		{"unknown objective", edit(func(m map[string]any) {
			learner(m)["objective"].(map[string]any)["name"] = "reg:made_up"
		}), `objective "reg:made_up" is not supported`},
		{"missing child", edit(func(m map[string]any) {
			tree0(m)["left_children"].([]any)[0] = 9999.0
		}), "tree 0: node 0 refers to child 9999"},
		{"feature past count", edit(func(m map[string]any) {
			tree0(m)["split_indices"].([]any)[0] = 500.0
		}), "tree 0: node 0: split_indices 500 out of range"},
		{"cycle", edit(func(m map[string]any) {
			tree0(m)["left_children"].([]any)[1] = 0.0
		}), "reached twice"},
		{"array lengths", edit(func(m map[string]any) {
			t0 := tree0(m)
			t0["split_conditions"] = t0["split_conditions"].([]any)[1:]
		}), "split_conditions has"},
		{"tree_info", edit(func(m map[string]any) {
			gb := learner(m)["gradient_booster"].(map[string]any)
			gb["model"].(map[string]any)["tree_info"] = []any{}
		}), "tree_info entries"},
		{"base_score", edit(func(m map[string]any) {
			learner(m)["learner_model_param"].(map[string]any)["base_score"] = "abc"
		}), "base_score"},
		{"logistic base_score out of range", edit(func(m map[string]any) {
			learner(m)["learner_model_param"].(map[string]any)["base_score"] = "1.5"
		}), "must be in (0,1)"},
		{"num_feature", edit(func(m map[string]any) {
			learner(m)["learner_model_param"].(map[string]any)["num_feature"] = "x"
		}), `num_feature "x" is not an integer`},
		{"gblinear", edit(func(m map[string]any) {
			learner(m)["gradient_booster"] = map[string]any{"name": "gblinear"}
		}), "gblinear is not supported"},
		{"wrong type", edit(func(m map[string]any) {
			tree0(m)["left_children"] = "abc"
		}), "gradient_booster"},
		{"non-number", edit(func(m map[string]any) {
			tree0(m)["split_conditions"].([]any)[0] = "0.5"
		}), `"\"0.5\"" is not a number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse() error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestParseErrorsQuoteBriefly: a 10 MB value from the file (the objective
// name, a booster name, a feature name, base_score, a parameter) is cut in
// the error, with control bytes escaped: import once echoed it whole.
func TestParseErrorsQuoteBriefly(t *testing.T) {
	good, err := os.ReadFile(fixture.Path("xgboost", "gbtree_binary_logistic.json"))
	if err != nil {
		t.Fatal(err)
	}
	huge := "\x1b[2J" + strings.Repeat("x", 10<<20)
	learner := func(m map[string]any) map[string]any { return m["learner"].(map[string]any) }
	param := func(m map[string]any) map[string]any { return learner(m)["learner_model_param"].(map[string]any) }
	for name, f := range map[string]func(m map[string]any){
		"objective": func(m map[string]any) { learner(m)["objective"].(map[string]any)["name"] = huge },
		"booster":   func(m map[string]any) { learner(m)["gradient_booster"].(map[string]any)["name"] = huge },
		"feature name": func(m map[string]any) {
			// Distinct names but the last two, which repeat the huge one.
			n, _ := strconv.Atoi(param(m)["num_feature"].(string))
			names := make([]any, n)
			for i := range names {
				names[i] = fmt.Sprint("f", i)
			}
			names[n-2], names[n-1] = huge, huge
			learner(m)["feature_names"] = names
		},
		"base_score":      func(m map[string]any) { param(m)["base_score"] = huge },
		"num_feature":     func(m map[string]any) { param(m)["num_feature"] = huge },
		"base_score list": func(m map[string]any) { param(m)["base_score"] = "[" + huge },
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		in, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(in)
		if err == nil || len(err.Error()) > 400 || strings.ContainsRune(err.Error(), 0x1b) || !strings.Contains(err.Error(), `\x1b[2Jxxx`) {
			t.Errorf("%s: Parse error = %.500v (%d bytes), want a short one quoting the value's start", name, err, len(fmt.Sprint(err)))
		}
	}
}

func TestFeatureNames(t *testing.T) {
	for _, c := range loadCases(t, "xgboost") {
		data, err := os.ReadFile(fixture.Path("xgboost", c.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		imp, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		hdr := fixture.ReadTable(t, fixture.Path("xgboost", c.Name+".csv")).Header
		if len(imp.Features) != len(hdr) {
			t.Fatalf("%s: %d features, fixture has %d columns", c.Name, len(imp.Features), len(hdr))
		}
		for i, f := range imp.Features {
			if f.Name != hdr[i] {
				t.Errorf("%s: feature %d = %q, want %q", c.Name, i, f.Name, hdr[i])
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	// Small seeds keep the fuzzer fast: the first two trees of a few
	// fixtures (the whole files are 100 KB and more).
	for _, name := range []string{"gbtree_binary_logistic", "dart_multi_softprob", "gbtree_reg_gamma", "gbtree_cat_partition_binary_logistic"} {
		data, err := os.ReadFile(fixture.Path("xgboost", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(firstTrees(f, nonFiniteToNull(data), 2))
	}
	f.Add([]byte(`{"learner":{"objective":{"name":"binary:logistic"},"learner_model_param":{"num_feature":"1","base_score":"0.5"},"gradient_booster":{"name":"gbtree","model":{"trees":[{"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_indices":[0,0,0],"split_conditions":[0.5,1,2],"default_left":[1,0,0]}],"tree_info":[0]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		imp, err := Parse(data)
		fixture.CheckImported(t, imp, err)
	})
}

// firstTrees cuts an XGBoost JSON model down to its first n trees.
func firstTrees(t testing.TB, data []byte, n int) []byte {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	gb := m["learner"].(map[string]any)["gradient_booster"].(map[string]any)
	if inner, ok := gb["gbtree"].(map[string]any); ok {
		gb["weight_drop"] = gb["weight_drop"].([]any)[:n]
		gb = inner
	}
	mod := gb["model"].(map[string]any)
	mod["trees"] = mod["trees"].([]any)[:n]
	mod["tree_info"] = mod["tree_info"].([]any)[:n]
	mod["gbtree_model_param"].(map[string]any)["num_trees"] = fmt.Sprint(n)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
