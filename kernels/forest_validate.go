package kernels

import "fmt"

// Validate checks the invariants Margins relies on, so that a forest decoded
// from an untrusted artifact can never index out of range or loop: every
// tree's nodes lie in its own range, children come after their parent,
// features, groups, category sets and linear models exist, linear models'
// features are in range, and the per-tree slices agree.
func (f *Forest) Validate() error {
	if f.NumFeatures <= 0 {
		return fmt.Errorf("forest has %d features, want at least 1", f.NumFeatures)
	}
	ng := len(f.Base)
	if ng == 0 {
		return fmt.Errorf("forest has no output groups")
	}
	nt := len(f.Roots)
	if len(f.Groups) != nt {
		return fmt.Errorf("forest has %d trees but %d group entries", nt, len(f.Groups))
	}
	if f.Weights != nil && len(f.Weights) != nt {
		return fmt.Errorf("forest has %d trees but %d weights", nt, len(f.Weights))
	}
	if f.Compare > LessEqFloat64 {
		return fmt.Errorf("forest has unknown comparison %d", f.Compare)
	}
	nsets := len(f.CatBounds) - 1
	if len(f.CatBounds) == 0 {
		nsets = 0
	} else if f.CatBounds[0] != 0 || int(f.CatBounds[nsets]) != len(f.CatSets) {
		return fmt.Errorf("category set bounds do not span the %d set words", len(f.CatSets))
	}
	for k := 0; k < nsets; k++ {
		if f.CatBounds[k] > f.CatBounds[k+1] {
			return fmt.Errorf("category set %d has negative length", k)
		}
	}
	nlin, err := f.validateLinear()
	if err != nil {
		return err
	}
	if nt > 0 && f.Roots[0] != 0 {
		return fmt.Errorf("tree 0 starts at node %d, want 0", f.Roots[0])
	}
	for t := 0; t < nt; t++ {
		if g := f.Groups[t]; g < 0 || int(g) >= ng {
			return fmt.Errorf("tree %d: output group %d out of range [0,%d)", t, g, ng)
		}
		start := int(f.Roots[t])
		end := len(f.Nodes)
		if t+1 < nt {
			end = int(f.Roots[t+1])
		}
		if start >= end || end > len(f.Nodes) {
			return fmt.Errorf("tree %d: node range [%d,%d) is empty or past the %d nodes", t, start, end, len(f.Nodes))
		}
		for i := start; i < end; i++ {
			nd := &f.Nodes[i]
			if nd.IsLeaf() {
				if k := nd.Linear; k < 0 || int(k) > nlin {
					return fmt.Errorf("tree %d node %d: linear model %d does not exist (the forest has %d)", t, i-start, int64(k)-1, nlin)
				}
				continue
			}
			if nd.Linear != 0 {
				return fmt.Errorf("tree %d node %d: a split node has linear model %d", t, i-start, nd.Linear-1)
			}
			if nd.Flags&^knownFlags != 0 {
				return fmt.Errorf("tree %d node %d: unknown flags %#x", t, i-start, nd.Flags)
			}
			if int(nd.Feature) >= f.NumFeatures {
				return fmt.Errorf("tree %d node %d: feature %d out of range [0,%d)", t, i-start, nd.Feature, f.NumFeatures)
			}
			if i+1 >= end || int(nd.Right) <= i+1 || int(nd.Right) >= end {
				return fmt.Errorf("tree %d node %d: children out of the tree's range", t, i-start)
			}
			if nd.Flags&FlagCategorical != 0 {
				k := int(nd.Value)
				if float64(k) != nd.Value || k < 0 || k >= nsets {
					return fmt.Errorf("tree %d node %d: category set %v does not exist", t, i-start, nd.Value)
				}
			}
		}
	}
	return nil
}

// validateLinear checks the linear models' tables and returns how many
// models there are.
func (f *Forest) validateLinear() (int, error) {
	n := len(f.LinConst)
	if len(f.LinBounds) == 0 {
		if n != 0 || len(f.LinFeatures) != 0 || len(f.LinCoeffs) != 0 {
			return 0, fmt.Errorf("forest has %d linear constants and %d terms but no linear model bounds", n, len(f.LinFeatures))
		}
		return 0, nil
	}
	if len(f.LinBounds) != n+1 {
		return 0, fmt.Errorf("forest has %d linear models but %d linear model bounds, want %d", n, len(f.LinBounds), n+1)
	}
	if len(f.LinCoeffs) != len(f.LinFeatures) {
		return 0, fmt.Errorf("forest has %d linear features but %d coefficients", len(f.LinFeatures), len(f.LinCoeffs))
	}
	if f.LinBounds[0] != 0 || int(f.LinBounds[n]) != len(f.LinFeatures) {
		return 0, fmt.Errorf("linear model bounds do not span the %d linear terms", len(f.LinFeatures))
	}
	for k := 0; k < n; k++ {
		if f.LinBounds[k] > f.LinBounds[k+1] {
			return 0, fmt.Errorf("linear model %d has negative length", k)
		}
	}
	for j, feat := range f.LinFeatures {
		if feat < 0 || int(feat) >= f.NumFeatures {
			return 0, fmt.Errorf("linear term %d: feature %d out of range [0,%d)", j, feat, f.NumFeatures)
		}
	}
	return n, nil
}
