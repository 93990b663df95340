// Package audit keeps predictd's audit trail: an append-only,
// hash-chained, tamper-evident log file of what changed which model and
// who asked for it. docs/audit.md is the operator's guide.
//
// # Format
//
// The file holds one entry per line, each a JSON object ended by "\n"
// (no CR), with exactly these members in this order:
//
//	{"seq":1,"time":"2026-12-04T00:00:00.123456789Z","actor":"daemon","action":"open",
//	 "model":"","versions":[],"reason":"","prev":"000…000","hash":"9f2c…"}
//
// (shown on two lines here; one line in the file). The members:
//   - seq: 1 for the first entry, then each entry's seq is the previous
//     one's plus 1.
//   - time: when Append wrote the entry, UTC, Go's time.RFC3339Nano
//     (trailing zeros of the fraction dropped, "Z" for the zone). Not
//     checked for order: a wall clock may step back.
//   - actor: the name given to the admin token that asked, "daemon" for
//     the daemon's own decisions (ActorDaemon), or "unauthenticated" for
//     an auth failure (ActorUnauthenticated; the remote address goes in
//     reason).
//   - action: one of the closed set of Action constants (Actions lists
//     them); Append refuses any other.
//   - model: the model's name; "" for daemon-wide actions (open,
//     config_reload, auth_failure).
//   - versions: the model versions the action concerns, always an array
//     (never null): [v] for one version (load, load_failed, unload);
//     [from, to] for a move of traffic or of a label (label, rollout_*,
//     promote, rollback, abort), from 0 when there was none; [] when
//     there is none.
//   - reason: free text: why, the label's name, the check that failed,
//     the remote address of an auth failure.
//   - prev: the previous entry's hash; 64 "0"s for the first entry.
//   - hash: the lowercase hex SHA-256 of the entry's canonical form.
//
// # Canonical form and hash
//
// An entry's canonical form is its line without the trailing "\n" and
// without the hash member: the bytes from "{" up to the end of the
// prev member's value, then "}". That is what Go's encoding/json
// Marshal writes for the members seq..prev in the order above: no
// spaces, "<", ">", "&", U+2028 and U+2029 escaped as \u003c and so on,
// invalid UTF-8 replaced by U+FFFD (Append stores strings that way, and
// returns the entry as stored). hash = hex(SHA-256(canonical form)).
// An outside tool recomputes it from the line's bytes alone:
//
//	sed -n 5p audit.log | sed -E 's/,"hash":"[0-9a-f]{64}"}$/}/' | tr -d '\n' | sha256sum
//
// (TestShellPipelineHash runs that pipeline.) Verify holds every line
// to this form byte for byte: it decodes the line, encodes the decoded
// entry again, and a line that is not exactly that encoding plus its
// hash member is malformed, even when it means the same (spaces, member
// order, "+00:00" for "Z", CRLF). So no change to a line's bytes, not
// even in insignificant whitespace, verifies as the same log.
//
// # What Verify finds and what it cannot
//
// Verify names the first bad line with a Kind: malformed (not JSON, not
// canonical, unknown action), edited (the hash does not recompute),
// removed (a seq gap, including a missing first entry), reordered (a
// seq out of place), duplicated (an entry repeated), rewritten (the
// hash recomputes but prev is not the previous entry's hash: an entry
// before it was edited and rehashed), torn (the last line has no "\n").
// Anyone who can write the file can also rewrite it from some entry on
// with fresh hashes, or cut entries off its end: a chain alone cannot
// tell a log that was cut from one that ended there. An Anchor, a
// (seq, hash) pair copied from Head (the daemon publishes it in its
// metrics) at some earlier time and kept elsewhere, catches both up to
// that point: Verify with it reports a log that ends before the
// anchor's seq (truncated) or whose entry at that seq has another hash
// (anchor). Nothing catches changes after the latest anchor kept.
//
// # Durability
//
// Append writes the whole line with one write call and, unless
// Options.NoSync, fsyncs before it returns: a caller performs the
// action only after Append returned nil, so every action that took
// effect is on disk first. A crash during the write can leave a torn
// last line (no "\n"); its Append never returned nil, so its action
// never happened, and Open cuts it off, reports it through
// Options.Logf and says so in the reason of the open entry it writes
// (a cut line is a removed line; the trail records it). A write that reached the file but whose fsync failed
// may survive as a complete entry for an action that was not
// performed: an entry records that the action was about to happen.
//
// # Concurrency
//
// Append, Head and Close may be called from any goroutine; appends are
// serialized (one lock held across write and fsync). One process at a
// time may hold a log open: Open takes an exclusive flock (on systems
// that have it) and fails while another holder has it, since two
// writers would fork the chain. Verify, Show and Scan read any
// io.Reader and share no state.
package audit
