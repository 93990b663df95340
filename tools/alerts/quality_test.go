package alerts

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/monitor/slo"
)

// TestQualityAlertErrors: what Generate refuses in a quality.alert block,
// naming the model and the key.
func TestQualityAlertErrors(t *testing.T) {
	for _, c := range []struct {
		q    QualityAlert
		want string
	}{
		{QualityAlert{Tolerance: -0.1}, `model "m": quality.alert: tolerance -0.1`},
		{QualityAlert{Tolerance: math.NaN()}, `model "m": quality.alert: tolerance NaN`},
		{QualityAlert{Window: slo.Duration(-time.Hour)}, `model "m": quality.alert: window -1h0m0s is negative`},
		{QualityAlert{MinRows: -1}, `model "m": quality.alert: min_rows -1 is negative`},
	} {
		if _, err := Generate([]Model{{Name: "m", Quality: &c.q}}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Generate(quality.alert %+v): %v, want an error containing %q", c.q, err, c.want)
		}
	}
}

// TestQualityDefaults: a model with a zero quality.alert and no SLO gets
// the quality alerts only, with tolerance 0.02, window 24h (as the
// daemon labels it, 24h0m0s) and min_rows 200.
func TestQualityDefaults(t *testing.T) {
	rf, err := Rules([]Model{{Name: "m", Quality: &QualityAlert{}}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range rf.Groups {
		names = append(names, g.Name)
	}
	if got, want := strings.Join(names, ","), "predictd-drift-alerts,predictd-quality-alerts"; got != want {
		t.Fatalf("groups %s, want %s", got, want)
	}
	q := rf.Groups[1].Rules
	if len(q) != 3 {
		t.Fatalf("%d quality rules, want 3: %+v", len(q), q)
	}
	for _, r := range q {
		for _, want := range []string{`window="24h0m0s"`, "- 0.02)", ">= 200", `model="m"`} {
			if !strings.Contains(r.Expr, want) {
				t.Errorf("%s expr lacks %q:\n%s", r.Alert, want, r.Expr)
			}
		}
		if r.For != "15m" || r.Labels["model"] != "m" {
			t.Errorf("%s: for %q, labels %v; want 15m and model m", r.Alert, r.For, r.Labels)
		}
	}
	if strings.Contains(q[2].Expr, "log_loss") {
		t.Errorf("%s compares lower-is-better metrics; CBPE estimates auc and accuracy only:\n%s", q[2].Alert, q[2].Expr)
	}
}
