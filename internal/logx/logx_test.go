package logx

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain line", "plain line"},
		{"a\nforged: line", `a\nforged: line`},
		{"nul \x00 esc \x1b[31m", `nul \x00 esc \x1b[31m`},
		{"bad utf8 \xff", `bad utf8 \xff`},
		{"héllo", "héllo"},
		{"GET / HTTP/1.1\r\nAuthorization: Bearer s3cr3t-token-value\r\nHost: x", `GET / HTTP/1.1\r\nAuthorization: [redacted]\r\nHost: x`},
		{"authorization:Basic dXNlcjpwYXNz", "authorization:[redacted]"},
		{"header Cookie: session=abc; other=def", "header Cookie: [redacted]"},
		{"got Bearer abc.def-ghi in body", "got Bearer [redacted] in body"},
		{"PREDICTD_ADMIN_TOKEN=0123456789abcdef0123", "PREDICTD_ADMIN_TOKEN=[redacted]"},
		{"--admin-token-file: open /x: no such file", "--admin-token-file: open /x: no such file"},
	} {
		if got := Sanitize(c.in); got != c.want {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := Sanitize(strings.Repeat("x", 10*MaxLineBytes))
	if len(long) > MaxLineBytes+64 || !strings.Contains(long, "more bytes cut") {
		t.Errorf("Sanitize of %d bytes gave %d bytes ending %q; want at most %d+note", 10*MaxLineBytes, len(long), long[len(long)-40:], MaxLineBytes)
	}
}

func TestLoggerPrintf(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, "predictd: ")
	l.now = func() time.Time { return time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC) }
	l.Printf("malformed request %q from %s", "x\ny", "GET /\r\nAuthorization: Bearer tok123456789")
	want := "predictd: 2026/12/03 08:00:00.000000 malformed request \"x\\ny\" from GET /\\r\\nAuthorization: [redacted]\n"
	if got := buf.String(); got != want {
		t.Errorf("Printf wrote %q, want %q", got, want)
	}
}

func TestLimit(t *testing.T) {
	var lines []string
	logf := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	now := time.Unix(1000, 0)
	l := newLimiter(logf, 2, 10*time.Second, func() time.Time { return now })
	for i := range 50 {
		l.printf("store down: %d", i)
	}
	if len(lines) != 2 {
		t.Fatalf("50 lines in one period with burst 2 passed %d: %q", len(lines), lines)
	}
	now = now.Add(10 * time.Second)
	l.printf("store down: %d", 50)
	if got, want := lines[2], "store down: 50 (48 similar lines suppressed)"; got != want {
		t.Errorf("first line of the next period = %q, want %q", got, want)
	}
	l.printf("store down: %d", 51)
	if got, want := lines[3], "store down: 51"; got != want {
		t.Errorf("second line of the period = %q, want %q (the count was reported already)", got, want)
	}
}

// FuzzSanitize: whatever a client sends, a sanitized line is one line of
// valid UTF-8 without control bytes, bounded in length, and a bearer token
// or Authorization value placed in it does not survive.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", "plain", "a\nb", "\x00\xff", "Authorization: Bearer abc", "cookie=x\r\nhost: y", strings.Repeat("é", 3000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, in := range []string{s, s + " Authorization: Bearer Zq9secretTOKEN", "Bearer Zq9secretTOKEN " + s} {
			got := Sanitize(in)
			if !utf8.ValidString(got) {
				t.Fatalf("Sanitize(%q) = %q: invalid UTF-8", in, got)
			}
			for i := 0; i < len(got); i++ {
				if c := got[i]; c < 0x20 || c == 0x7f {
					t.Fatalf("Sanitize(%q) = %q: control byte 0x%02x at %d", in, got, c, i)
				}
			}
			if len(got) > MaxLineBytes+64 {
				t.Fatalf("Sanitize of %d bytes gave %d bytes, want at most %d", len(in), len(got), MaxLineBytes+64)
			}
			if in != s && strings.Contains(got, "Zq9secretTOKEN") {
				t.Fatalf("Sanitize(%q) = %q: the token survived", in, got)
			}
		}
	})
}
