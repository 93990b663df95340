package canary

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParsePlan: any input either fails with an error or gives a valid
// plan that writes out and reads back equal.
func FuzzParsePlan(f *testing.F) {
	for _, s := range []string{
		`{"candidate": 2}`,
		`{"candidate": 2, "stable": 1, "steps": [0.5, 10, 100], "min_duration": "1d", "min_requests": 5, "key": "user"}`,
		`{"candidate": 2, "checks": {"max_p99_ratio": null, "min_quality": -0.02, "max_p99_increase": "250us"}}`,
		`{"candidate": 2, "steps": [1, 30, 20, 100]}`,
		`{"candidate": 2, "checks": {"max_prediction_distance": 0.01}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePlan(b)
		if err != nil {
			return
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("Marshal(%+v) from %q: %v", p, b, err)
		}
		back, err := ParsePlan(out)
		if err != nil || !reflect.DeepEqual(back, p) {
			t.Fatalf("ParsePlan(%s) = %+v, %v; want %+v (from %q)", out, back, err, p, b)
		}
	})
}
