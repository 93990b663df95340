package labels

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Key kinds: the first byte of every key.
const (
	kindPending = 'p' // a prediction without a label: value encodeRow
	kindJoined  = 'j' // a prediction with its label: encodeRow + label + label time
	kindIndex   = 'i' // id -> the version and time of its prediction
)

// mv is a model version, the unit that keys are grouped by.
type mv struct {
	model   string
	version uint32
}

// timeBits maps Unix nanoseconds to a uint64 that sorts as the time does
// (the sign bit flipped), so times before 1970 still sort first.
func timeBits(ns int64) uint64 { return uint64(ns) ^ 1<<63 }

func bitsTime(u uint64) int64 { return int64(u ^ 1<<63) }

// appendPrefix appends kind, model, 0x00 and the version (big endian):
// the prefix of every row key of one model version.
func appendPrefix(dst []byte, kind byte, model string, version uint32) []byte {
	dst = append(dst, kind)
	dst = append(dst, model...)
	dst = append(dst, 0)
	return binary.BigEndian.AppendUint32(dst, version)
}

// appendRowKey appends a row key: prefix, time, id. Rows of a model
// version sort by prediction time, then id.
func appendRowKey[S ~string | ~[]byte](dst []byte, kind byte, model string, version uint32, ns int64, id S) []byte {
	dst = appendPrefix(dst, kind, model, version)
	dst = binary.BigEndian.AppendUint64(dst, timeBits(ns))
	return append(dst, id...)
}

// appendTimeBound appends the key before which the rows of a model
// version older than ns sort (prefix + time, no id).
func appendTimeBound(dst []byte, kind byte, model string, version uint32, ns int64) []byte {
	dst = appendPrefix(dst, kind, model, version)
	return binary.BigEndian.AppendUint64(dst, timeBits(ns))
}

// appendIndexKey appends the id index key of a model's prediction.
func appendIndexKey[S ~string | ~[]byte](dst []byte, model string, id S) []byte {
	dst = append(dst, kindIndex)
	dst = append(dst, model...)
	dst = append(dst, 0)
	return append(dst, id...)
}

// indexValueLen is the length of an index value: version and time.
const indexValueLen = 12

func appendIndexValue(dst []byte, version uint32, ns int64) []byte {
	dst = binary.BigEndian.AppendUint32(dst, version)
	return binary.BigEndian.AppendUint64(dst, timeBits(ns))
}

func parseIndexValue(v []byte) (version uint32, ns int64, err error) {
	if len(v) != indexValueLen {
		return 0, 0, fmt.Errorf("index value of %d bytes, want %d", len(v), indexValueLen)
	}
	return binary.BigEndian.Uint32(v), bitsTime(binary.BigEndian.Uint64(v[4:])), nil
}

// parsedKey is a row key taken apart.
type parsedKey struct {
	kind    byte
	model   []byte
	version uint32
	ns      int64
	id      []byte
}

var errBadKey = errors.New("malformed row key")

func parseRowKey(k []byte) (parsedKey, error) {
	var p parsedKey
	if len(k) < 1 {
		return p, errBadKey
	}
	p.kind = k[0]
	rest := k[1:]
	z := -1
	for i, c := range rest {
		if c == 0 {
			z = i
			break
		}
	}
	if z < 0 || len(rest) < z+1+4+8 {
		return p, errBadKey
	}
	p.model = rest[:z]
	rest = rest[z+1:]
	p.version = binary.BigEndian.Uint32(rest)
	p.ns = bitsTime(binary.BigEndian.Uint64(rest[4:]))
	p.id = rest[12:]
	return p, nil
}

// appendRow appends a prediction's value: the outputs (count, then
// float64 bits little endian) and the slice values (count, then length
// and bytes of each).
func appendRow(dst []byte, outputs []float64, slices []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(outputs)))
	for _, v := range outputs {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	}
	dst = binary.AppendUvarint(dst, uint64(len(slices)))
	for _, s := range slices {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// labelSuffixLen is what a joined row adds to its prediction's value: the
// label (float64 bits) and the label time (Unix ns), little endian.
const labelSuffixLen = 16

func appendLabel(dst []byte, label float64, ns int64) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(label))
	return binary.LittleEndian.AppendUint64(dst, uint64(ns))
}

var errBadRow = errors.New("malformed row value")

// rowReader walks a row value; the outputs and slices it returns alias v.
type rowReader struct {
	v []byte
}

func (r *rowReader) uvarint() (uint64, error) {
	n, k := binary.Uvarint(r.v)
	if k <= 0 {
		return 0, errBadRow
	}
	r.v = r.v[k:]
	return n, nil
}

// output returns output i of the row (NaN when the row has fewer) and
// leaves r after the outputs.
func (r *rowReader) output(i int) (float64, error) {
	n, err := r.uvarint()
	if err != nil || n > uint64(len(r.v)/8) {
		return 0, errBadRow
	}
	out := math.NaN()
	if uint64(i) < n {
		out = math.Float64frombits(binary.LittleEndian.Uint64(r.v[8*i:]))
	}
	r.v = r.v[8*n:]
	return out, nil
}

// slices calls f with each slice value in order and leaves r after them.
func (r *rowReader) slices(f func(col int, s []byte)) error {
	n, err := r.uvarint()
	if err != nil {
		return err
	}
	for c := range n {
		l, err := r.uvarint()
		if err != nil || l > uint64(len(r.v)) {
			return errBadRow
		}
		f(int(c), r.v[:l])
		r.v = r.v[l:]
	}
	return nil
}

// label reads the label suffix of a joined row (what is left in r).
func (r *rowReader) label() (float64, int64, error) {
	if len(r.v) != labelSuffixLen {
		return 0, 0, errBadRow
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(r.v)), int64(binary.LittleEndian.Uint64(r.v[8:])), nil
}

// rowBytes is what a stored prediction counts toward Options.MaxBytes:
// its row key and value and its index key and value.
func rowBytes(keyLen, valLen, modelLen, idLen int) int64 {
	return int64(keyLen + valLen + 1 + modelLen + 1 + idLen + indexValueLen)
}
