// Package transform turns a model's raw input columns (numbers, category
// strings, missing values) into the float64 feature vector the model was
// trained on. The fitted Pipeline travels inside the artifact and the same
// Apply runs in training, batch scoring and serving, so the transform
// applied online is the one fitted offline. It imports nothing from tools/.
//
// A Pipeline is a list of Features. Each reads one input column (two for
// a cross) and writes one or more output columns, in order:
//
//   - A numeric feature (Encode unset) runs its column's number through its
//     steps in the order given, each fitted on the output of the ones
//     before it: impute, clip, log1p, standardize, minmax, bucketize.
//     Impute with Indicator writes a second column, 1 if the raw value was
//     missing else 0, right after the value. A missing value not imputed
//     stays NaN through every step (tree models route it).
//   - A categorical feature (Encode set) encodes a string: onehot, ordinal,
//     hash, or cross (two columns hashed together).
//
// Statistics, and how each matches scikit-learn 1.2.1 (the oracle in
// testdata/gen/train_transform_oracle.py; tests hold the fitted statistics
// and the transformed matrix to it within 1e-12):
//
//   - standardize: (x-mean)/scale with mean and variance over the
//     non-missing values, ddof 0, as StandardScaler; scale is 1 for a
//     constant column (StandardScaler's test: var <= n*eps*var + (n*mean*eps)^2).
//   - minmax: x*scale + offset with scale = 1/(max-min) (1 when max-min <
//     10*eps) and offset = -min*scale, as MinMaxScaler with range [0,1].
//   - impute: mean or median (numpy.median) of the non-missing values, or a
//     constant, as SimpleImputer; Indicator as its add_indicator column.
//   - clip: to [Min, Max] given in the spec (not fitted); NaN stays NaN.
//   - log1p: math.Log1p; below -1 gives NaN, -1 gives -Inf, as numpy.
//   - bucketize: the bin of x is the number of Edges e with e <= x
//     (numpy.digitize(x, Edges, right=False)): left-closed bins, values
//     below the first edge in bin 0, at or above the last in bin
//     len(Edges). Edges are given, or fitted as the Bins-quantiles
//     i/Bins, i = 1..Bins-1, of the non-missing training values by
//     numpy.quantile's default linear method, repeated edges dropped.
//     The output is the bin number as a float (KBinsDiscretizer's
//     encode='ordinal').
//   - onehot: one column per frequent category in byte order (Go string
//     order, which is Python's code-point order for UTF-8), as
//     OneHotEncoder. MinFrequency > 0 folds categories seen fewer times
//     into one "infrequent" column after them (OneHotEncoder's
//     min_frequency). Unknown says what an unseen category gives:
//     "error"; "zeros" (all zeros, handle_unknown='ignore');
//     "infrequent" (the infrequent column when there is one, else zeros:
//     handle_unknown='infrequent_if_exist'); "other" (a column always
//     present after the frequent ones, named "col=__other__", that takes
//     unseen and infrequent categories alike). A missing value is a
//     category of its own, ordered after every string, named "col=NaN"
//     (OneHotEncoder's np.nan category).
//   - ordinal: the category's index in byte order, as OrdinalEncoder; an
//     unseen category is an error (Unknown "error") or UnknownValue
//     (Unknown "value", OrdinalEncoder's use_encoded_value); a missing
//     value gives NaN (encoded_missing_value=np.nan). No rare folding.
//   - hash: N columns; the string's column is FNV-1a 64 of its UTF-8 bytes
//     mod N (unsigned), set to 1. A missing value gives all zeros.
//   - cross: as hash over the bytes of the first column's string, one 0xFF
//     byte (never in UTF-8, so "a|b" and "a","|b" differ) and the second
//     column's string. A missing value in either gives all zeros.
//   - scaler: (x-offset)*scale with the offset and scale an importer read
//     from a model file (an ONNX-ML Scaler); never fitted, refused in a
//     training spec.
//
// A pipeline may end with a row-wise stage (Normalize, set by Build, which
// importers use; Fit never sets it): every output column of the row
// divided by the row's L1 or L2 norm, as scikit-learn's Normalizer (a row
// of norm 0 is left as it is).
//
// Output names: a numeric feature's column is its Name; an indicator is
// Name+"_missing"; onehot gives Name+"="+category, Name+"=NaN",
// Name+"=__infrequent__" or Name+"=__other__"; ordinal gives Name; hash
// and cross give Name+"#"+bucket.
//
// Encoding (Encode/Decode) is JSON, stable: the same fit gives the same
// bytes, and Encode(Decode(b)) == b for any b Encode wrote. Decode is
// strict: unknown fields, a field that does not belong to a step's op,
// non-finite statistics or out-of-order categories are errors naming the
// field path ("features[2].steps[0].scale").
//
// A Pipeline is immutable after Fit, Decode or Build and safe for concurrent
// Apply. A Fitter is used by one goroutine.
package transform
