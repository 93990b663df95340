package wire

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"

	"github.com/predictd/predictd/wire/kservepb"
)

// The KServe v2 gRPC API (wire/kservepb) carries the same inference
// request as the HTTP API, as a protobuf message: DecodeInferProto lays
// the message out as the HTTP binary tensor data extension lays out a
// body (a JSON header, then each input's values as little-endian bytes)
// and decodes that with DecodeInferBinary's code, so the two APIs take
// the same inputs, check them with the same rules and refuse them with
// the same messages. What only the protobuf form can get wrong (contents
// of a type other than the datatype's, a count that does not match the
// shape, raw_input_contents that do not match the inputs) is checked
// here first, naming the input.

// DecodeInferProto decodes m, a ModelInferRequest of the KServe v2 gRPC
// API, into r as DecodeInferBinary decodes the same request over HTTP.
// An input's values come either typed in its contents (FP64 in
// fp64_contents, FP32 in fp32_contents, INT64 in int64_contents, INT32 in
// int_contents, BOOL in bool_contents, BYTES in bytes_contents; no other
// field may be set) or, for every input at once, in m.raw_input_contents:
// one entry per input in their order, little-endian and row-major as the
// binary extension's data (a BYTES element is a 4-byte little-endian
// length and the bytes). The element count (or byte length) must be what
// the input's shape and datatype take; a shape of more than 2^31-1
// values is refused as too large. An input's own parameters are
// ignored, as over HTTP. m's parameters are read as a JSON request's:
// "timeout" (int64_param, microseconds), "return_features" and
// "binary_data_output" (bool_param); a parameter of another type than
// these take is refused as the JSON one would be. m's outputs are the
// JSON request's "outputs", each output's "binary_data" parameter
// included. m's id is not read (the response takes it from m). A string
// value's invalid UTF-8 bytes become U+FFFD. Errors are *Error as the
// other decoders', unwrapping to ErrInvalid or ErrTooLarge (Limits); none
// mentions body bytes. r.RawProto reports whether m used
// raw_input_contents.
func (r *Request) DecodeInferProto(m *kservepb.ModelInferRequest, s *Schema, lim Limits) error {
	raw := m.GetRawInputContents()
	ins := m.GetInputs()
	rawMode := len(raw) > 0
	if rawMode && len(raw) != len(ins) {
		r.start(nil, s)
		return invalidf("raw_input_contents has %d entries for %d inputs: send one per input, in the order of inputs", len(raw), len(ins))
	}
	b := r.pb[:0]
	b = append(b, '{')
	if ps := m.GetParameters(); len(ps) > 0 {
		b = append(b, `"parameters":{`...)
		b = appendProtoParams(b, ps)
		b = append(b, "},"...)
	}
	b = append(b, `"inputs":[`...)
	var err error
	bin := r.pbBin[:0]
	for i, in := range ins {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, in.GetName())
		b = append(b, `,"datatype":`...)
		b = appendString(b, in.GetDatatype())
		b = append(b, `,"shape":[`...)
		for k, d := range in.GetShape() {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, d, 10)
		}
		b = append(b, ']')
		start := len(bin)
		if rawMode {
			if in.GetContents() != nil {
				err = invalidf("input %q: contents set, but the request sends raw_input_contents: send every input's values one way, all in raw_input_contents or each in its contents", in.GetName())
				break
			}
			if err = checkRaw(in, raw[i], i); err != nil {
				break
			}
			bin = append(bin, raw[i]...)
		} else if bin, err = appendContents(bin, in); err != nil {
			break
		}
		b = append(b, `,"parameters":{"binary_data_size":`...)
		b = strconv.AppendInt(b, int64(len(bin)-start), 10)
		b = append(b, "}}"...)
	}
	if err != nil {
		r.pb, r.pbBin = b, bin
		r.start(nil, s)
		return err
	}
	b = append(b, ']')
	if outs := m.GetOutputs(); len(outs) > 0 {
		b = append(b, `,"outputs":[`...)
		for i, o := range outs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = appendString(b, o.GetName())
			if ps := o.GetParameters(); len(ps) > 0 {
				b = append(b, `,"parameters":{`...)
				b = appendProtoParams(b, ps)
				b = append(b, '}')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, '}')
	headerLen := len(b)
	b = append(b, bin...)
	r.pb, r.pbBin = b, bin
	r.proto = true
	err = r.DecodeInferBinary(b, headerLen, s, lim)
	r.proto, r.RawProto = false, rawMode
	return err
}

// appendProtoParams appends ps as the members of a JSON object, in
// sorted key order so that the same message decodes the same way every
// time (a map's order is random, and the decoder reports the first
// problem it meets). A parameter with no value set is null.
func appendProtoParams(b []byte, ps map[string]*kservepb.InferParameter) []byte {
	var keys [8]string
	ks := keys[:0]
	for k := range ps {
		ks = append(ks, k)
	}
	sortStrings(ks)
	for i, k := range ks {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		switch v := ps[k].GetParameterChoice().(type) {
		case *kservepb.InferParameter_BoolParam:
			b = strconv.AppendBool(b, v.BoolParam)
		case *kservepb.InferParameter_Int64Param:
			b = strconv.AppendInt(b, v.Int64Param, 10)
		case *kservepb.InferParameter_Uint64Param:
			b = strconv.AppendUint(b, v.Uint64Param, 10)
		case *kservepb.InferParameter_StringParam:
			b = appendString(b, v.StringParam)
		case *kservepb.InferParameter_DoubleParam:
			b = appendNumber(b, v.DoubleParam)
		default:
			b = append(b, "null"...)
		}
	}
	return b
}

// sortStrings sorts a few strings in place (insertion sort: parameters
// are few, and slices.Sort's generic code is not needed for them).
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// shapeSize is the product of the shape. ok is false when a dimension is
// negative: the decoder refuses the shape, with the HTTP API's message. A
// product past maxProtoValues is refused here, naming the input: the
// decoder would speak of the binary section that gRPC does not have.
func shapeSize(in *kservepb.ModelInferRequest_InferInputTensor) (n int, ok bool, err error) {
	p := uint64(1)
	huge := false
	for _, d := range in.GetShape() {
		if d < 0 {
			return 0, false, nil
		}
		hi, lo := bits.Mul64(p, uint64(d))
		if hi != 0 || lo > maxProtoValues {
			huge = true // keep looking for a negative dimension
			lo = maxProtoValues + 1
		}
		p = lo
	}
	if huge && p != 0 {
		return 0, false, tooLargef("input %q: shape %v holds more than %d values", in.GetName(), in.GetShape(), maxProtoValues)
	}
	return int(p), true, nil
}

// maxProtoValues bounds the values of one input of a gRPC request: more
// than a message within any sane size limit can carry.
const maxProtoValues = math.MaxInt32

// protoDtype is the datatype a name stands for, ok false for one the
// decoder refuses (it says so, naming the input).
func protoDtype(name string) (dtype, bool) {
	for dt, n := range dtypeNames {
		if n == name && dtype(dt) != dtJSON {
			return dtype(dt), true
		}
	}
	return 0, false
}

// checkRaw checks that raw, input in's raw_input_contents entry i, holds
// what its shape and datatype take.
func checkRaw(in *kservepb.ModelInferRequest_InferInputTensor, raw []byte, i int) error {
	dt, ok := protoDtype(in.GetDatatype())
	if !ok {
		return nil // the decoder refuses the datatype
	}
	n, sized, err := shapeSize(in)
	if !sized {
		return err // nil: the decoder refuses the shape
	}
	if size := elemSize(dt); size > 0 {
		if need := n * size; len(raw) != need {
			return invalidf("input %q: raw_input_contents[%d] has %d bytes, but shape %v of %s takes %d (%d each)", in.GetName(), i, len(raw), in.GetShape(), dt, need, size)
		}
		return nil
	}
	pos := 0
	for e := range n {
		if len(raw)-pos < 4 {
			return invalidf("input %q: raw_input_contents[%d]: BYTES element %d's 4-byte length starts at byte %d of %d", in.GetName(), i, e, pos, len(raw))
		}
		l := uint64(binary.LittleEndian.Uint32(raw[pos:]))
		if l > uint64(len(raw)-pos-4) {
			return invalidf("input %q: raw_input_contents[%d]: BYTES element %d of %d bytes runs past the entry's %d bytes", in.GetName(), i, e, l, len(raw))
		}
		pos += 4 + int(l)
	}
	if pos != len(raw) {
		return invalidf("input %q: raw_input_contents[%d] has %d bytes after its %d BYTES elements (shape %v)", in.GetName(), i, len(raw)-pos, n, in.GetShape())
	}
	return nil
}

// appendContents appends input in's typed contents to bin in the binary
// extension's layout, checking that only its datatype's field is set and
// that it holds as many values as the shape takes.
func appendContents(bin []byte, in *kservepb.ModelInferRequest_InferInputTensor) ([]byte, error) {
	dt, ok := protoDtype(in.GetDatatype())
	if !ok {
		return bin, nil // the decoder refuses the datatype
	}
	n, sized, err := shapeSize(in)
	if !sized {
		return bin, err // nil: the decoder refuses the shape
	}
	c := in.GetContents()
	var got int
	for _, f := range [...]struct {
		name string
		n    int
		dt   dtype
	}{
		{"bool_contents", len(c.GetBoolContents()), dtBOOL},
		{"int_contents", len(c.GetIntContents()), dtINT32},
		{"int64_contents", len(c.GetInt64Contents()), dtINT64},
		{"uint_contents", len(c.GetUintContents()), dtJSON},
		{"uint64_contents", len(c.GetUint64Contents()), dtJSON},
		{"fp32_contents", len(c.GetFp32Contents()), dtFP32},
		{"fp64_contents", len(c.GetFp64Contents()), dtFP64},
		{"bytes_contents", len(c.GetBytesContents()), dtBYTES},
	} {
		switch {
		case f.n == 0:
		case f.dt != dt:
			return bin, invalidf("input %q: datatype %s takes its values in contents.%s, but contents.%s holds %d values", in.GetName(), dt, contentsField(dt), f.name, f.n)
		default:
			got = f.n
		}
	}
	if got != n {
		return bin, invalidf("input %q: contents.%s holds %d values, but shape %v takes %d", in.GetName(), contentsField(dt), got, in.GetShape(), n)
	}
	switch dt {
	case dtFP64:
		for _, v := range c.GetFp64Contents() {
			bin = binary.LittleEndian.AppendUint64(bin, math.Float64bits(v))
		}
	case dtFP32:
		for _, v := range c.GetFp32Contents() {
			bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(v))
		}
	case dtINT64:
		for _, v := range c.GetInt64Contents() {
			bin = binary.LittleEndian.AppendUint64(bin, uint64(v))
		}
	case dtINT32:
		for _, v := range c.GetIntContents() {
			bin = binary.LittleEndian.AppendUint32(bin, uint32(v))
		}
	case dtBOOL:
		for _, v := range c.GetBoolContents() {
			x := byte(0)
			if v {
				x = 1
			}
			bin = append(bin, x)
		}
	case dtBYTES:
		for _, v := range c.GetBytesContents() {
			bin = binary.LittleEndian.AppendUint32(bin, uint32(len(v)))
			bin = append(bin, v...)
		}
	}
	return bin, nil
}

// contentsField names the InferTensorContents field of datatype dt.
func contentsField(dt dtype) string {
	switch dt {
	case dtBOOL:
		return "bool_contents"
	case dtINT32:
		return "int_contents"
	case dtINT64:
		return "int64_contents"
	case dtFP32:
		return "fp32_contents"
	case dtFP64:
		return "fp64_contents"
	}
	return "bytes_contents"
}
