package model

import (
	"fmt"
	"math"

	"github.com/predictd/predictd/kernels"
)

// Kind names the family of a model's payload.
type Kind string

const (
	KindTrees  Kind = "tree_ensemble"
	KindLinear Kind = "linear"
	KindMLP    Kind = "mlp"
)

// Task says what a model predicts, and so how its outputs read.
type Task string

const (
	TaskBinary     Task = "binary"     // one output: probability of the positive class
	TaskMulticlass Task = "multiclass" // one output per class, or the class index
	TaskRegression Task = "regression" // one output: the value
	TaskCount      Task = "count"      // one output: a non-negative expected count
	TaskPositive   Task = "positive"   // one output: a positive value (gamma, tweedie)
)

// Link turns raw margins into predictions.
type Link string

const (
	LinkIdentity Link = "identity"
	// LinkSigmoid is 1/(1+exp(-Scale·m)) applied to each margin.
	LinkSigmoid Link = "sigmoid"
	// LinkSoftmax normalises the margins of a row into probabilities.
	LinkSoftmax Link = "softmax"
	// LinkOVR is scikit-learn's one-vs-rest: a sigmoid of each margin, then
	// each row divided by its sum (LinearClassifierMixin._predict_proba_lr).
	LinkOVR Link = "ovr"
	// LinkProbability passes margins through unchanged, like identity,
	// for a model whose margins are already probabilities: a random forest
	// averaging its trees' class probabilities (scikit-learn's forests,
	// LightGBM 2.2.2 and earlier's binary random forests). A binary model
	// with it outputs p, the probability of class 1, and has a class label;
	// a multiclass one outputs p0..pK-1.
	LinkProbability Link = "probability"
	// LinkArgmax outputs the index of the largest margin (XGBoost's
	// multi:softmax).
	LinkArgmax Link = "argmax"
	LinkExp    Link = "exp"
	// LinkLog1pExp is log(1+exp(m)) (LightGBM's cross_entropy_lambda).
	LinkLog1pExp Link = "log1pexp"
	// LinkSignedSquare is sign(m)·m² (LightGBM's regression with sqrt).
	LinkSignedSquare Link = "signed_square"
)

// Predictor is a loaded model's prediction function. Implementations are
// immutable and safe for concurrent use.
type Predictor interface {
	// NumFeatures is the width of an input row.
	NumFeatures() int
	// NumMargins is the number of raw outputs per row.
	NumMargins() int
	// NumOutputs is the number of transformed outputs per row.
	NumOutputs() int
	// Predict appends to dst the predictions for rows (row-major,
	// NumFeatures values each, NaN for missing): NumOutputs values per row,
	// or NumMargins raw margins per row when raw is set. It allocates only
	// to grow dst.
	Predict(dst, rows []float64, raw bool) []float64
}

// Trees is a tree-ensemble model: a forest and the link that turns its
// margins into predictions.
type Trees struct {
	Forest kernels.Forest
	Link   Link
	// Scale multiplies the margin inside a sigmoid (LightGBM's sigmoid
	// parameter); 1 elsewhere.
	Scale float64
	// Divide divides the summed margins before the link (random forests
	// average their trees); 1 means a plain sum.
	Divide float64

	fast *kernels.FastForest // set by Prepare
}

// Prepare validates t and compiles its forest for fast evaluation. Call it
// once, before t is shared; Predict uses the reference walk until then.
func (t *Trees) Prepare() error {
	if err := t.Validate(); err != nil {
		return err
	}
	ff, err := kernels.NewFastForest(&t.Forest)
	if err != nil {
		return err
	}
	t.fast = ff
	return nil
}

func (t *Trees) NumFeatures() int { return t.Forest.NumFeatures }
func (t *Trees) NumMargins() int  { return t.Forest.NumGroups() }
func (t *Trees) NumOutputs() int {
	if t.Link == LinkArgmax {
		return 1
	}
	return t.Forest.NumGroups()
}

// Validate checks that t is complete and consistent.
func (t *Trees) Validate() error {
	if err := t.Forest.Validate(); err != nil {
		return err
	}
	if err := checkLink(t.Link, t.Forest.NumGroups()); err != nil {
		return err
	}
	if !(t.Divide > 0) || math.IsInf(t.Divide, 0) {
		return fmt.Errorf("tree divisor %v is not a positive number", t.Divide)
	}
	if !(t.Scale > 0) || math.IsInf(t.Scale, 0) {
		return fmt.Errorf("sigmoid scale %v is not a positive number", t.Scale)
	}
	return nil
}

func (t *Trees) Predict(dst, rows []float64, raw bool) []float64 {
	start := len(dst)
	if t.fast != nil {
		dst = t.fast.Margins(dst, rows)
	} else {
		dst = t.Forest.Margins(dst, rows)
	}
	m := dst[start:]
	if t.Divide != 1 {
		for i := range m {
			m[i] /= t.Divide
		}
	}
	if raw {
		return dst
	}
	if t.Forest.Float32Sum {
		return applyLink32(dst, start, t.Forest.NumGroups(), t.Link, t.Scale)
	}
	return applyLink(dst, start, t.Forest.NumGroups(), t.Link, t.Scale)
}

// applyLink32 is applyLink in XGBoost's float32 arithmetic, for forests that
// sum in float32: it reproduces XGBoost's transformed predictions to the bit
// in all but rare cases where glibc's expf rounds a near-tie the other way
// (1 ulp). Computing the link in float64 instead differs by up to 5 ulp, and
// by far more where XGBoost's float32 results are subnormal.
func applyLink32(dst []float64, start, n int, link Link, scale float64) []float64 {
	m := dst[start:]
	exp32 := func(x float32) float32 { return float32(math.Exp(float64(x))) }
	switch link {
	case LinkSigmoid:
		for i, v := range m {
			m[i] = float64(float32(1) / (float32(1) + exp32(-float32(scale*v))))
		}
	case LinkExp:
		for i, v := range m {
			m[i] = float64(exp32(float32(v)))
		}
	case LinkSoftmax:
		for r := 0; r+n <= len(m); r += n {
			row := m[r : r+n]
			mx := float32(row[0])
			for _, v := range row[1:] {
				mx = max(mx, float32(v))
			}
			// XGBoost sums the float32 exponentials in float64.
			var sum float64
			for i, v := range row {
				e := exp32(float32(v) - mx)
				row[i] = float64(e)
				sum += float64(e)
			}
			s32 := float32(sum)
			for i, e := range row {
				row[i] = float64(float32(e) / s32)
			}
		}
	default:
		// Links XGBoost does not have, and the exact ones (identity, argmax).
		return applyLink(dst, start, n, link, scale)
	}
	return dst
}

// checkLink reports whether link can apply to n margins per row.
func checkLink(link Link, n int) error {
	switch link {
	case LinkIdentity, LinkProbability, LinkSigmoid, LinkExp, LinkLog1pExp, LinkSignedSquare:
		return nil
	case LinkSoftmax, LinkArgmax, LinkOVR:
		if n < 2 {
			return fmt.Errorf("link %s needs at least 2 margins, model has %d", link, n)
		}
		return nil
	}
	return fmt.Errorf("unknown link %s", Quote(string(link)))
}

// applyLink transforms dst[start:], which holds rows of n margins, in place
// and returns dst; argmax shrinks each row to one value.
func applyLink(dst []float64, start, n int, link Link, scale float64) []float64 {
	m := dst[start:]
	switch link {
	case LinkIdentity, LinkProbability:
	case LinkSigmoid:
		for i, v := range m {
			m[i] = 1 / (1 + math.Exp(-scale*v))
		}
	case LinkExp:
		for i, v := range m {
			m[i] = math.Exp(v)
		}
	case LinkLog1pExp:
		for i, v := range m {
			m[i] = math.Log1p(math.Exp(v))
		}
	case LinkSignedSquare:
		for i, v := range m {
			m[i] = math.Copysign(v*v, v)
		}
	case LinkSoftmax:
		for r := 0; r+n <= len(m); r += n {
			kernels.Softmax64(m[r : r+n])
		}
	case LinkOVR:
		for r := 0; r+n <= len(m); r += n {
			row := m[r : r+n]
			var sum float64
			for i, v := range row {
				row[i] = 1 / (1 + math.Exp(-v))
				sum += row[i]
			}
			for i := range row {
				row[i] /= sum
			}
		}
	case LinkArgmax:
		rows := len(m) / n
		for r := 0; r < rows; r++ {
			row := m[r*n : (r+1)*n]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			m[r] = float64(best)
		}
		return dst[:start+rows]
	default:
		panic("BUG: unchecked link " + string(link))
	}
	return dst
}
