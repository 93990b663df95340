package server

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/internal/sample"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/monitor/quality"
)

// qualityRepo writes a repository with "lr" version 1, the logistic
// regression fixture with its weights negated (another real model, of
// other quality, with the same inputs), and version 2, the fixture
// itself.
func qualityRepo(t testing.TB) string {
	t.Helper()
	repo := t.TempDir()
	lr := fixture.Path("native", "logreg_binary.model.json")
	b, err := os.ReadFile(lr)
	if err != nil {
		t.Fatal(err)
	}
	var neg map[string]any
	if err := json.Unmarshal(b, &neg); err != nil {
		t.Fatal(err)
	}
	ws := neg["layers"].([]any)[0].(map[string]any)["weights"].([]any)[0].([]any)
	for i := range ws {
		ws[i] = -ws[i].(float64)
	}
	negPath := filepath.Join(t.TempDir(), "negated.model.json")
	b, _ = json.Marshal(neg)
	if err := os.WriteFile(negPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{negPath, lr} {
		imp, err := importer.ImportFile("native", file)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := model.Write(repo, "lr", imp, model.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return repo
}

// qualityServer serves qualityRepo's lr versions 1 and 2 (2 the default
// route) with labels in store, version 2 shadowed by version 1 at rate.
func qualityServer(t testing.TB, store *labels.Store, rate float64) *Server {
	t.Helper()
	opts := DefaultOptions()
	opts.Labels = store
	opts.Models = map[string]ModelOptions{"lr": {Shadow: &ShadowOptions{Version: 1, SampleRate: rate}}}
	return serveRepo(t, opts, qualityRepo(t), manager.ModelConfig{Name: "lr", Policy: manager.Policy{All: true}})
}

// predictOne returns the probability uri's model gives row.
func predictOne(t *testing.T, s *Server, uri, row string) float64 {
	t.Helper()
	code, out, _ := call(s, "POST", uri, `{"instances": [`+row+`]}`)
	if code != 200 {
		t.Fatalf("POST %s %s: %d %s", uri, row, code, out)
	}
	var a struct {
		Predictions []float64 `json:"predictions"`
	}
	if err := json.Unmarshal([]byte(out), &a); err != nil || len(a.Predictions) != 1 {
		t.Fatalf("POST %s: answer %s: %v, want one prediction", uri, out, err)
	}
	return a.Predictions[0]
}

// shadowMonitor is the part of /monitor these tests read.
type shadowMonitor struct {
	Versions []struct {
		Version int            `json:"version"`
		Quality *labels.Report `json:"quality"`
	} `json:"versions"`
	Shadow []struct {
		Version      int            `json:"version"`
		Shadow       string         `json:"shadow"`
		ComparedRows int64          `json:"compared_rows"`
		Quality      *labels.Report `json:"quality"`
	} `json:"shadow"`
}

// TestShadowQualityAgainstLabels: lr version 2 shadowed by version 1 (a
// different model) at rate 0.5; a known sequence of requests of two
// instances, then a label for every instance. The feedback answer counts
// each label once (the live join); the shadow's rows are exactly the
// sampled requests' instances, under "lr@shadow:v1" and the live version;
// its ROC AUC, log loss and Brier score in /monitor's shadow entry and in
// predictd_shadow_quality are monitor/quality's over version 1's own
// predictions of those instances (asked directly) and their labels, and
// the live version's quality is over every instance.
func TestShadowQualityAgainstLabels(t *testing.T) {
	store := newLabels(t, labels.Options{})
	s := qualityServer(t, store, 0.5)
	st := liveShadow(t, s)
	if st.lb == nil || st.lb.key != "lr@shadow:v1" || st.lb.version != 2 {
		t.Fatalf("shadow labels %+v, want store name lr@shadow:v1, version 2", st.lb)
	}
	// Each row's probability by version 1, asked directly (version 1 has
	// no shadow: these requests are not offered).
	v1 := make([]float64, len(lrRows))
	for r, row := range lrRows {
		v1[r] = predictOne(t, s, "/v1/models/lr/versions/1:predict", row)
	}
	const n = 60
	rate := sample.NewRate(0.5)
	var (
		items                  []map[string]any
		liveY, liveP, shY, shP []float64
		sampledID, unsampledID string
	)
	for i := range n {
		preds, _ := sendLR(t, s, i)
		id := "req-" + strconv.Itoa(i)
		kept := rate.Keep(id)
		for j, p := range preds {
			r := (i + j) % len(lrRows)
			// Labels that neither model ranks perfectly.
			y := float64((i*7 + j*3) % 3 % 2)
			inst := id + "/" + strconv.Itoa(j)
			items = append(items, map[string]any{"id": inst, "label": y})
			liveY, liveP = append(liveY, y), append(liveP, p)
			if kept {
				shY, shP = append(shY, y), append(shP, v1[r])
				sampledID = inst
			} else {
				unsampledID = inst
			}
		}
	}
	if sampledID == "" || unsampledID == "" {
		t.Fatalf("the sample of %d ids at rate 0.5 kept %d instances of %d: pick other ids", n, len(shY), len(liveY))
	}
	if r := settle(t, st); r.ComparedRows != int64(len(shY)) {
		t.Fatalf("shadow compared %d rows, want the %d sampled instances (%+v)", r.ComparedRows, len(shY), r)
	}

	code, out, _ := call(s, "POST", "/v1/models/lr/feedback", feedbackBody(t, items...))
	if code != 200 {
		t.Fatalf("POST feedback: %d %s", code, out)
	}
	var res labels.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("feedback answer %s: %v", out, err)
	}
	if got := [5]int{res.Joined, res.Unknown, res.Duplicate, res.Late, res.Invalid}; got != [5]int{len(items), 0, 0, 0, 0} {
		t.Errorf("feedback of %d labels: joined, unknown, duplicate, late, invalid = %v, want [%d 0 0 0 0] (each label counted once)", len(items), got, len(items))
	}
	// The shadow's rows: a sampled instance is joined already, an
	// unsampled one was never recorded.
	again, err := store.Label("lr@shadow:v1", []labels.Label{{ID: sampledID, Value: 1}, {ID: unsampledID, Value: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Duplicate != 1 || again.Unknown != 1 {
		t.Errorf("labelling the shadow's %s (sampled) and %s (not sampled) again: %+v, want one duplicate, one unknown", sampledID, unsampledID, again)
	}

	code, out, _ = call(s, "GET", "/v1/models/lr/monitor", "")
	if code != 200 {
		t.Fatalf("GET monitor: %d %s", code, out)
	}
	var mon shadowMonitor
	if err := json.Unmarshal([]byte(out), &mon); err != nil {
		t.Fatalf("monitor %s: %v", out, err)
	}
	if len(mon.Shadow) != 1 || mon.Shadow[0].Quality == nil || len(mon.Shadow[0].Quality.Windows) == 0 {
		t.Fatalf("monitor's shadow %s: want one entry with a quality report", out)
	}
	near := func(what string, got labels.Float, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-12 || math.IsNaN(float64(got)) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	sq := mon.Shadow[0].Quality
	w := sq.Windows[0]
	if sq.Model != "lr@shadow:v1" || sq.Version != 2 || w.Labelled != int64(len(shY)) || w.Unlabelled != 0 || w.Binary == nil {
		t.Fatalf("shadow quality %s v%d window %s: %d labelled, %d unlabelled, binary %v; want lr@shadow:v1 v2, %d labelled, 0 unlabelled, binary metrics",
			sq.Model, sq.Version, w.Window, w.Labelled, w.Unlabelled, w.Binary, len(shY))
	}
	near("shadow ROC AUC", w.Binary.ROCAUC, quality.ROCAUC(shY, shP))
	near("shadow log loss", w.Binary.LogLoss, quality.LogLoss(shY, shP))
	near("shadow Brier", w.Binary.Brier, quality.Brier(shY, shP))
	var live *labels.Report
	for _, v := range mon.Versions {
		if v.Version == 2 {
			live = v.Quality
		}
	}
	if live == nil || len(live.Windows) == 0 || live.Windows[0].Binary == nil || live.Windows[0].Labelled != int64(len(liveY)) {
		t.Fatalf("monitor %s: want version 2's quality over %d labelled rows", out, len(liveY))
	}
	near("live ROC AUC", live.Windows[0].Binary.ROCAUC, quality.ROCAUC(liveY, liveP))
	if quality.ROCAUC(shY, shP) == quality.ROCAUC(liveY, liveP) {
		t.Errorf("shadow and live ROC AUC both %v: the test does not tell them apart", quality.ROCAUC(shY, shP))
	}

	fams, body := scrape(t, s)
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (%v): apt-get install --no-install-recommends prometheus, as .ci/run does", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if pout, err := cmd.CombinedOutput(); err != nil || len(pout) > 0 {
		t.Errorf("promtool check metrics over the shadow's quality series: %v\n%s", err, pout)
	}
	lv := []string{"model", "lr", "version", "2", "shadow", "v1", "window", w.Window}
	if m := find(fams, "predictd_shadow_quality", append(lv, "metric", "auc")...); m == nil {
		t.Fatalf("/metrics lacks predictd_shadow_quality{model=lr,version=2,shadow=v1,window=%s,metric=auc}:\n%s", w.Window, grepLines(body, "predictd_shadow_quality"))
	}
	if got, want := value(fams, "predictd_shadow_quality", append(lv, "metric", "auc")...), quality.ROCAUC(shY, shP); math.Abs(got-want) > 1e-12 {
		t.Errorf("predictd_shadow_quality auc = %v, want %v", got, want)
	}
	if got, want := value(fams, "predictd_shadow_quality", append(lv, "metric", "log_loss")...), quality.LogLoss(shY, shP); math.Abs(got-want) > 1e-12 {
		t.Errorf("predictd_shadow_quality log_loss = %v, want %v", got, want)
	}
	if got := value(fams, "predictd_shadow_quality_rows", append(lv, "state", "labelled")...); got != float64(len(shY)) {
		t.Errorf("predictd_shadow_quality_rows labelled = %v, want %d", got, len(shY))
	}
	if got := value(fams, "predictd_labels_total", "model", "lr", "outcome", "joined"); got != float64(len(items)) {
		t.Errorf("predictd_labels_total{lr, joined} = %v, want %d (each label counted once)", got, len(items))
	}
	// The live version's series are the live version's alone.
	if got, want := value(fams, "predictd_model_quality", "model", "lr", "version", "2", "window", w.Window, "metric", "auc"), quality.ROCAUC(liveY, liveP); math.Abs(got-want) > 1e-12 {
		t.Errorf("predictd_model_quality lr v2 auc = %v, want %v", got, want)
	}
	for _, m := range fams["predictd_model_quality"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "model" && l.GetValue() != "lr" {
				t.Errorf("predictd_model_quality has a series of model %q: the shadow's must not be there", l.GetValue())
			}
		}
	}
}

// TestShadowNotRecordedWithoutLabels: without a labels store, or for a
// live version the store does not record (multiclass), the shadow keeps
// no ids and its /monitor entry has no quality.
func TestShadowNotRecordedWithoutLabels(t *testing.T) {
	s := shadowServer(t, Options{}, &ShadowOptions{Version: 1, SampleRate: 1})
	st := liveShadow(t, s)
	sendLR(t, s, 0)
	settle(t, st)
	if st.lb != nil {
		t.Errorf("without labels the shadow records %+v, want nothing", st.lb)
	}
	out, _, err := s.addShadow("lr", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), `"quality"`) {
		t.Errorf("monitor without labels %s: has a shadow quality", out)
	}
}

// TestShadowStoreName: the shadow's store name is the model, "@shadow:"
// and the shadow label, which no model name can be.
func TestShadowStoreName(t *testing.T) {
	for _, c := range []struct{ model, label, want string }{
		{"lr", "v1", "lr@shadow:v1"},
		{"churn", "churn-xgb:3", "churn@shadow:churn-xgb:3"},
		{"churn", "churn-xgb:latest", "churn@shadow:churn-xgb:latest"},
	} {
		got := shadowStoreName(c.model, c.label)
		if got != c.want {
			t.Errorf("shadowStoreName(%q, %q) = %q, want %q", c.model, c.label, got, c.want)
		}
		if model.ValidName(got) {
			t.Errorf("shadowStoreName(%q, %q) = %q is a valid model name: it could be a served model's", c.model, c.label, got)
		}
	}
}

// TestShadowLabelsPredictAllocs: with labels on and the shadow recording
// them at rate 1, the warm live path still allocates nothing.
func TestShadowLabelsPredictAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	s := qualityServer(t, newLabels(t, labels.Options{QueueRecords: 64}), 1)
	st := liveShadow(t, s)
	for _, body := range []string{
		`{"instances": [` + lrRow + `]}`,
		`{"instances": [` + lrRow + `,` + lrRow + `,` + lrRow + `]}`,
	} {
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/v1/models/lr:predict")
		ctx.Request.SetBodyString(body)
		ctx.Request.Header.Set("X-Request-Id", "a1")
		for range 1000 { // every queue slot used once
			ctx.Response.ResetBody()
			s.Handle(ctx)
		}
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("POST lr:predict %s: %d %s", body, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.ResetBody()
			s.Handle(ctx)
		})
		if allocs != 0 {
			t.Errorf("POST lr:predict %s with labels and a recorded shadow: %.1f allocations per request, want 0", body, allocs)
		}
	}
	if r := settle(t, st); r.ComparedRows == 0 {
		t.Errorf("the shadow compared no rows: %+v", r)
	}
}

// TestShadowLabelsSharedName: lr versions 1 and 2 both live, each
// shadowed by the latest "flat" (predicts 0.5 everywhere): both record
// under lr@shadow:flat:latest, each with its own version; one feedback
// call joins each label once to that name (no duplicates in the store),
// and each live version's shadow entry reports its own rows, with flat's
// log loss ln 2.
func TestShadowLabelsSharedName(t *testing.T) {
	store := newLabels(t, labels.Options{})
	s := shadowServer(t, Options{Labels: store}, &ShadowOptions{Model: "flat", SampleRate: 1})
	var items []map[string]any
	for v, n := range map[int]int{1: 3, 2: 5} {
		for i := range n {
			id := "v" + strconv.Itoa(v) + "-" + strconv.Itoa(i)
			uri := "/v1/models/lr/versions/" + strconv.Itoa(v) + ":predict"
			if code, out, _ := call(s, "POST", uri, `{"instances": [`+lrRows[i%len(lrRows)]+`]}`, "X-Request-Id", id); code != 200 {
				t.Fatalf("POST %s: %d %s", uri, code, out)
			}
			items = append(items, map[string]any{"id": id, "label": i % 2})
		}
	}
	for v := 1; v <= 2; v++ {
		p, rel, err := s.models.Acquire("lr", v, "")
		if err != nil {
			t.Fatal(err)
		}
		st := p.(*versionState).shadow
		rel.Release()
		if st == nil || st.lb == nil || st.lb.key != "lr@shadow:flat:latest" || st.lb.version != v {
			t.Fatalf("lr version %d: shadow labels %+v, want lr@shadow:flat:latest version %d", v, st, v)
		}
		settle(t, st)
	}
	if code, out, _ := call(s, "POST", "/v1/models/lr/feedback", feedbackBody(t, items...)); code != 200 || !strings.Contains(out, `"joined":8`) {
		t.Fatalf("POST feedback: %d %s, want 200 with 8 joined", code, out)
	}
	if st := store.Stats(); st.Joined != 16 || st.Duplicate != 0 || st.Unknown != 0 {
		t.Errorf("store after one feedback call of 8 labels: joined %d, duplicate %d, unknown %d; want 16 (8 live, 8 shadow), 0, 0", st.Joined, st.Duplicate, st.Unknown)
	}
	out, _, err := s.addShadow("lr", nil)
	if err != nil {
		t.Fatal(err)
	}
	var mon shadowMonitor
	if err := json.Unmarshal(out, &mon); err != nil || len(mon.Shadow) != 2 {
		t.Fatalf("monitor %s (%v): want two shadow entries", out, err)
	}
	for k, want := range []int64{3, 5} {
		e := mon.Shadow[k]
		if e.Quality == nil || len(e.Quality.Windows) == 0 || e.Quality.Windows[0].Binary == nil {
			t.Fatalf("monitor shadow entry %d %s: want a binary quality report", k, out)
		}
		w := e.Quality.Windows[0]
		if e.Version != k+1 || e.Quality.Version != k+1 || w.Labelled != want || math.Abs(float64(w.Binary.LogLoss)-math.Ln2) > 1e-12 {
			t.Errorf("shadow entry of version %d: quality of version %d, %d labelled, log loss %v; want version %d, %d labelled, ln 2", e.Version, e.Quality.Version, w.Labelled, w.Binary.LogLoss, k+1, want)
		}
	}
}
