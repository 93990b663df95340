package server

import (
	"math"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches /metrics through the handler and parses it with
// expfmt's text parser, failing t unless it is a 200 in Prometheus text
// format that parses; it returns the families and the text.
func scrape(t testing.TB, s *Server) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	code, body, ctx := call(s, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	if ct := string(ctx.Response.Header.ContentType()); ct != string(expfmt.FmtText) {
		t.Errorf("GET /metrics: content type %q, want %q", ct, expfmt.FmtText)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return fams, body
}

// find returns the series of family name whose labels are exactly labels
// (name, value pairs), or nil.
func find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
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

// value is the value of a counter or gauge series, NaN if there is none.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := find(fams, name, labels...)
	switch {
	case m == nil:
		return math.NaN()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return m.GetUntyped().GetValue()
}
