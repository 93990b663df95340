package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/loadtest/capacity"
)

// TestCapacityAgainstServe runs a short `predictd capacity` against a real
// `predictd serve` and checks the exit code, the step lines, the JSON
// report (steps, knee, plan with CPU time from /metrics) and the HTML page.
func TestCapacityAgainstServe(t *testing.T) {
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_multi_softprob.json"), "--repo", repo, "--name", "wine")
	d := startServe(t, nil, "--repo", repo)
	body := filepath.Join(dir, "body.json")
	writeFile(t, body, `{"instances":[[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]]}`)
	jsonOut, htmlOut := filepath.Join(dir, "cap.json"), filepath.Join(dir, "cap.html")

	// A loose SLO and a low start: the first step passes on any machine,
	// so the search must find a knee within its six steps.
	out := mustRun(t, "capacity", "--url", d.url(false, "/v1/models/wine:predict"), "--body", body,
		"--slo-p99", "500ms", "--start-rate", "50", "--step-duration", "300ms", "--warmup", "100ms", "--max-steps", "6",
		"--target-rps", "20000", "--cost-per-core-hour", "0.05", "--server-cores", "2",
		"--json", jsonOut, "--html", htmlOut)
	if n := strings.Count(out, " ramp "); n == 0 {
		t.Errorf("stdout has no ramp step lines:\n%s", out)
	}
	// Both prices, each with its basis and the currency (default USD).
	for _, want := range []string{"per replica:", "for 20000 requests/s:", "cost: ", " USD per hour", "cost per million predictions, USD:",
		"by whole replicas", "by CPU time", "the replica basis is"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}

	js, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	var r capacity.Report
	if err := json.Unmarshal(js, &r); err != nil {
		t.Fatalf("--json output: %v\n%s", err, js)
	}
	if len(r.Steps) == 0 || len(r.Steps) > 6 || !r.Found || r.Knee == nil || r.Plan == nil {
		t.Fatalf("report: %d steps (want 1..6), found %v, knee %v, plan %v", len(r.Steps), r.Found, r.Knee, r.Plan)
	}
	if r.Steps[0].Phase != capacity.PhaseRamp || r.Steps[0].TargetRPS != 50 || !r.Steps[0].Pass {
		t.Errorf("first step %+v, want a passing ramp step at 50/s", r.Steps[0])
	}
	if r.Knee.CPUSecondsPerRequest <= 0 || r.Plan.CostBasis != capacity.BasisCPU {
		t.Errorf("knee CPU per request %g, cost basis %q: want the CPU time scraped from /metrics (notes %q)",
			r.Knee.CPUSecondsPerRequest, r.Plan.CostBasis, r.Notes)
	}
	if r.Plan.Replicas < 1 || r.Plan.Cores != 2*r.Plan.Replicas {
		t.Errorf("plan %d replicas, %d cores; want at least one replica of 2 cores", r.Plan.Replicas, r.Plan.Cores)
	}

	page, err := os.ReadFile(htmlOut)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(strings.NewReader(string(page)))
	svgs := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("--html page is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "svg" {
			svgs++
		}
	}
	// Six steps from 50/s may all pass on a fast machine: then the
	// outcome is a floor ("at least"), never a "knee".
	verdict, say := "Knee:", "knee at"
	if r.LowerBound {
		verdict, say = "At least", "at least"
	}
	if svgs != 2 || !strings.Contains(string(page), verdict) || !strings.Contains(out, say) {
		t.Errorf("--html page has %d svg plots, verdict %q %v, stdout %q %v; want 2 and both (lower bound %v)\n%s",
			svgs, verdict, strings.Contains(string(page), verdict), say, strings.Contains(out, say), r.LowerBound, out)
	}
	if r.LowerBound && (strings.Contains(string(page), "Knee:") || strings.Contains(out, "knee at")) {
		t.Errorf("a search where no step failed reports a knee:\n%s", out)
	}
	if r.Plan.Currency != "USD" || r.Plan.CostPerMillionReplicas <= 0 || r.Plan.CostPerMillionCPU <= 0 {
		t.Errorf("plan currency %q, per million by replicas %g, by CPU %g; want USD and both", r.Plan.Currency, r.Plan.CostPerMillionReplicas, r.Plan.CostPerMillionCPU)
	}
}

func TestCapacityUsageErrors(t *testing.T) {
	dir := t.TempDir()
	body := filepath.Join(dir, "body.json")
	writeFile(t, body, `{"instances":[[1]]}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--body", body, "--slo-p99", "5ms"}, "missing required flag --url"},
		{[]string{"--url", "http://127.0.0.1:1/p", "--body", body}, "missing required flag --slo-p99"},
		{[]string{"--url", "http://127.0.0.1:1/p", "--slo-p99", "5ms"}, "--body FILE or --bodies"},
		{[]string{"--url", "http://127.0.0.1:1/p", "--body", body, "--slo-p99", "5ms", "--headroom", "2"}, "--headroom 2: want a utilisation in (0, 1]"},
		{[]string{"--url", "ftp://x/p", "--body", body, "--slo-p99", "5ms"}, "Options.Load.URL"},
	} {
		r := predictd(t, append([]string{"capacity"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("predictd capacity %q: exit %d, stderr %q; want exit 2 and %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestCapacityFlagsCheckedUpFront: every number and duration flag out of
// its bound, and a report path that cannot be written, is refused with
// exit 2 naming the flag before the first step sends anything (issue 12,
// item 11).
func TestCapacityFlagsCheckedUpFront(t *testing.T) {
	dir := t.TempDir()
	url, conns := countingServer(t)
	body := filepath.Join(dir, "body.json")
	writeFile(t, body, `{"instances":[[1]]}`)
	base := []string{"capacity", "--url", url, "--body", body, "--slo-p99", "50ms", "--step-duration", "30s", "--metrics-url", "none", "--quiet"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--slo-p99", "-5ms"}, "--slo-p99 -5ms: want a positive duration"},
		{[]string{"--warmup", "-1s"}, "--warmup -1s: want a duration ≥ 0"},
		{[]string{"--step-duration", "-1s"}, "--step-duration -1s: want a positive duration"},
		{[]string{"--step-duration", "0"}, "--step-duration 0s: want a positive duration"},
		{[]string{"--timeout", "-1s"}, "--timeout -1s: want a positive duration"},
		{[]string{"--start-rate", "-5"}, "--start-rate -5: want requests per second > 0"},
		{[]string{"--max-rate", "0"}, "--max-rate 0: want requests per second > 0"},
		{[]string{"--max-steps", "-1"}, "--max-steps -1: want at least 1 step"},
		{[]string{"--connections", "-8"}, "--connections -8: want"},
		{[]string{"--precision", "NaN"}, "--precision NaN: want a fraction in (0, 1)"},
		{[]string{"--max-error-rate", "-0.1"}, "--max-error-rate -0.1: want"},
		{[]string{"--target-rps", "-100"}, "--target-rps -100: want"},
		{[]string{"--cost-per-core-hour", "-1"}, "--cost-per-core-hour -1: want a price ≥ 0"},
		{[]string{"--server-cores", "0"}, "--server-cores 0: want at least 1 core"},
		{[]string{"--batch", "0"}, "--batch 0: want at least 1 instance"},
		{[]string{"--json", filepath.Join(dir, "missing", "cap.json")}, "--json " + filepath.Join(dir, "missing", "cap.json") + ": cannot create a file in"},
		{[]string{"--html", dir}, "--html " + dir + ": exists and is not a regular file"},
	} {
		refusedAtOnce(t, base, c.args, c.want)
	}
	if n := conns(); n != 0 {
		t.Errorf("refused searches opened %d connections to the server, want 0", n)
	}
	if tmp := leftovers(t, dir); len(tmp) > 0 {
		t.Errorf("refused searches left temporary files %q", tmp)
	}
}

func TestCapacityFirstStepFailsExits1(t *testing.T) {
	// Nothing listens on port 1: every request fails, so the first step does.
	dir := t.TempDir()
	body, jsonOut := filepath.Join(dir, "body.json"), filepath.Join(dir, "cap.json")
	writeFile(t, body, `{"instances":[[1]]}`)
	r := predictd(t, "capacity", "--url", "http://127.0.0.1:1/p", "--body", body, "--slo-p99", "5ms",
		"--start-rate", "20", "--step-duration", "200ms", "--warmup", "0", "--metrics-url", "none", "--json", jsonOut)
	if r.code != 1 || !strings.Contains(r.stdout, "first step") {
		t.Errorf("exit %d, stdout %q; want exit 1 and a message about the first step", r.code, r.stdout)
	}
	var rep capacity.Report
	if js, err := os.ReadFile(jsonOut); err != nil || json.Unmarshal(js, &rep) != nil || rep.Found || len(rep.Steps) != 1 {
		t.Errorf("--json: err %v, found %v, %d steps; want a report of one failed step", err, rep.Found, len(rep.Steps))
	}
}
