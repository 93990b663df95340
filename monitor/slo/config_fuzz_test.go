package slo

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzConfig: any bytes decode into a Config or fail with an error, never
// a panic; a Config that decodes and validates writes back (MarshalJSON,
// FormatWindow) to JSON that decodes to the same Config, which validates
// again.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(`{"latency": {"threshold": "25ms", "objective": 0.99}, "availability": {"objective": 0.999}, "window": "28d"}`))
	f.Add([]byte(`{"availability": {"objective": 0.9}, "window": "1d12h"}`))
	f.Add([]byte(`{"latency": {"threshold": "1s", "objective": 0.5}, "window": "4w"}`))
	f.Add([]byte(`{"window": "-5m"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Config
		if err := json.Unmarshal(b, &c); err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("a valid Config %+v does not marshal: %v", c, err)
		}
		var back Config
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s (from %q) does not decode: %v", out, b, err)
		}
		if !reflect.DeepEqual(c, back) {
			t.Fatalf("%q decodes to %+v, written back as %s, which decodes to %+v", b, c, out, back)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("%s: no longer valid: %v", out, err)
		}
	})
}
