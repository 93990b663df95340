package linear

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"

	"github.com/predictd/predictd/model"
)

// LogisticOptions configure LogisticL2.
type LogisticOptions struct {
	// C is the inverse of the L2 penalty's strength, > 0: the objective is
	// Σ log-loss + ||W||²/(2C).
	C float64
	// FitIntercept fits one unpenalized intercept per margin.
	FitIntercept bool
	// MaxIter caps L-BFGS major iterations, ≥ 1.
	MaxIter int
	// Tol stops L-BFGS once the gradient's infinity norm is below it, > 0.
	// scikit-learn passes its tol the same way (scipy's gtol), but scipy
	// also stops once an iteration lowers the objective by less than about
	// 2.2e-9 of its value, which it does here first: its coefficients then
	// sit more than 1e-3 from the optimum (C 100 on breast_cancer, see
	// testdata/gen/train_linear_oracle.py and TestSklearnStopsEarly). There is no such stop here,
	// so a small Tol reaches the optimum itself.
	Tol float64
}

// DefaultLogisticOptions: C 1 with intercepts, at most 10,000 iterations,
// Tol 1e-8.
func DefaultLogisticOptions() LogisticOptions {
	return LogisticOptions{C: 1, FitIntercept: true, MaxIter: 10000, Tol: 1e-8}
}

func (o LogisticOptions) validate() error {
	switch {
	case !(o.C > 0) || math.IsInf(o.C, 0):
		return fmt.Errorf("LogisticOptions.C is %v, want a finite number > 0", o.C)
	case o.MaxIter < 1:
		return fmt.Errorf("LogisticOptions.MaxIter is %d, want ≥ 1", o.MaxIter)
	case !(o.Tol > 0) || math.IsInf(o.Tol, 0):
		return fmt.Errorf("LogisticOptions.Tol is %v, want a finite number > 0", o.Tol)
	}
	return nil
}

// LogisticL2 fits L2-penalized logistic regression on x (n rows × p
// features) and class ids y (0..K-1, each present at least once, K ≥ 2):
// for K = 2 one margin with the sigmoid link, class 1's (scikit-learn's
// binary model), for K ≥ 3 one margin per class with softmax
// (multi_class="multinomial"). It minimizes scikit-learn 1.2.1's lbfgs
// objective
//
//	Σᵢ log-loss(yᵢ, x·Wᵀ + b) + ||W||²/(2C)   (intercepts b unpenalized)
//
// with gonum's L-BFGS and the analytic gradient, from zero coefficients.
// On the committed oracle cases its objective is no higher than
// scikit-learn's + 1e-9 relative, and its coefficients and intercepts
// (multinomial intercepts compared after centering) are within 1e-4·max(1,
// |c|) of the optimum the oracle script reaches with scipy's L-BFGS-B run
// to a gradient below 1e-6; scikit-learn's own can be further (see
// LogisticOptions.Tol).
//
// L-BFGS stops when the gradient's infinity norm is below Tol, or when its
// line search can no longer lower the objective in float64 and the
// gradient is below the bound where that is expected (stallBound); the Fit
// then has Stalled set. It returns an error if L-BFGS stops for any
// other reason, and the last iterate with an error wrapping
// ErrNotConverged if it reaches MaxIter.
func LogisticL2(x *mat.Dense, y []int, opts LogisticOptions) (*Fit, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	n, p, err := checkX(x)
	if err != nil {
		return nil, err
	}
	if len(y) != n {
		return nil, fmt.Errorf("y has %d labels for %d rows of x", len(y), n)
	}
	k := 0
	for i, c := range y {
		if c < 0 {
			return nil, fmt.Errorf("y[%d] is %d, want a class id ≥ 0", i, c)
		}
		k = max(k, c+1)
	}
	if k > n {
		return nil, fmt.Errorf("y has class id %d but only %d rows: class ids must be 0..K-1, each present", k-1, n)
	}
	count := make([]int, k)
	for _, c := range y {
		count[c]++
	}
	for c, m := range count {
		if m == 0 {
			return nil, fmt.Errorf("y has no row of class %d (class ids must be 0..%d, each present at least once)", c, k-1)
		}
	}
	if k < 2 {
		return nil, fmt.Errorf("y has only class 0: want at least two classes")
	}
	margins, task := k, model.TaskMulticlass
	if k == 2 {
		margins, task = 1, model.TaskBinary
	}
	obj := newLogObjective(x, y, margins, opts)
	dim := margins * p
	if opts.FitIntercept {
		dim += margins
	}
	prob := optimize.Problem{Func: obj.value, Grad: obj.gradient}
	settings := &optimize.Settings{
		GradientThreshold: opts.Tol,
		MajorIterations:   opts.MaxIter,
		// Never stop on a small change of the objective (scipy's ftol):
		// only the gradient threshold or the iteration cap ends the run.
		Converger: optimize.NeverTerminate{},
	}
	res, err := optimize.Minimize(prob, make([]float64, dim), settings, &optimize.LBFGS{Store: 10})
	if res == nil {
		return nil, fmt.Errorf("logistic regression: %w", err)
	}
	coef := make([]float64, margins*p)
	copy(coef, res.X[:margins*p])
	intercept := make([]float64, margins)
	if opts.FitIntercept {
		copy(intercept, res.X[margins*p:])
	}
	classes := k
	f := newFit(task, classes, p, coef, intercept)
	f.Objective = res.F
	f.Iterations = res.Stats.MajorIterations
	f.GradientInf = floats.Norm(res.Gradient, math.Inf(1))
	switch {
	case err != nil && f.GradientInf <= obj.stallBound(res.F):
		// The line search found no step that lowers the objective as
		// float64 rounds it: the optimum is reached to the precision the
		// objective has.
		f.Stalled = true
	case err != nil:
		return nil, fmt.Errorf("logistic regression stopped after %d iterations with gradient %.3g (Tol %g, float64 floor %.3g): %w", f.Iterations, f.GradientInf, opts.Tol, obj.stallBound(res.F), err)
	case res.Status == optimize.IterationLimit:
		return f, fmt.Errorf("logistic regression: %w after %d iterations: gradient %.3g, Tol %g", ErrNotConverged, f.Iterations, f.GradientInf, opts.Tol)
	case res.Status != optimize.GradientThreshold:
		return nil, fmt.Errorf("logistic regression stopped after %d iterations (%v) with gradient %.3g (Tol %g)", f.Iterations, res.Status, f.GradientInf, opts.Tol)
	}
	return f, nil
}

// stallBound is the gradient norm below which float64 cannot resolve the
// objective's decrease along it: a step lowers f by about ||g||²/(2L), where
// L bounds the Hessian's largest eigenvalue (||X||²_F plus n for the
// intercept column, times 1/4 for the sigmoid's curvature or 1/2 for
// softmax's, plus 1/C), while f itself is rounded to eps·|f|. Below
// sqrt(2·eps·|f|·L) no step is visible, and the line search stalls.
func (o *logObjective) stallBound(f float64) float64 {
	l := o.frob2
	if o.intercept {
		l += float64(o.n)
	}
	if o.m == 1 {
		l /= 4
	} else {
		l /= 2
	}
	l += o.invC
	return math.Sqrt(2 * 0x1p-52 * max(1, math.Abs(f)) * l)
}

// ErrNotConverged reports a fit that reached MaxIter before Tol; the Fit
// returned with it is the last iterate.
var ErrNotConverged = errors.New("not converged")

// logObjective evaluates the logistic objective and its gradient together
// and keeps the last pair: gonum asks for the value and the gradient at the
// same point in separate calls.
type logObjective struct {
	x         *mat.Dense
	y         []int
	n, p, m   int
	invC      float64
	intercept bool
	frob2     float64 // ||X||²_F

	z    *mat.Dense // n×m margins, then residuals (p - y)
	last []float64  // the point of f and grad
	f    float64
	grad []float64
	ok   bool
}

func newLogObjective(x *mat.Dense, y []int, margins int, opts LogisticOptions) *logObjective {
	n, p := x.Dims()
	dim := margins * p
	if opts.FitIntercept {
		dim += margins
	}
	var frob2 float64
	for i := 0; i < n; i++ {
		for _, v := range x.RawRowView(i) {
			frob2 += v * v
		}
	}
	return &logObjective{
		x: x, y: y, n: n, p: p, m: margins, invC: 1 / opts.C, intercept: opts.FitIntercept, frob2: frob2,
		z: mat.NewDense(n, margins, nil), last: make([]float64, dim), grad: make([]float64, dim),
	}
}

func (o *logObjective) value(w []float64) float64 {
	o.eval(w)
	return o.f
}

func (o *logObjective) gradient(grad, w []float64) {
	o.eval(w)
	copy(grad, o.grad)
}

// eval computes the objective and gradient at w = [W (m×p row-major), b].
func (o *logObjective) eval(w []float64) {
	if o.ok && floats.Same(o.last, w) {
		return
	}
	copy(o.last, w)
	o.ok = true
	m, p := o.m, o.p
	wm := mat.NewDense(m, p, w[:m*p])
	// z = X·Wᵀ + b
	o.z.Mul(o.x, wm.T())
	var b []float64
	if o.intercept {
		b = w[m*p:]
	}
	var loss float64
	for i := 0; i < o.n; i++ {
		row := o.z.RawRowView(i)
		if b != nil {
			for k := range row {
				row[k] += b[k]
			}
		}
		if m == 1 {
			// log(1 + e^z) - y·z, and the residual σ(z) - y.
			z := row[0]
			yi := float64(o.y[i])
			loss += softplus(z) - yi*z
			row[0] = sigmoid(z) - yi
			continue
		}
		// logsumexp(z) - z_y, and the residual softmax(z) - onehot(y).
		mx := row[0]
		for _, v := range row[1:] {
			mx = max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		lse := mx + math.Log(s)
		loss += lse - row[o.y[i]]
		for k, v := range row {
			row[k] = math.Exp(v - lse)
		}
		row[o.y[i]] -= 1
	}
	var pen float64
	for _, v := range w[:m*p] {
		pen += v * v
	}
	o.f = loss + 0.5*o.invC*pen
	// grad W = Rᵀ·X + W/C, grad b = Σᵢ R.
	gw := mat.NewDense(m, p, o.grad[:m*p])
	gw.Mul(o.z.T(), o.x)
	for j, v := range w[:m*p] {
		o.grad[j] += o.invC * v
	}
	if o.intercept {
		gb := o.grad[m*p:]
		clear(gb)
		for i := 0; i < o.n; i++ {
			for k, v := range o.z.RawRowView(i) {
				gb[k] += v
			}
		}
	}
}

// softplus is log(1 + e^z) without overflow or loss of precision for
// large |z|.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
