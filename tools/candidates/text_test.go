package candidates

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/htmlpage"
)

// fixedReport is a decided comparison of three classifiers: a:1 fast and
// poor, b:2 balanced (best under 10ms), c:3 best AUC but slow, d:4
// dominated by b:2.
func fixedReport() *Report {
	nanM := Metric(math.NaN())
	res := func(label string, auc float64, p99, rps float64, dom ...string) Result {
		return Result{
			Label: label, Task: "binary", ModelKind: "trees", Rows: 800,
			Quality: Quality{AUC: Metric(auc), LogLoss: 0.35, ECE: 0.021, RMSE: nanM, MAE: nanM,
				WorstSlice: "segment=c", WorstSliceRows: 160, WorstSliceValue: Metric(auc - 0.1)},
			Primary: Metric(auc), P50Micros: p99 / 2, P99Micros: p99, RowsPerSecond: rps, BestBatch: 256,
			P99MinMicros: p99 * 0.95, P99MaxMicros: p99 * 1.05, RowsPerSecondMin: rps * 0.95, RowsPerSecondMax: rps * 1.05,
			CoreSecondsPerMillion: 2e6 / rps, CostPerMillion: 2 * 0.05 / (rps * 3600) * 1e6,
			ArtifactBytes: 84_000, PayloadBytes: 83_000, ManifestBytes: 1000, DominatedBy: dom,
		}
	}
	r := &Report{
		In: "holdout.csv", Label: "y", Slices: []string{"segment"}, Kind: KindClassifier, Primary: "auc", HigherIsBetter: true,
		SLOP99Micros: 10_000, CostPerCoreHour: 0.05, Currency: "EUR", Cores: 2, Batches: []int{64, 256, 1024},
		Rounds: 3, CellMillis: 500, WarmupMillis: 100, BenchRows: 800,
		Machine: Machine{OS: "linux", Arch: "amd64", CPU: "Test CPU", NumCPU: 2, LoadBefore: "0.50 0.40 0.30", LoadAfter: "1.00 0.60 0.40"},
		Candidates: []Result{
			res("a:1", 0.80, 2, 2e6),
			res("b:2", 0.90, 5_000, 1e5),
			res("c:3", 0.92, 20_000, 1e4),
			res("d:4", 0.85, 6_000, 5e4, "b:2"),
		},
		Best: 1, Frontier: []string{"a:1", "b:2", "c:3"},
	}
	r.Candidates[1].Best = true
	for i := range r.Candidates {
		r.Candidates[i].WithinSLO = r.Candidates[i].P99Micros <= r.SLOP99Micros
	}
	return r
}

func text(t *testing.T, r *Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func contains(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

func TestWriteTextClassifier(t *testing.T) {
	out := text(t, fixedReport())
	lines := strings.Split(out, "\n")
	header := strings.Fields(lines[0])
	want := []string{"candidate", "AUC", "log", "loss", "ECE", "worst", "slice", "AUC", "p50", "µs", "p99", "µs", "rows/s", "batch", "core-s/1M", "cost/1M", "EUR", "size", "dominated", "by"}
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Errorf("header %q, want %q", header, want)
	}
	// One row per candidate, in order, the mark on b:2 alone.
	for i, w := range []struct{ label, start, end string }{
		{"a:1", "a:1", "–"}, {"b:2", BestMark + " b:2", "–"}, {"c:3", "c:3", "–"}, {"d:4", "d:4", "b:2"},
	} {
		f := strings.Fields(lines[1+i])
		if got := strings.Join(f[:len(strings.Fields(w.start))], " "); got != w.start || f[len(f)-1] != w.end {
			t.Errorf("row %d = %q, want it to start %q and end %q", i, lines[1+i], w.start, w.end)
		}
	}
	if strings.Count(out, BestMark) != 1 {
		t.Errorf("%d best marks, want 1:\n%s", strings.Count(out, BestMark), out)
	}
	contains(t, "text", out,
		"0.9000  0.3500    0.0210  0.8000 (segment=c)",
		"82.0 KiB",
		"best under single-row p99 ≤ 10ms: b:2 (AUC 0.9000, p99 5000 µs, 0.0002778 EUR per 1M)",
		"frontier (dominated by none): a:1, b:2, c:3",
		"3 interleaved rounds",
		"batches 64, 256, 1024 on 2 cores",
		"cost/1M = cores × cost per core-hour / (rows/s × 3600) × 1e6, at 0.05 EUR per core-hour",
		"size = the payload file + the reference profile (if any) + manifest.json + any other file in the version folder",
		"machine: linux/amd64, 2 × Test CPU, load average 0.50 0.40 0.30 before, 1.00 0.60 0.40 after",
	)
}

func TestSLONotes(t *testing.T) {
	r := fixedReport() // SLO 10000 µs, every p99 ±5%
	if n := sloNotes(r.Candidates, r.SLOP99Micros); n != nil {
		t.Errorf("sloNotes = %q, want none", n)
	}
	r.Candidates[1].P99MaxMicros = 10_000 // b:2's slowest round on the SLO: still within
	r.Candidates[2].P99MinMicros = 10_000 // c:3's fastest round on it: both sides
	r.Candidates[3].P99MaxMicros = 10_001 // d:4's slowest above it
	n := sloNotes(r.Candidates, r.SLOP99Micros)
	want := []string{
		"c:3's p99 rounds (10000–21000 µs) lie on both sides of the SLO's 10000 µs: it counts as not within by its median 20000 µs",
		"d:4's p99 rounds (5700–10001 µs) lie on both sides of the SLO's 10000 µs: it counts as within by its median 6000 µs",
	}
	if len(n) != 2 || !strings.HasPrefix(n[0], want[0]) || !strings.HasPrefix(n[1], want[1]) {
		t.Errorf("sloNotes = %q, want %q", n, want)
	}
	if n := sloNotes(r.Candidates, 0); n != nil {
		t.Errorf("sloNotes without an SLO = %q, want none", n)
	}
	r.Notes = n
	contains(t, "text", text(t, r), "note: c:3's p99 rounds")
	page, _ := html(t, r)
	contains(t, "page", page, "<li>d:4&#39;s p99 rounds")
}

func TestWriteTextVerdicts(t *testing.T) {
	r := fixedReport()
	r.SLOP99Micros, r.Best = 1, -1
	r.Candidates[1].Best = false
	out := text(t, r)
	contains(t, "text, none within the SLO", out, "no candidate meets single-row p99 ≤ 1µs: the fastest, a:1, has p99 2 µs")
	if strings.Contains(out, BestMark) {
		t.Errorf("a best mark with no candidate within the SLO:\n%s", out)
	}
	r = fixedReport()
	r.SLOP99Micros, r.Best = 0, 2
	r.Candidates[1].Best, r.Candidates[2].Best = false, true
	contains(t, "text, no SLO", text(t, r), "best (no SLO given: the best AUC): c:3 (AUC 0.9200")
	// Unpriced: no cost column, no cost in the verdict, core-seconds kept.
	r.CostPerCoreHour, r.Currency = 0, ""
	out = text(t, r)
	if strings.Contains(out, "cost/1M") || strings.Contains(out, "per 1M") {
		t.Errorf("unpriced report prices:\n%s", out)
	}
	contains(t, "text, unpriced", out, "core-s/1M", "core-s/1M = cores × 1e6 / rows/s")
}

func TestWriteTextRegressor(t *testing.T) {
	r := fixedReport()
	r.Kind, r.Primary, r.HigherIsBetter = KindRegressor, "rmse", false
	for i := range r.Candidates {
		q := &r.Candidates[i].Quality
		q.RMSE, q.MAE, q.AUC, q.LogLoss, q.ECE = Metric(1+float64(i)/10), 0.5, Metric(math.NaN()), Metric(math.NaN()), Metric(math.NaN())
		q.WorstSlice, q.WorstSliceValue = "", Metric(math.NaN())
		r.Candidates[i].Primary = q.RMSE
	}
	out := text(t, r)
	header := strings.Split(out, "\n")[0]
	contains(t, "regressor header", header, "RMSE", "MAE", "worst slice RMSE")
	if strings.Contains(header, "AUC") || strings.Contains(header, "log loss") || strings.Contains(header, "ECE") {
		t.Errorf("regressor header has classifier columns: %q", header)
	}
	contains(t, "regressor text", out, "1.1000  0.5000  –", "ranked by RMSE (lower is better)", "best under single-row p99 ≤ 10ms: b:2 (RMSE 1.1000")
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{metricText(0.91234), "0.9123"}, {metricText(Metric(math.NaN())), "–"}, {metricText(0), "0.0000"},
		{metricText(1.5e-5), "1.5e-05"}, {metricText(123456), "1.235e+05"},
		{bytesText(999), "999 B"}, {bytesText(1536), "1.5 KiB"}, {bytesText(3 << 20), "3.0 MiB"},
		{durationText(10_000), "10ms"}, {durationText(0.001), "1ns"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	r := fixedReport()
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Best != 1 || len(back.Candidates) != 4 || back.Candidates[3].DominatedBy[0] != "b:2" || !math.IsNaN(float64(back.Candidates[0].Quality.RMSE)) ||
		back.Candidates[1].CostPerMillion != r.Candidates[1].CostPerMillion {
		t.Errorf("JSON round trip lost fields: %s", b.String())
	}
	contains(t, "JSON", b.String(), `"rmse": null`, `"slo_p99_us": 10000`, `"frontier": [`)
}

func html(t *testing.T, r *Report) (string, map[string]int) {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	n, err := htmlpage.Check(b.Bytes())
	if err != nil {
		t.Fatalf("page: %v\n%s", err, b.String())
	}
	return b.String(), n
}

func TestWriteHTML(t *testing.T) {
	page, n := html(t, fixedReport())
	if n["svg"] != 1 || n["table"] != 1 || n["tr"] != 5 {
		t.Errorf("page has %d svg, %d tables, %d rows; want 1, 1, 5 (header and 4 candidates)", n["svg"], n["table"], n["tr"])
	}
	svg := page[strings.Index(page, "<svg"):strings.Index(page, "</svg>")]
	// Every candidate labelled on the plot, the SLO line in the legend.
	contains(t, "plot", svg, ">a:1<", ">b:2<", ">c:3<", ">d:4<", "SLO p99 10ms", "best under the SLO", "dominated", "on the frontier")
	contains(t, "page", page, `class="verdict pass"`, `<tr class="best"><td class="mark">★</td><td class="l">b:2</td>`,
		"best under single-row p99 ≤ 10ms: b:2", "Frontier (dominated by none): <code>a:1</code>, <code>b:2</code>, <code>c:3</code>")
	if strings.Count(page, `class="best"`) != 1 {
		t.Errorf("%d best rows, want 1", strings.Count(page, `class="best"`))
	}

	r := fixedReport()
	r.SLOP99Micros, r.Best = 1, -1
	r.Candidates[1].Best = false
	r.Candidates[3].Primary = Metric(math.NaN())
	page, _ = html(t, r)
	svg = page[strings.Index(page, "<svg"):strings.Index(page, "</svg>")]
	contains(t, "page, none within the SLO", page, `class="verdict fail"`, "no candidate meets", "Not plotted (quality undefined): <code>d:4</code>")
	if strings.Contains(page, `class="best"`) || strings.Contains(svg, ">d:4<") || strings.Contains(svg, "best under the SLO") {
		t.Errorf("page marks a best, or plots d:4 with an undefined quality")
	}
	contains(t, "plot, none within", svg, "SLO p99 1µs")

	r = fixedReport()
	r.SLOP99Micros = 0
	page, _ = html(t, r)
	contains(t, "page, no SLO", page, `class="verdict none"`, "best (no SLO)")
	if strings.Contains(page, "SLO p99") {
		t.Error("an SLO line without an SLO")
	}

	// One candidate with an undefined quality: an empty frame, no panic.
	r = fixedReport()
	r.Candidates = r.Candidates[:1]
	r.Candidates[0].Primary = Metric(math.NaN())
	r.Best, r.Frontier = -1, nil
	_, n = html(t, r)
	if n["svg"] != 1 {
		t.Errorf("a page without plottable candidates has %d svg, want 1", n["svg"])
	}
}
