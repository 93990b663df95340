package kernels

import "math"

// Node flags. A split node's flags say where a missing value goes and how
// the split compares; a leaf has none of them.
const (
	// FlagDefaultLeft sends a missing value (as the node's missing mode
	// defines it) to the left child instead of the right.
	FlagDefaultLeft uint8 = 1 << iota
	// FlagCategorical marks a categorical split: Value is an index into the
	// forest's category sets. By default it follows LightGBM: a category in
	// the set goes left, anything else (NaN, negative, unknown) goes right.
	FlagCategorical
	// FlagMissingZero treats NaN as 0 and sends any value in
	// [-ZeroThreshold, ZeroThreshold] the default way (LightGBM's
	// MissingType::Zero).
	FlagMissingZero
	// FlagNaNIsZero replaces NaN with 0 and then compares as usual; there is
	// no default direction (LightGBM's MissingType::None).
	FlagNaNIsZero
	// FlagCategoryRight switches a categorical split to XGBoost's rule: NaN
	// goes the default way, a category in the set goes right, and anything
	// else (not in the set, negative, 2^24 or more) goes left.
	FlagCategoryRight
)

// knownFlags are the flag bits a node may carry.
const knownFlags = FlagDefaultLeft | FlagCategorical | FlagMissingZero | FlagNaNIsZero | FlagCategoryRight

// maxXGBoostCategory bounds the categories XGBoost accepts: its values are
// float32, exact only below 2^24.
const maxXGBoostCategory = 1 << 24

// ZeroThreshold is the magnitude at or below which LightGBM counts a value
// as zero (its kZeroThreshold, 1e-35f widened to double).
const ZeroThreshold = float64(float32(1e-35))

// Compare says how a numerical split compares a feature value with its
// threshold; the two libraries differ and parity depends on it.
type Compare uint8

const (
	// LessFloat32 is XGBoost's rule: the value, rounded to float32, goes left
	// when it is < the float32 threshold.
	LessFloat32 Compare = iota
	// LessEqFloat64 is LightGBM's rule: the float64 value goes left when it
	// is <= the float64 threshold.
	LessEqFloat64
)

// Node is one node of a tree in pre-order layout: a split's left child is the
// node right after it, its right child is at index Right (absolute, into
// Forest.Nodes). A leaf has Feature < 0.
//
// A Node is 24 bytes: Linear sits in what would otherwise be the padding
// after Flags (TestNodeSize guards this), so linear leaves cost nothing in
// the node array of a forest without them.
type Node struct {
	// Value is the threshold of a numerical split, the category-set index of
	// a categorical split, or the output of a leaf. A linear leaf outputs
	// Value when one of its model's features is NaN.
	Value   float64
	Feature int32
	Right   int32
	Flags   uint8
	// Linear is 0 on a split node and on a constant leaf. On a leaf, k > 0
	// makes it a linear leaf evaluating linear model k-1 of the forest (see
	// Forest.LinConst). Zero means none so that a Node literal written
	// without it, as every producer of constant trees does, stays correct.
	Linear int32
}

// IsLeaf reports whether n is a leaf.
func (n *Node) IsLeaf() bool { return n.Feature < 0 }

// Forest is a tree ensemble laid out for evaluation. Trees are stored back to
// back in Nodes; tree t starts at Roots[t] and adds to output group Groups[t].
//
// A Forest is immutable once built and safe for concurrent use; the fields
// are exported for the model package's encoder and must satisfy Validate.
type Forest struct {
	Nodes  []Node
	Roots  []int32
	Groups []int32
	// Weights scales each tree's output (DART's weight_drop); nil means 1.
	Weights []float64
	// CatSets holds the bitsets of categorical splits: set k is the words
	// CatSets[CatBounds[k]:CatBounds[k+1]], bit c of the set is category c.
	CatSets   []uint32
	CatBounds []int32
	// Linear models of linear leaves (LightGBM's linear_tree): model k
	// outputs LinConst[k] + Σ LinCoeffs[j]·x[LinFeatures[j]] over j in
	// [LinBounds[k], LinBounds[k+1]), summed in that order; a model may have
	// no terms. LinBounds is empty when there are no models, otherwise it
	// has len(LinConst)+1 entries, starting at 0 and ending at
	// len(LinFeatures) == len(LinCoeffs). Node.Linear refers to them.
	LinConst    []float64
	LinBounds   []int32
	LinFeatures []int32
	LinCoeffs   []float64
	// Base is each group's starting margin, added before any tree.
	Base        []float64
	NumFeatures int
	Compare     Compare
	// Float32Sum accumulates margins in float32, tree by tree, as XGBoost
	// does; otherwise they are summed in float64 as LightGBM does.
	Float32Sum bool
}

// NumGroups is the number of margins the forest produces per row.
func (f *Forest) NumGroups() int { return len(f.Base) }

// Margins appends the raw margins of each row in rows (row-major,
// f.NumFeatures values a row, NaN for missing) to dst, NumGroups values per
// row, and returns the extended slice. It does not allocate when dst has room.
func (f *Forest) Margins(dst []float64, rows []float64) []float64 {
	nf := f.NumFeatures
	ng := len(f.Base)
	n := 0
	if nf > 0 {
		n = len(rows) / nf
	}
	start := len(dst)
	dst = Grow(dst, n*ng)
	out := dst[start:]
	for r := 0; r < n; r++ {
		row := rows[r*nf : (r+1)*nf]
		o := out[r*ng : (r+1)*ng]
		if f.Float32Sum {
			f.sum32(o, row)
		} else {
			f.sum64(o, row)
		}
	}
	return dst
}

func (f *Forest) sum64(o, row []float64) {
	copy(o, f.Base)
	for t, root := range f.Roots {
		v := f.leaf(root, row)
		if f.Weights != nil {
			v = float64(v * f.Weights[t]) // rounded, never fused: see linear
		}
		o[f.Groups[t]] += v
	}
}

func (f *Forest) sum32(o, row []float64) {
	// XGBoost keeps margins in float32 and adds one tree at a time; doing the
	// same, in the same order, reproduces its rounding bit for bit.
	var acc [16]float32
	var accs []float32
	if len(o) <= len(acc) {
		accs = acc[:len(o)]
	} else {
		accs = make([]float32, len(o))
	}
	for g, b := range f.Base {
		accs[g] = float32(b)
	}
	for t, root := range f.Roots {
		v := float32(f.leaf(root, row))
		if f.Weights != nil {
			v = float32(v * float32(f.Weights[t])) // rounded, never fused: see linear
		}
		accs[f.Groups[t]] += v
	}
	for g := range o {
		o[g] = float64(accs[g])
	}
}

// leaf walks one tree from root and returns its leaf's output.
func (f *Forest) leaf(root int32, row []float64) float64 {
	nodes := f.Nodes
	i := root
	for {
		nd := &nodes[i]
		if nd.Feature < 0 {
			if nd.Linear == 0 {
				return nd.Value
			}
			return f.linear(nd, row)
		}
		if f.goLeft(nd, row[nd.Feature]) {
			i++
		} else {
			i = nd.Right
		}
	}
}

// linear evaluates the linear model of leaf nd as LightGBM's Tree::Predict
// does: the constant, then each coefficient times its raw feature value
// added in order; the first NaN feature abandons the model and the leaf
// outputs its plain value instead.
func (f *Forest) linear(nd *Node, row []float64) float64 {
	k := nd.Linear - 1
	lo, hi := f.LinBounds[k], f.LinBounds[k+1]
	coeffs := f.LinCoeffs[lo:hi]
	out := f.LinConst[k]
	for j, feat := range f.LinFeatures[lo:hi] {
		x := row[feat]
		if x != x {
			return nd.Value
		}
		// The conversion rounds the product before the addition. Go may
		// otherwise fuse the two into one FMA (on arm64, and on amd64 with
		// GOAMD64=v3), rounding once. LightGBM's x86-64 builds target the
		// baseline ISA, which has no FMA, so they round twice; this matches
		// them on every platform (TestLinearLeafSumOrder).
		out += float64(coeffs[j] * x)
	}
	return out
}

func (f *Forest) goLeft(nd *Node, x float64) bool {
	if nd.Flags&FlagCategorical != 0 {
		if nd.Flags&FlagCategoryRight == 0 {
			return f.lightgbmCategory(int(nd.Value), x)
		}
		if x != x {
			return nd.Flags&FlagDefaultLeft != 0
		}
		v := float32(x)
		if v < 0 || v >= maxXGBoostCategory {
			return true
		}
		return !f.inSet(int(nd.Value), int(v))
	}
	switch {
	case nd.Flags&FlagNaNIsZero != 0:
		if x != x {
			x = 0
		}
	case nd.Flags&FlagMissingZero != 0:
		if x != x {
			x = 0
		}
		if x >= -ZeroThreshold && x <= ZeroThreshold {
			return nd.Flags&FlagDefaultLeft != 0
		}
	default:
		if x != x {
			return nd.Flags&FlagDefaultLeft != 0
		}
	}
	if f.Compare == LessFloat32 {
		return float32(x) < float32(nd.Value)
	}
	return x <= nd.Value
}

// lightgbmCategory follows LightGBM: NaN, negatives and values past int32
// go right; otherwise the value is truncated to an integer category and goes
// left when the set holds it.
func (f *Forest) lightgbmCategory(set int, x float64) bool {
	if x != x || x <= -1 || x >= math.MaxInt32 {
		return false
	}
	return f.inSet(set, int(x))
}

// inSet reports whether category c (non-negative) is in category set k.
func (f *Forest) inSet(set, c int) bool {
	words := f.CatSets[f.CatBounds[set]:f.CatBounds[set+1]]
	w := c / 32
	if w >= len(words) {
		return false
	}
	return words[w]>>(uint(c)%32)&1 != 0
}

// Grow extends s by n elements, reusing its capacity when it can.
func Grow(s []float64, n int) []float64 {
	if need := len(s) + n; need <= cap(s) {
		return s[:need]
	}
	ns := make([]float64, len(s)+n, 2*len(s)+n)
	copy(ns, s)
	return ns
}

// MaxDepth is the number of splits on the longest root-to-leaf path.
func (f *Forest) MaxDepth() int {
	depth := make([]int, len(f.Nodes))
	best := 0
	for i := range f.Nodes {
		nd := &f.Nodes[i]
		if nd.IsLeaf() {
			best = max(best, depth[i])
			continue
		}
		depth[i+1] = depth[i] + 1
		depth[nd.Right] = depth[i] + 1
	}
	return best
}
