package candidates

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

// page is the data of WriteHTML's page.
type page struct {
	Title string
	R     *Report
	// Primary is the primary metric's name for people.
	Primary string
	Verdict string
	// Class is the verdict box's: "pass" (a best under the SLO), "fail"
	// (none meets it) or "none" (no SLO given).
	Class  string
	Header []string
	Rows   [][]string
	// BestRow is the index of the best candidate's row, -1 for none.
	BestRow int
	Plot    template.HTML
	// Unplotted lists candidates left off the plot: an undefined quality.
	Unplotted []string
	Method    []string
}

var pageTmpl = htmlpage.New("candidates", `tr.best{background:#fffbe6;font-weight:bold}td.mark{color:#b45309}.wide{overflow-x:auto}table.cmp{font-size:.85em}table.cmp th,table.cmp td{padding:.2em .45em}`, `<h1>{{.Title}}</h1>
<p class="sub">{{len .R.Candidates}} candidates on <code>{{.R.In}}</code>, label <code>{{.R.Label}}</code>{{if .R.Slices}}, by slice of {{range $i, $s := .R.Slices}}{{if $i}}, {{end}}<code>{{$s}}</code>{{end}}{{end}}; ranked by {{.Primary}}</p>
<div class="verdict {{.Class}}">{{.Verdict}}</div>
<h2>Comparison</h2>
<div class="wide"><table class="cmp">
<tr>{{range $i, $h := .Header}}<th{{if lt $i 2}} class="l"{{end}}>{{$h}}</th>{{end}}</tr>
{{range $i, $row := .Rows}}<tr{{if eq $i $.BestRow}} class="best"{{end}}>{{range $j, $c := $row}}<td{{if eq $j 0}} class="mark"{{else if eq $j 1}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table></div>
<p>Frontier (dominated by none): {{range $i, $f := .R.Frontier}}{{if $i}}, {{end}}<code>{{$f}}</code>{{end}}{{if not .R.Frontier}}none{{end}}</p>
{{if .R.Notes}}<ul class="notes">{{range .R.Notes}}<li>{{.}}</li>{{end}}</ul>
{{end}}<h2>Quality against single-row p99 latency</h2>
<div class="plot">{{.Plot}}</div>
{{if .Unplotted}}<p>Not plotted (quality undefined): {{range $i, $u := .Unplotted}}{{if $i}}, {{end}}<code>{{$u}}</code>{{end}}</p>
{{end}}<h2>How the numbers were made</h2>
<ul class="notes">{{range .Method}}<li>{{.}}</li>{{end}}</ul>`, nil)

// WriteHTML writes r as one self-contained HTML page (internal/htmlpage):
// the verdict, the table of WriteText, and a scatter plot of the primary
// quality metric against the single-row p99 (log scale), each point
// labelled with its candidate, the frontier blue, the dominated grey, the
// best orange, a bar from its fastest to its slowest round's p99, and the
// SLO's p99 as a dashed vertical line.
func (r *Report) WriteHTML(w io.Writer) error {
	h, rows := r.table()
	pg := page{
		Title: "Candidates: " + r.primaryName() + " against latency and cost", R: r, Primary: r.primaryName(),
		Verdict: r.verdict(), Header: h, Rows: rows, BestRow: r.Best, Method: r.method(),
	}
	switch {
	case r.SLOP99Micros == 0:
		pg.Class = "none"
	case r.Best >= 0:
		pg.Class = "pass"
	default:
		pg.Class = "fail"
	}
	p, unplotted, err := r.scatter()
	if err != nil {
		return err
	}
	pg.Unplotted = unplotted
	if pg.Plot, err = htmlpage.SVG(p, 0, 0); err != nil {
		return err
	}
	return pageTmpl.Execute(w, pg)
}

// scatter plots quality against p99; it returns the labels of candidates
// it could not place (an undefined quality or p99).
func (r *Report) scatter() (*plot.Plot, []string, error) {
	dir := " (higher is better)"
	if !r.HigherIsBetter {
		dir = " (lower is better)"
	}
	p := htmlpage.NewPlot(r.primaryName()+" against single-row p99", "single-row p99 latency (µs, log scale; bars: fastest to slowest round)", r.primaryName()+dir)
	var unplotted []string
	groups := map[string]plotter.XYs{}
	var all plotter.XYLabels
	// The rounds' p99 spread, as horizontal bars behind the points.
	var spread struct {
		plotter.XYs
		plotter.XErrors
	}
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := math.Inf(1), math.Inf(-1)
	for i, c := range r.Candidates {
		q, x := float64(c.Primary), c.P99Micros
		if math.IsNaN(q) || math.IsInf(q, 0) || !(x > 0) || math.IsInf(x, 0) {
			unplotted = append(unplotted, c.Label)
			continue
		}
		g := "frontier"
		switch {
		case i == r.Best:
			g = "best"
		case len(c.DominatedBy) > 0:
			g = "dominated"
		}
		groups[g] = append(groups[g], plotter.XY{X: x, Y: q})
		all.XYs = append(all.XYs, plotter.XY{X: x, Y: q})
		all.Labels = append(all.Labels, c.Label)
		lo, hi := x, x
		if c.P99MinMicros > 0 && c.P99MinMicros <= x && c.P99MaxMicros >= x {
			lo, hi = c.P99MinMicros, c.P99MaxMicros
		}
		spread.XErrors = append(spread.XErrors, struct{ Low, High float64 }{x - lo, hi - x})
		xlo, xhi = min(xlo, lo), max(xhi, hi)
		ylo, yhi = min(ylo, q), max(yhi, q)
	}
	if r.SLOP99Micros > 0 {
		xlo, xhi = min(xlo, r.SLOP99Micros), max(xhi, r.SLOP99Micros)
	}
	if len(all.XYs) == 0 {
		// Nothing to place: an empty frame around the SLO (or 1 µs).
		if math.IsInf(xlo, 1) {
			xlo, xhi = 1, 1
		}
		ylo, yhi = 0, 1
	}
	// Room for the labels: a factor of 2 on the log x axis, a tenth of
	// the quality range (or of the value, when all are equal) on y.
	p.X.Min, p.X.Max = xlo/2, xhi*2
	pad := (yhi - ylo) / 10
	if pad == 0 {
		pad = max(math.Abs(yhi)/100, 1e-3)
	}
	p.Y.Min, p.Y.Max = ylo-pad, yhi+pad
	// The good corner is low latency and good quality (top left when
	// higher is better): the legend goes to the right, on the side of
	// worse quality, so that it never covers the candidates that matter.
	p.Legend.Left, p.Legend.Top = false, !r.HigherIsBetter
	p.Legend.XOffs = -vg.Points(8)
	if p.Legend.Top {
		p.Legend.YOffs = -vg.Points(4)
	} else {
		p.Legend.YOffs = vg.Points(4)
	}
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, htmlpage.LogTicks{}
	if len(all.XYs) > 0 {
		spread.XYs = all.XYs
		bars, err := plotter.NewXErrorBars(spread)
		if err != nil {
			return nil, nil, fmt.Errorf("candidates: plot: %w", err)
		}
		bars.Color = htmlpage.Grey
		p.Add(bars)
	}
	for _, g := range []struct {
		name, legend string
		col          color.Color
		shape        draw.GlyphDrawer
	}{
		{"frontier", "on the frontier", htmlpage.Blue, draw.CircleGlyph{}},
		{"dominated", "dominated", htmlpage.Grey, draw.RingGlyph{}},
		{"best", "best under the SLO", htmlpage.Orange, draw.PyramidGlyph{}},
	} {
		xys := groups[g.name]
		if len(xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, nil, fmt.Errorf("candidates: plot: %w", err)
		}
		s.GlyphStyle.Color, s.GlyphStyle.Shape, s.GlyphStyle.Radius = g.col, g.shape, vg.Points(5)
		p.Add(s)
		legend := g.legend
		if g.name == "best" && r.SLOP99Micros == 0 {
			legend = "best (no SLO)"
		}
		p.Legend.Add(legend, s)
	}
	if len(all.XYs) > 0 {
		l, err := plotter.NewLabels(all)
		if err != nil {
			return nil, nil, fmt.Errorf("candidates: plot: %w", err)
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Font.Variant = "Sans"
		}
		l.Offset = vg.Point{X: vg.Points(7), Y: vg.Points(2)}
		p.Add(l)
	}
	if r.SLOP99Micros > 0 {
		line, err := plotter.NewLine(plotter.XYs{{X: r.SLOP99Micros, Y: p.Y.Min}, {X: r.SLOP99Micros, Y: p.Y.Max}})
		if err != nil {
			return nil, nil, fmt.Errorf("candidates: plot: %w", err)
		}
		line.Color, line.Width, line.Dashes = htmlpage.Red, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(line)
		p.Legend.Add("SLO p99 "+durationText(r.SLOP99Micros), line)
	}
	return p, unplotted, nil
}
