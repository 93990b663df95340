package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Filter selects entries for Show and ShowJSON; an empty field matches
// every entry.
type Filter struct {
	Model  string // exact model name
	Action Action // one action
	Actor  string // exact actor
}

// Match reports whether e passes f.
func (f Filter) Match(e Entry) bool {
	return (f.Model == "" || e.Model == f.Model) &&
		(f.Action == "" || e.Action == f.Action) &&
		(f.Actor == "" || e.Actor == f.Actor)
}

// Scan reads r line by line and calls fn with each entry and its line
// (without "\n"; valid only during the call). It checks each line's
// form and hash but not the chain (use Verify); the first unreadable
// line stops it with a *VerifyError naming it. A torn last line is
// reported the same way, after the lines before it. An error from fn
// stops Scan and is returned.
func Scan(r io.Reader, fn func(e Entry, line []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for lineNo := int64(1); ; lineNo++ {
		line, nl, err := readLine(br)
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			return &VerifyError{Line: lineNo, Kind: KindMalformed, Detail: fmt.Sprintf("longer than %d bytes (MaxLineBytes)", MaxLineBytes)}
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", lineNo, err)
		}
		if !nl {
			return &VerifyError{Line: lineNo, Kind: KindTorn, Detail: fmt.Sprintf("%d bytes without a final newline", len(line))}
		}
		e, err := parseLine(line)
		if isMismatch(err) {
			return &VerifyError{Line: lineNo, Seq: e.Seq, Kind: KindEdited, Detail: err.Error()}
		}
		if err != nil {
			return &VerifyError{Line: lineNo, Kind: KindMalformed, Detail: err.Error()}
		}
		if err := fn(e, line); err != nil {
			return err
		}
	}
}

// Show prints the entries of r that pass f, one line each, in aligned
// columns: SEQ, TIME (UTC, to the millisecond), ACTOR, ACTION, MODEL,
// VERSIONS ("3", "3 -> 4", "-" for none) and REASON. Strings with
// control characters, tabs or quotes are printed Go-quoted. Show does
// not verify the chain (see Scan); it prints what it read before an
// error and then returns it.
func Show(w io.Writer, r io.Reader, f Filter) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tMODEL\tVERSIONS\tREASON")
	err := Scan(r, func(e Entry, _ []byte) error {
		if !f.Match(e) {
			return nil
		}
		_, err := fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Format("2006-01-02T15:04:05.000Z"),
			cell(e.Actor), cell(string(e.Action)), cell(e.Model), FormatVersions(e.Versions), cell(e.Reason))
		return err
	})
	if ferr := tw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// ShowJSON writes the lines of r whose entries pass f, as stored (so
// the output of an unfiltered call verifies as the log does).
func ShowJSON(w io.Writer, r io.Reader, f Filter) error {
	bw := bufio.NewWriter(w)
	err := Scan(r, func(e Entry, line []byte) error {
		if !f.Match(e) {
			return nil
		}
		bw.Write(line)
		return bw.WriteByte('\n')
	})
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// FormatVersions writes versions as Show prints them: "-" for none,
// "3" for one, "3 -> 4" for two (from, to), "1,2,3" for more.
func FormatVersions(vs []int64) string {
	switch len(vs) {
	case 0:
		return "-"
	case 2:
		return strconv.FormatInt(vs[0], 10) + " -> " + strconv.FormatInt(vs[1], 10)
	}
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, ",")
}

// cell keeps one table cell on one line and aligned: a string with a
// control character, tab or quote is Go-quoted, an empty one is "-".
func cell(s string) string {
	if s == "" {
		return "-"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '"' || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return strconv.Quote(s)
		}
	}
	return s
}
