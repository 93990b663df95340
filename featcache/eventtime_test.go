package featcache

import (
	"math/rand/v2"
	"regexp"
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
	bad("yesterday", `"yesterday" is not a time in a known form; want RFC 3339 such as 2026-11-25T12:00:00Z, or 2026-11-25 12:00:00`)
	bad(" 2026-11-25T12:00:00Z", "is not a time in a known form")
	bad("", `"" is not a time in a known form`)
	// A long value is quoted cut short: the message is the accepted forms
	// and at most 64 bytes of the value.
	long := strings.Repeat("9", 10000)
	if _, err := ParseEventTime(long); err == nil || len(err.Error()) > 150+len(EventTimeForms) {
		t.Errorf("ParseEventTime(10000 nines) error %q: want one of at most %d bytes", err, 150+len(EventTimeForms))
	}
}

// TestParseEventTimeForms: the forms pandas, Spark and DuckDB write in CSV,
// each with the instant it means (no offset: UTC), and near misses refused
// with a message that quotes the value and lists the accepted forms.
func TestParseEventTimeForms(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	midnight := utc(2026, 12, 1, 0, 0, 0, 0)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"2026-12-01T00:00:00Z", midnight},                                   // RFC 3339
		{"2026-12-01 00:00:00", midnight},                                    // pandas, DuckDB TIMESTAMP, Spark without fraction
		{"2026-12-01 00:00:00.123456", utc(2026, 12, 1, 0, 0, 0, 123456000)}, // pandas, DuckDB with microseconds
		{"2026-12-01 00:00:00+00:00", midnight},                              // pandas tz-aware
		{"2026-12-01 00:00:00.123456+00:00", utc(2026, 12, 1, 0, 0, 0, 123456000)},
		{"2026-12-01 01:00:00+01:00", midnight},
		{"2026-11-30 19:00:00-05:00", midnight},
		{"2026-12-01 00:00:00.000", midnight},                        // Spark
		{"2026-12-01T00:00:00.000Z", midnight},                       // Spark ISO 8601
		{"2026-12-01T00:00:00.000", midnight},                        // Spark, no offset
		{"2026-12-01T05:30:00.000+05:30", midnight},                  // Spark, session time zone
		{"2026-12-01 00:00:00+00", midnight},                         // DuckDB TIMESTAMPTZ
		{"2026-12-01 02:00:00.5+02", utc(2026, 12, 1, 0, 0, 0, 5e8)}, // DuckDB TIMESTAMPTZ, other zone
		{"2026-11-30 22:00:00-02", midnight},                         // negative hour offset
		{"2026-12-01T00:00:00+00", midnight},                         // hour offset after T
		{"2026-12-01 00:00:00Z", midnight},                           // Z after a space
		{"2026-12-01 00:00:00.123456789", utc(2026, 12, 1, 0, 0, 0, 123456789)},
		{"2026-12-01 00:00:00.1", utc(2026, 12, 1, 0, 0, 0, 1e8)},
		{"2026-12-01", midnight},                                 // a DATE
		{"2262-04-11 23:47:16.854775807", time.Unix(0, 1<<63-1)}, // the last storable instant
		{"1677-09-21 00:12:43.145224192", time.Unix(0, -1<<63)},  // the first
	} {
		got, err := ParseEventTime(c.in)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("ParseEventTime(%q) = %v, %v, want %v", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"2026-12-01 00:00:00,5", "not a time in a known form"},          // comma fraction
		{"2026-12-01 00:00:00.", "not a time in a known form"},           // dot, no digits
		{"2026-12-01 00:00:00.1234567890", "not a time in a known form"}, // 10 digits
		{"2026-12-01 00:00:00 UTC", "not a time in a known form"},
		{"2026-12-01 00:00:00-0800", "not a time in a known form"},
		{"2026-12-01t00:00:00z", "not a time in a known form"},
		{"2026-12-01 0:00:00", "not a time in a known form"},
		{"2026/12/01 00:00:00", "not a time in a known form"},
		{"12/01/2026", "not a time in a known form"},
		{"1764547200", "not a time in a known form"}, // Unix seconds: the unit is a guess
		{"2026-13-01 00:00:00", `"2026-13-01 00:00:00" is not a valid time (month out of range)`},
		{"2026-02-30", "(day out of range)"},
		{"2026-12-01 24:00:00", "(hour out of range)"},
		{"2026-12-01 00:00:00+99", "(time zone offset hour out of range)"},
		{"9999-12-31 00:00:00", "outside the years 1678..2262"},
		{"2026-1x-01 00:00:00", "not a time in a known form"},
	} {
		got, err := ParseEventTime(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseEventTime(%q) = %v, %v, want an error containing %q", c.in, got, err, c.want)
			continue
		}
		if !strings.Contains(c.want, "outside") && !strings.Contains(err.Error(), "want "+EventTimeForms) {
			t.Errorf("ParseEventTime(%q) error %q does not list the accepted forms", c.in, err)
		}
	}
}

// TestParseEventTimeRoundTrip formats random storable instants in every
// accepted form (each fraction width, zero and non-zero offsets) and reads
// them back.
func TestParseEventTimeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	forms := []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05"}
	zones := []string{"Z07:00", "Z07", ""}
	for range 2000 {
		in := time.Unix(0, rng.Int64N(1<<62)*2-1<<62+rng.Int64N(2)) // storable
		digits := rng.IntN(10)
		frac := ""
		if digits > 0 {
			frac = "." + strings.Repeat("0", digits)
		}
		zone := zones[rng.IntN(len(zones))]
		loc := time.UTC
		if zone != "" && rng.IntN(2) == 0 {
			hours := rng.IntN(27) - 13
			if zone == "Z07:00" {
				loc = time.FixedZone("", hours*3600+rng.IntN(4)*15*60)
			} else {
				loc = time.FixedZone("", hours*3600)
			}
		}
		layout := forms[rng.IntN(2)] + frac + zone
		s := in.In(loc).Format(layout)
		want := in.Truncate(time.Duration(pow10(9 - digits)))
		if in.UnixNano() < 0 && !want.Equal(in) { // Truncate rounds toward zero time, not toward -Inf
			want = time.Unix(0, in.UnixNano()-in.UnixNano()%pow10(9-digits)-pow10(9-digits))
		}
		got, err := ParseEventTime(s)
		if err != nil || !got.Equal(want) {
			t.Fatalf("ParseEventTime(%q) (%v as %q) = %v, %v, want %v", s, in, layout, got, err, want)
		}
	}
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// eventTimeShape is the grammar of EventTimeForms written independently of
// eventTimeLayout, for FuzzParseEventTime.
var eventTimeShape = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}(:[0-9]{2})?)?)?$`)

// FuzzParseEventTime holds ParseEventTime to time.Parse: it accepts s
// exactly when s has one of the accepted shapes (eventTimeShape) and some
// layout of eventTimeLayouts parses s by time.Parse to a storable time,
// and then returns that time.
func FuzzParseEventTime(f *testing.F) {
	for _, s := range []string{
		"2026-12-01T00:00:00Z", "2026-12-01 00:00:00", "2026-12-01 00:00:00.123456+00:00",
		"2026-12-01 00:00:00+00", "2026-12-01T00:00:00.000", "2026-12-01", "2026-12-01 00:00:00,5",
		"2026-12-01 24:00:00", "+026-12-01", "2000-01-01  0:00:00", "2026-12-01 00:00:00+0 :00", "2026-12-01T00:00:00+24:00", "9999-12-31 00:00:00", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseEventTime(s)
		var want time.Time
		ok := false
		if eventTimeShape.MatchString(s) {
			for _, layout := range eventTimeLayouts {
				if w, perr := time.Parse(layout, s); perr == nil && Storable(w) {
					if ok && !w.Equal(want) {
						t.Fatalf("layouts disagree on %q: %v and %v", s, want, w)
					}
					want, ok = w, true
				}
			}
		}
		if (err == nil) != ok || (ok && !got.Equal(want)) {
			t.Fatalf("ParseEventTime(%q) = %v, %v; time.Parse over the layouts: ok %v, %v", s, got, err, ok, want)
		}
	})
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
