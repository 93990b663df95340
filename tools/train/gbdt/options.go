package gbdt

import (
	"fmt"
	"math"
)

// Objective is the loss the trees minimise, named as XGBoost names it.
type Objective string

const (
	// BinaryLogistic: labels in [0, 1], margin is the log-odds, served with
	// the sigmoid link.
	BinaryLogistic Objective = "binary:logistic"
	// SquaredError: regression on any finite label, identity link.
	SquaredError Objective = "reg:squarederror"
	// Softprob: multiclass with labels 0..NumClasses-1, one tree per class
	// per round, softmax link.
	Softprob Objective = "multi:softprob"
	// Poisson: counts (labels >= 0), margin is the log of the mean, exp link.
	// The hessian is exp(margin + max delta step) as in XGBoost, the step
	// being Options.MaxDeltaStep or, when that is 0, PoissonMaxDeltaStep.
	Poisson Objective = "count:poisson"
)

// PoissonMaxDeltaStep is XGBoost's default max_delta_step for count:poisson:
// XGBoost's learner sets it, when the user does not, both for the objective
// (added to the margin in the hessian) and for the trees (a bound on every
// leaf weight).
const PoissonMaxDeltaStep = 0.7

// GrowPolicy is the order in which a tree's nodes are split, named as
// XGBoost's grow_policy.
type GrowPolicy string

const (
	// DepthWise splits every splittable node of a level, in node order,
	// before the next level (XGBoost's default, "depthwise"). The empty
	// GrowPolicy means DepthWise.
	DepthWise GrowPolicy = "depthwise"
	// LossGuide splits one leaf at a time, always the leaf whose best split
	// reduces the loss most, ties going to the leaf created first (the
	// lower node id), as XGBoost's "lossguide" and LightGBM's best-first
	// growth; the tree stops at MaxLeaves leaves, or when no leaf's split
	// gains more than Gamma.
	LossGuide GrowPolicy = "lossguide"
)

// Round is the progress of training after one boosting round.
type Round struct {
	// Iteration is the 0-based round just trained.
	Iteration int
	// TrainLoss and ValidLoss are the objective's evaluation metric on the
	// training and validation rows after the round (logloss, RMSE,
	// multiclass logloss or Poisson negative log-likelihood, as
	// Result.TrainLoss); ValidLoss is NaN without a validation set.
	TrainLoss, ValidLoss float64
}

// Options are the training hyperparameters, named as XGBoost's parameters.
type Options struct {
	Objective Objective
	// NumClasses is the number of classes for Softprob (at least 2); 0
	// otherwise.
	NumClasses int
	// Rounds is the number of boosting rounds (XGBoost's num_boost_round);
	// each round adds one tree, or NumClasses trees for Softprob.
	Rounds int
	// MaxDepth is the maximum depth of a tree (a depth-1 tree is one
	// split): 1 to 16 for DepthWise; for LossGuide 0 means no limit, as in
	// XGBoost, and a LossGuide tree needs MaxLeaves > 0 unless MaxDepth is
	// 1 to 16.
	MaxDepth int
	// GrowPolicy is DepthWise (or empty, the same) or LossGuide.
	GrowPolicy GrowPolicy
	// MaxLeaves is the most leaves a tree may have (XGBoost's max_leaves),
	// under either policy; 0 means no limit, 1 is rejected. DepthWise
	// splits a level's nodes in node order until the tree has MaxLeaves
	// leaves, as XGBoost's depth-wise driver does.
	MaxLeaves int
	// LearningRate (eta) multiplies every leaf weight, in (0, 1].
	LearningRate float64
	// Lambda is the L2 penalty on leaf weights (reg_lambda), >= 0.
	Lambda float64
	// Alpha is the L1 penalty on leaf weights (reg_alpha), >= 0.
	Alpha float64
	// MinChildWeight is the least hessian sum a child may have, >= 0.
	MinChildWeight float64
	// MaxDeltaStep, when > 0, bounds every leaf weight (before the learning
	// rate) to [-MaxDeltaStep, MaxDeltaStep], and split gains are computed
	// from the bounded weights, as XGBoost's max_delta_step; 0 means no
	// bound, except for Poisson, where 0 means PoissonMaxDeltaStep.
	MaxDeltaStep float64
	// Gamma is the least loss reduction a split must bring (min_split_loss),
	// >= 0; a split whose gain is not above it is not made.
	Gamma float64
	// MaxBin is the most bins per feature, 2 to 255 (missing values have a
	// bin of their own beside these).
	MaxBin int
	// Subsample is the fraction of rows each tree sees, in (0, 1]: each row
	// is kept with this probability, drawn per tree from Seed.
	Subsample float64
	// ColsampleByTree is the fraction of features each tree may split on,
	// in (0, 1]: max(1, round(fraction·features)) drawn per tree from Seed.
	ColsampleByTree float64
	// BaseScore is the prediction before any tree, in the objective's output
	// units (a probability for BinaryLogistic, a mean for Poisson); XGBoost
	// 1.7.4 uses 0.5 for every objective, and DefaultOptions does too.
	BaseScore float64
	// Seed drives row and column sampling; the same seed gives the same model.
	Seed uint64
	// Threads building histograms, >= 1. The model does not depend on it.
	Threads int
	// EarlyStoppingRounds, when > 0, stops training after that many rounds
	// without a lower validation loss, and keeps the rounds up to the best
	// one. It needs a validation set.
	EarlyStoppingRounds int
	// Progress, when not nil, is called once per boosting round, after the
	// round's trees are added and its losses computed, on the goroutine
	// that called Train (including the round that triggers early
	// stopping). It must not retain or modify anything of Train's.
	Progress func(Round) `json:"-"`
}

// DefaultOptions returns XGBoost 1.7.4's defaults for binary logistic
// training (eta 0.3, max_depth 6, grow_policy depthwise, max_leaves 0,
// lambda 1, min_child_weight 1, base_score 0.5, no sampling) except MaxBin 255 (XGBoost's default is 256), with 100
// rounds and 2 threads.
func DefaultOptions() Options {
	return Options{
		Objective:       BinaryLogistic,
		Rounds:          100,
		MaxDepth:        6,
		LearningRate:    0.3,
		Lambda:          1,
		MinChildWeight:  1,
		MaxBin:          255,
		Subsample:       1,
		ColsampleByTree: 1,
		BaseScore:       0.5,
		GrowPolicy:      DepthWise,
		Threads:         2,
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// validate checks every field and names the first bad one.
func (o *Options) validate() error {
	switch o.Objective {
	case BinaryLogistic, SquaredError, Poisson:
		if o.NumClasses != 0 {
			return fmt.Errorf("Options.NumClasses is %d: only %s takes classes, want 0", o.NumClasses, Softprob)
		}
	case Softprob:
		if o.NumClasses < 2 {
			return fmt.Errorf("Options.NumClasses is %d: %s needs at least 2", o.NumClasses, Softprob)
		}
	default:
		return fmt.Errorf("Options.Objective %q is not supported: want %s, %s, %s or %s", o.Objective, BinaryLogistic, SquaredError, Softprob, Poisson)
	}
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("Options.%s is %v, want %s", field, v, want)
	}
	switch {
	case o.Rounds < 1:
		return bad("Rounds", o.Rounds, "at least 1")
	case o.GrowPolicy != "" && o.GrowPolicy != DepthWise && o.GrowPolicy != LossGuide:
		return fmt.Errorf("Options.GrowPolicy %q is not supported: want %s or %s", o.GrowPolicy, DepthWise, LossGuide)
	case o.MaxLeaves < 0 || o.MaxLeaves == 1:
		return bad("MaxLeaves", o.MaxLeaves, "0 (no limit) or at least 2")
	case o.GrowPolicy != LossGuide && (o.MaxDepth < 1 || o.MaxDepth > 16):
		return bad("MaxDepth", o.MaxDepth, "1 to 16 for "+string(DepthWise))
	case o.GrowPolicy == LossGuide && o.MaxDepth < 0:
		return bad("MaxDepth", o.MaxDepth, ">= 0 (0: no limit) for "+string(LossGuide))
	case o.GrowPolicy == LossGuide && o.MaxLeaves == 0 && (o.MaxDepth == 0 || o.MaxDepth > 16):
		return fmt.Errorf("Options.MaxLeaves is 0 with MaxDepth %d: a %s tree needs MaxLeaves > 0 or MaxDepth 1 to 16", o.MaxDepth, LossGuide)
	case !(o.LearningRate > 0 && o.LearningRate <= 1):
		return bad("LearningRate", o.LearningRate, "in (0, 1]")
	case !(o.Lambda >= 0) || math.IsInf(o.Lambda, 0):
		return bad("Lambda", o.Lambda, "finite and >= 0")
	case !(o.Alpha >= 0) || math.IsInf(o.Alpha, 0):
		return bad("Alpha", o.Alpha, "finite and >= 0")
	case !(o.MinChildWeight >= 0) || math.IsInf(o.MinChildWeight, 0):
		return bad("MinChildWeight", o.MinChildWeight, "finite and >= 0")
	case !(o.MaxDeltaStep >= 0) || math.IsInf(o.MaxDeltaStep, 0):
		return bad("MaxDeltaStep", o.MaxDeltaStep, "finite and >= 0")
	case !(o.Gamma >= 0) || math.IsInf(o.Gamma, 0):
		return bad("Gamma", o.Gamma, "finite and >= 0")
	case o.MaxBin < 2 || o.MaxBin > 255:
		return bad("MaxBin", o.MaxBin, "2 to 255")
	case !(o.Subsample > 0 && o.Subsample <= 1):
		return bad("Subsample", o.Subsample, "in (0, 1]")
	case !(o.ColsampleByTree > 0 && o.ColsampleByTree <= 1):
		return bad("ColsampleByTree", o.ColsampleByTree, "in (0, 1]")
	case o.Threads < 1:
		return bad("Threads", o.Threads, "at least 1")
	case o.EarlyStoppingRounds < 0:
		return bad("EarlyStoppingRounds", o.EarlyStoppingRounds, ">= 0")
	case !finite(o.BaseScore):
		return bad("BaseScore", o.BaseScore, "finite")
	}
	switch o.Objective {
	case BinaryLogistic:
		if !(o.BaseScore > 0 && o.BaseScore < 1) {
			return bad("BaseScore", o.BaseScore, "in (0, 1) for "+string(o.Objective))
		}
	case Poisson:
		if !(o.BaseScore > 0) {
			return bad("BaseScore", o.BaseScore, "> 0 for "+string(o.Objective))
		}
	}
	return nil
}

// maxDeltaStep is the leaf weight bound in effect (0: none).
func (o *Options) maxDeltaStep() float64 {
	if o.MaxDeltaStep == 0 && o.Objective == Poisson {
		return PoissonMaxDeltaStep
	}
	return o.MaxDeltaStep
}
