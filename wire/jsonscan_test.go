package wire

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestNumber compares the scanner's number conversion, fast path and
// fallback, with strconv.ParseFloat on edge cases and random decimals.
func TestNumber(t *testing.T) {
	cases := []string{
		"0", "-0", "1", "-1", "0.1", "0.5", "1e22", "1e23", "9007199254740991", "9007199254740992",
		"9007199254740993", "1234567890123456789", "12345678901234567890", "0.000001", "1e-22", "1e-23",
		"123.456e-7", "2.2250738585072014e-308", "4.9e-324", "2e-324", "1.7976931348623157e308",
		"1.7976931348623159e308", "1e309", "-1e309", "1E+2", "0.30000000000000004", "100000000000000000000000",
		"3.0", "0e5", "1e999999999999", "1e-999999999999", "0.0000000000000000000000000001",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('-')
		}
		digits := 1 + rng.IntN(20)
		point := rng.IntN(digits + 1)
		for i := range digits {
			if i == point && i > 0 {
				b.WriteByte('.')
			}
			d := rng.IntN(10)
			if i == 0 && d == 0 && digits > 1 && point != 1 {
				d = 1 // no leading zero
			}
			b.WriteByte(byte('0' + d))
		}
		if rng.IntN(3) == 0 {
			b.WriteString("e")
			b.WriteString(strconv.Itoa(rng.IntN(60) - 30))
		}
		cases = append(cases, b.String())
	}
	for _, text := range cases {
		var sc scanner
		sc.reset([]byte(text))
		got, err := sc.number()
		want, _ := strconv.ParseFloat(text, 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(want) || sc.pos != len(text) || sc.numText() != text {
			t.Fatalf("number(%q) = %v (%v), pos %d; want %v, pos %d", text, got, err, sc.pos, want, len(text))
		}
	}
}

func TestUnescape(t *testing.T) {
	for raw, want := range map[string]string{
		`plain`:        "plain",
		`a\"b\\c\/d`:   `a"b\c/d`,
		`\b\f\n\r\t`:   "\b\f\n\r\t",
		`\u00e9\u20AC`: "é€",
		`\ud834\udd1e`: "𝄞",
		`\ud834x`:      "\ufffdx",
		`\udd1e\ud834`: "\ufffd\ufffd",
		`\ud834\u0041`: "\ufffdA",
		"bad\xffutf8":  "bad\ufffdutf8",
		"\xe2\x82":     "\ufffd\ufffd",
		`\u0000`:       "\x00",
	} {
		var sc scanner
		sc.reset([]byte(`"` + raw + `"`))
		var buf []byte
		got, err := sc.str(&buf)
		if err != nil || string(got) != want {
			t.Errorf("str(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}

// FuzzScan checks the scanner against encoding/json: skip accepts exactly
// the valid JSON texts (nested at most maxDepth deep), strings unescape and
// numbers convert as encoding/json reads them.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2.5e3,-0.1,true,false,null,"x\u00e9\n"],"b":{}}`, `[]`, `"\ud834\udd1e"`, `1e999`,
		`-`, `01`, `[1,]`, `{"a" 1}`, "\"a\x01\"", `"\x"`, "  [ ]  x", `"` + "\xff" + `"`,
		strings.Repeat("[", 70) + strings.Repeat("]", 70),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sc scanner
		sc.reset(data)
		err := sc.skip(0)
		if err == nil {
			err = sc.end()
		}
		if valid := json.Valid(data); valid != (err == nil) {
			if valid && strings.Contains(err.Error(), "nested deeper") {
				return
			}
			t.Fatalf("skip(%q) error = %v, json.Valid = %v", data, err, valid)
		}
		if err != nil {
			return
		}
		sc.reset(data)
		switch c := sc.peek(); {
		case c == '"':
			var buf []byte
			got, err := sc.str(&buf)
			var want string
			if json.Unmarshal(data, &want) != nil || err != nil || string(got) != want {
				t.Fatalf("str(%q) = %q, %v; encoding/json reads %q", data, got, err, want)
			}
		case c == '-' || isDigit(c):
			got, err := sc.number()
			var want float64
			if jerr := json.Unmarshal(data, &want); jerr != nil {
				// encoding/json rejects overflow; number reads it as ±Inf.
				if !math.IsInf(got, 0) {
					t.Fatalf("number(%q) = %v; encoding/json: %v", data, got, jerr)
				}
				return
			}
			if err != nil || math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("number(%q) = %v, %v; encoding/json reads %v", data, got, err, want)
			}
		}
	})
}
