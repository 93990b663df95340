package eval

import (
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/predictd/predictd/internal/htmlpage"
)

// Plot size: three square-ish plots side by side would be too small in a
// 1100px column, so each takes half the width.
const (
	plotW = 5 * vg.Inch
	plotH = 4.2 * vg.Inch
)

func line(xs, ys []float64) (plotter.XYs, bool) {
	var pts plotter.XYs
	for i := range xs {
		if math.IsNaN(xs[i]) || math.IsNaN(ys[i]) {
			continue
		}
		pts = append(pts, plotter.XY{X: xs[i], Y: ys[i]})
	}
	return pts, len(pts) > 0
}

// addLine adds a line of pts in c (thin and dashed when dashed), named
// in the legend unless name is "".
func addLine(p *plot.Plot, pts plotter.XYs, name string, c color.Color, dashed bool) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color, l.Width = c, vg.Points(2)
	if dashed {
		l.Width, l.Dashes = vg.Points(1), []vg.Length{vg.Points(5), vg.Points(4)}
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

func unitAxes(p *plot.Plot) {
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1.02
}

// rocPlot draws the ROC curve with the chance diagonal.
func (r *Report) rocPlot() (*plot.Plot, error) {
	p := htmlpage.NewPlot("ROC curve", "false positive rate", "true positive rate")
	p.Legend.Top, p.Legend.Left, p.Legend.XOffs, p.Legend.YOffs = false, false, -vg.Points(8), vg.Points(8)
	unitAxes(p)
	if err := addLine(p, plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}}, "chance", htmlpage.Grey, true); err != nil {
		return nil, err
	}
	if pts, ok := line(r.Curves.ROC.FPR, r.Curves.ROC.TPR); ok {
		if err := addLine(p, pts, "AUC "+fmtMetric(r.Overall.AUC), htmlpage.Blue, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// prPlot draws the precision-recall curve (as a step function, the way
// average precision integrates it) with the base rate.
func (r *Report) prPlot() (*plot.Plot, error) {
	p := htmlpage.NewPlot("Precision-recall curve", "recall", "precision")
	p.Legend.Top, p.Legend.Left, p.Legend.XOffs, p.Legend.YOffs = false, true, vg.Points(8), vg.Points(8)
	unitAxes(p)
	c := r.Curves.PR
	var pts plotter.XYs
	for i := range c.Recall {
		if i > 0 {
			// Recall descends: precision[i] holds from recall[i] up to recall[i-1].
			pts = append(pts, plotter.XY{X: c.Recall[i], Y: c.Precision[i-1]})
		}
		pts = append(pts, plotter.XY{X: c.Recall[i], Y: c.Precision[i]})
	}
	if !math.IsNaN(r.Overall.BaseRate) {
		if err := addLine(p, plotter.XYs{{X: 0, Y: r.Overall.BaseRate}, {X: 1, Y: r.Overall.BaseRate}}, "base rate "+fmtMetric(r.Overall.BaseRate), htmlpage.Grey, true); err != nil {
			return nil, err
		}
	}
	if len(pts) > 0 {
		if err := addLine(p, pts, "average precision "+fmtMetric(r.Overall.PRAUC), htmlpage.Orange, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// calibrationPlot draws the reliability curve against the diagonal.
func (r *Report) calibrationPlot() (*plot.Plot, error) {
	p := htmlpage.NewPlot(fmt.Sprintf("Calibration (%d uniform bins)", r.Bins), "mean predicted probability", "fraction of positives")
	unitAxes(p)
	if err := addLine(p, plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}}, "perfectly calibrated", htmlpage.Grey, true); err != nil {
		return nil, err
	}
	c := r.Curves.Calibration
	if pts, ok := line(c.MeanPredicted, c.FractionPositive); ok {
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = htmlpage.Green, vg.Points(2)
		sc.Color, sc.Radius, sc.Shape = htmlpage.Green, vg.Points(3), draw.CircleGlyph{}
		p.Add(l, sc)
		p.Legend.Add("ECE "+fmtMetric(r.Overall.ECE), l)
	}
	return p, nil
}

// classROCPlot draws each class's one-vs-rest ROC curve.
func (r *Report) classROCPlot() (*plot.Plot, error) {
	p := htmlpage.NewPlot("One-vs-rest ROC curves", "false positive rate", "true positive rate")
	p.Legend.Top, p.Legend.Left, p.Legend.XOffs, p.Legend.YOffs = false, false, -vg.Points(8), vg.Points(8)
	unitAxes(p)
	if err := addLine(p, plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}}, "chance", htmlpage.Grey, true); err != nil {
		return nil, err
	}
	for i, c := range r.Curves.ClassROC {
		if pts, ok := line(c.FPR, c.TPR); ok {
			if err := addLine(p, pts, fmt.Sprintf("class %d, AUC %s", c.Class, fmtMetric(c.AUC)), htmlpage.Series(i), false); err != nil {
				return nil, err
			}
		}
	}
	return p, nil
}

// regressionPlot draws the mean label against the mean prediction of
// bins of rows by ascending prediction, with the diagonal.
func (r *Report) regressionPlot() (*plot.Plot, error) {
	c := r.Curves.Regression
	p := htmlpage.NewPlot(fmt.Sprintf("Predicted vs actual (%d bins of equal rows)", len(c.Count)), "mean prediction", "mean label")
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := range c.Count {
		lo, hi = min(lo, c.MeanPredicted[i], c.MeanLabel[i]), max(hi, c.MeanPredicted[i], c.MeanLabel[i])
	}
	if lo > hi {
		return p, nil
	}
	if err := addLine(p, plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}}, "prediction = label", htmlpage.Grey, true); err != nil {
		return nil, err
	}
	if pts, ok := line(c.MeanPredicted, c.MeanLabel); ok {
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = htmlpage.Purple, vg.Points(2)
		sc.Color, sc.Radius, sc.Shape = htmlpage.Purple, vg.Points(3), draw.CircleGlyph{}
		p.Add(l, sc)
		p.Legend.Add("bins", l)
	}
	return p, nil
}

// primary is the metric the slice plot shows for the task.
func (r *Report) primary() string {
	switch r.Task {
	case TaskRegression:
		return "rmse"
	case TaskMulticlass:
		if !math.IsNaN(r.Overall.LogLoss) {
			return "auc"
		}
		return "accuracy"
	}
	return "auc"
}

// slicePlot draws the primary metric of each slice as a dot per value,
// with the overall value as a dashed line; nil when there are no slices.
func (r *Report) slicePlot() (*plot.Plot, error) {
	if len(r.Slices) == 0 {
		return nil, nil
	}
	name := r.primary()
	p := htmlpage.NewPlot(name+" by slice", "", name)
	var names []string
	var pts plotter.XYs
	for i, s := range r.Slices {
		names = append(names, s.Column+"="+s.Value)
		if v, _ := s.Metrics.Get(name); !math.IsNaN(v) {
			pts = append(pts, plotter.XY{X: float64(i), Y: v})
		}
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 5
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	if ov, _ := r.Overall.Get(name); !math.IsNaN(ov) {
		if err := addLine(p, plotter.XYs{{X: -0.5, Y: ov}, {X: float64(len(names)) - 0.5, Y: ov}}, "overall "+fmtMetric(ov), htmlpage.Grey, true); err != nil {
			return nil, err
		}
	}
	// Room above the highest dot for the legend.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pt := range pts {
		lo, hi = min(lo, pt.Y), max(hi, pt.Y)
	}
	if ov, _ := r.Overall.Get(name); !math.IsNaN(ov) {
		lo, hi = min(lo, ov), max(hi, ov)
	}
	if lo <= hi {
		pad := max(hi-lo, 1e-3*max(1, math.Abs(hi)))
		p.Y.Min, p.Y.Max = lo-0.1*pad, hi+0.35*pad
	}
	if len(pts) > 0 {
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.Color, sc.Radius, sc.Shape = htmlpage.Blue, vg.Points(4), draw.CircleGlyph{}
		p.Add(sc)
		p.Legend.Add("slice", sc)
	}
	return p, nil
}

// pageData is the page template's data.
type pageData struct {
	Title  string
	R      *Report
	Shown  []string
	Plots  []template.HTML
	Slices []sliceTable
}

type sliceTable struct {
	Column string
	Rows   []sliceRow
	Spread []string // best − worst, per shown metric
}

type sliceRow struct {
	Value  string
	Rows   int64
	Values []cell
}

type cell struct {
	Text  string
	Worst bool
}

var pageTmpl = htmlpage.New("eval", `
td.worst{background:#fdecea;color:#7f1d1d;font-weight:bold}
tr.spread td{border-top:2px solid #999;font-style:italic}
.wide{overflow-x:auto}table.slices{font-size:.85em}table.slices td,table.slices th{padding:.2em .4em}
.plots{display:flex;flex-wrap:wrap;gap:.5em}.plots .plot{flex:1 1 480px;max-width:calc(50% - .25em)}
`, `<h1>{{.Title}}</h1>
<p class="sub">{{.R.Task}}{{if ne .R.Task .R.ModelTask}} ({{.R.ModelTask}}){{end}} model, {{.R.Rows}} rows of <code>{{.R.Input}}</code> (sha256 <code>{{.R.InputSHA256}}</code>), label <code>{{.R.Label}}</code>{{if eq .R.Task "binary"}}, threshold {{.R.Threshold}}, {{.R.Bins}} calibration bins{{end}}{{if eq .R.Task "regression"}}, Tweedie power {{.R.TweediePower}}{{end}}; evaluated {{.R.Created.Format "2006-01-02 15:04:05 UTC"}}. Every number equals scikit-learn 1.2.1's on the same rows; – marks a number not defined on the rows{{if ne .R.Task "regression"}} (a slice of one class has no ROC AUC){{end}}.</p>
<h2>Overall</h2>
<table>
{{range .Shown}}<tr><th class="l">{{.}}</th><td>{{metric $.R.Overall .}}</td></tr>
{{end}}</table>
{{with .R.Confusion}}<h2>Confusion matrix</h2>
<table>
<tr><th class="l">true \ predicted</th>{{range $j, $_ := .}}<th>{{$j}}</th>{{end}}</tr>
{{range $i, $row := .}}<tr><th>{{$i}}</th>{{range $row}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{if .Plots}}<h2>Plots</h2>
<div class="plots">{{range .Plots}}<div class="plot">{{.}}</div>{{end}}</div>
{{end}}{{range .Slices}}<h2>By {{.Column}}</h2>
<div class="wide"><table class="slices">
<tr><th class="l">{{.Column}}</th><th>rows</th>{{range $.Shown}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr><td class="l">{{.Value}}</td><td>{{.Rows}}</td>{{range .Values}}<td{{if .Worst}} class="worst"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}<tr class="spread"><td>spread</td><td></td>{{range .Spread}}<td>{{.}}</td>{{end}}</tr>
</table></div>
{{end}}{{with .R.Fairness}}<h2>Fairness by {{.Column}}</h2>
<p class="sub">At threshold {{$.R.Threshold}}: demographic parity difference is the largest minus the smallest rate of positive predictions over the groups; equal opportunity difference the same of the true positive rates (fairlearn's definitions).</p>
<table>
<tr><th class="l">{{.Column}}</th><th>rows</th><th>positives</th><th>positive rate</th><th>true positive rate</th></tr>
{{range .Groups}}<tr><td class="l">{{.Value}}</td><td>{{.Rows}}</td><td>{{.Positives}}</td><td>{{fmtm .PositiveRate}}</td><td>{{fmtm .TPR}}</td></tr>
{{end}}<tr class="spread"><td class="l">difference</td><td></td><td></td><td>{{fmtm .DemographicParityDifference}}</td><td>{{fmtm .EqualOpportunityDifference}}</td></tr>
</table>
{{end}}`, template.FuncMap{
	"fmtm": fmtMetric,
	"metric": func(m Metrics, name string) string {
		v, _ := m.Get(name)
		return fmtMetric(v)
	},
})

// WriteHTML writes the report as one self-contained page (see
// internal/htmlpage): the settings, the overall metrics, the confusion
// matrix, the ROC, precision-recall and calibration plots (binary
// classifiers), the primary metric by slice, each slice column's table
// with its worst value per metric marked and the best-to-worst spread, and
// the fairness groups and gaps.
func (r *Report) WriteHTML(w io.Writer) error {
	d := pageData{Title: fmt.Sprintf("Evaluation: %s v%d", r.Model, r.Version), R: r, Shown: r.Shown()}
	var plots []func() (*plot.Plot, error)
	switch c := r.Curves; {
	case c == nil:
	case r.Task == TaskBinary:
		if len(c.ROC.FPR) > 0 {
			plots = append(plots, r.rocPlot)
		}
		plots = append(plots, r.prPlot)
		if len(c.Calibration.Count) > 0 {
			plots = append(plots, r.calibrationPlot)
		}
	case len(c.ClassROC) > 0:
		plots = append(plots, r.classROCPlot)
	case len(c.Regression.Count) > 0:
		plots = append(plots, r.regressionPlot)
	}
	plots = append(plots, r.slicePlot)
	for _, mk := range plots {
		p, err := mk()
		if err != nil {
			return fmt.Errorf("eval page: %w", err)
		}
		if p == nil {
			continue
		}
		s, err := htmlpage.SVG(p, plotW, plotH)
		if err != nil {
			return fmt.Errorf("eval page: %w", err)
		}
		d.Plots = append(d.Plots, s)
	}
	for _, col := range r.sliceColumns() {
		t := sliceTable{Column: col}
		for _, name := range d.Shown {
			sp, ok := r.spread(col, name)
			if !ok {
				t.Spread = append(t.Spread, "–")
			} else {
				t.Spread = append(t.Spread, fmtMetric(sp.Spread))
			}
		}
		for _, s := range r.Slices {
			if s.Column != col {
				continue
			}
			row := sliceRow{Value: s.Value, Rows: s.Rows}
			for _, name := range d.Shown {
				v, _ := s.Metrics.Get(name)
				sp, ok := r.spread(col, name)
				worst := ok && name != "positive_rate" && name != "base_rate" && sp.BestValue != sp.WorstValue && sp.WorstValue == s.Value
				row.Values = append(row.Values, cell{fmtMetric(v), worst})
			}
			t.Rows = append(t.Rows, row)
		}
		d.Slices = append(d.Slices, t)
	}
	if err := pageTmpl.Execute(w, d); err != nil {
		return fmt.Errorf("eval page: %w", err)
	}
	return nil
}
