package spec

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/table"
	"github.com/predictd/predictd/model/transform"
)

// docExample is the example in the package doc, read from spec.go, so the
// documented format is the parsed one.
func docExample(t testing.TB) []byte {
	t.Helper()
	src, err := os.ReadFile("spec.go")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, "// The format"):
			in = true
		case in && strings.HasPrefix(line, "// What each transform"):
			in = false
		case in && strings.HasPrefix(line, "//\t"):
			b.WriteString(line[3:] + "\n")
		}
	}
	if b.Len() == 0 {
		t.Fatal("no example found in spec.go's package doc")
	}
	return []byte(b.String())
}

func TestDocExample(t *testing.T) {
	s, err := Parse(docExample(t), "doc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Label != "is_fraud" || s.Task != TaskBinary || s.Seed != 7 || s.ValidationFraction != 0.2 {
		t.Errorf("top level = %q %q %d %v", s.Label, s.Task, s.Seed, s.ValidationFraction)
	}
	want := Model{Type: ModelGBDT, Line: s.Model.Line, NTrees: 100, MaxDepth: 6, LearningRate: 0.3, MaxBin: 255, Lambda: 1,
		MinChildWeight: 1, Subsample: 1, Colsample: 1, Growth: "depthwise"}
	if s.Model != want {
		t.Errorf("model = %+v\nwant %+v", s.Model, want)
	}
	var names []string
	for _, f := range s.Features {
		names = append(names, f.Transform.Name)
	}
	if w := []string{"amount", "amount_bin", "income", "country", "merchant", "device", "country_x_device"}; !slices.Equal(names, w) {
		t.Errorf("feature names = %q, want %q", names, w)
	}
	amount := s.Features[0].Transform
	if len(amount.Steps) != 4 || amount.Steps[0].Strategy != "median" || !amount.Steps[0].Indicator || *amount.Steps[1].Max != 10000 || amount.Steps[2].Op != "log1p" {
		t.Errorf("amount steps = %+v", amount.Steps)
	}
	if e := s.Features[3].Transform.Encode; e.Op != "onehot" || e.MinFrequency != 5 || e.Unknown != "infrequent" {
		t.Errorf("country encoding = %+v", e)
	}
	if e := s.Features[4].Transform.Encode; e.Op != "ordinal" || e.Unknown != "value" || e.UnknownValue != -1 {
		t.Errorf("merchant encoding = %+v", e)
	}
	if f := s.Features[6]; f.Type != "string" || !slices.Equal(f.Transform.Columns, []string{"country", "device"}) || f.Transform.Encode.Buckets != 64 {
		t.Errorf("cross = %+v", f)
	}
	if _, err := transform.NewFitter(s.Transforms()); err != nil {
		t.Errorf("NewFitter(doc example) = %v", err)
	}
	// A bare impute is strategy mean.
	s, err = Parse([]byte("label: y\ntask: binary\nmodel: {type: logistic}\nfeatures: [{column: x, type: float, transforms: [impute]}]\n"), "t.yaml")
	if err != nil || s.Features[0].Transform.Steps[0].Strategy != "mean" {
		t.Errorf("bare impute: %v %+v, want strategy mean", err, s)
	}
}

func TestModelDefaults(t *testing.T) {
	for _, c := range []struct {
		model, task string
		want        Model
	}{
		{"{type: logistic}", "multiclass", Model{Type: ModelLogistic, C: 1, Penalty: "l2", MaxIter: 100}},
		{"{type: logistic, penalty: elasticnet, l1_ratio: 0.3, c: 0.5}", "binary", Model{Type: ModelLogistic, C: 0.5, Penalty: "elasticnet", L1Ratio: 0.3, MaxIter: 100}},
		{"{type: ridge}", "regression", Model{Type: ModelRidge, Alpha: 1}},
		{"{type: linear}", "regression", Model{Type: ModelLinear}},
		{"{type: gbdt, growth: lossguide, max_leaves: 31, max_depth: 0, early_stopping_rounds: 10}", "poisson", Model{Type: ModelGBDT, NTrees: 100, LearningRate: 0.3, MaxBin: 255, Lambda: 1,
			MinChildWeight: 1, Subsample: 1, Colsample: 1, Growth: "lossguide", MaxLeaves: 31, EarlyStoppingRounds: 10}},
	} {
		src := "label: y\ntask: " + c.task + "\nmodel: " + c.model + "\nfeatures:\n  - {column: x, type: float}\n"
		s, err := Parse([]byte(src), "t.yaml")
		if err != nil {
			t.Errorf("Parse(%s) = %v", c.model, err)
			continue
		}
		c.want.Line = 3
		if s.Model != c.want {
			t.Errorf("Parse(%s) model = %+v\nwant %+v", c.model, s.Model, c.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	head := "label: y\ntask: binary\nmodel: {type: logistic}\nfeatures:\n"
	for _, c := range []struct{ src, want string }{
		{"", "t.yaml: empty training spec"},
		{"label: y\ntask: binary\nmodel: {type: logistic}\n", "t.yaml:1: features: missing"},
		{head + "  - {column: x, type: float}\nextra: 1\n", "t.yaml:6: extra: unknown key"},
		{"label: y\ntask: ranking\n", `t.yaml:2: task: "ranking": want binary, multiclass, regression, poisson`},
		{"label: y\ntask: regression\nmodel: {type: logistic}\nfeatures: [{column: x, type: float}]\n", "t.yaml:3: model.type: logistic cannot fit task regression"},
		{"label: y\ntask: binary\nmodel: {type: logistic, alpha: 1}\nfeatures: [{column: x, type: float}]\n", "t.yaml:3: model.alpha: unknown key for model type logistic"},
		{"label: y\ntask: binary\nmodel:\n  type: gbdt\n  subsample: 1.5\nfeatures: [{column: x, type: float}]\n", "t.yaml:5: model.subsample: 1.5: want 0 < fraction <= 1"},
		{"label: y\ntask: binary\nmodel:\n  type: gbdt\n  n_trees: \"10\"\nfeatures: [{column: x, type: float}]\n", `t.yaml:5: model.n_trees: scalar "10": want an integer`},
		{"label: y\ntask: binary\nmodel:\n  type: gbdt\n  growth: lossguide\nfeatures: [{column: x, type: float}]\n", "model.max_leaves: missing: growth lossguide needs max_leaves >= 2"},
		{"label: y\ntask: binary\nvalidation_fraction: 0\nmodel: {type: gbdt, early_stopping_rounds: 5}\nfeatures: [{column: x, type: float}]\n", "t.yaml:3: validation_fraction: 0, but model.early_stopping_rounds needs validation rows"},
		{"label: y\ntask: binary\nmodel: {type: logistic, l1_ratio: 0.5}\nfeatures: [{column: x, type: float}]\n", "model.l1_ratio: only for penalty elasticnet"},
		{"label: y\ntask: binary\nmodel: {type: gbdt, max_depth: 0}\nfeatures: [{column: x, type: float}]\n", "model.max_depth: 0 (no limit) only with growth lossguide"},
		{"label: y\ntask: binary\nmodel: {type: gbdt, max_bin: 1}\nfeatures: [{column: x, type: float}]\n", "model.max_bin: 1: want 2 to 255"},
		{"label: y\ntask: binary\nmodel: {type: gbdt, max_bin: 256}\nfeatures: [{column: x, type: float}]\n", "model.max_bin: 256: want 2 to 255"},
		{"label: y\ntask: binary\nmodel: {type: gbdt, max_leaves: 1}\nfeatures: [{column: x, type: float}]\n", "model.max_leaves: 1: want 0 (no limit) or >= 2"},
		{"label: y\ntask: binary\nmodel: {type: gbdt, learning_rate: 0}\nfeatures: [{column: x, type: float}]\n", "model.learning_rate: 0: want > 0"},
		{"label: y\ntask: binary\nmodel: {type: gbdt, lambda: -1}\nfeatures: [{column: x, type: float}]\n", "model.lambda: -1: want >= 0"},
		{"label: y\ntask: binary\nmodel: {type: gbdt, colsample: 0}\nfeatures: [{column: x, type: float}]\n", "model.colsample: 0: want 0 < fraction <= 1"},
		{"label: y\ntask: binary\nmodel: {type: gbdt, n_trees: 0}\nfeatures: [{column: x, type: float}]\n", "model.n_trees: 0: want >= 1"},
		{"label: y\ntask: binary\nmodel: {type: logistic, c: 0}\nfeatures: [{column: x, type: float}]\n", "model.c: 0: want > 0"},
		{"label: y\ntask: binary\nmodel: {type: logistic, penalty: elasticnet, l1_ratio: 1.5}\nfeatures: [{column: x, type: float}]\n", "model.l1_ratio: 1.5: want 0 to 1"},
		{"label: y\ntask: binary\nmodel: {type: logistic, penalty: elasticnet}\nfeatures: [{column: x, type: float}]\n", "model.penalty: elasticnet needs l1_ratio"},
		{"label: y\ntask: binary\nmodel: {type: logistic, max_iter: 0}\nfeatures: [{column: x, type: float}]\n", "model.max_iter: 0: want >= 1"},
		{"label: y\ntask: regression\nmodel: {type: ridge, alpha: -0.1}\nfeatures: [{column: x, type: float}]\n", "model.alpha: -0.1: want >= 0"},
		{"label: y\ntask: regression\nmodel: {type: linear, alpha: 1}\nfeatures: [{column: x, type: float}]\n", "model.alpha: unknown key for model type linear (no other keys)"},
		{"label: y\ntask: binary\nvalidation_fraction: 1\n", "t.yaml:3: validation_fraction: 1: want 0 <= fraction < 1"},
		{head + "  - column: x\n    type: float\n    colour: red\n", "t.yaml:7: features[0].colour: unknown key"},
		{head + "  - column: x\n    type: float\n    transforms: [sqrt]\n", "t.yaml:7: features[0].transforms[0]: unknown transform sqrt"},
		{head + "  - column: x\n    type: float\n    transforms:\n      - onehot: {min_frequency: 5}\n", "t.yaml:8: features[0].transforms[0]: onehot encodes strings, but x is declared type float"},
		{head + "  - column: c\n    type: string\n    transforms: [standardize]\n", "t.yaml:7: features[0].transforms[0]: standardize is for numbers, but c is declared type string"},
		{head + "  - column: c\n    type: string\n", "t.yaml:5: features[0].transforms: missing: a string feature needs one of onehot, ordinal, hash"},
		{head + "  - column: c\n    type: string\n    transforms: [onehot, ordinal]\n", "features[0].transforms[1]: a second encoding (ordinal after onehot)"},
		{head + "  - {column: x, type: float}\n  - {column: x, type: float}\n", "t.yaml:6: features[1].name: feature x given twice (first on line 5)"},
		{head + "  - {column: x, type: float}\n  - {column: x, type: string, name: x2, transforms: [onehot]}\n", "t.yaml:6: features[1]: column x is a string here and a float on line 5"},
		{head + "  - {column: y, type: float}\n", "t.yaml:5: features[0]: column y is the label"},
		{head + "  - {column: x, type: decimal}\n", `features[0].type: "decimal": want float, int, string`},
		{head + "  - {column: x, transforms: [log1p]}\n", "t.yaml:5: features[0].type: missing"},
		{head + "  - column: x\n    type: float\n    transforms:\n      - log1p: {base: 2}\n", "t.yaml:8: features[0].transforms[0].log1p.base: unknown parameter of log1p (it takes no parameters)"},
		{head + "  - column: x\n    type: float\n    transforms:\n      - impute: {strategy: constant}\n", "features[0].transforms[0].impute.value: value goes with strategy constant"},
		{head + "  - column: x\n    type: float\n    transforms:\n      - bucketize: {edges: [3, 2]}\n", "t.yaml:8: features[0].transforms[0].bucketize.edges[1]: 2: want above the edge before it"},
		{head + "  - column: x\n    type: float\n    transforms:\n      - bucketize: {bins: 4, edges: [1]}\n", "features[0].transforms[0].bucketize: want bins or edges"},
		{head + "  - column: x\n    type: float\n    transforms:\n      - clip: {min: 5, max: 1}\n", "t.yaml:8: features[0].transforms[0]: max: 1 below min 5"},
		{head + "  - column: x\n    type: float\n    transforms: [impute, impute]\n", "t.yaml:7: features[0].transforms: 2 impute steps, want at most one"},
		{head + "  - column: c\n    type: string\n    transforms:\n      - onehot: {unknown: value}\n", `features[0].transforms[0].onehot.unknown: "value": want error, zeros, infrequent, other`},
		{head + "  - column: c\n    type: string\n    transforms:\n      - ordinal: {unknown: value}\n", "features[0].transforms[0].ordinal.unknown_value: goes with unknown: value"},
		{head + "  - column: c\n    type: string\n    transforms: [hash]\n", "features[0].transforms[0].hash.buckets: missing"},
		{head + "  - {cross: [a, b]}\n", "t.yaml:5: features[0].buckets: missing"},
		{head + "  - {cross: [a, a], buckets: 4}\n", "features[0].cross: column a crossed with itself"},
		{head + "  - {cross: [a, b, c], buckets: 4}\n", "features[0].cross: 3 columns, want 2"},
		{head + "  - {cross: [a, b], buckets: 4, type: string}\n", "features[0].type: not a key of a cross"},
		{head + "  - {column: a, type: float, name: a_missing}\n  - {column: a, type: float, transforms: [{impute: {indicator: true}}]}\n", "t.yaml:6: features[1]: output column a_missing given twice"},
	} {
		_, err := Parse([]byte(c.src), "t.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q)\n = %v\nwant an error with %q", c.src, err, c.want)
		}
	}
}

func TestCheckColumns(t *testing.T) {
	s, err := Parse(docExample(t), "doc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	good := []table.Column{{Name: "is_fraud", Type: table.Int}, {Name: "amount", Type: table.Float}, {Name: "income", Type: table.String},
		{Name: "country", Type: table.String}, {Name: "merchant", Type: table.Int}, {Name: "device", Type: table.String}}
	if err := s.CheckColumns(good); err != nil {
		t.Fatalf("CheckColumns(good) = %v", err)
	}
	with := func(name string, typ table.Type) []table.Column {
		out := slices.Clone(good)
		for i := range out {
			if out[i].Name == name {
				out[i].Type = typ
			}
		}
		return out
	}
	without := func(name string) []table.Column {
		return slices.DeleteFunc(slices.Clone(good), func(c table.Column) bool { return c.Name == name })
	}
	for _, c := range []struct {
		cols []table.Column
		want string
	}{
		{without("is_fraud"), `doc.yaml:1: label: no column "is_fraud" in the table (columns: amount, country, device, income, merchant)`},
		{with("is_fraud", table.Time), "doc.yaml:1: label: column is_fraud is a time"},
		{without("income"), `doc.yaml:41: features[2].column: no column "income"`},
		{without("device"), `doc.yaml:52: features[5].column: no column "device"`},
		{with("country", table.Float), "doc.yaml:44: features[3].column: column country is float in the table, and the spec reads it as string"},
		{with("amount", table.Time), "doc.yaml:28: features[0].column: column amount is time in the table, and the spec reads it as float"},
	} {
		if err := s.CheckColumns(c.cols); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckColumns(%v)\n = %v\nwant an error with %q", c.cols, err, c.want)
		}
	}
	// A cross names its own line: drop device from the cross only.
	s.Features[5].Transform.Columns = []string{"merchant"}
	if err := s.CheckColumns(without("device")); err == nil || !strings.Contains(err.Error(), `doc.yaml:56: features[6].cross: no column "device"`) {
		t.Errorf("CheckColumns without device (cross) = %v", err)
	}
}

// TestSpecFitsOracleTable: a spec parsed, checked against a CSV's columns
// and fitted through model/transform on that CSV.
func TestSpecFitsOracleTable(t *testing.T) {
	src := `label: age
task: regression
model: {type: ridge, alpha: 0.5}
features:
  - column: amount
    type: float
    transforms: [{impute: {strategy: median, indicator: true}}, log1p, standardize]
  - column: country
    type: string
    transforms: [{onehot: {min_frequency: 5, unknown: infrequent}}]
  - {cross: [country, device], buckets: 16, name: cd}
`
	s, err := Parse([]byte(src), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r, err := table.Open("../../../testdata/train/transform/train.csv", table.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.CheckColumns(r.Columns()); err != nil {
		t.Fatal(err)
	}
	fr, err := transform.NewFitter(s.Transforms())
	if err != nil {
		t.Fatal(err)
	}
	if err := fr.AddTable(r, 100); err != nil {
		t.Fatal(err)
	}
	p, err := fr.Fit()
	if err != nil {
		t.Fatal(err)
	}
	if p.Width() != 2+7+16 {
		t.Errorf("Width = %d (%q), want 25", p.Width(), p.Names())
	}
}

// FuzzParse: Parse never panics, and a spec it accepts gives features
// model/transform accepts.
func FuzzParse(f *testing.F) {
	f.Add(docExample(f))
	f.Add([]byte("label: y\ntask: binary\nmodel: {type: logistic}\nfeatures:\n  - {column: x, type: float, transforms: [{clip: {min: 1}}]}\n"))
	f.Add([]byte("label: y\ntask: regression\nmodel: {type: gbdt, growth: lossguide, max_leaves: 4}\nfeatures: [{cross: [a, b], buckets: 3}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "f.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if _, err := transform.NewFitter(s.Transforms()); err != nil {
			t.Fatalf("accepted spec, refused by transform: %v", err)
		}
	})
}
