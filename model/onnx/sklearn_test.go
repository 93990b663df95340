package onnx_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/model/transform"
)

// sklearnCase is one case of testdata/onnx/sklearn/cases.json (written by
// testdata/gen/sklearn_onnx_fixtures.py).
type sklearnCase struct {
	Name     string   `json:"name"`
	Task     string   `json:"task"`
	Classes  []string `json:"classes"`
	Columns  []string `json:"columns"`
	Expected []string `json:"expected"`
	Inputs   []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"inputs"`
}

func sklearnCases(t testing.TB) []sklearnCase {
	t.Helper()
	data, err := os.ReadFile(fixture.Path("onnx", "sklearn", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs struct {
		Cases []sklearnCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs.Cases) == 0 {
		t.Fatal("cases.json lists no case")
	}
	return cs.Cases
}

// readText reads a CSV file with a header as text cells.
func readText(t testing.TB, path string) (header []string, rows [][]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	all, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(all) < 2 {
		t.Fatalf("%s: %d lines, want a header and rows", path, len(all))
	}
	return all[0], all[1:]
}

// sklearnBounds are the largest |predictd - scikit-learn| allowed per
// case, on probabilities or regression values (those as a fraction of the
// file's largest |value|, at least 1). ONNX stores weights, offsets and thresholds
// as float32, so the graph is scikit-learn's model rounded to float32: the
// measured worst cases (TestSklearnONNX's log, 2026-12-03) are listed next
// to each bound, which is about 4x the measured figure. The file's float32
// rounding is all there is: predictd evaluates the graph's own numbers in
// float64 (MLPs on float32 kernels, as noted).
var sklearnBounds = map[string]float64{
	"std_logreg_binary":      2.5e-7, // measured 5.7e-8
	"logreg_multinomial":     5e-7,   // 1.1e-7
	"logreg_ovr":             5e-7,   // 1.1e-7
	"minmax_ridge":           1e-5,   // 2.3e-6: intercept -839 and weights ~480 in float32
	"linreg":                 5e-7,   // 1.1e-7
	"imputer_logreg":         5e-8,   // 1.2e-8
	"normalizer_logreg":      1.2e-7, // 2.9e-8
	"coltrans_onehot":        1e-7,   // 2.3e-8
	"coltrans_select":        3e-7,   // 7.4e-8
	"mlp_classifier":         1e-6,   // 2.2e-7 (served on float32 kernels, as ONNX Runtime runs it)
	"mlp_binary":             1.2e-7, // 2.6e-8
	"mlp_regressor":          3e-7,   // 6.8e-8
	"rf_classifier_binary":   2e-7,   // 4.4e-8
	"rf_classifier_multi":    1e-7,   // 2.3e-8
	"rf_regressor":           1.2e-7, // 2.7e-8
	"extra_trees_classifier": 1.2e-7, // 2.6e-8
	"gb_classifier_binary":   2e-8,   // 4.1e-9
	"gb_classifier_multi":    1.2e-7, // 2.6e-8
	"gb_regressor":           6e-8,   // 1.4e-8
	"hgb_classifier_binary":  4e-8,   // 9.6e-9
	"hgb_regressor":          6e-8,   // 1.4e-8
}

// ortBound is the largest |predictd - ONNX Runtime| allowed (same
// scales): ONNX Runtime computes in float32; measured worst 3.3e-7
// (minmax_ridge).
const ortBound = 1e-6

// servedModel is an imported case as predictd serves it: written with its
// transform as `predictd import` writes it, and opened again.
type servedModel struct {
	l   *model.Loaded
	imp *model.Imported
}

func importServed(t testing.TB, name string) servedModel {
	t.Helper()
	imp, err := importer.ImportFile("onnx", fixture.Path("onnx", "sklearn", name+".onnx"))
	if err != nil {
		t.Fatalf("%s: import: %v", name, err)
	}
	_, dir, err := model.Write(t.TempDir(), "m", imp, model.WriteOptions{Transform: imp.Transform})
	if err != nil {
		t.Fatalf("%s: write: %v", name, err)
	}
	l, err := model.OpenDir(dir)
	if err != nil {
		t.Fatalf("%s: open: %v", name, err)
	}
	return servedModel{l, imp}
}

// predictCSV runs the rows of a case's CSV through the served path: the
// manifest's features by name, model.TransformRow for a version with a
// transform (blank cells missing), then Predict.
func (s servedModel) predictCSV(t testing.TB, path string) [][]float64 {
	t.Helper()
	header, rows := readText(t, path)
	at := map[string]int{}
	for j, h := range header {
		at[h] = j
	}
	m := s.l.Manifest
	idx := make([]int, len(m.Features))
	for i, f := range m.Features {
		j, ok := at[f.Name]
		if !ok {
			t.Fatalf("%s: no column %s for feature %d (header %v)", path, f.Name, i, header)
		}
		idx[i] = j
	}
	out := make([][]float64, len(rows))
	for r, row := range rows {
		var x []float64
		if p := s.l.Transform; p != nil {
			raw := make(transform.Row, len(idx))
			for i, j := range idx {
				switch cell := row[j]; {
				case cell == "":
				case p.Numeric(i):
					v, err := strconv.ParseFloat(cell, 64)
					if err != nil {
						t.Fatalf("%s row %d column %s: %v", path, r+1, header[j], err)
					}
					raw[i] = transform.Num(v)
				default:
					raw[i] = transform.Str(cell)
				}
			}
			var err error
			x, err = model.TransformRow(nil, p, m.Kind == model.KindTrees, raw)
			if err != nil {
				t.Fatalf("%s row %d: TransformRow(%v): %v", path, r+1, row, err)
			}
		} else {
			for _, j := range idx {
				v := math.NaN()
				if row[j] != "" {
					var err error
					if v, err = strconv.ParseFloat(row[j], 64); err != nil {
						t.Fatalf("%s row %d column %s: %v", path, r+1, header[j], err)
					}
				}
				x = append(x, v)
			}
		}
		out[r] = s.l.Model.Predict(nil, x, false)
	}
	return out
}

// classOf is the class index a served row predicts: p > 1/2 for binary
// (scikit-learn's decision > 0), else the first largest probability.
func classOf(task string, pred []float64) int {
	if task == "binary" {
		if pred[0] > 0.5 {
			return 1
		}
		return 0
	}
	best := 0
	for k, v := range pred {
		if v > pred[best] {
			best = k
		}
	}
	return best
}

// compare returns the worst |got - want| of a case's served predictions
// against a CSV of label, proba_0.. or value (values as a fraction of
// the file's largest |value|, at least 1), and checks the labels when check is set, skipping rows
// whose top two probabilities are within bound of each other.
func compare(t *testing.T, c sklearnCase, got [][]float64, path string, bound float64, check bool) float64 {
	t.Helper()
	header, rows := readText(t, path)
	if !slices.Equal(header, c.Expected) {
		t.Fatalf("%s: header %v, want %v", path, header, c.Expected)
	}
	if len(rows) != len(got) {
		t.Fatalf("%s: %d rows, the input has %d", path, len(rows), len(got))
	}
	// A regression value is held to the file's largest |value|: a value
	// near 0 is a difference of large terms, whose float32-rounded
	// weights move it by their own size's rounding.
	scale := 1.0
	if c.Task == "regression" {
		for _, row := range rows {
			v, _ := strconv.ParseFloat(row[0], 64)
			scale = max(scale, math.Abs(v))
		}
	}
	worst := 0.0
	for r, row := range rows {
		want := make([]float64, 0, len(row))
		for j, cell := range row {
			if header[j] == "label" {
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				t.Fatalf("%s row %d: %v", path, r+1, err)
			}
			want = append(want, v)
		}
		g := got[r]
		switch c.Task {
		case "binary":
			// predictd serves p = P(classes[1]); scikit-learn's proba_0 is
			// 1 - proba_1.
			g = []float64{1 - g[0], g[0]}
		case "regression":
			g, want = []float64{g[0] / scale}, []float64{want[0] / scale}
		}
		if len(g) != len(want) {
			t.Fatalf("%s row %d: served %v, want %d values", path, r+1, got[r], len(want))
		}
		for j := range want {
			worst = max(worst, math.Abs(g[j]-want[j]))
		}
		if !check || c.Task == "regression" {
			continue
		}
		sorted := slices.Clone(want)
		slices.Sort(sorted)
		if sorted[len(sorted)-1]-sorted[len(sorted)-2] <= 2*bound {
			continue
		}
		if k := classOf(c.Task, got[r]); c.Classes[k] != row[0] {
			t.Errorf("%s row %d: served class %d (%s) from %v, scikit-learn's label is %s", c.Name, r+1, k, c.Classes[k], got[r], row[0])
		}
	}
	return worst
}

// TestSklearnONNX imports every case of testdata/onnx/sklearn through the
// importer `predictd import --from onnx` uses, writes and opens it as a
// version, runs NAME.csv through the served path (TransformRow, Predict)
// and holds the predictions to scikit-learn's (NAME.expected.csv) within
// sklearnBounds, the labels to scikit-learn's, and the predictions to ONNX
// Runtime's (NAME.ort.csv) within ortBound.
func TestSklearnONNX(t *testing.T) {
	for _, c := range sklearnCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			bound, ok := sklearnBounds[c.Name]
			if !ok {
				t.Fatalf("case %s has no bound in sklearnBounds", c.Name)
			}
			s := importServed(t, c.Name)
			m := s.l.Manifest
			if string(m.Task) != c.Task {
				t.Errorf("task %s, want %s", m.Task, c.Task)
			}
			var names []string
			for _, f := range m.Features {
				names = append(names, f.Name)
			}
			for _, f := range m.Features {
				if !slices.Contains(c.Columns, f.Name) {
					t.Errorf("feature %s is not a column of %s.csv (%v)", f.Name, c.Name, c.Columns)
				}
			}
			// The class labels the importer read, in the outputs' meanings:
			// scikit-learn's classes_ in order.
			switch c.Task {
			case "binary":
				want := fmt.Sprintf("probability of class 1 (label %q); class 0 (label %q) has 1-p", c.Classes[1], c.Classes[0])
				if len(m.Outputs) != 1 || m.Outputs[0].Meaning != want {
					t.Errorf("outputs %v, want p meaning %q", m.Outputs, want)
				}
			case "multiclass":
				if len(m.Outputs) != len(c.Classes) {
					t.Fatalf("outputs %v for classes %v", m.Outputs, c.Classes)
				}
				for k, cl := range c.Classes {
					if want := fmt.Sprintf("class %d (label %q)", k, cl); !strings.Contains(m.Outputs[k].Meaning, want) {
						t.Errorf("output %d meaning %q, want it to name %s", k, m.Outputs[k].Meaning, want)
					}
				}
			}
			got := s.predictCSV(t, fixture.Path("onnx", "sklearn", c.Name+".csv"))
			worst := compare(t, c, got, fixture.Path("onnx", "sklearn", c.Name+".expected.csv"), bound, true)
			ortPath := fixture.Path("onnx", "sklearn", c.Name+".ort.csv")
			ortWorst := math.NaN()
			if _, err := os.Stat(ortPath); err == nil {
				ortWorst = compare(t, c, got, ortPath, ortBound, false)
				if ortWorst > ortBound {
					t.Errorf("worst |predictd - onnxruntime| %.3g, want at most %.0g", ortWorst, ortBound)
				}
			}
			t.Logf("%s: features %v; transform %v; worst |diff| vs scikit-learn %.3g (bound %.2g), vs onnxruntime %.3g", c.Name, names, m.Transform != nil, worst, bound, ortWorst)
			if worst > bound {
				t.Errorf("worst |predictd - scikit-learn| %.3g, want at most %.2g", worst, bound)
			}
		})
	}
}
