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
// probability of class 1 (a binary model whose output is an untransformed
// score, such as XGBoost's binary:logitraw, on ROC AUC and average
// precision only); multiclass models on the class probabilities, against
// labels that are class indices 0..Classes-1 (one that outputs only the
// class index, on accuracy, precision, recall and F1); regression, count
// and positive models on the value. One-vs-all sigmoid probabilities
// (rows that need not sum to 1) are judged as they are: log loss divides
// each row by its sum, as scikit-learn does, and one-vs-rest AUC ranks
// each column.
//
// Memory: unlike `predictd score`, Run keeps the whole file's labels and
// predictions (8 bytes each, per class for multiclass) and one 4-byte
// group index per row and slice column, so its memory grows with the
// file; the metrics that rank rows (ROC AUC, average precision) sort a
// copy of the rows they rank, and a slice's metrics work on a copy of its
// rows.
//
// Run, the Report methods and the writers keep no shared state and may be
// called concurrently.
package eval
