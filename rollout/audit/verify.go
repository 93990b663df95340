package audit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Kind says what is wrong with the first bad line Verify found.
type Kind string

// The kinds of damage.
const (
	// KindMalformed: not one JSON object in the canonical form (the
	// detail names the field or column), an unknown action, an empty or
	// over-long line, CRLF.
	KindMalformed Kind = "malformed"
	// KindEdited: the stored hash does not recompute from the fields.
	KindEdited Kind = "edited"
	// KindRemoved: a seq gap (entries missing here; a first entry with
	// seq above 1 means the first ones are missing).
	KindRemoved Kind = "removed"
	// KindReordered: the expected seq is found later in the file, or the
	// seq goes back.
	KindReordered Kind = "reordered"
	// KindDuplicated: the line repeats the previous one.
	KindDuplicated Kind = "duplicated"
	// KindRewritten: seq and hash are right but prev is not the previous
	// entry's hash: an entry before was edited and its hash recomputed,
	// or entries were removed and the rest renumbered and rehashed.
	KindRewritten Kind = "rewritten"
	// KindTorn: the last line has no "\n" (a crash during its write;
	// Open cuts it off).
	KindTorn Kind = "torn"
	// KindTruncated: the log ends before the anchor's seq.
	KindTruncated Kind = "truncated"
	// KindAnchor: the entry at the anchor's seq has another hash.
	KindAnchor Kind = "anchor mismatch"
)

// VerifyError names the first bad line of a log.
type VerifyError struct {
	Line   int64 // 1-based line number; for KindTruncated, the line after the last
	Seq    int64 // the seq the line holds (0 when unreadable); for KindTruncated, the anchor's
	Kind   Kind
	Detail string // what is wrong, with the field or column
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("line %d (seq %d): %s: %s", e.Line, e.Seq, e.Kind, e.Detail)
}

// Anchor is a (Seq, Hash) pair taken from Head at some time and kept
// apart from the log: Verify then also catches entries cut off the end
// up to Seq, and a log rewritten up to Seq.
type Anchor struct {
	Seq  int64
	Hash string
}

// Summary describes a log that verified.
type Summary struct {
	Entries     int64
	Seq         int64  // the last entry's seq; 0 for an empty log
	Hash        string // the last entry's hash; ZeroHash for an empty log
	First, Last Entry  // the first and last entries (zero for an empty log)
}

// Verify reads a whole log from r and checks that every line is a
// canonical entry, that seqs run 1, 2, ..., that each prev is the
// previous hash, and that each hash recomputes; with an anchor, also
// that the log reaches anchor.Seq and holds anchor.Hash there. The
// first bad line is returned as a *VerifyError; a read error as itself.
// An empty log verifies (0 entries) unless an anchor says otherwise.
func Verify(r io.Reader, anchor *Anchor) (Summary, error) {
	if anchor != nil && (anchor.Seq < 1 || !isHash(anchor.Hash)) {
		return Summary{}, fmt.Errorf("anchor seq %d hash %q: want seq 1 or more and 64 lowercase hex digits", anchor.Seq, anchor.Hash)
	}
	s, _, err := verify(bufio.NewReaderSize(r, 64<<10), anchor)
	return s, err
}

// readLine returns the next line without its "\n", whether it had one,
// or io.EOF at the end.
func readLine(br *bufio.Reader) (line []byte, nl bool, err error) {
	line, err = br.ReadSlice('\n')
	switch {
	case err == nil:
		return line[:len(line)-1], true, nil
	case errors.Is(err, bufio.ErrBufferFull):
		return line, false, err
	case err == io.EOF && len(line) > 0:
		return line, false, nil
	}
	return nil, false, err
}

// verify is Verify with the byte offset just after the last good line,
// where Open cuts a torn tail. The summary covers the good lines.
func verify(br *bufio.Reader, anchor *Anchor) (Summary, int64, error) {
	sum := Summary{Hash: ZeroHash}
	var (
		lineNo int64
		good   int64
	)
	bad := func(seq int64, k Kind, format string, args ...any) (Summary, int64, error) {
		return sum, good, &VerifyError{Line: lineNo, Seq: seq, Kind: k, Detail: fmt.Sprintf(format, args...)}
	}
	for {
		line, nl, err := readLine(br)
		if err == io.EOF {
			break
		}
		lineNo++
		if errors.Is(err, bufio.ErrBufferFull) {
			return bad(0, KindMalformed, "longer than %d bytes (MaxLineBytes)", MaxLineBytes)
		}
		if err != nil {
			return sum, good, fmt.Errorf("line %d: %w", lineNo, err)
		}
		if !nl {
			e, _ := parseLine(line)
			return bad(e.Seq, KindTorn, "%d bytes without a final newline", len(line))
		}
		e, err := parseLine(line)
		var hm *hashMismatch
		if errors.As(err, &hm) {
			return bad(e.Seq, KindEdited, "%v", err)
		}
		if err != nil {
			return bad(0, KindMalformed, "%v", err)
		}
		want := sum.Seq + 1
		switch {
		case e.Seq == want:
		case sum.Entries > 0 && e.Seq == sum.Seq && e.Hash == sum.Hash:
			return bad(e.Seq, KindDuplicated, "repeats line %d", lineNo-1)
		case e.Seq > want:
			if at := findSeq(br, want, lineNo); at > 0 {
				return bad(e.Seq, KindReordered, "seq %d where %d belongs; entry %d is at line %d", e.Seq, want, want, at)
			}
			if sum.Entries == 0 {
				return bad(e.Seq, KindRemoved, "the log starts at seq %d: entries 1 to %d are missing", e.Seq, e.Seq-1)
			}
			return bad(e.Seq, KindRemoved, "seq %d follows seq %d (line %d): entries %d to %d are missing", e.Seq, sum.Seq, lineNo-1, want, e.Seq-1)
		default:
			return bad(e.Seq, KindReordered, "seq %d after seq %d (line %d): the seq goes back", e.Seq, sum.Seq, lineNo-1)
		}
		if e.Prev != sum.Hash {
			if sum.Entries == 0 {
				return bad(e.Seq, KindRewritten, "the first entry's prev is %s, want %s", e.Prev, ZeroHash)
			}
			return bad(e.Seq, KindRewritten, "prev %s is not the hash %s of line %d (seq %d): an entry before was edited and rehashed, or entries were removed and the rest renumbered", e.Prev, sum.Hash, lineNo-1, sum.Seq)
		}
		if anchor != nil && e.Seq == anchor.Seq && e.Hash != anchor.Hash {
			return bad(e.Seq, KindAnchor, "hash %s, the anchor says %s: the log was rewritten up to here", e.Hash, anchor.Hash)
		}
		if sum.Entries == 0 {
			sum.First = e
		}
		sum.Entries++
		sum.Seq, sum.Hash, sum.Last = e.Seq, e.Hash, e
		good += int64(len(line)) + 1
	}
	if anchor != nil && sum.Seq < anchor.Seq {
		lineNo++
		return bad(anchor.Seq, KindTruncated, "the log ends at seq %d (line %d) but the anchor is seq %d: entries %d to %d were cut off its end", sum.Seq, lineNo-1, anchor.Seq, sum.Seq+1, anchor.Seq)
	}
	return sum, good, nil
}

// findSeq reads the rest of the log for a line holding seq (parsed
// loosely: any readable line) and returns its line number, or 0. It runs
// only on the error path.
func findSeq(br *bufio.Reader, seq, lineNo int64) int64 {
	for {
		line, _, err := readLine(br)
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return 0
		}
		lineNo++
		if errors.Is(err, bufio.ErrBufferFull) {
			// Skip the rest of an over-long line.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if e, err := parseLine(bytes.TrimSuffix(line, []byte("\r"))); e.Seq == seq && (err == nil || isMismatch(err)) {
			return lineNo
		}
	}
}

func isMismatch(err error) bool {
	var hm *hashMismatch
	return errors.As(err, &hm)
}
