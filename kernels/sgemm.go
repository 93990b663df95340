package kernels

import "fmt"

// Single-precision dense layers: C = act(A·B + bias) with B packed once.
//
// Layout. B is cut into panels of sgemmNR = 32 columns; panel q holds columns
// [32q, 32q+32) for every row of B as a k×32 row-major block (row p at offset
// 32p), and the last panel is padded with zero columns. A and C stay plain
// row-major slices: A is read in place (no packing, so no scratch buffer and
// no allocation per call) and C is written once per k block.
//
// Loop nest (BLIS order with the A pack left out):
//
//	for pc in k, step sgemmKC        B block kc×32 of one panel = 32 KB: L1
//	  for ic in m, step sgemmMC      A block mc×kc = up to 256 KB: L2
//	    for each panel q             the panel's kc×32 block stays in L1 ...
//	      for i in ic..ic+mc, step MR  ... while MR rows of A stream past it
//	        tile: C[i:i+MR, 32q:32q+32] (+)= A[i:i+MR, pc:pc+kc]·Bq[pc:pc+kc]
//
// m = 1 skips all that (gemv): a 1×64 tile walks two panels at a time over
// all of k, the row of A staying in L1.
//
// Blocking, measured (GFLOPS, k = n = 256, best of 20 interleaved rounds):
//
//	kc \ m          32     64    128    256
//	512 (no split) 57.9   57.3   56.9   56.4
//	256 (chosen)   57.8   57.1   57.5   56.9
//	128            55.5   55.3   55.2   54.7
//	64             52.1   51.7   51.5   50.1
//
// Smaller k blocks pay more C round trips and tile calls than they save in
// L1 misses; mc = 64 against 256 made no difference (±0.5) at these sizes.
// The m = 1 path: 256×256 in 3.07 µs best (42.8 GFLOPS, weights in L2);
// three such layers (768 KB of weights, more than L2) in 11.5 µs best.
//
// The first k block starts its accumulators from the bias (row stride 0), the
// later ones from C; the last one applies the activation: ReLU in registers
// before the store, tanh and sigmoid on the stored tile while it is still in
// L1 (their exp polynomial wants more constant registers than the 15 the
// AVX2 kernel has left). Identity costs nothing.
//
// Summation order, and why every level but AVX-512 agrees bit for bit: each
// C element is computed as acc = bias; for p := 0..k-1: acc = acc +
// round(a[p]·b[p]) — a rounded float32 product, then a rounded add, p in
// increasing order, no FMA. Storing and reloading C between k blocks is exact,
// so blocking does not change the result, and the portable and AVX2 kernels
// produce identical bits (tested). The AVX-512 kernel fuses the multiply-add,
// so its results differ in the last bits; all levels stay inside the error
// bound TestGemmBiasActOracle checks, |ĉ − c| ≤ γ(k+1)·(|bias| + Σ|a||b|),
// γ(n) = n·u/(1 − n·u), u = 2⁻²⁴.
//
// Measured on the development machine (AMD EPYC Zen 3, AVX2+FMA, no AVX-512,
// 2 vCPUs on a shared host, FMA peak 118 GFLOPS single-thread; best of 15
// interleaved rounds, hot L1, kc = 256 unless noted):
//
//	AVX2 micro-kernel                                           GFLOPS
//	2×32, broadcast A, VMULPS+VADDPS (chosen)                    59–66
//	5×16, broadcast A, VFMADD213PS                                  52
//	5×16, broadcast A, VMULPS+VADDPS                                52
//	5×16, A pre-broadcast ×8 in a pack, VFMADD213PS                 70
//	3×24, broadcast A, VMULPS+VADDPS                             54–60
//	6×16, broadcast A, VFMADD213PS                                  36 (spills)
//	6×16, A duplicated to dodge copies, VFMADD213PS                 35 (spills)
//	any of the above unrolled ×2 in k                           ±2 (noise)
//
// Why: Go's AVX2 code gets 15 ymm registers (X15 is the ABI's zero), its
// FMA is VFMADD213PS only — the product's first operand is overwritten — so
// every reused broadcast needs a copy and every accumulator rotates
// registers at the back edge, and 6×16 (12 accumulators) spills. On Zen 3 a
// register broadcast (VBROADCASTSS ymm, xmm) runs at about one per cycle
// (8 loads+broadcasts+adds: 10 cycles vs 5 for 8 plain vector loads), so
// broadcasts per flop matter: 2×32 needs one per 8 multiply-adds.
// VMULPS+VADDPS costs nothing against FMA here because Zen 3 issues FADD on
// pipes apart from FMUL. The pre-broadcast 5×16 was ~6% faster in isolation
// but needs an 8× expanded copy of A per call (scratch, a pool, more code);
// rejected for that margin. OpenBLAS 0.3.21 (Zen kernel) on the same machine:
// 66–74 GFLOPS at m = k = n = 256..1024.
//
// On this shared host the GEMM's speed is bimodal over time: ~57 GFLOPS in
// quiet phases, ~35 in busy ones, while a register-only FMA loop keeps 115
// and every kernel above that touches memory — even a 4 KB L1-resident
// panel — drops to 25–40. That looks like a neighbour on the same physical
// core competing for dispatch and load slots. OpenBLAS loses much less
// (~75 → ~60): its kernel issues about half our instructions per flop
// (memory-operand broadcasts and FMAs, which archsimd cannot express below
// 512 bits). So compare with it interleaved, burst by burst, as the
// benchmark notes in bench/sgemm_numpy.py describe.
const (
	sgemmNR = 32  // panel width: columns per tile
	sgemmKC = 256 // k block: the kc×32 block of a panel is 32 KB, L1's size
	sgemmMC = 256 // rows of A per L2 block
)

// PackedB is the B operand of GemmBiasAct, packed once into column panels.
// It is immutable after PackB or PackWeights returns and safe for concurrent
// use by any number of GemmBiasAct calls.
type PackedB struct {
	k, n int
	// data holds ceil(n/32) panels of k×32 floats, zero padded.
	data []float32
}

// K returns the inner dimension: the rows of B, the columns of A.
func (p *PackedB) K() int { return p.k }

// N returns the columns of B and of C.
func (p *PackedB) N() int { return p.n }

func newPackedB(k, n int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: pack %d×%d: negative dimension", k, n))
	}
	np := (n + sgemmNR - 1) / sgemmNR
	return &PackedB{k: k, n: n, data: make([]float32, np*k*sgemmNR)}
}

// PackB packs b, a k×n row-major matrix (b[p*n+j] is row p, column j), for
// GemmBiasAct. It allocates the packed copy (ceil(n/32)·32·k floats) and does
// not keep b. It panics if len(b) < k·n.
func PackB(k, n int, b []float32) *PackedB {
	pb := newPackedB(k, n)
	if len(b) < k*n {
		panic(fmt.Sprintf("kernels: PackB %d×%d: len(b) = %d, want at least %d", k, n, len(b), k*n))
	}
	for q := 0; q*sgemmNR < n; q++ {
		j0 := q * sgemmNR
		w := min(sgemmNR, n-j0)
		panel := pb.data[q*k*sgemmNR : (q+1)*k*sgemmNR]
		for p := 0; p < k; p++ {
			copy(panel[p*sgemmNR:p*sgemmNR+w], b[p*n+j0:p*n+j0+w])
		}
	}
	return pb
}

// PackWeights packs the weights of a dense layer stored as DenseForward
// stores them — out×in, row-major, row o holding the weights into unit o —
// so that GemmBiasAct(c, x, m, PackWeights(out, in, w), bias, act) computes
// out units for each of m input rows of length in: B = wᵀ, K() = in,
// N() = out. It allocates the packed copy and does not keep w. It panics if
// len(w) < out·in.
func PackWeights(out, in int, w []float32) *PackedB {
	pb := newPackedB(in, out)
	if len(w) < out*in {
		panic(fmt.Sprintf("kernels: PackWeights %d×%d: len(w) = %d, want at least %d", out, in, len(w), out*in))
	}
	for o := 0; o < out; o++ {
		q, col := o/sgemmNR, o%sgemmNR
		panel := pb.data[q*in*sgemmNR : (q+1)*in*sgemmNR]
		for i, v := range w[o*in : (o+1)*in] {
			panel[i*sgemmNR+col] = v
		}
	}
	return pb
}

// GemmBiasAct computes c = act(a·B + bias) in float32, where a is m×K
// row-major (row i at a[i*K:]), B is the packed K×N operand, bias has N
// entries (or is nil for none), and c is m×N row-major; K and N come from pb.
// It writes c[:m*N] and nothing else, reads a[:m*K], does not allocate and
// does not keep any argument. a and c must not overlap. Safe for concurrent
// use with distinct c.
//
// Accuracy: before the activation each element is within γ(K+1)·(|bias| +
// Σ|a||b|) of the exact value (γ(n) = n·u/(1−n·u), u = 2⁻²⁴); tanh and sigmoid
// then add Tanh32MaxErr and Sigmoid32MaxErr. ReLU maps NaN to 0, as Activate
// does. The portable and AVX2 paths return identical bits (AVX-512 fuses
// multiply-adds and stays within the same bound); see the comment at the top
// of sgemm.go. A large product of several rows may share its column panels
// with idle cores, bit for bit the same (gemm_parallel.go); it returns when
// all of c is written.
//
// It panics if len(a) < m·K, len(c) < m·N, bias is neither nil nor of length
// N, m < 0, or act is unknown.
func GemmBiasAct(c, a []float32, m int, pb *PackedB, bias []float32, act Activation) {
	gemmBiasActShared(activeLevel, c, a, m, pb, bias, act)
}

// zeroBias stands in for a nil bias: an init row of 64 zeros read with
// stride 0.
var zeroBias [2 * sgemmNR]float32

func checkGemmArgs(c, a []float32, m int, pb *PackedB, bias []float32, act Activation) {
	switch {
	case m < 0:
		panic(fmt.Sprintf("kernels: GemmBiasAct: m = %d < 0", m))
	case len(a) < m*pb.k:
		panic(fmt.Sprintf("kernels: GemmBiasAct: len(a) = %d, want at least m·K = %d·%d", len(a), m, pb.k))
	case len(c) < m*pb.n:
		panic(fmt.Sprintf("kernels: GemmBiasAct: len(c) = %d, want at least m·N = %d·%d", len(c), m, pb.n))
	case bias != nil && len(bias) != pb.n:
		panic(fmt.Sprintf("kernels: GemmBiasAct: len(bias) = %d, want N = %d or nil", len(bias), pb.n))
	case act > ActSigmoid:
		panic(fmt.Sprintf("kernels: GemmBiasAct: unknown activation %d", act))
	}
}

// gemmBiasAct is GemmBiasAct on an explicit SIMD level, so tests can run
// every level the CPU has against each other.
func gemmBiasAct(lv simdLevel, c, a []float32, m int, pb *PackedB, bias []float32, act Activation) {
	checkGemmArgs(c, a, m, pb, bias, act)
	k, n := pb.k, pb.n
	if m == 0 || n == 0 {
		return
	}
	if m == 1 {
		gemv(lv, c[:n], a[:k], pb, bias, act)
		return
	}
	gemmPanels(lv, c, a, m, pb, bias, act, 0, (n+sgemmNR-1)/sgemmNR)
}

// maxTileRows is the most rows any level's tile kernel computes at once.
const maxTileRows = 4

type tileScratch struct {
	c    [maxTileRows * sgemmNR]float32
	bias [sgemmNR]float32
}

// tileJob is one MR×32 tile of C in one k block.
type tileJob struct {
	rows, kc    int
	i, j        int // top-left element of the tile in C
	first, last bool
}

// run computes the tile, going through s when the panel is the partial last
// one, and applies act on the last k block.
func (t tileJob) run(lv simdLevel, c, a []float32, lda int, bp []float32, n int, bias []float32, act Activation, s *tileScratch) {
	w := min(sgemmNR, n-t.j)
	relu := t.last && act == ActReLU
	out, ldo := c[t.i*n+t.j:], n
	var init []float32
	ldi := 0
	switch {
	case w == sgemmNR && t.first && bias != nil:
		init = bias[t.j : t.j+sgemmNR]
	case w == sgemmNR && t.first:
		init = zeroBias[:sgemmNR]
	case w == sgemmNR:
		init, ldi = out, n
	default:
		// Partial panel: compute the full 32 columns into s.c (the packed
		// panel is zero padded) and copy the w valid ones out.
		out, ldo = s.c[:], sgemmNR
		if t.first {
			clear(s.bias[w:])
			if bias != nil {
				copy(s.bias[:w], bias[t.j:t.j+w])
			} else {
				clear(s.bias[:w])
			}
			init = s.bias[:]
		} else {
			for r := 0; r < t.rows; r++ {
				copy(s.c[r*sgemmNR:r*sgemmNR+w], c[(t.i+r)*n+t.j:(t.i+r)*n+t.j+w])
			}
			init, ldi = s.c[:], sgemmNR
		}
	}
	tileKernel(lv, t.rows, t.kc, a, lda, bp, init, ldi, out, ldo, relu)
	if w < sgemmNR {
		for r := 0; r < t.rows; r++ {
			copy(c[(t.i+r)*n+t.j:(t.i+r)*n+t.j+w], s.c[r*sgemmNR:r*sgemmNR+w])
		}
	}
	if t.last && (act == ActTanh || act == ActSigmoid) {
		for r := 0; r < t.rows; r++ {
			activate32(lv, c[(t.i+r)*n+t.j:(t.i+r)*n+t.j+w], act)
		}
	}
}

// gemv is the m = 1 case: one row of A against panel pairs, the 1×64 tile
// keeping eight accumulators in flight. k is not blocked: the row of A
// stays in L1 and each panel is read once anyway.
func gemv(lv simdLevel, c, a []float32, pb *PackedB, bias []float32, act Activation) {
	k, n := pb.k, pb.n
	var tmp, bpad [2 * sgemmNR]float32
	panel := k * sgemmNR
	for j := 0; j < n; j += 2 * sgemmNR {
		w := min(2*sgemmNR, n-j)
		q := j / sgemmNR
		cols := 2 * sgemmNR
		if w <= sgemmNR {
			cols = sgemmNR
		}
		out := c[j:]
		init := zeroBias[:]
		if bias != nil {
			init = bias[j:]
		}
		if w < cols {
			out = tmp[:]
			if bias != nil {
				clear(bpad[w:])
				copy(bpad[:w], bias[j:])
				init = bpad[:]
			}
		}
		b0 := pb.data[q*panel : (q+1)*panel]
		if cols == 2*sgemmNR {
			b1 := pb.data[(q+1)*panel : (q+2)*panel]
			rowKernel64(lv, k, a, b0, b1, init, out, act == ActReLU)
		} else {
			tileKernel(lv, 1, k, a, k, b0, init, 0, out, sgemmNR, act == ActReLU)
		}
		if w < cols {
			copy(c[j:j+w], tmp[:w])
		}
		if act == ActTanh || act == ActSigmoid {
			activate32(lv, c[j:j+w], act)
		}
	}
}

// tileKernel computes rows×32 of C in one k block:
//
//	c[r*ldc+j] = init[r*ldi+j] + Σ_{p<kc} a[r*lda+p]·b[p*32+j]   (r < rows, j < 32)
//
// then clamps at 0 when relu is set. rows is 1 or tileRows(lv).
func tileKernel(lv simdLevel, rows, kc int, a []float32, lda int, b, init []float32, ldi int, c []float32, ldc int, relu bool) {
	switch lv {
	case levelAVX2:
		if rows == 2 {
			tile2x32AVX2(kc, a, lda, b, init, ldi, c, ldc, relu)
		} else {
			tile1x32AVX2(kc, a, b, init, c, relu)
		}
	case levelAVX512:
		if rows == 4 {
			tile4x32AVX512(kc, a, lda, b, init, ldi, c, ldc, relu)
		} else {
			tile1x32AVX512(kc, a, b, init, c, relu)
		}
	default:
		tilePortable(rows, kc, a, lda, b, init, ldi, c, ldc, relu)
	}
}

// rowKernel64 is the 1×64 tile over two panels: c[j] = init[j] + Σ_p
// a[p]·b0[p*32+j] for j < 32 and the same with b1 for j in [32, 64).
func rowKernel64(lv simdLevel, k int, a, b0, b1, init, c []float32, relu bool) {
	switch lv {
	case levelAVX2:
		row64AVX2(k, a, b0, b1, init, c, relu)
	case levelAVX512:
		row64AVX512(k, a, b0, b1, init, c, relu)
	default:
		tilePortable(1, k, a, k, b0, init, 0, c, sgemmNR, relu)
		tilePortable(1, k, a, k, b1, init[sgemmNR:], 0, c[sgemmNR:], sgemmNR, relu)
	}
}

// tileRows is the row count of the level's main tile kernel.
func tileRows(lv simdLevel) int {
	switch lv {
	case levelAVX512:
		return 4
	default:
		return 2
	}
}

// tilePortable is tileKernel in plain Go, blocked 2×4 in scalar registers
// (8 accumulators, 4 B values and 2 A values: 14 of the 15 float registers
// amd64 gives Go code). The conversion in acc += float32(a*b) forbids fusing
// into an FMA (the spec allows fusion otherwise, and arm64 does it), which
// keeps it bit-identical to the AVX2 kernel.
func tilePortable(rows, kc int, a []float32, lda int, b, init []float32, ldi int, c []float32, ldc int, relu bool) {
	r := 0
	for ; r+2 <= rows; r += 2 {
		a0 := a[r*lda : r*lda+kc]
		a1 := a[(r+1)*lda : (r+1)*lda+kc]
		i0, i1 := init[r*ldi:r*ldi+sgemmNR], init[(r+1)*ldi:(r+1)*ldi+sgemmNR]
		c0, c1 := c[r*ldc:r*ldc+sgemmNR], c[(r+1)*ldc:(r+1)*ldc+sgemmNR]
		for j := 0; j < sgemmNR; j += 4 {
			s00, s01, s02, s03 := i0[j], i0[j+1], i0[j+2], i0[j+3]
			s10, s11, s12, s13 := i1[j], i1[j+1], i1[j+2], i1[j+3]
			bj := b[min(j, len(b)):] // b is empty when kc = 0
			for p := range kc {
				bp := bj[p*sgemmNR : p*sgemmNR+4]
				x0, x1 := a0[p], a1[p]
				s00 += float32(x0 * bp[0])
				s01 += float32(x0 * bp[1])
				s02 += float32(x0 * bp[2])
				s03 += float32(x0 * bp[3])
				s10 += float32(x1 * bp[0])
				s11 += float32(x1 * bp[1])
				s12 += float32(x1 * bp[2])
				s13 += float32(x1 * bp[3])
			}
			c0[j], c0[j+1], c0[j+2], c0[j+3] = s00, s01, s02, s03
			c1[j], c1[j+1], c1[j+2], c1[j+3] = s10, s11, s12, s13
		}
		if relu {
			relu32Portable(c0)
			relu32Portable(c1)
		}
	}
	for ; r < rows; r++ {
		a0 := a[r*lda : r*lda+kc]
		i0 := init[r*ldi : r*ldi+sgemmNR]
		c0 := c[r*ldc : r*ldc+sgemmNR]
		for j := 0; j < sgemmNR; j += 4 {
			s0, s1, s2, s3 := i0[j], i0[j+1], i0[j+2], i0[j+3]
			bj := b[min(j, len(b)):]
			for p, x := range a0 {
				bp := bj[p*sgemmNR : p*sgemmNR+4]
				s0 += float32(x * bp[0])
				s1 += float32(x * bp[1])
				s2 += float32(x * bp[2])
				s3 += float32(x * bp[3])
			}
			c0[j], c0[j+1], c0[j+2], c0[j+3] = s0, s1, s2, s3
		}
		if relu {
			relu32Portable(c0)
		}
	}
}
