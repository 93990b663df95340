package wire

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/wire/kservepb"
)

// ProtoRawOutput reports whether the gRPC response to r carries its
// outputs in raw_output_contents rather than typed contents: when the
// request sent raw_input_contents (r.RawProto), as Triton answers, or
// asked for any of its outputs as binary data (parameters
// binary_data_output, or an output's binary_data: Request.BinaryOutput).
// The protocol has the outputs all one way or all the other.
func (r *Request) ProtoRawOutput() bool {
	if r.RawProto {
		return true
	}
	if len(r.Outputs) == 0 {
		return r.BinaryOutput(OutputPredictions)
	}
	for _, o := range r.Outputs {
		if r.BinaryOutput(o) {
			return true
		}
	}
	return false
}

// InferProto fills m, a ModelInferResponse of the KServe v2 gRPC API,
// with the response AppendInferResponse writes as JSON for r (decoded with
// s; preds holds r.N*outputs values, row-major; j is r's join): model_name,
// model_version and id (the request's), then the outputs r asked for in
// its order (none: OutputName alone): OutputName as FP64 of shape [n] or
// [n, outputs], LabelName as INT64 of shape [n], -1 for a label the rule
// cannot read (JSON's null), or with class names (Schema.WithClassNames)
// as BYTES, the names, the empty string for a label the rule cannot read.
// With ProtoRawOutput the values are in raw_output_contents, one entry per
// output, laid out as the binary extension's (little-endian numbers;
// BYTES as a 4-byte little-endian length and the bytes per element); else
// in each output's contents (fp64_contents, int64_contents,
// bytes_contents; the names' byte slices are shared with s: do not modify
// them). When r asked for the features its instances used
// (r.ReturnFeatures), m's parameters hold "features", a string_param with
// the JSON array the HTTP response holds under parameters.features. m
// should be new or Reset: InferProto sets its fields, it does not clear
// others.
func InferProto(m *kservepb.ModelInferResponse, modelName string, version int, id string, r *Request, s *Schema, preds []float64, outputs int, j *featcache.Join) {
	checkPreds(preds, r.N, outputs)
	m.ModelName = modelName
	m.ModelVersion = strconv.Itoa(version)
	m.Id = id
	raw := r.ProtoRawOutput()
	predShape := []int64{int64(r.N)}
	if outputs != 1 {
		predShape = append(predShape, int64(outputs))
	}
	add := func(o Output) {
		t := &kservepb.ModelInferResponse_InferOutputTensor{}
		var rawOut []byte
		if o == OutputLabel && s.classNames != nil {
			t.Name, t.Datatype, t.Shape = LabelName, "BYTES", []int64{int64(r.N)}
			if raw {
				rawOut = s.appendLabelBytes(make([]byte, 0, s.labelBytesSize(preds, r.N, outputs)), preds, r.N, outputs)
			} else {
				names := make([][]byte, r.N)
				for i := range names {
					if k, _, ok := s.className(preds[i*outputs : (i+1)*outputs]); ok {
						names[i] = s.classBytes[k]
					} else {
						names[i] = []byte{}
					}
				}
				t.Contents = &kservepb.InferTensorContents{BytesContents: names}
			}
		} else if o == OutputLabel {
			t.Name, t.Datatype, t.Shape = LabelName, "INT64", []int64{int64(r.N)}
			labels := make([]int64, r.N)
			for i := range labels {
				v, ok := s.label.Label(preds[i*outputs : (i+1)*outputs])
				if !ok {
					v = -1
				}
				labels[i] = v
			}
			if raw {
				rawOut = make([]byte, 0, 8*len(labels))
				for _, v := range labels {
					rawOut = binary.LittleEndian.AppendUint64(rawOut, uint64(v))
				}
			} else {
				t.Contents = &kservepb.InferTensorContents{Int64Contents: labels}
			}
		} else {
			t.Name, t.Datatype, t.Shape = OutputName, "FP64", predShape
			if raw {
				rawOut = make([]byte, 0, 8*len(preds))
				for _, v := range preds {
					rawOut = binary.LittleEndian.AppendUint64(rawOut, math.Float64bits(v))
				}
			} else {
				t.Contents = &kservepb.InferTensorContents{Fp64Contents: append([]float64(nil), preds...)}
			}
		}
		m.Outputs = append(m.Outputs, t)
		if raw {
			m.RawOutputContents = append(m.RawOutputContents, rawOut)
		}
	}
	if len(r.Outputs) == 0 {
		add(OutputPredictions)
	}
	for _, o := range r.Outputs {
		add(o)
	}
	if r.ReturnFeatures {
		f := appendFeatureList(nil, s, r, j)
		m.Parameters = map[string]*kservepb.InferParameter{
			"features": {ParameterChoice: &kservepb.InferParameter_StringParam{StringParam: string(f)}},
		}
	}
}
