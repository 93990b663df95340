package featcache

import (
	"strings"
	"testing"
	"time"
)

// TestParseEventTime holds the one event-time parser every ingestion path
// uses to what int64 nanoseconds can represent: before, year 9999 was
// stored as 1816 and year 1 as 1754 by materialize.
func TestParseEventTime(t *testing.T) {
	ok := func(in string, want time.Time) {
		t.Helper()
		got, err := ParseEventTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseEventTime(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	bad := func(in, want string) {
		t.Helper()
		got, err := ParseEventTime(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseEventTime(%q) = %v, %v, want an error containing %q", in, got, err, want)
		}
	}
	ok("2026-11-25T12:00:00Z", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	ok("2026-11-25T13:00:00.5+01:00", time.Date(2026, 11, 25, 12, 0, 0, 5e8, time.UTC))
	ok("1677-09-21T00:12:43.145224192Z", time.Unix(0, -1<<63))
	ok("2262-04-11T23:47:16.854775807Z", time.Unix(0, 1<<63-1))
	ok("1970-01-01T00:00:00Z", time.Unix(0, 0))
	bad("9999-12-31T00:00:00Z", `"9999-12-31T00:00:00Z" is outside the years 1678..2262`)
	bad("0001-01-01T00:00:00Z", `"0001-01-01T00:00:00Z" is outside the years 1678..2262`)
	bad("1677-09-21T00:12:43.145224191Z", "outside the years 1678..2262")
	bad("2262-04-11T23:47:16.854775808Z", "outside the years 1678..2262")
	bad("yesterday", `"yesterday" is not an RFC 3339 time such as 2026-11-25T12:00:00Z`)
	bad(" 2026-11-25T12:00:00Z", "is not an RFC 3339 time")
	bad("", `"" is not an RFC 3339 time`)
	// A long value is quoted cut short.
	long := strings.Repeat("9", 10000)
	if _, err := ParseEventTime(long); err == nil || len(err.Error()) > 200 {
		t.Errorf("ParseEventTime(10000 nines) error %q: want one of at most 200 bytes", err)
	}
}

func TestCheckEventTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), ""},
		{time.Unix(0, 1<<63-1), ""},
		{time.Time{}, "0001-01-01T00:00:00Z is outside the years 1678..2262"},
		{time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), "9999-01-01T00:00:00Z is outside the years 1678..2262"},
		{time.UnixMilli(-1 << 62), "outside the years 1678..2262"},
		{time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC), "outside the years 1678..2262"},
	} {
		err := CheckEventTime(c.t)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckEventTime(%v) = %v, want %q", c.t, err, c.want)
		}
	}
}

func TestCheckFuture(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		skew time.Duration
		ok   bool
	}{
		{now, time.Hour, true},
		{now.Add(-100 * 365 * 24 * time.Hour), time.Hour, true},
		{now.Add(time.Hour), time.Hour, true},
		{now.Add(time.Hour + 1), time.Hour, false},
		{now.Add(23 * time.Hour), 0, true}, // 0: the default, 24h
		{now.Add(25 * time.Hour), 0, false},
		{time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), DefaultMaxFutureSkew, false},
	} {
		err := CheckFuture(c.t, now, c.skew)
		if (err == nil) != c.ok {
			t.Errorf("CheckFuture(%v, now %v, %v) = %v, want ok %v", c.t, now, c.skew, err, c.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "in the future") {
			t.Errorf("CheckFuture(%v) error %q does not say the time is in the future", c.t, err)
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, c := range []struct{ key, want string }{
		{"u1", ""},
		{"a/b", ""},
		{"ünïcode 42", ""},
		{strings.Repeat("x", MaxKeyBytes), ""},
		{"", "empty"},
		{strings.Repeat("x", MaxKeyBytes+1), "257 bytes, longer than the 256-byte limit"},
		{"a\x00b", `"a\x00b" contains a NUL byte (0x00 at byte 1)`},
		{"a\tb", "control byte (0x09 at byte 1)"},
		{"\x7f", "control byte (0x7f at byte 0)"},
		{"a\xffb", "not valid UTF-8"},
	} {
		err := CheckKey(c.key)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckKey(%.50q) = %v, want %q", c.key, err, c.want)
		}
	}
	// A megabyte key is described, not echoed.
	if err := CheckKey(strings.Repeat("k", 1<<20)); err == nil || len(err.Error()) > 200 {
		t.Errorf("CheckKey(1 MiB) error of %d bytes, want at most 200", len(err.Error()))
	}
	// The serving join calls it per key.
	key := "user-12345"
	if n := testing.AllocsPerRun(100, func() { _ = CheckKey(key) }); n != 0 {
		t.Errorf("CheckKey(%q) allocates %v times, want 0", key, n)
	}
}
