package server

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/internal/promtest"
	pmodel "github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/model/manager"
)

// scrape fetches /metrics through the handler and parses it with
// expfmt's text parser, failing t unless it is a 200 in Prometheus text
// format that parses; it returns the families and the text.
func scrape(t testing.TB, s *Server) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	code, body, ctx := call(s, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("GET /metrics: %d %s", code, body)
	}
	if ct := string(ctx.Response.Header.ContentType()); ct != string(expfmt.FmtText) {
		t.Errorf("GET /metrics: content type %q, want %q", ct, expfmt.FmtText)
	}
	return promtest.Parse(t, []byte(body)), body
}

// find and value are promtest's, named as the tests here use them.
func find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	return promtest.Find(fams, name, labels...)
}

func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	return promtest.Value(fams, name, labels...)
}

// TestMetricsPromtool runs the real promtool (Debian's prometheus
// package; .ci/run installs it) over a scrape of a server that has served
// traffic on two models, two versions of one, both APIs, batched and not,
// with online features and errors: `promtool check metrics` must find
// nothing to say. Without promtool the test fails.
func TestMetricsPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (%v): install Debian's prometheus package (apt-get install --no-install-recommends prometheus), as .ci/run does", err)
	}
	svc, _, now := joinService(t)
	repo := t.TempDir()
	for _, m := range []struct {
		format, file, name string
		views              []string
	}{
		{"native", "logreg_binary.model.json", "lr", []string{"shape", "lab:mean_smoothness", "lab:mean_compactness"}},
		{"native", "logreg_binary.model.json", "lr", []string{"shape", "lab:mean_smoothness", "lab:mean_compactness"}},
		{"xgboost", "gbtree_multi_softprob.json", "trees", nil},
	} {
		imp, err := importer.ImportFile(m.format, fixture.Path(m.format, m.file))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := pmodel.Write(repo, m.name, imp, pmodel.WriteOptions{FeatureViews: m.views}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := New(Options{Features: svc, Version: "test", Models: map[string]ModelOptions{"trees": {Batching: BatchingAlways}}})
	if err != nil {
		t.Fatal(err)
	}
	mopts := manager.DefaultOptions()
	mopts.Repo, mopts.PollInterval, mopts.Prepare, mopts.Retired = repo, -1, s.Prepare, s.Retired
	mopts.Models = []manager.ModelConfig{{Name: "lr", Policy: manager.Policy{All: true}}, {Name: "trees"}}
	mgr, err := manager.New(mopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mgr.Close)
	s.SetModels(managed{mgr})

	write(t, svc, "shape", "7", now.Add(-90e9), 0.19, -0.55, -0.13, -0.04)
	lrInst := `{"patient_id": 7, "site": "north", "mean_concavity": 1, "mean_concave_points": 2, "mean_symmetry": 3, "mean_fractal_dimension": 4}`
	treesRow := `[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]`
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"/v1/models/lr/versions/1:predict", `{"instances": [` + lrInst + `]}`, 200},
		{"/v1/models/lr/versions/2:predict", `{"instances": [` + lrInst + `, ` + lrInst + `]}`, 200},
		{"/v1/models/lr:predict", `{"instances": [{"patient_id": 7}]}`, 400},
		{"/v2/models/lr/versions/2/infer", `{"inputs": []}`, 400},
		{"/v1/models/trees:predict", `{"instances": [` + treesRow + `]}`, 200},
		{"/v2/models/trees/infer", `{"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP32", "data": ` + strings.ReplaceAll(treesRow, "null", "0") + `}]}`, 200},
		{"/v2/models/ghost/infer", `{}`, 404},
	} {
		if code, out, _ := call(s, "POST", c.path, c.body); code != c.code {
			t.Fatalf("POST %s %s: %d %s, want %d", c.path, c.body, code, out, c.code)
		}
	}
	fams, text := scrape(t, s)
	for _, name := range []string{"predictd_requests_total", "predictd_request_duration_seconds", "predictd_batch_rows",
		"predictd_feature_values_total", "predictd_model_version_state", "go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("/metrics lacks %s: the scrape promtool checks is not the whole exposition", name)
		}
	}
	for _, v := range []string{"1", "2"} {
		if got := value(fams, "predictd_requests_total", "model", "lr", "version", v, "api", "v1", "code", "200"); got != 1 {
			t.Errorf("lr version %s: %v requests answered 200 on v1, want 1", v, got)
		}
	}

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil || out.Len() > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

// TestRetiredSeries: a model version's request series stay while any of
// its prepared states is live (unloaded and loaded again while a request
// held the old one, a version has two) and go with the last one.
func TestRetiredSeries(t *testing.T) {
	l := openLR(t, pmodel.WriteOptions{})
	s, err := New(Options{DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.Prepare(l)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := s.Prepare(l)
	if err != nil {
		t.Fatal(err)
	}
	series := func() int {
		fams, _ := scrape(t, s)
		n := 0
		for _, f := range fams {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "model" && l.GetValue() == "lr" {
						n++
					}
				}
			}
		}
		return n
	}
	renewed.(*versionState).series[APITFServing].Count(200)
	before := series()
	s.Retired(l, old)
	if got := series(); got != before || got == 0 {
		t.Errorf("after the old state retired: %d series of lr, want the %d before", got, before)
	}
	s.Retired(l, renewed)
	if got := series(); got != 0 {
		t.Errorf("after the last state retired: %d series of lr, want none", got)
	}
}
