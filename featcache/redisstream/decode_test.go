package redisstream

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/predictd/predictd/featcache"
)

func fields(kv ...string) []rueidis.XRangeFieldValue {
	var fv []rueidis.XRangeFieldValue
	for i := 0; i+1 < len(kv); i += 2 {
		fv = append(fv, rueidis.XRangeFieldValue{Field: kv[i], Value: kv[i+1]})
	}
	return fv
}

func TestDecode(t *testing.T) {
	defs := parseDefs(t)
	at := time.Date(2026, 11, 25, 12, 0, 0, 5, time.UTC)
	good := func(f func(kv []string) []string) []string {
		kv := []string{"view", "stats", "entity", "+007", "event_time", at.Format(time.RFC3339Nano), "spend", "1.5", "orders", "2"}
		if f != nil {
			kv = f(kv)
		}
		return kv
	}
	set := func(k, v string) func([]string) []string {
		return func(kv []string) []string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					kv[i+1] = v
				}
			}
			return kv
		}
	}
	drop := func(k string) func([]string) []string {
		return func(kv []string) []string {
			var out []string
			for i := 0; i < len(kv); i += 2 {
				if kv[i] != k {
					out = append(out, kv[i], kv[i+1])
				}
			}
			return out
		}
	}
	add := func(k, v string) func([]string) []string {
		return func(kv []string) []string { return append(kv, k, v) }
	}

	// Accepted messages.
	for _, c := range []struct {
		in     []string
		entity string
		spend  float64 // NaN: missing
	}{
		{good(nil), "7", 1.5},
		{good(set("spend", "")), "7", math.NaN()},
		{good(set("spend", "null")), "7", math.NaN()},
		{good(set("spend", "NaN")), "7", math.NaN()},
		{good(set("spend", "-2.5e3")), "7", -2500},
		{good(set("orders", "3.0")), "7", 1.5},
	} {
		view, row, err := Decode(defs, fields(c.in...))
		if err != nil {
			t.Errorf("Decode(%q) error %v, want a row", c.in, err)
			continue
		}
		spend := row.Values[0]
		if view != "stats" || row.Entity != c.entity || !row.EventTime.Equal(at) ||
			!(spend == c.spend || math.IsNaN(spend) && math.IsNaN(c.spend)) {
			t.Errorf("Decode(%q) = %s %+v, want stats entity %s at %v spend %v", c.in, view, row, c.entity, at, c.spend)
		}
	}

	// Refused messages: the error names the field.
	for _, c := range []struct {
		in   []string
		want string
	}{
		{good(set("view", "nope")), `field "view": no feature view "nope" (views: stats, item_stats)`},
		{good(drop("view")), `field "view" missing`},
		{good(drop("entity")), `field "entity" missing`},
		{good(set("entity", "")), `field "entity": empty`},
		{good(set("entity", "x7")), `field "entity": entity user: user_id "x7" is not an int64`},
		{good(drop("event_time")), `field "event_time" missing`},
		{good(set("event_time", "yesterday")), `field "event_time": "yesterday" is not a time in a known form; want RFC 3339`},
		{good(set("event_time", "0001-01-01T00:00:00Z")), `field "event_time": "0001-01-01T00:00:00Z" is outside the years 1678..2262`},
		{good(set("event_time", "2300-01-01T00:00:00Z")), `is outside the years`},
		{good(add("clicks", "1")), `unknown field "clicks"`},
		{good(add("spend", "1")), `field "spend" given twice`},
		{good(drop("orders")), `feature "orders" missing`},
		{good(set("orders", "2.5")), `feature "orders": want an integer (int feature), got 2.5`},
		{good(set("spend", "abc")), `feature "spend": "abc" is not a finite decimal number`},
		{good(set("spend", "Inf")), `feature "spend": "Inf" is not a finite decimal number`},
		{good(set("spend", "nan")), `feature "spend": "nan" is not a finite decimal number`},
		{good(set("spend", "0x1p2")), `feature "spend": "0x1p2" is not a finite decimal number`},
		{good(set("spend", "1e400")), `feature "spend": "1e400" is not a finite decimal number`},
		{[]string{"view", "item_stats", "entity", "a\x00b", "event_time", ts(0), "score", "1"}, `field "entity": entity item: item_id "a\x00b" contains a NUL byte`},
		{[]string{"view", "item_stats", "entity", "a\rb", "event_time", ts(0), "score", "1"}, `field "entity": entity item: item_id "a\rb" contains a control byte`},
		{[]string{"view", "item_stats", "entity", strings.Repeat("k", featcache.MaxKeyBytes+1), "event_time", ts(0), "score", "1"}, `bytes, longer than the 256-byte limit on entity keys`},
		{good(set("event_time", "9999-12-31T23:59:59Z")), `field "event_time": "9999-12-31T23:59:59Z" is outside the years 1678..2262`},
	} {
		_, row, err := Decode(defs, fields(c.in...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Decode(%q) = %+v, %v; want an error containing %q", c.in, row, err, c.want)
		}
	}
}

// FuzzDecode checks Decode never panics and that what it accepts Write's
// checks accept too (canonical entity, a value per feature, integers
// where wanted).
func FuzzDecode(f *testing.F) {
	defs := parseDefs(f)
	// The input is field=value lines.
	f.Add("view=stats\nentity=+007\nevent_time=2026-11-25T12:00:00Z\nspend=1.5\norders=2")
	f.Add("view=item_stats\nentity=a\nevent_time=2026-11-25T12:00:00.5+02:00\nscore=null")
	f.Add("view=stats\nentity=1\nevent_time=2026-11-25T12:00:00Z\nspend=\norders=NaN\nx=1")
	f.Add("view=stats\nview=stats")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		var fv []rueidis.XRangeFieldValue
		for _, line := range strings.Split(in, "\n") {
			k, v, _ := strings.Cut(line, "=")
			fv = append(fv, rueidis.XRangeFieldValue{Field: k, Value: v})
		}
		view, row, err := Decode(defs, fv)
		if err != nil {
			return
		}
		v, ok := defs.View(view)
		if !ok {
			t.Fatalf("Decode(%q) accepted unknown view %q", in, view)
		}
		if key, err := v.Entity.CanonicalKey(row.Entity); err != nil || key != row.Entity || featcache.CheckKey(row.Entity) != nil {
			t.Fatalf("Decode(%q) entity %q is not canonical (%q, %v)", in, row.Entity, key, err)
		}
		if len(row.Values) != len(v.Features) || featcache.CheckEventTime(row.EventTime) != nil {
			t.Fatalf("Decode(%q) = %+v, want %d values and an event time", in, row, len(v.Features))
		}
		for j, feat := range v.Features {
			if err := feat.CheckValue(row.Values[j]); err != nil {
				t.Fatalf("Decode(%q) feature %s = %v: %v", in, feat.Name, row.Values[j], err)
			}
		}
	})
}
