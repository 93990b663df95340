// Package quality holds predictd's model-quality metrics: pure functions
// over slices of labels and predictions, each equal to scikit-learn 1.2.1's
// function of the same name on the same rows (within 1e-9: the sums are
// added in a different order). It is the one implementation of these
// numbers: `predictd eval` (tools/eval) calls it offline now, and the
// daemon's live quality (labels joined to logged predictions) will call it
// online, so the two agree on the same rows.
//
// Conventions:
//   - Binary labels are float64, 1 for the positive class and anything else
//     (normally 0) for the negative one; p is the score or probability of
//     the positive class. Multiclass labels are class indices 0..k-1 and p
//     is row-major, k probabilities per row. Regression labels and
//     predictions are any float64.
//   - A number that is not defined on the rows given is NaN: ROC AUC and
//     average precision of rows of one class (scikit-learn raises, or warns
//     and returns 0 or a meaningless curve), R² of fewer than two rows,
//     a deviance where scikit-learn refuses the values, anything of zero
//     rows, anything over a NaN prediction.
//   - Precision, recall and F1 follow scikit-learn's default
//     zero_division: a ratio with a zero denominator is 0.
//   - There are no sample weights: every row counts once.
//   - Grouped results (GroupFairness's groups, BySlice's slices) come in
//     ascending order of the group or slice value (cmp.Compare), whatever
//     the order of the rows, so two runs over the same rows agree.
//     A group or slice whose number is undefined (NaN) is listed, not
//     dropped, and is left out of the gap or spread computed over them.
//   - Estimates before labels (EstimateAUC, EstimateAccuracy,
//     EstimateConfusion: NannyML's CBPE) take p as calibrated
//     probabilities; they are NaN (or not ok) for a p outside [0, 1].
//     Scores that are not calibrated can be mapped first by an Isotonic
//     fitted on labelled reference rows (scikit-learn's
//     IsotonicRegression, as NannyML does).
//
// The functions do not keep the slices they are given, do not modify them
// (ROC and precision-recall sort a copy), and may be called concurrently.
package quality
