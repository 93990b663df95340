package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/tools/profile"
	"github.com/predictd/predictd/tools/train/gbdt"
	"github.com/predictd/predictd/tools/train/linear"
	"github.com/predictd/predictd/tools/train/spec"
)

// fitted is a trained model before it is written.
type fitted struct {
	imp                *model.Imported
	objective, booster string
	training           Training
	warnings           []string
}

// noPenaltyC is the C of a logistic fit with penalty "none": the L2 term
// ||W||²/(2C) is then below float64's resolution of any log-loss sum.
const noPenaltyC = 1e300

// Logistic fits stop as scikit-learn's lbfgs does: once the gradient's
// infinity norm is below logisticTol, or an iteration lowers the objective
// by less than linear.SklearnObjectiveTol of its value.
const logisticTol = 1e-6

// fit trains the spec's model on d's training rows.
func fit(ctx context.Context, o *Options, d *data, start time.Time, report func(Progress)) (*fitted, error) {
	s := o.Spec
	names := d.pipeline.Names()
	at := func(err error) error { return fmt.Errorf("%s:%d: model: %w", s.File, s.Model.Line, err) }
	report(Progress{Stage: "fit"})
	switch s.Model.Type {
	case spec.ModelGBDT:
		return fitGBDT(ctx, o, d, start, report)
	case spec.ModelLogistic:
		x := mat.NewDense(len(d.yTrain), d.width, d.xTrain)
		y := make([]int, len(d.yTrain))
		for i, v := range d.yTrain {
			y[i] = int(v)
		}
		var (
			f   *linear.Fit
			err error
		)
		desc := ""
		switch s.Model.Penalty {
		case "l2", "none":
			lo := linear.DefaultLogisticOptions()
			lo.C, lo.MaxIter, lo.Tol, lo.ObjectiveTol = s.Model.C, s.Model.MaxIter, logisticTol, linear.SklearnObjectiveTol
			if s.Model.Penalty == "none" {
				lo.C = noPenaltyC
			}
			desc = fmt.Sprintf("logistic %s C=%g (L-BFGS)", s.Model.Penalty, lo.C)
			f, err = linear.LogisticL2(x, y, lo)
		default:
			eo := linear.DefaultElasticNetOptions()
			eo.C, eo.MaxIter, eo.L1Ratio = s.Model.C, s.Model.MaxIter, s.Model.L1Ratio
			if s.Model.Penalty == "l1" {
				eo.L1Ratio = 1
			}
			desc = fmt.Sprintf("logistic %s C=%g l1_ratio=%g (proximal gradient)", s.Model.Penalty, eo.C, eo.L1Ratio)
			f, err = linear.LogisticElasticNet(x, y, eo)
		}
		var warnings []string
		if errors.Is(err, linear.ErrNotConverged) && f != nil {
			warnings = append(warnings, fmt.Sprintf("%s:%d: model: %v; the last iterate is kept (raise max_iter, or scale the features)", s.File, s.Model.Line, err))
			err = nil
		}
		if err != nil {
			return nil, at(err)
		}
		return linearFitted(f, names, desc, warnings)
	case spec.ModelRidge, spec.ModelLinear:
		x := mat.NewDense(len(d.yTrain), d.width, d.xTrain)
		ro := linear.DefaultRidgeOptions()
		ro.Alpha = s.Model.Alpha
		if s.Model.Type == spec.ModelLinear {
			ro.Alpha = 0
		}
		f, err := linear.Ridge(x, d.yTrain, ro)
		if errors.Is(err, linear.ErrRankDeficient) {
			return nil, fmt.Errorf("%s:%d: model: type %s: the model columns are collinear (one-hot columns of every category sum to the intercept's; a constant column): use type ridge with alpha > 0", s.File, s.Model.Line, s.Model.Type)
		}
		if err != nil {
			return nil, at(err)
		}
		return linearFitted(f, names, fmt.Sprintf("%s alpha=%g", s.Model.Type, ro.Alpha), nil)
	}
	return nil, at(fmt.Errorf("unknown model type %q", s.Model.Type))
}

func linearFitted(f *linear.Fit, names []string, desc string, warnings []string) (*fitted, error) {
	imp, err := f.Imported(names)
	if err != nil {
		return nil, err
	}
	obj := f.Objective
	return &fitted{
		imp: imp, objective: desc, warnings: warnings,
		training: Training{Model: desc, Objective: &obj, Iterations: f.Iterations, Converged: len(warnings) == 0},
	}, nil
}

// gbdtObjective is the trainer's objective for a task, and its loss name.
func gbdtObjective(task string) (gbdt.Objective, string) {
	switch task {
	case spec.TaskBinary:
		return gbdt.BinaryLogistic, "logloss"
	case spec.TaskMulticlass:
		return gbdt.Softprob, "mlogloss"
	case spec.TaskPoisson:
		return gbdt.Poisson, "poisson-nloglik"
	}
	return gbdt.SquaredError, "rmse"
}

func fitGBDT(ctx context.Context, o *Options, d *data, start time.Time, report func(Progress)) (*fitted, error) {
	s := o.Spec
	sm := s.Model
	g := gbdt.DefaultOptions()
	obj, metric := gbdtObjective(s.Task)
	g.Objective, g.Rounds, g.MaxDepth, g.LearningRate, g.MaxBin = obj, sm.NTrees, sm.MaxDepth, sm.LearningRate, sm.MaxBin
	g.Lambda, g.Alpha, g.MinChildWeight = sm.Lambda, sm.Alpha, sm.MinChildWeight
	g.Subsample, g.ColsampleByTree = sm.Subsample, sm.Colsample
	g.GrowPolicy, g.MaxLeaves = gbdt.GrowPolicy(sm.Growth), sm.MaxLeaves
	g.EarlyStoppingRounds = sm.EarlyStoppingRounds
	g.Seed, g.Threads = uint64(s.Seed), o.Threads
	if s.Task == spec.TaskMulticlass {
		g.NumClasses = d.classes
	}
	fitStart := time.Now()
	g.Progress = func(r gbdt.Round) {
		done := r.Iteration + 1
		per := time.Since(fitStart) / time.Duration(done)
		report(Progress{
			Stage: "fit", Iteration: done, Iterations: g.Rounds, Metric: metric,
			TrainLoss: r.TrainLoss, ValidLoss: r.ValidLoss, Remaining: per * time.Duration(g.Rounds-done),
		})
	}
	train := &gbdt.Dataset{Rows: d.xTrain, NumFeatures: d.width, Labels: d.yTrain, Names: d.pipeline.Names()}
	var valid *gbdt.Dataset
	if len(d.yValid) > 0 {
		valid = &gbdt.Dataset{Rows: d.xValid, NumFeatures: d.width, Labels: d.yValid, Names: d.pipeline.Names()}
	}
	res, err := gbdt.Train(ctx, train, valid, g)
	if err != nil {
		return nil, fmt.Errorf("%s:%d: model: %w", s.File, sm.Line, err)
	}
	t := Training{Model: "gbdt " + string(obj), Rounds: res.Rounds, BestRound: res.BestRound, Metric: metric, Converged: true}
	if n := res.Rounds; n > 0 && n <= len(res.TrainLoss) {
		tl := res.TrainLoss[n-1]
		t.TrainLoss = &tl
		if n <= len(res.ValidLoss) {
			vl := res.ValidLoss[n-1]
			t.ValidLoss = &vl
		}
	}
	return &fitted{imp: res.Model, objective: string(obj), booster: "gbtree (" + sm.Growth + ")", training: t}, nil
}

// sliceRows is a score.RowReader over rows in memory.
type sliceRows struct {
	rows []float64
	nf   int
}

func (s *sliceRows) Read(dst []float64) (int, error) {
	n := min(len(dst)/s.nf, len(s.rows)/s.nf)
	if n == 0 {
		return 0, io.EOF
	}
	copy(dst, s.rows[:n*s.nf])
	s.rows = s.rows[n*s.nf:]
	return n, nil
}

// profileRows is the reference of the training rows' model columns and
// the model's predictions of them.
func profileRows(ctx context.Context, p model.Predictor, m *model.Manifest, d *data, seed int64) (*model.Reference, error) {
	po := profile.DefaultOptions()
	po.Seed = uint64(seed)
	// The rows are model columns already: profile them as a version
	// without transforms whose features are those columns.
	cols := *m
	cols.Features, cols.ModelFeatures, cols.Transform = m.Columns(), nil, nil
	ref, err := profile.Build(ctx, p, &cols, &sliceRows{rows: d.xTrain, nf: d.width}, "training rows", po)
	if err != nil {
		return nil, fmt.Errorf("profile the training rows: %w", err)
	}
	return ref, nil
}
