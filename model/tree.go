package model

import (
	"fmt"
	"math"

	"github.com/predictd/predictd/kernels"
)

// SourceNode is a tree node as a model file describes it, before layout:
// children are indices into the same tree's node slice.
type SourceNode struct {
	Leaf        bool
	Left, Right int
	// Feature is the split feature of a split node.
	Feature int
	// Value is the threshold of a numerical split, the category-set index of
	// a categorical split (into Forest.CatBounds), or the output of a leaf.
	// A linear leaf outputs Value when one of its LinFeatures is NaN.
	Value float64
	// Flags are kernels.Flag* bits of a split node.
	Flags uint8

	// Linear makes a leaf a linear leaf (LightGBM's linear trees): it
	// outputs LinConst + Σ LinCoeffs[j]·x[LinFeatures[j]], summed in order,
	// or Value when any of those features is NaN. LinFeatures and LinCoeffs
	// have the same length, which may be 0 (the leaf outputs LinConst).
	// AppendTree copies them; the caller keeps ownership.
	Linear      bool
	LinConst    float64
	LinFeatures []int
	LinCoeffs   []float64
}

// AppendTree lays out one tree, given as nodes with explicit children and its
// root, at the end of f in pre-order, assigning it to output group. Linear
// leaves get their models appended to f's linear model tables, in the order
// the layout meets them. It rejects a child index out of range, a node
// reached twice (a cycle or a shared subtree), a feature index (of a split or
// of a linear term) at or past f.NumFeatures, and a linear leaf whose
// features and coefficients differ in number; the error names the node. f is
// unchanged on error.
func AppendTree(f *kernels.Forest, nodes []SourceNode, root, group int) error {
	if root < 0 || root >= len(nodes) {
		return fmt.Errorf("root node %d does not exist (tree has %d nodes)", root, len(nodes))
	}
	base := len(f.Nodes)
	out := f.Nodes
	// fail puts back the slices f had: appending only writes past their
	// lengths, so they still hold what they held.
	saved := *f
	fail := func(format string, args ...any) error {
		f.Nodes = saved.Nodes
		f.LinConst, f.LinBounds = saved.LinConst, saved.LinBounds
		f.LinFeatures, f.LinCoeffs = saved.LinFeatures, saved.LinCoeffs
		return fmt.Errorf(format, args...)
	}
	seen := make([]bool, len(nodes))
	// Explicit stack of pending right children: parent position in out, and
	// the source index of the right child to place when the left subtree ends.
	type pending struct{ parent, src int }
	var stack []pending
	cur := root
	for {
		if seen[cur] {
			return fail("node %d is reached twice: the tree has a cycle or a shared subtree", cur)
		}
		seen[cur] = true
		n := &nodes[cur]
		if n.Leaf {
			nd := kernels.Node{Value: n.Value, Feature: -1}
			if n.Linear {
				k, err := appendLinear(f, n)
				if err != nil {
					return fail("leaf %d: %v", cur, err)
				}
				nd.Linear = k
			}
			out = append(out, nd)
			if len(stack) == 0 {
				break
			}
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			out[p.parent].Right = int32(len(out))
			cur = p.src
			continue
		}
		if n.Feature < 0 || n.Feature >= f.NumFeatures {
			return fail("node %d splits on feature %d, but the model has %d features", cur, n.Feature, f.NumFeatures)
		}
		for _, c := range [2]int{n.Left, n.Right} {
			if c < 0 || c >= len(nodes) {
				return fail("node %d refers to child %d, which does not exist (tree has %d nodes)", cur, c, len(nodes))
			}
		}
		out = append(out, kernels.Node{Value: n.Value, Feature: int32(n.Feature), Flags: n.Flags})
		stack = append(stack, pending{parent: len(out) - 1, src: n.Right})
		cur = n.Left
	}
	f.Nodes = out
	f.Roots = append(f.Roots, int32(base))
	f.Groups = append(f.Groups, int32(group))
	return nil
}

// appendLinear appends the linear model of leaf n to f's tables and returns
// the kernels.Node.Linear value that selects it.
func appendLinear(f *kernels.Forest, n *SourceNode) (int32, error) {
	if len(n.LinFeatures) != len(n.LinCoeffs) {
		return 0, fmt.Errorf("linear model has %d features but %d coefficients", len(n.LinFeatures), len(n.LinCoeffs))
	}
	// Node.Linear is the model's index plus one, and LinBounds holds term
	// counts, both int32.
	if len(f.LinConst) >= math.MaxInt32-1 || len(f.LinFeatures)+len(n.LinFeatures) > math.MaxInt32 {
		return 0, fmt.Errorf("the model has more than %d linear models or terms", math.MaxInt32-1)
	}
	for j, feat := range n.LinFeatures {
		if feat < 0 || feat >= f.NumFeatures {
			return 0, fmt.Errorf("linear term %d uses feature %d, but the model has %d features", j, feat, f.NumFeatures)
		}
	}
	if len(f.LinBounds) == 0 {
		f.LinBounds = append(f.LinBounds, 0)
	}
	for _, feat := range n.LinFeatures {
		f.LinFeatures = append(f.LinFeatures, int32(feat))
	}
	f.LinCoeffs = append(f.LinCoeffs, n.LinCoeffs...)
	f.LinConst = append(f.LinConst, n.LinConst)
	f.LinBounds = append(f.LinBounds, int32(len(f.LinFeatures)))
	return int32(len(f.LinConst)), nil
}
