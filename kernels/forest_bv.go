package kernels

import (
	"math"
	"math/bits"
	"sync"
)

// Bitvector evaluation of small trees, after QuickScorer (Lucchese et al.,
// SIGIR 2015) and its vectorised form, for blocks of rows on the SIMD levels.
//
// Number a tree's leaves left to right. A split that sends a row right rules
// out every leaf of its left subtree, which is a contiguous run of leaves;
// the leaf the row reaches is the leftmost one that no split on any path
// rules out. So instead of walking, a block of rows tests every split of the
// tree (one vector compare for 8 rows), clears the ruled-out leaves from a
// 64-bit mask per row with one masked AND, and the row's leaf is the mask's
// highest set bit (leaf j is bit 63-j). The order of the splits does not
// matter, there are no dependent loads, and no branches depend on the data:
// for trees of up to 64 leaves that beats any walk once 8 rows share the
// work. Rows are transposed per block (feature-major, bvBlock rows a
// column), so a split loads its feature for 8 rows with one vector load.
//
// Every vector split is the one test "x >= bound sends the row right": a
// split that sends NaN left reads its feature as is (NaN >= bound is
// false), a split that sends NaN right reads a column of the feature in
// which NaN became +Inf (+Inf >= bound holds for every bound). A feature
// split both ways has both columns.
//
// A categorical split whose set holds only categories below 64 is a vector
// split too: its feature's column then holds category codes (catCode), and
// the set, one 64-bit word shifted right by the code, says whether the row
// is in it. Splits the vector tests cannot express (larger categories,
// LightGBM's zero-as-missing, an x <= +Inf test) are tested row by row with
// the reference rule, goLeft, after the vector splits: the AND is
// order-free.
// Leaves keep the forest's values and the block loops add them in tree
// order, so margins equal Forest.Margins bit for bit.

// bvMaxLeaves is the most leaves a tree may have to be evaluated by
// bitvector: bvMaxWords 64-bit words a row. A tree of more than 64 leaves
// keeps a mask word per 64 leaves; a split clears bits only in the words
// its left subtree overlaps, so it costs one entry per such word (its own
// subtree is a run of leaves: mostly one word).
const (
	bvMaxWords  = 4
	bvMaxLeaves = 64 * bvMaxWords
)

// bvBlock is the rows of a transposed block: one feature's values for the
// block are bvBlock consecutive float64s.
const bvBlock = fastBlockRows

// bvMinRows is the fewest rows of a block worth the bitvector kernel: below
// it the transpose and the splits not taken cost more than the walk.
const bvMinRows = 8

// bvNode is one split of a bitvector tree: 24 bytes.
type bvNode struct {
	// bound: a numerical split sends x left when x < bound, as in
	// fastNode. A categorical split holds its set's bits here (bit c for
	// category c; only categories below 64).
	bound float64
	// keep holds the leaves that stay possible when the split sends a row
	// right: all but those of its left subtree.
	keep uint64
	// off is the byte offset of the split's column in a transposed block
	// (the column's index times bvBlock·8).
	off int32
	// src is the split's index in Forest.Nodes, for the row-by-row splits.
	src int32
}

// bvTree is a tree's splits, word by word: word w of the leaf masks (leaves
// 64w .. 64w+63) is computed by the entries of bvForest.segs[seg+w], and
// leaf0 indexes the tree's leaf values in bvForest.leaves.
type bvTree struct {
	seg, words int32
	leaf0      int32
	// tab indexes the tree's leaf values in bvForest.tabs, tabLen (8, 16,
	// 32 or 64) a word, zero-padded, for the AVX-512 table lookup.
	tab, tabLen int32
}

// bvSeg is the entries of one word of a tree, grouped by how they are
// tested: [lo, in) numerical splits, x >= bound sends the row right;
// [in, inNaN) categorical splits that send a row right when its category is
// in the set, [inNaN, out) also when it is NaN (XGBoost's rule); [out,
// scalar) categorical splits that send it right when it is not in the set
// (LightGBM's rule); [scalar, hi) splits tested row by row.
type bvSeg struct {
	lo, in, inNaN, out, scalar, hi int32
}

// groups returns the vector splits of sg, by kind.
func (bf *bvForest) groups(sg *bvSeg) bvGroups {
	return bvGroups{
		num:   bf.nodes[sg.lo:sg.in],
		in:    bf.nodes[sg.in:sg.inNaN],
		inNaN: bf.nodes[sg.inNaN:sg.out],
		out:   bf.nodes[sg.out:sg.scalar],
	}
}

// bvGroups is one word's vector splits, by kind (see bvSeg).
type bvGroups struct {
	num, in, inNaN, out []bvNode
}

// Category codes in a categorical column: the category, or catNone for a
// value no set can hold (negative, too large; NaN under LightGBM's rule) or
// catNaN for NaN under XGBoost's. Both shift any set word to zero.
const (
	catNaN  uint64 = 1 << 63
	catNone uint64 = 1 << 62
)

// bvForest is the bitvector form of a FastForest's eligible trees.
type bvForest struct {
	// cols lists the columns of a transposed block: the features the
	// splits read, each as is or with NaN read as +Inf.
	cols   []bvColumn
	nodes  []bvNode
	segs   []bvSeg
	leaves []float64
	tabs   []float64
	// tree[t] is tree t's entry in trees, or -1 when tree t is walked.
	tree  []int32
	trees []bvTree
	// level is the SIMD level of the node loops; portable means unused.
	level simdLevel
	// blocks recycles transposed blocks (len(cols)·bvBlock float64s).
	blocks sync.Pool
}

// bvColumn is one column of a transposed block: feature feat as is
// (colRaw), with NaN replaced by +Inf (colNaNInf), or as category codes
// under XGBoost's or LightGBM's rule (colCatXGB, colCatLGB: the bits of a
// uint64 in each float64 slot).
type bvColumn struct {
	feat int32
	kind uint8
}

const (
	colRaw uint8 = iota
	colNaNInf
	colCatXGB
	colCatLGB
)

// Kinds of split, as vectorSplit classifies them.
const (
	splitScalar = iota
	splitNum
	splitIn
	splitInNaN
	splitOut
)

// newBVForest compiles the trees of f that have at most bvMaxLeaves leaves
// and no linear leaf, or returns nil when none has or level has no vector
// kernel.
func newBVForest(f *Forest, level simdLevel) *bvForest {
	if level == levelPortable {
		return nil
	}
	return compileBV(f, level)
}

// compileBV is newBVForest on any level; on the portable level the node
// loop is bvSplitsScalar, which only tests use.
func compileBV(f *Forest, level simdLevel) *bvForest {
	bf := &bvForest{tree: make([]int32, len(f.Roots)), level: level}
	compact := make(map[bvColumn]int32)
	for t, root := range f.Roots {
		bf.tree[t] = -1
		end := int32(len(f.Nodes))
		if t+1 < len(f.Roots) {
			end = f.Roots[t+1]
		}
		if tr, ok := bf.compileTree(f, root, end, compact); ok {
			bf.tree[t] = int32(len(bf.trees))
			bf.trees = append(bf.trees, tr)
		}
	}
	if len(bf.trees) == 0 {
		return nil
	}
	n := len(bf.cols) * bvBlock
	bf.blocks.New = func() any { b := make([]float64, n); return &b }
	return bf
}

// leafRuns numbers a tree's leaves left to right (pre-order visits a left
// subtree first, so a subtree's leaves are a run): split i's left subtree
// holds leaves [lo[i], lo[i]+n[i]).
type leafRuns struct {
	lo, n  []int
	leaves int
}

// leafRunsOf lays out the tree src (pre-order, its first node at index
// root of the forest), or reports false when a leaf is linear.
func leafRunsOf(src []Node, root int32) (leafRuns, bool) {
	span := make([]int, len(src))
	for i := len(src) - 1; i >= 0; i-- {
		if src[i].IsLeaf() {
			if src[i].Linear != 0 {
				return leafRuns{}, false
			}
			span[i] = 1
			continue
		}
		span[i] = span[i+1] + span[src[i].Right-root]
	}
	lr := leafRuns{lo: make([]int, len(src)), n: make([]int, len(src)), leaves: span[0]}
	first := make([]int, len(src))
	for i := range src {
		if src[i].IsLeaf() {
			continue
		}
		// The left child at i+1 starts where its parent does, the right
		// one after the left subtree.
		first[i+1] = first[i]
		first[src[i].Right-root] = first[i] + span[i+1]
		lr.lo[i], lr.n[i] = first[i], span[i+1]
	}
	return lr, true
}

// words calls emit for each word of size bits (64 or 32) that split i's
// left leaves overlap, with those leaves' bits in it: leaf j is bit
// size-1-j%size of word j/size.
func (lr *leafRuns) words(i, size int, emit func(w int, left uint64)) {
	lo, hi := lr.lo[i], lr.lo[i]+lr.n[i]
	for w := lo / size; w*size < hi; w++ {
		a, z := max(lo, w*size)-w*size, min(hi, w*size+size)-w*size
		emit(w, (uint64(1)<<(z-a)-1)<<(size-z))
	}
}

// compileTree appends the splits and leaves of the tree in
// f.Nodes[root:end] or reports that it does not qualify.
func (bf *bvForest) compileTree(f *Forest, root, end int32, compact map[bvColumn]int32) (bvTree, bool) {
	src := f.Nodes[root:end]
	runs, ok := leafRunsOf(src, root)
	if !ok || runs.leaves > bvMaxLeaves {
		return bvTree{}, false
	}
	words := (runs.leaves + 63) / 64
	var groups [bvMaxWords][splitOut + 1][]bvNode
	leaves := 0
	for i := range src {
		nd := &src[i]
		if nd.IsLeaf() {
			leaves++
			bf.leaves = append(bf.leaves, nd.Value)
			continue
		}
		kind, bound, col := vectorSplit(f, nd)
		c, seen := compact[col]
		if !seen {
			c = int32(len(bf.cols))
			compact[col] = c
			bf.cols = append(bf.cols, col)
		}
		runs.words(i, 64, func(w int, left uint64) {
			bn := bvNode{bound: bound, keep: ^left, off: c * bvBlock * 8, src: root + int32(i)}
			groups[w][kind] = append(groups[w][kind], bn)
		})
	}
	tr := bvTree{seg: int32(len(bf.segs)), words: int32(words), leaf0: int32(len(bf.leaves) - leaves)}
	for w := 0; w < words; w++ {
		g := &groups[w]
		sg := bvSeg{lo: int32(len(bf.nodes))}
		bf.nodes = append(bf.nodes, g[splitNum]...)
		sg.in = int32(len(bf.nodes))
		bf.nodes = append(bf.nodes, g[splitIn]...)
		sg.inNaN = int32(len(bf.nodes))
		bf.nodes = append(bf.nodes, g[splitInNaN]...)
		sg.out = int32(len(bf.nodes))
		bf.nodes = append(bf.nodes, g[splitOut]...)
		sg.scalar = int32(len(bf.nodes))
		bf.nodes = append(bf.nodes, g[splitScalar]...)
		sg.hi = int32(len(bf.nodes))
		bf.segs = append(bf.segs, sg)
	}
	// A table of 8, 16, 32 or 64 leaf values per word, zero-padded.
	tr.tab, tr.tabLen = int32(len(bf.tabs)), 8
	for int(tr.tabLen) < min(leaves, 64) {
		tr.tabLen *= 2
	}
	bf.tabs = append(bf.tabs, bf.leaves[tr.leaf0:]...)
	bf.tabs = append(bf.tabs, make([]float64, words*int(tr.tabLen)-leaves)...)
	return tr, true
}

// vectorSplit classifies split nd: its kind (splitScalar when no vector
// test expresses it), the bound field of its bvNode, and the column it
// reads. A numerical split's bound is the strict one compileTree computes
// for the walk.
func vectorSplit(f *Forest, nd *Node) (kind int, bound float64, col bvColumn) {
	col = bvColumn{feat: nd.Feature, kind: colRaw}
	if nd.Flags&FlagCategorical != 0 {
		set := f.CatSets[f.CatBounds[int(nd.Value)]:f.CatBounds[int(nd.Value)+1]]
		var word uint64
		for i, w := range set {
			if i >= 2 && w != 0 {
				return splitScalar, 0, col
			}
			if i < 2 {
				word |= uint64(w) << (32 * i)
			}
		}
		bound = math.Float64frombits(word)
		if nd.Flags&FlagCategoryRight == 0 {
			return splitOut, bound, bvColumn{feat: nd.Feature, kind: colCatLGB}
		}
		col.kind = colCatXGB
		if nd.Flags&FlagDefaultLeft == 0 {
			return splitInNaN, bound, col
		}
		return splitIn, bound, col
	}
	if nd.Flags&FlagMissingZero != 0 || nd.Value != nd.Value {
		return splitScalar, 0, col
	}
	bound, nanLeft, ok := splitBound(f, nd)
	if !ok {
		return splitScalar, 0, col
	}
	if !nanLeft {
		col.kind = colNaNInf
	}
	return splitNum, bound, col
}

// catCode is the code of x in a categorical column: XGBoost's rule reads
// the category of float32(x) in [0, 2^24), LightGBM's the integer part of
// x in (-1, 2^31-1); see Forest.goLeft.
func catCode(x float64, kind uint8) uint64 {
	if kind == colCatXGB {
		if x != x {
			return catNaN
		}
		v := float32(x)
		if v < 0 || v >= maxXGBoostCategory {
			return catNone
		}
		return uint64(int(v))
	}
	if x != x || x <= -1 || x >= math.MaxInt32 {
		return catNone
	}
	return uint64(int(x))
}

// transpose writes the columns of the b rows (nf values each) into blk,
// column-major: blk[c*bvBlock+r] is row r's value of column c. Rows past b
// are zero, so the kernels may read a whole vector.
func (bf *bvForest) transpose(blk, rows []float64, b, nf int) {
	transposeCols(blk, bf.cols, rows, b, nf, func(x float64, kind uint8) float64 {
		return math.Float64frombits(catCode(x, kind))
	})
}

// transposeCols writes the columns cols of the b rows (nf values each)
// into blk, column-major (bvBlock rows a column), as T: a raw column as is,
// a colNaNInf column with NaN as +Inf, a categorical one as code gives it.
// Rows past b are zero. It goes through the rows 8 at a time, all columns
// for each 8: column by column over all rows, a wide model's reads would
// each touch another page (a row of 1,200 features is 9.6 kB), and the TLB
// misses cost more than the copy.
func transposeCols[T float32 | float64](blk []T, cols []bvColumn, rows []float64, b, nf int, code func(x float64, kind uint8) T) {
	for r0 := 0; r0 < b; r0 += 8 {
		r1 := min(b, r0+8)
		for c, cl := range cols {
			col := blk[c*bvBlock : (c+1)*bvBlock]
			off := r0*nf + int(cl.feat)
			switch cl.kind {
			case colRaw:
				for r := r0; r < r1; r++ {
					col[r] = T(rows[off])
					off += nf
				}
			case colNaNInf:
				for r := r0; r < r1; r++ {
					x := rows[off]
					if x != x {
						x = math.Inf(1)
					}
					col[r] = T(x)
					off += nf
				}
			default:
				for r := r0; r < r1; r++ {
					col[r] = code(rows[off], cl.kind)
					off += nf
				}
			}
		}
	}
	if b < bvBlock {
		for c := range cols {
			clear(blk[c*bvBlock+b : (c+1)*bvBlock])
		}
	}
}

// leaves writes into vals the leaf value each of the b rows of the
// transposed block blk reaches in bitvector tree tr.
func (bf *bvForest) leafValues(f *Forest, vals *[fastBlockRows]float64, tr *bvTree, blk []float64, b int) {
	var masks [bvMaxWords][bvBlock]uint64
	for w := range int(tr.words) {
		sg := &bf.segs[tr.seg+int32(w)]
		bf.vectorSplits(&masks[w], bf.groups(sg), blk, b)
		for k := sg.scalar; k < sg.hi; k++ {
			bn := &bf.nodes[k]
			nd := &f.Nodes[bn.src]
			col := blk[int(bn.off)/8:]
			for r := 0; r < b; r++ {
				if !f.goLeft(nd, col[r]) {
					masks[w][r] &= bn.keep
				}
			}
		}
	}
	lv := bf.leaves[tr.leaf0:]
	if tr.words == 1 {
		for r := 0; r < b; r++ {
			vals[r] = lv[bits.LeadingZeros64(masks[0][r])]
		}
		return
	}
	for r := 0; r < b; r++ {
		// The leftmost leaf left: the first word with a bit set.
		w := 0
		for masks[w][r] == 0 {
			w++
		}
		vals[r] = lv[w*64+bits.LeadingZeros64(masks[w][r])]
	}
}

// vectorSplits applies the vector splits g to masks for the first b rows
// (rounded up to the kernel's width) on bf.level.
func (bf *bvForest) vectorSplits(masks *[bvBlock]uint64, g bvGroups, blk []float64, b int) {
	switch bf.level {
	case levelAVX512:
		bvSplitsAVX512(masks, g, blk, b)
	case levelAVX2:
		bvSplitsAVX2(masks, g, blk, b)
	default:
		bvSplitsScalar(masks, g, blk, b)
	}
}

// bvSplitsScalar is the vector kernels' contract in plain Go: masks start
// all ones, and each split clears its left leaves from row r when it sends
// the row right (see bvSeg), x being the row's value in the split's column.
func bvSplitsScalar(masks *[bvBlock]uint64, g bvGroups, blk []float64, b int) {
	for r := range masks[:b] {
		masks[r] = math.MaxUint64
	}
	apply := func(nodes []bvNode, right func(x float64, bn *bvNode) bool) {
		for k := range nodes {
			bn := &nodes[k]
			col := blk[int(bn.off)/8:]
			for r := 0; r < b; r++ {
				if right(col[r], bn) {
					masks[r] &= bn.keep
				}
			}
		}
	}
	in := func(x float64, bn *bvNode) bool {
		return math.Float64bits(bn.bound)>>(math.Float64bits(x)&63)&1 != 0 && math.Float64bits(x) < 64
	}
	apply(g.num, func(x float64, bn *bvNode) bool { return x >= bn.bound })
	apply(g.in, in)
	apply(g.inNaN, func(x float64, bn *bvNode) bool { return in(x, bn) || math.Float64bits(x) == catNaN })
	apply(g.out, func(x float64, bn *bvNode) bool { return !in(x, bn) })
}
