package htmlpage

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The palette: matplotlib's first colors, in its order, then grey.
var (
	Blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	Orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
	Green  = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	Red    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	Purple = color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}
	Brown  = color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}
	Pink   = color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}
	Olive  = color.RGBA{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}
	Cyan   = color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}
	Grey   = color.RGBA{R: 0x60, G: 0x60, B: 0x60, A: 0xff}
)

// Series returns the color of the i-th series of a plot (i ≥ 0): the
// palette's colors but grey, in order, repeating after nine.
func Series(i int) color.Color {
	p := [...]color.Color{Blue, Orange, Green, Red, Purple, Brown, Pink, Olive, Cyan}
	return p[i%len(p)]
}

// Default plot size in a page: the width of the page's column, half as
// high.
const (
	PlotWidth  = 10 * vg.Inch
	PlotHeight = 5 * vg.Inch
)

// NewPlot returns a plot with a title, axis labels, sans-serif text
// throughout, the legend at the top left and a grid.
func NewPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	sans := func(f *font.Font) { f.Variant = "Sans" }
	sans(&p.Title.TextStyle.Font)
	sans(&p.X.Label.TextStyle.Font)
	sans(&p.Y.Label.TextStyle.Font)
	sans(&p.X.Tick.Label.Font)
	sans(&p.Y.Tick.Label.Font)
	sans(&p.Legend.TextStyle.Font)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(4)
	p.Add(plotter.NewGrid())
	return p
}

// SVG draws p, w × h (0, 0 for PlotWidth × PlotHeight), as an SVG element
// to inline in a page: no XML declaration, and a font list that falls back
// to the browser's sans-serif (the fonts are not embedded; the plot was
// laid out with Liberation Sans, metrically compatible with Arial).
func SVG(p *plot.Plot, w, h vg.Length) (template.HTML, error) {
	if w == 0 && h == 0 {
		w, h = PlotWidth, PlotHeight
	}
	if w <= 0 || h <= 0 {
		return "", fmt.Errorf("htmlpage: plot size %v × %v, want both positive", w, h)
	}
	c := vgsvg.New(w, h)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("htmlpage: draw plot: %w", err)
	}
	s := b.String()
	i := strings.Index(s, "<svg")
	if i < 0 {
		return "", fmt.Errorf("htmlpage: BUG: vgsvg wrote no <svg> element")
	}
	s = strings.ReplaceAll(s[i:], "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
	return template.HTML(s), nil
}

// LogTicks marks a log-scale axis: every digit of each decade in range as
// a tick, labelled at 1, 2 and 5 of the decade (plot.LogTicks labels only
// powers of ten, which a range under a decade may not hold). Values within
// 0.01% of the range's ends count as inside it.
type LogTicks struct{}

// Ticks implements plot.Ticker.
func (LogTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for d := math.Floor(math.Log10(lo)); d <= math.Ceil(math.Log10(hi)); d++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow(10, d)
			if v < lo*0.9999 || v > hi*1.0001 {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = strconv.FormatFloat(v, 'g', 4, 64)
			}
			ts = append(ts, t)
		}
	}
	return ts
}
