// Package parquetio holds what predictd's Parquet readers (tools/score's
// rows, tools/materialize's feature rows, internal/table's chunks) share on
// top of github.com/parquet-go/parquet-go: opening an untrusted file safely,
// naming a column's type in messages, turning a numeric value into a
// float64 and a TIMESTAMP, DATE or INT96 value into a time.
// Functions are safe for concurrent use.
package parquetio

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Open checks the file's trailer and opens it without page indexes or
// bloom filters. The trailer check comes first because parquet-go
// allocates the footer length a file claims, up to 4 GiB, before it checks
// that the file is that long; and a panic while reading the footer (which
// parquet-go v0.32 has on some malformed files) is returned as an error.
func Open(f io.ReaderAt, size int64) (pf *parquet.File, err error) {
	if err := checkFooter(f, size); err != nil {
		return nil, err
	}
	defer func() {
		if e := recover(); e != nil {
			pf, err = nil, fmt.Errorf("corrupt file: %v", e)
		}
	}()
	return parquet.OpenFile(f, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
}

func checkFooter(f io.ReaderAt, size int64) error {
	const trailer = 8 // footer length (uint32, little endian) and "PAR1"
	if size < 4+trailer {
		return fmt.Errorf("%d bytes is too short", size)
	}
	var b [trailer]byte
	if _, err := f.ReadAt(b[:], size-trailer); err != nil {
		return err
	}
	if string(b[4:]) != "PAR1" {
		return fmt.Errorf("no PAR1 magic at the end")
	}
	n := binary.LittleEndian.Uint32(b[:4])
	if int64(n) > size-4-trailer {
		return fmt.Errorf("footer length %d is past the start of the file (%d bytes)", n, size)
	}
	if n > MaxFooterBytes {
		return fmt.Errorf("footer of %d bytes is over the %d-byte limit (its column statistics may hold huge values: a key column's min and max are copied there)", n, MaxFooterBytes)
	}
	return nil
}

// MaxFooterBytes bounds a file's footer (its schema, row groups and column
// statistics), which parquet-go reads whole: a legitimate file of thousands
// of columns and row groups stays well under it, while a file whose key
// column holds a huge value carries that value twice in its statistics.
const MaxFooterBytes = 16 << 20

// TypeName is a column type for messages: the physical type and its
// logical annotation, e.g. "INT64 (TIMESTAMP(...))".
func TypeName(t parquet.Type) string {
	s := t.Kind().String()
	if lt := t.LogicalType(); lt != nil && lt.Value != nil {
		s += " (" + lt.String() + ")"
	}
	return s
}

// Num says how the values of a numeric column become float64s; see
// NumberColumn. The zero Num reads a plain signed number.
type Num struct {
	// Unsigned is set for an INT annotation with is_signed false.
	Unsigned bool
	// Decimal is set for a DECIMAL annotation: the stored integer (INT32,
	// INT64, or big-endian two's complement bytes) is divided by
	// 10^Scale.
	Decimal bool
	Scale   int
}

// NumberColumn says whether a column of type t holds one number per row,
// and how to read it: BOOLEAN (1 or 0), FLOAT, DOUBLE, INT32 and INT64
// (plain or with a signed or unsigned INT annotation), or a DECIMAL stored
// as INT32, INT64, FIXED_LEN_BYTE_ARRAY or BYTE_ARRAY (as DuckDB and Spark
// store a precision over 18). Anything else (a string, a DATE or
// TIMESTAMP, whose unit as a number is a guess, an INT96) gets an error
// naming the type; callers add the file and column.
func NumberColumn(t parquet.Type) (Num, error) {
	var lt format.LogicalTypeValue
	if l := t.LogicalType(); l != nil {
		lt = l.Value
	}
	bad := fmt.Errorf("has type %s, want a number (BOOLEAN, INT32, INT64, FLOAT, DOUBLE or DECIMAL)", TypeName(t))
	if d, ok := lt.(*format.DecimalType); ok {
		switch t.Kind() {
		case parquet.Int32, parquet.Int64, parquet.FixedLenByteArray, parquet.ByteArray:
			if d.Scale < 0 || d.Scale > 76 {
				return Num{}, fmt.Errorf("has type %s: a DECIMAL scale of %d is out of range", TypeName(t), d.Scale)
			}
			return Num{Decimal: true, Scale: int(d.Scale)}, nil
		}
		return Num{}, bad
	}
	switch t.Kind() {
	case parquet.Boolean, parquet.Float, parquet.Double:
		if lt == nil {
			return Num{}, nil
		}
	case parquet.Int32, parquet.Int64:
		switch lt := lt.(type) {
		case nil:
			return Num{}, nil
		case *format.IntType:
			return Num{Unsigned: !lt.IsSigned}, nil
		}
	}
	return Num{}, bad
}

// Number returns v, a value of a column NumberColumn accepted as n, as a
// float64: NaN for null. A DECIMAL is the nearest float64 to its exact
// value (one rounding). Any other kind of value is a bug and panics.
func Number(v parquet.Value, n Num) float64 {
	if v.IsNull() {
		return math.NaN()
	}
	var x float64
	switch v.Kind() {
	case parquet.Boolean:
		if v.Boolean() {
			x = 1
		}
	case parquet.Int32:
		switch {
		case n.Decimal:
			return decimal(int64(v.Int32()), n.Scale)
		case n.Unsigned:
			x = float64(v.Uint32())
		default:
			x = float64(v.Int32())
		}
	case parquet.Int64:
		switch {
		case n.Decimal:
			return decimal(v.Int64(), n.Scale)
		case n.Unsigned:
			x = float64(v.Uint64())
		default:
			x = float64(v.Int64())
		}
	case parquet.Float:
		x = float64(v.Float())
	case parquet.Double:
		x = v.Double()
	case parquet.FixedLenByteArray, parquet.ByteArray:
		if !n.Decimal {
			panic("BUG: parquet byte array read as a number without a DECIMAL annotation")
		}
		return bigDecimal(v.ByteArray(), n.Scale)
	default:
		panic("BUG: unchecked parquet kind " + v.Kind().String())
	}
	return x
}

// pow10 holds the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// decimal is x / 10^scale rounded once: a division of two exact float64s
// when both are exact (|x| <= 2^53, scale <= 22, every DECIMAL that fits
// in 15 digits), exact rational arithmetic otherwise.
func decimal(x int64, scale int) float64 {
	if x >= -1<<53 && x <= 1<<53 && scale < len(pow10) {
		return float64(x) / pow10[scale]
	}
	return ratio(big.NewInt(x), scale)
}

// bigDecimal is decimal for a big-endian two's complement integer of any
// length (an empty one is 0).
func bigDecimal(b []byte, scale int) float64 {
	if len(b) <= 8 {
		var x int64
		for _, c := range b {
			x = x<<8 | int64(c)
		}
		if len(b) > 0 && len(b) < 8 && b[0]&0x80 != 0 {
			x -= 1 << (8 * len(b)) // sign-extend
		}
		return decimal(x, scale)
	}
	i := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		i.Sub(i, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if len(b) > maxExactDecimalBytes {
		// Beyond what any DECIMAL precision needs (a malformed or hostile
		// value): rounded twice, in time linear in its length, rather
		// than exactly in time quadratic in it.
		f := new(big.Float).SetInt(i)
		f.Quo(f, new(big.Float).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
		x, _ := f.Float64()
		return x
	}
	return ratio(i, scale)
}

// maxExactDecimalBytes is the longest DECIMAL value converted exactly: 32
// bytes hold the 76 digits of the largest precision a writer declares.
const maxExactDecimalBytes = 32

func ratio(i *big.Int, scale int) float64 {
	d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	x, _ := new(big.Rat).SetFrac(i, d).Float64()
	return x
}
