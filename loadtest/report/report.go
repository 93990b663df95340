package report

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"

	"github.com/predictd/predictd/internal/htmlpage"
	"github.com/predictd/predictd/loadtest"
	"github.com/predictd/predictd/loadtest/capacity"
)

// num, pct: the shared page formatting.
var num, pct = htmlpage.Num, htmlpage.Pct

// money formats a price with four significant digits.
func money(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

var funcs = template.FuncMap{
	"money": money,
	"ratio": func(a, b float64) string { return num(a / b) },
	"ms":    func(v float64) string { return num(v) + " ms" },
	"cpums": func(v float64) string {
		if v == 0 {
			return "–"
		}
		return strconv.FormatFloat(1000*v, 'g', 3, 64) + " ms"
	},
}

// style is the CSS the pages add to htmlpage.CSS.
const style = `
tr.passrow td.v{color:#14532d;font-weight:bold}tr.failrow td.v{color:#b91c1c;font-weight:bold}
tr.knee{background:#fffbe6}
table.steps{font-size:.88em}table.steps td,table.steps th{padding:.2em .4em}
tr.why td{color:#7f1d1d;font-size:.9em;border-top:none}
`

// loadTestPage is the data of LoadTest's page.
type loadTestPage struct {
	Title    string
	S        loadtest.Summary
	Errors   []kv
	Spectrum template.HTML
	// Latency and Rate plot the run over time; empty for runs of one
	// interval.
	Latency, Rate template.HTML
}

type kv struct {
	K string
	V uint64
}

var loadTestTmpl = htmlpage.New("loadtest", style, `<h1>{{.Title}}</h1>
<p class="sub">{{.S.Mode}} loop against <code>{{.S.URL}}</code>{{if .S.Profile}}, profile {{.S.Profile}}{{end}}{{if .S.TargetRPS}}, {{num .S.TargetRPS}} requests/s offered{{end}}</p>
{{with .S.Verdict}}{{if .Pass}}<div class="verdict pass">PASS: the run met its SLO{{with $.S.SLO}} (p99 ≤ {{ms .P99MS}}, error rate ≤ {{pct .MaxErrorRate}}){{end}}</div>
{{else}}<div class="verdict fail">FAIL: the run missed its SLO{{with $.S.SLO}} (p99 ≤ {{ms .P99MS}}, error rate ≤ {{pct .MaxErrorRate}}){{end}}<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul></div>
{{end}}{{else}}<div class="verdict none">No SLO given: {{num .S.AchievedRPS}} requests/s answered 2xx, p99 {{ms .S.LatencyMS.P99}}, error rate {{pct .S.ErrorRate}}</div>
{{end}}
<h2>Counts</h2>
<table>
<tr><th class="l">connections</th><td>{{.S.Connections}}</td></tr>
<tr><th class="l">measured duration</th><td>{{num .S.DurationS}} s</td></tr>
<tr><th class="l">requests completed</th><td>{{.S.Requests}}</td></tr>
<tr><th class="l">answered 2xx</th><td>{{.S.OK}}</td></tr>
<tr><th class="l">achieved rate (2xx/s)</th><td>{{num .S.AchievedRPS}}</td></tr>
<tr><th class="l">errors</th><td>{{.S.ErrorsTotal}}</td></tr>
<tr><th class="l">error rate (failed or unsent)</th><td>{{pct .S.ErrorRate}}</td></tr>
<tr><th class="l">late sends (&gt; 1 ms behind schedule)</th><td>{{.S.Late}}</td></tr>
<tr><th class="l">unsent</th><td>{{.S.Unsent}}</td></tr>
</table>
<h2>Latency of 2xx responses</h2>
<table>
<tr><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>p99.9</th><th>max</th></tr>
{{with .S.LatencyMS}}<tr><td>{{ms .Mean}}</td><td>{{ms .P50}}</td><td>{{ms .P90}}</td><td>{{ms .P95}}</td><td>{{ms .P99}}</td><td>{{ms .P999}}</td><td>{{ms .Max}}</td></tr>{{end}}
</table>
<div class="plot">{{.Spectrum}}</div>
{{if .Latency}}<h2>Over time</h2>
<div class="plot">{{.Latency}}</div>
<div class="plot">{{.Rate}}</div>
{{end}}<h2>Errors by status code or kind</h2>
{{if .Errors}}<table>
<tr><th class="l">code or kind</th><th>count</th></tr>
{{range .Errors}}<tr><td class="l">{{.K}}</td><td>{{.V}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
`, funcs)

// LoadTest writes one run as a self-contained HTML page: the verdict when
// s was judged against an SLO, counts, latency percentiles, the latency
// percentile spectrum (with the SLO's p99 line), latency and throughput
// over time, and the errors by status code or transport error kind.
func LoadTest(w io.Writer, title string, s loadtest.Summary) error {
	slo := 0.0
	if s.SLO != nil {
		slo = s.SLO.P99MS
	}
	name := "2xx responses"
	if s.TargetRPS > 0 {
		name = fmt.Sprintf("%s/s offered", num(s.TargetRPS))
	}
	p, err := spectrumPlot("Latency percentile spectrum", []series{{name, s.Spectrum, blue}}, slo)
	if err != nil {
		return fmt.Errorf("report: spectrum plot: %w", err)
	}
	svg, err := svgOf(p)
	if err != nil {
		return fmt.Errorf("report: spectrum plot: %w", err)
	}
	page := loadTestPage{Title: title, S: s, Spectrum: template.HTML(svg)}
	lat, rate, err := timelinePlots(s, slo)
	if err != nil {
		return fmt.Errorf("report: timeline plots: %w", err)
	}
	if lat != nil {
		a, err := svgOf(lat)
		if err != nil {
			return fmt.Errorf("report: timeline plot: %w", err)
		}
		b, err := svgOf(rate)
		if err != nil {
			return fmt.Errorf("report: timeline plot: %w", err)
		}
		page.Latency, page.Rate = template.HTML(a), template.HTML(b)
	}
	if page.Title == "" {
		page.Title = "Load test: " + s.URL
	}
	for k, v := range s.Errors {
		page.Errors = append(page.Errors, kv{k, v})
	}
	slices.SortFunc(page.Errors, func(a, b kv) int { return cmp.Or(cmp.Compare(b.V, a.V), cmp.Compare(a.K, b.K)) })
	if err := loadTestTmpl.Execute(w, page); err != nil {
		return fmt.Errorf("report: write load test page: %w", err)
	}
	return nil
}

// capacityPage is the data of Capacity's page.
type capacityPage struct {
	Title          string
	R              capacity.Report
	Knee, Spectrum template.HTML
}

var capacityTmpl = htmlpage.New("capacity", style, `<h1>{{.Title}}</h1>
{{$s := .R.Settings}}<p class="sub">Open-loop constant-rate steps against <code>{{$s.URL}}</code>: SLO p99 ≤ {{ms $s.SLO.P99MS}}, error rate ≤ {{pct $s.SLO.MaxErrorRate}}; {{num $s.StepDurationS}} s per step after {{num $s.WarmupS}} s of warm-up.</p>
{{if and .R.Found .R.LowerBound}}<div class="verdict pass">At least {{num .R.Knee.AchievedRPS}} requests/s within the SLO (no step failed; the highest passed at {{num .R.Knee.TargetRPS}}/s offered, p99 {{ms .R.Knee.P99MS}})<ul><li>{{.R.Message}}</li></ul></div>
{{else if .R.Found}}<div class="verdict pass">Knee: {{num .R.Knee.AchievedRPS}} requests/s within the SLO (p99 {{ms .R.Knee.P99MS}} at {{num .R.Knee.TargetRPS}}/s offered){{if .R.Inconsistent}} — inconsistent runs, see the notes{{end}}<ul><li>{{.R.Message}}</li></ul></div>
{{else}}<div class="verdict fail">No knee found<ul><li>{{.R.Message}}</li></ul></div>
{{end}}{{if .R.Notes}}<ul class="notes">{{range .R.Notes}}<li>{{.}}</li>{{end}}</ul>
{{end}}{{with .R.Plan}}<h2>Plan</h2>
<table>
<tr><th class="l">per-replica rate (knee, achieved)</th><td>{{num .PerReplicaRPS}} requests/s</td><td class="l">one server as tested, within the SLO</td></tr>
<tr><th class="l">target utilisation (headroom)</th><td>{{pct .Headroom}}</td><td class="l">a replica is planned to carry knee × headroom</td></tr>
{{if .TargetRPS}}<tr><th class="l">target rate</th><td>{{num .TargetRPS}} requests/s</td><td class="l"></td></tr>
<tr><th class="l">replicas</th><td>{{.Replicas}}</td><td class="l">ceil(target / (knee × headroom))</td></tr>
<tr><th class="l">cores</th><td>{{.Cores}}</td><td class="l">replicas × {{.CoresPerReplica}} cores per replica (the tested server's machine)</td></tr>
{{end}}{{if .CPUSecondsPerRequest}}<tr><th class="l">server CPU per prediction</th><td>{{cpums .CPUSecondsPerRequest}}</td><td class="l">growth of process_cpu_seconds_total over the knee step ÷ requests completed</td></tr>
{{if .TargetRPS}}<tr><th class="l">cores by CPU time</th><td>{{num .CoresByCPU}}</td><td class="l">target × CPU per prediction ÷ headroom (cores bought in fractions)</td></tr>
{{end}}{{end}}{{if .CostPerCoreHour}}{{if .TargetRPS}}<tr><th class="l">cost per hour (whole replicas)</th><td>{{money .CostPerHour}} {{.Currency}}</td><td class="l">cores × {{money .CostPerCoreHour}} {{.Currency}} per core-hour</td></tr>
{{end}}<tr><th class="l">cost per million predictions, whole replicas</th><td>{{money .CostPerMillionReplicas}} {{.Currency}}</td><td class="l">{{if .TargetRPS}}cores × cost per core-hour ÷ (target × 3600) × 10⁶{{else}}cores per replica × cost per core-hour ÷ (knee × headroom × 3600) × 10⁶{{end}}: every core of every replica paid for, busy or not (what a fleet of machines like the tested one costs)</td></tr>
{{if .CostPerMillionCPU}}<tr><th class="l">cost per million predictions, CPU time</th><td>{{money .CostPerMillionCPU}} {{.Currency}}</td><td class="l">CPU per prediction × 10⁶ ÷ 3600 × cost per core-hour ÷ headroom: only the server's measured CPU seconds, cores bought in fractions (the floor a perfectly packed deployment approaches){{if .CostPerMillionReplicas}}; the replica basis is {{ratio .CostPerMillionReplicas .CostPerMillionCPU}}× this: idle cores, whole replicas{{end}}</td></tr>
{{end}}{{end}}</table>
<p class="sub">The plan assumes production requests cost what the test's did, replicas run on machines like the one tested, and load spreads evenly over replicas.</p>
{{end}}<h2>Knee curve</h2>
<div class="plot">{{.Knee}}</div>
<div class="plot">{{.Spectrum}}</div>
<h2>Steps, in the order they ran</h2>
<table class="steps">
<tr><th>#</th><th class="l">phase</th><th>offered /s</th><th>achieved /s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>error rate</th><th>late</th><th>unsent</th><th>CPU/req</th><th class="l">verdict</th></tr>
{{range $i, $st := .R.Steps}}<tr class="{{if $st.Pass}}passrow{{else}}failrow{{end}}{{if and $.R.Knee (eq $st.TargetRPS $.R.Knee.TargetRPS)}} knee{{end}}"><td>{{inc $i}}</td><td class="l">{{$st.Phase}}</td><td>{{num $st.TargetRPS}}</td><td>{{num $st.AchievedRPS}}</td><td>{{ms $st.P50MS}}</td><td>{{ms $st.P90MS}}</td><td>{{ms $st.P99MS}}</td><td>{{ms $st.P999MS}}</td><td>{{ms $st.MaxMS}}</td><td>{{pct $st.ErrorRate}}</td><td>{{$st.Late}}</td><td>{{$st.Unsent}}</td><td>{{cpums $st.CPUSecondsPerRequest}}</td><td class="l v">{{if $st.Pass}}pass{{else}}fail{{end}}{{if $st.Saturated}} (saturated){{end}}</td></tr>
{{if not $st.Pass}}<tr class="failrow why"><td></td><td class="l" colspan="13">{{range $j, $r := $st.Reasons}}{{if $j}}; {{end}}{{$r}}{{end}}</td></tr>
{{end}}{{end}}</table>
{{if .R.Repeats}}<h2>Repeated rates</h2>
<p class="sub">A rate is run again to verify an end of the final bracket, and once more when its runs disagree; its verdict is the majority.</p>
<table>
<tr><th>offered /s</th><th>runs</th><th>passed</th><th>achieved /s</th><th>p99</th></tr>
{{range .R.Repeats}}<tr{{if and .Passed (lt .Passed .Runs)}} class="failrow"{{end}}><td>{{num .TargetRPS}}</td><td>{{.Runs}}</td><td>{{.Passed}}</td><td>{{num .AchievedMin}}–{{num .AchievedMax}}</td><td>{{ms .P99MinMS}}–{{ms .P99MaxMS}}</td></tr>
{{end}}</table>
{{end}}<h2>Search settings</h2>
<table>
<tr><th class="l">start rate</th><td>{{num $s.StartRate}}/s</td></tr>
<tr><th class="l">max rate</th><td>{{num $s.MaxRate}}/s</td></tr>
<tr><th class="l">precision</th><td>{{pct $s.Precision}}</td></tr>
<tr><th class="l">max steps</th><td>{{$s.MaxSteps}}</td></tr>
<tr><th class="l">connections</th><td>{{if $s.Connections}}{{$s.Connections}}{{else}}default per rate{{end}}</td></tr>
<tr><th class="l">metrics</th><td>{{if $s.MetricsURL}}<code>{{$s.MetricsURL}}</code>{{else}}none{{end}}</td></tr>
<tr><th class="l">server cores</th><td>{{$s.ServerCores}}</td></tr>
<tr><th class="l">stopped</th><td>{{.R.Stopped}}</td></tr>
</table>
`, funcs)

// Capacity writes a capacity search as a self-contained HTML page: the
// knee (or why there is none) up front, the plan with its formulas, the
// knee curve (achieved throughput against p50 and p99, steps marked pass
// or fail, the SLO line), the knee step's latency spectrum beside the
// lowest failing step's, and every step in a table.
func Capacity(w io.Writer, r capacity.Report) error {
	kp, err := kneePlot(r)
	if err != nil {
		return fmt.Errorf("report: knee plot: %w", err)
	}
	knee, err := svgOf(kp)
	if err != nil {
		return fmt.Errorf("report: knee plot: %w", err)
	}
	sp, err := capacitySpectrum(r)
	if err != nil {
		return fmt.Errorf("report: spectrum plot: %w", err)
	}
	spec, err := svgOf(sp)
	if err != nil {
		return fmt.Errorf("report: spectrum plot: %w", err)
	}
	page := capacityPage{Title: "Capacity: " + r.Settings.URL, R: r, Knee: template.HTML(knee), Spectrum: template.HTML(spec)}
	if err := capacityTmpl.Execute(w, page); err != nil {
		return fmt.Errorf("report: write capacity page: %w", err)
	}
	return nil
}
