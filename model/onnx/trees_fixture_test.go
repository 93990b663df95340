package onnx

import (
	"math"
	"os"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// treeFixtures are the scikit-learn tree cases of testdata/onnx/sklearn
// (testdata/gen/sklearn_onnx_fixtures.py): NAME.onnx, the rows NAME.csv,
// scikit-learn's float64 predictions NAME.expected.csv and ONNX Runtime
// 1.30's NAME.ort.csv. The bounds are on |predictd - oracle| / max(1,
// |oracle|), the measured worst over each case's 100 rows (in the comments,
// from this test's log) rounded up, vs scikit-learn and vs ONNX Runtime.
//
// Against ONNX Runtime the differences are its float32 arithmetic (it
// sums the trees and applies the link in float32; predictd in float64):
// about an ulp of a float32 probability, and up to a few ulps of a
// regressor's sum over 12 to 20 trees. Against scikit-learn the same, plus the float32
// weights and thresholds the graph stores: tree weights are sklearn's
// float64 leaf values rounded to float32, and HistGradientBoosting's
// thresholds, which it compares with the float64 input, are rounded too.
var treeFixtures = []struct {
	name            string
	sklearn, ort    float64 // bounds on |predictd - oracle| / max(1, |oracle|)
	classes, labels int     // output columns compared; classifier labels (0 for regressors)
	trees           int     // predictd trees: a forest's trees once per class
	link            model.Link
}{
	// measured worst vs scikit-learn, vs ONNX Runtime:
	{"rf_classifier_binary", 1e-7, 2e-7, 1, 2, 15, model.LinkProbability},   // 4.4e-08, 8.6e-08
	{"rf_classifier_multi", 1e-7, 2e-7, 3, 3, 36, model.LinkProbability},    // 2.3e-08, 1.2e-07
	{"extra_trees_classifier", 1e-7, 2e-7, 3, 3, 36, model.LinkProbability}, // 2.6e-08, 1.0e-07
	{"gb_classifier_binary", 1e-7, 2e-7, 1, 2, 20, model.LinkSigmoid},       // 4.1e-09, 7.1e-08
	{"gb_classifier_multi", 1e-7, 2e-7, 3, 3, 30, model.LinkSoftmax},        // 2.6e-08, 6.3e-08
	{"hgb_classifier_binary", 1e-7, 2e-7, 1, 2, 15, model.LinkSigmoid},      // 5.4e-09, 7.2e-08
	{"rf_regressor", 5e-7, 5e-7, 1, 0, 12, model.LinkIdentity},              // 2.0e-07, 2.0e-07
	{"gb_regressor", 1e-6, 3e-6, 1, 0, 20, model.LinkIdentity},              // 6.4e-07, 1.2e-06
	{"hgb_regressor", 5e-7, 5e-6, 1, 0, 20, model.LinkIdentity},             // 1.7e-07, 2.2e-06
}

// findTreeEnsemble parses an ONNX file and returns its tree-ensemble node
// and the width of the graph input it reads.
func findTreeEnsemble(t testing.TB, path string) (*nodeProto, int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeModel(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	g := m.graph
	if len(g.inputs) != 1 || len(g.inputs[0].dims) != 2 {
		t.Fatalf("%s: want one [N, F] graph input, have %d inputs", path, len(g.inputs))
	}
	in := g.inputs[0]
	for i := range g.nodes {
		n := &g.nodes[i]
		if n.domain == mlDomain && (n.opType == opTreeClassifier || n.opType == opTreeRegressor) {
			if len(n.inputs) == 0 || n.inputs[0] != in.name {
				t.Fatalf("%s: %s reads %v, not the graph input %q", path, ref(n), n.inputs, in.name)
			}
			return n, int(in.dims[1].value)
		}
	}
	t.Fatalf("%s: no TreeEnsembleClassifier or TreeEnsembleRegressor node", path)
	return nil, 0
}

// TestTreeSklearnFixtures converts each case's tree ensemble, predicts its
// rows with FastForest and compares with scikit-learn and ONNX Runtime.
func TestTreeSklearnFixtures(t *testing.T) {
	for _, c := range treeFixtures {
		t.Run(c.name, func(t *testing.T) {
			dir := fixture.Path("onnx", "sklearn")
			n, width := findTreeEnsemble(t, dir+"/"+c.name+".onnx")
			e, err := treeEnsemble(n, width)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Trees.Prepare(); err != nil {
				t.Fatal(err)
			}
			wantTask := model.TaskRegression
			switch {
			case c.labels == 2:
				wantTask = model.TaskBinary
			case c.labels > 2:
				wantTask = model.TaskMulticlass
			}
			if e.Task != wantTask || len(e.Labels) != c.labels {
				t.Fatalf("task %s with labels %q, want %s with %d labels", e.Task, e.Labels, wantTask, c.labels)
			}
			if got := len(e.Trees.Forest.Roots); got != c.trees || e.Trees.Link != c.link {
				t.Errorf("%d trees, link %s; want %d, %s", got, e.Trees.Link, c.trees, c.link)
			}
			in := fixture.ReadTable(t, dir+"/"+c.name+".csv")
			if len(in.Header) != width {
				t.Fatalf("%s.csv has %d columns, the graph input %d", c.name, len(in.Header), width)
			}
			got := e.Trees.Predict(nil, in.Flat(), false)
			if len(got) != len(in.Rows)*c.classes {
				t.Fatalf("%d outputs for %d rows, want %d per row", len(got), len(in.Rows), c.classes)
			}
			for _, o := range []struct {
				file  string
				bound float64
			}{{".expected.csv", c.sklearn}, {".ort.csv", c.ort}} {
				want := fixture.ReadTable(t, dir+"/"+c.name+o.file)
				if len(want.Rows) != len(in.Rows) {
					t.Fatalf("%s%s has %d rows, the inputs %d", c.name, o.file, len(want.Rows), len(in.Rows))
				}
				// Columns: label, proba_0.. for classifiers (binary: p is
				// proba_1), value for regressors.
				first := 0
				if c.labels > 0 {
					first = 1
					if c.labels == 2 {
						first = 2
					}
				}
				worst, at := 0.0, 0
				for i, row := range want.Rows {
					for k := 0; k < c.classes; k++ {
						w := row[first+k]
						d := math.Abs(got[i*c.classes+k]-w) / math.Max(1, math.Abs(w))
						if !(d <= o.bound) {
							t.Errorf("%s row %d %v: output %d = %v, want %v (|diff|/max(1,|want|) %.3g > %.3g)", o.file, i, in.Rows[i], k, got[i*c.classes+k], w, d, o.bound)
						}
						if d > worst {
							worst, at = d, i
						}
					}
				}
				t.Logf("%s: worst |diff|/max(1,|want|) %.3g (row %d) over %d rows", o.file, worst, at, len(want.Rows))
			}
		})
	}
}
