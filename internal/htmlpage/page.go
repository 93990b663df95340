package htmlpage

import (
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
)

// CSS is the base stylesheet every page carries: body text, headings, a
// subtitle (class "sub"), verdict boxes (classes "verdict" with "pass",
// "fail" or "none"), tables with right-aligned numbers (class "l" on a
// cell aligns it left), notes (class "notes") and plots (class "plot",
// whose SVG takes the page's width).
const CSS = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:0}
.verdict{font-size:1.25em;font-weight:bold;padding:.7em 1em;border-radius:6px;margin:1em 0}
.pass{background:#e6f4ea;color:#14532d;border:2px solid #2ca02c}
.fail{background:#fdecea;color:#7f1d1d;border:2px solid #d62728}
.none{background:#f3f4f6;color:#333;border:2px solid #999}
.verdict ul{font-size:.8em;font-weight:normal;margin:.4em 0 0}
table{border-collapse:collapse;margin:.5em 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}
td{white-space:nowrap}td.l{white-space:normal}
th{background:#f6f6f6}td.l,th.l{text-align:left}
.plot svg{width:100%;height:auto;border:1px solid #eee;margin:.3em 0}
code,pre{background:#f6f6f6;padding:0 .2em}
.notes li{color:#7c4a03}
`

// head is the document's start; {{.Title}} is the page's title.
const head = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>{{.Title}}</title>
<style>`

// New parses a page template named name: the document head (charset,
// viewport, <title> from the data's Title field, CSS then extraCSS in a
// <style> element), then body, the template text of everything inside
// <body>, then the closing </body></html>. The data given to Execute must
// have a Title field or key. funcs are added to Funcs() (a name in both
// takes funcs'). It panics if the text does not parse, like
// template.Must: pages are package-level variables.
func New(name, extraCSS, body string, funcs template.FuncMap) *template.Template {
	if strings.Contains(extraCSS, "</") {
		panic("htmlpage: BUG: extraCSS holds \"</\"")
	}
	t := template.New(name).Funcs(Funcs())
	if funcs != nil {
		t = t.Funcs(funcs)
	}
	return template.Must(t.Parse(head + CSS + extraCSS + "</style>\n</head>\n<body>\n" + body + "\n</body>\n</html>\n"))
}

// Funcs returns the template functions every page has: "num" (Num),
// "pct" (Pct), "inc" (i+1, for 1-based row numbers).
func Funcs() template.FuncMap {
	return template.FuncMap{"num": Num, "pct": Pct, "inc": func(i int) int { return i + 1 }}
}

// Num formats a rate, a latency or a count for people: three significant
// digits below 100 in magnitude, whole numbers from 100 up, "0" for zero,
// and NaN and ±Inf as strconv writes them.
func Num(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	case v == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// Pct formats a fraction as a percentage with three significant digits:
// 0.0123 is "1.23%", 0 is "0%".
func Pct(v float64) string {
	if v == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*v, 'g', 3, 64) + "%"
}

// Check reports whether page is a page this package promises: well-formed
// XML (so every element is closed and only XML's entities are used) and
// self-contained (no <script>, <link>, <img>, @import or url(), no XML
// declaration). It returns the number of elements of each name, for tests
// to assert the plots and tables they expect. The error names the line.
func Check(page []byte) (map[string]int, error) {
	s := string(page)
	for _, bad := range []string{"<script", "<link", "@import", "url(", "<?xml", "<img"} {
		if strings.Contains(s, bad) {
			return nil, fmt.Errorf("page holds %q: it must be self-contained, inline only", bad)
		}
	}
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	n := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			line, _ := d.InputPos()
			return nil, fmt.Errorf("page is not well-formed XML at line %d: %w", line, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
}
