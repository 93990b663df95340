package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Shown lists the metrics the text table and the page show for the
// report's task, in order: those defined for it.
func (r *Report) Shown() []string {
	switch {
	case r.Task == TaskBinary && r.Curves != nil && len(r.Curves.Calibration.Count) > 0:
		return []string{"auc", "pr_auc", "log_loss", "brier", "ece", "accuracy", "precision", "recall", "f1", "positive_rate", "base_rate"}
	case r.Task == TaskBinary:
		return []string{"auc", "pr_auc"}
	case r.Task == TaskMulticlass && !math.IsNaN(r.Overall.LogLoss):
		return []string{"accuracy", "log_loss", "auc", "auc_weighted", "f1_macro", "f1_weighted", "precision_macro", "recall_macro", "precision_weighted", "recall_weighted"}
	case r.Task == TaskMulticlass:
		return []string{"accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro", "precision_weighted", "recall_weighted"}
	}
	return []string{"rmse", "mae", "r2", "poisson_deviance", "tweedie_deviance"}
}

// fmtMetric formats a metric for the table: 4 significant digits, "–" for
// undefined.
func fmtMetric(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// WriteText writes the report as tables for people: the overall metrics,
// the confusion matrix, each slice column's values with their rows and
// metrics, the best-to-worst spread per metric, and the fairness gaps.
// Undefined numbers show as "–".
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }
	task := r.Task
	if r.ModelTask != r.Task {
		task += " (" + r.ModelTask + ")"
	}
	fmt.Fprintf(w, "%s v%d, %s: %d rows of %s, label %s", r.Model, r.Version, task, r.Rows, r.Input, r.Label)
	switch r.Task {
	case TaskBinary:
		fmt.Fprintf(w, "; threshold %v, %d calibration bins", r.Threshold, r.Bins)
	case TaskRegression:
		fmt.Fprintf(w, "; Tweedie power %v", r.TweediePower)
	}
	fmt.Fprintln(w)
	shown := r.Shown()
	fmt.Fprintln(w, "\nOverall")
	for _, name := range shown {
		v, _ := r.Overall.Get(name)
		p("%s\t%s\t\n", name, fmtMetric(v))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Confusion != nil {
		fmt.Fprintln(w, "\nConfusion matrix (rows: true class, columns: predicted)")
		p("\t")
		for j := range r.Confusion {
			p("%d\t", j)
		}
		p("\n")
		for i, row := range r.Confusion {
			p("%d\t", i)
			for _, n := range row {
				p("%d\t", n)
			}
			p("\n")
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, col := range r.sliceColumns() {
		fmt.Fprintf(w, "\nBy %s\n", col)
		p("%s\trows\t%s\t\n", col, strings.Join(shown, "\t"))
		for _, s := range r.Slices {
			if s.Column != col {
				continue
			}
			p("%s\t%d\t", s.Value, s.Rows)
			for _, name := range shown {
				v, _ := s.Metrics.Get(name)
				p("%s\t", fmtMetric(v))
			}
			p("\n")
		}
		p("spread\t\t")
		for _, name := range shown {
			sp, ok := r.spread(col, name)
			if !ok {
				p("–\t")
			} else {
				p("%s\t", fmtMetric(sp.Spread))
			}
		}
		p("\n")
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, name := range shown {
			if sp, ok := r.spread(col, name); ok && sp.BestValue != sp.WorstValue && name != "positive_rate" && name != "base_rate" {
				fmt.Fprintf(w, "  %s: best %s (%s), worst %s (%s)\n", name, fmtMetric(sp.Best), sp.BestValue, fmtMetric(sp.Worst), sp.WorstValue)
			}
		}
	}
	if f := r.Fairness; f != nil {
		fmt.Fprintf(w, "\nFairness by %s (threshold %v)\n", f.Column, r.Threshold)
		p("%s\trows\tpositives\tpositive rate\tTPR\t\n", f.Column)
		for _, g := range f.Groups {
			p("%s\t%d\t%d\t%s\t%s\t\n", g.Value, g.Rows, g.Positives, fmtMetric(g.PositiveRate), fmtMetric(g.TPR))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "demographic parity difference %s, equal opportunity difference %s\n", fmtMetric(f.DemographicParityDifference), fmtMetric(f.EqualOpportunityDifference))
	}
	return nil
}

// sliceColumns lists the slice columns in the report's order.
func (r *Report) sliceColumns() []string {
	var cols []string
	for _, s := range r.Slices {
		if len(cols) == 0 || cols[len(cols)-1] != s.Column {
			cols = append(cols, s.Column)
		}
	}
	return cols
}

// spread finds a column's spread of a metric.
func (r *Report) spread(col, metric string) (Spread, bool) {
	for _, sp := range r.Spreads {
		if sp.Column == col && sp.Metric == metric {
			return sp, true
		}
	}
	return Spread{}, false
}

// WriteJSON writes the whole report as one indented JSON object; an
// undefined metric is null.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
