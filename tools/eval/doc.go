// Package eval is `predictd eval`: a model version's quality on a labelled
// file, overall and by slice, equal to scikit-learn's metrics on the same
// rows.
//
// Run predicts the file's rows exactly as `predictd score` does (tools/score's
// readers and score.Score over the version's Predictor), so offline
// evaluation sees what serving sees; it reads the label and slice columns
// with internal/table, and computes every number with monitor/quality, the
// one implementation the daemon's live quality calls too.
//
// The task comes from the manifest: binary models are judged on the
// probability of class 1; multiclass models on the class probabilities,
// against labels that are class indices 0..Classes-1; regression, count
// and positive models on the value.
//
// Memory: Run keeps every row's label and prediction (8 bytes each, per
// class for multiclass) and one 4-byte group index per slice column, so
// 10 million binary rows with two slice columns hold about 240 MB; the
// metrics that rank rows (ROC AUC, average precision) sort a copy of the
// rows they rank.
//
// Run, the Report methods and the writers keep no shared state and may be
// called concurrently.
package eval
