package htmlpage

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

func TestNum(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {1, "1"}, {0.012345, "0.0123"}, {99.94, "99.9"}, {99.96, "100"}, {100, "100"}, {1234.5, "1235"},
		{-0.5, "-0.5"}, {-250.4, "-250"}, {math.NaN(), "NaN"}, {math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"},
	} {
		if got := Num(c.v); got != c.want {
			t.Errorf("Num(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestPct(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "0%"}, {0.0123, "1.23%"}, {1, "100%"}, {0.00001, "0.001%"}} {
		if got := Pct(c.v); got != c.want {
			t.Errorf("Pct(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func TestNewPageEscapesAndChecks(t *testing.T) {
	tmpl := New("t", "tr.x{color:red}", `<h1>{{.Title}}</h1><p>{{num .V}} {{pct .F}} {{inc 1}} {{shout "a"}}</p>{{.SVG}}`,
		map[string]any{"shout": strings.ToUpper})
	p := NewPlot("A <plot>", "x", "y")
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		t.Fatal(err)
	}
	l.Color = Series(0)
	p.Add(l)
	svg, err := SVG(p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	data := struct {
		Title string
		V, F  float64
		SVG   any
	}{"a <b> & c", 1234.4, 0.5, svg}
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	n, err := Check(b.Bytes())
	if err != nil {
		t.Fatalf("Check: %v\n%s", err, page)
	}
	if n["svg"] != 1 || n["html"] != 1 || n["style"] != 1 || n["title"] != 1 {
		t.Errorf("elements %v, want one each of html, style, title, svg", n)
	}
	for _, want := range []string{
		"<title>a &lt;b&gt; &amp; c</title>", "<h1>a &lt;b&gt; &amp; c</h1>", "<p>1234 50% 2 A</p>",
		"tr.x{color:red}</style>", "A &lt;plot&gt;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;",
		`<!DOCTYPE html>`, "</body>\n</html>\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.HasPrefix(string(svg), "<svg") {
		t.Errorf("SVG starts %.40q, want <svg", svg)
	}
}

func TestSVGSize(t *testing.T) {
	p := NewPlot("t", "x", "y")
	svg, err := SVG(p, 4*vg.Inch, 2*vg.Inch)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(svg), `width="288pt"`) || !strings.Contains(string(svg), `height="144pt"`) {
		t.Errorf("SVG %.200q: want 288pt × 144pt", svg)
	}
	if _, err := SVG(p, -1, 2); err == nil {
		t.Error("SVG with a negative width: no error")
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, page := range []string{
		`<html><body><script>x</script></body></html>`,
		`<html><body><img src="a.png"/></body></html>`,
		`<html><head><link rel="stylesheet" href="a.css"/></head></html>`,
		`<html><style>p{background:url(a.png)}</style></html>`,
		`<html><body><p>unclosed</body></html>`,
		`<html><body>&nbsp;</body></html>`,
	} {
		if _, err := Check([]byte(page)); err == nil {
			t.Errorf("Check(%q): no error", page)
		}
	}
	if _, err := Check([]byte(`<!DOCTYPE html><html><body><p>ok &amp; fine</p></body></html>`)); err != nil {
		t.Errorf("Check of a good page: %v", err)
	}
}

func TestSeriesCycles(t *testing.T) {
	if Series(0) != Blue || Series(1) != Orange || Series(9) != Blue || Series(3) != Red {
		t.Error("Series does not follow the palette's order and repeat after nine")
	}
	for i := range 9 {
		if Series(i) == Grey {
			t.Errorf("Series(%d) is grey", i)
		}
	}
}

func TestNewFuncsOverrideAndPanics(t *testing.T) {
	tmpl := New("o", "", `{{num 1}}`, map[string]any{"num": func(float64) string { return "mine" }})
	var b bytes.Buffer
	if err := tmpl.Execute(&b, map[string]string{"Title": "t"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<body>\nmine\n</body>") {
		t.Errorf("page %q: want the caller's num", b.String())
	}
	for name, f := range map[string]func(){
		"bad template": func() { New("p", "", `{{`, nil) },
		"css with </":  func() { New("p", "</style><script>", ``, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: New did not panic", name)
				}
			}()
			f()
		}()
	}
}

func TestLogTicks(t *testing.T) {
	var labels []string
	minor := 0
	for _, tk := range (LogTicks{}).Ticks(0.115, 12) {
		if tk.Label == "" {
			minor++
			continue
		}
		labels = append(labels, tk.Label)
	}
	want := []string{"0.2", "0.5", "1", "2", "5", "10"}
	if strings.Join(labels, " ") != strings.Join(want, " ") || minor != 12 {
		t.Errorf("Ticks(0.115, 12): labels %q and %d minor ticks, want %q and 12 (0.3 0.4 0.6 0.7 0.8 0.9 3 4 6 7 8 9)", labels, minor, want)
	}
}
