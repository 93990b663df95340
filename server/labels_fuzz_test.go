package server

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzParseFeedback: parseFeedback never panics; it either refuses the
// body with a 400 or 413 StatusError, or returns one label per item of a
// JSON array of at most max items, each with a non-empty id, and the
// call's time for an item without one.
func FuzzParseFeedback(f *testing.F) {
	for _, s := range []string{
		`[]`, `[{"id": "a", "label": 1}]`, `[{"id": "a/0", "label": 0.5, "time": "2026-12-03T10:00:00Z"}]`,
		`[{"id": "", "label": 1}]`, `[{"label": 1}]`, `{"id": "a"}`, `[1]`, `[{"id": "a", "label": "x"}]`,
		`[{"id":"a","label":1},{"id":"b","label":1},{"id":"c","label":1},{"id":"d","label":1}]`,
	} {
		f.Add([]byte(s))
	}
	now := time.Unix(1_700_000_000, 0)
	const max = 3
	f.Fuzz(func(t *testing.T, body []byte) {
		out, err := parseFeedback(body, max, now)
		if err != nil {
			var se *StatusError
			if !errors.As(err, &se) || (se.Status != 400 && se.Status != 413) {
				t.Fatalf("parseFeedback(%q): error %v, want a 400 or 413 StatusError", body, err)
			}
			return
		}
		var items []map[string]json.RawMessage
		if err := json.Unmarshal(body, &items); err != nil || len(items) != len(out) || len(out) > max {
			t.Fatalf("parseFeedback(%q) = %d labels (%v), want one per item of the array, at most %d", body, len(out), err, max)
		}
		for i, l := range out {
			if l.ID == "" {
				t.Fatalf("parseFeedback(%q): label %d has an empty id", body, i)
			}
			timed := false // encoding/json matches field names case-insensitively
			for k := range items[i] {
				timed = timed || strings.EqualFold(k, "time")
			}
			if !timed && !l.Time.Equal(now) {
				t.Fatalf("parseFeedback(%q): label %d without a time has %v, want %v", body, i, l.Time, now)
			}
		}
	})
}
