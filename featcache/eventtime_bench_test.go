package featcache

import (
	"testing"
	"time"
)

var benchTimeSink time.Time

// BenchmarkParseEventTime measures ParseEventTime (the layout chosen by
// shape, one time.Parse) per form, beside two peers on the same input:
// time.Parse with the right layout given (the floor), and the rejected
// alternative of trying eventTimeLayouts in order until one parses (each
// failed try allocates a *time.ParseError).
func BenchmarkParseEventTime(b *testing.B) {
	for _, c := range []struct{ form, s string }{
		{"rfc3339", "2026-12-01T00:00:00.123456Z"},
		{"pandas", "2026-12-01 00:00:00.123456"},
		{"pandas_tz", "2026-12-01 00:00:00.123456+00:00"},
		{"duckdb_tz", "2026-12-01 00:00:00.123456+00"},
	} {
		layout := eventTimeLayout(c.s)
		b.Run("form="+c.form+"/impl=ParseEventTime", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := ParseEventTime(c.s)
				if err != nil {
					b.Fatal(err)
				}
				benchTimeSink = t
			}
		})
		b.Run("form="+c.form+"/impl=time.Parse", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t, err := time.Parse(layout, c.s)
				if err != nil {
					b.Fatal(err)
				}
				benchTimeSink = t
			}
		})
		b.Run("form="+c.form+"/impl=try_layouts", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var t time.Time
				var err error
				for _, l := range eventTimeLayouts {
					if t, err = time.Parse(l, c.s); err == nil {
						break
					}
				}
				if err != nil {
					b.Fatal(err)
				}
				benchTimeSink = t
			}
		})
	}
}
