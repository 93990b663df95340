package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/monitor/cost"
	"github.com/predictd/predictd/monitor/slo"
	"github.com/predictd/predictd/monitor/watch"
	"github.com/predictd/predictd/tools/profile"
)

// monitoredServer serves the lr and trees fixtures, each with a reference
// profiled from its rows, with a model monitor that tracks an SLO for lr
// and times every request's CPU (cost spans on every request, not 1 in
// 16, so the timed path is the one measured).
func monitoredServer(t *testing.T, mode BatchingMode) (*Server, *watch.Monitor) {
	t.Helper()
	repo := t.TempDir()
	for _, m := range []struct{ format, dir, base, name string }{
		{"native", "native", "logreg_binary", "lr"},
		{"xgboost", "xgboost", "gbtree_multi_softprob", "trees"},
	} {
		ext := ".model.json"
		if m.format == "xgboost" {
			ext = ".json"
		}
		imp, err := importer.ImportFile(m.format, fixture.Path(m.dir, m.base+ext))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := model.Write(repo, m.name, imp, model.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		l, err := model.Open(repo, m.name, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := profile.File(context.Background(), l.Model, l.Manifest, fixture.Path(m.dir, m.base+".csv"), profile.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := model.AttachReference(repo, m.name, 1, ref); err != nil {
			t.Fatal(err)
		}
	}
	tracker, err := slo.New(slo.Options{Models: map[string]slo.Config{
		"lr": {Latency: &slo.LatencyObjective{Threshold: slo.Duration(25 * time.Millisecond), Objective: 0.99}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := cost.NewLedger(cost.Prices{PerCoreHour: 1}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	mon, err := watch.New(watch.Options{SLO: tracker, Costs: ledger})
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.DefaultModel.Batching = mode
	opts.Monitor = mon
	return serveRepo(t, opts, repo), mon
}

// TestPredictMonitoredAllocs: with the model monitor on (live
// distributions against a reference, an SLO, a timed cost span on every
// request), the warm hot path still allocates nothing.
func TestPredictMonitoredAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	for _, mode := range []BatchingMode{BatchingNever, BatchingAlways} {
		s, _ := monitoredServer(t, mode)
		checkPredictAllocs(t, s, mode)
	}
}

// TestMonitorRoute: GET /v1/models/{name}/monitor reports the rows the
// server answered, with a reference; 404 for an unknown model, 400 with a
// version in the path.
func TestMonitorRoute(t *testing.T) {
	s, _ := monitoredServer(t, BatchingNever)
	for range 3 {
		if code, body, _ := call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrRow+`,`+lrRow+`]}`); code != 200 {
			t.Fatalf("predict: %d %s", code, body)
		}
	}
	for _, c := range []struct {
		uri  string
		code int
		want string
	}{
		{"/v1/models/lr/monitor", 200, `"name": "since_load",` + "\n" + `          "rows": 6,`},
		{"/v1/models/lr/monitor", 200, `"source": "logreg_binary.csv"`},
		{"/v1/models/lr/monitor", 200, `"slo": {`},
		{"/v1/models/nope/monitor", 404, "no version of this model is served"},
		{"/v1/models/lr/versions/1/monitor", 400, "drop the version or label"},
	} {
		code, body, _ := call(s, "GET", c.uri, "")
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("GET %s = %d %s, want %d containing %q", c.uri, code, body, c.code, c.want)
		}
	}
}
