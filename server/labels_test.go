package server

import (
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/internal/promtest"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/monitor/watch"
	"github.com/predictd/predictd/wire/kservepb"
)

// newLabels opens a labels store in a temporary directory, closed when t
// ends.
func newLabels(t testing.TB, opts labels.Options) *labels.Store {
	t.Helper()
	st, err := labels.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// feedbackBody is a feedback call's body.
func feedbackBody(t testing.TB, items ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(items)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLabelsFeedback: every instance of every answered request, in each
// request form, is recorded under the id its answer returned, with its
// output and the slice values read from its raw inputs (a string as
// sent, a number as strconv 'g' -1, a missing value ""); feedback joins
// labels to them and answers the counts by outcome; /metrics counts them
// per model; the store's report sees the joined rows by slice.
func TestLabelsFeedback(t *testing.T) {
	st := newLabels(t, labels.Options{})
	opts := DefaultOptions()
	opts.Labels = st
	opts.Models = map[string]ModelOptions{"txlin": {Quality: Quality{Slices: []string{"country", "age"}, Protected: "country"}}}
	s, _ := txServer(t, opts, nil)
	reqs := txSendAll(t, s)
	one := txBodies(txLinInputs, txRows[1:2])["instances-objects"]
	code, out, _ := call(s, "POST", "/v1/models/txlin:predict", one, "X-Request-Id", "single")
	if code != 200 {
		t.Fatalf("POST %s: %d %s", one, code, out)
	}
	out1 := txPreds(t, out)[0]
	// A failed request is not recorded.
	if code, out, _ := call(s, "POST", "/v1/models/txlin:predict", `{"instances": [{"amount": "x"}]}`, "X-Request-Id", "failed"); code != 400 {
		t.Fatalf("bad request: %d %s, want 400", code, out)
	}

	// Labels: instance i of each request gets i%2, "single" 1, but for
	// instance 3 of the first two requests: one late, one invalid; then
	// an unknown id and a duplicate.
	var items []map[string]any
	for _, r := range reqs {
		for i := range txRows {
			items = append(items, map[string]any{"id": r.id + "/" + strconv.Itoa(i), "label": i % 2})
		}
	}
	last := len(txRows) - 1
	items[last] = map[string]any{"id": reqs[0].id + "/" + strconv.Itoa(last), "label": 1, "time": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)}
	items[len(txRows)+last] = map[string]any{"id": reqs[1].id + "/" + strconv.Itoa(last), "label": 0.5}
	items = append(items,
		map[string]any{"id": "single", "label": 1, "time": time.Now().UTC().Format(time.RFC3339)},
		map[string]any{"id": "failed", "label": 1},
		map[string]any{"id": "single", "label": 0},
	)
	body := feedbackBody(t, items...)
	code, out, _ = call(s, "POST", "/v1/models/txlin/feedback", body)
	if code != 200 {
		t.Fatalf("POST feedback: %d %s", code, out)
	}
	var res labels.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("feedback answer %s: %v", out, err)
	}
	joined := len(reqs)*len(txRows) - 2 + 1
	got := [5]int{res.Joined, res.Unknown, res.Duplicate, res.Late, res.Invalid}
	if want := [5]int{joined, 1, 1, 1, 1}; got != want {
		t.Errorf("feedback of %d labels: joined, unknown, duplicate, late, invalid = %v, want %v (%s)", len(items), got, want, out)
	}
	if !slices.ContainsFunc(res.Errors, func(e labels.LabelError) bool { return e.ID == "failed" && e.Index == len(items)-2 }) {
		t.Errorf("feedback errors %+v, want the unknown id \"failed\" at index %d", res.Errors, len(items)-2)
	}

	// The report: the joined instances, the late and invalid ones still
	// waiting, by country and age.
	rep, err := st.Report("txlin", 1)
	if err != nil {
		t.Fatal(err)
	}
	w := rep.Windows[0]
	if w.Labelled != int64(joined) || w.Unlabelled != 2 {
		t.Errorf("report window %s: labelled %d, unlabelled %d, want %d, 2", w.Window, w.Labelled, w.Unlabelled, joined)
	}
	values := map[string][]string{}
	for _, c := range w.Slices {
		for _, sv := range c.Metrics[0].Slices {
			values[c.Column] = append(values[c.Column], sv.Value)
		}
		slices.Sort(values[c.Column])
	}
	if want := []string{"DE", "US", "Ünïcode \"x\""}; !slices.Equal(values["country"], want) {
		t.Errorf("report country slices %q, want %q", values["country"], want)
	}
	if want := []string{"", "25", "33.5", "61"}; !slices.Equal(values["age"], want) {
		t.Errorf("report age slices %q, want %q", values["age"], want)
	}
	// The recorded scores are the answers' outputs: the joined rows'
	// scores and labels give the report's Brier score.
	var sq float64
	for k, r := range reqs {
		for i, p := range r.preds {
			if i == last && k < 2 {
				continue
			}
			sq += (p - float64(i%2)) * (p - float64(i%2))
		}
	}
	sq += (out1 - 1) * (out1 - 1)
	if brier := float64(w.Binary.Brier); math.Abs(brier-sq/float64(joined)) > 1e-12 {
		t.Errorf("report Brier %v, want %v from the answers' scores and the labels", brier, sq/float64(joined))
	}

	// /monitor: the version's quality is the store's report (times
	// aside: each is computed at its call).
	code, out, _ = call(s, "GET", "/v1/models/txlin/monitor", "")
	if code != 200 {
		t.Fatalf("GET monitor: %d %s", code, out)
	}
	var mon struct {
		Versions []struct {
			Version int
			Quality json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(out), &mon); err != nil || len(mon.Versions) != 1 || mon.Versions[0].Version != 1 {
		t.Fatalf("GET monitor: %s (%v), want one version, 1", out, err)
	}
	direct, _ := json.Marshal(rep)
	// Beside the report, the flags against the baseline: none without one.
	var flags struct{ Flagged *[]QualityFlag }
	if err := json.Unmarshal(mon.Versions[0].Quality, &flags); err != nil || flags.Flagged == nil || len(*flags.Flagged) != 0 {
		t.Errorf("/monitor quality flagged %v (%v), want [] for a version without a baseline", flags.Flagged, err)
	}
	quality := untimed(t, mon.Versions[0].Quality)
	delete(quality.(map[string]any), "flagged")
	if want := untimed(t, direct); !reflect.DeepEqual(quality, want) {
		t.Errorf("/monitor quality:\n%s\nwant the store's report:\n%s", mon.Versions[0].Quality, direct)
	}

	// /metrics: the outcomes per model, the report's gauges.
	_, text, _ := call(s, "GET", "/metrics", "")
	fams := promtest.Parse(t, []byte(text))
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool is not installed (%v): apt-get install --no-install-recommends prometheus, as .ci/run does", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if pout, err := cmd.CombinedOutput(); err != nil || len(pout) > 0 {
		t.Errorf("promtool check metrics over the labels' and quality series: %v\n%s", err, pout)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"predictd_model_quality", []string{"model", "txlin", "version", "1", "window", w.Window, "metric", "brier"}, float64(w.Binary.Brier)},
		{"predictd_model_quality", []string{"model", "txlin", "version", "1", "window", w.Window, "metric", "log_loss"}, float64(w.Binary.LogLoss)},
		// The report's roc_auc is the gauges' auc, as the baseline's and
		// the alert rules' metric label.
		{"predictd_model_quality_slice", []string{"model", "txlin", "version", "1", "window", w.Window, "column", "country", "value", "DE", "metric", "auc"}, float64(w.Slices[0].Metrics[0].Slices[0].Metric)},
		{"predictd_model_quality_slice_rows", []string{"model", "txlin", "version", "1", "window", w.Window, "column", "country", "value", "DE"}, float64(w.Slices[0].Metrics[0].Slices[0].Rows)},
		{"predictd_model_quality_rows", []string{"model", "txlin", "version", "1", "window", w.Window, "state", "unlabelled"}, 2},
		{"predictd_model_quality_estimated", []string{"model", "txlin", "version", "1", "window", w.Window, "metric", "accuracy"}, float64(w.Estimate.Accuracy)},
	} {
		if promtest.Find(fams, c.name, c.labels...) == nil {
			t.Errorf("/metrics has no %s%q", c.name, c.labels)
		} else if got := promtest.Value(fams, c.name, c.labels...); got != c.want {
			t.Errorf("/metrics %s%q = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	_, metrics, _ := call(s, "GET", "/metrics", "")
	if want := fmt.Sprintf(`predictd_labels_total{model="txlin",outcome="joined"} %d`, joined); !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	if want := `predictd_labels_total{model="txlin",outcome="unknown"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	if !strings.Contains(metrics, "predictd_labels_predictions_dropped_total 0") {
		t.Errorf("/metrics lacks predictd_labels_predictions_dropped_total 0")
	}
}

// TestFeedbackErrors: the statuses and messages of refused feedback calls.
func TestFeedbackErrors(t *testing.T) {
	opts := DefaultOptions()
	opts.Labels = newLabels(t, labels.Options{})
	opts.MaxInstances = 3
	s := newTestServer(t, opts)
	off := newTestServer(t, DefaultOptions())
	for _, c := range []struct {
		s           *Server
		method, uri string
		body        string
		code        int
		want        string
	}{
		{s, "POST", "/v1/models/lr/feedback", `[{"id": "a", "label": 1}]`, 200, `"unknown":1`},
		{s, "POST", "/v1/models/lr/feedback", `[]`, 200, `"joined":0`},
		{s, "POST", "/v1/models/lr/feedback", `{"id": "a"}`, 400, `want a JSON array`},
		{s, "POST", "/v1/models/lr/feedback", `[{"id": "a", "label": 1}, {"label": 1}]`, 400, `feedback item 1: field id: missing`},
		{s, "POST", "/v1/models/lr/feedback", `[{"id": "a"}]`, 400, `feedback item 0: field label: missing`},
		{s, "POST", "/v1/models/lr/feedback", `[{"id": "a", "label": "1"}]`, 400, `feedback item 0: field label: \"1\" is not a number`},
		{s, "POST", "/v1/models/lr/feedback", `[{"id": "a", "label": 1, "time": "yesterday"}]`, 400, `feedback item 0: field time: \"yesterday\" is not an RFC 3339 time`},
		{s, "POST", "/v1/models/lr/feedback", `[{"id": "a", "label": 1, "extra": 2}]`, 400, `feedback item 0:`},
		{s, "POST", "/v1/models/lr/feedback", `[{"id":"a","label":1},{"id":"b","label":1},{"id":"c","label":1},{"id":"d","label":1}]`, 413, `4 labels, more than the 3`},
		{s, "POST", "/v1/models/nope/feedback", `[]`, 404, `no model \"nope\"`},
		{s, "POST", "/v1/models/lr/versions/1/feedback", `[]`, 400, `drop the version`},
		{s, "GET", "/v1/models/lr/feedback", ``, 405, `use POST`},
		{off, "POST", "/v1/models/lr/feedback", `[]`, 503, `--labels-dir`},
	} {
		code, out, _ := call(c.s, c.method, c.uri, c.body)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%s %s %s: %d %s, want %d containing %s", c.method, c.uri, c.body, code, out, c.code, c.want)
		}
	}
}

// TestLabelsQualityErrors: a quality block naming no input, or an output
// the model lacks, refuses the version with a message naming the field.
func TestLabelsQualityErrors(t *testing.T) {
	for _, c := range []struct {
		q    Quality
		want string
	}{
		{Quality{Slices: []string{"nope"}}, `quality.slices[0] \"nope\" is not an input of the model`},
		{Quality{ScoreOutput: 3}, `quality.score_output 3: the model has outputs 0 to 0`},
		{Quality{Slices: []string{"country"}, Protected: "age"}, `quality.protected \"age\" is not one of quality.slices [\"country\"]`},
	} {
		opts := DefaultOptions()
		opts.Labels = newLabels(t, labels.Options{})
		opts.Models = map[string]ModelOptions{"txlin": {Quality: c.q}}
		s, _ := txServer(t, opts, nil)
		_, out, _ := call(s, "GET", "/v1/models/txlin", "")
		if !strings.Contains(out, c.want) {
			t.Errorf("quality %+v: status %s, want it to contain %q", c.q, out, c.want)
		}
	}
}

// TestPredictLabelsAllocs: with labels on, the warm hot path does not
// allocate: the instance ids are a view of the exchange's scratch, which
// the store copies in Record.
func TestPredictLabelsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	opts := DefaultOptions()
	opts.DefaultModel.Batching = BatchingNever
	opts.Labels = newLabels(t, labels.Options{QueueRecords: 64})
	s := newTestServer(t, opts)
	for _, c := range []struct{ uri, body string }{
		{"/v1/models/lr:predict", `{"instances": [` + lrRow + `]}`},
		{"/v1/models/lr:predict", `{"instances": [` + lrRow + `,` + lrRow + `,` + lrRow + `]}`},
		{"/v2/models/lr/infer", `{"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 10], "data": ` + lrRow + `}]}`},
	} {
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI(c.uri)
		ctx.Request.SetBodyString(c.body)
		for range 1000 { // every queue slot used once
			ctx.Response.ResetBody()
			s.Handle(ctx)
		}
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("POST %s: %d %s", c.uri, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.ResetBody()
			s.Handle(ctx)
		})
		if allocs != 0 {
			t.Errorf("POST %s: %.1f allocations per request, want 0", c.uri, allocs)
		}
	}
}

// untimed decodes a report's JSON without its times ("time", "from",
// "to"), which differ between two reports of the same rows.
func untimed(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	var strip func(any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "time")
			delete(x, "from")
			delete(x, "to")
			for _, e := range x {
				strip(e)
			}
		case []any:
			for _, e := range x {
				strip(e)
			}
		}
	}
	strip(v)
	return v
}

// TestLabelsMonitorMerged: with the model monitor on, /monitor keeps its
// drift windows per version and adds the version's quality beside them;
// a model whose task labels do not join (multiclass "trees") has no
// quality; the report is computed at most once per
// QualityRecomputeEvery (a second call within it answers the same
// counts though a label joined meanwhile).
func TestLabelsMonitorMerged(t *testing.T) {
	mon, err := watch.New(watch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Labels = newLabels(t, labels.Options{})
	opts.QualityRecomputeEvery = time.Hour
	s, _ := txServer(t, opts, mon)
	body := txBodies(txLinInputs, txRows)["instances-objects"]
	if code, out, _ := call(s, "POST", "/v1/models/txlin:predict", body, "X-Request-Id", "m"); code != 200 {
		t.Fatalf("POST %s: %d %s", body, code, out)
	}
	type monitor struct {
		Model    string
		Versions []struct {
			Version int
			Windows []json.RawMessage
			Quality *labels.Report
		}
	}
	get := func() monitor {
		t.Helper()
		code, out, _ := call(s, "GET", "/v1/models/txlin/monitor", "")
		var m monitor
		if err := json.Unmarshal([]byte(out), &m); code != 200 || err != nil || len(m.Versions) != 1 || m.Versions[0].Quality == nil {
			t.Fatalf("GET monitor: %d %s (%v), want one version with its quality", code, out, err)
		}
		return m
	}
	m := get()
	if v := m.Versions[0]; m.Model != "txlin" || len(v.Windows) == 0 || v.Quality.Windows[0].Unlabelled != int64(len(txRows)) {
		t.Errorf("monitor: model %q, %d drift windows, quality %+v; want txlin, the drift windows, %d unlabelled", m.Model, len(v.Windows), v.Quality.Windows, len(txRows))
	}
	if code, out, _ := call(s, "POST", "/v1/models/txlin/feedback", `[{"id": "m/0", "label": 1}]`); code != 200 || !strings.Contains(out, `"joined":1`) {
		t.Fatalf("feedback: %d %s, want 200 joined 1", code, out)
	}
	if got := get().Versions[0].Quality.Windows[0].Labelled; got != 0 {
		t.Errorf("monitor within QualityRecomputeEvery: labelled %d, want the cached report's 0", got)
	}
	if code, out, _ := call(s, "GET", "/v1/models/nope/monitor", ""); code != 404 {
		t.Errorf("GET /v1/models/nope/monitor: %d %s, want 404", code, out)
	}
}

// TestLabelsGRPCAndMulticlass: a gRPC ModelInfer is recorded under the id
// its response returns, and joins; a multiclass model ("trees") is not
// recorded: its label is invalid (the model has no quality Spec) and its
// /monitor has no quality.
func TestLabelsGRPCAndMulticlass(t *testing.T) {
	opts := DefaultOptions()
	opts.Labels = newLabels(t, labels.Options{})
	s := newTestServer(t, opts)
	row := []float64{17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871}
	resp, err := grpcService{s: s}.ModelInfer(t.Context(), &kservepb.ModelInferRequest{ModelName: "lr", Id: "g-1", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{
		Name: "input", Datatype: "FP64", Shape: []int64{1, 10},
		Contents: &kservepb.InferTensorContents{Fp64Contents: row},
	}}})
	if err != nil || resp.GetId() != "g-1" {
		t.Fatalf("ModelInfer id g-1: %v, id %q", err, resp.GetId())
	}
	if code, out, _ := call(s, "POST", "/v1/models/lr/feedback", `[{"id": "g-1", "label": 1}]`); code != 200 || !strings.Contains(out, `"joined":1`) {
		t.Errorf("feedback for the gRPC id: %d %s, want 200 joined 1", code, out)
	}
	if code, out, _ := call(s, "POST", "/v1/models/trees:predict", `{"instances": [[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]]}`, "X-Request-Id", "t-1"); code != 200 {
		t.Fatalf("predict trees: %d %s", code, out)
	}
	if code, out, _ := call(s, "POST", "/v1/models/trees/feedback", `[{"id": "t-1", "label": 1}]`); code != 200 || !strings.Contains(out, `"invalid":1`) {
		t.Errorf("feedback for a multiclass model: %d %s, want 200 invalid 1", code, out)
	}
	if code, out, _ := call(s, "GET", "/v1/models/trees/monitor", ""); code != 404 {
		t.Errorf("GET trees/monitor with the monitor off: %d %s, want 404 (no quality)", code, out)
	}
}

// TestSliceValue: a slice value is a string input as sent, a number as
// strconv 'g' -1, a missing one ""; a version interns at most
// maxInternedPerColumn values per column, and past it still answers each
// value right.
func TestSliceValue(t *testing.T) {
	ls := &labelState{cols: []int{0}, strs: []map[string]string{{}}, floats: []map[float64]string{{}}}
	for _, c := range []struct {
		x         float64
		str       string
		isStr, nl bool
		want      string
	}{
		{25, "", false, false, "25"},
		{33.5, "", false, false, "33.5"},
		{1e21, "", false, false, "1e+21"},
		{-0.1, "", false, false, "-0.1"},
		{math.NaN(), "", false, false, ""},
		{0, "DE", true, false, "DE"},
		{0, "", true, true, ""},
		{0, "", true, false, ""},
	} {
		if got := ls.sliceValue(0, c.x, c.str, c.isStr, c.nl); got != c.want {
			t.Errorf("sliceValue(%v, %q, string %v, missing %v) = %q, want %q", c.x, c.str, c.isStr, c.nl, got, c.want)
		}
	}
	for i := range maxInternedPerColumn + 100 {
		x := float64(i) + 0.5
		if got, want := ls.sliceValue(0, x, "", false, false), strconv.FormatFloat(x, 'g', -1, 64); got != want {
			t.Fatalf("sliceValue(%v) = %q, want %q", x, got, want)
		}
		str := "v" + strconv.Itoa(i)
		if got := ls.sliceValue(0, 0, str, true, false); got != str {
			t.Fatalf("sliceValue(%q) = %q, want it", str, got)
		}
	}
	if len(ls.floats[0]) != maxInternedPerColumn || len(ls.strs[0]) != maxInternedPerColumn {
		t.Errorf("interned %d numbers and %d strings, want %d each", len(ls.floats[0]), len(ls.strs[0]), maxInternedPerColumn)
	}
}

// TestQualitySliceSeriesBounded: /metrics reports at most 50 values of a
// slice column per window and metric, the first ones ascending; /monitor
// reports them all.
func TestQualitySliceSeriesBounded(t *testing.T) {
	opts := DefaultOptions()
	opts.Labels = newLabels(t, labels.Options{Windows: []time.Duration{time.Hour}})
	opts.Models = map[string]ModelOptions{"txlin": {Quality: Quality{Slices: []string{"amount"}}}}
	s, _ := txServer(t, opts, nil)
	const n = 60
	rows := make([]txRow, n)
	var fb []map[string]any
	for i := range rows {
		rows[i] = txRow{"amount": float64(100 + i), "age": 30.0, "country": "DE"}
		fb = append(fb, map[string]any{"id": "b/" + strconv.Itoa(i), "label": i % 2})
	}
	body := txBodies(txLinInputs, rows)["instances-objects"]
	if code, out, _ := call(s, "POST", "/v1/models/txlin:predict", body, "X-Request-Id", "b"); code != 200 {
		t.Fatalf("POST %d instances: %d %s", n, code, out)
	}
	if code, out, _ := call(s, "POST", "/v1/models/txlin/feedback", feedbackBody(t, fb...)); code != 200 || !strings.Contains(out, fmt.Sprintf(`"joined":%d`, n)) {
		t.Fatalf("feedback: %d %s, want %d joined", code, out, n)
	}
	_, text, _ := call(s, "GET", "/metrics", "")
	fams := promtest.Parse(t, []byte(text))
	perMetric := map[string][]string{}
	if fam := fams["predictd_model_quality_slice"]; fam != nil {
		for _, m := range fam.Metric {
			l := map[string]string{}
			for _, p := range m.Label {
				l[p.GetName()] = p.GetValue()
			}
			perMetric[l["metric"]] = append(perMetric[l["metric"]], l["value"])
		}
	}
	if len(perMetric) == 0 {
		t.Fatalf("/metrics has no predictd_model_quality_slice series")
	}
	for metric, values := range perMetric {
		if len(values) > maxSliceValuesPerColumn || slices.Contains(values, "159") {
			t.Errorf("metric %s: %d values of amount %q, want at most %d, without the last (159)", metric, len(values), values, maxSliceValuesPerColumn)
		}
	}
	if vals := perMetric["accuracy"]; len(vals) != maxSliceValuesPerColumn || !slices.Contains(vals, "100") {
		t.Errorf("accuracy by amount: %q, want the first %d values", vals, maxSliceValuesPerColumn)
	}
}

// TestQualityStoreFailed: when the store fails (here: closed), a
// version's quality in /monitor is {"error": ...} naming it, /metrics
// has no quality gauge for it, and feedback answers the error.
func TestQualityStoreFailed(t *testing.T) {
	st := newLabels(t, labels.Options{})
	opts := DefaultOptions()
	opts.Labels = st
	s := newTestServer(t, opts)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, _ := call(s, "GET", "/v1/models/lr/monitor", "")
	if code != 200 || !strings.Contains(out, `"quality":{"error":"labels store closed"}`) {
		t.Errorf("GET monitor with the store closed: %d %s, want 200 with quality {\"error\": \"labels store closed\"}", code, out)
	}
	if _, text, _ := call(s, "GET", "/metrics", ""); strings.Contains(text, "predictd_model_quality{") {
		t.Errorf("/metrics has quality gauges with the store closed")
	}
	if code, out, _ := call(s, "POST", "/v1/models/lr/feedback", `[{"id": "a", "label": 1}]`); code != 500 || !strings.Contains(out, "labels store: labels store closed") {
		t.Errorf("feedback with the store closed: %d %s, want 500 naming the store", code, out)
	}
}
