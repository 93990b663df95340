package table

import (
	"fmt"
	"io"
)

// LimitRecords returns a reader that passes r through to encoding/csv,
// failing with a *RecordTooLongError once a record (a line, or lines joined
// by a quoted field) exceeds maxBytes bytes, newlines within it aside:
// encoding/csv has no such bound and holds a record whole, several times
// over, before handing it out (a 200 MB cell took 3.2 GB). It tracks quotes
// to tell a record's end from a newline in a quoted field; a stray quote
// in an unquoted field, which encoding/csv refuses anyway, at worst makes
// it count across records. Lines are counted from 1.
func LimitRecords(r io.Reader, maxBytes int) io.Reader {
	return &recordLimiter{r: r, max: maxBytes, line: 1, recLine: 1}
}

// RecordTooLongError is LimitRecords' error: the record starting on Line
// (from 1) is longer than its bound.
type RecordTooLongError struct{ Line int }

func (e *RecordTooLongError) Error() string {
	return fmt.Sprintf("line %d: record too long", e.Line)
}

type recordLimiter struct {
	r       io.Reader
	max     int  // bytes per record
	cur     int  // bytes of the current record so far, newline excluded
	quoted  bool // inside a quoted field
	line    int  // the line being read, from 1
	recLine int  // the line the current record started on
	err     error
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		switch c {
		case '"':
			l.quoted = !l.quoted
		case '\n':
			l.line++
			if !l.quoted {
				l.cur, l.recLine = 0, l.line
				continue
			}
		}
		if l.cur++; l.cur > l.max {
			l.err = &RecordTooLongError{Line: l.recLine}
			return i, l.err
		}
	}
	return n, err
}
