package candidates

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/predictd/predictd/model"
)

// FuzzParseCandidates: ParseCandidates never panics; what it accepts is
// valid names, positive or latest versions, none twice, and written back
// with String and commas it parses to the same list.
func FuzzParseCandidates(f *testing.F) {
	for _, s := range []string{"a:1,b:2,c", "a", "a:0", "a,,b", "a:1,a:1", " x : 3", "a:99999999999999999999", "é:1", "a:+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseCandidates(s)
		if err != nil {
			return
		}
		seen := map[Candidate]bool{}
		parts := make([]string, len(cs))
		for i, c := range cs {
			if !model.ValidName(c.Name) || c.Version < 0 || seen[c] {
				t.Fatalf("ParseCandidates(%q) accepted %+v", s, c)
			}
			seen[c] = true
			parts[i] = c.String()
		}
		back, err := ParseCandidates(strings.Join(parts, ","))
		if err != nil || !reflect.DeepEqual(back, cs) {
			t.Fatalf("ParseCandidates(%q) = %v; its String form parses to %v, %v", s, cs, back, err)
		}
	})
}

// FuzzMetricJSON: Metric.UnmarshalJSON never panics, and a value it reads
// writes back to JSON that reads to the same value (NaN as null).
func FuzzMetricJSON(f *testing.F) {
	for _, s := range []string{"0.5", "null", "-1e308", "1e999", `"x"`, "", "[]", "0x10"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Metric
		if err := json.Unmarshal(b, &m); err != nil {
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("Marshal(%v) after Unmarshal(%q): %v", float64(m), b, err)
		}
		var back Metric
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Unmarshal(%s): %v", out, err)
		}
		if back != m && !(math.IsNaN(float64(back)) && math.IsNaN(float64(m))) {
			t.Fatalf("%q read as %v, written %s, read back as %v", b, float64(m), out, float64(back))
		}
	})
}
