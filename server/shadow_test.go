package server

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/internal/sample"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/rollout/shadow"
)

// shadowRepo writes a repository: "lr" versions 1 and 2, both the native
// logistic regression fixture; "flat", the same inputs with every weight
// and the bias 0 (it predicts 0.5 for any row); "trees", an XGBoost
// multiclass model with other inputs.
func shadowRepo(t testing.TB) string {
	t.Helper()
	repo := t.TempDir()
	lr := fixture.Path("native", "logreg_binary.model.json")
	var flat map[string]any
	b, err := os.ReadFile(lr)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &flat); err != nil {
		t.Fatal(err)
	}
	layer := flat["layers"].([]any)[0].(map[string]any)
	for _, w := range layer["weights"].([]any) {
		ws := w.([]any)
		for i := range ws {
			ws[i] = 0.0
		}
	}
	layer["bias"] = []any{0.0}
	flatPath := filepath.Join(t.TempDir(), "flat.model.json")
	b, _ = json.Marshal(flat)
	if err := os.WriteFile(flatPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ format, file, name string }{
		{"native", lr, "lr"},
		{"native", lr, "lr"},
		{"native", flatPath, "flat"},
		{"xgboost", fixture.Path("xgboost", "gbtree_multi_softprob.json"), "trees"},
	} {
		imp, err := importer.ImportFile(m.format, m.file)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := model.Write(repo, m.name, imp, model.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// shadowServer serves shadowRepo with opts, "lr" versions 1 and 2 loaded
// (2 is the latest, the default route), and lr's shadow sh (nil: none).
func shadowServer(t testing.TB, opts Options, sh *ShadowOptions) *Server {
	t.Helper()
	if opts.Models == nil {
		opts.Models = map[string]ModelOptions{}
	}
	mo := opts.Models["lr"]
	mo.Shadow = sh
	opts.Models["lr"] = mo
	return serveRepo(t, opts, shadowRepo(t), manager.ModelConfig{Name: "lr", Policy: manager.Policy{All: true}}, manager.ModelConfig{Name: "flat"}, manager.ModelConfig{Name: "trees"})
}

// lrRows are rows for lr whose predictions spread over (0, 1): about
// 0.64, 0.13, 0.95, 0.44 and 0.
var lrRows = []string{
	`[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]`,
	`[0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]`,
	`[-0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3]`,
	`[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]`,
	lrRow,
}

// liveShadow returns lr version 2's shadow; it fails t when it has none.
func liveShadow(t *testing.T, s *Server) *shadowState {
	t.Helper()
	p, rel, err := s.models.Acquire("lr", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rel.Release()
	st := p.(*versionState).shadow
	if st == nil {
		t.Fatal("lr version 2 has no shadow")
	}
	return st
}

// settle waits until every row offered to st is dropped, compared or
// counted as an error, and returns the report then.
func settle(t *testing.T, st *shadowState) shadow.Report {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := st.sh.Snapshot()
		if r.QueuedRows == 0 && r.OfferedRows == r.DroppedRows+r.ComparedRows+r.ErrorRows {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("shadow rows not settled in 20s: %+v", r)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sendLR sends request i of a known sequence: id "req-<i>", rows lrRows
// i%len(lrRows) and the one after (2 instances), and returns the live
// answer's probabilities.
func sendLR(t *testing.T, s *Server, i int) ([]float64, string) {
	t.Helper()
	a, b := lrRows[i%len(lrRows)], lrRows[(i+1)%len(lrRows)]
	body := `{"instances": [` + a + `, ` + b + `]}`
	code, resp, _ := call(s, "POST", "/v1/models/lr:predict", body, "X-Request-Id", "req-"+strconv.Itoa(i))
	if code != 200 {
		t.Fatalf("POST lr:predict %s: %d %s", body, code, resp)
	}
	var out struct {
		Predictions []float64 `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(resp), &out); err != nil {
		t.Fatalf("answer %s: %v", resp, err)
	}
	return out.Predictions, resp
}

// TestShadowCountsAndAgreement sends a known sequence of requests at a
// sample rate of 0.5 to lr version 2 shadowed by version 1 (the same
// model): exactly the sampled requests' rows are offered, all of them are
// compared, and they all agree with difference 0.
func TestShadowCountsAndAgreement(t *testing.T) {
	s := shadowServer(t, Options{}, &ShadowOptions{Version: 1, SampleRate: 0.5})
	st := liveShadow(t, s)
	const n = 40
	rate, want := sample.NewRate(0.5), int64(0)
	for i := range n {
		sendLR(t, s, i)
		if rate.Keep("req-" + strconv.Itoa(i)) {
			want += 2
		}
	}
	if want == 0 || want == 2*n {
		t.Fatalf("the sample of %d ids at rate 0.5 kept %d rows: pick other ids", n, want)
	}
	r := settle(t, st)
	if r.OfferedRows != want || r.ComparedRows != want || r.DroppedRows != 0 || r.ErrorRows != 0 {
		t.Errorf("offered %d, compared %d, dropped %d, errors %d (%q); want %d offered and compared, none dropped or failed", r.OfferedRows, r.ComparedRows, r.DroppedRows, r.ErrorRows, r.LastError, want)
	}
	if r.AgreementRate != 1 || r.MeanAbsDiff != 0 || r.MaxAbsDiff != 0 {
		t.Errorf("identical shadow: agreement %v, mean diff %v, max diff %v; want 1, 0, 0", r.AgreementRate, r.MeanAbsDiff, r.MaxAbsDiff)
	}
	if st.label != "v1" {
		t.Errorf("shadow label %q, want v1", st.label)
	}
	// Version 1 is the shadow itself: it gets none.
	p, rel, err := s.models.Acquire("lr", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rel.Release()
	if p.(*versionState).shadow != nil {
		t.Errorf("lr version 1, the configured shadow version, has a shadow of its own")
	}
}

// TestShadowDisagreement shadows lr with "flat", another model with the
// same inputs that predicts 0.5 everywhere: the agreement is the share of
// live probabilities at or above 0.5, and the differences are |p − 0.5|.
func TestShadowDisagreement(t *testing.T) {
	s := shadowServer(t, Options{}, &ShadowOptions{Model: "flat", SampleRate: 1})
	st := liveShadow(t, s)
	var live []float64
	for i := range len(lrRows) {
		ps, _ := sendLR(t, s, i)
		live = append(live, ps...)
	}
	var agreed int
	var sum, maxd float64
	for _, p := range live {
		if p >= 0.5 {
			agreed++
		}
		d := math.Abs(p - 0.5)
		sum += d
		maxd = max(maxd, d)
	}
	r := settle(t, st)
	n := float64(len(live))
	if r.ComparedRows != int64(len(live)) {
		t.Fatalf("compared %d rows, want %d (%+v)", r.ComparedRows, len(live), r)
	}
	close := func(got shadow.Stat, want float64) bool { return math.Abs(float64(got)-want) <= 1e-6 }
	if !close(r.AgreementRate, float64(agreed)/n) || !close(r.MeanAbsDiff, sum/n) || !close(r.MaxAbsDiff, maxd) {
		t.Errorf("live %v against 0.5: agreement %v, mean diff %v, max diff %v; want %v, %v, %v", live, r.AgreementRate, r.MeanAbsDiff, r.MaxAbsDiff, float64(agreed)/n, sum/n, maxd)
	}
	if agreed == 0 || agreed == len(live) {
		t.Fatalf("live predictions %v are all on one side of 0.5: the test shows nothing", live)
	}
	if st.label != "flat:latest" {
		t.Errorf("shadow label %q, want flat:latest", st.label)
	}
}

// TestShadowLiveAnswerUnchanged: the live answers are byte for byte the
// same with a shadow at rate 1 as without one.
func TestShadowLiveAnswerUnchanged(t *testing.T) {
	on := shadowServer(t, Options{}, &ShadowOptions{Model: "flat", SampleRate: 1})
	off := shadowServer(t, Options{}, nil)
	for i := range 2 * len(lrRows) {
		_, a := sendLR(t, on, i)
		_, b := sendLR(t, off, i)
		if a != b {
			t.Errorf("request %d: answer with a shadow %s, without %s", i, a, b)
		}
	}
}

// TestShadowErrors: a shadow version that is not loaded, and a shadow
// model with other inputs, count every offered row as an error with a
// last error naming both sides; the live requests all succeed.
func TestShadowErrors(t *testing.T) {
	for _, c := range []struct {
		sh   ShadowOptions
		want []string
	}{
		{ShadowOptions{Version: 9, SampleRate: 1}, []string{"shadow model lr version 9 of model lr version 2", "not"}},
		{ShadowOptions{Model: "trees", SampleRate: 1}, []string{"shadow model trees version 1 cannot shadow model lr version 2", "mean_radius"}},
	} {
		s := shadowServer(t, Options{}, &c.sh)
		st := liveShadow(t, s)
		for i := range 6 {
			sendLR(t, s, i) // fails t unless 200
		}
		r := settle(t, st)
		if r.ErrorRows != 12 || r.ComparedRows != 0 || r.OfferedRows != 12 {
			t.Errorf("shadow %+v: offered %d, errors %d, compared %d; want 12, 12, 0", c.sh, r.OfferedRows, r.ErrorRows, r.ComparedRows)
		}
		for _, w := range c.want {
			if !strings.Contains(r.LastError, w) {
				t.Errorf("shadow %+v: last error %q, want it to contain %q", c.sh, r.LastError, w)
			}
		}
	}
}

// TestShadowExposition: /metrics has the shadow's series with their
// values, and the monitor report's "shadow" member the report.
func TestShadowExposition(t *testing.T) {
	s := shadowServer(t, Options{}, &ShadowOptions{Version: 1, SampleRate: 1})
	st := liveShadow(t, s)
	for i := range 3 {
		sendLR(t, s, i)
	}
	settle(t, st)
	code, body, _ := call(s, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, w := range []string{
		`predictd_shadow_offered_total{model="lr",shadow="v1",version="2"} 6`,
		`predictd_shadow_compared_total{model="lr",shadow="v1",version="2"} 6`,
		`predictd_shadow_dropped_total{model="lr",shadow="v1",version="2"} 0`,
		`predictd_shadow_errors_total{model="lr",shadow="v1",version="2"} 0`,
		`predictd_shadow_agreement_ratio{model="lr",shadow="v1",version="2"} 1`,
		`predictd_shadow_abs_diff_max{model="lr",shadow="v1",version="2"} 0`,
		`predictd_shadow_distribution_distance{model="lr",shadow="v1",version="2"} 0`,
		`predictd_shadow_latency_seconds{model="lr",shadow="v1",version="2",quantile="0.99"}`,
		`predictd_shadow_latency_seconds_count{model="lr",shadow="v1",version="2"} 6`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	out, ok, err := s.addShadow("lr", []byte(`{"model":"lr"}`))
	if err != nil || !ok {
		t.Fatalf("addShadow: %v, %v", ok, err)
	}
	var rep struct {
		Model  string         `json:"model"`
		Shadow []ShadowReport `json:"shadow"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if rep.Model != "lr" || len(rep.Shadow) != 1 {
		t.Fatalf("monitor report %s: want model lr and one shadow", out)
	}
	if g := rep.Shadow[0]; g.Version != 2 || g.Shadow != "v1" || g.ShadowVersion != 1 || g.ComparedRows != 6 || g.SampleRate != 1 {
		t.Errorf("monitor shadow %+v: want live version 2, shadow v1 (version 1), 6 compared, sample rate 1", g)
	}
	if _, ok, _ := s.addShadow("flat", nil); ok {
		t.Errorf("addShadow(flat, nil) reported something for a model without a shadow")
	}
}

// TestShadowPredictAllocs: with a shadow at rate 1, the warm live path
// still allocates nothing.
func TestShadowPredictAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	s := shadowServer(t, Options{}, &ShadowOptions{Version: 1, SampleRate: 1})
	body := `{"instances": [` + lrRow + `]}`
	_, _, ctx := call(s, "POST", "/v1/models/lr:predict", body, "X-Request-Id", "a1")
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("POST lr:predict: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	st := liveShadow(t, s)
	allocs := testing.AllocsPerRun(200, func() {
		ctx.Response.ResetBody()
		s.Handle(ctx)
	})
	if allocs != 0 {
		t.Errorf("POST lr:predict with a shadow: %.1f allocations per request, want 0", allocs)
	}
	if r := settle(t, st); r.OfferedRows < 200 {
		t.Errorf("offered %d rows, want at least 200 (the shadow was not offered the requests)", r.OfferedRows)
	}
}

func TestShadowOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		o    ShadowOptions
		want string // "" valid
	}{
		{ShadowOptions{Version: 1, SampleRate: 0.1}, ""},
		{ShadowOptions{Model: "other", SampleRate: 1}, ""},
		{ShadowOptions{SampleRate: 1}, "needs the version"},
		{ShadowOptions{Model: "m", SampleRate: 1}, "needs the version"},
		{ShadowOptions{Model: "o", Version: -1}, "model_version -1"},
		{ShadowOptions{Version: 1, SampleRate: 1.5}, "sample_rate 1.5"},
		{ShadowOptions{Version: 1, SampleRate: math.NaN()}, "sample_rate NaN"},
		{ShadowOptions{Version: 1, Tolerance: -1}, "tolerance -1"},
		{ShadowOptions{Version: 1, Threshold: 2}, "threshold 2"},
		{ShadowOptions{Version: 1, QueueRows: -1}, "queue_rows -1"},
		{ShadowOptions{Version: 1, Workers: 1000}, "workers 1000"},
	} {
		err := c.o.Validate("m")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Validate(%+v) = %v, want nil", c.o, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Validate(%+v) = %v, want an error containing %q", c.o, err, c.want)
		}
	}
}
