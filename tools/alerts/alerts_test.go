package alerts

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/monitor/slo"
)

var update = flag.Bool("update", false, "rewrite testdata/rules.yml from testdata/config.json")

// testModels reads testdata/config.json as predictd alerts reads a serve
// config file: the "slo" of each entry of "models" and, the file having a
// "labels" block, its quality.alert or the defaults.
func testModels(t *testing.T) []Model {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Models []struct {
			Name    string      `json:"name"`
			SLO     *slo.Config `json:"slo"`
			Quality *struct {
				Alert *QualityAlert `json:"alert"`
			} `json:"quality"`
		} `json:"models"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var ms []Model
	for _, m := range cfg.Models {
		mod := Model{Name: m.Name, Quality: &QualityAlert{}}
		if m.SLO != nil {
			mod.SLO = *m.SLO
		}
		if m.Quality != nil && m.Quality.Alert != nil {
			mod.Quality = m.Quality.Alert
		}
		ms = append(ms, mod)
	}
	return ms
}

// TestGenerateGolden: the rules for testdata/config.json are
// testdata/rules.yml (run with -update after a deliberate change), which
// the promtool unit tests read; and they do not depend on the models'
// order.
func TestGenerateGolden(t *testing.T) {
	ms := testModels(t)
	got, err := Generate(ms)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "rules.yml")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Generate(testdata/config.json) differs from %s (rerun with -update if the change is deliberate):\n%s", golden, got)
	}
	rev := slices.Clone(ms)
	slices.Reverse(rev)
	if again, _ := Generate(rev); !bytes.Equal(again, got) {
		t.Errorf("Generate depends on the order of its models")
	}
}

// promtool returns the path of Prometheus' promtool, failing the test
// when it is missing: these checks are what the rules are trusted on.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (on PATH): install Debian's prometheus package (apt-get install --no-install-recommends prometheus; .ci/run does) to check the generated rules: %v", err)
	}
	return p
}

// TestPromtool checks the rules Generate writes now with the real
// promtool: `promtool check rules`, then `promtool test rules` on each
// unit test file in testdata, run against those rules (a copy of the
// tests beside them): every alert fires on a series that breaks its
// objective and stays silent on one that does not.
func TestPromtool(t *testing.T) {
	pt := promtool(t)
	rules, err := Generate(testModels(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(pt, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("check", "rules", "rules.yml")
	t.Logf("promtool check rules:\n%s", out)
	if strings.Contains(out, "WARNING") || !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules warned or did not succeed:\n%s", out)
	}
	tests, err := filepath.Glob(filepath.Join("testdata", "*_test.yml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no promtool unit tests in testdata (%v)", err)
	}
	for _, f := range tests {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Logf("%s", run("test", "rules", filepath.Base(f)))
		})
	}
}

// TestEveryAlertTested: each alert Generate writes is expected to fire
// (and, elsewhere, checked silent) by a promtool unit test in testdata.
func TestEveryAlertTested(t *testing.T) {
	rf, err := Rules(testModels(t))
	if err != nil {
		t.Fatal(err)
	}
	tests, _ := filepath.Glob(filepath.Join("testdata", "*_test.yml"))
	var all strings.Builder
	for _, f := range tests {
		data, _ := os.ReadFile(f)
		all.Write(data)
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !strings.Contains(all.String(), "alertname: "+r.Alert+"\n") {
				t.Errorf("alert %s has no promtool unit test in testdata/*_test.yml", r.Alert)
			}
		}
	}
}

// TestRulesErrors: what Generate refuses, naming the model.
func TestRulesErrors(t *testing.T) {
	ok := slo.Config{Availability: &slo.AvailabilityObjective{Objective: 0.99}}
	for _, c := range []struct {
		models []Model
		want   string
	}{
		{[]Model{{Name: "", SLO: ok}}, "a model has no name"},
		{[]Model{{Name: "a", SLO: ok}, {Name: "b", SLO: ok}, {Name: "a", SLO: ok}}, `model "a" is listed twice`},
		{[]Model{{Name: "a", SLO: slo.Config{Availability: &slo.AvailabilityObjective{Objective: 1}}}}, `model "a": slo: availability.objective 1`},
		{[]Model{{Name: "a", SLO: slo.Config{Latency: &slo.LatencyObjective{Threshold: slo.Duration(24 * time.Millisecond), Objective: 0.9}}}}, `model "a": slo: latency.threshold 24ms`},
	} {
		if _, err := Generate(c.models); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Generate(%+v): %v, want an error containing %q", c.models, err, c.want)
		}
	}
}

// TestNoSLOsDriftOnly: with no objectives the file holds the drift alerts
// alone (a rule file with an empty group would be refused by promtool).
func TestNoSLOsDriftOnly(t *testing.T) {
	rf, err := Rules(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rf.Groups) != 1 || rf.Groups[0].Name != "predictd-drift-alerts" {
		t.Errorf("Rules(nil) groups: %+v, want the drift alerts only", rf.Groups)
	}
}

// TestLEMatcher: the bucket of a threshold as predictd writes it and, for
// whole seconds, as Prometheus 3 normalizes it.
func TestLEMatcher(t *testing.T) {
	for _, c := range []struct {
		bound float64
		want  string
	}{
		{0.025, `le="0.025"`}, {5e-05, `le="5e-05"`}, {2.5, `le="2.5"`}, {1, `le=~"1(\\.0)?"`}, {10, `le=~"10(\\.0)?"`},
	} {
		if got := leMatcher(c.bound); got != c.want {
			t.Errorf("leMatcher(%v) = %s, want %s", c.bound, got, c.want)
		}
	}
}
