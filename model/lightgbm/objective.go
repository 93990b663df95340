package lightgbm

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/predictd/predictd/model"
)

// objective is how an objective line turns margins into predictions: the
// link LightGBM's ObjectiveFunction::ConvertOutput applies, and the task.
type objective struct {
	name     string // canonical LightGBM name
	link     model.Link
	task     model.Task
	scale    float64 // sigmoid scale; 1 for other links
	perClass bool    // one tree per class per iteration
	numClass int     // the num_class:K parameter, 0 when absent
}

// objectiveAliases maps the names LightGBM accepts (its config aliases) to
// the canonical name ObjectiveFunction::ToString writes. Files written by
// LightGBM carry the canonical name; the aliases cover hand-edited headers.
var objectiveAliases = map[string]string{
	"regression": "regression", "regression_l2": "regression", "l2": "regression",
	"mean_squared_error": "regression", "mse": "regression", "l2_root": "regression",
	"root_mean_squared_error": "regression", "rmse": "regression",
	"regression_l1": "regression_l1", "l1": "regression_l1",
	"mean_absolute_error": "regression_l1", "mae": "regression_l1",
	"huber": "huber", "fair": "fair", "quantile": "quantile",
	"mape": "mape", "mean_absolute_percentage_error": "mape",
	"poisson": "poisson", "gamma": "gamma", "tweedie": "tweedie",
	"binary":     "binary",
	"multiclass": "multiclass", "softmax": "multiclass",
	"multiclassova": "multiclassova", "multiclass_ova": "multiclassova", "ova": "multiclassova", "ovr": "multiclassova",
	"cross_entropy": "cross_entropy", "xentropy": "cross_entropy",
	"cross_entropy_lambda": "cross_entropy_lambda", "xentlambda": "cross_entropy_lambda",
	"lambdarank":  "lambdarank",
	"rank_xendcg": "rank_xendcg", "xendcg": "rank_xendcg", "xe_ndcg": "rank_xendcg",
	"xe_ndcg_mart": "rank_xendcg", "xendcg_mart": "rank_xendcg",
}

// parseObjective reads an objective line such as "binary sigmoid:1",
// "multiclassova num_class:3 sigmoid:1" or "regression sqrt": the name,
// then space-separated parameters, key:value or bare flags.
func parseObjective(f field) (objective, error) {
	toks := splitSpaces(f.val, nil)
	if len(toks) == 0 {
		return objective{}, fmt.Errorf("line %d: objective is empty", f.line)
	}
	name, ok := objectiveAliases[toks[0]]
	if !ok {
		return objective{}, fmt.Errorf("line %d: objective: unknown objective %s; predictd knows LightGBM's built-in objectives (binary, multiclass, multiclassova, regression, regression_l1, huber, fair, quantile, mape, poisson, gamma, tweedie, cross_entropy, cross_entropy_lambda, lambdarank, rank_xendcg)", f.line, model.Quote(toks[0]))
	}
	o := objective{name: name, scale: 1}
	sqrt := false
	sigmoid := 1.0 // LightGBM writes sigmoid:X for binary and multiclassova
	for _, tok := range toks[1:] {
		k, v, kv := strings.Cut(tok, ":")
		switch {
		case !kv && tok == "sqrt":
			sqrt = true
		case k == "sigmoid":
			s, err := strconv.ParseFloat(v, 64)
			if err != nil || !(s > 0) || math.IsInf(s, 0) {
				return objective{}, fmt.Errorf("line %d: objective: sigmoid:%s is not a positive number", f.line, model.Quote(v))
			}
			sigmoid = s
		case k == "num_class":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return objective{}, fmt.Errorf("line %d: objective: num_class:%s is not a positive integer", f.line, model.Quote(v))
			}
			o.numClass = n
		}
		// Other parameters (tweedie_variance_power, ...) only shape
		// training; prediction does not depend on them.
	}

	switch name {
	case "regression", "regression_l1", "fair", "quantile", "mape":
		// RegressionL2loss::ConvertOutput, inherited by these: sign(m)·m²
		// when the model was trained on sqrt-transformed labels.
		o.link, o.task = model.LinkIdentity, model.TaskRegression
		if sqrt {
			o.link = model.LinkSignedSquare
		}
	case "huber":
		// RegressionHuberLoss switches sqrt off in its constructor.
		o.link, o.task = model.LinkIdentity, model.TaskRegression
	case "lambdarank", "rank_xendcg":
		o.link, o.task = model.LinkIdentity, model.TaskRegression
	case "poisson":
		// Poisson, gamma and tweedie override ConvertOutput with exp and
		// ignore sqrt.
		o.link, o.task = model.LinkExp, model.TaskCount
	case "gamma", "tweedie":
		o.link, o.task = model.LinkExp, model.TaskPositive
	case "binary":
		o.link, o.task, o.scale = model.LinkSigmoid, model.TaskBinary, sigmoid
	case "cross_entropy":
		// CrossEntropy::ConvertOutput is 1/(1+exp(-m)), no sigmoid parameter.
		o.link, o.task = model.LinkSigmoid, model.TaskBinary
	case "cross_entropy_lambda":
		o.link, o.task = model.LinkLog1pExp, model.TaskRegression
	case "multiclass":
		o.link, o.task, o.perClass = model.LinkSoftmax, model.TaskMulticlass, true
	case "multiclassova":
		// One binary sigmoid per class; the outputs do not sum to 1.
		o.link, o.task, o.perClass, o.scale = model.LinkSigmoid, model.TaskMulticlass, true, sigmoid
	default:
		panic("BUG: objective alias without a link: " + name)
	}
	return o, nil
}
