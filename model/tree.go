package model

import (
	"fmt"

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
	Value float64
	// Flags are kernels.Flag* bits of a split node.
	Flags uint8
}

// AppendTree lays out one tree, given as nodes with explicit children and its
// root, at the end of f in pre-order, assigning it to output group. It
// rejects a child index out of range, a node reached twice (a cycle or a
// shared subtree) and a feature index at or past f.NumFeatures; the error
// names the node. f is unchanged on error.
func AppendTree(f *kernels.Forest, nodes []SourceNode, root, group int) error {
	if root < 0 || root >= len(nodes) {
		return fmt.Errorf("root node %d does not exist (tree has %d nodes)", root, len(nodes))
	}
	base := len(f.Nodes)
	out := f.Nodes
	seen := make([]bool, len(nodes))
	// Explicit stack of pending right children: parent position in out, and
	// the source index of the right child to place when the left subtree ends.
	type pending struct{ parent, src int }
	var stack []pending
	cur := root
	for {
		if seen[cur] {
			f.Nodes = out[:base]
			return fmt.Errorf("node %d is reached twice: the tree has a cycle or a shared subtree", cur)
		}
		seen[cur] = true
		n := nodes[cur]
		if n.Leaf {
			out = append(out, kernels.Node{Value: n.Value, Feature: -1})
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
			f.Nodes = out[:base]
			return fmt.Errorf("node %d splits on feature %d, but the model has %d features", cur, n.Feature, f.NumFeatures)
		}
		for _, c := range [2]int{n.Left, n.Right} {
			if c < 0 || c >= len(nodes) {
				f.Nodes = out[:base]
				return fmt.Errorf("node %d refers to child %d, which does not exist (tree has %d nodes)", cur, c, len(nodes))
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
