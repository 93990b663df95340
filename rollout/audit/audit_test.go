package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock returns a fake clock starting at a fixed time, one millisecond
// (and a few nanoseconds, so fractions vary) per call.
func clock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Millisecond + 7)
		return t
	}
}

// sample is a day of a model's life: every action, odd strings.
var sample = []Entry{
	{Actor: "alice", Action: ActionLoad, Model: "churn", Versions: []int64{3}, Reason: "config"},
	{Actor: ActorDaemon, Action: ActionLoadFailed, Model: "churn", Versions: []int64{4}, Reason: "open model.json: no such file"},
	{Actor: "alice", Action: ActionLabel, Model: "churn", Versions: []int64{0, 3}, Reason: "stable"},
	{Actor: "bob", Action: ActionRolloutStart, Model: "churn", Versions: []int64{3, 5}, Reason: "plan 1%,5%,25%,100% <& \u2028 é"},
	{Actor: ActorDaemon, Action: ActionRolloutStep, Model: "churn", Versions: []int64{3, 5}, Reason: "step 2: 5%"},
	{Actor: "bob", Action: ActionRolloutPause, Model: "churn", Versions: []int64{3, 5}, Reason: "line one\nline two\t\"quoted\""},
	{Actor: "bob", Action: ActionRolloutResume, Model: "churn", Versions: []int64{3, 5}},
	{Actor: ActorDaemon, Action: ActionPromote, Model: "churn", Versions: []int64{3, 5}, Reason: "all checks passed"},
	{Actor: ActorUnauthenticated, Action: ActionAuthFailure, Reason: "remote 10.0.0.7:51234: bad token"},
	{Actor: "carol", Action: ActionRollback, Model: "churn", Versions: []int64{5, 3}, Reason: "p99 up"},
	{Actor: ActorDaemon, Action: ActionAbort, Model: "fraud", Versions: []int64{7, 8}, Reason: "error rate 4% > 1%"},
	{Actor: "alice", Action: ActionConfigReload, Reason: "SIGHUP"},
	{Actor: ActorDaemon, Action: ActionUnload, Model: "churn", Versions: []int64{4}},
}

// build writes a log of the open entry and sample to a new file and
// returns its path, the entries as stored, and its lines (without "\n").
func build(t testing.TB) (string, []Entry, [][]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{Now: clock(), NoSync: true, OpenReason: "predictd test"})
	if err != nil {
		t.Fatal(err)
	}
	stored := []Entry{}
	for _, e := range sample {
		got, err := l.Append(e)
		if err != nil {
			t.Fatalf("Append(%+v): %v", e, err)
		}
		stored = append(stored, got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, stored, bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func join(lines [][]byte) []byte {
	var b []byte
	for _, l := range lines {
		b = append(append(b, l...), '\n')
	}
	return b
}

// reencode returns line with one field changed by edit; rehash says
// whether the hash is recomputed (a careful forger) or kept (a naive
// one).
func reencode(t testing.TB, line []byte, edit func(*Entry), rehash bool) []byte {
	t.Helper()
	e, err := parseLine(line)
	if err != nil {
		t.Fatalf("parseLine(%s): %v", line, err)
	}
	edit(&e)
	canon, h := canonical(&e)
	if !rehash {
		h = e.Hash
	}
	return bytes.TrimSuffix(appendLine(nil, canon, h), []byte("\n"))
}

// rechain rewrites lines from index i on with fresh seqs, prevs and
// hashes, as a forger with the file and this package would.
func rechain(t testing.TB, lines [][]byte, i int) [][]byte {
	t.Helper()
	out := slices.Clone(lines)
	prev, seq := ZeroHash, int64(0)
	if i > 0 {
		e, err := parseLine(out[i-1])
		if err != nil {
			t.Fatal(err)
		}
		prev, seq = e.Hash, e.Seq
	}
	for j := i; j < len(out); j++ {
		e, _ := parseLine(out[j])
		seq++
		e.Seq, e.Prev = seq, prev
		canon, h := canonical(&e)
		out[j] = bytes.TrimSuffix(appendLine(nil, canon, h), []byte("\n"))
		prev = h
	}
	return out
}

func TestVerify(t *testing.T) {
	_, stored, lines := build(t)
	n := int64(len(lines))
	head := stored[len(stored)-1]
	edit := func(i int, f func(*Entry)) func() []byte {
		return func() []byte {
			out := slices.Clone(lines)
			out[i] = reencode(t, out[i], f, false)
			return join(out)
		}
	}
	text := func(f func([][]byte) [][]byte) func() []byte {
		return func() []byte { return join(f(slices.Clone(lines))) }
	}
	raw := func(f func([]byte) []byte) func() []byte {
		return func() []byte { return f(join(lines)) }
	}
	tests := []struct {
		name   string
		log    func() []byte
		anchor *Anchor
		line   int64 // 0: the log verifies
		seq    int64
		kind   Kind
		detail string // a substring of the detail
	}{
		{name: "intact", log: text(func(l [][]byte) [][]byte { return l })},
		{name: "intact with anchor at head", log: text(func(l [][]byte) [][]byte { return l }), anchor: &Anchor{head.Seq, head.Hash}},
		{name: "intact with earlier anchor", log: text(func(l [][]byte) [][]byte { return l }), anchor: &Anchor{stored[2].Seq, stored[2].Hash}},
		{name: "edited actor", log: edit(3, func(e *Entry) { e.Actor = "mallory" }), line: 4, seq: 4, kind: KindEdited, detail: "does not recompute"},
		{name: "edited action", log: edit(3, func(e *Entry) { e.Action = ActionPromote }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited model", log: edit(3, func(e *Entry) { e.Model = "fraud" }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited versions", log: edit(3, func(e *Entry) { e.Versions = []int64{0, 4} }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited versions emptied", log: edit(3, func(e *Entry) { e.Versions = nil }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited reason", log: edit(3, func(e *Entry) { e.Reason = "nothing to see" }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited time", log: edit(3, func(e *Entry) { e.Time = e.Time.Add(-time.Hour) }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited time by 1ns", log: edit(3, func(e *Entry) { e.Time = e.Time.Add(time.Nanosecond) }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited seq", log: edit(3, func(e *Entry) { e.Seq = 40 }), line: 4, seq: 40, kind: KindEdited},
		{name: "edited prev", log: edit(3, func(e *Entry) { e.Prev = ZeroHash }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited hash", log: edit(3, func(e *Entry) { e.Hash = ZeroHash }), line: 4, seq: 4, kind: KindEdited},
		{name: "edited last entry", log: edit(int(n-1), func(e *Entry) { e.Reason = "x" }), line: n, seq: n, kind: KindEdited},
		{name: "edited and rehashed", log: text(func(l [][]byte) [][]byte {
			l[3] = reencode(t, l[3], func(e *Entry) { e.Actor = "mallory" }, true)
			return l
		}), line: 5, seq: 5, kind: KindRewritten, detail: "line 4 (seq 4)"},
		{name: "removed middle", log: text(func(l [][]byte) [][]byte { return slices.Delete(l, 3, 4) }),
			line: 4, seq: 5, kind: KindRemoved, detail: "entries 4 to 4 are missing"},
		{name: "removed two", log: text(func(l [][]byte) [][]byte { return slices.Delete(l, 3, 5) }),
			line: 4, seq: 6, kind: KindRemoved, detail: "entries 4 to 5 are missing"},
		{name: "removed first", log: text(func(l [][]byte) [][]byte { return l[1:] }),
			line: 1, seq: 2, kind: KindRemoved, detail: "starts at seq 2"},
		{name: "removed middle, next renumbered and rehashed", log: text(func(l [][]byte) [][]byte {
			l = slices.Delete(l, 3, 4)
			l[3] = reencode(t, l[3], func(e *Entry) { e.Seq-- }, true)
			return l
		}), line: 4, seq: 4, kind: KindRewritten, detail: "is not the hash"},
		{name: "removed middle, rest rechained, no anchor", log: text(func(l [][]byte) [][]byte { return rechain(t, slices.Delete(l, 3, 4), 3) })},
		{name: "removed middle, rest rechained, anchor", log: text(func(l [][]byte) [][]byte { return rechain(t, slices.Delete(l, 3, 4), 3) }),
			anchor: &Anchor{head.Seq, head.Hash}, line: n, seq: n, kind: KindTruncated},
		{name: "removed first, next renumbered and rehashed", log: text(func(l [][]byte) [][]byte {
			l = l[1:]
			l[0] = reencode(t, l[0], func(e *Entry) { e.Seq = 1 }, true)
			return l
		}), line: 1, seq: 1, kind: KindRewritten, detail: "the first entry's prev"},
		{name: "removed first, renumbered and rehashed", log: text(func(l [][]byte) [][]byte { return rechain(t, l[1:], 0) })},
		{name: "swapped", log: text(func(l [][]byte) [][]byte { l[3], l[4] = l[4], l[3]; return l }),
			line: 4, seq: 5, kind: KindReordered, detail: "entry 4 is at line 5"},
		{name: "moved later", log: text(func(l [][]byte) [][]byte {
			m := l[3]
			l = slices.Delete(l, 3, 4)
			return slices.Insert(l, 6, m)
		}), line: 4, seq: 5, kind: KindReordered, detail: "entry 4 is at line 7"},
		{name: "older entry repeated later", log: text(func(l [][]byte) [][]byte { return slices.Insert(l, 5, l[1]) }),
			line: 6, seq: 2, kind: KindReordered, detail: "goes back"},
		{name: "duplicated", log: text(func(l [][]byte) [][]byte { return slices.Insert(l, 4, l[3]) }),
			line: 5, seq: 4, kind: KindDuplicated, detail: "repeats line 4"},
		{name: "duplicated last", log: text(func(l [][]byte) [][]byte { return append(l, l[len(l)-1]) }),
			line: n + 1, seq: n, kind: KindDuplicated},
		{name: "truncated tail, no anchor", log: text(func(l [][]byte) [][]byte { return l[:len(l)-2] })},
		{name: "truncated tail, anchor", log: text(func(l [][]byte) [][]byte { return l[:len(l)-2] }), anchor: &Anchor{head.Seq, head.Hash},
			line: n - 1, seq: n, kind: KindTruncated, detail: fmt.Sprintf("ends at seq %d (line %d) but the anchor is seq %d", n-2, n-2, n)},
		{name: "truncated to nothing, anchor", log: text(func(l [][]byte) [][]byte { return nil }), anchor: &Anchor{head.Seq, head.Hash},
			line: 1, seq: n, kind: KindTruncated},
		{name: "truncated tail, earlier anchor", log: text(func(l [][]byte) [][]byte { return l[:len(l)-2] }), anchor: &Anchor{stored[2].Seq, stored[2].Hash}},
		{name: "rewritten from line 3, no anchor", log: text(func(l [][]byte) [][]byte {
			l[2] = reencode(t, l[2], func(e *Entry) { e.Reason = "forged" }, false)
			return rechain(t, l, 2)
		})},
		{name: "rewritten from line 3, anchor", log: text(func(l [][]byte) [][]byte {
			l[2] = reencode(t, l[2], func(e *Entry) { e.Reason = "forged" }, false)
			return rechain(t, l, 2)
		}), anchor: &Anchor{head.Seq, head.Hash}, line: n, seq: n, kind: KindAnchor},
		{name: "garbage line", log: text(func(l [][]byte) [][]byte { return slices.Insert(l, 2, []byte("hello")) }),
			line: 3, kind: KindMalformed, detail: "column 1"},
		{name: "empty line", log: text(func(l [][]byte) [][]byte { return slices.Insert(l, 2, []byte{}) }),
			line: 3, kind: KindMalformed, detail: "empty line"},
		{name: "CRLF", log: raw(func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }),
			line: 1, kind: KindMalformed, detail: "CRLF"},
		{name: "space after colon", log: text(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"seq":`), []byte(`"seq": `), 1)
			return l
		}), line: 2, kind: KindMalformed, detail: "column 8: not in canonical form"},
		{name: "members reordered", log: text(func(l [][]byte) [][]byte {
			e, _ := parseLine(l[1])
			l[1] = fmt.Appendf(nil, `{"time":%q,"seq":%d`, e.Time.Format(time.RFC3339Nano), e.Seq)
			l[1] = append(l[1], bytes.TrimPrefix(l[1], fmt.Appendf(nil, `{"seq":%d,"time":%q`, e.Seq, e.Time.Format(time.RFC3339Nano)))...)
			return l
		}), line: 2, kind: KindMalformed},
		{name: "time zone +00:00", log: text(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`Z","actor"`), []byte(`+00:00","actor"`), 1)
			return l
		}), line: 2, kind: KindMalformed, detail: "canonical"},
		{name: "upper-case member name", log: text(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"actor"`), []byte(`"Actor"`), 1)
			return l
		}), line: 2, kind: KindMalformed, detail: "canonical"},
		{name: "unknown member", log: text(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`{"seq"`), []byte(`{"x":1,"seq"`), 1)
			return l
		}), line: 2, kind: KindMalformed, detail: `unknown field "x"`},
		{name: "missing member", log: text(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"model":"churn",`), nil, 1)
			return l
		}), line: 2, kind: KindMalformed, detail: "canonical"},
		{name: "unknown action", log: text(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"action":"load"`), []byte(`"action":"lode"`), 1)
			return l
		}), line: 2, kind: KindMalformed, detail: `field action "lode"`},
		{name: "seq a string", log: text(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"seq":2`), []byte(`"seq":"2"`), 1)
			return l
		}), line: 2, kind: KindMalformed, detail: "seq"},
		{name: "bad time", log: text(func(l [][]byte) [][]byte {
			l[1] = bytes.Replace(l[1], []byte(`"time":"2026`), []byte(`"time":"x026`), 1)
			return l
		}), line: 2, kind: KindMalformed, detail: "field time"},
		{name: "upper-case hash", log: text(func(l [][]byte) [][]byte {
			i := bytes.Index(l[1], []byte(`"hash":"`)) + 8
			l[1] = slices.Concat(l[1][:i], bytes.ToUpper(l[1][i:i+64]), l[1][i+64:])
			return l
		}), line: 2, kind: KindMalformed, detail: "field hash"},
		{name: "text after the object", log: text(func(l [][]byte) [][]byte { l[1] = append(l[1], ` {}`...); return l }),
			line: 2, kind: KindMalformed, detail: "text after"},
		{name: "over-long line", log: text(func(l [][]byte) [][]byte { return slices.Insert(l, 1, bytes.Repeat([]byte("x"), MaxLineBytes+10)) }),
			line: 2, kind: KindMalformed, detail: "MaxLineBytes"},
		{name: "torn last line", log: raw(func(b []byte) []byte { return b[:len(b)-20] }),
			line: n, seq: 0, kind: KindTorn, detail: "without a final newline"},
		{name: "last newline missing", log: raw(func(b []byte) []byte { return b[:len(b)-1] }),
			line: n, seq: n, kind: KindTorn},
		{name: "empty log"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var data []byte
			if tc.log != nil {
				data = tc.log()
			}
			sum, err := Verify(bytes.NewReader(data), tc.anchor)
			if tc.line == 0 {
				if err != nil {
					t.Fatalf("Verify: %v, want it to verify\n%s", err, data)
				}
				lines := int64(bytes.Count(data, []byte("\n")))
				if sum.Entries != lines {
					t.Errorf("Verify: %d entries, want %d", sum.Entries, lines)
				}
				if lines > 0 {
					last, _ := parseLine(data[bytes.LastIndexByte(data[:len(data)-1], '\n')+1 : len(data)-1])
					if sum.Seq != last.Seq || sum.Hash != last.Hash || !reflect.DeepEqual(sum.Last, last) {
						t.Errorf("Verify: head seq %d hash %s, want %d %s", sum.Seq, sum.Hash, last.Seq, last.Hash)
					}
				} else if sum.Seq != 0 || sum.Hash != ZeroHash {
					t.Errorf("Verify(empty): head seq %d hash %s, want 0 and ZeroHash", sum.Seq, sum.Hash)
				}
				return
			}
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify: %v, want a *VerifyError at line %d", err, tc.line)
			}
			if ve.Line != tc.line || ve.Seq != tc.seq || ve.Kind != tc.kind || !strings.Contains(ve.Detail, tc.detail) {
				t.Errorf("Verify: %v\nwant line %d (seq %d): %s: ...%s...", ve, tc.line, tc.seq, tc.kind, tc.detail)
			}
			if want := fmt.Sprintf("line %d (seq %d): %s: ", tc.line, tc.seq, tc.kind); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want it to start %q", err, want)
			}
		})
	}
}

func TestVerifyBadAnchor(t *testing.T) {
	for _, a := range []Anchor{{0, ZeroHash}, {-1, ZeroHash}, {3, "abc"}, {3, strings.ToUpper(strings.Repeat("ab", 32))}} {
		_, err := Verify(strings.NewReader(""), &a)
		if err == nil || !strings.Contains(err.Error(), "anchor") {
			t.Errorf("Verify(anchor %+v) = %v, want an error about the anchor", a, err)
		}
	}
}

// TestCanonicalForm holds the package doc's format: the members, their
// order and encoding, and the hash over the line without its hash.
func TestCanonicalForm(t *testing.T) {
	e := Entry{Seq: 7, Time: time.Date(2026, 12, 4, 1, 2, 3, 450000000, time.FixedZone("CET", 3600)),
		Actor: "alice", Action: ActionLabel, Model: "churn", Versions: []int64{3, 4}, Reason: "stable <&>", Prev: ZeroHash}
	canon, h := canonical(&e)
	want := `{"seq":7,"time":"2026-12-04T00:02:03.45Z","actor":"alice","action":"label","model":"churn","versions":[3,4],"reason":"stable \u003c\u0026\u003e","prev":"` + ZeroHash + `"}`
	if string(canon) != want {
		t.Errorf("canonical form:\n got %s\nwant %s", canon, want)
	}
	sum := sha256.Sum256([]byte(want))
	if h != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s, want SHA-256 of the canonical form %x", h, sum)
	}
	line := string(appendLine(nil, canon, h))
	if wantLine := strings.TrimSuffix(want, "}") + `,"hash":"` + h + "\"}\n"; line != wantLine {
		t.Errorf("line:\n got %s\nwant %s", line, wantLine)
	}
	e.Versions = nil
	if canon, _ := canonical(&e); !bytes.Contains(canon, []byte(`"versions":[]`)) {
		t.Errorf("canonical form with no versions: %s, want \"versions\":[]", canon)
	}
}

// TestShellPipelineHash runs docs/audit.md's and the package doc's
// pipeline, which recomputes an entry's hash from its line with sed, tr
// and sha256sum.
func TestShellPipelineHash(t *testing.T) {
	const pipe = `| sed -E 's/,"hash":"[0-9a-f]{64}"}$/}/' | tr -d '\n' | sha256sum`
	for _, doc := range []string{"doc.go", "../../docs/audit.md"} {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "sed -n 5p audit.log "+pipe) {
			t.Errorf("%s does not show the pipeline this test runs: sed -n 5p audit.log %s", doc, pipe)
		}
	}
	path, stored, _ := build(t)
	for _, k := range []int{1, 5, len(stored) + 1} {
		cmd := exec.Command("sh", "-c", fmt.Sprintf(`sed -n %dp "$1" `+pipe, k), "sh", path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		var want string
		if k == 1 {
			data, _ := os.ReadFile(path)
			e, _ := parseLine(data[:bytes.IndexByte(data, '\n')])
			want = e.Hash
		} else {
			want = stored[k-2].Hash
		}
		if got := strings.Fields(string(out))[0]; got != want {
			t.Errorf("pipeline on line %d: %s, want the entry's hash %s", k, got, want)
		}
	}
}

func TestOpenNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	now := time.Date(2026, 12, 4, 0, 0, 0, 123, time.UTC)
	l, err := Open(path, Options{Now: func() time.Time { return now }, OpenReason: "predictd dev pid 1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("new log's mode %v, want 0600", st.Mode().Perm())
	}
	seq, h := l.Head()
	var got []Entry
	f, _ := os.Open(path)
	defer f.Close()
	if err := Scan(f, func(e Entry, _ []byte) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	want := Entry{Seq: 1, Time: now, Actor: ActorDaemon, Action: ActionOpen, Versions: []int64{}, Reason: "predictd dev pid 1", Prev: ZeroHash, Hash: h}
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) || seq != 1 {
		t.Errorf("a new log holds %+v (head %d), want only %+v", got, seq, want)
	}
}

func TestReopenContinues(t *testing.T) {
	path, stored, lines := build(t)
	l, err := Open(path, Options{Now: clock()})
	if err != nil {
		t.Fatal(err)
	}
	if seq, _ := l.Head(); seq != int64(len(lines))+1 {
		t.Errorf("reopened head seq %d, want %d (the old entries and a new open)", seq, len(lines)+1)
	}
	e, err := l.Append(Entry{Actor: "dave", Action: ActionUnload, Model: "churn", Versions: []int64{5}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Seq != stored[len(stored)-1].Seq+2 {
		t.Errorf("Append after reopen: seq %d, want %d", e.Seq, stored[len(stored)-1].Seq+2)
	}
	l.Close()
	f, _ := os.Open(path)
	defer f.Close()
	sum, err := Verify(f, &Anchor{stored[len(stored)-1].Seq, stored[len(stored)-1].Hash})
	if err != nil || sum.Seq != e.Seq || sum.Hash != e.Hash {
		t.Errorf("Verify after reopen: %+v, %v; want head %d %s", sum, err, e.Seq, e.Hash)
	}
}

func TestOpenRefusesDamage(t *testing.T) {
	for _, tc := range []struct {
		name string
		mut  func([][]byte) [][]byte
		want string
	}{
		{"edited", func(l [][]byte) [][]byte {
			l[4] = bytes.Replace(l[4], []byte(`"actor":"bob"`), []byte(`"actor":"alice"`), 1)
			return l
		}, "line 5 (seq 5): edited"},
		{"removed", func(l [][]byte) [][]byte { return slices.Delete(l, 2, 3) }, "line 3 (seq 4): removed"},
		{"garbage", func(l [][]byte) [][]byte { return slices.Insert(l, 6, []byte("{")) }, "line 7 (seq 0): malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _, lines := build(t)
			damaged := join(tc.mut(lines))
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := Open(path, Options{})
			if err == nil {
				l.Close()
				t.Fatalf("Open of a log with %s: nil error", tc.name)
			}
			var ve *VerifyError
			for _, want := range []string{path, tc.want, "move it aside", "will not extend"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open: %v\nwant it to say %q", err, want)
				}
			}
			if !errors.As(err, &ve) {
				t.Errorf("Open: %v, want a *VerifyError inside", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, damaged) {
				t.Errorf("Open changed the damaged log:\n%s\nwant\n%s", after, damaged)
			}
		})
	}
}

func TestOpenCutsTornLine(t *testing.T) {
	for _, cut := range []int{1, 30, 200} {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			path, stored, lines := build(t)
			full := join(lines)
			// The last entry's write reached the disk only in part.
			data := full[:len(full)-cut]
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var logged []string
			l, err := Open(path, Options{Now: clock(), Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
			if err != nil {
				t.Fatalf("Open of a log with a torn last line: %v", err)
			}
			if len(logged) != 1 || !strings.Contains(logged[0], "torn") || !strings.Contains(logged[0], fmt.Sprintf("line %d", len(lines))) {
				t.Errorf("Logf got %q, want one line about the torn line %d", logged, len(lines))
			}
			e, err := l.Append(Entry{Actor: "alice", Action: ActionLoad, Model: "m", Versions: []int64{1}})
			if err != nil {
				t.Fatal(err)
			}
			l.Close()
			var open Entry
			f, _ := os.Open(path)
			Scan(f, func(e Entry, _ []byte) error {
				if e.Action == ActionOpen {
					open = e
				}
				return nil
			})
			f.Close()
			if want := fmt.Sprintf("cut off a torn last line %d (", len(lines)); !strings.HasPrefix(open.Reason, want) {
				t.Errorf("the open entry after the cut: reason %q, want it to start %q", open.Reason, want)
			}
			prev := stored[len(stored)-2]
			// The open entry follows the last whole one, then e.
			if e.Seq != prev.Seq+2 {
				t.Errorf("Append after the cut: seq %d, want %d", e.Seq, prev.Seq+2)
			}
			after, _ := os.ReadFile(path)
			if want := join(lines[:len(lines)-1]); !bytes.HasPrefix(after, want) {
				t.Errorf("after Open the log does not start with the whole lines before the torn one")
			}
			sum, err := Verify(bytes.NewReader(after), &Anchor{prev.Seq, prev.Hash})
			if err != nil || sum.Seq != e.Seq {
				t.Errorf("Verify after the cut: %+v, %v; want head seq %d", sum, err, e.Seq)
			}
		})
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if l2, err := Open(path, Options{NoSync: true}); err == nil || !strings.Contains(err.Error(), "another process") {
		if l2 != nil {
			l2.Close()
		}
		t.Errorf("second Open while the first holds the log: %v, want an error saying another process has it", err)
	}
	l.Close()
	l2, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	l2.Close()
}

func TestAppendReturnsStored(t *testing.T) {
	path, stored, _ := build(t)
	l, err := Open(path, Options{Now: clock(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	in := Entry{Seq: 99, Prev: "x", Hash: "y", Actor: "al\xffice", Action: ActionLoad, Model: "m\xfe", Versions: []int64{1}, Reason: "bad \xc3 utf-8"}
	e, err := l.Append(in)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if e.Actor != "al\uFFFDice" || e.Model != "m\uFFFD" || e.Reason != "bad \uFFFD utf-8" {
		t.Errorf("Append(%+v) stored strings %q %q %q, want invalid UTF-8 replaced by U+FFFD", in, e.Actor, e.Model, e.Reason)
	}
	var all []Entry
	f, _ := os.Open(path)
	defer f.Close()
	if err := Scan(f, func(e Entry, _ []byte) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := all[len(all)-1]; !reflect.DeepEqual(got, e) {
		t.Errorf("Scan read back\n%+v\nwant what Append returned\n%+v", got, e)
	}
	if !reflect.DeepEqual(all[1:len(stored)+1], stored) {
		t.Errorf("Scan read back\n%+v\nwant what Append returned\n%+v", all[1:len(stored)+1], stored)
	}
}

func TestAppendRefuses(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "audit.log"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, tc := range []struct {
		e    Entry
		want error
	}{
		{Entry{Actor: "a", Action: "deploy"}, ErrBadEntry},
		{Entry{Actor: "a"}, ErrBadEntry},
		{Entry{Action: ActionLoad}, ErrBadEntry},
		{Entry{Actor: "a", Action: ActionLoad, Versions: []int64{-1}}, ErrBadEntry},
		{Entry{Actor: "a", Action: ActionLoad, Reason: strings.Repeat("x", MaxLineBytes)}, ErrTooLong},
	} {
		if _, err := l.Append(tc.e); !errors.Is(err, tc.want) {
			t.Errorf("Append(%.80v) = %v, want %v", tc.e, err, tc.want)
		}
	}
	if seq, _ := l.Head(); seq != 1 {
		t.Errorf("head seq %d after refused appends, want 1 (the open entry)", seq)
	}
	// The log still takes entries.
	if e, err := l.Append(Entry{Actor: "a", Action: ActionLoad}); err != nil || e.Seq != 2 {
		t.Errorf("Append after refusals: %+v, %v; want seq 2", e, err)
	}
}

func TestAppendFailedIsSticky(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	l.f.Close() // the next write fails
	_, err1 := l.Append(Entry{Actor: "a", Action: ActionLoad})
	if err1 == nil {
		t.Fatal("Append on a closed file: nil error")
	}
	// A working file behind the Log: a non-sticky Log would write to it.
	other := filepath.Join(t.TempDir(), "other.log")
	if l.f, err = os.OpenFile(other, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err2 := l.Append(Entry{Actor: "a", Action: ActionLoad})
	if err2 == nil || err2.Error() != err1.Error() {
		t.Errorf("Append after a failed one: %v, want the same error %v", err2, err1)
	}
	if st, _ := os.Stat(other); st.Size() != 0 {
		t.Errorf("a failed Log wrote %d bytes", st.Size())
	}
	if seq, _ := l.Head(); seq != 1 {
		t.Errorf("head seq %d after failed appends, want 1", seq)
	}
	l.Close()
	if _, err := l.Append(Entry{Actor: "a", Action: ActionLoad}); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
}

// TestClockBack: a wall clock stepping back does not break the chain.
func TestClockBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	l, err := Open(path, Options{NoSync: true, Now: func() time.Time { now = now.Add(-time.Minute); return now }})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := l.Append(Entry{Actor: "a", Action: ActionLoad}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	data, _ := os.ReadFile(path)
	if _, err := Verify(bytes.NewReader(data), nil); err != nil {
		t.Errorf("Verify of a log whose times go back: %v, want nil", err)
	}
}

// TestConcurrentAppend: appends from many goroutines form one chain
// with every entry in it once.
func TestConcurrentAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	l, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 8, 200
	var wg sync.WaitGroup
	seqs := make([][]int64, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e, err := l.Append(Entry{Actor: fmt.Sprint("g", g), Action: ActionRolloutStep, Model: "m", Reason: fmt.Sprintf("%d/%d", g, i)})
				if err != nil {
					t.Error(err)
					return
				}
				seqs[g] = append(seqs[g], e.Seq)
				l.Head()
			}
		})
	}
	wg.Wait()
	l.Close()
	f, _ := os.Open(path)
	defer f.Close()
	sum, err := Verify(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Entries != goroutines*each+1 {
		t.Errorf("%d entries, want %d", sum.Entries, goroutines*each+1)
	}
	f.Seek(0, 0)
	seen := map[string]int{}
	Scan(f, func(e Entry, _ []byte) error { seen[e.Reason]++; return nil })
	for g := range goroutines {
		for i := range each {
			if r := fmt.Sprintf("%d/%d", g, i); seen[r] != 1 {
				t.Errorf("entry %s is in the log %d times, want 1", r, seen[r])
			}
		}
		if !slices.IsSorted(seqs[g]) {
			t.Errorf("goroutine %d got seqs %v out of order", g, seqs[g])
		}
	}
}

func TestShow(t *testing.T) {
	_, _, lines := build(t)
	data := join(lines)
	var b strings.Builder
	if err := Show(&b, bytes.NewReader(data), Filter{}); err != nil {
		t.Fatal(err)
	}
	want := `SEQ  TIME                      ACTOR            ACTION          MODEL  VERSIONS  REASON
1    2026-12-04T00:00:00.001Z  daemon           open            -      -         predictd test
2    2026-12-04T00:00:00.002Z  alice            load            churn  3         config
3    2026-12-04T00:00:00.003Z  daemon           load_failed     churn  4         open model.json: no such file
4    2026-12-04T00:00:00.004Z  alice            label           churn  0 -> 3    stable
5    2026-12-04T00:00:00.005Z  bob              rollout_start   churn  3 -> 5    "plan 1%,5%,25%,100% <& \u2028 é"
6    2026-12-04T00:00:00.006Z  daemon           rollout_step    churn  3 -> 5    step 2: 5%
7    2026-12-04T00:00:00.007Z  bob              rollout_pause   churn  3 -> 5    "line one\nline two\t\"quoted\""
8    2026-12-04T00:00:00.008Z  bob              rollout_resume  churn  3 -> 5    -
9    2026-12-04T00:00:00.009Z  daemon           promote         churn  3 -> 5    all checks passed
10   2026-12-04T00:00:00.010Z  unauthenticated  auth_failure    -      -         remote 10.0.0.7:51234: bad token
11   2026-12-04T00:00:00.011Z  carol            rollback        churn  5 -> 3    p99 up
12   2026-12-04T00:00:00.012Z  daemon           abort           fraud  7 -> 8    error rate 4% > 1%
13   2026-12-04T00:00:00.013Z  alice            config_reload   -      -         SIGHUP
14   2026-12-04T00:00:00.014Z  daemon           unload          churn  4         -
`
	if b.String() != want {
		t.Errorf("Show:\n%s\nwant\n%s", b.String(), want)
	}
	for _, tc := range []struct {
		f    Filter
		seqs []string
	}{
		{Filter{Model: "fraud"}, []string{"12"}},
		{Filter{Action: ActionRolloutStep}, []string{"6"}},
		{Filter{Model: "churn", Action: ActionLoad}, []string{"2"}},
		{Filter{Actor: "bob"}, []string{"5", "7", "8"}},
		{Filter{Model: "none"}, nil},
	} {
		var b strings.Builder
		if err := Show(&b, bytes.NewReader(data), tc.f); err != nil {
			t.Fatal(err)
		}
		var seqs []string
		for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n")[1:] {
			seqs = append(seqs, strings.Fields(l)[0])
		}
		if !slices.Equal(seqs, tc.seqs) {
			t.Errorf("Show(%+v) printed seqs %v, want %v:\n%s", tc.f, seqs, tc.seqs, b.String())
		}
	}
}

func TestShowStopsAtBadLine(t *testing.T) {
	_, _, lines := build(t)
	data := join(slices.Insert(lines, 3, []byte("oops")))
	var b strings.Builder
	err := Show(&b, bytes.NewReader(data), Filter{})
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Line != 4 || ve.Kind != KindMalformed {
		t.Errorf("Show of a log with a bad line 4: %v, want malformed at line 4", err)
	}
	if n := strings.Count(b.String(), "\n"); n != 4 {
		t.Errorf("Show printed %d lines before the bad one, want the header and 3:\n%s", n, b.String())
	}
	b.Reset()
	edited := slices.Clone(lines)
	edited[5] = reencode(t, edited[5], func(e *Entry) { e.Reason = "forged" }, false)
	err = Show(&b, bytes.NewReader(join(edited)), Filter{})
	if !errors.As(err, &ve) || ve.Line != 6 || ve.Seq != 6 || ve.Kind != KindEdited {
		t.Errorf("Show of a log with line 6 edited: %v, want edited at line 6 (seq 6)", err)
	}
	b.Reset()
	full := join(lines)
	err = Show(&b, bytes.NewReader(full[:len(full)-1]), Filter{})
	if !errors.As(err, &ve) || ve.Kind != KindTorn || ve.Line != int64(len(lines)) {
		t.Errorf("Show of a log with a torn last line: %v, want torn at line %d", err, len(lines))
	}
	if n := strings.Count(b.String(), "\n"); n != len(lines) {
		t.Errorf("Show printed %d lines before the torn one, want %d", n, len(lines))
	}
}

func TestShowJSON(t *testing.T) {
	_, _, lines := build(t)
	data := join(lines)
	var b bytes.Buffer
	if err := ShowJSON(&b, bytes.NewReader(data), Filter{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), data) {
		t.Errorf("ShowJSON unfiltered:\n%s\nwant the log as stored:\n%s", b.Bytes(), data)
	}
	b.Reset()
	if err := ShowJSON(&b, bytes.NewReader(data), Filter{Model: "fraud"}); err != nil {
		t.Fatal(err)
	}
	if want := join(lines[11:12]); !bytes.Equal(b.Bytes(), want) {
		t.Errorf("ShowJSON(model fraud):\n%s\nwant\n%s", b.Bytes(), want)
	}
}

func TestFormatVersions(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want string
	}{{nil, "-"}, {[]int64{}, "-"}, {[]int64{3}, "3"}, {[]int64{0, 4}, "0 -> 4"}, {[]int64{1, 2, 3}, "1,2,3"}} {
		if got := FormatVersions(tc.in); got != tc.want {
			t.Errorf("FormatVersions(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestActionsClosed(t *testing.T) {
	want := []Action{"load", "load_failed", "unload", "label", "rollout_start", "rollout_step", "rollout_pause", "rollout_resume", "promote", "rollback", "abort", "config_reload", "auth_failure", "open"}
	if !slices.Equal(Actions, want) {
		t.Errorf("Actions = %v, want %v", Actions, want)
	}
	for _, a := range want {
		if !a.Valid() {
			t.Errorf("%q.Valid() = false", a)
		}
	}
	for _, a := range []Action{"", "Load", "load ", "deploy"} {
		if a.Valid() {
			t.Errorf("%q.Valid() = true, want false", a)
		}
	}
}

// TestCRLFRestored: docs/audit.md's fix for a log whose line endings
// were converted (tr -d '\r') gives back a log that verifies.
func TestCRLFRestored(t *testing.T) {
	_, _, lines := build(t)
	crlf := bytes.ReplaceAll(join(lines), []byte("\n"), []byte("\r\n"))
	if _, err := Verify(bytes.NewReader(crlf), nil); err == nil {
		t.Fatal("Verify of a CRLF log: nil error, want malformed")
	}
	if _, err := Verify(bytes.NewReader(bytes.ReplaceAll(crlf, []byte("\r"), nil)), nil); err != nil {
		t.Errorf("Verify after removing the CRs: %v, want nil", err)
	}
}
