package linear

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/predictd/predictd/model"
)

// Fit is a fitted linear model: Margins() rows of Coef over Features
// inputs, plus one intercept per margin, and the link of its task
// (identity for regression, sigmoid for binary, softmax for multiclass).
type Fit struct {
	Task model.Task
	// Classes is the number of classes for TaskBinary (2) and
	// TaskMulticlass (K ≥ 3), 0 for regression.
	Classes  int
	Features int
	// Coef is Margins()×Features, row-major: row k holds the weights of
	// margin k (class k for multinomial, class 1 for binary).
	Coef      []float64
	Intercept []float64
	// Objective is the minimized value at Coef and Intercept: for Ridge
	// ||y - Xw - b||² + Alpha·||w||², for LogisticL2 scikit-learn 1.2.1's
	// lbfgs objective Σ log-loss + ||W||²/(2C) (see LogisticL2), for
	// LogisticElasticNet its saga objective times n.
	Objective float64
	// Iterations is the number of L-BFGS or proximal gradient iterations
	// (0 for Ridge); GradientInf is the infinity norm of the objective's
	// gradient at the solution (LogisticElasticNet: of its optimality
	// residual; 0 for Ridge, which is solved in closed form).
	Iterations  int
	GradientInf float64
	// Stalled is set when the solver stopped because float64 could no
	// longer resolve a decrease of the objective, before GradientInf
	// reached Tol (see LogisticL2 and LogisticElasticNet).
	Stalled bool

	dense *model.Dense
}

// Margins is the number of linear outputs: 1 for regression and binary,
// Classes for multiclass.
func (f *Fit) Margins() int { return len(f.Intercept) }

// Predict appends the predictions for rows (row-major, Features values per
// row) to dst and returns it: one value per row for regression (the
// value) and binary (probability of class 1), Classes per row for
// multiclass (probabilities). It runs model.Dense's float64 code, the one
// the daemon serves a linear artifact with.
func (f *Fit) Predict(dst, rows []float64) []float64 {
	return f.dense.Predict(dst, rows, false)
}

// Imported returns f as a model the daemon serves: kind linear, one dense
// layer, the task's link, features named by featureNames (one per input,
// distinct, non-empty) and the default output names. model.Write stores it.
func (f *Fit) Imported(featureNames []string) (*model.Imported, error) {
	if len(featureNames) != f.Features {
		return nil, fmt.Errorf("linear model: %d feature names for %d features", len(featureNames), f.Features)
	}
	seen := make(map[string]bool, len(featureNames))
	feats := make([]model.Feature, len(featureNames))
	for i, n := range featureNames {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("linear model: feature name %d %s is empty or repeated", i, model.Quote(n))
		}
		seen[n] = true
		feats[i] = model.Feature{Name: n, Type: model.FeatureFloat}
	}
	d := newDense(f.Task, f.Features, f.Coef, f.Intercept)
	if err := d.Validate(); err != nil {
		return nil, fmt.Errorf("BUG: fitted linear model does not validate: %w", err)
	}
	imp := &model.Imported{
		Kind:     model.KindLinear,
		Task:     f.Task,
		Features: feats,
		Model:    d,
		Source:   model.Source{Format: "predictd-train", Library: "predictd"},
	}
	if f.Task == model.TaskMulticlass {
		imp.Classes = f.Classes
	}
	imp.Outputs, imp.RawOutputs = model.DefaultOutputs(f.Task, f.Margins(), d.Link)
	return imp, nil
}

// newDense builds the one-layer model of a fit, with its own copies of the
// weights.
func newDense(task model.Task, features int, coef, intercept []float64) *model.Dense {
	link := model.LinkIdentity
	switch task {
	case model.TaskBinary:
		link = model.LinkSigmoid
	case model.TaskMulticlass:
		link = model.LinkSoftmax
	}
	return &model.Dense{
		Layers: []model.Layer{{In: features, Out: len(intercept), Weights: slices.Clone(coef), Bias: slices.Clone(intercept)}},
		Link:   link,
	}
}

func newFit(task model.Task, classes, features int, coef, intercept []float64) *Fit {
	return &Fit{
		Task: task, Classes: classes, Features: features, Coef: coef, Intercept: intercept,
		dense: newDense(task, features, coef, intercept),
	}
}

// checkX reports an empty x or a value in it that is not finite, naming
// its row and column (0-based).
func checkX(x *mat.Dense) (n, p int, err error) {
	if x == nil {
		return 0, 0, fmt.Errorf("x is nil")
	}
	if x.IsEmpty() {
		return 0, 0, fmt.Errorf("x is empty: want at least one row and one column")
	}
	n, p = x.Dims()
	for i := 0; i < n; i++ {
		for j, v := range x.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, 0, fmt.Errorf("x row %d column %d is %v, want a finite number", i, j, v)
			}
		}
	}
	return n, p, nil
}

// checkFinite refuses coefficients that overflowed: features scaled so
// that the solution does not fit in float64.
func checkFinite(what string, coef, intercept []float64) error {
	for _, v := range coef {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: a coefficient is %v: the features' scale puts the solution beyond float64; scale them", what, v)
		}
	}
	for _, v := range intercept {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: an intercept is %v: the features' scale puts the solution beyond float64; scale them", what, v)
		}
	}
	return nil
}
