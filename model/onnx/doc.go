// Package onnx imports ONNX models (a serialized ModelProto, the .onnx file
// exporters write) of dense networks, ai.onnx.ml linear models and tree
// ensembles, with the preprocessing skl2onnx writes for scikit-learn
// pipelines, as a model.Imported holding a *model.Dense or *model.Trees and,
// when the graph preprocesses its inputs, a transform.Pipeline
// (Imported.Transform) that predictd runs on the raw inputs wherever the
// model is used (serve, score, train's evaluation: model.TransformRow).
//
// # What it accepts
//
// One or more graph inputs, each a FLOAT, DOUBLE, INT64 or STRING tensor
// [batch, features...] whose batch dimension may be symbolic and whose
// other dimensions are fixed. An input of shape [batch, 1] is one raw
// column named as the input (skl2onnx's initial_types with one
// FloatTensorType([None, 1]) or StringTensorType([None, 1]) per DataFrame
// column); any other shape gives columns <input>_<j>, j = 0..F-1, the
// feature dimensions flattened row-major (the order Flatten uses). ONNX
// carries no other feature names; two inputs that would give the same name
// are refused.
//
// The feature path, from the inputs to the tensor the model's first
// operator reads, may hold:
//
//	Identity, Cast (to FLOAT or DOUBLE, of numbers), Concat (along a
//	feature axis), Gather (axis >= 1) and ArrayFeatureExtractor with
//	constant indices (a ColumnTransformer's column selection), Flatten
//	(axis=1), Reshape (keeping the batch and a row's values);
//	ai.onnx.ml Imputer, Scaler, OneHotEncoder, Normalizer.
//
// Then the model, one chain of nodes:
//
//	( (Gemm | MatMul [Add]) [Relu | Tanh | Sigmoid] )+  [Softmax | Sigmoid [Sub, Concat]]
//	| LinearClassifier [Normalizer] | LinearRegressor
//	| TreeEnsembleClassifier | TreeEnsembleRegressor
//
// followed by any of Identity, Cast, Reshape, Flatten and ZipMap, which
// leave the values as they are. Identity may appear anywhere; Constant
// nodes, and Identity nodes over constants (exporters write them for
// shared weights), are constants. Weights, biases, indices and Reshape
// shapes must be constants: initializers or Constant outputs, in raw_data
// or the typed fields (float_data, double_data, int64_data, string_data),
// stored in the file (not external data).
//
// A classifier's class-label branch is ignored, whatever its operators: a
// LinearClassifier's or tree classifier's label output (Y), each ArgMax
// over the probabilities, and the nodes that compute only from those
// (skl2onnx's ArrayFeatureExtractor over the class labels, Cast, Reshape).
// predictd serves probabilities and its own class index; the labels (the
// classifier's classlabels, or the constant that ArrayFeatureExtractor
// reads after an ArgMax) go into the outputs' meanings.
//
// Anything else is refused with an error naming the node (by name, or
// "node 3" by position if unnamed), its operator and what to change, e.g.
// `node "fc3" (op LayerNormalization): operator not supported (supported:
// ...)`. So are forks the model does not read and extra outputs.
//
// # Preprocessing
//
// Each column the model reads is computed from one raw column: the columns
// of the feature path are followed through Concat, Gather and
// ArrayFeatureExtractor, and each Imputer, Scaler and OneHotEncoder adds a
// step to the columns it reads:
//
//	Imputer   replaced_value_float NaN, imputed_value_floats (1 or one per
//	          column): transform impute, strategy constant. Any other
//	          replaced value, and imputed_value_int64s, are refused.
//	Scaler    transform op scaler, (x - offset)·scale, ONNX's formula.
//	OneHotEncoder of a raw STRING column, cats_strings in increasing byte
//	          order (scikit-learn's categories_ are sorted; others are
//	          refused): transform onehot over those categories, columns
//	          <input>=<category>; zeros=1 (handle_unknown='ignore') gives
//	          all zeros for an unseen category, zeros=0 an error.
//	          cats_int64s, and one-hot columns that reach the model split
//	          or reordered, are refused.
//	Normalizer L1 or L2 over a [batch, features] tensor the model then
//	          reads as it is: the transform's row-wise stage (as
//	          scikit-learn's Normalizer; a row of norm 0 stays as it is).
//	          MAX is refused: ONNX divides by the largest value,
//	          scikit-learn by the largest absolute value.
//
// When the model reads every raw column once, in order, with no step but
// at most one Scaler, and the model is dense, no transform is written: the
// Scaler is folded into the first layer (see "Scaler") and the features
// are the raw columns, as for graphs without preprocessing. Otherwise the
// transform's inputs are the raw columns the model reads (FLOAT, DOUBLE
// and INT64 inputs as numbers, STRING as categories; an input the model
// does not read is not among them), its output columns are the model's
// features, named after their raw column (<raw>_2, <raw>_3... when a raw
// column feeds several), and a Scaler before a tree ensemble is always a
// step. A dense model takes no missing values: a row whose transformed
// column is NaN (no Imputer for it) is refused, as for any transformed
// version.
//
// # How it maps
//
// Each Gemm or MatMul becomes a model.Layer with Weights[o][i]:
// Gemm's alpha multiplies the weights and beta the bias C (transA must be
// 0; transB=1 reads B as [out, in], as PyTorch exports nn.Linear); an Add
// of a constant after the layer adds to its bias; C and Add's constant may
// be [], [1], [out] or [1, out]. An activation sets the layer's
// Activation. The chain's end sets the link and task:
//
//	last layer, then Softmax (axis 1 or -1)   LinkSoftmax, multiclass
//	last layer, then Sigmoid, 1 unit          LinkSigmoid, binary
//	last layer, then Sigmoid, k>1 units       LinkSigmoid, multiclass (independent
//	                                          probabilities: one-vs-rest or multi-label)
//	last layer, nothing                       LinkIdentity, regression (k outputs allowed)
//	last layer, then Relu or Tanh             refused (no such link)
//
// LinearRegressor (post_transform NONE only) is one layer of targets units:
// regression. LinearClassifier (post_transform NONE, LOGISTIC or SOFTMAX;
// multi_class is ignored, as onnxruntime and the reference evaluator
// ignore it) is one layer, by the number of coefficient rows R:
//
//	R = 1 (needs 2 labels)  LOGISTIC: binary, p = sigmoid(s). NONE: binary score s.
//	                        SOFTMAX: refused: onnxruntime outputs [1-s, s] untransformed,
//	                        the reference evaluator softmax([-s, s]).
//	R = 2, rows [-w; w] and intercepts [-b, b] (skl2onnx's binary layout):
//	                        as R = 1 with the second row; SOFTMAX gives sigmoid(2s).
//	R = 2, other rows       SOFTMAX: binary, p = sigmoid(m1 - m0) (= softmax's p1).
//	                        LOGISTIC: 2 independent sigmoids. NONE: 2 scores.
//	R >= 3                  SOFTMAX: multiclass softmax. LOGISTIC: one-vs-rest
//	                        sigmoids. NONE: scores score0..score{R-1}.
//
// For binary models predictd outputs p, the probability of the second
// label (classlabels[1]); the ONNX output's first column, 1-p, is dropped.
// These readings were checked against onnxruntime 1.30 (which agrees on
// every column predictd keeps) and the ONNX reference evaluator.
//
// A binary MLP's Sigmoid on one unit followed by Sub(1, p) and
// Concat([1-p, p], axis 1), as skl2onnx writes it, is a binary model of p.
// An L1 Normalizer after a LinearClassifier's probabilities is read as
// scikit-learn's: over LOGISTIC with R >= 3 rows it is one-vs-rest
// (model.LinkOVR: each sigmoid divided by the row's sum, liblinear's
// predict_proba); over probabilities that already sum to 1 it changes
// nothing predictd outputs. After NONE scores, or another norm, it is
// refused.
//
// TreeEnsembleClassifier and TreeEnsembleRegressor become a *model.Trees
// through treeEnsemble (trees.go, which documents its mapping): binary p,
// multiclass p0..p{K-1}, regression value(s).
//
// Outputs follow model.DefaultOutputs (p, p0.., score); the class labels go
// into each output's meaning (for binary models both: p is the second
// label's probability, 1-p the first's); regression with k > 1 targets
// gives value0..value{k-1}.
//
// The scikit-learn graphs of testdata/onnx/sklearn (21 cases: scalers,
// imputer, normalizer, ColumnTransformer over DataFrame columns and over
// one input, logistic regression binary, multinomial and one-vs-rest,
// linear and ridge regression, MLPs, random forests, extra trees,
// gradient boosting, histogram gradient boosting with missing values) are
// held by TestSklearnONNX to scikit-learn's own predictions within the
// rounding of the file's float32 weights (worst 2.3e-6 of the value range
// for a ridge regression whose intercept is -839, 2.2e-7 for an MLP served
// on float32 kernels, 1.2e-7 or less for the rest) and to ONNX Runtime's
// within 1e-6.
//
// # Numerics
//
// predictd evaluates in float64 from the float32 (or float64) values the
// file stores. Against a float64 evaluation of the same graph (the
// fixtures' numpy oracle) probabilities agree to about 1e-14 relative;
// margins and regression values near zero differ by up to about 1e-12
// relative (1e-13 of their row's largest value) from summation order
// alone. Against a float32 runtime such as onnxruntime expect that
// runtime's own rounding, about 1e-6 relative.
//
// # Scaler
//
// A Scaler, y = (x - offset)·scale, is folded into the next layer:
// W' = W·diag(scale), b' = b - W'·offset. Measured on the fixtures with
// unstandardised columns (offsets up to 52000, TestScalerFold), the fold
// moves a margin by at most 5e-14 of its row's largest margin, and by up to
// 2e-12 relative on margins that sit near zero (the sum then cancels
// terms of the size of W'·offset); probabilities after the link move by
// about 1e-14. Rejected alternative: keeping the Scaler as its own
// diagonal layer reproduces the unfolded arithmetic exactly for float32
// inputs, but model.Dense has only full layers, so it costs features²
// multiply-adds per row; on 3-class classifiers (BenchmarkScaler, same
// run): 1.9x the folded time at 8 features, 15x at 64 and 147x at 512. It
// would also turn one infinite feature into NaN margins (0·Inf).
//
// # Reading the file
//
// The protobuf wire format is decoded by hand (wire.go, proto.go), for the
// 40-odd fields of onnx.proto the importer needs. The alternative, code
// generated from onnx.proto with google.golang.org/protobuf, would add a
// direct dependency and a several-thousand-line generated file, and the
// graph would still need every check done here. The wire reader is about
// 270 lines, the schema decoding about 550, and both are fuzzed
// (FuzzParse). It skips unknown fields of every wire type
// (groups included, nested up to 64 deep), reads repeated scalars packed or
// not, merges a singular message that occurs twice as protobuf does, and
// refuses a known field with the wrong wire type, truncated or overlong
// varints and lengths past the end. A tensor's shape is checked against
// its data before anything is allocated for it.
//
// Parse never panics on any input; FuzzParse and TestTruncated guard that.
// It is a pure function of its input, safe for concurrent use, and the
// model it returns shares no memory with data. It does not read files; the
// caller (model/importer) does, and records the file's name and checksum.
package onnx
