package linear

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/predictd/predictd/model"
)

// RidgeOptions configure Ridge.
type RidgeOptions struct {
	// Alpha is the L2 penalty on the coefficients (not the intercept),
	// ≥ 0. 0 is ordinary least squares (scikit-learn's LinearRegression),
	// which needs x of full column rank.
	Alpha float64
	// FitIntercept fits an unpenalized intercept by centering x and y, as
	// scikit-learn does; false fits through the origin.
	FitIntercept bool
}

// ErrRankDeficient is wrapped by Ridge's error for an x without full
// column rank at Alpha 0: least squares has no unique solution; set
// RidgeOptions.Alpha > 0.
var ErrRankDeficient = errors.New("least squares has no unique solution; set RidgeOptions.Alpha > 0")

// DefaultRidgeOptions are scikit-learn's Ridge defaults: Alpha 1 with an
// intercept.
func DefaultRidgeOptions() RidgeOptions { return RidgeOptions{Alpha: 1, FitIntercept: true} }

func (o RidgeOptions) validate() error {
	if !(o.Alpha >= 0) || math.IsInf(o.Alpha, 0) {
		return fmt.Errorf("RidgeOptions.Alpha is %v, want a finite number ≥ 0", o.Alpha)
	}
	return nil
}

// rankTol is the condition number of R (from x = QR) above which Ridge
// with Alpha 0 calls x rank-deficient: numpy's matrix_rank default,
// σmax·max(n, p)·eps, as a bound on σmax/σmin.
func rankTol(n, p int) float64 { return 1 / (float64(max(n, p)) * 0x1p-52) }

// Ridge fits y ≈ x·w + b minimizing ||y - x·w - b||² + Alpha·||w||², as
// scikit-learn 1.2.1's Ridge (and LinearRegression for Alpha 0): equal to
// it within 1e-8 relative (|Δ| ≤ 1e-8·max(1, |coef|)) on the committed
// cases, one of them rank-deficient with Alpha > 0 and one with more
// columns than rows (which scikit-learn solves in the kernel form).
//
// With Alpha > 0 it solves the normal equations (XᵀX + αI)w = Xᵀy by
// Cholesky: the matrix is symmetric positive definite whatever x's rank,
// with condition at most (σmax² + α)/α, and it is the path scikit-learn's
// default solver takes for dense x (scipy.linalg.solve, assume_a="pos"),
// so both round alike. With Alpha 0 the normal equations would square x's
// condition number, so it factors x = QR and solves Rw = Qᵀy instead; it
// refuses an x whose R has condition above max(n, p)/eps (numpy's rank
// tolerance) with an error saying to set Alpha > 0.
func Ridge(x *mat.Dense, y []float64, opts RidgeOptions) (*Fit, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	n, p, err := checkX(x)
	if err != nil {
		return nil, err
	}
	if len(y) != n {
		return nil, fmt.Errorf("y has %d values for %d rows of x", len(y), n)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("y[%d] is %v, want a finite number", i, v)
		}
	}
	xc := mat.DenseCopyOf(x)
	yc := mat.NewVecDense(n, append([]float64(nil), y...))
	xmean := make([]float64, p)
	var ymean float64
	if opts.FitIntercept {
		for i := 0; i < n; i++ {
			for j, v := range xc.RawRowView(i) {
				xmean[j] += v
			}
			ymean += y[i]
		}
		for j := range xmean {
			xmean[j] /= float64(n)
		}
		ymean /= float64(n)
		for i := 0; i < n; i++ {
			row := xc.RawRowView(i)
			for j := range row {
				row[j] -= xmean[j]
			}
			yc.SetVec(i, y[i]-ymean)
		}
	}
	w := mat.NewVecDense(p, nil)
	if opts.Alpha > 0 {
		var a mat.SymDense
		a.SymOuterK(1, xc.T())
		for j := 0; j < p; j++ {
			a.SetSym(j, j, a.At(j, j)+opts.Alpha)
		}
		var xty mat.VecDense
		xty.MulVec(xc.T(), yc)
		var ch mat.Cholesky
		if !ch.Factorize(&a) {
			return nil, fmt.Errorf("ridge: XᵀX + alpha·I is not positive definite in floating point (alpha %v is too small for x's scale); raise RidgeOptions.Alpha", opts.Alpha)
		}
		if err := ch.SolveVecTo(w, &xty); err != nil {
			return nil, fmt.Errorf("ridge: %w", err)
		}
	} else {
		if n < p {
			return nil, fmt.Errorf("least squares with %d rows and %d columns is underdetermined: set RidgeOptions.Alpha > 0", n, p)
		}
		var qr mat.QR
		qr.Factorize(xc)
		if c := qr.Cond(); !(c <= rankTol(n, p)) {
			return nil, fmt.Errorf("x is rank-deficient (condition number %.3g): %w", c, ErrRankDeficient)
		}
		if err := qr.SolveVecTo(w, false, yc); err != nil {
			return nil, fmt.Errorf("least squares: %w", err)
		}
	}
	coef := make([]float64, p)
	copy(coef, w.RawVector().Data)
	intercept := 0.0
	if opts.FitIntercept {
		intercept = ymean
		for j, v := range coef {
			intercept -= xmean[j] * v
		}
	}
	if err := checkFinite("ridge", coef, []float64{intercept}); err != nil {
		return nil, err
	}
	f := newFit(model.TaskRegression, 0, p, coef, []float64{intercept})
	// The objective, from the original (uncentered) x and y.
	var obj float64
	for i := 0; i < n; i++ {
		r := y[i] - intercept
		for j, v := range x.RawRowView(i) {
			r -= v * coef[j]
		}
		obj += r * r
	}
	for _, v := range coef {
		obj += opts.Alpha * v * v
	}
	f.Objective = obj
	return f, nil
}
