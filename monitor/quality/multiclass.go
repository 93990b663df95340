package quality

import "math"

// Argmax is the predicted class of each row of p (row-major, k per row):
// the index of its largest probability, the first on ties (numpy's
// argmax). A row holding a NaN predicts the first NaN's class, as numpy
// does.
func Argmax(dst []int, p []float64, k int) []int {
	for r := 0; r+k <= len(p); r += k {
		best := 0
		for j := 1; j < k; j++ {
			v, b := p[r+j], p[r+best]
			if b != b {
				break
			}
			if v > b || v != v {
				best = j
			}
		}
		dst = append(dst, best)
	}
	return dst
}

// MulticlassConfusion is confusion_matrix(y, pred, labels=range(k)):
// cm[t][q] counts the rows of true class t predicted q. Labels and
// predictions outside [0, k) are not counted.
func MulticlassConfusion(y, pred []int, k int) [][]int64 {
	cm := make([][]int64, k)
	for i := range cm {
		cm[i] = make([]int64, k)
	}
	for i, t := range y {
		if q := pred[i]; t >= 0 && t < k && q >= 0 && q < k {
			cm[t][q]++
		}
	}
	return cm
}

// ClassAverages are the averages of per-class precision, recall and F1
// over a confusion matrix, as precision_recall_fscore_support gives them
// without a labels argument: over the classes that occur in the labels or
// the predictions (a class in neither is left out), macro (each class
// alike) and weighted (by the class's true count).
type ClassAverages struct {
	PrecisionMacro, RecallMacro, F1Macro          float64
	PrecisionWeighted, RecallWeighted, F1Weighted float64
}

// Averages computes ClassAverages from cm (MulticlassConfusion's), with
// scikit-learn's zero_division default (a ratio over 0 is 0). Every field
// is NaN when cm counts no row.
func Averages(cm [][]int64) ClassAverages {
	var a ClassAverages
	k := len(cm)
	var classes, rows int64
	for c := range k {
		var tp, pred, truth int64
		tp = cm[c][c]
		for j := range k {
			truth += cm[c][j]
			pred += cm[j][c]
		}
		if truth == 0 && pred == 0 {
			continue
		}
		classes++
		rows += truth
		p, r := ratio(tp, pred), ratio(tp, truth)
		f := f1(p, r)
		a.PrecisionMacro += p
		a.RecallMacro += r
		a.F1Macro += f
		w := float64(truth)
		a.PrecisionWeighted += w * p
		a.RecallWeighted += w * r
		a.F1Weighted += w * f
	}
	if classes == 0 {
		n := math.NaN()
		return ClassAverages{n, n, n, n, n, n}
	}
	n, w := float64(classes), float64(rows)
	a.PrecisionMacro /= n
	a.RecallMacro /= n
	a.F1Macro /= n
	a.PrecisionWeighted /= w
	a.RecallWeighted /= w
	a.F1Weighted /= w
	return a
}

// MulticlassAccuracy is accuracy_score(y, pred): the fraction of rows
// whose prediction is their label; NaN for no rows.
func MulticlassAccuracy(y, pred []int) float64 {
	if len(y) == 0 {
		return math.NaN()
	}
	right := 0
	for i, t := range y {
		if pred[i] == t {
			right++
		}
	}
	return float64(right) / float64(len(y))
}

// MulticlassLogLoss is log_loss(y, p, labels=range(k)), scikit-learn
// 1.2.1's way: each probability clipped to [Eps, 1-Eps], each row divided
// by its sum, the mean of -log of the true class's share. NaN for no rows,
// a NaN probability or a label outside [0, k).
func MulticlassLogLoss(y []int, p []float64, k int) float64 {
	if len(y) == 0 || len(p) != len(y)*k {
		return math.NaN()
	}
	s := 0.0
	for i, t := range y {
		if t < 0 || t >= k {
			return math.NaN()
		}
		row := p[i*k : (i+1)*k]
		sum := 0.0
		for _, v := range row {
			sum += min(max(v, Eps), 1-Eps)
		}
		s -= math.Log(min(max(row[t], Eps), 1-Eps) / sum)
	}
	return s / float64(len(y))
}

// OVRAUC is roc_auc_score(y, p, multi_class="ovr", labels=range(k)) with
// average "macro" and "weighted" (by each class's true count): the ROC AUC
// of each class against the rest, on its column of p. Both are NaN when a
// class has no row or every row (scikit-learn raises: every class's AUC
// must be defined), or p holds a NaN.
func OVRAUC(y []int, p []float64, k int) (macro, weighted float64) {
	n := len(y)
	if n == 0 || len(p) != n*k {
		return math.NaN(), math.NaN()
	}
	bin, col := make([]float64, n), make([]float64, n)
	for c := range k {
		count := 0
		for i, t := range y {
			bin[i] = 0
			if t == c {
				bin[i] = 1
				count++
			}
			col[i] = p[i*k+c]
		}
		auc := ROCAUC(bin, col)
		if math.IsNaN(auc) {
			return math.NaN(), math.NaN()
		}
		macro += auc
		weighted += auc * float64(count)
	}
	return macro / float64(k), weighted / float64(n)
}
