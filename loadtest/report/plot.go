package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/predictd/predictd/internal/htmlpage"
	"github.com/predictd/predictd/loadtest"
	"github.com/predictd/predictd/loadtest/capacity"
)

// Colors of the plots.
var blue, orange, green, red, grey = htmlpage.Blue, htmlpage.Orange, htmlpage.Green, htmlpage.Red, htmlpage.Grey

// series is one latency percentile spectrum to plot.
type series struct {
	name   string
	points []loadtest.SpectrumMS
	color  color.Color
}

// percentileX maps a percentile to the spectrum's x: 1/(1-p).
func percentileX(p float64) float64 { return 1 / (1 - p/100) }

// percentileTicks labels the decades of 1/(1-p) as percentiles.
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for d := 0; d <= 7; d++ {
		x := math.Pow(10, float64(d))
		if x > hi*1.0001 {
			break
		}
		label := "0%"
		if d > 0 {
			// 100 - 100/x has d-2 decimals; format just those, not
			// the float's 99.99900000000001.
			label = strconv.FormatFloat(100-100/x, 'f', max(0, d-2), 64) + "%"
		}
		ts = append(ts, plot.Tick{Value: x, Label: label})
		if d == 0 {
			ts = append(ts, plot.Tick{Value: 2, Label: "50%"})
		}
		for m := 2; m <= 9; m++ {
			if v := float64(m) * x; v <= hi && !(d == 0 && m == 2) {
				ts = append(ts, plot.Tick{Value: v})
			}
		}
	}
	return ts
}

// newPlot returns a plot with sans-serif text throughout.
var newPlot = htmlpage.NewPlot

// hline is a dashed horizontal line at y across [x0, x1].
func hline(x0, x1, y float64, c color.Color) (*plotter.Line, error) {
	l, err := plotter.NewLine(plotter.XYs{{X: x0, Y: y}, {X: x1, Y: y}})
	if err != nil {
		return nil, err
	}
	l.Color, l.Width, l.Dashes = c, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(4)}
	return l, nil
}

// spectrumPlot plots latency percentile spectra, with the SLO's p99 as
// a dashed line when sloMS > 0. The y axis is logarithmic when the
// latencies span more than two decades.
func spectrumPlot(title string, ss []series, sloMS float64) (*plot.Plot, error) {
	p := newPlot(title, "percentile", "latency (ms)")
	// Bottom right: below the tail's rise, where spectra rarely are.
	p.Legend.Top, p.Legend.Left, p.Legend.XOffs, p.Legend.YOffs = false, false, -vg.Points(8), vg.Points(4)
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, percentileTicks{}
	lo, hi, xmax := math.Inf(1), 0.0, 100.0 // at least to 99%
	any := false
	for _, s := range ss {
		var xys plotter.XYs
		for _, pt := range s.points {
			if pt.Percentile >= 100 || pt.LatencyMS <= 0 {
				continue
			}
			xys = append(xys, plotter.XY{X: percentileX(pt.Percentile), Y: pt.LatencyMS})
			lo, hi = min(lo, pt.LatencyMS), max(hi, pt.LatencyMS)
			xmax = max(xmax, percentileX(pt.Percentile))
		}
		if len(xys) == 0 {
			continue
		}
		any = true
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = s.color, vg.Points(2)
		pts.Color, pts.Radius = s.color, vg.Points(2)
		p.Add(l, pts)
		p.Legend.Add(s.name, l)
	}
	if sloMS > 0 {
		l, err := hline(1, xmax, sloMS, red)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("SLO p99 %sms", num(sloMS)), l)
		lo, hi = min(lo, sloMS), max(hi, sloMS)
	}
	if !any && sloMS <= 0 {
		lo, hi = 0, 1
	}
	p.X.Min, p.X.Max = 1, xmax*1.6 // room for the last tick's label
	if hi/lo > 100 {
		p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, htmlpage.LogTicks{}
		p.Y.Min, p.Y.Max = lo/1.2, hi*1.2
	} else {
		p.Y.Min, p.Y.Max = 0, hi*1.1
	}
	return p, nil
}

// kneePlot plots a search's knee curve: achieved throughput against p50
// and p99, passing steps as green dots and failing ones as red crosses
// on the p99 line, the SLO's p99 and the knee. The y axis is
// logarithmic: past the knee latency grows by orders of magnitude.
func kneePlot(r capacity.Report) (*plot.Plot, error) {
	p := newPlot("Throughput vs latency (knee curve)", "achieved throughput (requests/s)", "latency (ms)")
	p.Y.Scale, p.Y.Tick.Marker = plot.LogScale{}, htmlpage.LogTicks{}
	var p50, p99, pass, fail plotter.XYs
	lo, hi, xmax := math.Inf(1), 0.0, 0.0
	for _, s := range r.Curve {
		xmax = max(xmax, s.AchievedRPS, s.TargetRPS)
		if s.P50MS > 0 {
			p50 = append(p50, plotter.XY{X: s.AchievedRPS, Y: s.P50MS})
			lo, hi = min(lo, s.P50MS), max(hi, s.P50MS)
		}
		if s.P99MS > 0 {
			xy := plotter.XY{X: s.AchievedRPS, Y: s.P99MS}
			p99 = append(p99, xy)
			lo, hi = min(lo, s.P99MS), max(hi, s.P99MS)
			if s.Pass {
				pass = append(pass, xy)
			} else {
				fail = append(fail, xy)
			}
		}
	}
	slo := r.Settings.SLO.P99MS
	if slo > 0 {
		lo, hi = min(lo, slo), max(hi, slo)
	}
	if hi == 0 {
		lo, hi = 0.1, 1
	}
	if xmax == 0 {
		xmax = 1
	}
	// add draws xys as a line (when line is set) and as glyphs of shape
	// (when it is not nil).
	add := func(xys plotter.XYs, name string, c color.Color, shape draw.GlyphDrawer, line bool) error {
		if len(xys) == 0 {
			return nil
		}
		if shape == nil {
			l, err := plotter.NewLine(xys)
			if err != nil {
				return err
			}
			l.Color, l.Width = c, vg.Points(2)
			p.Add(l)
			p.Legend.Add(name, l)
			return nil
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		sc.Color, sc.Radius, sc.Shape = c, vg.Points(4), shape
		if line {
			l, err := plotter.NewLine(xys)
			if err != nil {
				return err
			}
			l.Color, l.Width = c, vg.Points(2)
			p.Add(l)
			p.Legend.Add(name, l)
		} else {
			p.Legend.Add(name, sc)
		}
		p.Add(sc)
		return nil
	}
	for _, e := range []error{
		add(p50, "p50", blue, draw.CircleGlyph{}, true),
		add(p99, "p99", orange, nil, true),
		add(pass, "p99, step passed", green, draw.CircleGlyph{}, false),
		add(fail, "p99, step failed", red, draw.CrossGlyph{}, false),
	} {
		if e != nil {
			return nil, e
		}
	}
	if slo > 0 {
		l, err := hline(0, xmax*1.05, slo, red)
		if err != nil {
			return nil, err
		}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("SLO p99 %sms", num(slo)), l)
	}
	if r.Knee != nil {
		l, err := plotter.NewLine(plotter.XYs{{X: r.Knee.AchievedRPS, Y: lo / 1.5}, {X: r.Knee.AchievedRPS, Y: hi * 1.5}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Width, l.Dashes = grey, vg.Points(1), []vg.Length{vg.Points(2), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("knee %s/s", num(r.Knee.AchievedRPS)), l)
	}
	p.X.Min, p.X.Max = 0, xmax*1.05
	p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
	return p, nil
}

// capacitySpectrum plots the knee step's spectrum and the lowest failing
// step's above it.
func capacitySpectrum(r capacity.Report) (*plot.Plot, error) {
	var ss []series
	if r.Knee != nil {
		ss = append(ss, series{fmt.Sprintf("knee: %s/s target", num(r.Knee.TargetRPS)), r.Spectrum, blue})
	}
	if len(r.OverSpectrum) > 0 {
		ss = append(ss, series{fmt.Sprintf("over: %s/s target (failed)", num(r.OverRPS)), r.OverSpectrum, orange})
	}
	return spectrumPlot("Latency percentile spectrum", ss, r.Settings.SLO.P99MS)
}

// svgOf draws p as an SVG element for inlining in HTML (htmlpage.SVG at
// its default size).
func svgOf(p *plot.Plot) (string, error) {
	s, err := htmlpage.SVG(p, 0, 0)
	return string(s), err
}

// KneePNG draws a capacity search's knee curve and the knee step's
// latency spectrum side by side, as a PNG image widthPx × heightPx at
// 96 dpi (0 for 1400 × 520).
func KneePNG(w io.Writer, r capacity.Report, widthPx, heightPx int) error {
	if widthPx == 0 {
		widthPx = 1400
	}
	if heightPx == 0 {
		heightPx = 520
	}
	if widthPx < 200 || heightPx < 100 {
		return fmt.Errorf("report: PNG size %d×%d, want at least 200×100 pixels", widthPx, heightPx)
	}
	knee, err := kneePlot(r)
	if err != nil {
		return fmt.Errorf("report: knee plot: %w", err)
	}
	spec, err := capacitySpectrum(r)
	if err != nil {
		return fmt.Errorf("report: spectrum plot: %w", err)
	}
	const dpi = 96
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(widthPx)*vg.Inch/dpi, vg.Length(heightPx)*vg.Inch/dpi), vgimg.UseDPI(dpi))
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(12), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(6)}
	plots := [][]*plot.Plot{{knee, spec}}
	cs := plot.Align(plots, tiles, dc)
	for j, p := range plots[0] {
		p.Draw(cs[0][j])
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("report: write PNG: %w", err)
	}
	return nil
}

// timelinePlots plots a run over time: p50 and p99 of each interval (with
// the SLO's p99 as a dashed line when sloMS > 0), and the 2xx and error
// rates. Nil when the run has fewer than two intervals.
func timelinePlots(s loadtest.Summary, sloMS float64) (latency, rate *plot.Plot, err error) {
	if len(s.Intervals) < 2 {
		return nil, nil, nil
	}
	latency = newPlot("Latency over time", "seconds into the measured window", "latency (ms)")
	rate = newPlot("Throughput over time", "seconds into the measured window", "requests/s")
	var p50, p99, ok, errs plotter.XYs
	hi, end := 0.0, 0.0
	for _, iv := range s.Intervals {
		mid := iv.StartS + 0.5 // the interval's middle (1 s wide, or wider on long runs)
		if len(s.Intervals) > 1 {
			mid = iv.StartS + (s.Intervals[1].StartS-s.Intervals[0].StartS)/2
		}
		if iv.P99 > 0 {
			p50 = append(p50, plotter.XY{X: mid, Y: iv.P50})
			p99 = append(p99, plotter.XY{X: mid, Y: iv.P99})
			hi = max(hi, iv.P99)
		}
		ok = append(ok, plotter.XY{X: mid, Y: iv.AchievedRPS})
		errs = append(errs, plotter.XY{X: mid, Y: iv.ErrorsPS})
		end = max(end, mid)
	}
	for _, l := range []struct {
		p     *plot.Plot
		xys   plotter.XYs
		name  string
		color color.Color
	}{{latency, p50, "p50", blue}, {latency, p99, "p99", orange}, {rate, ok, "2xx/s", blue}, {rate, errs, "errors/s", red}} {
		if len(l.xys) == 0 {
			continue
		}
		line, pts, err := plotter.NewLinePoints(l.xys)
		if err != nil {
			return nil, nil, err
		}
		line.Color, line.Width = l.color, vg.Points(2)
		pts.Color, pts.Radius = l.color, vg.Points(1.5)
		l.p.Add(line, pts)
		l.p.Legend.Add(l.name, line)
	}
	if sloMS > 0 {
		line, err := hline(0, end, sloMS, red)
		if err != nil {
			return nil, nil, err
		}
		latency.Add(line)
		latency.Legend.Add(fmt.Sprintf("SLO p99 %sms", num(sloMS)), line)
		hi = max(hi, sloMS)
	}
	latency.X.Min, rate.X.Min = 0, 0
	latency.Y.Min, latency.Y.Max = 0, max(hi*1.1, 1e-3)
	rate.Y.Min = 0
	return latency, rate, nil
}
