package lightgbm

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// errBase is a valid model; each case below breaks one thing in it. Its
// line numbers, which the messages must name:
//
//	 1 tree                          12 Tree=0             27 Tree=1
//	 2 version=v4                    13 num_leaves=3       28 num_leaves=1
//	 3 num_class=1                   14 num_cat=1          29 num_cat=0
//	 4 num_tree_per_iteration=1      15 split_feature=1 0  30 leaf_value=0.5
//	 5 label_index=0                 16 threshold=0 0.5    31 shrinkage=1
//	 6 max_feature_idx=1             17 decision_type=1 2  32
//	 7 objective=binary sigmoid:1    18 left_child=-1 -2   33
//	 8 feature_names=a b             19 right_child=1 -3   34 end of trees
//	 9 feature_infos=[0:1] 1:2:3     20 leaf_value=...     35
//	10 tree_sizes=200 59             21 cat_boundaries=0 1 36 parameters:
//	11                               22 cat_threshold=6    37 [boosting: gbdt]
//	                                 23 is_linear=0        38 end of parameters
//	                                 24 shrinkage=1
const errBase = `tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=binary sigmoid:1
feature_names=a b
feature_infos=[0:1] 1:2:3
tree_sizes=200 59

Tree=0
num_leaves=3
num_cat=1
split_feature=1 0
threshold=0 0.5
decision_type=1 2
left_child=-1 -2
right_child=1 -3
leaf_value=0.1 0.2 0.3
cat_boundaries=0 1
cat_threshold=6
is_linear=0
shrinkage=1


Tree=1
num_leaves=1
num_cat=0
leaf_value=0.5
shrinkage=1


end of trees

parameters:
[boosting: gbdt]
end of parameters
`

// linearFields replace errBase's "is_linear=0" line to make tree 0 linear,
// laid out as LightGBM's Tree::ToString writes them: each leaf's terms then
// two spaces, a single space for a leaf without terms.
const linearFields = "is_linear=1\n" +
	"leaf_const=0.5 1 -2\n" +
	"num_features=1 0 2\n" +
	"leaf_features=1   0 1  \n" +
	"leaf_coeff=0.5   -1 0.25  \n"

// withTreeSizes sets the tree_sizes line of a model to its blocks' sizes,
// as LightGBM would have written them: each block runs from its Tree= line
// to the next Tree= line or "end of trees".
func withTreeSizes(s string) string {
	var starts []int
	for i := 0; ; {
		j := strings.Index(s[i:], "\nTree=")
		if j < 0 {
			break
		}
		i += j + 1
		starts = append(starts, i)
	}
	starts = append(starts, strings.Index(s, "end of trees"))
	sizes := make([]string, len(starts)-1)
	for k := range sizes {
		sizes[k] = fmt.Sprint(starts[k+1] - starts[k])
	}
	i := strings.Index(s, "\ntree_sizes=") + 1
	j := i + strings.Index(s[i:], "\n")
	return s[:i] + "tree_sizes=" + strings.Join(sizes, " ") + s[j:]
}

func TestErrBaseParses(t *testing.T) {
	mustParse(t, "errBase", []byte(errBase))
	if got := withTreeSizes(errBase); got != errBase {
		t.Fatalf("withTreeSizes(errBase) changes it:\n%s", got)
	}
	_, tr := mustParse(t, "errBase, linear", []byte(withTreeSizes(strings.Replace(errBase, "is_linear=0\n", linearFields, 1))))
	if got := len(tr.Forest.LinConst); got != 3 {
		t.Errorf("linear errBase has %d linear models, want 3", got)
	}
}

// TestHugeNumClass: num_class=1000000000 in a small file is refused before
// anything is allocated per class (8 GB of margins' bases, once).
func TestHugeNumClass(t *testing.T) {
	in := strings.Replace(errBase, "num_class=1\nnum_tree_per_iteration=1", "num_class=1000000000\nnum_tree_per_iteration=1000000000", 1)
	in = strings.Replace(in, "objective=binary sigmoid:1", "objective=multiclass", 1)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Parse([]byte(in))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "line 4: num_tree_per_iteration = 1000000000") {
		t.Errorf("Parse error = %v, want it to name num_tree_per_iteration on line 4", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("Parse allocated %d bytes, want under 16 MiB", got)
	}
}

// TestErrors checks that each malformed input is refused with a message
// naming the line, and inside a tree the Tree=N block and field.
func TestErrors(t *testing.T) {
	cut := func(at string) func(string) string {
		return func(s string) string { return s[:strings.Index(s, at)] }
	}
	// lin makes tree 0 of errBase linear (leaf 0: 0.5 + 0.5·b; leaf 1: 1,
	// without terms; leaf 2: −2 − a + 0.25·b), then replaces old with new.
	lin := func(old, new string) func(string) string {
		return func(s string) string {
			s = strings.Replace(s, "is_linear=0\n", linearFields, 1)
			if !strings.Contains(s, old) {
				panic(fmt.Sprintf("linear errBase has no %q", old))
			}
			return strings.Replace(s, old, new, 1)
		}
	}
	cases := []struct {
		name string
		old  string // replaced by new in errBase; "" leaves errBase as is
		new  string
		edit func(string) string // applied after the replacement
		want string
	}{
		// Header.
		{name: "empty file", edit: func(string) string { return "" }, want: `line 1: got "", want "tree": not a LightGBM text model`},
		{name: "json dump", old: "tree\nversion", new: "{\"name\":\"tree\",\nversion", want: `line 1: got "{\"name\":\"tree\",", want "tree"`},
		{name: "version", old: "version=v4", new: "version=v5", want: `line 2: version: "v5" is not a model format this importer reads (want v2, v3 or v4)`},
		{name: "no version", old: "version=v4\n", new: "", want: "line 11: the header has no version= line"},
		{name: "num_class", old: "num_class=1", new: "num_class=0", want: "line 3: num_class = 0 is out of range [1, 2147483647]"},
		{name: "num_tree_per_iteration", old: "num_tree_per_iteration=1", new: "num_tree_per_iteration=one", want: `line 4: num_tree_per_iteration: "one" is not an integer`},
		{name: "label_index", old: "label_index=0", new: "label_index=", want: `line 5: label_index: "" is not an integer`},
		{name: "max_feature_idx", old: "max_feature_idx=1", new: "max_feature_idx=x", want: `line 6: max_feature_idx: "x" is not an integer`},
		{name: "max_feature_idx negative", old: "max_feature_idx=1", new: "max_feature_idx=-1", want: "line 6: max_feature_idx = -1 is out of range"},
		{name: "no max_feature_idx", old: "max_feature_idx=1\n", new: "", want: "line 11: the header has no max_feature_idx= line"},
		{name: "feature_names count", old: "feature_names=a b", new: "feature_names=a b c", want: "line 8: feature_names has 3 names, want max_feature_idx+1 = 2 (line 6)"},
		{name: "feature_names twice", old: "feature_names=a b", new: "feature_names=a a", want: `line 8: feature_names: "a" is both feature 0 and feature 1`},
		{name: "no feature_names", old: "feature_names=a b\n", new: "", want: "line 11: the header has no feature_names= line"},
		{name: "feature_infos count", old: "feature_infos=[0:1] 1:2:3", new: "feature_infos=[0:1]", want: "line 9: feature_infos has 1 entries, want max_feature_idx+1 = 2 (line 6)"},
		{name: "duplicate header key", old: "label_index=0\n", new: "label_index=0\nlabel_index=0\n", want: `line 6: "label_index" appears twice (first on line 5)`},
		{name: "unknown objective", old: "objective=binary sigmoid:1", new: "objective=foo bar:1", want: `line 7: objective: unknown objective "foo"`},
		{name: "custom objective", old: "objective=binary sigmoid:1", new: "objective=custom", want: `line 7: objective: unknown objective "custom"`},
		{name: "no objective", old: "objective=binary sigmoid:1\n", new: "", want: "line 11: the header has no objective= line"},
		{name: "empty objective", old: "objective=binary sigmoid:1", new: "objective=", want: "line 7: objective is empty"},
		{name: "sigmoid 0", old: "binary sigmoid:1", new: "binary sigmoid:0", want: `line 7: objective: sigmoid:"0" is not a positive number`},
		{name: "sigmoid junk", old: "binary sigmoid:1", new: "binary sigmoid:x", want: `line 7: objective: sigmoid:"x" is not a positive number`},
		{name: "binary with 2 trees per iteration", old: "num_tree_per_iteration=1", new: "num_tree_per_iteration=2",
			want: "line 7: objective binary has one output, but num_tree_per_iteration = 2 (line 4); want 1"},
		{name: "multiclass with one class", old: "objective=binary sigmoid:1", new: "objective=multiclass num_class:1",
			want: "line 7: objective multiclass needs num_class >= 2 and num_tree_per_iteration = num_class, header has num_class = 1 and num_tree_per_iteration = 1 (line 4)"},
		{name: "multiclass num_class disagrees", old: "num_class=1\nnum_tree_per_iteration=1", new: "num_class=2\nnum_tree_per_iteration=2",
			edit: func(s string) string {
				return strings.Replace(s, "objective=binary sigmoid:1", "objective=multiclass num_class:3", 1)
			},
			want: "line 7: objective: num_class:3 disagrees with num_class = 2 on line 3"},
		{name: "trees not a multiple of num_tree_per_iteration", old: "num_class=1\nnum_tree_per_iteration=1", new: "num_class=2\nnum_tree_per_iteration=2",
			edit: func(s string) string {
				s = strings.Replace(s, "objective=binary sigmoid:1", "objective=multiclass num_class:2", 1)
				// A third tree, a copy of Tree=1.
				t1 := s[strings.Index(s, "Tree=1"):strings.Index(s, "end of trees")]
				s = strings.Replace(s, "end of trees", strings.Replace(t1, "Tree=1", "Tree=2", 1)+"end of trees", 1)
				return withTreeSizes(s)
			},
			want: "line 41: the file has 3 trees, not a multiple of num_tree_per_iteration = 2"},
		{name: "tree_sizes junk", old: "tree_sizes=200 59", new: "tree_sizes=200 x", want: `line 10: tree_sizes[1]: "x" is not a positive integer`},
		{name: "header only", edit: cut("\nTree=0"), want: "line 10: file ends in the header, before any Tree= block"},

		// Tree block structure.
		{name: "tree index", old: "Tree=1", new: "Tree=one", want: `line 27: "Tree=one": the tree index is not a non-negative integer`},
		{name: "not key=value", old: "num_cat=0\nleaf_value=0.5", new: "num_cat=0\nbogus\nleaf_value=0.5", want: `line 30: Tree=1: "bogus" is not a key=value line`},
		{name: "duplicate tree key", old: "num_cat=0\n", new: "num_cat=0\nnum_cat=0\n", want: `line 30: Tree=1: "num_cat" appears twice (first on line 29)`},
		{name: "junk between trees", old: "\n\nTree=1", new: "\n\nhello\nTree=1", want: `line 27: got "hello" between trees, want Tree=N or "end of trees"`},
		{name: "no num_leaves", old: "num_leaves=3\n", new: "", want: "line 12: Tree=0: no num_leaves line"},
		{name: "num_leaves 0", old: "num_leaves=3", new: "num_leaves=0", want: "line 13: Tree=0: num_leaves = 0 is out of range [1, 2147483647]"},
		{name: "num_leaves junk", old: "num_leaves=3", new: "num_leaves=3.0", want: `line 13: Tree=0: num_leaves: "3.0" is not an integer`},
		{name: "no threshold", old: "threshold=0 0.5\n", new: "", want: "line 12: Tree=0: no threshold line"},
		{name: "no leaf_value", old: "leaf_value=0.5\n", new: "", want: "line 27: Tree=1: no leaf_value line"},

		// Field lengths and values.
		{name: "split_feature short", old: "split_feature=1 0", new: "split_feature=1", want: "line 15: Tree=0: split_feature has 1 values, want num_leaves-1 = 2"},
		{name: "split_feature junk", old: "split_feature=1 0", new: "split_feature=1 a", want: `line 15: Tree=0: split_feature[1]: "a" is not a 32-bit integer`},
		{name: "split_feature past max_feature_idx", old: "split_feature=1 0", new: "split_feature=1 2", want: "line 15: Tree=0: split_feature[1] = 2 is past max_feature_idx = 1"},
		{name: "split_feature negative", old: "split_feature=1 0", new: "split_feature=1 -1", want: "line 15: Tree=0: split_feature[1] = -1 is negative"},
		{name: "threshold NaN", old: "threshold=0 0.5", new: "threshold=0 nan", want: "line 16: Tree=0: threshold[1] is NaN"},
		{name: "threshold junk", old: "threshold=0 0.5", new: "threshold=0 0.5.1", want: `line 16: Tree=0: threshold[1]: "0.5.1" is not a number`},
		{name: "threshold overflow", old: "threshold=0 0.5", new: "threshold=0 1e999", want: `line 16: Tree=0: threshold[1]: "1e999" is out of float64 range`},
		{name: "decision_type long", old: "decision_type=1 2", new: "decision_type=1 2 2", want: "line 17: Tree=0: decision_type has 3 values, want num_leaves-1 = 2"},
		{name: "missing type 3", old: "decision_type=1 2", new: "decision_type=1 14", want: "line 17: Tree=0: decision_type[1] = 14 has missing type 3, which LightGBM does not define"},
		{name: "decision_type bits", old: "decision_type=1 2", new: "decision_type=1 16", want: "line 17: Tree=0: decision_type[1] = 16 sets bits LightGBM does not define (want 0..15)"},
		{name: "left_child past internal nodes", old: "left_child=-1 -2", new: "left_child=-1 2", want: "line 18: Tree=0: left_child[1] = 2 refers to internal node 2, but the tree has 2 (num_leaves-1)"},
		{name: "right_child past leaves", old: "right_child=1 -3", new: "right_child=1 -4", want: "line 19: Tree=0: right_child[1] = -4 refers to leaf 3, but the tree has 3 (num_leaves)"},
		{name: "cycle to the root", old: "right_child=1 -3", new: "right_child=1 0", want: "line 19: Tree=0: right_child[1] = 0 refers to node 0, the root"},
		{name: "shared leaf", old: "left_child=-1 -2", new: "left_child=-1 -1", want: "line 18: Tree=0: left_child[1] = -1 refers to leaf 0, already the child of node 0 (left_child[0])"},
		{name: "shared node", old: "left_child=-1 -2", new: "left_child=1 -2", want: "line 19: Tree=0: right_child[0] = 1 refers to node 1, already the child of node 0 (left_child[0])"},
		{name: "self loop", old: "left_child=-1 -2", new: "left_child=-1 1", want: "line 18: Tree=0: left_child[1] = 1 refers to node 1, already the child of node 0 (right_child[0])"},
		{name: "leaf_value count", old: "leaf_value=0.1 0.2 0.3", new: "leaf_value=0.1 0.2", want: "line 20: Tree=0: leaf_value has 2 values, want num_leaves = 3"},
		{name: "leaf_value NaN", old: "leaf_value=0.1 0.2 0.3", new: "leaf_value=0.1 NaN 0.3", want: "line 20: Tree=0: leaf_value[1] = NaN is not a finite number"},
		{name: "leaf_value inf", old: "leaf_value=0.1 0.2 0.3", new: "leaf_value=0.1 0.2 -inf", want: "line 20: Tree=0: leaf_value[2] = -Inf is not a finite number"},
		{name: "leaf_value junk", old: "leaf_value=0.5", new: "leaf_value=0,5", want: `line 30: Tree=1: leaf_value[0]: "0,5" is not a number`},

		// Categorical splits.
		{name: "num_cat mismatch", old: "num_cat=1", new: "num_cat=2", want: "line 21: Tree=0: cat_boundaries has 2 values, want num_cat+1 = 3"},
		{name: "num_cat 0 with a categorical split", old: "num_cat=1", new: "num_cat=0", want: "line 16: Tree=0: threshold[0] = 0 is not a category set index in [0, num_cat = 0)"},
		{name: "category set index", old: "threshold=0 0.5", new: "threshold=1 0.5", want: "line 16: Tree=0: threshold[0] = 1 is not a category set index in [0, num_cat = 1)"},
		{name: "fractional category set index", old: "threshold=0 0.5", new: "threshold=0.5 0.5", want: "line 16: Tree=0: threshold[0] = 0.5 is not a category set index"},
		{name: "cat_boundaries past cat_threshold", old: "cat_boundaries=0 1", new: "cat_boundaries=0 2", want: "line 22: Tree=0: cat_threshold has 1 values, want cat_boundaries[1] = 2"},
		{name: "cat_boundaries start", old: "cat_boundaries=0 1", new: "cat_boundaries=1 1", want: "line 21: Tree=0: cat_boundaries[0] = 1, want 0"},
		{name: "cat_boundaries decreasing", old: "num_cat=1", new: "num_cat=2", edit: func(s string) string {
			return strings.Replace(s, "cat_boundaries=0 1", "cat_boundaries=0 1 0", 1)
		}, want: "line 21: Tree=0: cat_boundaries[2] = 0 is less than cat_boundaries[1] = 1"},
		{name: "no cat_boundaries", old: "cat_boundaries=0 1\n", new: "", want: "line 12: Tree=0: no cat_boundaries line"},
		{name: "cat_threshold negative", old: "cat_threshold=6", new: "cat_threshold=-6", want: `line 22: Tree=0: cat_threshold[0]: "-6" is not a 32-bit unsigned integer`},
		{name: "cat_threshold too big", old: "cat_threshold=6", new: "cat_threshold=4294967296", want: `line 22: Tree=0: cat_threshold[0]: "4294967296" is not a 32-bit unsigned integer`},

		// Linear trees. lin makes tree 0 linear, its fields on lines 23-27:
		// 23 is_linear=1, 24 leaf_const, 25 num_features, 26 leaf_features,
		// 27 leaf_coeff; edits then break one of them.
		{name: "is_linear junk", old: "is_linear=0", new: "is_linear=yes", want: `line 23: Tree=0: is_linear: "yes" is not an integer`},
		{name: "is_linear 2", old: "is_linear=0", new: "is_linear=2", want: "line 23: Tree=0: is_linear = 2 is out of range [0, 1]"},
		{name: "linear without leaf_const", old: "is_linear=0", new: "is_linear=1", want: "line 12: Tree=0: no leaf_const line"},
		{name: "linear without num_features", edit: lin("num_features=1 0 2\n", ""), want: "line 12: Tree=0: no num_features line"},
		{name: "linear without leaf_features", edit: lin("leaf_features=1   0 1  \n", ""), want: "line 12: Tree=0: no leaf_features line"},
		{name: "linear without leaf_coeff", edit: lin("leaf_coeff=0.5   -1 0.25  \n", ""), want: "line 12: Tree=0: no leaf_coeff line"},
		{name: "leaf_const count", edit: lin("leaf_const=0.5 1 -2", "leaf_const=0.5 1"), want: "line 24: Tree=0: leaf_const has 2 values, want num_leaves = 3"},
		{name: "leaf_const NaN", edit: lin("leaf_const=0.5 1 -2", "leaf_const=0.5 nan -2"), want: "line 24: Tree=0: leaf_const[1] = NaN is not a finite number"},
		{name: "leaf_const junk", edit: lin("leaf_const=0.5 1 -2", "leaf_const=0.5 1 x"), want: `line 24: Tree=0: leaf_const[2]: "x" is not a number`},
		{name: "num_features count", edit: lin("num_features=1 0 2", "num_features=1 2"), want: "line 25: Tree=0: num_features has 2 values, want num_leaves = 3"},
		{name: "num_features negative", edit: lin("num_features=1 0 2", "num_features=1 -1 2"), want: "line 25: Tree=0: num_features[1] = -1 is negative"},
		{name: "num_features junk", edit: lin("num_features=1 0 2", "num_features=1 0 2.5"), want: `line 25: Tree=0: num_features[2]: "2.5" is not a 32-bit integer`},
		{name: "leaf_features fewer than num_features", edit: lin("leaf_features=1   0 1  ", "leaf_features=1   0  "),
			want: "line 26: Tree=0: leaf_features has 2 values, want the sum of num_features (line 25) = 3"},
		{name: "leaf_features more than num_features", edit: lin("num_features=1 0 2", "num_features=1 0 1"),
			want: "line 26: Tree=0: leaf_features has 3 values, want the sum of num_features (line 25) = 2"},
		{name: "leaf_coeff fewer than num_features", edit: lin("leaf_coeff=0.5   -1 0.25  ", "leaf_coeff=0.5   -1  "),
			want: "line 27: Tree=0: leaf_coeff has 2 values, want the sum of num_features (line 25) = 3"},
		{name: "leaf_features past max_feature_idx", edit: lin("leaf_features=1   0 1  ", "leaf_features=1   0 2  "),
			want: "line 26: Tree=0: leaf_features[2] = 2 is not a feature in [0, max_feature_idx = 1]"},
		{name: "leaf_features negative", edit: lin("leaf_features=1   0 1  ", "leaf_features=-1   0 1  "),
			want: "line 26: Tree=0: leaf_features[0] = -1 is not a feature in [0, max_feature_idx = 1]"},
		{name: "leaf_features junk", edit: lin("leaf_features=1   0 1  ", "leaf_features=1   b 1  "), want: `line 26: Tree=0: leaf_features[1]: "b" is not a 32-bit integer`},
		{name: "leaf_coeff inf", edit: lin("leaf_coeff=0.5   -1 0.25  ", "leaf_coeff=0.5   -1 inf  "), want: "line 27: Tree=0: leaf_coeff[2] = +Inf is not a finite number"},
		{name: "leaf_coeff junk", edit: lin("leaf_coeff=0.5   -1 0.25  ", "leaf_coeff=0.5   - 0.25  "), want: `line 27: Tree=0: leaf_coeff[1]: "-" is not a number`},
		// Tree 1, a single leaf: 30 leaf_value, 31 is_linear, 32 leaf_const.
		{name: "single linear leaf: leaf_const count", old: "leaf_value=0.5\n", new: "leaf_value=0.5\nis_linear=1\nleaf_const=1 2\n",
			want: "line 32: Tree=1: leaf_const has 2 values, want num_leaves = 1"},
		{name: "single linear leaf: num_features count", old: "leaf_value=0.5\n", new: "leaf_value=0.5\nis_linear=1\nleaf_const=1\nnum_features=\nleaf_features=\nleaf_coeff=\n",
			want: "line 33: Tree=1: num_features has 0 values, want num_leaves = 1"},

		// Truncated.
		{name: "no end of trees", edit: cut("end of trees"), want: `line 33: file ends without an "end of trees" line (truncated?)`},
		{name: "ends inside a tree", edit: cut("cat_boundaries"), want: `line 20: file ends inside Tree=0, without an "end of trees" line (truncated?)`},
		{name: "tree_sizes count", old: "tree_sizes=200 59", new: "tree_sizes=200 59 1", want: "line 10: tree_sizes lists 3 trees, but the file has 2 Tree= blocks (truncated or edited?)"},
		{name: "tree dropped", edit: func(s string) string {
			return s[:strings.Index(s, "Tree=1")] + s[strings.Index(s, "end of trees"):]
		}, want: "line 10: tree_sizes lists 2 trees, but the file has 1 Tree= blocks"},
		// Inconsistent headers (issue 12): tree_sizes that do not match the
		// blocks, tree indices out of order, num_class the trees cannot hold.
		{name: "tree_sizes wrong", old: "tree_sizes=200 59", new: "tree_sizes=200 58", want: "line 10: tree_sizes[1] = 58, but the Tree=1 block (line 27) is 59 bytes"},
		{name: "tree_sizes stale after an edit", old: "leaf_value=0.5\n", new: "leaf_value=0.75\n", want: "line 10: tree_sizes[1] = 59, but the Tree=1 block (line 27) is 60 bytes"},
		{name: "tree_sizes swapped", old: "tree_sizes=200 59", new: "tree_sizes=59 200", want: "line 10: tree_sizes[0] = 59, but the Tree=0 block (line 12) is 200 bytes"},
		{name: "Tree=0 twice", old: "Tree=1", new: "Tree=0", want: "line 27: Tree=0, want Tree=1: the trees are numbered 0, 1, 2, ... in file order"},
		{name: "trees out of order", old: "Tree=0", new: "Tree=1", want: "line 12: Tree=1, want Tree=0"},
		{name: "num_class 1e9", old: "num_class=1\nnum_tree_per_iteration=1", new: "num_class=1000000000\nnum_tree_per_iteration=1000000000",
			edit: func(s string) string {
				return strings.Replace(s, "objective=binary sigmoid:1", "objective=multiclass num_class:1000000000", 1)
			},
			want: "line 4: num_tree_per_iteration = 1000000000, but the file has 2 trees, fewer than one iteration's"},
		{name: "num_class 1e9 without num_tree_per_iteration", old: "num_class=1\nnum_tree_per_iteration=1\n", new: "num_class=1000000000\n",
			edit: func(s string) string {
				return strings.Replace(s, "objective=binary sigmoid:1", "objective=multiclass", 1)
			},
			want: "line 3: num_class = 1000000000, but the file has 2 trees, fewer than one iteration's"},
		{name: "num_class with a one-output objective", old: "num_class=1", new: "num_class=1000000000",
			want: "line 3: num_class = 1000000000, but objective binary (line 7) has one output; want 1"},
		{name: "huge objective", old: "objective=binary sigmoid:1", new: "objective=binary " + strings.Repeat("x", 10<<20),
			want: `line 7: objective is 10485767 bytes, more than the 1024 this importer reads: "binary ` + strings.Repeat("x", 64-len("binary ")) + `"... (10485767 bytes)`},
		{name: "huge unknown objective", old: "objective=binary sigmoid:1", new: "objective=" + strings.Repeat("\x1b", 1000),
			want: `line 7: objective: unknown objective "` + strings.Repeat(`\x1b`, 64) + `"... (1000 bytes)`},
		{name: "no trees", edit: func(s string) string {
			return strings.Replace(s[:strings.Index(s, "Tree=0")]+s[strings.Index(s, "end of trees"):], "tree_sizes=200 59\n", "", 1)
		}, want: "line 11: the model has no trees"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := errBase
			if c.old != "" {
				if !strings.Contains(in, c.old) {
					t.Fatalf("errBase has no %q", c.old)
				}
				in = strings.Replace(in, c.old, c.new, 1)
			}
			if c.edit != nil {
				in = c.edit(in)
			}
			imp, err := Parse([]byte(in))
			if err == nil {
				t.Fatalf("Parse succeeded (%s), want error containing %q", imp.Source.Objective, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse error\n got: %v\nwant: ...%s...", err, c.want)
			}
		})
	}
}
