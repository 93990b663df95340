package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Action is what an entry records. The set is closed: Append refuses,
// and Verify reports as malformed, any value not in Actions.
type Action string

// The actions. Versions holds [v] for the first three, [from, to] for
// the label and traffic moves, [] for the daemon-wide ones (see the
// package doc).
const (
	ActionLoad          Action = "load"          // a version loaded and warmed, about to serve
	ActionLoadFailed    Action = "load_failed"   // a version's load failed; reason says why
	ActionUnload        Action = "unload"        // a version retired
	ActionLabel         Action = "label"         // a label moved; reason names the label
	ActionRolloutStart  Action = "rollout_start" // a canary plan began: [stable, candidate]
	ActionRolloutStep   Action = "rollout_step"  // a canary moved to its next step; reason gives the share
	ActionRolloutPause  Action = "rollout_pause" // a canary paused
	ActionRolloutResume Action = "rollout_resume"
	ActionPromote       Action = "promote"       // the candidate became stable
	ActionRollback      Action = "rollback"      // traffic returned to the previous stable version
	ActionAbort         Action = "abort"         // a canary stopped, traffic back on stable
	ActionConfigReload  Action = "config_reload" // the daemon's configuration was reloaded
	ActionAuthFailure   Action = "auth_failure"  // an admin request failed authentication
	ActionOpen          Action = "open"          // Open wrote it: a daemon opened the log
)

// Actions is the closed set of actions, in the order of the constants.
var Actions = []Action{
	ActionLoad, ActionLoadFailed, ActionUnload, ActionLabel,
	ActionRolloutStart, ActionRolloutStep, ActionRolloutPause, ActionRolloutResume,
	ActionPromote, ActionRollback, ActionAbort, ActionConfigReload, ActionAuthFailure,
	ActionOpen,
}

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool { return slices.Contains(Actions, a) }

// Actors the daemon writes besides admin token names.
const (
	ActorDaemon          = "daemon"          // the daemon's own decision
	ActorUnauthenticated = "unauthenticated" // an auth failure; the remote address goes in Reason
)

// ZeroHash is the prev of the first entry: 64 "0"s.
var ZeroHash = strings.Repeat("0", 64)

// MaxLineBytes bounds one entry's line, "\n" included: Append refuses a
// longer entry (ErrTooLong), Verify reports a longer line as malformed.
const MaxLineBytes = 64 << 10

var (
	// ErrClosed is returned by Append after Close.
	ErrClosed = errors.New("audit log closed")
	// ErrTooLong is returned by Append for an entry whose line would
	// exceed MaxLineBytes.
	ErrTooLong = errors.New("audit entry too long")
	// ErrBadEntry is returned by Append for an entry it refuses (an
	// unknown action, no actor, a negative version).
	ErrBadEntry = errors.New("bad audit entry")
)

// Entry is one line of the log. Append fills Seq, Time, Prev and Hash;
// the caller gives the rest.
type Entry struct {
	Seq      int64     // 1, 2, ...
	Time     time.Time // UTC
	Actor    string    // admin token name, ActorDaemon or ActorUnauthenticated
	Action   Action
	Model    string  // "" for daemon-wide actions
	Versions []int64 // [v], [from, to] or []; see the package doc
	Reason   string
	Prev     string // hex SHA-256: the previous entry's Hash, ZeroHash for the first
	Hash     string // hex SHA-256 of the canonical form
}

// wire is the canonical form: its members in this order, as
// encoding/json writes them, are what the hash covers.
type wire struct {
	Seq      int64   `json:"seq"`
	Time     string  `json:"time"`
	Actor    string  `json:"actor"`
	Action   string  `json:"action"`
	Model    string  `json:"model"`
	Versions []int64 `json:"versions"`
	Reason   string  `json:"reason"`
	Prev     string  `json:"prev"`
}

// wireHash is a whole line.
type wireHash struct {
	wire
	Hash string `json:"hash"`
}

// canonical returns e's canonical form (without hash) and its hash.
func canonical(e *Entry) ([]byte, string) {
	w := wire{
		Seq: e.Seq, Time: e.Time.UTC().Format(time.RFC3339Nano),
		Actor: e.Actor, Action: string(e.Action), Model: e.Model,
		Versions: e.Versions, Reason: e.Reason, Prev: e.Prev,
	}
	if w.Versions == nil {
		w.Versions = []int64{}
	}
	b, err := json.Marshal(&w)
	if err != nil {
		panic("BUG: audit: marshal of plain fields failed: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// appendLine appends e's whole line, "\n" included, to dst; e.Hash must
// be set.
func appendLine(dst, canon []byte, hash string) []byte {
	dst = append(dst, canon[:len(canon)-1]...)
	dst = append(dst, `,"hash":"`...)
	dst = append(dst, hash...)
	return append(dst, "\"}\n"...)
}

// parseLine decodes one line (without its "\n"), holds it to the
// canonical form and checks its hash (a *hashMismatch, with the entry).
func parseLine(line []byte) (Entry, error) {
	if len(line) == 0 {
		return Entry{}, errors.New("empty line")
	}
	if line[len(line)-1] == '\r' {
		return Entry{}, errors.New(`the line ends with CR: CRLF line endings (the file was converted, by an editor or a copy); the log's lines end with "\n" alone`)
	}
	var w wireHash
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(&w); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return Entry{}, fmt.Errorf("column %d: %v", se.Offset, err)
		}
		return Entry{}, err
	}
	if d.More() || d.InputOffset() != int64(len(line)) {
		return Entry{}, fmt.Errorf("column %d: text after the JSON object", d.InputOffset()+1)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return Entry{}, fmt.Errorf("field time %q: want RFC 3339 UTC time: %v", w.Time, err)
	}
	e := Entry{Seq: w.Seq, Time: t.UTC(), Actor: w.Actor, Action: Action(w.Action), Model: w.Model,
		Versions: w.Versions, Reason: w.Reason, Prev: w.Prev, Hash: w.Hash}
	if !e.Action.Valid() {
		return Entry{}, fmt.Errorf("field action %q: not one of the audit actions", w.Action)
	}
	if !isHash(w.Prev) {
		return Entry{}, fmt.Errorf("field prev %q: want 64 lowercase hex digits", w.Prev)
	}
	if !isHash(w.Hash) {
		return Entry{}, fmt.Errorf("field hash %q: want 64 lowercase hex digits", w.Hash)
	}
	canon, hash := canonical(&e)
	if want := appendLine(nil, canon, w.Hash); !bytes.Equal(want[:len(want)-1], line) {
		col := 1
		for col <= len(line) && col < len(want) && line[col-1] == want[col-1] {
			col++
		}
		return Entry{}, fmt.Errorf("column %d: not in canonical form (members seq, time, actor, action, model, versions, reason, prev, hash in that order, as Go's encoding/json writes them, no spaces); want %.80q", col, want[max(0, col-20):len(want)-1])
	}
	// A hash that does not recompute returns the entry with the error, so
	// the caller can name the line's seq.
	if hash != w.Hash {
		return e, &hashMismatch{got: w.Hash, want: hash}
	}
	return e, nil
}

type hashMismatch struct{ got, want string }

func (h *hashMismatch) Error() string {
	return fmt.Sprintf("hash %s does not recompute: the entry's fields hash to %s", h.got, h.want)
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Options configure Open. The zero value is valid: fsync on, the wall
// clock, no log of torn lines, an empty reason on the open entry.
type Options struct {
	// NoSync skips the fsync after each write. Only for tests and
	// benchmarks: without it an action can take effect while its entry
	// is still in the page cache. Default false (fsync).
	NoSync bool
	// Now is the clock for entry times; default time.Now.
	Now func() time.Time
	// Logf reports what Open repaired (a torn last line); default: not
	// reported.
	Logf func(format string, args ...any)
	// OpenReason is the reason of the open entry Open writes (the
	// daemon's version and pid, say).
	OpenReason string
}

// DefaultOptions returns the options the daemon should use: fsync on,
// the wall clock.
func DefaultOptions() Options { return Options{Now: time.Now} }

// Log is an open audit log file. See the package doc for concurrency.
type Log struct {
	path string
	opts Options

	mu   sync.Mutex
	f    *os.File
	seq  int64
	hash string
	err  error // sticky: set by a failed write or fsync, or Close
	buf  []byte

	repaired string // what Open cut off, for the open entry's reason
}

// Open opens the log at path, creating it (mode 0600) if missing. An
// existing file is verified whole first: a damaged one is refused with
// an error naming the file, line, seq and kind (a *VerifyError inside),
// since the daemon must not extend a tampered log. A torn last line is
// cut off and reported through opts.Logf. Open then appends an
// ActionOpen entry by ActorDaemon with reason opts.OpenReason, fsynced;
// after a cut, the reason also says "cut off a torn last line N (...)".
func Open(path string, opts Options) (*Log, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: another process has it open (%v); one daemon per log, or the chain forks", path, err)
	}
	l := &Log{path: path, opts: opts, f: f, hash: ZeroHash}
	if err := l.recover(); err != nil {
		f.Close()
		return nil, err
	}
	if created && !opts.NoSync {
		// The file's directory entry must be durable too, or a crash
		// can lose the whole log.
		if d, err := os.Open(filepath.Dir(path)); err == nil {
			d.Sync()
			d.Close()
		}
	}
	reason := opts.OpenReason
	if l.repaired != "" {
		// The repair goes into the log itself, not only the daemon's
		// log: a cut line is a removed line, and the trail says so.
		reason = strings.TrimPrefix(reason+"; "+l.repaired, "; ")
	}
	if _, err := l.Append(Entry{Actor: ActorDaemon, Action: ActionOpen, Reason: reason}); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// recover verifies the file, cuts a torn last line, and sets the head.
func (l *Log) recover() error {
	sum, good, err := verify(bufio.NewReaderSize(l.f, 64<<10), nil)
	var ve *VerifyError
	if errors.As(err, &ve) && ve.Kind == KindTorn {
		if err := l.f.Truncate(good); err != nil {
			return fmt.Errorf("audit log %s: cut the torn last line: %w", l.path, err)
		}
		if !l.opts.NoSync {
			if err := l.f.Sync(); err != nil {
				return fmt.Errorf("audit log %s: cut the torn last line: %w", l.path, err)
			}
		}
		l.repaired = fmt.Sprintf("cut off a torn last line %d (%s)", ve.Line, ve.Detail)
		if l.opts.Logf != nil {
			l.opts.Logf("audit log %s: %s: a crash during its write, so its action never took effect", l.path, l.repaired)
		}
		err = nil
	}
	if err != nil {
		if ve != nil {
			return fmt.Errorf("audit log %s: %w; the daemon will not extend a damaged log: move it aside (mv %s %s.damaged), keep it for whoever investigates (predictd audit verify --log FILE names the damage), and start again with a new log", l.path, err, l.path, l.path)
		}
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	if sum.Entries > 0 {
		l.seq, l.hash = sum.Seq, sum.Hash
	}
	return nil
}

// Append completes e (Seq, Time from Options.Now in UTC, Prev, Hash),
// writes its line with one write call, fsyncs unless Options.NoSync, and
// returns e as stored (strings with invalid UTF-8 repaired). The caller
// performs the action only after Append returned nil. e.Action must be
// one of Actions and e.Actor non-empty; Seq, Time, Prev and Hash given
// are ignored.
//
// After a failed write or fsync every later Append returns that error:
// the file may now end in part of a line, or in a whole line that is
// not durable, and a line appended after it would either sit after a
// torn one (which Open then refuses as damage instead of cutting it as
// a torn tail) or chain off an entry whose action was not performed.
// Reopening the log (a daemon restart) cuts a torn tail and continues.
func (l *Log) Append(e Entry) (Entry, error) {
	if !e.Action.Valid() {
		return Entry{}, fmt.Errorf("%w: action %q: want one of %v", ErrBadEntry, e.Action, Actions)
	}
	if e.Actor == "" {
		return Entry{}, fmt.Errorf("%w: %s: no actor", ErrBadEntry, e.Action)
	}
	for _, v := range e.Versions {
		if v < 0 {
			return Entry{}, fmt.Errorf("%w: %s: version %d is negative", ErrBadEntry, e.Action, v)
		}
	}
	e.Actor = strings.ToValidUTF8(e.Actor, string(utf8.RuneError))
	e.Model = strings.ToValidUTF8(e.Model, string(utf8.RuneError))
	e.Reason = strings.ToValidUTF8(e.Reason, string(utf8.RuneError))
	e.Versions = slices.Clone(e.Versions)
	if e.Versions == nil {
		e.Versions = []int64{}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return Entry{}, l.err
	}
	e.Seq, e.Prev = l.seq+1, l.hash
	// Round-trip the time through its text so the returned entry equals
	// what Scan reads back (no monotonic reading, no sub-ns zone info).
	e.Time, _ = time.Parse(time.RFC3339Nano, l.opts.Now().UTC().Format(time.RFC3339Nano))
	canon, hash := canonical(&e)
	e.Hash = hash
	l.buf = appendLine(l.buf[:0], canon, hash)
	if len(l.buf) > MaxLineBytes {
		return Entry{}, fmt.Errorf("%w: %s %s: %d bytes, at most %d (MaxLineBytes)", ErrTooLong, e.Action, e.Model, len(l.buf), MaxLineBytes)
	}
	_, err := l.f.Write(l.buf)
	if err == nil && !l.opts.NoSync {
		err = l.f.Sync()
	}
	if err != nil {
		l.err = fmt.Errorf("audit log %s: append seq %d (%s %s): %w; the log takes no more entries until it is reopened", l.path, e.Seq, e.Action, e.Model, err)
		return Entry{}, l.err
	}
	l.seq, l.hash = e.Seq, hash
	return e, nil
}

// Head returns the last entry's seq and hash (0 and ZeroHash for an
// empty log): an Anchor for a later Verify.
func (l *Log) Head() (seq int64, hash string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.hash
}

// Path returns the file's path.
func (l *Log) Path() string { return l.path }

// Close closes the file (releasing its lock); later Appends return
// ErrClosed. Close again returns nil.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	l.err = ErrClosed
	return err
}
