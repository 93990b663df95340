// Package promtest reads a Prometheus text exposition in tests: parsed by
// expfmt's text parser (so every scrape a test reads is also checked to
// parse), and series found by their exact labels. Test code only.
package promtest

import (
	"bytes"
	"math"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Parse parses text, failing t if it does not parse.
func Parse(t testing.TB, text []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	return fams
}

// Find returns the series of family name whose labels are exactly labels
// (name, value pairs; none for an unlabelled series), or nil.
func Find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	for _, m := range fams[name].GetMetric() {
		if len(m.GetLabel())*2 != len(labels) {
			continue
		}
		ok := true
		for _, l := range m.GetLabel() {
			i := slices.Index(labels, l.GetName())
			ok = ok && i >= 0 && i%2 == 0 && labels[i+1] == l.GetValue()
		}
		if ok {
			return m
		}
	}
	return nil
}

// Value is the value of Find's series: a counter's or gauge's value, a
// histogram's count; NaN if there is no such series.
func Value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := Find(fams, name, labels...)
	switch {
	case m == nil:
		return math.NaN()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return m.GetUntyped().GetValue()
}
