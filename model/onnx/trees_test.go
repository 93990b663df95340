package onnx

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
)

// Hand-built TreeEnsemble nodes, checked against an evaluator written here
// from the operator spec and ONNX Runtime's TreeEnsembleCommon (walk from
// each tree's first node; float32 input compared with the threshold; NaN
// fails every comparison but !=, unless missing tracks true).

// tnode is one node of a test ensemble; weights go in tweight.
type tnode struct {
	tree, id int64
	mode     string
	feat     int64
	val      float64
	yes, no  int64
	nanYes   bool
}

type tweight struct {
	tree, id, class int64
	w               float64
}

func teInts(name string, v ...int64) attribute {
	return attribute{name: name, typ: atInts, ints: v}
}
func teFloats(name string, v ...float64) attribute {
	fs := make([]float32, len(v))
	for i, x := range v {
		fs[i] = float32(x)
	}
	return attribute{name: name, typ: atFloats, floats: fs}
}
func teDoubles(name string, v ...float64) attribute {
	return attribute{name: name + "_as_tensor", typ: atTensor, t: &tensorProto{dims: []int64{int64(len(v))}, dataType: dtDouble, doubleData: v}}
}
func teStrs(name string, v ...string) attribute {
	return attribute{name: name, typ: atStrings, strings: v}
}
func teStr(name, s string) attribute { return attribute{name: name, typ: atString, s: s, hasS: true} }
func teInt(name string, i int64) attribute {
	return attribute{name: name, typ: atInt, i: i, hasI: true}
}

// treeNodeProto builds op (TreeEnsembleClassifier or TreeEnsembleRegressor)
// from nodes and weights; doubles puts thresholds and weights in the
// opset-3 *_as_tensor attributes.
func treeNodeProto(op string, nodes []tnode, weights []tweight, doubles bool, extra ...attribute) *nodeProto {
	var trees, ids, feats, yes, no, tracks []int64
	var vals []float64
	var modes []string
	for _, nd := range nodes {
		trees, ids, feats = append(trees, nd.tree), append(ids, nd.id), append(feats, nd.feat)
		yes, no, modes, vals = append(yes, nd.yes), append(no, nd.no), append(modes, nd.mode), append(vals, nd.val)
		t := int64(0)
		if nd.nanYes {
			t = 1
		}
		tracks = append(tracks, t)
	}
	prefix := "target_"
	if op == opTreeClassifier {
		prefix = "class_"
	}
	var wt, wn, wc []int64
	var ww []float64
	for _, w := range weights {
		wt, wn, wc, ww = append(wt, w.tree), append(wn, w.id), append(wc, w.class), append(ww, w.w)
	}
	floats := teFloats
	if doubles {
		floats = teDoubles
	}
	attrs := []attribute{
		teInts("nodes_treeids", trees...), teInts("nodes_nodeids", ids...), teInts("nodes_featureids", feats...),
		teStrs("nodes_modes", modes...), floats("nodes_values", vals...),
		teInts("nodes_truenodeids", yes...), teInts("nodes_falsenodeids", no...),
		teInts("nodes_missing_value_tracks_true", tracks...),
		teInts(prefix+"treeids", wt...), teInts(prefix+"nodeids", wn...), teInts(prefix+"ids", wc...),
		floats(prefix+"weights", ww...),
	}
	attrs = append(attrs, extra...)
	return &nodeProto{name: "te", opType: op, domain: mlDomain, attrs: attrs}
}

// teORTCompare is ONNX Runtime's branch test of input value v (a float32
// input's value widened, or a double) against threshold t.
func teORTCompare(mode string, v, t float64, nanYes bool) bool {
	if v != v {
		return nanYes || mode == "BRANCH_NEQ"
	}
	switch mode {
	case "BRANCH_LEQ":
		return v <= t
	case "BRANCH_LT":
		return v < t
	case "BRANCH_GTE":
		return v >= t
	case "BRANCH_GT":
		return v > t
	case "BRANCH_EQ":
		return v == t
	case "BRANCH_NEQ":
		return v != t
	}
	panic(mode)
}

// teORTScores evaluates the ensemble on one row: per-class (target) sums of
// the reached leaves' weights, each tree walked from its first node. The
// nodes' thresholds are as the runtime holds them (float32 or double); the
// row is a FLOAT input's (each value rounded to float32) unless double.
func teORTScores(nodes []tnode, weights []tweight, width int, row []float64, double bool) []float64 {
	find := func(tree, id int64) tnode {
		for _, nd := range nodes {
			if nd.tree == tree && nd.id == id {
				return nd
			}
		}
		panic("no node")
	}
	out := make([]float64, width)
	for i, nd := range nodes {
		if i > 0 && nodes[i-1].tree == nd.tree {
			continue
		}
		for nd.mode != "LEAF" {
			next := nd.no
			v := row[nd.feat]
			if !double {
				v = float64(float32(v))
			}
			if teORTCompare(nd.mode, v, nd.val, nd.nanYes) {
				next = nd.yes
			}
			nd = find(nd.tree, next)
		}
		for _, w := range weights {
			if w.tree == nd.tree && w.id == nd.id {
				out[w.class] += w.w
			}
		}
	}
	return out
}

// tePredictBoth predicts rows with the reference walk and, after Prepare,
// with FastForest, and fails unless they agree bit for bit.
func tePredictBoth(t *testing.T, e *ensemble, rows []float64) []float64 {
	t.Helper()
	ref := e.Trees.Predict(nil, rows, false)
	if err := e.Trees.Prepare(); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	fast := e.Trees.Predict(nil, rows, false)
	for i := range ref {
		if math.Float64bits(ref[i]) != math.Float64bits(fast[i]) {
			t.Fatalf("output %d: reference walk %v, FastForest %v", i, ref[i], fast[i])
		}
	}
	return fast
}

// round32 rounds to float32 (thresholds stored in nodes_values are float32).
func round32(v float64) float64 { return float64(float32(v)) }

// TestTreeSplitModes runs one split per mode, threshold and missing
// track over inputs at and around the threshold, with float32 thresholds
// (nodes_values) and double ones (nodes_values_as_tensor), over FLOAT
// inputs (treeEnsemble) and DOUBLE ones (treeEnsembleDouble).
func TestTreeSplitModes(t *testing.T) {
	for _, input := range []bool{false, true} {
		testTreeSplitModes(t, input)
	}
}

func testTreeSplitModes(t *testing.T, doubleInput bool) {
	convert := treeEnsemble
	if doubleInput {
		convert = treeEnsembleDouble
	}
	inf := math.Inf(1)
	maxf := float64(math.MaxFloat32)
	thresholds := []float64{0.5, 0.1, 0, math.Copysign(0, -1), -3.25, inf, -inf, maxf, -maxf, 1e39, -1e39,
		float64(math.SmallestNonzeroFloat32), 1e-46, 16777217}
	modes := []string{"BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"}
	var xs []float64
	for _, th := range thresholds {
		for _, v := range []float64{th, round32(th)} {
			f := float32(v)
			xs = append(xs, v, float64(f), float64(math.Nextafter32(f, float32(inf))), float64(math.Nextafter32(f, float32(-inf))),
				math.Nextafter(v, inf), math.Nextafter(v, -inf), math.Nextafter(float64(f), inf), math.Nextafter(float64(f), -inf))
		}
	}
	xs = append(xs, math.NaN(), 1, -1, 1e300, -1e300, math.MaxFloat64, -math.MaxFloat64)
	for _, doubles := range []bool{false, true} {
		for _, th := range thresholds {
			stored := th
			if !doubles {
				stored = round32(th)
			}
			for _, mode := range modes {
				for _, nanYes := range []bool{false, true} {
					nodes := []tnode{
						{0, 0, mode, 0, stored, 1, 2, nanYes},
						{0, 1, "LEAF", 0, 0, 0, 0, false},
						{0, 2, "LEAF", 0, 0, 0, 0, false},
					}
					weights := []tweight{{0, 1, 0, 1}, {0, 2, 0, -1}}
					n := treeNodeProto(opTreeRegressor, nodes, weights, doubles, teInt("n_targets", 1))
					e, err := convert(n, 1)
					if err != nil {
						t.Fatalf("%s %v (doubles %v): %v", mode, stored, doubles, err)
					}
					got := tePredictBoth(t, e, xs)
					for i, x := range xs {
						want := teORTScores(nodes, weights, 1, []float64{x}, doubleInput)[0]
						if got[i] != want {
							t.Errorf("%s t=%v (as double %v) nanYes=%v, double input %v: x=%v (float32 %v) gives %v, want %v",
								mode, stored, doubles, nanYes, doubleInput, x, float32(x), got[i], want)
						}
					}
				}
			}
		}
	}
}

// randomEnsemble makes trees of random shape (node ids permuted, nodes
// listed in random order within each tree, a shared subtree now and then)
// over 3 features, with thresholds from a set that rows also hit.
func randomEnsemble(r *rand.Rand, nTrees, width int, values []float64) ([]tnode, []tweight) {
	modes := []string{"BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"}
	var nodes []tnode
	var weights []tweight
	for tr := 0; tr < nTrees; tr++ {
		var tree []tnode
		ids := r.Perm(64)
		next := 0
		var grow func(depth int) int64
		grow = func(depth int) int64 {
			id := int64(ids[next] * 3)
			next++
			if depth == 0 || r.IntN(4) == 0 {
				tree = append(tree, tnode{int64(tr), id, "LEAF", 0, 0, 0, 0, false})
				for c := 0; c < width; c++ {
					if r.IntN(3) > 0 {
						weights = append(weights, tweight{int64(tr), id, int64(c), float64(r.IntN(200)-100) / 8})
					}
				}
				return id
			}
			at := len(tree)
			tree = append(tree, tnode{int64(tr), id, modes[r.IntN(len(modes))], int64(r.IntN(3)), values[r.IntN(len(values))], 0, 0, r.IntN(2) == 0})
			tree[at].yes = grow(depth - 1)
			if r.IntN(8) == 0 && depth > 1 {
				tree[at].no = tree[at].yes // a shared subtree (a DAG)
			} else {
				tree[at].no = grow(depth - 1)
			}
			return id
		}
		grow(4)
		// Keep the root first (it starts the tree); shuffle the rest.
		rest := tree[1:]
		r.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		nodes = append(nodes, tree...)
	}
	return nodes, weights
}

// TestTreeRandomEnsembles holds converted random ensembles (every mode,
// missing tracks, shared subtrees, several targets, SUM and AVERAGE, base
// values) to the evaluator above on rows at and around the thresholds,
// NaN and infinities included.
func TestTreeRandomEnsembles(t *testing.T) {
	r := rand.New(rand.NewPCG(18, 1))
	values := []float64{-2, -0.5, 0, 0.1, 0.5, 1, 3.75, math.Inf(1), math.Inf(-1)}
	var cand []float64
	for _, v := range values {
		f := float32(v)
		cand = append(cand, v, float64(f), float64(math.Nextafter32(f, float32(math.Inf(1)))), float64(math.Nextafter32(f, float32(math.Inf(-1)))),
			math.Nextafter(v, math.Inf(1)), math.Nextafter(v, math.Inf(-1)))
	}
	cand = append(cand, math.NaN(), 0.3, -7)
	for trial := 0; trial < 80; trial++ {
		width := 1 + trial%3
		doubles := trial%2 == 1
		doubleInput := trial%8 >= 4
		convert := treeEnsemble
		if doubleInput {
			convert = treeEnsembleDouble
		}
		stored := values
		if !doubles {
			stored = nil
			for _, v := range values {
				stored = append(stored, round32(v))
			}
		}
		nodes, weights := randomEnsemble(r, 1+r.IntN(6), width, stored)
		agg := []string{"SUM", "AVERAGE"}[trial%4/2]
		base := make([]float64, width)
		for i := range base {
			base[i] = float64(r.IntN(9) - 4)
		}
		n := treeNodeProto(opTreeRegressor, nodes, weights, doubles, teInt("n_targets", int64(width)),
			teStr("aggregate_function", agg), teFloats("base_values", base...))
		e, err := convert(n, 3)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		if e.Task != model.TaskRegression || e.Targets != width || e.Labels != nil || e.Classes != 0 {
			t.Fatalf("trial %d: task %s targets %d labels %v classes %d, want regression, %d, nil, 0", trial, e.Task, e.Targets, e.Labels, e.Classes, width)
		}
		nTrees := 0
		for i := range nodes {
			if i == 0 || nodes[i-1].tree != nodes[i].tree {
				nTrees++
			}
		}
		var rows []float64
		for i := 0; i < 200*3; i++ {
			rows = append(rows, cand[r.IntN(len(cand))])
		}
		got := tePredictBoth(t, e, rows)
		for i := 0; i < 200; i++ {
			want := teORTScores(nodes, weights, width, rows[i*3:i*3+3], doubleInput)
			for k := range want {
				if agg == "AVERAGE" {
					want[k] /= float64(nTrees)
				}
				want[k] += base[k]
				if d := math.Abs(got[i*width+k] - want[k]); d > 1e-12*math.Max(1, math.Abs(want[k])) {
					t.Fatalf("trial %d (%s, doubles %v, double input %v) row %v target %d: got %v, want %v\nnodes %v\nweights %v",
						trial, agg, doubles, doubleInput, rows[i*3:i*3+3], k, got[i*width+k], want[k], nodes, weights)
				}
			}
		}
	}
}

// TestTreeClassifierLayouts checks each classifier layout's task, labels,
// link and p against the reading documented on classifierOutputs.
func TestTreeClassifierLayouts(t *testing.T) {
	// One tree, x0 <= 0.5 ? leaf 1 : leaf 2.
	nodes := []tnode{{0, 0, "BRANCH_LEQ", 0, 0.5, 1, 2, false}, {0, 1, "LEAF", 0, 0, 0, 0, false}, {0, 2, "LEAF", 0, 0, 0, 0, false}}
	// A second tree on x1, so sums have two terms.
	nodes2 := append(slices.Clone(nodes), tnode{1, 0, "BRANCH_LT", 1, -1, 1, 2, false}, tnode{1, 1, "LEAF", 0, 0, 0, 0, false}, tnode{1, 2, "LEAF", 0, 0, 0, 0, false})
	rows := []float64{0, 0, 1, -2, 0.5, -1, 2, 5}
	ints := teInts("classlabels_int64s", 0, 1)
	sig := func(m float64) float64 { return 1 / (1 + math.Exp(-m)) }
	// leaf(row, tree) picks which leaf each tree reaches: 0 = yes, 1 = no.
	reach := func(row []float64) (a, b int) {
		if float32(row[0]) > 0.5 {
			a = 1
		}
		if !(float32(row[1]) < -1) {
			b = 1
		}
		return
	}
	cases := []struct {
		name    string
		nodes   []tnode
		weights []tweight
		attrs   []attribute
		task    model.Task
		link    model.Link
		want    func(a, b int) []float64
	}{
		{"rf binary: class 0 only, NONE", nodes2,
			[]tweight{{0, 1, 0, 0.25}, {0, 2, 0, 0.5}, {1, 1, 0, 0.125}, {1, 2, 0, 0}},
			[]attribute{ints}, model.TaskBinary, model.LinkProbability,
			func(a, b int) []float64 { return []float64{[]float64{0.25, 0.5}[a] + []float64{0.125, 0}[b]} }},
		{"gb binary: class 0 only, LOGISTIC, one base value", nodes2,
			[]tweight{{0, 1, 0, -0.5}, {0, 2, 0, 0.75}, {1, 1, 0, 0.25}, {1, 2, 0, -1}},
			[]attribute{ints, teStr("post_transform", "LOGISTIC"), teFloats("base_values", 0.125)}, model.TaskBinary, model.LinkSigmoid,
			func(a, b int) []float64 {
				return []float64{sig(0.125 + []float64{-0.5, 0.75}[a] + []float64{0.25, -1}[b])}
			}},
		{"class 1 only, LOGISTIC", nodes,
			[]tweight{{0, 1, 1, -0.5}, {0, 2, 1, 2}},
			[]attribute{ints, teStr("post_transform", "LOGISTIC")}, model.TaskBinary, model.LinkSigmoid,
			func(a, b int) []float64 { return []float64{sig([]float64{-0.5, 2}[a])} }},
		{"both classes, NONE", nodes,
			[]tweight{{0, 1, 0, 0.75}, {0, 1, 1, 0.25}, {0, 2, 0, 0.125}, {0, 2, 1, 0.875}},
			[]attribute{ints}, model.TaskBinary, model.LinkProbability,
			func(a, b int) []float64 { return []float64{[]float64{0.25, 0.875}[a]} }},
		{"both classes, LOGISTIC", nodes,
			[]tweight{{0, 1, 0, 3}, {0, 1, 1, -1}, {0, 2, 0, 0.5}, {0, 2, 1, 2}},
			[]attribute{ints, teStr("post_transform", "LOGISTIC")}, model.TaskBinary, model.LinkSigmoid,
			func(a, b int) []float64 { return []float64{sig([]float64{-1, 2}[a])} }},
		{"both classes, SOFTMAX, zero base values", nodes,
			[]tweight{{0, 1, 0, 3}, {0, 1, 1, -1}, {0, 2, 0, 0.5}, {0, 2, 1, 2}},
			[]attribute{ints, teStr("post_transform", "SOFTMAX"), teFloats("base_values", 0, 0)}, model.TaskBinary, model.LinkSigmoid,
			func(a, b int) []float64 { return []float64{sig([]float64{-1 - 3, 2 - 0.5}[a])} }},
		{"multiclass SOFTMAX, a tree per class, base values", nodes2,
			[]tweight{{0, 1, 0, 1}, {0, 2, 1, 2}, {1, 1, 2, -1}, {1, 2, 0, 0.5}},
			[]attribute{teStrs("classlabels_strings", "a", "b", "c"), teStr("post_transform", "SOFTMAX"), teFloats("base_values", 0.25, -0.5, 1)},
			model.TaskMulticlass, model.LinkSoftmax,
			func(a, b int) []float64 {
				m := []float64{0.25, -0.5, 1}
				if a == 0 {
					m[0]++
				} else {
					m[1] += 2
				}
				if b == 0 {
					m[2]--
				} else {
					m[0] += 0.5
				}
				mx := max(m[0], m[1], m[2])
				s := 0.0
				for i := range m {
					m[i] = math.Exp(m[i] - mx)
					s += m[i]
				}
				for i := range m {
					m[i] /= s
				}
				return m
			}},
		{"multiclass NONE, leaves with every class (rf)", nodes,
			[]tweight{{0, 1, 0, 0.5}, {0, 1, 1, 0.25}, {0, 1, 2, 0.25}, {0, 2, 0, 0}, {0, 2, 1, 0}, {0, 2, 2, 1}},
			[]attribute{teInts("classlabels_int64s", 3, 5, 7)}, model.TaskMulticlass, model.LinkProbability,
			func(a, b int) []float64 { return [][]float64{{0.5, 0.25, 0.25}, {0, 0, 1}}[a] }},
		{"multiclass LOGISTIC", nodes,
			[]tweight{{0, 1, 0, 0.5}, {0, 1, 1, -0.25}, {0, 2, 2, 1}},
			[]attribute{teInts("classlabels_int64s", 0, 1, 2), teStr("post_transform", "LOGISTIC")}, model.TaskMulticlass, model.LinkSigmoid,
			func(a, b int) []float64 {
				return [][]float64{{sig(0.5), sig(-0.25), sig(0)}, {sig(0), sig(0), sig(1)}}[a]
			}},
	}
	for _, c := range cases {
		n := treeNodeProto(opTreeClassifier, c.nodes, c.weights, false, c.attrs...)
		e, err := treeEnsemble(n, 2)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if e.Task != c.task || e.Trees.Link != c.link {
			t.Errorf("%s: task %s link %s, want %s %s", c.name, e.Task, e.Trees.Link, c.task, c.link)
		}
		wantClasses := 0
		if c.task == model.TaskMulticlass {
			wantClasses = 3
		}
		if e.Classes != wantClasses || e.Targets != 0 {
			t.Errorf("%s: classes %d targets %d, want %d, 0", c.name, e.Classes, e.Targets, wantClasses)
		}
		got := tePredictBoth(t, e, rows)
		width := len(got) / 4
		for i := 0; i < 4; i++ {
			a, b := reach(rows[2*i : 2*i+2])
			want := c.want(a, b)
			if width != len(want) {
				t.Fatalf("%s: %d outputs per row, want %d", c.name, width, len(want))
			}
			for k := range want {
				if d := math.Abs(got[i*width+k] - want[k]); d > 1e-15 {
					t.Errorf("%s: row %v output %d = %v, want %v", c.name, rows[2*i:2*i+2], k, got[i*width+k], want[k])
				}
			}
		}
	}
	// Labels: int64 labels in base 10, strings as they are.
	n := treeNodeProto(opTreeClassifier, nodes, []tweight{{0, 1, 0, 1}}, false, teInts("classlabels_int64s", -3, 12))
	e, err := treeEnsemble(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Labels, []string{"-3", "12"}) {
		t.Errorf("labels of classlabels_int64s [-3 12] = %q, want [-3 12]", e.Labels)
	}
	n = treeNodeProto(opTreeClassifier, nodes, []tweight{{0, 1, 0, 1}}, false, teStrs("classlabels_strings", "no", "yes"))
	if e, err = treeEnsemble(n, 1); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Labels, []string{"no", "yes"}) {
		t.Errorf("labels of classlabels_strings [no yes] = %q", e.Labels)
	}
}

// TestTreeAverageBase checks AVERAGE's arithmetic on a regressor: the
// trees' mean plus the base value (not the mean of base and trees).
func TestTreeAverageBase(t *testing.T) {
	nodes := []tnode{
		{4, 0, "LEAF", 0, 0, 0, 0, false},
		{9, 0, "LEAF", 0, 0, 0, 0, false},
		{2, 0, "LEAF", 0, 0, 0, 0, false},
	}
	weights := []tweight{{4, 0, 0, 3}, {9, 0, 0, 6}, {2, 0, 0, 9}}
	n := treeNodeProto(opTreeRegressor, nodes, weights, false, teInt("n_targets", 1), teStr("aggregate_function", "AVERAGE"), teFloats("base_values", 10))
	e, err := treeEnsemble(n, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := tePredictBoth(t, e, []float64{0}); got[0] != 16 {
		t.Errorf("AVERAGE of leaves 3, 6, 9 with base 10 = %v, want 16", got[0])
	}
	if e.Trees.Divide != 3 {
		t.Errorf("Divide = %v, want 3 (trees)", e.Trees.Divide)
	}
}

// TestTreeEqExpansion checks that nested BRANCH_EQ splits copy their false
// subtrees (a chain of k doubles per level: 2^k copies of its end), and
// that the copies are bounded.
func TestTreeEqExpansion(t *testing.T) {
	chain := func(k int64) ([]tnode, []tweight) {
		var nodes []tnode
		var weights []tweight
		for i := int64(0); i < k; i++ {
			nodes = append(nodes, tnode{0, i, "BRANCH_EQ", 0, float64(i), 100 + i, i + 1, false})
			nodes = append(nodes, tnode{0, 100 + i, "LEAF", 0, 0, 0, 0, false})
			weights = append(weights, tweight{0, 100 + i, 0, float64(i + 1)})
		}
		nodes = append(nodes, tnode{0, k, "LEAF", 0, 0, 0, 0, false})
		return nodes, append(weights, tweight{0, k, 0, -1})
	}
	nodes, weights := chain(12)
	e, err := treeEnsemble(treeNodeProto(opTreeRegressor, nodes, weights, false, teInt("n_targets", 1)), 1)
	if err != nil {
		t.Fatal(err)
	}
	// N(k) = 2 splits + the true leaf + 2 N(k-1), N(0) = 1: 2^(k+2) - 3.
	if got, want := len(e.Trees.Forest.Nodes), 1<<14-3; got != want {
		t.Errorf("12 nested BRANCH_EQ: %d nodes laid out, want %d", got, want)
	}
	rows := []float64{math.NaN(), -1, 0.5, 12, 13}
	for i := 0; i < 12; i++ {
		rows = append(rows, float64(i), float64(math.Nextafter32(float32(i), 100)))
	}
	got := tePredictBoth(t, e, rows)
	for i, x := range rows {
		if want := teORTScores(nodes, weights, 1, []float64{x}, false)[0]; got[i] != want {
			t.Errorf("12 nested BRANCH_EQ, x=%v: got %v, want %v", x, got[i], want)
		}
	}
	// 30 levels would copy 2^30 nodes: refused.
	nodes, weights = chain(30)
	_, err = treeEnsemble(treeNodeProto(opTreeRegressor, nodes, weights, false, teInt("n_targets", 1)), 1)
	want := "tree 0: copying out BRANCH_EQ/BRANCH_NEQ splits and shared subtrees adds more than 1048576 nodes to the ensemble"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("30 nested BRANCH_EQ: error %v, want %q", err, want)
	}
}

// TestTreeRefusals asserts each refusal's message.
func TestTreeRefusals(t *testing.T) {
	nodes := []tnode{{0, 0, "BRANCH_LEQ", 1, 0.5, 1, 2, false}, {0, 1, "LEAF", 0, 0, 0, 0, false}, {0, 2, "LEAF", 0, 0, 0, 0, false}}
	w1 := []tweight{{0, 1, 0, 0.5}, {0, 2, 0, 0.25}}
	reg := func(nodes []tnode, w []tweight, extra ...attribute) *nodeProto {
		return treeNodeProto(opTreeRegressor, nodes, w, false, append([]attribute{teInt("n_targets", 1)}, extra...)...)
	}
	cls := func(nodes []tnode, w []tweight, extra ...attribute) *nodeProto {
		return treeNodeProto(opTreeClassifier, nodes, w, false, append([]attribute{teInts("classlabels_int64s", 0, 1)}, extra...)...)
	}
	with := func(i int, f func(*tnode)) []tnode {
		c := slices.Clone(nodes)
		f(&c[i])
		return c
	}
	drop := func(n *nodeProto, name string) *nodeProto {
		n.attrs = slices.DeleteFunc(n.attrs, func(a attribute) bool { return a.name == name })
		return n
	}
	set := func(n *nodeProto, a attribute) *nodeProto {
		for i := range n.attrs {
			if n.attrs[i].name == a.name {
				n.attrs[i] = a
				return n
			}
		}
		n.attrs = append(n.attrs, a)
		return n
	}
	both := []tweight{{0, 1, 0, 0.5}, {0, 1, 1, 0.5}, {0, 2, 0, 0.25}, {0, 2, 1, 0.75}}
	const pre = `node "te" (op ai.onnx.ml.`
	cases := []struct {
		name string
		n    *nodeProto
		nf   int
		want string
	}{
		{"wrong op", &nodeProto{name: "te", opType: "TreeEnsemble", domain: mlDomain}, 2,
			pre + `TreeEnsemble): not a ai.onnx.ml TreeEnsembleClassifier or TreeEnsembleRegressor`},
		{"no features", reg(nodes, w1), 0, pre + `TreeEnsembleRegressor): the input has 0 features, want at least 1`},
		{"unknown attribute", reg(nodes, w1, teInt("tree_roots", 0)), 2, `attribute "tree_roots" is not one of TreeEnsembleRegressor's (known: aggregate_function, base_values,`},
		{"classifier attribute on a regressor", reg(nodes, w1, teInts("classlabels_int64s", 0, 1)), 2, `attribute "classlabels_int64s" is not one of TreeEnsembleRegressor's`},
		{"aggregate_function on a classifier", cls(nodes, w1, teStr("aggregate_function", "SUM")), 2, `attribute "aggregate_function" is not one of TreeEnsembleClassifier's`},
		{"attribute type", set(reg(nodes, w1), teFloats("n_targets", 1)), 2, `attribute n_targets has type FLOATS, want INT`},
		{"unknown attribute type", set(reg(nodes, w1), attribute{name: "n_targets", typ: 11, hasI: true}), 2, `attribute n_targets has type 11, want INT`},
		{"attribute twice", reg(nodes, w1, teInt("n_targets", 1)), 2, `attribute n_targets is set twice`},
		{"values and values_as_tensor", reg(nodes, w1, teDoubles("nodes_values", 0.5, 0, 0)), 2, `both nodes_values and nodes_values_as_tensor are set; the spec allows one`},
		{"no nodes", drop(reg(nodes, w1), "nodes_treeids"), 2, `attribute nodes_treeids is empty: the ensemble has no nodes`},
		{"short list", set(reg(nodes, w1), teInts("nodes_falsenodeids", 2, 0)), 2, `attribute nodes_falsenodeids has 2 values, nodes_treeids 3; want one per node`},
		{"short missing tracks", set(reg(nodes, w1), teInts("nodes_missing_value_tracks_true", 0)), 2, `attribute nodes_missing_value_tracks_true has 1 values for 3 nodes`},
		{"missing track 2", set(reg(nodes, w1), teInts("nodes_missing_value_tracks_true", 2, 0, 0)), 2, `tree 0 node 0: nodes_missing_value_tracks_true is 2, want 0 or 1`},
		{"NaN threshold", reg(with(0, func(n *tnode) { n.val = math.NaN() }), w1), 2, `attribute nodes_values[0] is NaN`},
		{"infinite weight", reg(nodes, []tweight{{0, 1, 0, math.Inf(1)}}), 2, `attribute target_weights[0] is +Inf`},
		{"duplicate node", reg(with(2, func(n *tnode) { n.id = 1 }), w1[:1]), 2, `tree 0 node 1 is listed twice`},
		{"unknown mode", reg(with(0, func(n *tnode) { n.mode = "MEMBER" }), w1), 2, `tree 0 node 0: unknown mode "MEMBER" (known: BRANCH_LEQ,`},
		{"feature out of range", reg(nodes, w1), 1, `tree 0 node 0 splits on feature 1, but the input has 1 features`},
		{"negative feature", reg(with(0, func(n *tnode) { n.feat = -1 }), w1), 2, `tree 0 node 0 splits on feature -1`},
		{"dangling child", reg(with(0, func(n *tnode) { n.no = 7 }), w1), 2, `tree 0 node 0: false child 7 does not exist in tree 0`},
		{"cycle", reg(with(2, func(n *tnode) { n.mode, n.yes, n.no = "BRANCH_LT", 0, 1 }), w1[:1]), 2, `tree 0: node 0 is its own descendant (the tree has a cycle)`},
		{"unreachable node", reg(append(slices.Clone(nodes), tnode{0, 3, "LEAF", 0, 0, 0, 0, false}), w1), 2, `tree 0: node 3 is not reachable from the tree's first node 0`},
		{"tree in two runs", reg(append(append(slices.Clone(nodes[:1]), tnode{1, 0, "LEAF", 0, 0, 0, 0, false}), nodes[1:]...), w1), 2, `the nodes of tree 0 are not listed together (node 1 follows other trees' nodes)`},
		{"weight lists differ", set(reg(nodes, w1), teInts("target_ids", 0)), 2, `attributes target_treeids, target_nodeids, target_ids and target_weights have 2, 2, 1 and 2 values`},
		{"weight on missing node", reg(nodes, []tweight{{0, 9, 0, 1}}), 2, `target_weights[0] is for tree 0 node 9, which does not exist`},
		{"weight on a branch", reg(nodes, []tweight{{0, 0, 0, 1}}), 2, `target_weights[0] is for tree 0 node 0, a BRANCH_LEQ node, not a leaf`},
		{"target out of range", reg(nodes, []tweight{{0, 1, 1, 1}}), 2, `target_ids[0] (tree 0 node 1) is target 1, out of range [0,1)`},
		{"class out of range", cls(nodes, []tweight{{0, 1, 2, 1}}), 2, `class_ids[0] (tree 0 node 1) is class 2, out of range [0,2)`},
		{"no n_targets", drop(reg(nodes, w1), "n_targets"), 2, `attribute n_targets is missing`},
		{"n_targets 0", set(reg(nodes, w1), teInt("n_targets", 0)), 2, `n_targets is 0, want a positive number`},
		{"n_targets too large", set(reg(nodes, w1), teInt("n_targets", 1<<16+1)), 2, `n_targets is 65537, want a positive number up to 65536`},
		{"MIN", reg(nodes, w1, teStr("aggregate_function", "MIN")), 2, `aggregate_function MIN is not supported: predictd's forests add their trees (supported: SUM, AVERAGE)`},
		{"MAX", reg(nodes, w1, teStr("aggregate_function", "MAX")), 2, `aggregate_function MAX is not supported`},
		{"unknown aggregate", reg(nodes, w1, teStr("aggregate_function", "MEDIAN")), 2, `aggregate_function "MEDIAN" is unknown (supported: SUM, AVERAGE)`},
		{"PROBIT regressor", reg(nodes, w1, teStr("post_transform", "PROBIT")), 2, `post_transform PROBIT is not supported: predictd has no such link (supported: NONE, LOGISTIC, SOFTMAX)`},
		{"LOGISTIC one target", reg(nodes, w1, teStr("post_transform", "LOGISTIC")), 2, `post_transform LOGISTIC with n_targets 1 is ambiguous (ONNX Runtime ignores it for one target); use NONE`},
		{"regressor base count", reg(nodes, w1, teFloats("base_values", 1, 2)), 2, `base_values has 2 values for n_targets 1; want 1, or none`},
		{"unknown post", reg(nodes, w1, teStr("post_transform", "EXP")), 2, `post_transform "EXP" is unknown`},
		{"PROBIT classifier", cls(nodes, w1, teStr("post_transform", "PROBIT")), 2, `post_transform PROBIT is not supported: predictd has no such link`},
		{"SOFTMAX_ZERO classifier", cls(nodes, w1, teStr("post_transform", "SOFTMAX_ZERO")), 2, `post_transform SOFTMAX_ZERO is not supported`},
		{"no labels", drop(cls(nodes, w1), "classlabels_int64s"), 2, `neither classlabels_int64s nor classlabels_strings is set; the spec requires one`},
		{"both labels", cls(nodes, w1, teStrs("classlabels_strings", "a", "b")), 2, `both classlabels_int64s and classlabels_strings are set; the spec allows one`},
		{"one label", set(cls(nodes, w1), teInts("classlabels_int64s", 0)), 2, `1 class label(s), want at least 2`},
		{"no class weights", cls(nodes, nil), 2, `no class has weights (class_ids is empty)`},
		{"one class, negative weight, NONE", cls(nodes, []tweight{{0, 1, 0, -0.5}}), 2, `post_transform NONE with weights for one class, some negative: ONNX Runtime then outputs |score| as the probability of "1"; use LOGISTIC for margins`},
		{"one class, SOFTMAX", cls(nodes, w1, teStr("post_transform", "SOFTMAX")), 2, `post_transform SOFTMAX with weights for one class only is ambiguous`},
		{"one class, two base values", cls(nodes, w1, teFloats("base_values", 0, 1)), 2, `base_values has 2 values but only class 0 has weights; ONNX Runtime then outputs a constant probability for "1"`},
		{"class 1 only, one base value", cls(nodes, []tweight{{0, 1, 1, 0.5}}, teFloats("base_values", 1)), 2, `base_values has 1 value and only class 1 has weights; ONNX Runtime adds it to class 0's score`},
		{"one class, three base values", cls(nodes, w1, teFloats("base_values", 0, 1, 2)), 2, `base_values has 3 values for 2 classes`},
		{"both classes, nonzero base values", cls(nodes, both, teFloats("base_values", 0, 1)), 2, `base_values [0 1] with weights for both classes: ONNX Runtime 1.x scores class 1 as base_values[1] plus class 0's weights`},
		{"both classes, one base value", cls(nodes, both, teFloats("base_values", 1)), 2, `base_values has 1 values for 2 classes with weights for both; want 2, or none`},
		{"multiclass base count", set(cls(nodes, w1, teFloats("base_values", 1)), teInts("classlabels_int64s", 0, 1, 2)), 2, `base_values has 1 values for 3 classes; want 3, or none`},
		{"string attribute without value", reg(nodes, w1, attribute{name: "post_transform", typ: atString}), 2, `attribute post_transform has no string value`},
		{"tensor attribute without value", set(drop(reg(nodes, w1), "target_weights"), attribute{name: "target_weights_as_tensor", typ: atTensor}), 2, `attribute target_weights_as_tensor has no tensor value`},
	}
	for _, c := range cases {
		_, err := treeEnsemble(c.n, c.nf)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), pre) {
			t.Errorf("%s: error %q does not start by naming the node (%q)", c.name, err, pre)
		}
	}
}

// TestTreeMissingTracks checks HistGradientBoosting's layout: NaN follows
// nodes_missing_value_tracks_true per node (to the true branch when 1),
// under each mode's default otherwise.
func TestTreeMissingTracks(t *testing.T) {
	for _, tracks := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
		nodes := []tnode{
			{0, 0, "BRANCH_LEQ", 0, 1, 1, 2, tracks[0]},
			{0, 1, "LEAF", 0, 0, 0, 0, false},
			{0, 2, "BRANCH_GT", 1, -1, 3, 4, tracks[1]},
			{0, 3, "LEAF", 0, 0, 0, 0, false},
			{0, 4, "LEAF", 0, 0, 0, 0, false},
		}
		weights := []tweight{{0, 1, 0, 1}, {0, 3, 0, 2}, {0, 4, 0, 3}}
		e, err := treeEnsemble(treeNodeProto(opTreeRegressor, nodes, weights, false, teInt("n_targets", 1)), 2)
		if err != nil {
			t.Fatal(err)
		}
		nan := math.NaN()
		rows := [][]float64{{nan, nan}, {nan, 0}, {nan, -2}, {0, nan}, {2, nan}}
		for _, row := range rows {
			got := tePredictBoth(t, e, row)[0]
			want := teORTScores(nodes, weights, 1, row, false)[0]
			if got != want {
				t.Errorf("tracks %v row %v: got %v, want %v", tracks, row, got, want)
			}
		}
	}
}

// encodeTreeNode writes n as a NodeProto, for fuzz seeds.
func encodeTreeNode(n *nodeProto) []byte {
	var m pb
	for _, s := range n.inputs {
		m = m.str(1, s)
	}
	m = m.str(3, n.name).str(4, n.opType)
	for _, a := range n.attrs {
		var e pb
		switch a.typ {
		case atInt:
			e = attrI(a.name, a.i)
		case atString:
			e = attrS(a.name, a.s)
		case atInts:
			e = attrInts(a.name, a.ints...)
		case atFloats:
			e = attrFloats(a.name, a.floats...)
		case atStrings:
			e = attrStrings(a.name, a.strings...)
		case atTensor:
			e = attrT(a.name, tensorD("", a.t.dims, a.t.doubleData...))
		default:
			panic(a.typ)
		}
		m = m.bytes(5, e)
	}
	return m.str(7, n.domain)
}

// FuzzTreeEnsemble decodes a NodeProto and converts it: the conversion
// either fails naming the node or gives a valid forest whose FastForest
// agrees bit for bit with the reference walk.
func FuzzTreeEnsemble(f *testing.F) {
	nodes := []tnode{{0, 0, "BRANCH_LEQ", 1, 0.5, 1, 2, true}, {0, 1, "LEAF", 0, 0, 0, 0, false},
		{0, 2, "BRANCH_EQ", 0, 1, 3, 4, false}, {0, 3, "LEAF", 0, 0, 0, 0, false}, {0, 4, "LEAF", 0, 0, 0, 0, false},
		{1, 0, "BRANCH_NEQ", 0, -1, 1, 1, false}, {1, 1, "LEAF", 0, 0, 0, 0, false}}
	weights := []tweight{{0, 1, 0, 1}, {0, 3, 1, 2}, {0, 4, 0, -1}, {1, 1, 1, 0.5}}
	f.Add(encodeTreeNode(treeNodeProto(opTreeRegressor, nodes, weights, false, teInt("n_targets", 2), teStr("aggregate_function", "AVERAGE"), teFloats("base_values", 1, 2))), uint8(1), false)
	f.Add(encodeTreeNode(treeNodeProto(opTreeRegressor, nodes, weights, true, teInt("n_targets", 2), teStr("post_transform", "SOFTMAX"))), uint8(1), true)
	f.Add(encodeTreeNode(treeNodeProto(opTreeClassifier, nodes, weights, false, teInts("classlabels_int64s", 0, 1), teStr("post_transform", "SOFTMAX"))), uint8(1), false)
	f.Add(encodeTreeNode(treeNodeProto(opTreeClassifier, nodes, weights, true, teStrs("classlabels_strings", "a", "b", "c"))), uint8(1), true)
	for _, name := range []string{"gb_classifier_binary", "hgb_regressor"} {
		n, width := findTreeEnsemble(f, fixture.Path("onnx", "sklearn", name+".onnx"))
		f.Add(encodeTreeNode(n), uint8(width-1), false)
	}
	vals := []float64{math.NaN(), -1, 0, 0.5, 1, 2, math.Inf(1), -0.25}
	f.Fuzz(func(t *testing.T, b []byte, nf uint8, double bool) {
		n, err := decodeNode(b)
		if err != nil {
			return
		}
		width := int(nf%8) + 1
		convert := treeEnsemble
		if double {
			convert = treeEnsembleDouble
		}
		e, err := convert(&n, width)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "node ") {
				t.Fatalf("error %q does not name the node", err)
			}
			return
		}
		if err := e.Trees.Validate(); err != nil {
			t.Fatalf("converted ensemble does not validate: %v", err)
		}
		var rows []float64
		for r := 0; r < 16; r++ {
			for j := 0; j < width; j++ {
				rows = append(rows, vals[(r*7+j*3)%len(vals)])
			}
		}
		tePredictBoth(t, e, rows)
	})
}
