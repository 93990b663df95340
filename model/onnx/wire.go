package onnx

import (
	"errors"
	"fmt"
	"math"
)

// The protobuf wire format, as much of it as reading ONNX needs: a message
// is a sequence of (key, value) fields, key = field<<3 | wire type.

type wireType uint8

const (
	wireVarint     wireType = 0
	wireFixed64    wireType = 1
	wireBytes      wireType = 2
	wireStartGroup wireType = 3
	wireEndGroup   wireType = 4
	wireFixed32    wireType = 5
)

func (t wireType) String() string {
	switch t {
	case wireVarint:
		return "varint"
	case wireFixed64:
		return "fixed64"
	case wireBytes:
		return "length-delimited"
	case wireStartGroup:
		return "start-group"
	case wireEndGroup:
		return "end-group"
	case wireFixed32:
		return "fixed32"
	}
	return fmt.Sprintf("wire type %d", uint8(t))
}

// maxFieldNum is protobuf's largest field number (2^29-1).
const maxFieldNum = 1<<29 - 1

// maxGroupDepth bounds nested groups skipped as unknown fields, so a crafted
// input cannot recurse without limit.
const maxGroupDepth = 64

var errTruncated = errors.New("truncated protobuf (the file is cut short or corrupt)")

// field is one decoded field. u holds a varint, fixed32 or fixed64 value;
// b a length-delimited value, aliasing the input.
type field struct {
	num int
	typ wireType
	u   uint64
	b   []byte
}

// readVarint decodes a varint at the start of b and returns it with its
// length. It refuses varints longer than 10 bytes or above 2^64-1.
func readVarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < 10; i++ {
		if i >= len(b) {
			return 0, 0, errTruncated
		}
		c := b[i]
		if i == 9 && c > 1 {
			return 0, 0, errors.New("corrupt protobuf: varint overflows 64 bits")
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("corrupt protobuf: varint longer than 10 bytes")
}

// eachField calls fn for every field of the message b, in order. Groups
// (wire types 3 and 4, which ONNX does not use) are skipped whole as
// unknown fields; fn never sees them.
func eachField(b []byte, fn func(f field) error) error {
	for len(b) > 0 {
		f, n, err := readField(b, 0)
		if err != nil {
			return err
		}
		b = b[n:]
		if f.typ == wireStartGroup {
			continue
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// readField decodes the field at the start of b and returns it with its
// encoded length. A start-group field is returned after skipping to its
// matching end-group; a stray end-group is an error.
func readField(b []byte, depth int) (field, int, error) {
	key, n, err := readVarint(b)
	if err != nil {
		return field{}, 0, err
	}
	num := key >> 3
	if num == 0 || num > maxFieldNum {
		return field{}, 0, fmt.Errorf("corrupt protobuf: field number %d", num)
	}
	f := field{num: int(num), typ: wireType(key & 7)}
	switch f.typ {
	case wireVarint:
		v, m, err := readVarint(b[n:])
		if err != nil {
			return field{}, 0, err
		}
		f.u = v
		n += m
	case wireFixed64:
		if len(b)-n < 8 {
			return field{}, 0, errTruncated
		}
		f.u = le64(b[n:])
		n += 8
	case wireFixed32:
		if len(b)-n < 4 {
			return field{}, 0, errTruncated
		}
		f.u = uint64(le32(b[n:]))
		n += 4
	case wireBytes:
		l, m, err := readVarint(b[n:])
		if err != nil {
			return field{}, 0, err
		}
		n += m
		if l > uint64(len(b)-n) {
			return field{}, 0, errTruncated
		}
		f.b = b[n : n+int(l)]
		n += int(l)
	case wireStartGroup:
		if depth >= maxGroupDepth {
			return field{}, 0, errors.New("corrupt protobuf: groups nested too deeply")
		}
		for {
			if n >= len(b) {
				return field{}, 0, errTruncated
			}
			g, m, err := readField(b[n:], depth+1)
			if err != nil && !errors.Is(err, errEndGroup) {
				return field{}, 0, err
			}
			n += m
			if err != nil { // end-group
				if g.num != f.num {
					return field{}, 0, fmt.Errorf("corrupt protobuf: group %d closed as %d", f.num, g.num)
				}
				break
			}
		}
	case wireEndGroup:
		// Only legal as the close of a group readField is skipping.
		return f, n, errEndGroup
	default:
		return field{}, 0, fmt.Errorf("corrupt protobuf: field %d has unknown wire type %d", num, f.typ)
	}
	return f, n, nil
}

var errEndGroup = errors.New("corrupt protobuf: end-group without a start-group")

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le64(b []byte) uint64 {
	return uint64(le32(b)) | uint64(le32(b[4:]))<<32
}

// The accessors below check the wire type a schema field must have. A
// mismatch is an error rather than an unknown field: the file is then not
// the ONNX message it claims to be.

func (f field) want(t wireType) error {
	if f.typ != t {
		return fmt.Errorf("field %d is %v, want %v", f.num, f.typ, t)
	}
	return nil
}

func (f field) str() (string, error) {
	if err := f.want(wireBytes); err != nil {
		return "", err
	}
	return string(f.b), nil
}

func (f field) msg() ([]byte, error) {
	if err := f.want(wireBytes); err != nil {
		return nil, err
	}
	return f.b, nil
}

// int64 reads an int64 or int32 field (both are plain varints; a negative
// int32 is sign-extended to ten bytes).
func (f field) int64() (int64, error) {
	if err := f.want(wireVarint); err != nil {
		return 0, err
	}
	return int64(f.u), nil
}

func (f field) float32() (float32, error) {
	if err := f.want(wireFixed32); err != nil {
		return 0, err
	}
	return math.Float32frombits(uint32(f.u)), nil
}

// appendFloat32s appends a repeated float field, packed or not.
func (f field) appendFloat32s(dst []float32) ([]float32, error) {
	switch f.typ {
	case wireFixed32:
		return append(dst, math.Float32frombits(uint32(f.u))), nil
	case wireBytes:
		if len(f.b)%4 != 0 {
			return nil, fmt.Errorf("field %d: packed floats of %d bytes, not a multiple of 4", f.num, len(f.b))
		}
		for b := f.b; len(b) > 0; b = b[4:] {
			dst = append(dst, math.Float32frombits(le32(b)))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("field %d is %v, want fixed32 or packed", f.num, f.typ)
}

// appendFloat64s appends a repeated double field, packed or not.
func (f field) appendFloat64s(dst []float64) ([]float64, error) {
	switch f.typ {
	case wireFixed64:
		return append(dst, math.Float64frombits(f.u)), nil
	case wireBytes:
		if len(f.b)%8 != 0 {
			return nil, fmt.Errorf("field %d: packed doubles of %d bytes, not a multiple of 8", f.num, len(f.b))
		}
		for b := f.b; len(b) > 0; b = b[8:] {
			dst = append(dst, math.Float64frombits(le64(b)))
		}
		return dst, nil
	}
	return nil, fmt.Errorf("field %d is %v, want fixed64 or packed", f.num, f.typ)
}

// appendInt64s appends a repeated int64 (or int32) field, packed or not.
func (f field) appendInt64s(dst []int64) ([]int64, error) {
	switch f.typ {
	case wireVarint:
		return append(dst, int64(f.u)), nil
	case wireBytes:
		for b := f.b; len(b) > 0; {
			v, n, err := readVarint(b)
			if err != nil {
				return nil, fmt.Errorf("field %d: packed integers: %w", f.num, err)
			}
			dst = append(dst, int64(v))
			b = b[n:]
		}
		return dst, nil
	}
	return nil, fmt.Errorf("field %d is %v, want varint or packed", f.num, f.typ)
}
