// Package onnx imports ONNX models (a serialized ModelProto, the .onnx file
// exporters write) of dense networks and ai.onnx.ml linear models as a
// model.Imported holding a *model.Dense.
//
// # What it accepts
//
// A graph with one input, a FLOAT or DOUBLE tensor [batch, features...]
// whose batch dimension may be symbolic and whose other dimensions are
// fixed, and one chain of nodes from it to the output:
//
//	[Identity] [Flatten(axis=1) | Reshape to [0,-1] or [-1,F]] [Scaler]
//	  ( (Gemm | MatMul [Add]) [Relu | Tanh | Sigmoid] )+  [Softmax | Sigmoid]
//	| [Scaler] (LinearClassifier [ZipMap] | LinearRegressor)
//
// Identity may appear anywhere; Constant nodes, and Identity nodes over
// constants (exporters write them for shared weights), are constants.
// Weights, biases and Reshape shapes must be constants: initializers or
// Constant outputs, in raw_data or the typed fields (float_data,
// double_data, int64_data), stored in the file (not external data).
//
// Anything else is refused with an error naming the node (by name, or
// "node 3" by position if unnamed), its operator and what to change, e.g.
// `node "fc3" (op LayerNormalization): operator not supported (supported:
// ...)`. Graphs with several inputs, forks, side branches or extra outputs
// are refused: predictd serves one row of features in, one row of
// predictions out. The one exception: a LinearClassifier's label output
// (Y), and any nodes that compute only from it, are ignored, whatever
// their operator; predictd serves the scores.
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
// Features are named <input>_<j>, j = 0..F-1, where <input> is the graph
// input's name and j indexes the feature dimensions flattened row-major
// (the order Flatten uses): ONNX carries no feature names, and this keeps
// the column order the model computes with. Outputs follow
// model.DefaultOutputs (p, p0.., score); a LinearClassifier's labels go
// into each output's meaning; regression with k > 1 targets gives
// value0..value{k-1}.
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
