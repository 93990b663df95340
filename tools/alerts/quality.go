package alerts

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/predictd/predictd/monitor/slo"
)

// The gauges the quality alerts read; the daemon exports them when it
// records labels (server/quality.go, docs/labels.md).
const (
	QualityMetric          = "predictd_model_quality"
	QualitySliceMetric     = "predictd_model_quality_slice"
	QualityEstimatedMetric = "predictd_model_quality_estimated"
	QualityRowsMetric      = "predictd_model_quality_rows"
	// QualitySliceRowsMetric is a slice value's labelled predictions in a
	// window, labelled model, version, window, column and value.
	QualitySliceRowsMetric = "predictd_model_quality_slice_rows"
	// QualityBaselineMetric is a served version's offline evaluation
	// (its manifest's), labelled model, version and metric.
	QualityBaselineMetric = "predictd_model_quality_baseline"
)

// The quality metrics by direction. A metric in neither (mean_error) has
// no alert.
var (
	HigherIsBetter = []string{"auc", "accuracy"}
	LowerIsBetter  = []string{"log_loss", "brier", "ece", "rmse", "mae"}
)

// The defaults of QualityAlert's zero fields.
const (
	DefaultQualityTolerance = 0.02
	DefaultQualityWindow    = 24 * time.Hour
	DefaultQualityMinRows   = 200
	qualityFor              = 15 * time.Minute
)

// QualityAlert is a model's "quality": {"alert": {...}} block: its live
// quality alerts fire when a metric over Window is worse than the
// version's offline evaluation by more than Tolerance (absolute, in the
// metric's units) while the window holds at least MinRows rows. A zero
// field takes its default (0.02, 24h, 200).
type QualityAlert struct {
	Tolerance float64      `json:"tolerance"`
	Window    slo.Duration `json:"window"`
	MinRows   int64        `json:"min_rows"`
}

// Validate refuses a negative or not finite tolerance, a negative window
// or min_rows.
func (q QualityAlert) Validate() error {
	switch {
	case q.Tolerance < 0 || math.IsNaN(q.Tolerance) || math.IsInf(q.Tolerance, 0):
		return fmt.Errorf("tolerance %v: want a finite number >= 0 (0: %v)", q.Tolerance, DefaultQualityTolerance)
	case q.Window < 0:
		return fmt.Errorf("window %s is negative", time.Duration(q.Window))
	case q.MinRows < 0:
		return fmt.Errorf("min_rows %d is negative", q.MinRows)
	}
	return nil
}

// WithDefaults returns q with its zero fields set to the defaults; the
// daemon flags in /monitor what these rules alert on.
func (q QualityAlert) WithDefaults() QualityAlert { return q.withDefaults() }

func (q QualityAlert) withDefaults() QualityAlert {
	if q.Tolerance == 0 {
		q.Tolerance = DefaultQualityTolerance
	}
	if q.Window == 0 {
		q.Window = slo.Duration(DefaultQualityWindow)
	}
	if q.MinRows == 0 {
		q.MinRows = DefaultQualityMinRows
	}
	return q
}

// qualityAlerts returns model's three quality alerts. The window label
// is matched as the daemon writes it (time.Duration's String, "24h0m0s").
func qualityAlerts(model string, q QualityAlert) []Rule {
	sel := fmt.Sprintf("model=%q", model)
	win := fmt.Sprintf("window=%q", time.Duration(q.Window).String())
	tol := strconv.FormatFloat(q.Tolerance, 'g', -1, 64)
	rows := func(state string) string {
		return fmt.Sprintf("max by (model, version) (%s{%s,%s,state=%q}) >= %d", QualityRowsMetric, sel, win, state, q.MinRows)
	}
	// A slice is measured on its own labelled rows, not the version's: a
	// small slice's metric is noise until it has min_rows of them.
	sliceRows := fmt.Sprintf("max by (model, version, column, value) (%s{%s,%s}) >= %d", QualitySliceRowsMetric, sel, win, q.MinRows)
	type direction struct {
		metrics []string
		op, pm  string
	}
	higher, lower := direction{HigherIsBetter, "<", "-"}, direction{LowerIsBetter, ">", "+"}
	worse := func(metric, by string, dirs ...direction) string {
		var terms []string
		for _, d := range dirs {
			re := strings.Join(d.metrics, "|")
			terms = append(terms, fmt.Sprintf("(\n  max by (%s) (%s{%s,%s,metric=~%q})\n  %s on (model, version, metric) group_left()\n  (max by (model, version, metric) (%s{%s,metric=~%q}) %s %s)\n)",
				by, metric, sel, win, re, d.op, QualityBaselineMetric, sel, re, d.pm, tol))
		}
		return strings.Join(terms, "\nor\n")
	}
	baseline := fmt.Sprintf(`{{ with printf "%s{model=%%q,version=%%q,metric=%%q}" $labels.model $labels.version $labels.metric | query }}{{ . | first | value | printf "%%.4f" }}{{ end }}`, QualityBaselineMetric)
	w := slo.FormatWindow(time.Duration(q.Window))
	over := fmt.Sprintf("over %s (%s rows at least), worse than the offline evaluation's %s by more than %s", w, strconv.FormatInt(q.MinRows, 10), baseline, tol)
	alert := func(name, expr, severity, summary, desc string) Rule {
		return Rule{
			Alert: name,
			Expr:  expr,
			For:   slo.FormatWindow(qualityFor),
			// model is in every result too; as a rule label it makes the
			// rules of two models distinct, which promtool's lint asks for.
			Labels:      map[string]string{"severity": severity, "model": model},
			Annotations: map[string]string{"summary": summary, "description": desc + " See docs/slo.md."},
		}
	}
	return []Rule{
		alert(QualityBelowBaseline,
			fmt.Sprintf("(\n%s\n)\nand on (model, version)\n  %s", indent(worse(QualityMetric, "model, version, metric", higher, lower)), rows("labelled")),
			"ticket",
			`predictd model {{ $labels.model }} v{{ $labels.version }}: live {{ $labels.metric }} {{ printf "%.4f" $value }} worse than its offline baseline `+baseline,
			"The "+"{{ $labels.metric }} of the labelled predictions "+over+"."),
		alert(SliceQualityBelowBaseline,
			fmt.Sprintf("(\n%s\n)\nand on (model, version, column, value)\n  %s", indent(worse(QualitySliceMetric, "model, version, column, value, metric", higher, lower)), sliceRows),
			"ticket",
			`predictd model {{ $labels.model }} v{{ $labels.version }}: {{ $labels.metric }} {{ printf "%.4f" $value }} for {{ $labels.column }}={{ $labels.value }} worse than its offline baseline `+baseline,
			"The {{ $labels.metric }} of the labelled predictions with {{ $labels.column }}={{ $labels.value }} "+strings.Replace(over, "rows at least", "rows of the slice at least", 1)+"."),
		alert(QualityEstimateBelowBaseline,
			fmt.Sprintf("(\n%s\n)\nand on (model, version)\n  %s", indent(worse(QualityEstimatedMetric, "model, version, metric", higher)), rows("unlabelled")),
			"warning",
			`predictd model {{ $labels.model }} v{{ $labels.version }}: estimated {{ $labels.metric }} {{ printf "%.4f" $value }} worse than its offline baseline `+baseline,
			"The CBPE estimate of the {{ $labels.metric }} of the predictions still without a label "+strings.Replace(over, "rows at least", "unlabelled rows at least", 1)+": an estimate, assuming calibrated scores."),
	}
}
