package parquetio

import (
	"math"
	"math/big"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// exactDecimal is the reference: the big-endian two's complement integer b
// divided by 10^scale, rounded once to the nearest float64.
func exactDecimal(b []byte, scale int) float64 {
	i := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		i.Sub(i, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	x, _ := new(big.Rat).SetFrac(i, d).Float64()
	return x
}

func TestDecimal(t *testing.T) {
	f := func(b []byte, scale int, want float64) {
		t.Helper()
		if got := bigDecimal(b, scale); got != want {
			t.Errorf("bigDecimal(%x, %d) = %v, want %v", b, scale, got, want)
		}
	}
	f(nil, 2, 0)
	f([]byte{0x01}, 0, 1)
	f([]byte{0xff}, 0, -1)
	f([]byte{0x80}, 1, -12.8)
	f([]byte{0x00, 0x80}, 1, 12.8)
	f([]byte{0xff, 0xff, 0xfe}, 2, -0.02)
	f([]byte{0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 0, math.MaxInt64)
	f([]byte{0x80, 0, 0, 0, 0, 0, 0, 0}, 0, math.MinInt64)
	// 16 bytes, as DuckDB and Spark store DECIMAL(38, s): -1.5 and 10^30.
	f([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf1}, 1, -1.5)
	e30 := new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil).FillBytes(make([]byte, 16))
	f(e30, 0, 1e30)
	f(e30, 30, 1)

	// Beyond 2^53 and past scale 22, one rounding as the reference.
	for _, tc := range []struct {
		x     int64
		scale int
	}{{1<<53 + 1, 3}, {-(1<<62 + 12345), 7}, {123456789, 25}, {1 << 53, 4}, {-(1 << 53), 22}} {
		b := big.NewInt(tc.x)
		buf := make([]byte, 8)
		if tc.x < 0 {
			b.Add(b, new(big.Int).Lsh(big.NewInt(1), 64))
		}
		b.FillBytes(buf)
		if got, want := decimal(tc.x, tc.scale), exactDecimal(buf, tc.scale); got != want {
			t.Errorf("decimal(%d, %d) = %v, want %v", tc.x, tc.scale, got, want)
		}
	}
}

func TestNumberColumn(t *testing.T) {
	f := func(node parquet.Node, want Num, wantErr string) {
		t.Helper()
		got, err := NumberColumn(node.Type())
		if wantErr != "" {
			if err == nil || err.Error() != wantErr {
				t.Errorf("NumberColumn(%s) error %v, want %q", TypeName(node.Type()), err, wantErr)
			}
			return
		}
		if err != nil || got != want {
			t.Errorf("NumberColumn(%s) = %+v, %v, want %+v", TypeName(node.Type()), got, err, want)
		}
	}
	f(parquet.Leaf(parquet.DoubleType), Num{}, "")
	f(parquet.Leaf(parquet.BooleanType), Num{}, "")
	f(parquet.Int(64), Num{}, "")
	f(parquet.Uint(32), Num{Unsigned: true}, "")
	f(parquet.Decimal(2, 9, parquet.Int32Type), Num{Decimal: true, Scale: 2}, "")
	f(parquet.Decimal(6, 38, parquet.FixedLenByteArrayType(16)), Num{Decimal: true, Scale: 6}, "")
	f(parquet.String(), Num{}, "has type BYTE_ARRAY (STRING), want a number (BOOLEAN, INT32, INT64, FLOAT, DOUBLE or DECIMAL)")
	f(parquet.Date(), Num{}, "has type INT32 (DATE), want a number (BOOLEAN, INT32, INT64, FLOAT, DOUBLE or DECIMAL)")
	f(parquet.Leaf(parquet.Int96Type), Num{}, "has type INT96, want a number (BOOLEAN, INT32, INT64, FLOAT, DOUBLE or DECIMAL)")
}

// FuzzDecimal holds bigDecimal to the exact rational reference for every
// value up to maxExactDecimalBytes long, and to within one rounding beyond.
func FuzzDecimal(f *testing.F) {
	f.Add([]byte{0xff, 0x01}, uint8(2))
	f.Add(make([]byte, 16), uint8(38))
	f.Add([]byte{0x7f, 1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, scale uint8) {
		s := int(scale % 77)
		got, want := bigDecimal(b, s), exactDecimal(b, s)
		if len(b) <= maxExactDecimalBytes {
			if got != want {
				t.Fatalf("bigDecimal(%x, %d) = %v, want %v", b, s, got, want)
			}
			return
		}
		if math.Abs(got-want) > 2*math.Abs(want)*0x1p-52 {
			t.Fatalf("bigDecimal(%x, %d) = %v, want %v within two roundings", b, s, got, want)
		}
	})
}
