// Package train is `predictd train` and `predictd retrain`: it reads a
// training spec (tools/train/spec) and data files, fits the spec's feature
// transforms (model/transform) on the training rows, fits the model
// (tools/train/linear or tools/train/gbdt) on the transformed rows, and
// writes an ordinary versioned artifact (model.Write) that carries the
// fitted transforms, so `predictd serve` and `predictd score` take raw
// values and apply the very transform training applied.
//
// What Run does, in order:
//
//  1. Reads the data files (CSV or Parquet, one or more, with the same
//     columns the spec reads) twice, in chunks, through internal/table.
//     Row r (counted from 0 over all files in order) is held out for
//     validation when a hash of (seed, r) falls below the spec's
//     validation_fraction (splitmix64; see inValidation), so the split
//     depends on the seed and the row's position only, not on the
//     contents, and is the same on every run.
//  2. Pass one fits the transforms on the training rows only (never on the
//     validation rows, which would leak their statistics into the model)
//     and reads every label.
//  3. Pass two turns every row into the model's columns with
//     model.TransformRow, the function serve and score call, and keeps
//     them in memory: Columns × rows × 8 bytes, plus the trainer's own
//     (gbdt: one byte per value for the bins).
//  4. Fits the model, reporting progress per round (gbdt) or per stage.
//  5. Predicts the validation rows with the fitted model's Predictor (the
//     served code) and evaluates them with tools/eval.Predictions (the code
//     `predictd eval` runs); without validation rows, the training rows.
//  6. Profiles the training rows' model columns and predictions with
//     tools/profile.Build, the version's reference for drift monitoring.
//  7. Writes the version: payload, transform, reference, the evaluation in
//     Metrics["evaluation"], the training history in Metrics["training"],
//     and a model.TrainingLineage (spec verbatim with its sha256, every
//     data file with its sha256, bytes and rows, the seed, the parent
//     version for a retrain, predictd's version) in Lineage["training"].
//
// Reproducibility: the split, the transforms, both model families' fits
// (deterministic at any thread count) and the profile depend on the data,
// spec and seed only, so the same inputs give the same payload, transform
// and reference files, byte for byte; the manifest too when
// Options.Created is fixed (the command takes it from SOURCE_DATE_EPOCH or
// --created), since it otherwise records the time of training.
//
// Labels: binary 0 or 1; multiclass class indices 0..K-1 (K is one more
// than the largest label seen, and every class must occur in the training
// rows); regression any finite number; poisson a count >= 0. A missing or
// out-of-range label is an error naming the file and line.
//
// Run is safe to call concurrently for different repositories or model
// names; Options.Progress is called on Run's goroutine.
package train
