package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
)

// xgboostToLightGBM writes t, a binary XGBoost forest (XGBoost's
// float32(x) < t comparisons, NaN taking each split's default direction,
// logistic link), as a LightGBM text model (format v3, which both
// predictd's importer and leaves read) that makes the same decision at
// every split for every float64 input, so the two libraries' trees do the
// same work on the same rows. Test code only: it exists because LightGBM is
// not installed here to train a model of the same size.
//
// The layout follows LightGBM's GBDT::SaveModelToString and
// Tree::ToString: a header of key=value lines ending in tree_sizes (the
// byte length of each "Tree=i" block), a blank line, the blocks (each
// followed by a blank line), "end of trees", and a short trailer.
//
// Each split becomes LightGBM's x <= thr with thr the largest float64 below
// the exact float64 bound of XGBoost's test (see boundBelow32), decision
// type 8|2·defaultLeft: numerical, missing type NaN, default left as
// XGBoost has it. Leaf values are XGBoost's float32 values, exactly. The
// base margin, if any, is added to the first tree's leaves. Margins then
// differ only by summation: XGBoost adds in float32, LightGBM in float64.
func xgboostToLightGBM(t *model.Trees, names []string) (string, error) {
	f := &t.Forest
	switch {
	case f.Compare != kernels.LessFloat32:
		return "", fmt.Errorf("forest compares with %v, want XGBoost's LessFloat32", f.Compare)
	case f.NumGroups() == 1 && (t.Link != model.LinkSigmoid || t.Scale != 1 || t.Divide != 1):
		return "", fmt.Errorf("link %s scale %v divide %v, want a plain sigmoid", t.Link, t.Scale, t.Divide)
	case f.Weights != nil || len(f.LinConst) != 0:
		return "", fmt.Errorf("forest has tree weights or linear leaves")
	case len(names) != f.NumFeatures:
		return "", fmt.Errorf("%d feature names for %d features", len(names), f.NumFeatures)
	}
	var blocks []string
	for ti, root := range f.Roots {
		end := int32(len(f.Nodes))
		if ti+1 < len(f.Roots) {
			end = f.Roots[ti+1]
		}
		ng := f.NumGroups()
		if int(f.Groups[ti]) != ti%ng {
			return "", fmt.Errorf("tree %d adds to group %d, want %d (LightGBM's order: one tree per class a round)", ti, f.Groups[ti], ti%ng)
		}
		base := 0.0
		if ti < ng {
			base = f.Base[ti]
		}
		body, err := treeText(f, f.Nodes[root:end], root, base)
		if err != nil {
			return "", fmt.Errorf("tree %d: %w", ti, err)
		}
		blocks = append(blocks, fmt.Sprintf("Tree=%d\n%s\n", ti, body))
	}

	pts := model.SplitPoints(f)
	infos := make([]string, f.NumFeatures)
	for j, p := range pts {
		infos[j] = "none"
		if len(p) > 0 {
			infos[j] = fmt.Sprintf("[%s:%s]", g(p[0]), g(p[len(p)-1]))
		}
	}
	sizes := make([]string, len(blocks))
	for i, b := range blocks {
		sizes[i] = strconv.Itoa(len(b))
	}
	var sb strings.Builder
	ng := f.NumGroups()
	objective := "binary sigmoid:1"
	if ng > 1 {
		objective = fmt.Sprintf("multiclass num_class:%d", ng)
	}
	fmt.Fprintf(&sb, "tree\nversion=v3\nnum_class=%d\nnum_tree_per_iteration=%d\nlabel_index=0\n", ng, ng)
	fmt.Fprintf(&sb, "max_feature_idx=%d\nobjective=%s\n", f.NumFeatures-1, objective)
	fmt.Fprintf(&sb, "feature_names=%s\nfeature_infos=%s\n", strings.Join(names, " "), strings.Join(infos, " "))
	fmt.Fprintf(&sb, "tree_sizes=%s\n\n", strings.Join(sizes, " "))
	for _, b := range blocks {
		sb.WriteString(b)
	}
	sb.WriteString("end of trees\n\nfeature_importances:\n\nparameters:\n[boosting: gbdt]\n[objective: binary]\nend of parameters\n\npandas_categorical:null\n")
	return sb.String(), nil
}

// treeText writes one tree of f, nodes in predictd's pre-order layout (a
// split's left child follows it, Right is absolute and root is the first
// node's index), as the body of a LightGBM Tree= block: splits numbered in
// pre-order, leaves too, a child c >= 0 naming split c and c < 0 leaf ^c.
//
// An XGBoost categorical split (a category in the set goes right, anything
// else left, NaN the default way) becomes LightGBM's (in the set goes left,
// anything else and NaN right) with its children swapped: the same
// decision for every non-negative category, and for NaN where XGBoost's
// default is its left child (not in the set); other NaN rows differ.
func treeText(f *kernels.Forest, nodes []kernels.Node, root int32, base float64) (string, error) {
	idx := make([]int, len(nodes)) // split number, or leaf number
	ns, nl := 0, 0
	for i := range nodes {
		if nodes[i].IsLeaf() {
			idx[i] = nl
			nl++
		} else {
			idx[i] = ns
			ns++
		}
	}
	child := func(i int) int {
		if nodes[i].IsLeaf() {
			return ^idx[i]
		}
		return idx[i]
	}
	var feat, thr, dt, left, right, gain, leaf, catBounds, catWords []string
	catBounds = append(catBounds, "0")
	for i := range nodes {
		nd := &nodes[i]
		if nd.IsLeaf() {
			if nd.Linear != 0 {
				return "", fmt.Errorf("node %d is a linear leaf", i)
			}
			leaf = append(leaf, g(nd.Value+base))
			continue
		}
		if nd.Flags&kernels.FlagCategorical != 0 {
			if nd.Flags&kernels.FlagCategoryRight == 0 {
				return "", fmt.Errorf("node %d is a categorical split under LightGBM's rule, want XGBoost's", i)
			}
			set := f.CatSets[f.CatBounds[int(nd.Value)]:f.CatBounds[int(nd.Value)+1]]
			feat = append(feat, strconv.Itoa(int(nd.Feature)))
			thr = append(thr, strconv.Itoa(len(catBounds)-1))
			for _, w := range set {
				catWords = append(catWords, strconv.FormatUint(uint64(w), 10))
			}
			catBounds = append(catBounds, strconv.Itoa(len(catWords)))
			dt = append(dt, "9") // categorical, MissingType::NaN
			left = append(left, strconv.Itoa(child(int(nd.Right-root))))
			right = append(right, strconv.Itoa(child(i+1)))
			gain = append(gain, "1")
			continue
		}
		if nd.Flags&^kernels.FlagDefaultLeft != 0 {
			return "", fmt.Errorf("node %d has flags %#x, want only FlagDefaultLeft", i, nd.Flags)
		}
		d := 8 // numerical, MissingType::NaN
		if nd.Flags&kernels.FlagDefaultLeft != 0 {
			d |= 2
		}
		feat = append(feat, strconv.Itoa(int(nd.Feature)))
		thr = append(thr, g(math.Nextafter(boundBelow32(float32(nd.Value)), math.Inf(-1))))
		dt = append(dt, strconv.Itoa(d))
		left = append(left, strconv.Itoa(child(i+1)))
		right = append(right, strconv.Itoa(child(int(nd.Right-root))))
		gain = append(gain, "1")
	}
	j := func(s []string) string { return strings.Join(s, " ") }
	var sb strings.Builder
	fmt.Fprintf(&sb, "num_leaves=%d\nnum_cat=%d\n", nl, len(catBounds)-1)
	if ns > 0 {
		fmt.Fprintf(&sb, "split_feature=%s\nsplit_gain=%s\nthreshold=%s\ndecision_type=%s\n", j(feat), j(gain), j(thr), j(dt))
		fmt.Fprintf(&sb, "left_child=%s\nright_child=%s\n", j(left), j(right))
	}
	if len(catBounds) > 1 {
		fmt.Fprintf(&sb, "cat_boundaries=%s\ncat_threshold=%s\n", j(catBounds), j(catWords))
	}
	fmt.Fprintf(&sb, "leaf_value=%s\nis_linear=0\nshrinkage=1\n\n", j(leaf))
	return sb.String(), nil
}

// g formats v so that parsing it gives v back exactly.
func g(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// boundBelow32 returns the float64 b for which, for every non-NaN float64
// x, float32(x) < t exactly when x < b: XGBoost's test moved to float64. It
// restates kernels' lessBound32 (unexported there) for finite t: x rounds
// below t when it lies below the midpoint m between t and the float32 p
// just under it, or on m when the tie goes to p (p's last bit even).
func boundBelow32(t float32) float64 {
	p := math.Nextafter32(t, float32(math.Inf(-1)))
	m := (float64(p) + float64(t)) / 2 // exact: 25 significant bits
	if math.IsInf(float64(t), 0) || math.IsInf(float64(p), 0) {
		panic(fmt.Sprintf("BUG: boundBelow32(%v): XGBoost thresholds are finite", t))
	}
	if math.Float32bits(p)&1 == 0 {
		return math.Nextafter(m, math.Inf(1))
	}
	return m
}
