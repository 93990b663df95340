package wire

import (
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
	dst = appendPredTensor(dst, outName, preds, n, outputs)
	return append(dst, `]}`...)
}

// AppendInferResponse appends the inference response to r, decoded with
// s: AppendInfer's, with the output tensors r asked for in its order
// (r.Outputs; none: OutputName alone), the class labels as
//
//	{"name":"label","datatype":"INT64","shape":[n],"data":[...]}
//
// (s.Label's rule, null for a prediction it cannot read), and when r asked
// for the features its instances used (r.ReturnFeatures) a top-level
//
//	"parameters":{"features":[...]}
//
// holding what AppendFeatures writes under "features", j being r's join.
// preds holds r.N*outputs values, row-major. It allocates only to grow
// dst.
func AppendInferResponse(dst []byte, modelName string, version int, r *Request, s *Schema, preds []float64, outputs int, j *featcache.Join) []byte {
	checkPreds(preds, r.N, outputs)
	dst = appendInferHead(dst, modelName, version, r.ID)
	if len(r.Outputs) == 0 {
		dst = appendPredTensor(dst, OutputName, preds, r.N, outputs)
	}
	for k, o := range r.Outputs {
		if k > 0 {
			dst = append(dst, ',')
		}
		if o == OutputLabel {
			dst = append(dst, `{"name":"`+LabelName+`","datatype":"INT64","shape":[`...)
			dst = strconv.AppendInt(dst, int64(r.N), 10)
			dst = append(dst, `],"data":`...)
			dst = AppendLabels(dst, s.label, preds, r.N, outputs)
			dst = append(dst, '}')
			continue
		}
		dst = appendPredTensor(dst, OutputName, preds, r.N, outputs)
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
func appendPredTensor(dst []byte, outName string, preds []float64, n, outputs int) []byte {
	dst = append(dst, `{"name":`...)
	dst = appendString(dst, outName)
	dst = append(dst, `,"datatype":"FP64","shape":[`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	if outputs != 1 {
		dst = append(dst, ',')
		dst = strconv.AppendInt(dst, int64(outputs), 10)
	}
	dst = append(dst, `],"data":`...)
	dst = appendNumbers(dst, preds)
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
