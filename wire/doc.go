// Package wire holds predictd's request and response codecs: the JSON
// bodies of the TF Serving REST predict API (/v1/models/...:predict) and of
// the Open Inference Protocol v2 (/v2/models/.../infer). A body is decoded
// into row-major float64 rows checked against a model version's Schema;
// predictions are encoded back. There are no HTTP types here: the server
// hands bodies in, takes bodies out and maps the errors to statuses.
// docs/api.md describes the bodies for users. The KServe v2 gRPC API's
// messages (package kservepb, generated from the standard .proto) are
// translated here too: DecodeInferProto (decode_proto.go) lays a
// ModelInferRequest out as the binary extension's body and decodes it with
// the same code, so both APIs take and refuse the same requests with the
// same messages; InferProto (encode_proto.go) fills the response.
//
// Pieces: Schema (schema.go) is what a version's requests are checked
// against: its features in order, which are categorical, whether a value
// may be missing and, for a model that reads online features, its join
// plan (featcache.JoinPlan). Request (request.go) is one request's pooled
// scratch. DecodePredict (decode_predict.go) and DecodeInfer
// (decode_infer.go) read a body into it through the scanner in
// jsonscan.go; DecodeInferBinary (decode_binary.go) reads OIP's binary
// tensor data extension, a JSON header and raw tensor bytes, and
// AppendInferBinary writes outputs back that way; join.go reads the entity keys an instance may carry in
// place of features (an int key also as a JSON number whose value is
// whole, 42.0, read exactly). encode.go writes responses (AppendPredict,
// AppendInfer, AppendInferResponse with the OIP outputs a request asked
// for, AppendError); AppendFeatures reports what a join served. label.go
// reads a classifier's class label from its predictions (ClassLabel,
// LabelRule, AppendLabels): the OIP output "label" and TF Serving's
// "return_labels", class indices, or the class names of a schema made
// WithClassNames (BYTES in OIP, strings in TF Serving's "labels").
//
// Invariants:
//   - A warm decode and encode allocate nothing once a Request's buffers
//     have grown to the request's size (TestDecodeAllocs); a Request keeps
//     no reference to a body after its Decode returns.
//   - Every refusal is an *Error that unwraps to ErrInvalid or ErrTooLarge
//     and says what to change: the instance, field, input or byte. A body
//     that is not JSON is refused for its first syntax error, at the byte
//     encoding/json reports, whatever else is wrong with it.
//   - A decoded instance holds every feature as a finite number, or NaN:
//     null where the schema takes missing values, or a value its join
//     fetches (Request.Given false, with the entity key to fetch it by).
//   - A version with transforms (model.Manifest.Transform) is served from
//     its raw inputs: a string input (model.FeatureString) takes a JSON
//     string (a category, any text) or null, in every request form but
//     OIP's 2-D input, which carries numbers only and is refused for such
//     a model. Its value in Request.Rows is not a number but the index of
//     the unescaped string in the Request's string arena (NaN for null),
//     read with Request.Category, or per instance with Request.RawRow as
//     model.TransformRow takes it. The strings alias the arena
//     (unsafe.String: no copy, no allocation), so they are valid only
//     until the Request's next Decode or Reset (TestDecodeStrings,
//     TestDecodeStringsAllocs, FuzzDecodeStrings). A join never fills a
//     string input (NewJoinSchema refuses a view that would).
//   - What the decoders accept, and the values (numbers and categories)
//     they read, agree with encoding/json (the differential fuzz tests in
//     decode_fuzz_test.go).
//   - The encoders append to the caller's buffer and allocate only to grow
//     it; numbers are shortest-exact, a non-finite one is null. (InferProto
//     fills a protobuf message, whose slices it allocates.)
//
// Concurrency: a Schema is immutable and shared by all requests of its
// version. A Request is used by one goroutine at a time. The encoders are
// pure functions.
package wire
