package slo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	pmodel "github.com/prometheus/common/model"

	"github.com/predictd/predictd/monitor"
)

// DefaultWindow is the SLO window when a Config names none: 28 days, four
// whole weeks, so that every window holds as many weekends.
const DefaultWindow = 28 * 24 * time.Hour

// MinWindow and MaxWindow bound an SLO window. A few minutes serve tests;
// 90 days bounds the Tracker's ring (a slot an hour) and the range the
// Prometheus rules read back.
const (
	MinWindow = time.Minute
	MaxWindow = 90 * 24 * time.Hour
)

// Config is one model's service level objectives, the "slo" object of a
// model in the serve config file:
//
//	"slo": {"latency": {"threshold": "25ms", "objective": 0.99},
//	        "availability": {"objective": 0.999}, "window": "28d"}
//
// Either objective may be left out, not both. Check it with Validate.
type Config struct {
	// Latency, if set: the fraction of requests answered within
	// Threshold is to be at least Objective.
	Latency *LatencyObjective `json:"latency,omitempty"`
	// Availability, if set: the fraction of requests answered with a
	// status other than 5xx is to be at least Objective.
	Availability *AvailabilityObjective `json:"availability,omitempty"`
	// Window is the rolling window both objectives are measured over; 0
	// means DefaultWindow. A whole number of minutes in [MinWindow,
	// MaxWindow].
	Window Duration `json:"window,omitempty"`
}

// LatencyObjective is a latency SLO: at least Objective of requests are
// answered within Threshold.
type LatencyObjective struct {
	// Threshold is one of monitor.LatencyBuckets ("25ms"): a request
	// taking exactly Threshold is good.
	Threshold Duration `json:"threshold"`
	// Objective is a fraction in (0, 1), such as 0.99.
	Objective float64 `json:"objective"`
}

// AvailabilityObjective is an availability SLO: at least Objective of
// requests are answered with a status other than 5xx.
type AvailabilityObjective struct {
	// Objective is a fraction in (0, 1), such as 0.999.
	Objective float64 `json:"objective"`
}

// WindowOrDefault is c.Window, or DefaultWindow when that is 0.
func (c Config) WindowOrDefault() time.Duration {
	if c.Window == 0 {
		return DefaultWindow
	}
	return time.Duration(c.Window)
}

// Validate checks c; an error names the field (as the config file spells
// it) and says what to write instead.
func (c Config) Validate() error {
	if c.Latency == nil && c.Availability == nil {
		return errors.New(`no objective: want "latency", "availability" or both`)
	}
	if c.Latency != nil {
		if _, ok := bucketIndex(time.Duration(c.Latency.Threshold)); !ok {
			return fmt.Errorf("latency.threshold %s: not a bound of predictd_request_duration_seconds (the alert rules count the requests under one); want one of %s",
				c.Latency.Threshold, strings.Join(Thresholds(), ", "))
		}
		if err := checkObjective(c.Latency.Objective); err != nil {
			return fmt.Errorf("latency.objective %v", err)
		}
	}
	if c.Availability != nil {
		if err := checkObjective(c.Availability.Objective); err != nil {
			return fmt.Errorf("availability.objective %v", err)
		}
	}
	if w := time.Duration(c.Window); w != 0 && (w < MinWindow || w > MaxWindow || w%time.Minute != 0) {
		return fmt.Errorf("window %s: want a whole number of minutes from %s to %s, such as \"28d\" (the default) or \"30m\"",
			c.Window, FormatWindow(MinWindow), FormatWindow(MaxWindow))
	}
	return nil
}

func checkObjective(v float64) error {
	if !(v > 0 && v < 1) { // also refuses NaN
		return fmt.Errorf("%s: want a fraction between 0 and 1, exclusive, such as 0.99 or 0.999", strconv.FormatFloat(v, 'g', -1, 64))
	}
	return nil
}

// bucketIndex returns the index of d in monitor.LatencyBuckets.
func bucketIndex(d time.Duration) (int, bool) {
	for i, b := range monitor.LatencyBuckets {
		if time.Duration(math.Round(b*1e9)) == d {
			return i, true
		}
	}
	return 0, false
}

// Thresholds lists the latency thresholds an SLO may name: the bounds of
// monitor.LatencyBuckets, as durations ("50µs" ... "10s").
func Thresholds() []string {
	out := make([]string, len(monitor.LatencyBuckets))
	for i, b := range monitor.LatencyBuckets {
		out[i] = time.Duration(math.Round(b * 1e9)).String()
	}
	return out
}

// ThresholdBound returns the latency threshold as the bucket bound the
// histogram and the rules use, in seconds (0.025 for 25ms). Only for a
// threshold Validate accepted.
func (l LatencyObjective) ThresholdBound() float64 {
	i, ok := bucketIndex(time.Duration(l.Threshold))
	if !ok {
		panic(fmt.Sprintf("BUG: slo: latency threshold %s is not a bucket bound; Validate first", l.Threshold))
	}
	return monitor.LatencyBuckets[i]
}

// Duration is a time.Duration written in the config file as a string: a
// Go duration ("25ms", "1.5s") or a Prometheus one, which adds days and
// weeks ("28d", "1d12h", "4w").
type Duration time.Duration

// ParseDuration reads a Go or a Prometheus duration string.
func ParseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	d, err := pmodel.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: want a string such as \"25ms\", \"30m\" or \"28d\"", s)
	}
	return time.Duration(d), nil
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"25ms\" or \"28d\", got %s", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as FormatWindow does.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

func (d Duration) String() string { return FormatWindow(time.Duration(d)) }

// FormatWindow writes d in the largest of the units d, h, m, s that
// divides it ("28d", "90m", "30s"), else as Go does ("25ms"): the spelling
// of a window in metric labels, rule names and PromQL ranges, which
// Prometheus parses back to the same duration.
func FormatWindow(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d > 0 && d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return d.String()
}
