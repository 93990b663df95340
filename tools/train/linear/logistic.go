package linear

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

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
	// ObjectiveTol, if > 0, also stops L-BFGS once an iteration lowers the
	// objective by at most ObjectiveTol·max(|f|, |f_prev|): scipy's ftol
	// rule, which scikit-learn 1.2.1 leaves at 2.220446049250313e-09
	// (SklearnObjectiveTol). 0, the default, never stops on it.
	ObjectiveTol float64
}

// SklearnObjectiveTol is scipy's default L-BFGS-B ftol (factr 1e7 times
// float64's epsilon), where scikit-learn 1.2.1's lbfgs stops.
const SklearnObjectiveTol = 1e7 * 0x1p-52

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
	case !(o.ObjectiveTol >= 0) || math.IsInf(o.ObjectiveTol, 0):
		return fmt.Errorf("LogisticOptions.ObjectiveTol is %v, want a finite number ≥ 0", o.ObjectiveTol)
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
// L-BFGS stops when the gradient's infinity norm is below Tol, on
// LogisticOptions.ObjectiveTol's rule when it is set, or when its
// line search can no longer lower the objective in float64 and the
// gradient is below the bound where that is expected (stallBound); the Fit
// then has Stalled set. It returns an error if L-BFGS stops for any
// other reason, and the last iterate with an error wrapping
// ErrNotConverged if it reaches MaxIter.
func LogisticL2(x *mat.Dense, y []int, opts LogisticOptions) (*Fit, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	p, k, margins, task, err := checkLogistic(x, y)
	if err != nil {
		return nil, err
	}
	obj := newLogObjective(x, y, margins, opts)
	if err := obj.checkScale(); err != nil {
		return nil, err
	}
	dim := margins * p
	if opts.FitIntercept {
		dim += margins
	}
	prob := optimize.Problem{Func: obj.value, Grad: obj.gradient}
	settings := &optimize.Settings{
		GradientThreshold: opts.Tol,
		MajorIterations:   opts.MaxIter,
		// Unless ObjectiveTol is set, never stop on a small change of the
		// objective (scipy's ftol): only the gradient threshold, the
		// iteration cap or a stall ends the run.
		Converger: optimize.NeverTerminate{},
	}
	if opts.ObjectiveTol > 0 {
		settings.Converger = &optimize.FunctionConverge{Relative: opts.ObjectiveTol, Iterations: 1}
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
	if err := checkFinite("logistic regression", coef, intercept); err != nil {
		return nil, err
	}
	f := newFit(task, k, p, coef, intercept)
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
	case res.Status != optimize.GradientThreshold && res.Status != optimize.FunctionConvergence:
		return nil, fmt.Errorf("logistic regression stopped after %d iterations (%v) with gradient %.3g (Tol %g)", f.Iterations, res.Status, f.GradientInf, opts.Tol)
	}
	return f, nil
}

// checkLogistic checks a logistic fit's x and y (checkX, checkClasses) and
// returns the number of features p, of classes k, and the margins and task
// of the model: one margin and TaskBinary for two classes, k margins and
// TaskMulticlass for more.
func checkLogistic(x *mat.Dense, y []int) (p, k, margins int, task model.Task, err error) {
	n, p, err := checkX(x)
	if err != nil {
		return 0, 0, 0, "", err
	}
	if k, err = checkClasses(y, n); err != nil {
		return 0, 0, 0, "", err
	}
	if k == 2 {
		return p, k, 1, model.TaskBinary, nil
	}
	return p, k, k, model.TaskMulticlass, nil
}

// checkClasses checks y's class ids against n rows (0..K-1, each present,
// K ≥ 2) and returns K.
func checkClasses(y []int, n int) (int, error) {
	if len(y) != n {
		return 0, fmt.Errorf("y has %d labels for %d rows of x", len(y), n)
	}
	k := 0
	for i, c := range y {
		if c < 0 {
			return 0, fmt.Errorf("y[%d] is %d, want a class id ≥ 0", i, c)
		}
		k = max(k, c+1)
	}
	if k > n {
		return 0, fmt.Errorf("y has class id %d but only %d rows: class ids must be 0..K-1, each present", k-1, n)
	}
	count := make([]int, k)
	for _, c := range y {
		count[c]++
	}
	for c, m := range count {
		if m == 0 {
			return 0, fmt.Errorf("y has no row of class %d (class ids must be 0..%d, each present at least once)", c, k-1)
		}
	}
	if k < 2 {
		return 0, fmt.Errorf("y has only class 0: want at least two classes")
	}
	return k, nil
}

// stallBound is the gradient norm below which float64 cannot resolve the
// objective's decrease along it: a step lowers f by about ||g||²/(2L), where
// L bounds the Hessian's largest eigenvalue (||X||²_F plus n for the
// intercept column, times 1/4 for the sigmoid's curvature or 1/2 for
// softmax's, plus 1/C), while f itself is rounded to eps·|f|. Below
// sqrt(2·eps·|f|·L) no step is visible, and the line search stalls.
func (o *logObjective) stallBound(f float64) float64 {
	return math.Sqrt(2 * 0x1p-52 * max(1, math.Abs(f)) * o.lipschitz())
}

// checkScale refuses an x whose sum of squares overflows float64: its
// margins would overflow too, and no step size is defined.
func (o *logObjective) checkScale() error {
	if math.IsInf(o.frob2, 0) {
		return fmt.Errorf("x's sum of squares overflows float64 (values near 1e154 or beyond): scale the features")
	}
	return nil
}

// lipschitz bounds the Hessian's largest eigenvalue, as stallBound says.
func (o *logObjective) lipschitz() float64 {
	l := o.frob2
	if o.intercept {
		l += float64(o.n)
	}
	if o.m == 1 {
		l /= 4
	} else {
		l /= 2
	}
	return l + o.invC
}

// ErrNotConverged reports a fit that reached MaxIter before Tol; the Fit
// returned with it is the last iterate.
var ErrNotConverged = errors.New("not converged")

// logObjective evaluates the logistic objective and its gradient together
// and keeps the last pair: gonum asks for the value and the gradient at the
// same point in separate calls.
//
// The rows are cut into chunks of chunkRows, evaluated on up to GOMAXPROCS
// goroutines, each chunk into its own partial sums, which are then added
// in chunk order: the result depends on chunkRows but not on the number of
// goroutines or their timing (TestLogisticDeterministic runs 1 and 2).
type logObjective struct {
	x         *mat.Dense
	y         []int
	n, p, m   int
	invC      float64
	intercept bool
	frob2     float64 // ||X||²_F

	chunks [][]float64 // per chunk: m·p weight gradient, m intercept, 1 loss
	last   []float64   // the point of f and grad
	f      float64
	grad   []float64
	ok     bool
}

// chunkRows is the rows of one unit of parallel work: at 40 features,
// 2,048 rows are 640 KiB of x, and a 100,000-row set makes 49 chunks, enough
// to balance two to eight goroutines.
//
// Measured and rejected (digits 1797 x 64, 10 classes, sklearn's stopping
// rule, 3 alternating rounds of 7 fits at load 2): the multinomial margins
// and gradient of a chunk as gonum Dgemm products instead of a dot and an
// axpy per row and class, 0.151-0.159 s a fit against 0.142-0.146 s; chunks
// sized to 65,536 multiply-adds (digits in 18 chunks instead of one), 0.156
// to 0.181 s against 0.149 to 0.212 s, no gain.
const chunkRows = 2048

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
	chunks := make([][]float64, (n+chunkRows-1)/chunkRows)
	for c := range chunks {
		chunks[c] = make([]float64, margins*p+margins+1)
	}
	return &logObjective{
		x: x, y: y, n: n, p: p, m: margins, invC: 1 / opts.C, intercept: opts.FitIntercept, frob2: frob2,
		chunks: chunks, last: make([]float64, dim), grad: make([]float64, dim),
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
	workers := min(runtime.GOMAXPROCS(0), len(o.chunks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			z := make([]float64, m)
			for {
				c := int(next.Add(1) - 1)
				if c >= len(o.chunks) {
					return
				}
				o.evalChunk(o.chunks[c], w, z, c*chunkRows, min((c+1)*chunkRows, o.n))
			}
		}()
	}
	wg.Wait()
	clear(o.grad)
	var loss float64
	gw := o.grad[:m*p]
	for _, part := range o.chunks {
		floats.Add(gw, part[:m*p])
		if o.intercept {
			floats.Add(o.grad[m*p:], part[m*p:m*p+m])
		}
		loss += part[m*p+m]
	}
	var pen float64
	for j, v := range w[:m*p] {
		pen += v * v
		gw[j] += o.invC * v
	}
	o.f = loss + 0.5*o.invC*pen
}

// evalChunk writes rows [lo, hi)'s log-loss sum and its gradient (weights,
// then intercepts, then the loss) to part; z is scratch of m values.
func (o *logObjective) evalChunk(part, w, z []float64, lo, hi int) {
	m, p := o.m, o.p
	clear(part)
	gw, gb := part[:m*p], part[m*p:m*p+m]
	var loss float64
	for i := lo; i < hi; i++ {
		x := o.x.RawRowView(i)
		for k := range z {
			z[k] = floats.Dot(w[k*p:(k+1)*p], x)
			if o.intercept {
				z[k] += w[m*p+k]
			}
		}
		yi := o.y[i]
		if m == 1 {
			// log(1 + e^z) - y·z and the residual σ(z) - y, from one
			// exponential: e = e^-|z|.
			zi := z[0]
			e := math.Exp(-math.Abs(zi))
			sig := 1 / (1 + e)
			if zi < 0 {
				sig = e / (1 + e)
			}
			loss += max(zi, 0) + math.Log1p(e) - float64(yi)*zi
			z[0] = sig - float64(yi)
		} else {
			// logsumexp(z) - z_y and the residual softmax(z) - onehot(y).
			mx := z[0]
			for _, v := range z[1:] {
				mx = max(mx, v)
			}
			zy := z[yi]
			var s float64
			for k, v := range z {
				z[k] = math.Exp(v - mx)
				s += z[k]
			}
			loss += mx + math.Log(s) - zy
			for k := range z {
				z[k] /= s
			}
			z[yi] -= 1
		}
		for k, r := range z {
			floats.AddScaled(gw[k*p:(k+1)*p], r, x)
			gb[k] += r
		}
	}
	part[m*p+m] = loss
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
