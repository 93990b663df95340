package kernels

import "math"

// FastForest is a Forest compiled for evaluation over blocks of rows. It
// gives the same margins as Forest.Margins, bit for bit, and is what serving
// and scoring use; Forest.Margins stays as the plain reference.
//
// Two ideas carry the speed:
//   - Every numerical split becomes one float64 "x < bound" test. XGBoost's
//     float32(x) < t and LightGBM's x <= t both have an exact float64 bound
//     (see lessBound32 and lessBoundLE), and LightGBM's "NaN is zero" nodes
//     become a fixed NaN direction, so one branch-free step serves both.
//   - A block of rows goes through one tree before the next tree is touched,
//     so the tree stays in L1, and the rows of the block advance in lockstep
//     a fixed number of levels (leaves point to themselves), which lets the
//     CPU overlap the rows' dependent loads instead of stalling on each
//     row's mispredicted branches.
//
// Trees with categorical splits, linear leaves or LightGBM's zero-as-missing
// nodes keep the reference walk, tree by tree, inside the same block loop so
// the summation order (and so the rounding) is unchanged.
//
// On the SIMD levels, blocks of 8 rows or more go instead through the
// bitvector form of every tree of up to 256 leaves without linear leaves,
// categorical splits included (forest_bv.go, and forest_bv32.go for
// XGBoost's forests): the walk above is then for single rows, small
// blocks, and the trees the bitvector form does not take.
//
// A FastForest is immutable and safe for concurrent use.
type FastForest struct {
	src   *Forest
	nodes []fastNode
	trees []fastTree
	// bv evaluates the trees it can by bitvector on blocks of at least
	// bvMinRows rows (forest_bv.go); nil on the portable level. bv32 does
	// the same in float32 for XGBoost's forests on AVX-512
	// (forest_bv32.go); when it is set, bv is not.
	bv   *bvForest
	bv32 *bv32Forest
}

// fastNode is 16 bytes. A step from node i goes to i+1 (left child of a
// split, in pre-order) or i+right; a leaf has neither bit nor offset, so it
// steps to itself and a lockstep walk can run past it harmlessly.
type fastNode struct {
	// bound: a split sends x left when x < bound. A leaf holds its value.
	bound float64
	// bits holds the feature index in its low 30 bits, fastSplit on a
	// split, and fastNaNLeft when NaN goes left.
	bits  uint32
	right int32
}

const (
	fastFeatureMask        = 1<<30 - 1
	fastSplit       uint32 = 1 << 30
	fastNaNLeft     uint32 = 1 << 31
)

type fastTree struct {
	root   int32 // index into nodes, or into src.Nodes for a slow tree
	depth  int32 // levels to step in lockstep
	group  int32
	slow   bool // walk with the reference evaluator
	weight float64
}

// fastBlockRows is how many rows go through a tree together. Measured with
// BenchmarkTrees (300 trees, depth 6, batch 256, one goroutine): 16 rows
// 8.3 µs/row, 64 rows 7.8, 128 rows 7.7; 64 keeps the lockstep state and the
// float32 accumulators on the stack.
const fastBlockRows = 64

// lockstepMaxDepth bounds the fixed-depth walk: a deeper (typically
// unbalanced, LightGBM leaf-wise) tree walks each row to its own leaf instead,
// so short paths do not pay for the longest one.
const lockstepMaxDepth = 12

// NewFastForest compiles f, which must pass Validate.
func NewFastForest(f *Forest) (*FastForest, error) {
	return newFastForest(f, activeLevel)
}

// newFastForest is NewFastForest on an explicit SIMD level, so tests can
// hold the levels against each other.
func newFastForest(f *Forest, level simdLevel) (*FastForest, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	ff := &FastForest{src: f, trees: make([]fastTree, len(f.Roots))}
	for t, root := range f.Roots {
		end := int32(len(f.Nodes))
		if t+1 < len(f.Roots) {
			end = f.Roots[t+1]
		}
		tr := fastTree{group: f.Groups[t], weight: 1}
		if f.Weights != nil {
			tr.weight = f.Weights[t]
		}
		nodes, ok := compileTree(f, root, f.Nodes[root:end])
		if !ok {
			tr.slow, tr.root = true, root
		} else {
			tr.root = int32(len(ff.nodes))
			tr.depth = int32(treeDepth(nodes))
			ff.nodes = append(ff.nodes, nodes...)
		}
		ff.trees[t] = tr
	}
	if ff.bv32 = newBV32Forest(f, level); ff.bv32 == nil {
		ff.bv = newBVForest(f, level)
	}
	return ff, nil
}

// compileTree converts one tree's nodes, src = f.Nodes[root:...] in
// pre-order, or reports that it needs the reference walk.
func compileTree(f *Forest, root int32, src []Node) ([]fastNode, bool) {
	out := make([]fastNode, len(src))
	for i := range src {
		nd := &src[i]
		if nd.IsLeaf() {
			if nd.Linear != 0 {
				return nil, false
			}
			out[i] = fastNode{bound: nd.Value}
			continue
		}
		if nd.Flags&(FlagCategorical|FlagMissingZero) != 0 {
			return nil, false
		}
		bound, nanLeft, ok := splitBound(f, nd)
		if !ok {
			return nil, false
		}
		bits := uint32(nd.Feature) | fastSplit
		if nanLeft {
			bits |= fastNaNLeft
		}
		// Right is absolute in the forest; keep it relative to the node.
		out[i] = fastNode{bound: bound, bits: bits, right: nd.Right - root - int32(i)}
	}
	return out, true
}

// splitBound returns the strict float64 bound of numerical split nd (x
// goes left when x < bound) and where NaN goes, or false when there is
// none (LightGBM's x <= +Inf).
func splitBound(f *Forest, nd *Node) (bound float64, nanLeft, ok bool) {
	nanLeft = nd.Flags&FlagDefaultLeft != 0
	switch f.Compare {
	case LessFloat32:
		bound = lessBound32(float32(nd.Value))
	case LessEqFloat64:
		if bound, ok = lessBoundLE(nd.Value); !ok {
			return 0, false, false
		}
		if nd.Flags&FlagNaNIsZero != 0 {
			nanLeft = 0 <= nd.Value
		}
	}
	return bound, nanLeft, true
}

// lessBound32 returns the float64 b for which, for every non-NaN float64 x,
// float32(x) < t exactly when x < b: XGBoost's comparison moved to float64.
// Conversion to float32 rounds to nearest, ties to even, so the values that
// round below t are those below the midpoint m between t and the float32
// p just under it, plus m itself when the tie goes to p (p even).
func lessBound32(t float32) float64 {
	if math.IsInf(float64(t), -1) {
		return math.Inf(-1)
	}
	p := math.Nextafter32(t, float32(math.Inf(-1)))
	var m float64
	switch {
	case math.IsInf(float64(t), 1):
		// Past MaxFloat32 the float32 step is taken as the one below it,
		// 2^104, so halfway is 2^103 above; the tie rounds to infinity.
		m = float64(p) + 0x1p103
	case math.IsInf(float64(p), -1):
		m = float64(t) - 0x1p103 // t is -MaxFloat32; the same, mirrored
	default:
		m = (float64(p) + float64(t)) / 2 // exact: 25 significant bits
	}
	if math.Float32bits(p)&1 == 0 {
		return math.Nextafter(m, math.Inf(1))
	}
	return m
}

// lessBoundLE returns b with x <= t exactly when x < b for non-NaN x
// (LightGBM's comparison as a strict one). There is none for t = +Inf.
func lessBoundLE(t float64) (float64, bool) {
	if math.IsInf(t, 1) {
		return 0, false
	}
	return math.Nextafter(t, math.Inf(1)), true
}

// treeDepth is the number of splits on the longest path of a compiled tree.
func treeDepth(nodes []fastNode) int {
	depth := make([]int, len(nodes))
	best := 0
	for i := range nodes {
		n := &nodes[i]
		if n.bits&fastSplit == 0 {
			best = max(best, depth[i])
			continue
		}
		depth[i+1] = depth[i] + 1
		depth[i+int(n.right)] = depth[i] + 1
	}
	return best
}

// NumGroups is the number of margins per row.
func (ff *FastForest) NumGroups() int { return len(ff.src.Base) }

// NumFeatures is the width of a row.
func (ff *FastForest) NumFeatures() int { return ff.src.NumFeatures }

// Margins appends the raw margins of rows to dst exactly as Forest.Margins
// does, and returns the extended slice. It does not allocate when dst has
// room and the forest has at most 16 output groups.
//
// A batch of at least 2·ParallelMinRows rows is split over the default
// worker pool (see Pool), so it uses up to GOMAXPROCS cores.
func (ff *FastForest) Margins(dst, rows []float64) []float64 {
	f := ff.src
	nf := f.NumFeatures
	ng := len(f.Base)
	n := len(rows) / nf
	start := len(dst)
	dst = Grow(dst, n*ng)
	out := dst[start:]
	defaultPool().forest(ff, out, rows[:n*nf])
	return dst
}

// marginsInto writes the margins of rows into out (len(rows)/nf·ng values)
// on the calling goroutine.
func (ff *FastForest) marginsInto(out, rows []float64) {
	f := ff.src
	nf := f.NumFeatures
	ng := len(f.Base)
	n := len(rows) / nf
	if n < lockstepMinRows {
		for r := 0; r < n; r++ {
			ff.oneRow(out[r*ng:(r+1)*ng], rows[r*nf:(r+1)*nf])
		}
		return
	}
	// blk (blk32) holds a block transposed for the bitvector trees.
	var blk []float64
	var blk32 []float32
	if n >= bvMinRows {
		switch {
		case ff.bv32 != nil:
			bp := ff.bv32.blocks.Get().(*[]float32)
			defer ff.bv32.blocks.Put(bp)
			blk32 = *bp
		case ff.bv != nil:
			bp := ff.bv.blocks.Get().(*[]float64)
			defer ff.bv.blocks.Put(bp)
			blk = *bp
		}
	}
	if f.Float32Sum {
		// Sums are kept in float32, as XGBoost does; acc holds one block,
		// group-major (group g's sums at acc[g*fastBlockRows:]) so each
		// tree adds to consecutive sums.
		const stackAcc = fastBlockRows * 16
		var stack [stackAcc]float32
		var acc []float32
		if ng <= 16 {
			acc = stack[:]
		} else {
			acc = make([]float32, fastBlockRows*ng)
		}
		for r0 := 0; r0 < n; r0 += fastBlockRows {
			b := min(fastBlockRows, n-r0)
			for g, v := range f.Base {
				sums := acc[g*fastBlockRows : g*fastBlockRows+b]
				for r := range sums {
					sums[r] = float32(v)
				}
			}
			ff.block32(acc, rows[r0*nf:(r0+b)*nf], b, nf, blk, blk32)
			for r := 0; r < b; r++ {
				for g := 0; g < ng; g++ {
					out[(r0+r)*ng+g] = float64(acc[g*fastBlockRows+r])
				}
			}
		}
		return
	}
	for r0 := 0; r0 < n; r0 += fastBlockRows {
		b := min(fastBlockRows, n-r0)
		o := out[r0*ng : (r0+b)*ng]
		for r := 0; r < b; r++ {
			copy(o[r*ng:(r+1)*ng], f.Base)
		}
		ff.block64(o, rows[r0*nf:(r0+b)*nf], b, nf, ng, blk)
	}
}

// leaves writes into vals the leaf value each of the b rows reaches in tree
// tr.
func (ff *FastForest) leaves(vals *[fastBlockRows]float64, tr *fastTree, rows []float64, b, nf int) {
	if tr.slow {
		for r := 0; r < b; r++ {
			vals[r] = ff.src.leaf(tr.root, rows[r*nf:(r+1)*nf])
		}
		return
	}
	nodes := ff.nodes[tr.root:]
	if tr.depth > lockstepMaxDepth || b < lockstepMinRows {
		// One row at a time, with ordinary branches: with few rows there is
		// nothing to overlap, and speculation past a predicted branch beats
		// waiting on the branch-free select (measured on one row: 10 µs
		// against 18 µs for 300 trees of depth 6).
		off := 0
		for r := 0; r < b; r++ {
			row := rows[off : off+nf]
			i := int32(0)
			for {
				n := &nodes[i]
				if n.bits&fastSplit == 0 {
					break
				}
				x := row[n.bits&fastFeatureMask]
				if x < n.bound || (x != x && n.bits&fastNaNLeft != 0) {
					i++
				} else {
					i += n.right
				}
			}
			vals[r] = nodes[i].bound
			off += nf
		}
		return
	}
	var idx [fastBlockRows]int32
	lockstep(idx[:b], nodes, rows, nf, tr.depth)
	for r, i := range idx[:b] {
		vals[r] = nodes[i].bound
	}
}

// lockstep advances every row of a block depth levels down one tree:
// idx[r] is row r's node, rows[r*nf:] its features. It is a small function
// of its own to give the register allocator a chance; it still spills two
// values per step (see the assembly), which is where the next gain lies.
func lockstep(idx []int32, nodes []fastNode, rows []float64, nf int, depth int32) {
	for d := int32(0); d < depth; d++ {
		off := 0
		for r, i := range idx {
			idx[r] = i + step(&nodes[i], rows, off)
			off += nf
		}
	}
}

// lockstepMinRows is the batch size below which rows are evaluated one by
// one, with the trees instead of the rows in lockstep (see oneRow).
const lockstepMinRows = 4

// treesInLockstep is how many trees oneRow walks side by side.
const treesInLockstep = 8

// oneRow writes the margins of one row to o. With a single row there are no
// other rows to overlap, so it overlaps trees: treesInLockstep consecutive
// trees advance one level at a time, branch-free, and their leaf values are
// then added in tree order, so the sums round exactly as Forest.Margins.
// Measured with BenchmarkTrees (300 trees, depth 6, batch 1, rows varying):
// the reference walk 33-35 µs/row, a branchy walk of the compiled trees
// about 20, this 16-18.
func (ff *FastForest) oneRow(o, row []float64) {
	f := ff.src
	var vals [256]float64
	var acc32 [16]float32
	acc := acc32[:0]
	if f.Float32Sum {
		if len(o) <= len(acc32) {
			acc = acc32[:len(o)]
		} else {
			acc = make([]float32, len(o))
		}
		for g, b := range f.Base {
			acc[g] = float32(b)
		}
	} else {
		copy(o, f.Base)
	}
	for t0 := 0; t0 < len(ff.trees); t0 += len(vals) {
		t1 := min(len(ff.trees), t0+len(vals))
		ff.treeLeaves(vals[:t1-t0], ff.trees[t0:t1], row)
		for t := t0; t < t1; t++ {
			tr := &ff.trees[t]
			v := vals[t-t0]
			if f.Float32Sum {
				v32 := float32(v)
				if tr.weight != 1 {
					v32 = float32(v32 * float32(tr.weight))
				}
				acc[tr.group] += v32
			} else {
				if tr.weight != 1 {
					v = float64(v * tr.weight) // rounded, never fused
				}
				o[tr.group] += v
			}
		}
	}
	if f.Float32Sum {
		for g, v := range acc {
			o[g] = float64(v)
		}
	}
}

// treeLeaves writes to vals[k] the leaf value row reaches in trees[k].
func (ff *FastForest) treeLeaves(vals []float64, trees []fastTree, row []float64) {
	for k0 := 0; k0 < len(trees); {
		// A run of up to treesInLockstep fast, shallow trees goes together;
		// any other tree goes alone.
		k1 := k0
		depth := int32(0)
		var idx [treesInLockstep]int32
		for k1 < len(trees) && k1-k0 < treesInLockstep && !trees[k1].slow && trees[k1].depth <= lockstepMaxDepth {
			idx[k1-k0] = trees[k1].root
			depth = max(depth, trees[k1].depth)
			k1++
		}
		if k1 == k0 {
			tr := &trees[k0]
			if tr.slow {
				vals[k0] = ff.src.leaf(tr.root, row)
			} else {
				i := tr.root
				for ff.nodes[i].bits&fastSplit != 0 {
					i += step(&ff.nodes[i], row, 0)
				}
				vals[k0] = ff.nodes[i].bound
			}
			k0++
			continue
		}
		lockstep(idx[:k1-k0], ff.nodes, row, 0, depth)
		for k, i := range idx[:k1-k0] {
			vals[k0+k] = ff.nodes[i].bound
		}
		k0 = k1
	}
}

// step returns the offset from node n to the child that the row starting at
// rows[off] goes to: 1 (left), n.right (right), or 0 at a leaf. It is
// written without a branch on the comparison, which is unpredictable: the
// select compiles to a conditional move.
func step(n *fastNode, rows []float64, off int) int32 {
	bits := n.bits
	x := rows[off+int(bits&fastFeatureMask)]
	left := b2i(x < n.bound) | b2i(x != x)&int32(bits>>31)
	right := n.right
	return right + left*(int32(bits>>30&1)-right)
}

// b2i is 1 for true and 0 for false; the compiler makes it a SETcc.
func b2i(b bool) int32 {
	var i int32
	if b {
		i = 1
	}
	return i
}

// prepare transposes the block's rows into blk for the bitvector trees; it
// returns nil (walk every tree) when blk is nil or the block is too small.
func (ff *FastForest) prepare(blk, rows []float64, b, nf int) []float64 {
	if blk == nil || b < bvMinRows {
		return nil
	}
	ff.bv.transpose(blk, rows, b, nf)
	return blk
}

// bvTree returns tree t's bitvector form when blk (the block transposed) is
// set and the tree has one.
func (ff *FastForest) bvTree(t int, blk []float64) *bvTree {
	if blk == nil {
		return nil
	}
	if k := ff.bv.tree[t]; k >= 0 {
		return &ff.bv.trees[k]
	}
	return nil
}

// block64 adds each tree's leaf values, in float64 and tree order, to o
// (row-major, ng sums a row) for the b rows.
func (ff *FastForest) block64(o, rows []float64, b, nf, ng int, blk []float64) {
	var vals [fastBlockRows]float64
	blk = ff.prepare(blk, rows, b, nf)
	for t := range ff.trees {
		tr := &ff.trees[t]
		g := int(tr.group)
		if bt := ff.bvTree(t, blk); bt != nil {
			if ng == 1 && ff.bv.add64(o[:b], tr.weight, bt, blk) {
				continue
			}
			ff.bv.leafValues(ff.src, &vals, bt, blk, b)
		} else {
			ff.leaves(&vals, tr, rows, b, nf)
		}
		if w := tr.weight; w != 1 {
			for r := 0; r < b; r++ {
				o[r*ng+g] += float64(vals[r] * w) // rounded, never fused
			}
			continue
		}
		for r := 0; r < b; r++ {
			o[r*ng+g] += vals[r]
		}
	}
}

// block32 adds each tree's leaf values, rounded to float32, in float32 and
// tree order, to acc (group-major: group g's sums at
// acc[g*fastBlockRows:]) for the b rows.
func (ff *FastForest) block32(acc []float32, rows []float64, b, nf int, blk []float64, blk32 []float32) {
	var vals [fastBlockRows]float64
	blk = ff.prepare(blk, rows, b, nf)
	if blk32 != nil && b >= bvMinRows {
		ff.bv32.transpose(blk32, rows, b, nf)
	} else {
		blk32 = nil
	}
	for t := range ff.trees {
		tr := &ff.trees[t]
		sums := acc[int(tr.group)*fastBlockRows:][:b]
		if blk32 != nil {
			if k := ff.bv32.tree[t]; k >= 0 {
				ff.bv32.add(sums, tr.weight, &ff.bv32.trees[k], blk32)
				continue
			}
		}
		if bt := ff.bvTree(t, blk); bt != nil {
			if ff.bv.add32(sums, tr.weight, bt, blk) {
				continue
			}
			ff.bv.leafValues(ff.src, &vals, bt, blk, b)
		} else {
			ff.leaves(&vals, tr, rows, b, nf)
		}
		// The weight test stays out of the loops: inside, the stores to
		// sums would make the compiler reload tr.weight every row.
		if tr.weight != 1 {
			w := float32(tr.weight)
			for r := range sums {
				sums[r] += float32(float32(vals[r]) * w)
			}
			continue
		}
		for r := range sums {
			sums[r] += float32(vals[r])
		}
	}
}
