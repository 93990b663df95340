package model

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// QuoteMaxBytes is how much of a value Quote shows.
const QuoteMaxBytes = 64

// Quote returns s quoted for an error or log message: in Go syntax with
// control and invalid bytes escaped (as %q does), and, when s is longer than
// QuoteMaxBytes, cut there with its full length noted, as in
// "abc..."... (1048576 bytes). Use it for every value that comes from a
// user's file or request (objective names, feature names, keys), so a
// hostile value can neither flood stderr nor forge a log line.
func Quote(s string) string {
	if len(s) <= QuoteMaxBytes {
		return strconv.Quote(s)
	}
	cut := QuoteMaxBytes
	// Cut on a rune boundary so a multi-byte character is shown whole or
	// not at all; invalid UTF-8 has no boundary to find within 3 bytes.
	for i := cut; i > cut-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			cut = i
			break
		}
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:cut]), len(s))
}
