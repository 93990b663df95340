// Package parquetio holds what predictd's Parquet readers (tools/score's
// rows, tools/materialize's feature rows) share on top of
// github.com/parquet-go/parquet-go: opening an untrusted file safely, naming
// a column's type in messages, and turning a numeric value into a float64.
// Functions are safe for concurrent use.
package parquetio

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/parquet-go/parquet-go"
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

// Number returns v, a BOOLEAN (1 or 0), INT32, INT64 (as unsigned when
// unsigned is set), FLOAT or DOUBLE value, as a float64 divided by scale
// (a DECIMAL's 10^scale; 1 otherwise); NaN for null. Callers check the
// column's kind first: any other kind is a bug and panics.
func Number(v parquet.Value, unsigned bool, scale float64) float64 {
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
		if unsigned {
			x = float64(v.Uint32())
		} else {
			x = float64(v.Int32())
		}
	case parquet.Int64:
		if unsigned {
			x = float64(v.Uint64())
		} else {
			x = float64(v.Int64())
		}
	case parquet.Float:
		x = float64(v.Float())
	case parquet.Double:
		x = v.Double()
	default:
		panic("BUG: unchecked parquet kind " + v.Kind().String())
	}
	if scale != 1 {
		x /= scale
	}
	return x
}
