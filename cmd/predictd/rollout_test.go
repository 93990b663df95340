package main

import (
	"strings"
	"testing"
)

// TestRolloutBlock: a model's "rollout" config block: a plan, with
// candidate 0, "auto" or left out meaning every new version; an error
// names the file, the model and the field.
func TestRolloutBlock(t *testing.T) {
	for _, c := range []struct {
		in        string
		candidate int
		err       string
	}{
		{``, -1, ""},
		{`null`, -1, ""},
		{`{"candidate": 7, "steps": [10, 100]}`, 7, ""},
		{`{"candidate": "auto"}`, 0, ""},
		{`{"candidate": 0, "min_duration": "30s"}`, 0, ""},
		{`{"min_requests": 10}`, 0, ""},
		{`{"candidate": 2, "steps": [50, 10, 100]}`, 0, "rollout.steps"},
		{`{"candidate": 2, "bogus": true}`, 0, "bogus"},
		{`{"candidate": "seven"}`, 0, "candidate"},
		{`[1]`, 0, "want an object"},
	} {
		b := rolloutBlock{raw: []byte(c.in)}
		rc, err := b.config("serve.json", "fraud")
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), `config file serve.json: model "fraud"`) {
				t.Errorf("config(%s) error = %v, want one naming serve.json, fraud and %q", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("config(%s): %v", c.in, err)
		case c.candidate < 0:
			if rc != nil {
				t.Errorf("config(%s) = %+v, want none", c.in, rc)
			}
		case rc == nil || rc.Plan.Candidate != c.candidate:
			t.Errorf("config(%s) = %+v, want candidate %d", c.in, rc, c.candidate)
		}
	}
}
