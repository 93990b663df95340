package lightgbm

import (
	"bytes"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

func testdata(tb testing.TB, name string) []byte {
	tb.Helper()
	return readFile(tb, filepath.Join("testdata", name))
}

// TestMissingTypes covers every numerical missing-value mode of
// testdata/v3_missing_types.txt (format v3). Tree i splits feature i and
// has leaf values 0 (left) and 2^i (right), so the margin is a bitmask of
// the trees that went right. The trees, from their decision_type:
//
//	tree 0  none_r  0 = missing None, default right  threshold +T
//	tree 1  none_l  2 = missing None, default left   threshold -T
//	tree 2  zero_r  4 = missing Zero, default right  threshold +T
//	tree 3  zero_l  6 = missing Zero, default left   threshold -T
//	tree 4  nan_r   8 = missing NaN,  default right  threshold +T
//	tree 5  nan_l  10 = missing NaN,  default left   threshold -T
//
// with T = 0.30000000000000004. Default-right trees have a positive
// threshold and default-left ones a negative one, so that for a zero the
// comparison disagrees with the default direction and the test can tell
// which one decided. LightGBM's Tree::NumericalDecision: None turns NaN into
// 0 and compares (the default bit is ignored); Zero turns NaN into 0 and
// sends |x| <= kZeroThreshold (float32 1e-35) the default way; NaN sends
// only NaN the default way.
func TestMissingTypes(t *testing.T) {
	imp, tr := mustParse(t, "v3_missing_types.txt", testdata(t, "v3_missing_types.txt"))
	if imp.Source.LibraryVersion != "model format v3" || imp.Task != model.TaskRegression || tr.Link != model.LinkIdentity {
		t.Fatalf("source %+v task %s link %s", imp.Source, imp.Task, tr.Link)
	}
	const T = 0.30000000000000004
	thr := []float64{T, -T, T, -T, T, -T}
	all := func(x float64) []float64 { return []float64{x, x, x, x, x, x} }
	each := func(f func(float64) float64) []float64 {
		r := make([]float64, 6)
		for i, th := range thr {
			r[i] = f(th)
		}
		return r
	}
	cases := []struct {
		name string
		row  []float64
		want float64
	}{
		// NaN: tree 0 -> 0 <= +T left; tree 1 -> 0 > -T right (2);
		// tree 2 Zero default right (4); tree 3 Zero default left;
		// tree 4 NaN default right (16); tree 5 NaN default left.
		{"NaN", all(math.NaN()), 2 + 4 + 16},
		// 0: None compares (tree 1 right); Zero takes the default (tree 2
		// right, tree 3 left); NaN compares: 0 <= +T left, 0 > -T right (32).
		{"0", all(0), 2 + 4 + 32},
		{"1e-36", all(1e-36), 2 + 4 + 32},
		{"-1e-36", all(-1e-36), 2 + 4 + 32},
		{"-0", all(math.Copysign(0, -1)), 2 + 4 + 32},
		// 1e-35 as float64 is below float32(1e-35) = 1.0000000180025095e-35,
		// so it is still zero.
		{"1e-35", all(1e-35), 2 + 4 + 32},
		// 1.1e-35 is not zero: Zero trees compare too; tree 2 left,
		// tree 3 right (8).
		{"1.1e-35", all(1.1e-35), 2 + 8 + 32},
		// Each feature exactly at its tree's threshold: x <= T goes left
		// everywhere.
		{"threshold", each(func(th float64) float64 { return th }), 0},
		// The next float64 above each threshold goes right everywhere.
		{"threshold+1ulp", each(func(th float64) float64 { return math.Nextafter(th, math.Inf(1)) }), 1 + 2 + 4 + 8 + 16 + 32},
		// The next float64 below goes left everywhere.
		{"threshold-1ulp", each(func(th float64) float64 { return math.Nextafter(th, math.Inf(-1)) }), 0},
		{"+Inf", all(math.Inf(1)), 63},
		{"-Inf", all(math.Inf(-1)), 0},
	}
	for _, c := range cases {
		if got := tr.Predict(nil, c.row, false)[0]; got != c.want {
			t.Errorf("%s: predict(%v) = %v = %06b, want %v = %06b", c.name, c.row, got, int(got), c.want, int(c.want))
		}
	}
}

// TestCategorical covers testdata/v4_categorical.txt (format v4): sets that
// span two 32-bit words, two trees' sets laid end to end, a tree whose nodes
// use its sets out of order, and inputs that are NaN, negative, fractional
// or past the set.
//
//	tree 0: c0 in set 0 -> leaf 0 = 1, else 0. cat_threshold = 10 256:
//	        word 0 = 10 = bits 1,3; word 1 = 256 = bit 8 -> category 40.
//	        Set {1, 3, 40}.
//	tree 1: node 0: c1 in its set 1 (threshold=1) -> node 1, else leaf 2 = 8.
//	        node 1: c0 in its set 0 (threshold=0) -> leaf 0 = 2, else leaf 1 = 4.
//	        cat_boundaries = 0 1 3, cat_threshold = 5 0 1:
//	        set 0 = [5] = bits 0,2 = {0, 2}; set 1 = [0 1] = {32}.
//
// LightGBM's Tree::CategoricalDecision: NaN goes right; otherwise the value
// is cast to int (truncating toward zero) and a negative goes right; a
// category past the set's words is not in it.
func TestCategorical(t *testing.T) {
	imp, tr := mustParse(t, "v4_categorical.txt", testdata(t, "v4_categorical.txt"))
	wantFeat := "[{c0 categorical} {c1 categorical} {x2 float}]"
	if got := fmt.Sprint(imp.Features); got != wantFeat {
		t.Errorf("features %s, want %s", got, wantFeat)
	}
	if imp.Source.Booster != "goss" {
		t.Errorf("booster %q, want goss (gbdt with data_sample_strategy goss)", imp.Source.Booster)
	}
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct {
		c0, c1 float64
		want   float64
	}{
		{1, 32, 1 + 4},             // 1 in {1,3,40}; 32 in {32}, 1 not in {0,2}
		{2, 32, 0 + 2},             // 2 not in {1,3,40}; 2 in {0,2}
		{40, 0, 1 + 8},             // 40 in word 1; 0 not in {32}
		{41, 32, 0 + 4},            // bit 9 of word 1 is clear
		{3.7, 32.9, 1 + 4},         // truncate to 3 and 32
		{40.5, 32, 1 + 4},          // 40
		{0.99, 31.999, 0 + 8},      // 0 and 31
		{-0.5, 32, 0 + 2},          // -0.5 truncates to 0, which is in {0,2}
		{-0.999, 32, 0 + 2},        // likewise
		{-1, 32, 0 + 4},            // -1 is negative: right in both trees
		{nan, 32, 0 + 4},           // NaN goes right, though node 1's missing type is None
		{2, nan, 0 + 8},            // NaN c1 goes right at node 0
		{64, 32, 0 + 4},            // word 2 does not exist in either set
		{1e10, 32, 0 + 4},          // far past int32: right
		{inf, math.Inf(-1), 0 + 8}, // both right
	}
	for _, c := range cases {
		row := []float64{c.c0, c.c1, 0}
		if got := tr.Predict(nil, row, false)[0]; got != c.want {
			t.Errorf("predict(%v) = %v, want %v", row, got, c.want)
		}
	}
	// Set words as the forest holds them: tree 0's set, then tree 1's two.
	if got, want := fmt.Sprint(tr.Forest.CatSets, tr.Forest.CatBounds), "[10 256 5 0 1] [0 2 3 5]"; got != want {
		t.Errorf("CatSets, CatBounds = %s, want %s", got, want)
	}
}

// TestRandomForest covers testdata/v3_rf_binary.txt: average_output with
// two iterations divides the summed margin by 2 before the sigmoid.
//
//	tree 0: x0 <= 1.5 -> 0.75, else -0.25
//	tree 1: x0 <= 2.5 -> 0.5,  else -1
func TestRandomForest(t *testing.T) {
	imp, tr := mustParse(t, "v3_rf_binary.txt", testdata(t, "v3_rf_binary.txt"))
	if tr.Divide != 2 || imp.Source.Booster != "rf" || imp.Task != model.TaskBinary {
		t.Fatalf("divide %v booster %q task %s; want 2, rf, binary", tr.Divide, imp.Source.Booster, imp.Task)
	}
	cases := []struct{ x, margin float64 }{
		{1, (0.75 + 0.5) / 2},            // 0.625
		{2, (-0.25 + 0.5) / 2},           // 0.125
		{3, (-0.25 - 1) / 2},             // -0.625
		{math.NaN(), (0.75 + 0.5) / 2},   // missing None: NaN counts as 0
		{1.5, (0.75 + 0.5) / 2},          // at the threshold: left
		{2.5, (-0.25 + 0.5) / 2},         // at tree 1's threshold: left
		{math.Inf(1), (-0.25 - 1.0) / 2}, // right in both
	}
	for _, c := range cases {
		row := []float64{c.x}
		if got := tr.Predict(nil, row, true)[0]; got != c.margin {
			t.Errorf("margin(%v) = %v, want %v", c.x, got, c.margin)
		}
		if got, want := tr.Predict(nil, row, false)[0], sigmoid(1, c.margin); !near(got, want, 1e-15) {
			t.Errorf("p(%v) = %v, want %v", c.x, got, want)
		}
	}
	// Without the trailer, average_output alone says rf.
	data := testdata(t, "v3_rf_binary.txt")
	data = data[:bytes.Index(data, []byte("end of trees"))+len("end of trees\n")]
	if imp, _ := mustParse(t, "v3_rf_binary.txt without trailer", data); imp.Source.Booster != "rf" {
		t.Errorf("booster without trailer %q, want rf", imp.Source.Booster)
	}
}

// TestMulticlassOVA covers testdata/v4_multiclassova.txt: 3 classes, two
// iterations (tree t adds to class t%3), and a per-class sigmoid with
// scale 1.5 instead of a softmax.
//
//	class 0: tree 0: a <= 0 -> 0.5, else -0.5;   tree 3: leaf -0.125
//	class 1: tree 1: leaf 0.25;                  tree 4: a <= 0 -> 1, else 0
//	class 2: tree 2: b <= 1 -> -1, else 1, NaN -> left (decision_type 10);
//	         tree 5: leaf 0.5
func TestMulticlassOVA(t *testing.T) {
	imp, tr := mustParse(t, "v4_multiclassova.txt", testdata(t, "v4_multiclassova.txt"))
	if imp.Task != model.TaskMulticlass || imp.Classes != 3 || tr.Link != model.LinkSigmoid || tr.Scale != 1.5 {
		t.Fatalf("task %s classes %d link %s scale %v; want multiclass, 3, sigmoid, 1.5", imp.Task, imp.Classes, tr.Link, tr.Scale)
	}
	if got := imp.Outputs[2].Name + " " + imp.RawOutputs[2].Name; got != "p2 margin2" {
		t.Errorf("output names %s, want p2 margin2", got)
	}
	cases := []struct {
		a, b    float64
		margins [3]float64
	}{
		{-1, 0, [3]float64{0.5 - 0.125, 0.25 + 1, -1 + 0.5}},
		{1, 2, [3]float64{-0.5 - 0.125, 0.25 + 0, 1 + 0.5}},
		// a: missing None, NaN counts as 0 -> left; b: NaN -> default left.
		{math.NaN(), math.NaN(), [3]float64{0.5 - 0.125, 0.25 + 1, -1 + 0.5}},
	}
	for _, c := range cases {
		row := []float64{c.a, c.b}
		raw := tr.Predict(nil, row, true)
		p := tr.Predict(nil, row, false)
		for k, m := range c.margins {
			if raw[k] != m {
				t.Errorf("margin%d(%v) = %v, want %v", k, row, raw[k], m)
			}
			if want := sigmoid(1.5, m); !near(p[k], want, 1e-15) {
				t.Errorf("p%d(%v) = %v, want %v", k, row, p[k], want)
			}
		}
	}
}

// TestObjectives swaps the objective line of testdata/v4_objective.txt,
// whose margin is m = tree 0 + tree 1 with tree 0: x <= 0 -> -1.5, else 0.5
// and tree 1 a single leaf 0.125: m(-1) = -1.375, m(1) = 0.625.
func TestObjectives(t *testing.T) {
	base := string(testdata(t, "v4_objective.txt"))
	ms := []float64{-1.375, 0.625}
	exp := math.Exp
	sq := func(m float64) float64 { return math.Copysign(m*m, m) } // sign(m)·m²
	id := func(m float64) float64 { return m }
	cases := []struct {
		objective string
		task      model.Task
		link      model.Link
		out       func(m float64) float64
		outName   string
	}{
		{"poisson", model.TaskCount, model.LinkExp, exp, "value"},
		{"gamma", model.TaskPositive, model.LinkExp, exp, "value"},
		{"tweedie tweedie_variance_power:1.5", model.TaskPositive, model.LinkExp, exp, "value"},
		{"poisson sqrt", model.TaskCount, model.LinkExp, exp, "value"}, // sqrt does not apply to exp outputs
		{"regression", model.TaskRegression, model.LinkIdentity, id, "value"},
		{"regression sqrt", model.TaskRegression, model.LinkSignedSquare, sq, "value"},
		{"regression_l1 sqrt", model.TaskRegression, model.LinkSignedSquare, sq, "value"},
		{"huber sqrt", model.TaskRegression, model.LinkIdentity, id, "value"}, // huber turns sqrt off
		{"quantile", model.TaskRegression, model.LinkIdentity, id, "value"},
		{"mape", model.TaskRegression, model.LinkIdentity, id, "value"},
		{"fair", model.TaskRegression, model.LinkIdentity, id, "value"},
		{"lambdarank", model.TaskRegression, model.LinkIdentity, id, "value"},
		{"rank_xendcg", model.TaskRegression, model.LinkIdentity, id, "value"},
		{"cross_entropy", model.TaskBinary, model.LinkSigmoid, func(m float64) float64 { return sigmoid(1, m) }, "p"},
		{"xentropy", model.TaskBinary, model.LinkSigmoid, func(m float64) float64 { return sigmoid(1, m) }, "p"},
		{"cross_entropy_lambda", model.TaskRegression, model.LinkLog1pExp, func(m float64) float64 { return math.Log1p(math.Exp(m)) }, "value"},
		{"binary sigmoid:0.5", model.TaskBinary, model.LinkSigmoid, func(m float64) float64 { return sigmoid(0.5, m) }, "p"},
		{"binary", model.TaskBinary, model.LinkSigmoid, func(m float64) float64 { return sigmoid(1, m) }, "p"},
	}
	for _, c := range cases {
		data := strings.Replace(base, "objective=poisson\n", "objective="+c.objective+"\n", 1)
		imp, tr := mustParse(t, c.objective, []byte(data))
		if imp.Task != c.task || tr.Link != c.link || imp.Source.Objective != c.objective {
			t.Errorf("%s: task %s link %s objective %q; want %s, %s", c.objective, imp.Task, tr.Link, imp.Source.Objective, c.task, c.link)
			continue
		}
		if len(imp.Outputs) != 1 || imp.Outputs[0].Name != c.outName || imp.RawOutputs[0].Name != "margin" {
			t.Errorf("%s: outputs %v raw %v, want %s and margin", c.objective, imp.Outputs, imp.RawOutputs, c.outName)
		}
		for i, x := range []float64{-1, 1} {
			row := []float64{x}
			if got := tr.Predict(nil, row, true)[0]; got != ms[i] {
				t.Errorf("%s: margin(%v) = %v, want %v", c.objective, x, got, ms[i])
			}
			if got, want := tr.Predict(nil, row, false)[0], c.out(ms[i]); !near(got, want, 1e-15) {
				t.Errorf("%s: predict(%v) = %.17g, want %.17g", c.objective, x, got, want)
			}
		}
	}
	// The arithmetic behind sq and the margins, spelled out once.
	if sq(-1.375) != -1.890625 || sq(0.625) != 0.390625 {
		t.Fatal("signed square arithmetic")
	}
}

// TestLinearTrees: models trained with linear_tree=true, whose leaves carry
// a linear model. LightGBM's Tree::Predict (include/LightGBM/tree.h) finds
// the leaf as usual, then starts from leaf_const and adds coeff·x for each of
// the leaf's features in order, x being the raw input value; the first NaN
// among them abandons the model and the leaf's plain leaf_value is used. A
// leaf without features outputs leaf_const, and a single-leaf tree is
// evaluated the same way. Margins are float64 sums in tree order from 0.
//
// v4_linear.txt (features x, y; the leaf groups in leaf_features and
// leaf_coeff are single-spaced, which LightGBM's reader ignores as this one
// does): x <= 0 (missing type None: NaN counts as 0) goes to leaf 0, value
// −1.5, model −1.25 + 0.5·y; else leaf 1, value 0.5, model 0.75 − 0.25·y.
//
// v4_linear_mixed.txt (features x, y, z; laid out as Tree::ToString writes):
//
//	Tree=0  x <= 0, NaN left (decision_type 10) -> leaf 0
//	          value −1.5, model −1.25 + 0.5·y − 0.25·z
//	        else y <= 1, NaN right (decision_type 8)
//	          -> leaf 1: value 0.5, model 0.75 (no features)
//	          -> leaf 2: value 2, model 1 + 0.125·x
//	Tree=1  a single leaf: value 0.1, model 0.2 − z
func TestLinearTrees(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	// sum adds at run time, left to right, in float64, as both the leaf's
	// model and the trees' margin are summed.
	sum := func(vs ...float64) float64 {
		s := 0.0
		for _, v := range vs {
			s += v
		}
		return s
	}
	type row struct {
		x    []float64
		want float64
	}
	for _, c := range []struct {
		file string
		rows []row
	}{
		{"v4_linear.txt", []row{
			{[]float64{-1, 2}, sum(-1.25, 0.5*2)},     // −0.25
			{[]float64{1, 2}, sum(0.75, -0.25*2)},     // 0.25
			{[]float64{-1, nan}, -1.5},                // y NaN: leaf 0's value
			{[]float64{1, nan}, 0.5},                  // y NaN: leaf 1's value
			{[]float64{nan, 4}, sum(-1.25, 0.5*4)},    // x NaN is 0 <= 0: leaf 0, 0.75
			{[]float64{0, -3}, sum(-1.25, 0.5*-3)},    // −2.75
			{[]float64{1, inf}, sum(0.75, -0.25*inf)}, // infinity is not missing: −Inf
		}},
		{"v4_linear_mixed.txt", []row{
			// Leaf 0: −1.25 + 0.5·2 − 0.25·4 = −1.25; tree 1: 0.2 − 4 = −3.8.
			{[]float64{-1, 2, 4}, sum(sum(-1.25, 0.5*2, -0.25*4), sum(0.2, -4))},
			// y NaN: leaf 0 falls back to −1.5.
			{[]float64{-1, nan, 4}, sum(-1.5, sum(0.2, -4))},
			// z NaN, met after y's term was added: leaf 0 still falls back
			// to −1.5, and the single leaf to 0.1.
			{[]float64{-1, 2, nan}, sum(-1.5, 0.1)},
			// x NaN goes left (default left): as the first row.
			{[]float64{nan, 2, 4}, sum(sum(-1.25, 0.5*2, -0.25*4), sum(0.2, -4))},
			// x > 0, y <= 1: leaf 1 has no features, so its model is its
			// constant 0.75, not its value 0.5, whatever z is.
			{[]float64{1, 0, nan}, sum(0.75, 0.1)},
			{[]float64{0.5, 1, 3}, sum(0.75, sum(0.2, -3))},
			// y NaN goes right (default right): leaf 2, 1 + 0.125·1 = 1.125;
			// tree 1: 0.2 − 0 = 0.2.
			{[]float64{1, nan, 0}, sum(sum(1, 0.125*1), sum(0.2, -1*0))},
			// Leaf 2: 1 + 0.125·2 = 1.25; tree 1: 0.2 + 0.5 = 0.7.
			{[]float64{2, 5, -0.5}, sum(sum(1, 0.125*2), sum(0.2, 0.5))},
		}},
	} {
		imp, tr := mustParse(t, c.file, testdata(t, c.file))
		if imp.Task != model.TaskRegression || tr.Link != model.LinkIdentity {
			t.Fatalf("%s: task %s link %s, want regression and identity", c.file, imp.Task, tr.Link)
		}
		// The same model after a payload round trip, as the server loads it.
		payload, err := model.EncodePayload(tr)
		if err != nil {
			t.Fatalf("%s: EncodePayload: %v", c.file, err)
		}
		dec, err := model.DecodePayload(model.KindTrees, payload)
		if err != nil {
			t.Fatalf("%s: DecodePayload: %v", c.file, err)
		}
		for _, r := range c.rows {
			for _, p := range []struct {
				name string
				m    model.Predictor
			}{{"imported", tr}, {"decoded", dec}} {
				if got := p.m.Predict(nil, r.x, true)[0]; got != r.want {
					t.Errorf("%s (%s): margin(%v) = %.17g, want %.17g", c.file, p.name, r.x, got, r.want)
				}
				if got := p.m.Predict(nil, r.x, false)[0]; got != r.want {
					t.Errorf("%s (%s): predict(%v) = %.17g, want %.17g", c.file, p.name, r.x, got, r.want)
				}
			}
		}
	}

	// The mixed file's linear models, in layout (pre-order) order: tree 0's
	// leaves 0, 1, 2, then tree 1's leaf.
	_, tr := mustParse(t, "v4_linear_mixed.txt", testdata(t, "v4_linear_mixed.txt"))
	f := &tr.Forest
	if want := []float64{-1.25, 0.75, 1, 0.2}; !slices.Equal(f.LinConst, want) {
		t.Errorf("LinConst = %v, want %v", f.LinConst, want)
	}
	if want := []int32{0, 2, 2, 3, 4}; !slices.Equal(f.LinBounds, want) {
		t.Errorf("LinBounds = %v, want %v", f.LinBounds, want)
	}
	if want := []int32{1, 2, 0, 2}; !slices.Equal(f.LinFeatures, want) {
		t.Errorf("LinFeatures = %v, want %v", f.LinFeatures, want)
	}
	if want := []float64{0.5, -0.25, 0.125, -1}; !slices.Equal(f.LinCoeffs, want) {
		t.Errorf("LinCoeffs = %v, want %v", f.LinCoeffs, want)
	}

	rows := []float64{-1, 2, 4, 1, nan, 0, 1, 0, nan}
	dst := make([]float64, 0, 3)
	if n := testing.AllocsPerRun(100, func() { dst = tr.Predict(dst[:0], rows, false) }); n != 0 {
		t.Errorf("Predict on a linear model allocates %v times per call, want 0", n)
	}
}

// TestLayoutVariants: the same model read with CRLF line endings, a byte
// order mark, the header keys in another order and unknown keys added, and
// without tree_sizes or the trailer, predicts the same.
func TestLayoutVariants(t *testing.T) {
	base := string(testdata(t, "v4_categorical.txt"))
	_, want := mustParse(t, "base", []byte(base))
	lines := strings.Split(base, "\n")
	reordered := append([]string{lines[0]}, "some_future_key=1 2 3", lines[7], lines[6], lines[5], lines[4], lines[3], lines[2], lines[1])
	reordered = append(reordered, lines[8:]...)
	variants := map[string]string{
		"crlf":          strings.ReplaceAll(base, "\n", "\r\n"),
		"bom":           "\ufeff" + base,
		"reordered":     strings.Join(reordered, "\n"),
		"no tree_sizes": strings.Replace(base, "tree_sizes=291 322\n", "", 1),
		"no trailer":    base[:strings.Index(base, "end of trees")+len("end of trees")],
		// Without blank lines the blocks shrink: LightGBM would misread
		// them by the old tree_sizes, so the line goes too.
		"no blank lines": strings.Replace(strings.ReplaceAll(strings.ReplaceAll(base, "\n\n\n", "\n"), "\n\n", "\n"), "tree_sizes=291 322\n", "", 1),
	}
	rows := [][]float64{{1, 32, 0}, {2, 32, 0}, {40, 0, 0}, {math.NaN(), math.NaN(), 0}, {-0.5, 32, 0}}
	for name, v := range variants {
		_, tr := mustParse(t, name, []byte(v))
		for _, r := range rows {
			if got, w := tr.Predict(nil, r, false)[0], want.Predict(nil, r, false)[0]; got != w {
				t.Errorf("%s: predict(%v) = %v, want %v", name, r, got, w)
			}
		}
	}
}

// TestObjectiveAliases: every name in the alias table maps to a link
// (parseObjective panics with BUG otherwise) with the task of its canonical
// name.
func TestObjectiveAliases(t *testing.T) {
	for alias, canon := range objectiveAliases {
		a, err := parseObjective(field{alias, 7})
		if err != nil {
			t.Errorf("parseObjective(%q): %v", alias, err)
			continue
		}
		c, _ := parseObjective(field{canon, 7})
		if a.name != canon || a.link != c.link || a.task != c.task || a.perClass != c.perClass {
			t.Errorf("parseObjective(%q) = %+v, want as %q: %+v", alias, a, canon, c)
		}
	}
}

// TestRandomForestV2Writers covers rfLink's reading of a format-v2 random
// forest by the LightGBM that wrote it, on v3_rf_binary.txt relabelled v2:
// leaves outside [0, 1] (raw scores: LightGBM 2.2.3 and later) keep the
// sigmoid of the average; leaves all in [0, 1] (probabilities: 2.2.2 and
// earlier) are averaged as they are; a v2 forest with a transforming
// objective other than binary is refused, and one with an identity
// objective is read as is.
func TestRandomForestV2Writers(t *testing.T) {
	v3 := string(testdata(t, "v3_rf_binary.txt"))
	v2 := strings.Replace(v3, "version=v3", "version=v2", 1)

	_, tr := mustParse(t, "v2 raw leaves", []byte(v2))
	if tr.Link != model.LinkSigmoid {
		t.Errorf("v2 forest with leaves 0.75 -0.25 0.5 -1: link %s, want sigmoid (written by 2.2.3 or later)", tr.Link)
	}
	if got, want := tr.Predict(nil, []float64{1}, false)[0], sigmoid(1, 0.625); !near(got, want, 1e-15) {
		t.Errorf("p(1) = %v, want %v", got, want)
	}

	// Leaves as probabilities (0.75 -> 0.70, -0.25 -> 0.125, -1 -> 0.2),
	// without tree_sizes, which the edit invalidates.
	probs := strings.Replace(v2, "tree_sizes=245 241\n", "", 1)
	probs = strings.Replace(probs, "leaf_value=0.75 -0.25", "leaf_value=0.70 0.125", 1)
	probs = strings.Replace(probs, "leaf_value=0.5 -1", "leaf_value=0.5 0.2", 1)
	if probs == v2 {
		t.Fatal("fixture edit did not apply: v3_rf_binary.txt's leaf lines changed?")
	}
	imp, tr := mustParse(t, "v2 probability leaves", []byte(probs))
	if tr.Link != model.LinkProbability || imp.Outputs[0].Name != "p" {
		t.Fatalf("v2 forest with leaves in [0,1]: link %s output %s, want probability, p", tr.Link, imp.Outputs[0].Name)
	}
	for _, c := range []struct{ x, want float64 }{{1, (0.70 + 0.5) / 2}, {2, (0.125 + 0.5) / 2}, {3, (0.125 + 0.2) / 2}} {
		if got := tr.Predict(nil, []float64{c.x}, false)[0]; got != c.want {
			t.Errorf("p(%v) = %v, want the plain average %v", c.x, got, c.want)
		}
	}
	// The same file as v3 is read as LightGBM 3 reads it: sigmoid.
	if _, tr := mustParse(t, "v3 probability leaves", []byte(strings.Replace(probs, "version=v2", "version=v3", 1))); tr.Link != model.LinkSigmoid {
		t.Errorf("v3 forest: link %s, want sigmoid", tr.Link)
	}

	poisson := strings.Replace(v2, "objective=binary sigmoid:1", "objective=poisson", 1)
	_, err := Parse([]byte(poisson))
	if err == nil || !strings.Contains(err.Error(), "format v2 with objective \"poisson\"") || !strings.Contains(err.Error(), "2.2.3") {
		t.Errorf("v2 poisson forest: err %v, want a refusal naming the objective and the 2.2.3 change", err)
	}
	reg := strings.Replace(poisson, "objective=poisson", "objective=regression", 1)
	if _, tr := mustParse(t, "v2 regression forest", []byte(reg)); tr.Link != model.LinkIdentity || tr.Divide != 2 {
		t.Errorf("v2 regression forest: link %s divide %v, want identity, 2", tr.Link, tr.Divide)
	}
}
