package kernels

import (
	"math"
	"math/bits"
	"sync"
)

// The float32 form of the bitvector trees (forest_bv.go), for XGBoost's
// forests: their splits compare float32(x) with a float32 threshold and
// their sums are float32, so a block transposed to float32 holds 16 rows a
// 512-bit vector (8 on AVX2), and leaf masks of 32-bit words (32 leaves a
// word) are ANDed 16 rows at a time: half the vector work of the float64
// form per split. Leaf values are float32 (XGBoost's own), looked up in registers.
// A forest takes this form when every split of its bitvector trees can be
// expressed in it (numerical splits, and XGBoost categorical splits with
// categories below 64); otherwise it keeps the float64 form.

// bv32MaxWords is the most 32-leaf words of a tree: 256 leaves, as bvMaxLeaves.
const bv32MaxWords = bvMaxLeaves / 32

// Category codes of a float32 categorical column; see catNaN and catNone.
const (
	cat32NaN  uint32 = 1 << 31
	cat32None uint32 = 1 << 30
)

// bv32Node is one split of a float32 bitvector tree: 16 bytes.
type bv32Node struct {
	// bound: a numerical split sends x right when x >= bound; a
	// categorical split holds its set's bits for categories 0-31 here and
	// for 32-63 in set1.
	bound float32
	// keep: the leaves of the word that stay possible when the split sends
	// a row right.
	keep uint32
	// off is the byte offset of the split's column in a transposed block.
	off  int32
	set1 uint32
}

// bv32Seg is one word's splits: [lo, in) numerical, [in, inNaN) categorical
// sending a row right when in the set, [inNaN, hi) also when it is NaN.
type bv32Seg struct {
	lo, in, inNaN, hi int32
}

type bv32Tree struct {
	seg, words int32
	// tab indexes the tree's leaf values in bv32Forest.tabs, tabLen (16 or
	// 32) a word, zero-padded.
	tab, tabLen int32
}

type bv32Forest struct {
	cols  []bvColumn
	nodes []bv32Node
	segs  []bv32Seg
	tabs  []float32
	tree  []int32
	trees []bv32Tree
	// level is the node loops' SIMD level: portable (the plain-Go loop,
	// for tests), AVX2 or AVX-512.
	level  simdLevel
	blocks sync.Pool
}

// newBV32Forest compiles f's trees of at most 256 leaves (without linear
// leaves) to the float32 form, or returns nil when f is not an XGBoost
// forest, a split cannot be expressed, or level has no vector loop.
func newBV32Forest(f *Forest, level simdLevel) *bv32Forest {
	if level == levelPortable {
		return nil
	}
	bf := compileBV32(f)
	if bf != nil {
		bf.level = level
	}
	return bf
}

// compileBV32 is newBV32Forest on any level; the result runs the plain-Go
// node loop until level is set.
func compileBV32(f *Forest) *bv32Forest {
	if !f.Float32Sum || f.Compare != LessFloat32 {
		return nil
	}
	bf := &bv32Forest{tree: make([]int32, len(f.Roots))}
	compact := make(map[bvColumn]int32)
	found := false
	for t, root := range f.Roots {
		bf.tree[t] = -1
		end := int32(len(f.Nodes))
		if t+1 < len(f.Roots) {
			end = f.Roots[t+1]
		}
		tr, ok, expressible := bf.compileTree(f, root, end, compact)
		if !expressible {
			return nil
		}
		if ok {
			bf.tree[t] = int32(len(bf.trees))
			bf.trees = append(bf.trees, tr)
			found = true
		}
	}
	if !found {
		return nil
	}
	n := len(bf.cols) * bvBlock
	bf.blocks.New = func() any { b := make([]float32, n); return &b }
	return bf
}

// compileTree appends the tree in f.Nodes[root:end]. ok is false for a
// tree that is walked (too many leaves, a linear leaf); expressible is
// false when a split has no float32 vector form.
func (bf *bv32Forest) compileTree(f *Forest, root, end int32, compact map[bvColumn]int32) (tr bv32Tree, ok, expressible bool) {
	src := f.Nodes[root:end]
	runs, ok := leafRunsOf(src, root)
	if !ok || runs.leaves > bvMaxLeaves {
		return tr, false, true
	}
	words := (runs.leaves + 31) / 32
	var groups [bv32MaxWords][3][]bv32Node
	var leafVals []float32
	for i := range src {
		nd := &src[i]
		if nd.IsLeaf() {
			leafVals = append(leafVals, float32(nd.Value))
			continue
		}
		kind, bound, set1, col, vec := vectorSplit32(f, nd)
		if !vec {
			return tr, false, false
		}
		c, seen := compact[col]
		if !seen {
			c = int32(len(bf.cols))
			compact[col] = c
			bf.cols = append(bf.cols, col)
		}
		runs.words(i, 32, func(w int, left uint64) {
			groups[w][kind] = append(groups[w][kind], bv32Node{bound: bound, keep: ^uint32(left), off: c * bvBlock * 4, set1: set1})
		})
	}
	leaves := runs.leaves
	tr = bv32Tree{seg: int32(len(bf.segs)), words: int32(words)}
	for w := 0; w < words; w++ {
		g := &groups[w]
		sg := bv32Seg{lo: int32(len(bf.nodes))}
		bf.nodes = append(bf.nodes, g[0]...)
		sg.in = int32(len(bf.nodes))
		bf.nodes = append(bf.nodes, g[1]...)
		sg.inNaN = int32(len(bf.nodes))
		bf.nodes = append(bf.nodes, g[2]...)
		sg.hi = int32(len(bf.nodes))
		bf.segs = append(bf.segs, sg)
	}
	tr.tab, tr.tabLen = int32(len(bf.tabs)), 16
	if leaves > 16 {
		tr.tabLen = 32
	}
	bf.tabs = append(bf.tabs, leafVals...)
	bf.tabs = append(bf.tabs, make([]float32, words*int(tr.tabLen)-leaves)...)
	return tr, true, true
}

// vectorSplit32 classifies split nd of an XGBoost forest: kind 0
// numerical, 1 categorical right when in the set, 2 also when NaN; the
// bound field (and a categorical set's second word); the column; vec false
// when the float32 form cannot express it.
func vectorSplit32(f *Forest, nd *Node) (kind int, bound float32, set1 uint32, col bvColumn, vec bool) {
	col = bvColumn{feat: nd.Feature, kind: colRaw}
	switch {
	case nd.Flags&FlagCategorical != 0:
		if nd.Flags&FlagCategoryRight == 0 {
			return 0, 0, 0, col, false
		}
		set := f.CatSets[f.CatBounds[int(nd.Value)]:f.CatBounds[int(nd.Value)+1]]
		var words [2]uint32
		for i, w := range set {
			if i >= 2 && w != 0 {
				return 0, 0, 0, col, false
			}
			if i < 2 {
				words[i] = w
			}
		}
		col.kind = colCatXGB
		if nd.Flags&FlagDefaultLeft == 0 {
			return 2, math.Float32frombits(words[0]), words[1], col, true
		}
		return 1, math.Float32frombits(words[0]), words[1], col, true
	case nd.Flags&^FlagDefaultLeft != 0 || nd.Value != nd.Value:
		return 0, 0, 0, col, false
	}
	// XGBoost sends x left when float32(x) < t: right when x32 >= t, NaN
	// the default way (read as +Inf when that is right).
	if nd.Flags&FlagDefaultLeft == 0 {
		col.kind = colNaNInf
	}
	return 0, float32(nd.Value), 0, col, true
}

// catCode32 is catCode's XGBoost rule in 32 bits.
func catCode32(x float64) uint32 {
	if x != x {
		return cat32NaN
	}
	v := float32(x)
	if v < 0 || v >= maxXGBoostCategory {
		return cat32None
	}
	return uint32(int(v))
}

// transpose writes the columns of the b rows into blk as float32 (or
// category codes), column-major, rows past b zero (see transposeCols).
func (bf *bv32Forest) transpose(blk []float32, rows []float64, b, nf int) {
	transposeCols(blk, bf.cols, rows, b, nf, func(x float64, _ uint8) float32 {
		return math.Float32frombits(catCode32(x))
	})
}

// addScalar is the vector kernel's contract in plain Go: it adds to
// sums[r] (times w when w != 1, rounded to float32) the leaf value each of
// the len(sums) rows of blk reaches in tr.
func (bf *bv32Forest) addScalar(sums []float32, w float64, tr *bv32Tree, blk []float32) {
	var masks [bv32MaxWords][bvBlock]uint32
	b := len(sums)
	for wd := range int(tr.words) {
		sg := &bf.segs[tr.seg+int32(wd)]
		m := &masks[wd]
		for r := range m[:b] {
			m[r] = math.MaxUint32
		}
		for k := sg.lo; k < sg.hi; k++ {
			bn := &bf.nodes[k]
			col := blk[int(bn.off)/4:]
			set := math.Float32bits(bn.bound)
			for r := 0; r < b; r++ {
				x := col[r]
				c := math.Float32bits(x)
				var right bool
				switch {
				case k < sg.in:
					right = x >= bn.bound
				case k < sg.inNaN:
					right = inSet32(set, bn.set1, c)
				default:
					right = inSet32(set, bn.set1, c) || c == cat32NaN
				}
				if right {
					m[r] &= bn.keep
				}
			}
		}
	}
	for r := 0; r < b; r++ {
		wd := 0
		for masks[wd][r] == 0 {
			wd++
		}
		v := bf.tabs[int(tr.tab)+wd*int(tr.tabLen)+bits.LeadingZeros32(masks[wd][r])]
		if w != 1 {
			v = float32(v * float32(w))
		}
		sums[r] += v
	}
}

// add adds the leaf values of tr for the rows of blk to sums, on bf.level.
func (bf *bv32Forest) add(sums []float32, w float64, tr *bv32Tree, blk []float32) {
	switch bf.level {
	case levelAVX512:
		bf.addAVX512(sums, w, tr, blk)
	case levelAVX2:
		bf.addAVX2(sums, w, tr, blk)
	default:
		bf.addScalar(sums, w, tr, blk)
	}
}

// inSet32 reports whether category code c is in the set of words w0
// (categories 0-31) and w1 (32-63).
func inSet32(w0, w1, c uint32) bool {
	return c < 32 && w0>>c&1 != 0 || c >= 32 && c < 64 && w1>>(c-32)&1 != 0
}
