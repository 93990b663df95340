package eval

import (
	"cmp"
	"math"
	"slices"

	"github.com/predictd/predictd/monitor/quality"
)

// evaluator computes the metrics of a set of rows with monitor/quality.
type evaluator struct {
	o     *Options
	md    mode
	k     int // classes (multiclass)
	width int // outputs per row
}

// gather returns the labels and predictions of rows.
func (e *evaluator) gather(y, preds []float64, rows []int) (ys, ps []float64) {
	ys, ps = make([]float64, len(rows)), make([]float64, 0, len(rows)*e.width)
	for i, r := range rows {
		ys[i] = y[r]
		ps = append(ps, preds[r*e.width:(r+1)*e.width]...)
	}
	return ys, ps
}

func classes(y []float64) []int {
	c := make([]int, len(y))
	for i, v := range y {
		c[i] = int(v)
	}
	return c
}

// metrics computes Metrics over rows (indices into y and preds).
func (e *evaluator) metrics(y, preds []float64, rows []int) Metrics {
	ys, ps := e.gather(y, preds, rows)
	return e.metricsOf(ys, ps)
}

// metricsOf computes Metrics over labels ys and their predictions ps
// (width per row).
func (e *evaluator) metricsOf(ys, ps []float64) Metrics {
	m := nanMetrics()
	switch e.md {
	case modeProb, modeScore:
		r := quality.Rank(ys, ps) // ranked once for both
		m.AUC = r.ROCAUC()
		m.PRAUC = r.AveragePrecision()
		if e.md == modeScore {
			break
		}
		m.LogLoss = quality.LogLoss(ys, ps)
		m.Brier = quality.Brier(ys, ps)
		c := quality.BinaryConfusion(ys, ps, e.o.Threshold)
		m.Accuracy, m.Precision, m.Recall, m.F1 = c.Accuracy(), c.Precision(), c.Recall(), c.F1()
		m.PositiveRate, m.BaseRate = c.PositiveRate(), c.BaseRate()
		if cal, ok := quality.CalibrationCurve(ys, ps, e.o.Bins); ok {
			m.ECE = cal.ECE()
		}
	case modeProbs, modeClass:
		yc := classes(ys)
		var pred []int
		if e.md == modeProbs {
			pred = quality.Argmax(nil, ps, e.k)
			m.LogLoss = quality.MulticlassLogLoss(yc, ps, e.k)
			m.AUC, m.AUCWeighted = quality.OVRAUC(yc, ps, e.k)
		} else {
			pred = classes(ps)
		}
		m.Accuracy = quality.MulticlassAccuracy(yc, pred)
		a := quality.Averages(quality.MulticlassConfusion(yc, pred, e.k))
		m.PrecisionMacro, m.RecallMacro, m.F1Macro = a.PrecisionMacro, a.RecallMacro, a.F1Macro
		m.PrecisionWeighted, m.RecallWeighted, m.F1Weighted = a.PrecisionWeighted, a.RecallWeighted, a.F1Weighted
	case modeValue:
		m.RMSE = quality.RMSE(ys, ps)
		m.MAE = quality.MAE(ys, ps)
		m.R2 = quality.R2(ys, ps)
		m.PoissonDeviance = quality.PoissonDeviance(ys, ps)
		m.TweedieDeviance = quality.TweedieDeviance(ys, ps, e.o.TweediePower)
	}
	return m
}

// confusion is the confusion matrix over all rows; nil for regression and
// for a binary model's untransformed score.
func (e *evaluator) confusion(y, preds []float64) [][]int64 {
	switch e.md {
	case modeProb:
		c := quality.BinaryConfusion(y, preds, e.o.Threshold)
		return [][]int64{{c.TN, c.FP}, {c.FN, c.TP}}
	case modeProbs:
		return quality.MulticlassConfusion(classes(y), quality.Argmax(nil, preds, e.k), e.k)
	case modeClass:
		return quality.MulticlassConfusion(classes(y), classes(preds), e.k)
	}
	return nil
}

// curves are the binary curves over all rows (the calibration curve only
// for probabilities).
func (e *evaluator) curves(y, preds []float64) *Curves {
	c := &Curves{}
	r := quality.Rank(y, preds)
	c.ROC.FPR, c.ROC.TPR, c.ROC.Thresholds = r.ROCCurve()
	if n := len(c.ROC.FPR); n == 0 || math.IsNaN(c.ROC.FPR[n-1]) || math.IsNaN(c.ROC.TPR[n-1]) {
		// Rows of one class have no ROC curve (its rates are NaN).
		c.ROC.FPR, c.ROC.TPR, c.ROC.Thresholds = nil, nil, nil
	}
	c.PR.Precision, c.PR.Recall, c.PR.Thresholds = r.PRCurve()
	if e.md == modeProb {
		if cal, ok := quality.CalibrationCurve(y, preds, e.o.Bins); ok {
			c.Calibration.MeanPredicted, c.Calibration.FractionPositive, c.Calibration.Count = cal.MeanPredicted, cal.FractionPositive, cal.Count
		}
	}
	return c
}

// classCurves are each class's one-vs-rest ROC curve (multiclass
// probabilities).
func (e *evaluator) classCurves(y, preds []float64) *Curves {
	c := &Curves{}
	n := len(y)
	bin, col := make([]float64, n), make([]float64, n)
	for k := range e.k {
		for i, v := range y {
			bin[i] = 0
			if int(v) == k {
				bin[i] = 1
			}
			col[i] = preds[i*e.k+k]
		}
		r := quality.Rank(bin, col)
		auc := r.ROCAUC()
		if math.IsNaN(auc) {
			continue
		}
		fpr, tpr, _ := r.ROCCurve()
		c.ClassROC = append(c.ClassROC, ClassROC{Class: k, AUC: auc, FPR: fpr, TPR: tpr})
	}
	return c
}

// regressionCurve bins the rows by ascending prediction into Bins bins of
// equal count (the first len%Bins bins one row more) and gives each bin's
// mean prediction and mean label.
func (e *evaluator) regressionCurve(y, preds []float64) *Curves {
	c := &Curves{}
	order := make([]int, len(y))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(preds[a], preds[b]) })
	n, bins := len(order), e.o.Bins
	start := 0
	for b := range bins {
		size := n / bins
		if b < n%bins {
			size++
		}
		if size == 0 {
			continue
		}
		sp, sy := 0.0, 0.0
		for _, i := range order[start : start+size] {
			sp += preds[i]
			sy += y[i]
		}
		start += size
		r := &c.Regression
		r.MeanPredicted = append(r.MeanPredicted, sp/float64(size))
		r.MeanLabel = append(r.MeanLabel, sy/float64(size))
		r.Count = append(r.Count, int64(size))
	}
	return c
}

// fairness compares the protected column's groups at the threshold.
// It is quality.GroupFairness, the function live quality calls, over the
// groups in groupRows' order (by value, the missing value last): each row
// keyed by its group's rank in that order.
func (e *evaluator) fairness(c *column, y, preds []float64) *Fairness {
	gs := groupRows(c)
	rank := make([]int32, len(c.values))
	for r, g := range gs {
		rank[g.id] = int32(r)
	}
	keys := make([]int32, len(c.ids))
	for row, id := range c.ids {
		keys[row] = rank[id]
	}
	q := quality.GroupFairness(y, preds, keys, e.o.Threshold)
	f := &Fairness{Column: c.name, DemographicParityDifference: q.DemographicParityDifference, EqualOpportunityDifference: q.EqualOpportunityDifference}
	for _, g := range q.Groups {
		f.Groups = append(f.Groups, FairnessGroup{Value: c.values[gs[g.Group].id], Rows: g.Rows, Positives: g.Positives, PositiveRate: g.SelectionRate, TPR: g.TPR})
	}
	return f
}
