package wire

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// The binary tensor data extension of the Open Inference Protocol over
// HTTP (Triton's "binary_tensor_data", also in KServe v2): the body is a
// JSON inference request of headerLen bytes, then raw tensor bytes. An
// input whose "parameters" hold "binary_data_size": B has no "data": its
// values are the next B bytes of the binary section, inputs taking theirs
// in the order they are listed, little-endian, row-major, without padding.
// A requested output with "binary_data": true (or every output, when the
// request's parameters hold "binary_data_output": true) comes back the
// same way (AppendInferBinary).

// maxExactInt is 2^53: an integer beyond it has no exact float64.
const maxExactInt = 1 << 53

// DecodeInferBinary decodes body, an inference request with the binary
// tensor data extension: its first headerLen bytes are the JSON request
// (the HTTP header Inference-Header-Content-Length), the rest the binary
// section. The JSON is read as DecodeInfer reads it; an input may carry
// "parameters": {"binary_data_size": B} in place of "data", and inputs
// with JSON data and binary inputs mix in one request.
//
// A binary input's B bytes hold as many elements as its shape says, by
// datatype: FP64 and FP32 (IEEE 754; FP32 widened to float64 exactly;
// NaN is a missing value where the schema takes one, an infinity is
// refused), INT64 and INT32 (two's complement; an integer beyond ±2^53,
// which float64 cannot hold exactly, is refused naming the input), BOOL
// (one byte, 0 or 1), BYTES (per element a 4-byte little-endian length,
// then that many bytes) for a string input, kept in the string arena as a
// JSON string is (invalid UTF-8 bytes become U+FFFD), and for an entity
// key (INT64, INT32 or BYTES). B must equal what the elements take (for
// FP32 4 × the shape's product; for BYTES the lengths' 4 bytes each plus
// the data), and the inputs must consume the binary section exactly. Each
// refusal names the input and the body byte where its data lies.
// headerLen outside [0, len(body)] is refused. Once r's buffers have grown
// to the request's size, DecodeInferBinary does not allocate.
func (r *Request) DecodeInferBinary(body []byte, headerLen int, s *Schema, lim Limits) error {
	if headerLen < 0 || headerLen > len(body) {
		r.start(nil, s)
		return invalidf("Inference-Header-Content-Length %d is past the body's end: the body has %d bytes", headerLen, len(body))
	}
	head := body[:headerLen]
	r.start(head, s)
	r.binary, r.bin, r.binBase, r.binPos = true, body[headerLen:], headerLen, 0
	err := r.decodeInfer(s, lim)
	if err == nil && r.binPos != len(r.bin) {
		err = invalidf("binary data: %d bytes at body byte %d follow the last binary input's data: the binary inputs' binary_data_size must add up to the %d bytes after the JSON header (Inference-Header-Content-Length %d)", len(r.bin)-r.binPos, r.binBase+r.binPos, len(r.bin), headerLen)
	}
	r.sc.reset(nil) // keep no reference to the body
	r.bin = nil
	return syntaxFirst(head, err)
}

// inputParams reads an input's parameters: "binary_data_size" into
// h.binSize; the others are only checked as JSON.
func (r *Request) inputParams(h *inputHead) error {
	sc := &r.sc
	if sc.peek() != '{' {
		return sc.wrongType(h.label()+`: "parameters": `, "expected an object")
	}
	more, err := sc.openObject()
	for more && err == nil {
		var key []byte
		if key, err = sc.key(&r.key); err != nil {
			return err
		}
		if string(key) != "binary_data_size" {
			err = sc.skip(4)
		} else {
			if h.binSize >= 0 {
				return invalidf(`%s: parameters: "binary_data_size" appears twice`, h.label())
			}
			if c := sc.peek(); c != '-' && !isDigit(c) {
				return sc.wrongType(h.label()+`: parameters: "binary_data_size": `, "expected a number of bytes")
			}
			var v float64
			if v, err = sc.number(); err != nil {
				return err
			}
			if !isInt(v) || v < 0 || v > maxExactInt {
				return invalidf(`%s: parameters: "binary_data_size": %s is not a whole, non-negative number of bytes`, h.label(), sc.numText())
			}
			h.binSize = int64(v)
		}
		if err != nil {
			return err
		}
		more, err = sc.nextMember()
	}
	return err
}

// elemSize is the bytes one element of dt takes in the binary section;
// 0 for BYTES, whose elements carry their length.
func elemSize(dt dtype) int {
	switch dt {
	case dtFP64, dtINT64:
		return 8
	case dtFP32, dtINT32:
		return 4
	case dtBOOL:
		return 1
	}
	return 0
}

// binWindow returns input h's bytes of the binary section and moves past
// them, checking that the section has them.
func (r *Request) binWindow(h *inputHead) ([]byte, int, error) {
	if !r.binary {
		return nil, 0, invalidf(`input %q: parameters: "binary_data_size" %d, but the request has no binary data: send the HTTP header Inference-Header-Content-Length with the JSON header's length, the binary data after it`, h.name, h.binSize)
	}
	at := r.binPos
	if h.binSize > int64(len(r.bin)-at) {
		return nil, 0, invalidf(`input %q: binary data at body byte %d: "binary_data_size" %d runs past the body's end (%d bytes of binary data left)`, h.name, r.binBase+at, h.binSize, len(r.bin)-at)
	}
	r.binPos += int(h.binSize)
	return r.bin[at:r.binPos], r.binBase + at, nil
}

// binData appends to dst input h's want values from the binary section,
// checked for feature f (f < 0: the features of the 2-D input in turn).
func (r *Request) binData(s *Schema, h *inputHead, dst []float64, want, f int) ([]float64, int, error) {
	if size := elemSize(h.dt); size > 0 {
		// Checked before the window so that the message says what the
		// shape needs, not only that the bytes ran out.
		if need := uint64(want) * uint64(size); h.binSize < 0 || uint64(h.binSize) != need {
			return dst, 0, invalidf(`input %q: "binary_data_size" %d, but shape %s of %s takes %d bytes (%d each)`, h.name, h.binSize, h.shapeText(), h.dt, need, size)
		}
	}
	w, base, err := r.binWindow(h)
	if err != nil {
		return dst, 0, err
	}
	nf := len(s.names)
	l := loc{input: h.name, column: f >= 0, feat: max(f, 0)}
	pos := 0
	for range want {
		at := base + pos
		var v float64
		switch h.dt {
		case dtBYTES:
			if v, pos, err = r.binString(h, w, pos, base); err != nil {
				return dst, 0, err
			}
		default:
			if v, err = r.binNumber(s, h.dt, l, w[pos:], at); err != nil {
				return dst, 0, err
			}
			pos += elemSize(h.dt)
		}
		dst = append(dst, v)
		if f >= 0 {
			l.inst++
		} else if l.feat++; l.feat == nf {
			l.feat = 0
			l.inst++
		}
	}
	if pos != len(w) {
		return dst, 0, invalidf(`input %q: "binary_data_size" %d, but its %d BYTES elements take %d bytes (each a 4-byte length and the bytes), ending at body byte %d`, h.name, h.binSize, want, pos, base+pos)
	}
	return dst, want, nil
}

// binNumber reads one element of numeric datatype dt from b, at body byte
// at, with the same rules as a JSON value of that datatype (value), plus
// NaN as a missing value.
func (r *Request) binNumber(s *Schema, dt dtype, l loc, b []byte, at int) (float64, error) {
	var v float64
	switch dt {
	case dtFP64:
		v = math.Float64frombits(binary.LittleEndian.Uint64(b))
	case dtFP32:
		v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case dtINT64:
		n := int64(binary.LittleEndian.Uint64(b))
		if n > maxExactInt || n < -maxExactInt {
			return 0, l.errorf(s, "%sINT64 %d is beyond ±2^53, which float64 cannot hold exactly", r.at(at), n)
		}
		v = float64(n)
	case dtINT32:
		v = float64(int32(binary.LittleEndian.Uint32(b)))
	case dtBOOL:
		switch b[0] {
		case 0, 1:
			v = float64(b[0])
		default:
			return 0, l.errorf(s, "%sBOOL byte %d, want 0 (false) or 1 (true)", r.at(at), b[0])
		}
	}
	switch {
	case v != v:
		if !s.allowMissing {
			return 0, l.errorf(s, "%sNaN (a missing value) is not accepted: a %s model needs every value; only tree models take missing values", r.at(at), s.kind)
		}
		return v, nil
	case math.IsInf(v, 0):
		return 0, l.errorf(s, "%s%v is not a finite %s number", r.at(at), v, dt)
	case s.categorical[l.feat] && !isInt(v):
		return 0, l.errorf(s, "%s%v is not a category: a categorical feature takes integer values", r.at(at), v)
	}
	return v, nil
}

// binString reads the BYTES element at w[pos:] into the string arena and
// returns its index and the position after it. base is w's body offset.
func (r *Request) binString(h *inputHead, w []byte, pos, base int) (float64, int, error) {
	b, next, err := bytesElem(h, w, pos, base)
	if err != nil {
		return 0, 0, err
	}
	r.strs = appendValidUTF8(r.strs, b)
	r.strEnd = append(r.strEnd, len(r.strs))
	return float64(len(r.strEnd) - 1), next, nil
}

// bytesElem returns the BYTES element at w[pos:] and the position after
// it.
func bytesElem(h *inputHead, w []byte, pos, base int) ([]byte, int, error) {
	if len(w)-pos < 4 {
		return nil, 0, invalidf(`input %q: binary data at body byte %d: a BYTES element's 4-byte length runs past its "binary_data_size" %d`, h.name, base+pos, h.binSize)
	}
	n := uint64(binary.LittleEndian.Uint32(w[pos:]))
	if n > uint64(len(w)-pos-4) {
		return nil, 0, invalidf(`input %q: binary data at body byte %d: a BYTES element of %d bytes runs past its "binary_data_size" %d`, h.name, base+pos, n, h.binSize)
	}
	start := pos + 4
	return w[start : start+int(n)], start + int(n), nil
}

// appendValidUTF8 appends b with each byte that is not part of valid
// UTF-8 replaced by U+FFFD, as encoding/json reads a JSON string.
func appendValidUTF8(dst, b []byte) []byte {
	if utf8.Valid(b) {
		return append(dst, b...)
	}
	for len(b) > 0 {
		c, size := utf8.DecodeRune(b)
		if c == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, b[:size]...)
		}
		b = b[size:]
	}
	return dst
}

// binKeys reads input h, entity key k, from the binary section: batch
// keys of datatype BYTES, INT64 or INT32.
func (r *Request) binKeys(s *Schema, h *inputHead, k, batch int) error {
	p := s.join
	if size := elemSize(h.dt); size > 0 {
		if need := uint64(batch) * uint64(size); uint64(h.binSize) != need {
			return invalidf(`entity key input %q: "binary_data_size" %d, but shape %s of %s takes %d bytes (%d each)`, h.name, h.binSize, h.shapeText(), h.dt, need, size)
		}
	}
	w, base, err := r.binWindow(h)
	if err != nil {
		return err
	}
	pos := 0
	for i := range batch {
		var text []byte
		switch h.dt {
		case dtBYTES:
			if text, pos, err = bytesElem(h, w, pos, base); err != nil {
				return err
			}
		case dtINT64:
			r.key = strconv.AppendInt(r.key[:0], int64(binary.LittleEndian.Uint64(w[pos:])), 10)
			text, pos = r.key, pos+8
		case dtINT32:
			r.key = strconv.AppendInt(r.key[:0], int64(int32(binary.LittleEndian.Uint32(w[pos:]))), 10)
			text, pos = r.key, pos+4
		}
		if err := r.putEntityKey(p, i, k, text, h.dt != dtBYTES); err != nil {
			return err
		}
	}
	if pos != len(w) {
		return invalidf(`entity key input %q: "binary_data_size" %d, but its %d BYTES elements take %d bytes (each a 4-byte length and the bytes), ending at body byte %d`, h.name, h.binSize, batch, pos, base+pos)
	}
	return nil
}

// at says where in the body a binary value lies, for binNumber's
// messages: "at body byte N: ", or nothing for a gRPC request
// (DecodeInferProto), whose body the client never saw.
func (r *Request) at(pos int) string {
	if r.proto {
		return ""
	}
	return "at body byte " + strconv.Itoa(pos) + ": "
}
