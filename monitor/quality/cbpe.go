package quality

import (
	"math"
	"slices"
)

// This file is NannyML's confidence-based performance estimation (CBPE)
// for binary classifiers, from its "How it works: performance
// estimation" page (docs/how_it_works/performance_estimation.rst,
// NannyML 0.8-0.10): with calibrated probabilities p = Pr(y = 1), a row
// predicted positive (p ≥ t) is right with probability p and a row
// predicted negative with probability 1-p, so the expected confusion
// matrix, and any metric of it, follows from the scores alone, before
// any label arrives. These functions take the probabilities as
// calibrated; miscalibrated scores give a wrong estimate (the method's
// stated assumption; TestCBPEMiscalibrated shows it). NannyML first
// calibrates the scores on a reference set with labels by isotonic
// regression: FitIsotonic and Isotonic.Calibrate do that, and
// EstimateConfusionScored keeps the model's own decisions on its raw
// scores (TestCBPEIsotonicRepairs shows the estimate tracking again).

// ExpectedConfusion is the expected confusion matrix of scores p at a
// threshold: the sums over the rows of the probability of each cell.
type ExpectedConfusion struct {
	TN, FP, FN, TP float64
}

// validProbabilities reports whether p is non-empty and every value is in
// [0, 1] (a NaN is not).
func validProbabilities(p []float64) bool {
	if len(p) == 0 {
		return false
	}
	for _, v := range p {
		if !(v >= 0 && v <= 1) {
			return false
		}
	}
	return true
}

// EstimateConfusion is CBPE's expected confusion matrix at threshold: a
// row with p ≥ threshold adds p to TP and 1-p to FP, any other row adds
// 1-p to TN and p to FN (NannyML's steps 2-5: P(ŷ ≠ y) = |ŷ - p|). ok is
// false, and the matrix zero, for no rows or a p outside [0, 1] or NaN.
func EstimateConfusion(p []float64, threshold float64) (c ExpectedConfusion, ok bool) {
	return EstimateConfusionScored(p, p, threshold)
}

// EstimateConfusionScored is EstimateConfusion when the model's
// decisions and CBPE's probabilities differ, as after a calibration (see
// Isotonic): row i is predicted positive when score[i] ≥ threshold and is
// positive with probability prob[i]. ok is false for no rows, a prob
// outside [0, 1] or NaN, or slices of different lengths.
func EstimateConfusionScored(prob, score []float64, threshold float64) (c ExpectedConfusion, ok bool) {
	if len(prob) != len(score) || !validProbabilities(prob) {
		return ExpectedConfusion{}, false
	}
	for i, v := range prob {
		if score[i] >= threshold {
			c.TP += v
			c.FP += 1 - v
		} else {
			c.TN += 1 - v
			c.FN += v
		}
	}
	return c, true
}

// Accuracy is the expected accuracy (TP+TN)/(TN+FP+FN+TP); NaN for an
// empty matrix.
func (c ExpectedConfusion) Accuracy() float64 {
	n := c.TN + c.FP + c.FN + c.TP
	if n == 0 {
		return math.NaN()
	}
	return (c.TP + c.TN) / n
}

// EstimateAccuracy is CBPE's estimated accuracy at threshold: the mean
// over the rows of the probability the prediction is right, p where p ≥
// threshold and 1-p elsewhere. NaN for no rows or a p outside [0, 1] or
// NaN. With threshold 0.5 it cannot be below 0.5, as NannyML notes.
func EstimateAccuracy(p []float64, threshold float64) float64 {
	c, ok := EstimateConfusion(p, threshold)
	if !ok {
		return math.NaN()
	}
	return (c.TP + c.TN) / float64(len(p))
}

// EstimateAUC is CBPE's estimated ROC AUC: at each distinct score t
// taken as threshold, expected TP = Σ p and FP = Σ (1-p) over the rows
// scored at least t, TPR = TP/Σp and FPR = FP/Σ(1-p) over all rows
// (NannyML's ROC AUC steps 1-11), and the area under those points by the
// trapezoid rule, starting from (0, 0) as scikit-learn's roc_curve does.
// That is roc_auc_score over the rows taken twice, once positive with
// weight p and once negative with weight 1-p; the oracle test holds it to
// scikit-learn computed that way. NaN for no rows, a p outside [0, 1] or
// NaN, or when Σp or Σ(1-p) is 0 (every p 0, or every p 1: one expected
// class). It sorts a copy of p; p is not modified.
func EstimateAUC(p []float64) float64 {
	if !validProbabilities(p) {
		return math.NaN()
	}
	s := slices.Clone(p)
	slices.Sort(s)
	return estimateAUCSorted(s)
}

// estimateAUCSorted is EstimateAUC of valid scores sorted ascending.
func estimateAUCSorted(s []float64) float64 {
	sumP, sumN := 0.0, 0.0
	for _, v := range s {
		sumP += v
		sumN += 1 - v
	}
	if sumP <= 0 || sumN <= 0 {
		return math.NaN()
	}
	// Sweep from the highest score down: each run of equal scores is one
	// point of the curve, as in Rank.
	area := 0.0
	tp, fp := 0.0, 0.0
	for i := len(s) - 1; i >= 0; {
		t := s[i]
		ptp, pfp := tp, fp
		for ; i >= 0 && s[i] == t; i-- {
			tp += s[i]
			fp += 1 - s[i]
		}
		area += (fp - pfp) * (tp + ptp) / 2
	}
	// The last point is (fp, tp) = (sumN, sumP) up to rounding; divide by
	// the sums as scikit-learn divides by the curve's last point.
	return area / (tp * fp)
}
