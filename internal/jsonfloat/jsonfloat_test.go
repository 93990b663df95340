package jsonfloat

import (
	"encoding/json"
	"math"
	"testing"
)

// TestRoundTrip: numbers write as the shortest decimal and read back
// equal; NaN and ±Inf write as null, and null reads as NaN; a string is
// refused.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		in   float64
		want string
	}{
		{0.1, "0.1"}, {-3, "-3"}, {1e300, "1e+300"}, {5e-324, "5e-324"},
		{math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"},
	} {
		b, err := json.Marshal(Float(c.in))
		if err != nil || string(b) != c.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", c.in, b, err, c.want)
			continue
		}
		var back Float
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", b, err)
		}
		if c.want == "null" {
			if !math.IsNaN(float64(back)) {
				t.Errorf("Unmarshal(null) = %v, want NaN", back)
			}
		} else if float64(back) != c.in {
			t.Errorf("Unmarshal(%s) = %v, want %v", b, back, c.in)
		}
	}
	var f Float
	if err := json.Unmarshal([]byte(`"1"`), &f); err == nil {
		t.Errorf(`Unmarshal("1") = %v, want an error`, f)
	}
}
