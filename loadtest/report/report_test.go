package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/predictd/predictd/loadtest"
	"github.com/predictd/predictd/loadtest/capacity"
)

// spectrum is a made-up latency spectrum rising from base ms.
func spectrum(base float64) []loadtest.SpectrumMS {
	var s []loadtest.SpectrumMS
	for i, p := range loadtest.SpectrumPercentiles {
		s = append(s, loadtest.SpectrumMS{Percentile: p, LatencyMS: base * (1 + float64(i)*float64(i)/40)})
	}
	return s
}

func fixedReport() capacity.Report {
	step := func(phase string, target, achieved, p50, p99 float64, pass bool, reasons ...string) capacity.Step {
		return capacity.Step{Phase: phase, TargetRPS: target, AchievedRPS: achieved, P50MS: p50, P90MS: p50 * 1.5, P99MS: p99, P999MS: p99 * 1.2,
			MaxMS: p99 * 1.5, Requests: uint64(achieved * 5), Errors: map[string]uint64{}, Pass: pass, Reasons: reasons, CPUSecondsPerRequest: 0.00042}
	}
	steps := []capacity.Step{
		step("ramp", 1000, 1000, 0.4, 0.9, true),
		step("ramp", 2000, 2000, 0.5, 1.4, true),
		step("ramp", 4000, 3100, 180, 950, false, "p99 950ms is above the SLO's 10.0ms"),
		step("bisect", 3000, 2990, 0.9, 4.2, true),
		step("bisect", 3500, 3120, 40, 310, false, "p99 310ms is above the SLO's 10.0ms"),
	}
	curve := []capacity.Step{steps[0], steps[1], steps[3], steps[4], steps[2]}
	knee := steps[3]
	plan, err := capacity.MakePlan(capacity.PlanInput{KneeRPS: knee.AchievedRPS, TargetRPS: 50_000, Headroom: 0.7, ServerCores: 2,
		CPUSecondsPerRequest: knee.CPUSecondsPerRequest, CostPerCoreHour: 0.04, Currency: "USD"})
	if err != nil {
		panic(err)
	}
	return capacity.Report{
		Settings: capacity.Settings{URL: "http://127.0.0.1:8080/v1/models/wine:predict", SLO: loadtest.SLOJSON{P99MS: 10, MaxErrorRate: 0.001},
			StartRate: 1000, MaxRate: 100_000, StepDurationS: 5, WarmupS: 2, Precision: 0.05, MaxSteps: 20,
			MetricsURL: "http://127.0.0.1:8080/metrics", TargetRPS: 50_000, CostPerCoreHour: 0.04, Headroom: 0.7, ServerCores: 2},
		Steps: steps, Curve: curve, Found: true, Knee: &knee, Stopped: capacity.StopMaxSteps,
		Message: "knee at 3000/s target <&> test", Plan: &plan,
		Spectrum: spectrum(0.3), OverRPS: 3500, OverSpectrum: spectrum(20),
		Notes: []string{"a note"},
	}
}

// wellFormed parses page as XML (the pages are written to be) and
// returns how many elements of each name it holds.
func wellFormed(t *testing.T, page string) map[string]int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	n := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			line, _ := d.InputPos()
			lines := strings.Split(page, "\n")
			t.Fatalf("page is not well-formed: %v\nline %d: %.200s", err, line, lines[min(line, len(lines))-1])
		}
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
}

func contains(t *testing.T, page string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestCapacityPage(t *testing.T) {
	var b bytes.Buffer
	if err := Capacity(&b, fixedReport()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	n := wellFormed(t, page)
	if n["svg"] != 2 || n["html"] != 1 || n["table"] < 3 {
		t.Errorf("page has %d svg, %d html, %d table elements; want 2 plots, 1 page, at least 3 tables", n["svg"], n["html"], n["table"])
	}
	contains(t, page,
		`class="verdict pass">Knee: 2990 requests/s`,
		"knee at 3000/s target &lt;&amp;&gt; test", // escaped
		"Throughput vs latency", "Latency percentile spectrum", "99.9%", "SLO p99 10ms",
		"<td>24</td>",           // replicas: ceil(50000 / (2990 × 0.7))
		"<td>48</td>",           // cores
		"<td>0.42 ms</td>",      // CPU per prediction
		"<td>30</td>",           // cores by CPU: 50000 × 0.00042 / 0.7
		"<td>0.006667 USD</td>", // cost per million by CPU: 0.00042e6/3600 × 0.04/0.7
		"<td>0.01067 USD</td>",  // by whole replicas: 48 × 0.04 / (50000 × 3600) × 1e6
		"the replica basis is 1.6× this",
		"÷ headroom",                              // the formula
		`colspan="13">p99 310ms is above the SLO`, // a failing step's reason, under it
		"a note",
	)
	for _, bad := range []string{"<script", "<link", "@import", "url(", "<?xml", "<img"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q: it must be self-contained, inline only", bad)
		}
	}
}

// TestCapacityPageLowerBound: with no failing step the page says "At
// least", never "Knee:"; repeated rates show their spread.
func TestCapacityPageLowerBound(t *testing.T) {
	r := fixedReport()
	r.LowerBound = true
	r.Repeats = []capacity.Repeat{{TargetRPS: 2500, Runs: 3, Passed: 2, AchievedMin: 2480, AchievedMax: 2500, P99MinMS: 0.77, P99MaxMS: 567}}
	var b bytes.Buffer
	if err := Capacity(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	wellFormed(t, page)
	contains(t, page, `class="verdict pass">At least 2990 requests/s`, "<h2>Repeated rates</h2>", "<td>2480–2500</td>", "<td>0.77 ms–567 ms</td>")
	if strings.Contains(page, "Knee: ") {
		t.Errorf("a lower-bound page says \"Knee: \"")
	}
}

func TestCapacityPageNoKnee(t *testing.T) {
	r := fixedReport()
	r.Steps, r.Curve = r.Steps[2:3], r.Steps[2:3]
	r.Found, r.Knee, r.Plan, r.Spectrum, r.OverSpectrum = false, nil, nil, nil, nil
	r.Stopped, r.Message = capacity.StopFirstStep, "no knee: the first step fails"
	var b bytes.Buffer
	if err := Capacity(&b, r); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	n := wellFormed(t, page)
	if n["svg"] != 2 {
		t.Errorf("page has %d svg elements, want 2 (empty plots still drawn)", n["svg"])
	}
	contains(t, page, `class="verdict fail">No knee found`, "no knee: the first step fails")
	if strings.Contains(page, "<h2>Plan</h2>") {
		t.Errorf("page without a knee shows a plan")
	}
}

func TestReportLoadTestPage(t *testing.T) {
	s := loadtest.Summary{
		URL: "http://h/p", Mode: "open", Profile: loadtest.ProfileConstant, TargetRPS: 2000, Connections: 200, DurationS: 10,
		Requests: 19990, OK: 19970, AchievedRPS: 1997, Errors: map[string]uint64{"503": 15, "timeout": 5}, ErrorsTotal: 20,
		ErrorRate: 0.0015, Late: 7, Unsent: 10,
		LatencyMS: loadtest.Latencies{Mean: 1.1, P50: 0.9, P90: 1.6, P95: 2, P99: 4.5, P999: 12, Max: 40},
		Spectrum:  spectrum(0.5),
		SLO:       &loadtest.SLOJSON{P99MS: 5, MaxErrorRate: 0.001},
		Verdict:   &loadtest.Verdict{Pass: false, Reasons: []string{"error rate 0.15% is above the SLO's 0.1%"}},
	}
	var b bytes.Buffer
	if err := LoadTest(&b, "wine at 2000/s", s); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := wellFormed(t, page); n["svg"] != 1 {
		t.Errorf("page has %d svg elements, want 1", n["svg"])
	}
	contains(t, page, "<title>wine at 2000/s</title>", `class="verdict fail">FAIL`, "error rate 0.15% is above",
		`<td class="l">503</td><td>15</td>`, `<td class="l">timeout</td><td>5</td>`, "<td>1997</td>", "<td>4.5 ms</td>", "SLO p99 5ms", "99.99%")
	if i, j := strings.Index(page, ">503<"), strings.Index(page, ">timeout<"); i > j {
		t.Errorf("errors not sorted by count: 503 (15) at %d after timeout (5) at %d", i, j)
	}

	// With intervals, the page plots the run over time as well.
	s.Intervals = []loadtest.IntervalMS{{StartS: 0, AchievedRPS: 500, P50: 0.8, P99: 2, Max: 3}, {StartS: 1, AchievedRPS: 1000, ErrorsPS: 4, P50: 0.9, P99: 7, Max: 9}}
	b.Reset()
	if err := LoadTest(&b, "ramp", s); err != nil {
		t.Fatal(err)
	}
	page = b.String()
	if n := wellFormed(t, page); n["svg"] != 3 {
		t.Errorf("page with intervals has %d svg elements, want 3 (spectrum, latency and throughput over time)", n["svg"])
	}
	contains(t, page, "Latency over time", "Throughput over time", "errors/s")
	s.Intervals = nil

	s.SLO, s.Verdict, s.Errors = nil, nil, map[string]uint64{}
	b.Reset()
	if err := LoadTest(&b, "", s); err != nil {
		t.Fatal(err)
	}
	page = b.String()
	wellFormed(t, page)
	contains(t, page, "<title>Load test: http://h/p</title>", `class="verdict none">No SLO given`, "<p>None.</p>")
}

func TestReportKneePNG(t *testing.T) {
	var b bytes.Buffer
	if err := KneePNG(&b, fixedReport(), 800, 300); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got.X != 800 || got.Y != 300 {
		t.Errorf("PNG is %v, want 800×300", got)
	}
	colors := map[[4]uint32]bool{}
	for y := 0; y < 300; y += 3 {
		for x := 0; x < 800; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colors) < 5 {
		t.Errorf("PNG has %d distinct colors sampled, want a drawing (at least 5)", len(colors))
	}
	if err := KneePNG(io.Discard, fixedReport(), 10, 10); err == nil {
		t.Errorf("KneePNG 10×10: no error, want one about the size")
	}
}

func TestReportPercentileTicks(t *testing.T) {
	var got []string
	for _, tk := range (percentileTicks{}).Ticks(1, 1e4) {
		if tk.Label != "" {
			got = append(got, tk.Label)
		}
	}
	if want := "0% 50% 90% 99% 99.9% 99.99%"; strings.Join(got, " ") != want {
		t.Errorf("percentileTicks(1, 1e4) labels %q, want %q", strings.Join(got, " "), want)
	}
}
