package featcache

import (
	"fmt"
	"time"
)

// Every path into the store (push, Service.Write, the stream's Decode,
// materialize's CSV and Parquet readers) reads event times through
// ParseEventTime or CheckEventTime, and bounds how far ahead of now they may
// be with CheckFuture, so that the paths accept and refuse the same times.

// DefaultMaxFutureSkew is how far after now an event time may be unless an
// option says otherwise (CacheOptions.MaxFutureSkew for the daemon,
// materialize.Options.MaxFutureSkew for bulk loads).
const DefaultMaxFutureSkew = 24 * time.Hour

// ParseEventTime reads an event time written as RFC 3339 (with or without
// fractional seconds, any UTC offset), such as 2026-11-25T12:00:00Z, and
// checks it with CheckEventTime. The error quotes s and says what to send;
// callers prefix where s came from (row, line, field). Surrounding spaces
// are not trimmed here.
func ParseEventTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time such as 2026-11-25T12:00:00Z", quoteShort(s))
	}
	if !Storable(t) {
		return time.Time{}, fmt.Errorf("%s is outside the years 1678..2262 (an event time is stored as int64 nanoseconds since 1970)", quoteShort(s))
	}
	return t, nil
}

// CheckEventTime returns an error if t cannot be stored as an event time:
// outside what int64 Unix nanoseconds hold
// (1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z).
// Readers of binary times (Parquet TIMESTAMP and INT96 columns) call it;
// such a time would otherwise wrap around when encoded (EncodeRecord), year
// 9999 becoming 1816.
func CheckEventTime(t time.Time) error {
	if !Storable(t) {
		return fmt.Errorf("%s is outside the years 1678..2262 (an event time is stored as int64 nanoseconds since 1970)", t.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// CheckFuture returns an error if event time t is more than maxSkew after
// now. Stores keep the newer of two rows (newer-wins by event time), so a
// row dated in the future would hide every later update of its entity
// until that time; a producer's clock running a little ahead is what
// maxSkew allows for. A maxSkew <= 0 is DefaultMaxFutureSkew.
func CheckFuture(t, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxFutureSkew
	}
	if ahead := t.Sub(now); ahead > maxSkew {
		return fmt.Errorf("%s is %s in the future (now %s); event times more than %s ahead are refused, since a future row would hide every update of its entity until then",
			t.UTC().Format(time.RFC3339Nano), ahead.Round(time.Second), now.UTC().Format(time.RFC3339), maxSkew)
	}
	return nil
}

// Storable reports whether t fits a record's event time: Unix nanoseconds,
// the years 1678..2262, and not the zero time.
func Storable(t time.Time) bool {
	return !t.IsZero() && time.Unix(0, t.UnixNano()).Equal(t)
}
