package slo

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestConfigDecodeValidate reads "slo" objects as the serve config file
// holds them (unknown fields refused, as serve decodes) and checks them.
func TestConfigDecodeValidate(t *testing.T) {
	for _, c := range []struct {
		json string
		want Config // when wantErr is empty
		err  string // a part of the error, from decoding or Validate
	}{
		{json: `{"latency": {"threshold": "25ms", "objective": 0.99}, "availability": {"objective": 0.999}, "window": "28d"}`,
			want: Config{Latency: &LatencyObjective{Threshold: Duration(25 * time.Millisecond), Objective: 0.99}, Availability: &AvailabilityObjective{Objective: 0.999}, Window: Duration(DefaultWindow)}},
		{json: `{"availability": {"objective": 0.9}, "window": "30m"}`,
			want: Config{Availability: &AvailabilityObjective{Objective: 0.9}, Window: Duration(30 * time.Minute)}},
		{json: `{"latency": {"threshold": "1s", "objective": 0.5}, "window": "1d12h"}`,
			want: Config{Latency: &LatencyObjective{Threshold: Duration(time.Second), Objective: 0.5}, Window: Duration(36 * time.Hour)}},
		{json: `{"latency": {"threshold": "50us", "objective": 0.5}}`,
			want: Config{Latency: &LatencyObjective{Threshold: Duration(50 * time.Microsecond), Objective: 0.5}}},
		{json: `{}`, err: `no objective: want "latency", "availability" or both`},
		{json: `{"latency": {"threshold": "24ms", "objective": 0.99}}`, err: "latency.threshold 24ms: not a bound of predictd_request_duration_seconds (the alert rules count the requests under one); want one of 50µs, 100µs,"},
		{json: `{"latency": {"objective": 0.99}}`, err: "latency.threshold 0s: not a bound"},
		{json: `{"latency": {"threshold": "25ms", "objective": 99}}`, err: "latency.objective 99: want a fraction between 0 and 1, exclusive"},
		{json: `{"latency": {"threshold": "25ms"}}`, err: "latency.objective 0: want a fraction"},
		{json: `{"availability": {"objective": 1}}`, err: "availability.objective 1: want a fraction"},
		{json: `{"availability": {"objective": -0.5}}`, err: "availability.objective -0.5: want a fraction"},
		{json: `{"availability": {"objective": 0.99}, "window": "30s"}`, err: `window 30s: want a whole number of minutes from 1m to 90d`},
		{json: `{"availability": {"objective": 0.99}, "window": "91d"}`, err: `window 91d: want a whole number of minutes`},
		{json: `{"availability": {"objective": 0.99}, "window": "90m30s"}`, err: `window 5430s: want a whole number of minutes`},
		{json: `{"availability": {"objective": 0.99}, "window": "a month"}`, err: `"a month" is not a duration: want a string such as "25ms", "30m" or "28d"`},
		{json: `{"availability": {"objective": 0.99}, "window": 28}`, err: `want a duration string such as "25ms" or "28d", got 28`},
		{json: `{"availabilty": {"objective": 0.99}}`, err: `unknown field "availabilty"`},
		{json: `{"latency": {"threshold": "25ms", "objective": 0.99, "percentile": 99}}`, err: `unknown field "percentile"`},
	} {
		var got Config
		dec := json.NewDecoder(strings.NewReader(c.json))
		dec.DisallowUnknownFields()
		err := dec.Decode(&got)
		if err == nil {
			err = got.Validate()
		}
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one containing %q", c.json, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.json, err)
		case c.err == "":
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(c.want)
			if !bytes.Equal(g, w) {
				t.Errorf("%s: decoded %s, want %s", c.json, g, w)
			}
		}
	}
}

func TestWindowOrDefault(t *testing.T) {
	if w := (Config{}).WindowOrDefault(); w != 28*24*time.Hour {
		t.Errorf("Config{}.WindowOrDefault() = %v, want 28 days", w)
	}
	if w := (Config{Window: Duration(time.Hour)}).WindowOrDefault(); w != time.Hour {
		t.Errorf("WindowOrDefault() with window 1h = %v", w)
	}
}

// TestFormatWindow: the spellings in labels and PromQL ranges, which
// ParseDuration (and Prometheus) read back to the same duration.
func TestFormatWindow(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{5 * time.Minute, "5m"}, {90 * time.Minute, "90m"}, {time.Hour, "1h"}, {36 * time.Hour, "36h"},
		{24 * time.Hour, "1d"}, {DefaultWindow, "28d"}, {30 * time.Second, "30s"}, {25 * time.Millisecond, "25ms"},
	} {
		if got := FormatWindow(c.d); got != c.want {
			t.Errorf("FormatWindow(%v) = %q, want %q", c.d, got, c.want)
		}
		if back, err := ParseDuration(c.want); err != nil || back != c.d {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", c.want, back, err, c.d)
		}
	}
}

// TestThresholdBound: every threshold Validate accepts maps back to its
// bucket bound exactly (the rules' le label).
func TestThresholdBound(t *testing.T) {
	for _, s := range Thresholds() {
		d, err := ParseDuration(s)
		if err != nil {
			t.Fatalf("ParseDuration(%q): %v", s, err)
		}
		l := LatencyObjective{Threshold: Duration(d), Objective: 0.9}
		if err := (Config{Latency: &l}).Validate(); err != nil {
			t.Errorf("threshold %s: %v", s, err)
		}
		if got := l.ThresholdBound(); time.Duration(got*1e9+0.5) != d {
			t.Errorf("ThresholdBound(%s) = %v", s, got)
		}
	}
}
