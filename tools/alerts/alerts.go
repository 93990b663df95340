package alerts

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/predictd/predictd/monitor/slo"
)

// Model is one model's objectives, as its entry in the serve config file
// gives them.
type Model struct {
	Name string
	SLO  slo.Config
	// Quality, when not nil, asks for the live quality alerts of the
	// model (QualityBelowBaseline and its slice and estimate kin); the
	// SLO may then be empty.
	Quality *QualityAlert
}

// The alerts Generate writes. Their names are a contract with whoever
// routes them (Alertmanager): a page for a budget burning fast, a ticket
// for one burning slowly; the severity label says the same.
const (
	AvailabilityPage   = "PredictdAvailabilityBudgetBurnPage"
	AvailabilityTicket = "PredictdAvailabilityBudgetBurnTicket"
	LatencyPage        = "PredictdLatencyBudgetBurnPage"
	LatencyTicket      = "PredictdLatencyBudgetBurnTicket"
	FeatureDrift       = "PredictdFeatureDrift"
	FeatureDriftWarn   = "PredictdFeatureDriftWarning"
	// QualityBelowBaseline: a model version's live quality over its
	// labelled predictions is worse than its offline evaluation.
	QualityBelowBaseline = "PredictdQualityBelowBaseline"
	// SliceQualityBelowBaseline: the same, for one value of a slice
	// column.
	SliceQualityBelowBaseline = "PredictdSliceQualityBelowBaseline"
	// QualityEstimateBelowBaseline: the CBPE estimate over the predictions
	// still without a label is worse than the offline evaluation.
	QualityEstimateBelowBaseline = "PredictdQualityEstimateBelowBaseline"
)

// The series the recording rules write, each labelled model and slo
// (availability or latency); see docs/slo.md.
const (
	// ObjectiveRecord is the objective, a constant.
	ObjectiveRecord = "model_slo:predictd_slo_objective:ratio"
	// BurnRecordPrefix + FormatWindow(w) ("ratio_rate5m" ... "ratio_rate3d")
	// is the burn rate over w: the bad fraction of the model's requests
	// over w, divided by 1 - objective.
	BurnRecordPrefix = "model_slo:predictd_slo_burn_rate:ratio_rate"
	// SLIRecord is the good fraction over the SLO window (its window label
	// says which).
	SLIRecord = "model_slo:predictd_slo_sli:ratio"
	// BudgetRecord is the error budget left over the SLO window: 1 - (1 -
	// SLI) / (1 - objective).
	BudgetRecord = "model_slo:predictd_slo_error_budget_remaining:ratio"
)

// DriftStatusMetric is the gauge the drift alerts read: 0 ok, 1 warn, 2
// drift, for each model version's feature or output. The daemon's drift
// monitor exports it (issue 14); docs/slo.md states the contract.
const DriftStatusMetric = "predictd_drift_status"

// How long a feature's drift status must hold before its alert fires: the
// status is recomputed over a rolling window as traffic arrives, and a
// single window over the line is noise more often than a broken upstream
// pipeline is fixed within a quarter of an hour.
const (
	driftFor     = 15 * time.Minute
	driftWarnFor = time.Hour
)

// RuleFile is a Prometheus rule file (the format of rule_files).
type RuleFile struct {
	Groups []Group `yaml:"groups"`
}

// Group is a rule group, evaluated in order at each interval.
type Group struct {
	Name  string `yaml:"name"`
	Rules []Rule `yaml:"rules"`
}

// Rule is a recording rule (Record) or an alerting rule (Alert).
type Rule struct {
	Record      string            `yaml:"record,omitempty"`
	Alert       string            `yaml:"alert,omitempty"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for,omitempty"`
	Labels      map[string]string `yaml:"labels,omitempty"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

// header opens every generated file.
const header = `# Prometheus rules for predictd's SLOs and drift, written by
# "predictd alerts" from the serve config's "slo" objects: regenerate them
# rather than edit. docs/slo.md explains each rule and the metrics it reads.
`

// Generate returns the rule file for models, as YAML. Every model's SLO
// must pass Validate, and names must be unique and not empty. Models
// without an objective contribute no rules; the drift alerts cover every
// model that exports a drift status.
func Generate(models []Model) ([]byte, error) {
	rf, err := Rules(models)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(rf); err != nil {
		return nil, fmt.Errorf("alerts: encode rules: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Rules returns the rules Generate writes.
func Rules(models []Model) (RuleFile, error) {
	models = slices.Clone(models)
	slices.SortFunc(models, func(a, b Model) int { return strings.Compare(a.Name, b.Name) })
	for i, m := range models {
		if m.Name == "" {
			return RuleFile{}, fmt.Errorf("alerts: a model has no name")
		}
		if i > 0 && models[i-1].Name == m.Name {
			return RuleFile{}, fmt.Errorf("alerts: model %q is listed twice", m.Name)
		}
		if m.Quality != nil {
			if err := m.Quality.Validate(); err != nil {
				return RuleFile{}, fmt.Errorf("alerts: model %q: quality.alert: %w", m.Name, err)
			}
			if m.SLO.Latency == nil && m.SLO.Availability == nil {
				continue
			}
		}
		if err := m.SLO.Validate(); err != nil {
			return RuleFile{}, fmt.Errorf("alerts: model %q: slo: %w", m.Name, err)
		}
	}
	rec := Group{Name: "predictd-slo-records"}
	for _, m := range models {
		if a := m.SLO.Availability; a != nil {
			rec.Rules = append(rec.Rules, records(m, slo.Availability, a.Objective, availabilityErrors)...)
		}
		if l := m.SLO.Latency; l != nil {
			rec.Rules = append(rec.Rules, records(m, slo.Latency, l.Objective, latencyErrors(l.ThresholdBound()))...)
		}
	}
	var rf RuleFile
	if len(rec.Rules) > 0 {
		rf.Groups = append(rf.Groups, rec, Group{Name: "predictd-slo-alerts", Rules: []Rule{
			burnAlert(AvailabilityPage, slo.Availability, "page"),
			burnAlert(AvailabilityTicket, slo.Availability, "ticket"),
			burnAlert(LatencyPage, slo.Latency, "page"),
			burnAlert(LatencyTicket, slo.Latency, "ticket"),
		}})
	}
	rf.Groups = append(rf.Groups, Group{Name: "predictd-drift-alerts", Rules: driftAlerts()})
	var q Group
	for _, m := range models {
		if m.Quality != nil {
			q.Rules = append(q.Rules, qualityAlerts(m.Name, m.Quality.withDefaults())...)
		}
	}
	if len(q.Rules) > 0 {
		q.Name = "predictd-quality-alerts"
		rf.Groups = append(rf.Groups, q)
	}
	return rf, nil
}

// errorRatio returns PromQL for the fraction of model's requests that
// were bad over the range rng (a PromQL duration): sel is the model's
// label matcher, model="NAME".
type errorRatio func(sel, rng string) string

// availabilityErrors: 5xx among all answered requests. The "or 0 *" term
// makes the ratio 0, not absent, when no request failed; with no request
// at all it is NaN (0/0), which no threshold exceeds.
func availabilityErrors(sel, rng string) string {
	all := fmt.Sprintf(`sum by (model) (rate(predictd_requests_total{%s}[%s]))`, sel, rng)
	return fmt.Sprintf("(\n  sum by (model) (rate(predictd_requests_total{%s,code=~\"5..\"}[%s]))\n  or\n  0 * %s\n)\n/\n%s", sel, rng, all, all)
}

// latencyErrors: the requests above the bound among all those timed, read
// from the latency histogram's bucket of that bound (which is why a
// threshold must be a bucket bound).
func latencyErrors(bound float64) errorRatio {
	le := leMatcher(bound)
	return func(sel, rng string) string {
		return fmt.Sprintf("1 - (\n  sum by (model) (rate(predictd_request_duration_seconds_bucket{%s,%s}[%s]))\n  /\n  sum by (model) (rate(predictd_request_duration_seconds_count{%s}[%s]))\n)", sel, le, rng, sel, rng)
	}
}

// leMatcher matches the bucket of bound as predictd writes its le label
// (strconv's shortest 'g' form, "0.025", "1") and, for a whole number,
// also as Prometheus 3 normalizes it on ingestion ("1.0").
func leMatcher(bound float64) string {
	s := strconv.FormatFloat(bound, 'g', -1, 64)
	if bound == math.Trunc(bound) {
		return fmt.Sprintf(`le=~"%s(\\.0)?"`, s)
	}
	return fmt.Sprintf(`le=%q`, s)
}

// records returns one objective's recording rules: the objective, the
// burn rate over each of slo.Windows, the SLI over the SLO window and the
// budget left.
func records(m Model, kind string, objective float64, bad errorRatio) []Rule {
	sel := "model=" + strconv.Quote(m.Name)
	obj := strconv.FormatFloat(objective, 'g', -1, 64)
	budget := "(1 - " + obj + ")"
	// The model label is also in every result (sum by (model)); as a rule
	// label it makes each rule distinct, which promtool's lint asks for.
	labels := func(kv ...string) map[string]string {
		l := map[string]string{"model": m.Name, "slo": kind}
		for i := 0; i+1 < len(kv); i += 2 {
			l[kv[i]] = kv[i+1]
		}
		return l
	}
	out := []Rule{{
		Record: ObjectiveRecord,
		Expr:   fmt.Sprintf("vector(%s)", obj),
		Labels: labels(),
	}}
	for _, w := range slo.Windows {
		out = append(out, Rule{
			Record: BurnRecordPrefix + slo.FormatWindow(w),
			Expr:   fmt.Sprintf("(\n%s\n)\n/ %s", indent(bad(sel, slo.FormatWindow(w))), budget),
			Labels: labels(),
		})
	}
	win := slo.FormatWindow(m.SLO.WindowOrDefault())
	out = append(out,
		Rule{
			Record: SLIRecord,
			Expr:   fmt.Sprintf("1 - (\n%s\n)", indent(bad(sel, win))),
			Labels: labels("window", win),
		},
		Rule{
			Record: BudgetRecord,
			Expr:   fmt.Sprintf("1 - (1 - %s{%s,slo=%q}) / %s", SLIRecord, sel, kind, budget),
			Labels: labels("window", win),
		})
	return out
}

// burnAlert is the multiwindow, multi-burn-rate alert of one objective
// kind at one severity: the slo.Alerts pairs of that severity, or'ed.
func burnAlert(name, kind, severity string) Rule {
	var terms, pairs []string
	for _, a := range slo.Alerts {
		if a.Severity != severity {
			continue
		}
		f := strconv.FormatFloat(a.Factor, 'g', -1, 64)
		terms = append(terms, fmt.Sprintf("(\n  %s%s{slo=%q} > %s\nand\n  %s%s{slo=%q} > %s\n)",
			BurnRecordPrefix, slo.FormatWindow(a.Long), kind, f, BurnRecordPrefix, slo.FormatWindow(a.Short), kind, f))
		pairs = append(pairs, fmt.Sprintf("%sx over %s and %s", f, slo.FormatWindow(a.Long), slo.FormatWindow(a.Short)))
	}
	speed := "fast"
	if severity == "ticket" {
		speed = "steadily"
	}
	return Rule{
		Alert:  name,
		Expr:   strings.Join(terms, "\nor\n"),
		Labels: map[string]string{"severity": severity},
		Annotations: map[string]string{
			"summary": fmt.Sprintf(`predictd model {{ $labels.model }}: %s error budget burning %s ({{ printf "%%.1f" $value }}x)`, kind, speed),
			"description": fmt.Sprintf("The %s error budget of model {{ $labels.model }} is burning faster than its SLO allows over both windows of a pair (%s: the SRE workbook's %s thresholds). See docs/slo.md.",
				kind, strings.Join(pairs, ", or "), severity),
		},
	}
}

// driftAlerts fire on a feature's (or output's) drift status, once per
// model, version and feature however many replicas report it.
func driftAlerts() []Rule {
	status := fmt.Sprintf("max by (model, version, feature) (%s)", DriftStatusMetric)
	return []Rule{
		{
			Alert:  FeatureDrift,
			Expr:   status + " >= 2",
			For:    slo.FormatWindow(driftFor),
			Labels: map[string]string{"severity": "ticket"},
			Annotations: map[string]string{
				"summary":     "predictd model {{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} has drifted from its training reference",
				"description": "The live distribution of {{ $labels.feature }} crossed the model's drift thresholds for " + slo.FormatWindow(driftFor) + ": check the upstream pipeline, then the model. GET /v1/models/{{ $labels.model }}/monitor shows the statistics.",
			},
		},
		{
			Alert:  FeatureDriftWarn,
			Expr:   status + " == 1",
			For:    slo.FormatWindow(driftWarnFor),
			Labels: map[string]string{"severity": "info"},
			Annotations: map[string]string{
				"summary":     "predictd model {{ $labels.model }} v{{ $labels.version }}: {{ $labels.feature }} is drifting from its training reference",
				"description": "The live distribution of {{ $labels.feature }} has been past the model's warning thresholds for " + slo.FormatWindow(driftWarnFor) + ". GET /v1/models/{{ $labels.model }}/monitor shows the statistics.",
			},
		},
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
