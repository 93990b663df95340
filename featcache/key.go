package featcache

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxKeyBytes is the longest entity key, in bytes, any path accepts: push,
// Service.Write, the stream, materialize, and reads (Get, Fetch and the
// serving join). Keys are ids (a user, a merchant); the bound keeps one
// request, stream entry or file row from making the store, the cache and
// every error message hold megabytes.
const MaxKeyBytes = 256

// CheckKey returns an error if s is not a valid entity key: it must be
// 1..MaxKeyBytes bytes of valid UTF-8 without control characters (0x00 to
// 0x1f and 0x7f; 0x00 is the StoreKey separator, and the others do not
// survive logs, URLs and terminals). The error describes s without quoting
// more than its first bytes; callers prefix where it came from. CheckKey
// does not allocate when s is valid, so the serving join may call it per
// key.
func CheckKey(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if len(s) > MaxKeyBytes {
		return fmt.Errorf("%s is %d bytes, longer than the %d-byte limit on entity keys", quoteShort(s), len(s), MaxKeyBytes)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			what := "a control byte"
			if c == 0 {
				what = "a NUL byte"
			}
			return fmt.Errorf("%q contains %s (0x%02x at byte %d)", s, what, c, i)
		}
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%q is not valid UTF-8", s)
	}
	return nil
}

// quoteShort quotes s for an error message, cut to its first 40 bytes.
func quoteShort(s string) string {
	const n = 40
	if len(s) <= n {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:n]) + "..."
}
