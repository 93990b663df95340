// Package logx makes the daemon's log lines safe to write whatever a client
// sent: control bytes are escaped, credentials are redacted, long values are
// cut, and a line that repeats (a store that is down, a flood of malformed
// requests) is rate-limited with a count of what was suppressed.
//
// A Logger and the funcs from Limit are safe for concurrent use.
package logx

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxLineBytes bounds one log line after escaping; the rest is replaced by
// a note of how many bytes were cut.
const MaxLineBytes = 2048

// Logger writes one sanitized line per call, prefixed with a UTC timestamp
// and Prefix.
type Logger struct {
	mu  sync.Mutex
	out io.Writer
	pre string
	now func() time.Time
}

// New returns a Logger writing to out with prefix before every line.
func New(out io.Writer, prefix string) *Logger {
	return &Logger{out: out, pre: prefix, now: time.Now}
}

// Printf formats a line, sanitizes it (Sanitize) and writes it.
func (l *Logger) Printf(format string, args ...any) {
	line := Sanitize(fmt.Sprintf(format, args...))
	ts := l.now().UTC().Format("2006/01/02 15:04:05.000000 ")
	l.mu.Lock()
	io.WriteString(l.out, l.pre+ts+line+"\n")
	l.mu.Unlock()
}

// credential matches what must never reach a log: the value of an
// Authorization, Proxy-Authorization, Cookie, Set-Cookie or API-key header
// (to the end of its header line), and a bearer or basic token anywhere.
var credential = regexp.MustCompile(`(?i)((?:proxy-)?authorization|set-cookie|cookie|x-api-key|x-auth-token|api[-_]key|token)(\s*[:=]\s*)[^\r\n]*|\b(bearer|basic)\s+[A-Za-z0-9\-._~+/=]+`)

// Sanitize redacts credentials in s, escapes its control bytes and invalid
// UTF-8 (a newline becomes \n, so a client cannot forge a log line), and
// cuts it to MaxLineBytes.
func Sanitize(s string) string {
	s = Redact(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
		if b.Len() > MaxLineBytes {
			cut := b.String()[:MaxLineBytes]
			return fmt.Sprintf("%s... (%d more bytes cut)", cut, len(s)-i)
		}
	}
	return b.String()
}

// Redact replaces credential values in s with "[redacted]".
func Redact(s string) string {
	if !strings.ContainsAny(s, "aAbBcCtTxX") {
		return s
	}
	return credential.ReplaceAllStringFunc(s, func(m string) string {
		sub := credential.FindStringSubmatch(m)
		if sub[1] != "" {
			return sub[1] + sub[2] + "[redacted]"
		}
		return sub[3] + " [redacted]"
	})
}

// Limit returns a Printf-like func that passes at most burst lines to logf
// per period; the lines it drops are counted and the count is appended to
// the next line it passes ("(37 similar lines suppressed)"). Use one per
// call site that a client or an outage can repeat.
func Limit(logf func(format string, args ...any), burst int, period time.Duration) func(format string, args ...any) {
	return newLimiter(logf, burst, period, time.Now).printf
}

type limiter struct {
	logf       func(string, ...any)
	burst      int
	period     time.Duration
	now        func() time.Time
	mu         sync.Mutex
	start      time.Time // of the current period
	passed     int       // lines passed in this period
	suppressed int       // lines dropped since the last one passed
}

func newLimiter(logf func(string, ...any), burst int, period time.Duration, now func() time.Time) *limiter {
	return &limiter{logf: logf, burst: max(burst, 1), period: period, now: now}
}

func (l *limiter) printf(format string, args ...any) {
	l.mu.Lock()
	t := l.now()
	if t.Sub(l.start) >= l.period {
		l.start, l.passed = t, 0
	}
	if l.passed >= l.burst {
		l.suppressed++
		l.mu.Unlock()
		return
	}
	l.passed++
	n := l.suppressed
	l.suppressed = 0
	l.mu.Unlock()
	if n > 0 {
		format += " (%d similar lines suppressed)"
		args = append(args[:len(args):len(args)], n)
	}
	l.logf(format, args...)
}
