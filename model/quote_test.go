package model

import (
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("a", 10<<20)
	for _, c := range []struct {
		in, want string
	}{
		{"", `""`},
		{"binary:logistic", `"binary:logistic"`},
		{"a\x00b\nc\x1b[31m", `"a\x00b\nc\x1b[31m"`},
		{strings.Repeat("x", QuoteMaxBytes), `"` + strings.Repeat("x", QuoteMaxBytes) + `"`},
		{long, `"` + strings.Repeat("a", QuoteMaxBytes) + `"... (10485760 bytes)`},
		// A cut inside a 3-byte rune backs off to its start.
		{strings.Repeat("x", QuoteMaxBytes-1) + "€€", `"` + strings.Repeat("x", QuoteMaxBytes-1) + `"... (69 bytes)`},
		{strings.Repeat("\x01", QuoteMaxBytes+1), `"` + strings.Repeat(`\x01`, QuoteMaxBytes) + `"... (65 bytes)`},
	} {
		if got := Quote(c.in); got != c.want {
			t.Errorf("Quote(%.80q) = %.200s, want %.200s", c.in, got, c.want)
		}
	}
}
