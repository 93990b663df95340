package drift

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Epsilon is the proportion PSI gives a bin that is empty on one side, and
// ChiSquare a category the reference never saw, instead of 0 (which would
// make both infinite). 1e-4 is a common choice in PSI implementations: one
// empty bin among 20 adds at most about 0.05·ln(500) ≈ 0.3 to the PSI, so a
// bin the window leaves empty (or fills for the first time) counts as
// drift, but a single stray value in a large window does not.
const Epsilon = 1e-4

// sum64 is the total of counts.
func sum64(counts []int64) int64 {
	var s int64
	for _, c := range counts {
		s += c
	}
	return s
}

func sameLen(ref, win []int64) {
	if len(ref) != len(win) {
		panic("BUG: drift: reference and window have different numbers of bins")
	}
}

// PSI is the population stability index of the window's counts against the
// reference's, over the same bins:
//
//	PSI = Σ (w_i − r_i) · ln(w_i / r_i)
//
// where r_i and w_i are each side's proportions (count over that side's
// total), and a proportion of 0 is replaced by Epsilon (the proportions are
// not renormalised; a bin empty on both sides adds 0). It equals numpy's
// sum((w - r) * log(w / r)) with the same replacement. NaN when either side
// is empty. ref and win must have the same length. It does not allocate.
func PSI(ref, win []int64) float64 {
	sameLen(ref, win)
	rt, wt := sum64(ref), sum64(win)
	if rt == 0 || wt == 0 {
		return math.NaN()
	}
	var psi float64
	for i := range ref {
		r := float64(ref[i]) / float64(rt)
		if r == 0 {
			r = Epsilon
		}
		w := float64(win[i]) / float64(wt)
		if w == 0 {
			w = Epsilon
		}
		psi += (w - r) * math.Log(w/r)
	}
	return psi
}

// relEntr is scipy.special.rel_entr for the arguments JSDistance passes it
// (x >= 0, y > 0 wherever x > 0).
func relEntr(x, y float64) float64 {
	if x == 0 {
		return 0
	}
	return x * math.Log(x/y)
}

// JSDistance is the Jensen-Shannon distance, base 2, between the
// distributions of the reference's and the window's counts over the same
// bins: the square root of the Jensen-Shannon divergence, in [0, 1] (0 for
// equal proportions, 1 for disjoint ones). It equals
// scipy.spatial.distance.jensenshannon(ref, win, base=2), which normalises
// the counts itself; empty bins need no special care. Where rounding would
// make the divergence a hair below 0 (scipy then returns NaN) it returns 0.
// NaN when either side is empty. It does not allocate.
func JSDistance(ref, win []int64) float64 {
	sameLen(ref, win)
	rt, wt := sum64(ref), sum64(win)
	if rt == 0 || wt == 0 {
		return math.NaN()
	}
	var left, right float64
	for i := range ref {
		p := float64(ref[i]) / float64(rt)
		q := float64(win[i]) / float64(wt)
		m := (p + q) / 2
		left += relEntr(p, m)
		right += relEntr(q, m)
	}
	js := (left + right) / math.Ln2
	return math.Sqrt(max(js/2, 0))
}

// ChiSquare is Pearson's chi-square goodness-of-fit test of the window's
// category counts against the reference's frequencies: stat = Σ (o_i −
// e_i)² / e_i with dof = k − 1 degrees of freedom, p its survival
// probability. It equals scipy.stats.chisquare(win, f_exp) with f_exp
// computed as follows. Categories empty on both sides are left out (they
// would add a degree of freedom and nothing else); k counts the rest. A
// category the reference never saw gets proportion Epsilon; the reference's
// proportions are then renormalised to sum to 1 and scaled by the window's
// total, so expected and observed totals agree as scipy requires. Fewer
// than two categories left: stat 0, p 1, dof 0 (nothing can differ). NaN
// when either side is empty. It does not allocate.
func ChiSquare(ref, win []int64) (stat, p float64, dof int) {
	sameLen(ref, win)
	rt, wt := sum64(ref), sum64(win)
	if rt == 0 || wt == 0 {
		return math.NaN(), math.NaN(), 0
	}
	prop := func(i int) float64 {
		r := float64(ref[i]) / float64(rt)
		if r == 0 {
			r = Epsilon
		}
		return r
	}
	var norm float64
	k := 0
	for i := range ref {
		if ref[i] == 0 && win[i] == 0 {
			continue
		}
		k++
		norm += prop(i)
	}
	if k < 2 {
		return 0, 1, 0
	}
	for i := range ref {
		if ref[i] == 0 && win[i] == 0 {
			continue
		}
		e := float64(wt) * (prop(i) / norm)
		d := float64(win[i]) - e
		stat += d * d / e
	}
	dof = k - 1
	return stat, distuv.ChiSquared{K: float64(dof)}.Survival(stat), dof
}

// KSStatistic is the two-sample Kolmogorov-Smirnov statistic of a and b:
// the largest distance between their empirical distribution functions,
// evaluated after every value (ties included, as scipy.stats.ks_2samp does).
// a and b must be sorted ascending and hold no NaN. NaN when either is
// empty. It does not allocate.
func KSStatistic(a, b []float64) float64 {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return math.NaN()
	}
	f1, f2 := float64(n1), float64(n2)
	var up, down float64 // max of F_a − F_b, and of F_b − F_a
	i, j := 0, 0
	for i < n1 || j < n2 {
		_, i, j = step(a, b, i, j)
		diff := float64(i)/f1 - float64(j)/f2
		up = max(up, diff)
		down = max(down, -diff)
	}
	return max(up, down)
}

// step moves i and j (positions in a and b, sorted ascending, not both at
// the end) past x, the smallest value not yet passed in either: from x on,
// the empirical distribution functions are i/len(a) and j/len(b).
// KSStatistic and Wasserstein walk the two samples with it.
func step(a, b []float64, i, j int) (x float64, ni, nj int) {
	if j == len(b) || i < len(a) && a[i] <= b[j] {
		x = a[i]
	} else {
		x = b[j]
	}
	for i < len(a) && a[i] <= x {
		i++
	}
	for j < len(b) && b[j] <= x {
		j++
	}
	return x, i, j
}

// KS is the two-sample Kolmogorov-Smirnov test of a and b (sorted
// ascending, no NaN): the statistic d and its two-sided p-value, the exact
// probability under the null hypothesis (a and b from one continuous
// distribution) of a statistic at least d. It equals
// scipy.stats.ks_2samp(a, b, method='exact'), which is also scipy's default
// ('auto') when neither sample has more than 10,000 values; like scipy, d
// is rounded to the nearest multiple of 1/lcm(len(a), len(b)) (a change
// of at most 1 ulp). Unlike scipy, it stays exact for larger samples,
// where scipy's 'auto' switches to an asymptotic formula.
//
// Cost: equal sizes n take O(n); otherwise O(len(a)·len(b)·d) steps, about
// 10^7 for 10,000 against 1,000 values at d = 0.5, and one []float64 of the
// smaller size. NaN, NaN when either sample is empty.
func KS(a, b []float64) (d, p float64) {
	d = KSStatistic(a, b)
	if math.IsNaN(d) {
		return d, d
	}
	return ksPValue(len(a), len(b), d)
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ksPValue rounds d to the lattice of steps 1/lcm(n1, n2) and returns it
// with P(D ≥ d): the share of the C(n1+n2, n1) equally likely orderings of
// the two samples whose empirical distribution functions come d or more
// apart.
func ksPValue(n1, n2 int, d float64) (float64, float64) {
	m, n := int64(n1), int64(n2)
	g := gcd(m, n)
	lcm := (m / g) * n
	h := int64(math.RoundToEven(d * float64(lcm)))
	d = float64(h) / float64(lcm)
	if h <= 0 {
		return d, 1
	}
	var p float64
	if m == n {
		p = ksOutsideSquare(m, h)
	} else {
		p = ksOutside(m, n, g, h)
	}
	return d, min(max(p, 0), 1)
}

// ksOutsideSquare is P(D ≥ h/n) for two samples of n values each, by the
// reflection principle: a path of n up-steps and n down-steps leaves the
// band |i − j| < h with probability
//
//	2 Σ_{k≥1} (−1)^(k−1) C(2n, n−kh) / C(2n, n).
//
// With t_k the k-th ratio, t_k = t_(k−1)·r_k where r_k = Π (n−j)/(n+1+j)
// over j in [(k−1)h, kh); the alternating sum is evaluated inside out as
// r_1(1 − r_2(1 − r_3(…))), which adds terms of one sign only. O(n).
func ksOutsideSquare(n, h int64) float64 {
	var s float64
	for k := n / h; k >= 1; k-- {
		r := 1.0
		for j := (k - 1) * h; j < k*h; j++ {
			r *= float64(n-j) / float64(n+1+j)
		}
		s = r * (1 - s)
	}
	return 2 * s
}

// floorDiv and ceilDiv divide rounding toward -Inf and +Inf (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return q
}

// ksOutside is P(D ≥ h/lcm) for samples of m and n values (m ≠ n), g their
// gcd, by dynamic programming over the lattice of orderings: a path from
// (0, 0) to (m, n) takes a step in i for each value of the first sample and
// in j for each of the second, in sorted order; it stays inside while
// |i/m − j/n| < h/lcm, that is |i·(n/g) − j·(m/g)| < h in integers. With
// b(i, j) the share of the C(i+j, i) paths to (i, j) that have been outside,
//
//	b(i, j) = (i·b(i−1, j) + j·b(i, j−1)) / (i + j)   inside, 1 outside,
//
// since i/(i+j) of the paths to (i, j) arrive from (i−1, j). The answer is
// b(m, n). Every b is a share in [0, 1], so nothing overflows, and a small
// p-value is computed as itself, not as 1 minus a number near 1 (which would
// leave only its rounding error, about 1e-16). One column over the smaller
// sample is kept, and only its inside band is computed.
func ksOutside(m, n, g, h int64) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	band := func(i int64) (lo, hi int64) {
		lo = max(floorDiv(i*ng-h, mg)+1, 0)
		hi = min(ceilDiv(i*ng+h, mg)-1, n)
		return lo, hi
	}
	col := make([]float64, n+1)
	lo, hi := band(0)
	for j := range col {
		if j < int(lo) || j > int(hi) {
			col[j] = 1
		}
	}
	for i := int64(1); i <= m; i++ {
		nlo, nhi := band(i)
		if nlo > nhi {
			return 1 // every path leaves the band here
		}
		for j := lo; j < nlo && j <= hi; j++ {
			col[j] = 1 // below the band now
		}
		lo, hi = nlo, nhi
		fi := float64(i)
		for j := lo; j <= hi; j++ {
			below := 1.0 // (i, -1) is no lattice point; j = 0 has no term for it
			if j > 0 {
				below = col[j-1]
			}
			fj := float64(j)
			col[j] = (fi*col[j] + fj*below) / (fi + fj)
		}
	}
	return col[n]
}

// Wasserstein is the first Wasserstein (earth mover's) distance between the
// empirical distributions of a and b, ∫ |F_a(x) − F_b(x)| dx, in the
// values' units. It equals scipy.stats.wasserstein_distance(a, b). a and b
// must be sorted ascending and finite. NaN when either is empty. It does not
// allocate.
func Wasserstein(a, b []float64) float64 {
	n1, n2 := len(a), len(b)
	if n1 == 0 || n2 == 0 {
		return math.NaN()
	}
	f1, f2 := float64(n1), float64(n2)
	var w float64
	i, j := 0, 0
	for {
		var x float64
		x, i, j = step(a, b, i, j)
		if i == n1 && j == n2 {
			return w
		}
		var next float64
		switch {
		case i == n1:
			next = b[j]
		case j == n2:
			next = a[i]
		default:
			next = min(a[i], b[j])
		}
		w += math.Abs(float64(i)/f1-float64(j)/f2) * (next - x)
	}
}
