package wire

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/predictd/predictd/featcache"
)

// The encoders append JSON to the caller's buffer and allocate only to grow
// it. Numbers are written shortest-exact (they parse back to the same
// float64); a non-finite number is written as null, since JSON has none.

// AppendPredict appends TF Serving's predict response,
//
//	{"predictions":[...],"model_version":"3"}
//
// with the key "outputs" instead of "predictions" when columnar. An
// instance's prediction is a bare number when outputs == 1, else an array
// of outputs numbers. preds holds n*outputs values, row-major.
func AppendPredict(dst []byte, preds []float64, n, outputs int, columnar bool, version int) []byte {
	checkPreds(preds, n, outputs)
	if columnar {
		dst = append(dst, `{"outputs":[`...)
	} else {
		dst = append(dst, `{"predictions":[`...)
	}
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		if outputs == 1 {
			dst = appendNumber(dst, preds[i])
			continue
		}
		dst = appendNumbers(dst, preds[i*outputs:(i+1)*outputs])
	}
	dst = append(dst, `],"model_version":"`...)
	dst = strconv.AppendInt(dst, int64(version), 10)
	return append(dst, `"}`...)
}

// AppendInfer appends the Open Inference Protocol's inference response:
//
//	{"model_name":"m","model_version":"3","id":"<id>","outputs":[{"name":"<outName>",
//	 "datatype":"FP64","shape":[n,outputs],"data":[...]}]}
//
// The id is left out when nil; it is written between quotes as is, so it
// must be a JSON string's escaped contents, as Request.ID is. The shape is
// [n] when outputs == 1. preds holds n*outputs values, row-major.
func AppendInfer(dst []byte, modelName string, version int, id []byte, outName string, preds []float64, n, outputs int) []byte {
	checkPreds(preds, n, outputs)
	dst = appendInferHead(dst, modelName, version, id)
	dst = appendPredTensor(dst, outName, preds, n, outputs, false)
	return append(dst, `]}`...)
}

// AppendInferResponse appends the inference response to r, decoded with
// s: AppendInfer's, with the output tensors r asked for in its order
// (r.Outputs; none: OutputName alone), the class labels as
//
//	{"name":"label","datatype":"INT64","shape":[n],"data":[...]}
//
// (s.Label's rule, null for a prediction it cannot read; with class names,
// Schema.WithClassNames, "datatype":"BYTES" and the names as JSON
// strings), and when r asked
// for the features its instances used (r.ReturnFeatures) a top-level
//
//	"parameters":{"features":[...]}
//
// holding what AppendFeatures writes under "features", j being r's join.
// preds holds r.N*outputs values, row-major. It allocates only to grow
// dst.
func AppendInferResponse(dst []byte, modelName string, version int, r *Request, s *Schema, preds []float64, outputs int, j *featcache.Join) []byte {
	return appendInferResponse(dst, modelName, version, r, s, preds, outputs, j, false)
}

// AppendInferBinary appends the inference response to r as
// AppendInferResponse does, but with the outputs r asked for as binary
// data (Request.BinaryOutput) in the binary tensor data extension's form:
// such an output's JSON carries "parameters":{"binary_data_size":B} in
// place of "data", and its B bytes follow the JSON, outputs in order:
// "output" as FP64 little-endian, row-major ([n] or [n, outputs]);
// "label" as INT64 little-endian, -1 for a label the rule cannot read
// (JSON's null); with class names, as BYTES: per instance a 4-byte
// little-endian length and the name's bytes, the empty string for a label
// the rule cannot read. headerLen is the JSON's length in bytes, for the HTTP
// header Inference-Header-Content-Length; it is -1 when no output is
// binary, and the body is then AppendInferResponse's. It allocates only
// to grow dst.
func AppendInferBinary(dst []byte, modelName string, version int, r *Request, s *Schema, preds []float64, outputs int, j *featcache.Join) (out []byte, headerLen int) {
	binary := r.BinaryOutput(OutputPredictions) && len(r.Outputs) == 0
	for _, o := range r.Outputs {
		binary = binary || r.BinaryOutput(o)
	}
	start := len(dst)
	dst = appendInferResponse(dst, modelName, version, r, s, preds, outputs, j, binary)
	if !binary {
		return dst, -1
	}
	headerLen = len(dst) - start
	if len(r.Outputs) == 0 {
		return appendFloat64s(dst, preds), headerLen
	}
	for _, o := range r.Outputs {
		switch {
		case !r.BinaryOutput(o):
		case o == OutputLabel && s.classNames != nil:
			dst = s.appendLabelBytes(dst, preds, r.N, outputs)
		case o == OutputLabel:
			for i := range r.N {
				v, ok := s.label.Label(preds[i*outputs : (i+1)*outputs])
				if !ok {
					v = -1
				}
				dst = binary64(dst, uint64(v))
			}
		default:
			dst = appendFloat64s(dst, preds)
		}
	}
	return dst, headerLen
}

// appendFloat64s appends vs as little-endian IEEE 754 doubles.
func appendFloat64s(dst []byte, vs []float64) []byte {
	for _, v := range vs {
		dst = binary64(dst, math.Float64bits(v))
	}
	return dst
}

func binary64(dst []byte, u uint64) []byte {
	return binary.LittleEndian.AppendUint64(dst, u)
}

// appendInferResponse is AppendInferResponse; with binary, each output r
// asked for as binary data gets its binary_data_size in place of data.
func appendInferResponse(dst []byte, modelName string, version int, r *Request, s *Schema, preds []float64, outputs int, j *featcache.Join, binary bool) []byte {
	checkPreds(preds, r.N, outputs)
	dst = appendInferHead(dst, modelName, version, r.ID)
	if len(r.Outputs) == 0 {
		dst = appendPredTensor(dst, OutputName, preds, r.N, outputs, binary && r.BinaryOutput(OutputPredictions))
	}
	for k, o := range r.Outputs {
		if k > 0 {
			dst = append(dst, ',')
		}
		bin := binary && r.BinaryOutput(o)
		if o == OutputLabel {
			dst = append(dst, `{"name":"`+LabelName+`","datatype":"`...)
			dst = append(dst, s.LabelDatatype()...)
			dst = append(dst, `","shape":[`...)
			dst = strconv.AppendInt(dst, int64(r.N), 10)
			switch {
			case bin && s.classNames != nil:
				dst = appendBinarySize(dst, s.labelBytesSize(preds, r.N, outputs))
			case bin:
				dst = appendBinarySize(dst, 8*r.N)
			default:
				dst = append(dst, `],"data":`...)
				dst = s.AppendLabels(dst, preds, r.N, outputs)
			}
			dst = append(dst, '}')
			continue
		}
		dst = appendPredTensor(dst, OutputName, preds, r.N, outputs, bin)
	}
	dst = append(dst, ']')
	if r.ReturnFeatures {
		dst = append(dst, `,"parameters":{"features":`...)
		dst = appendFeatureList(dst, s, r, j)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendInferHead appends an inference response up to its outputs' first
// element: {"model_name":...,"model_version":...[,"id":...],"outputs":[
func appendInferHead(dst []byte, modelName string, version int, id []byte) []byte {
	dst = append(dst, `{"model_name":`...)
	dst = appendString(dst, modelName)
	dst = append(dst, `,"model_version":"`...)
	dst = strconv.AppendInt(dst, int64(version), 10)
	dst = append(dst, '"')
	if id != nil {
		dst = append(dst, `,"id":"`...)
		dst = append(dst, id...)
		dst = append(dst, '"')
	}
	return append(dst, `,"outputs":[`...)
}

// appendPredTensor appends the FP64 output tensor of the predictions.
func appendPredTensor(dst []byte, outName string, preds []float64, n, outputs int, binary bool) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendString(dst, outName)
	dst = append(dst, `,"datatype":"FP64","shape":[`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	if outputs != 1 {
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(outputs), 10)
	}
	if binary {
		dst = appendBinarySize(dst, 8*len(preds))
	} else {
		dst = append(dst, `],"data":`...)
		dst = appendNumbers(dst, preds)
	}
	return append(dst, '}')
}

// appendBinarySize ends a tensor's shape and says its data is n bytes of
// binary data: ],"parameters":{"binary_data_size":n}
func appendBinarySize(dst []byte, n int) []byte {
	dst = append(dst, `],"parameters":{"binary_data_size":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '}')
}

// AppendError appends {"error":"<msg>"}, the error body of both APIs.
func AppendError(dst []byte, msg string) []byte {
	dst = append(dst, `{"error":`...)
	dst = appendString(dst, msg)
	return append(dst, '}')
}

func checkPreds(preds []float64, n, outputs int) {
	if outputs < 1 || len(preds) != n*outputs {
		panic(fmt.Sprintf("BUG: %d predictions for %d instances of %d outputs", len(preds), n, outputs))
	}
}

// appendNumber appends v shortest-exact, or null if it is not finite.
func appendNumber(dst []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// appendNumbers appends vs as a JSON array.
func appendNumbers(dst []byte, vs []float64) []byte {
	dst = append(dst, '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendNumber(dst, v)
	}
	return append(dst, ']')
}

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by \ufffd, and U+2028 and
// U+2029 escaped as encoding/json does (they end lines in JavaScript).
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0 // s[start:i] is still to be copied
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
