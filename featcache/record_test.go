package featcache

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	f := func(tm time.Time, values []float64) {
		t.Helper()
		b := EncodeRecord([]byte("prefix"), tm, values)
		b = b[len("prefix"):]
		if want := RecordHeaderBytes + 8*len(values); len(b) != want {
			t.Fatalf("EncodeRecord(%v, %d values): %d bytes, want %d", tm, len(values), len(b), want)
		}
		got, out, err := DecodeRecord(b, make([]float64, 3))
		if err != nil {
			t.Fatalf("DecodeRecord(EncodeRecord(%v, %v)): %v", tm, values, err)
		}
		if !got.Equal(tm) || got.Location() != time.UTC {
			t.Fatalf("DecodeRecord time = %v, want %v in UTC", got, tm)
		}
		if len(out) != len(values) {
			t.Fatalf("DecodeRecord values = %v, want %v", out, values)
		}
		for i := range values {
			if math.Float64bits(out[i]) != math.Float64bits(values[i]) {
				t.Fatalf("DecodeRecord value %d = %v, want %v (bit-exact)", i, out[i], values[i])
			}
		}
	}
	f(time.Unix(1700000000, 123456789), []float64{1, 2.5, -3})
	f(time.Unix(0, 0), nil)
	f(time.Date(1900, 1, 2, 3, 4, 5, 6, time.UTC), []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 5e-324, math.MaxFloat64})
	f(time.Unix(0, math.MinInt64), []float64{0})
	f(time.Unix(0, math.MaxInt64), []float64{0})
}

func TestRecordTimeOrder(t *testing.T) {
	times := []time.Time{
		time.Unix(0, math.MinInt64),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(-1, 0),
		time.Unix(0, -1),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Unix(1700000000, 0),
		time.Unix(0, math.MaxInt64),
	}
	for i := 1; i < len(times); i++ {
		a := EncodeRecord(nil, times[i-1], nil)
		b := EncodeRecord(nil, times[i], nil)
		if bytes.Compare(a[:8], b[:8]) >= 0 {
			t.Errorf("encoded %v = %x, not below encoded %v = %x", times[i-1], a[:8], times[i], b[:8])
		}
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	good := EncodeRecord(nil, time.Unix(5, 0), []float64{1, 2})
	f := func(b []byte, want string) {
		t.Helper()
		_, _, err := DecodeRecord(b, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeRecord(%x) error = %v, want one containing %q", b, err, want)
		}
	}
	f(nil, "shorter than its 12-byte header")
	f(good[:11], "shorter than its 12-byte header")
	f(good[:len(good)-1], "record of 27 bytes, want 28 for its 2 values")
	f(append(good, 0), "record of 29 bytes, want 28")
	f([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, "want 34359738372 for its 4294967295 values")
}

func TestStoreKey(t *testing.T) {
	if got, want := string(StoreKey([]byte("x"), "view", "e1")), "xview\x00e1"; got != want {
		t.Errorf("StoreKey(x, view, e1) = %q, want %q", got, want)
	}
}

func TestCheckPut(t *testing.T) {
	f := func(view string, rows []Row, want string) {
		t.Helper()
		err := CheckPut(view, rows)
		if want == "" {
			if err != nil {
				t.Errorf("CheckPut(%q, %v) = %v, want nil", view, rows, err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPut(%q, %v) = %v, want an error containing %q", view, rows, err, want)
		}
	}
	at := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f("v", []Row{{Entity: "a", EventTime: at}, {Entity: "b", EventTime: at}}, "")
	f("v", nil, "")
	f("", nil, "empty view name")
	f("v\x00", nil, "contains 0x00")
	f("v", []Row{{Entity: "a", EventTime: at}, {Entity: "b\x00c", EventTime: at}}, "row 1")
	f("v", []Row{{Entity: "", EventTime: at}}, "row 0: empty entity")
	f("v", []Row{{Entity: "a", EventTime: at}, {Entity: strings.Repeat("k", MaxKeyBytes+1), EventTime: at}}, "row 1: entity")
	f("v", []Row{{Entity: "a", EventTime: at}, {Entity: "b\nc", EventTime: at}}, "row 1: entity")
	// A time EncodeRecord would wrap (9999 would read back as 1816).
	f("v", []Row{{Entity: "a", EventTime: at}, {Entity: "b", EventTime: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}}, "row 1: event time 9999-01-01T00:00:00Z is outside the years 1678..2262")
	f("v", []Row{{Entity: "a"}}, "row 0: event time 0001-01-01T00:00:00Z is outside")
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(EncodeRecord(nil, time.Unix(5, 0), []float64{1, math.NaN()}))
	f.Add([]byte{})
	f.Add(make([]byte, 12))
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, vals, err := DecodeRecord(b, nil)
		if err != nil {
			return
		}
		// A record that decodes re-encodes to the same bytes.
		if again := EncodeRecord(nil, tm, vals); !bytes.Equal(again, b) {
			t.Fatalf("EncodeRecord(DecodeRecord(%x)) = %x", b, again)
		}
	})
}
