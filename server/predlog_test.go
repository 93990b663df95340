package server

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/predictd/predictd/monitor/predlog"
	"github.com/predictd/predictd/wire/kservepb"
)

// logRow is one prediction log row by column name: string, float64,
// int64, or nil (null).
type logRow map[string]any

// newPredLog returns a prediction log in a temporary directory with
// policy as every model's, closed when t ends; keyFile is set when
// keyed is.
func newPredLog(t *testing.T, policy predlog.Policy, keyed bool) (*predlog.Log, string) {
	t.Helper()
	dir := t.TempDir()
	opts := predlog.DefaultOptions()
	opts.Dir, opts.Default = filepath.Join(dir, "log"), policy
	if keyed {
		opts.KeyFile = filepath.Join(dir, "key")
		if err := os.WriteFile(opts.KeyFile, []byte(testKeyHex+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := predlog.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l, opts.Dir
}

const testKeyHex = "000102030405060708090a0b0c0d0e0f"

// readLog closes l and returns every row of the completed segments under
// dir, by id, and the segments' column names (all segments of a model
// version have the same).
func readLog(t *testing.T, l *predlog.Log, dir string) (map[string]logRow, []string) {
	t.Helper()
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "*", "*", "*", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]logRow{}
	var cols []string
	for _, path := range segs {
		seg, err := predlog.ReadSegment(path)
		if err != nil {
			t.Fatal(err)
		}
		cols = seg.Columns
		for _, row := range seg.Rows {
			id, _ := row["id"].(string)
			if _, dup := rows[id]; dup {
				t.Errorf("%s: id %q logged twice", path, id)
			}
			rows[id] = row
		}
	}
	return rows, cols
}

// lrFeatures are the input names of the "lr" fixture.
func lrFeatures(t testing.TB) []string {
	t.Helper()
	s := newTestServer(t, Options{})
	p, rel, err := s.models.Acquire("lr", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rel.Release()
	sc := p.(*versionState).schema
	names := make([]string, sc.NumFeatures())
	for f := range names {
		names[f] = sc.Name(f)
	}
	return names
}

// TestPredLogRecords: with a prediction log at rate 1, each instance of
// each answered request (and nothing of a failed one), in every request form, is one row: the id the
// answer returned ("<id>/<i>" for a request of several instances), the
// model and version, the raw inputs the request carried (strings
// included, a missing value null), the outputs the answer returned, bit
// for bit, and a latency.
func TestPredLogRecords(t *testing.T) {
	l, dir := newPredLog(t, predlog.Policy{SampleRate: 1, Fields: txLinInputs}, false)
	opts := DefaultOptions()
	opts.PredictionLog = l
	s, _ := txServer(t, opts, nil)
	reqs := txSendAll(t, s)
	// A failed request is not logged.
	if code, out, _ := call(s, "POST", "/v1/models/txlin:predict", `{"instances": [{"amount": "x"}]}`, "X-Request-Id", "failed"); code != 400 {
		t.Fatalf("bad request: %d %s, want 400", code, out)
	}
	// One instance: its id alone.
	one := txBodies(txLinInputs, txRows[1:2])["instances-objects"]
	code, out, _ := call(s, "POST", "/v1/models/txlin:predict", one, "X-Request-Id", "single")
	if code != 200 {
		t.Fatalf("POST %s: %d %s", one, code, out)
	}
	rows, cols := readLog(t, l, dir)
	out1 := txPreds(t, out)
	wantCols := []string{"id", "time", "model", "version", "amount", "age", "country"}
	if len(cols) != len(wantCols)+2 || !slices.Equal(cols[:len(wantCols)], wantCols) || cols[len(cols)-1] != "latency_us" {
		t.Fatalf("columns %q, want %q, one output, latency_us", cols, wantCols)
	}
	outCol := cols[len(wantCols)]
	check := func(id string, in txRow, pred float64) {
		t.Helper()
		row, ok := rows[id]
		if !ok {
			t.Errorf("id %q not in the log (%d rows)", id, len(rows))
			return
		}
		got, _ := row[outCol].(float64)
		if row["model"] != "txlin" || row["version"] != int64(1) || math.Float64bits(got) != math.Float64bits(pred) {
			t.Errorf("id %q: model %v version %v %s %v, want txlin 1 %v", id, row["model"], row["version"], outCol, row[outCol], pred)
		}
		if lat, _ := row["latency_us"].(int64); lat <= 0 {
			t.Errorf("id %q: latency_us %v, want > 0", id, row["latency_us"])
		}
		for _, name := range txLinInputs {
			if row[name] != in[name] {
				t.Errorf("id %q: %s = %#v, want %#v", id, name, row[name], in[name])
			}
		}
	}
	for _, r := range reqs {
		for i, in := range txRows {
			check(r.id+"/"+strconv.Itoa(i), in, r.preds[i])
		}
	}
	check("single", txRows[1], out1[0])
	if want := len(reqs)*len(txRows) + 1; len(rows) != want {
		t.Errorf("%d rows logged, want %d", len(rows), want)
	}
}

// TestPredLogGRPC: a gRPC ModelInfer is logged by the id its response
// returns, the request's or a generated one.
func TestPredLogGRPC(t *testing.T) {
	l, dir := newPredLog(t, predlog.Policy{SampleRate: 1, Fields: lrFeatures(t)}, false)
	s := newTestServer(t, Options{PredictionLog: l})
	row := []float64{17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871}
	var ids []string
	var preds []float64
	for _, id := range []string{"g-1", ""} {
		resp, err := grpcService{s: s}.ModelInfer(t.Context(), &kservepb.ModelInferRequest{ModelName: "lr", Id: id, Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{
			Name: "input", Datatype: "FP64", Shape: []int64{1, 10},
			Contents: &kservepb.InferTensorContents{Fp64Contents: row},
		}}})
		if err != nil {
			t.Fatalf("ModelInfer id %q: %v", id, err)
		}
		ids = append(ids, resp.GetId())
		preds = append(preds, resp.GetOutputs()[0].GetContents().GetFp64Contents()[0])
	}
	rows, cols := readLog(t, l, dir)
	outCol := cols[4+len(row)]
	for i, id := range ids {
		r, ok := rows[id]
		if !ok {
			t.Errorf("gRPC id %q not in the log (ids %v)", id, ids)
			continue
		}
		if got, _ := r[outCol].(float64); math.Float64bits(got) != math.Float64bits(preds[i]) {
			t.Errorf("id %q: %s = %v, want %v", id, outCol, r[outCol], preds[i])
		}
		for f, x := range row {
			if r[cols[4+f]] != x {
				t.Errorf("id %q: %s = %v, want %v", id, cols[4+f], r[cols[4+f]], x)
			}
		}
	}
}

// TestPredLogSampledOut: at rate 0 nothing is written, the answers still
// carry ids, and /metrics counts each instance sampled_out.
func TestPredLogSampledOut(t *testing.T) {
	l, dir := newPredLog(t, predlog.Policy{}, false)
	s := newTestServer(t, Options{PredictionLog: l})
	body := `{"instances": [` + lrRow + `,` + lrRow + `]}`
	for i := range 5 {
		code, out, ctx := call(s, "POST", "/v1/models/lr:predict", body)
		if id := string(ctx.Response.Header.Peek("X-Request-Id")); code != 200 || !generatedID.MatchString(id) || !strings.Contains(out, `"id":"`+id+`"`) {
			t.Fatalf("request %d: %d %s, id %q; want 200 with a generated id", i, code, out, id)
		}
	}
	_, metrics, _ := call(s, "GET", "/metrics", "")
	for _, want := range []string{
		`predictd_prediction_log_records_total{model="lr",outcome="sampled_out"} 10`,
		`predictd_prediction_log_records_total{model="lr",outcome="logged"} 0`,
		`predictd_prediction_log_records_total{model="lr",outcome="dropped"} 0`,
		"predictd_prediction_log_segments_total 0",
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	rows, _ := readLog(t, l, dir)
	if len(rows) != 0 {
		t.Errorf("rate 0 logged %d rows, want none", len(rows))
	}
}

// TestPredLogPolicy: the allowlist keeps only the inputs it names, a
// hashed string input and the hashed id are written as predlog.Hash of
// the key; /metrics counts the records logged and the segment written.
func TestPredLogPolicy(t *testing.T) {
	l, dir := newPredLog(t, predlog.Policy{SampleRate: 1, Fields: []string{"country"}, Hashed: []string{"country"}, HashID: true}, true)
	opts := DefaultOptions()
	opts.PredictionLog = l
	s, _ := txServer(t, opts, nil)
	body := txBodies(txLinInputs, txRows)["instances-arrays"]
	if code, out, _ := call(s, "POST", "/v1/models/txlin:predict", body, "X-Request-Id", "p"); code != 200 {
		t.Fatalf("POST %s: %d %s", body, code, out)
	}
	_, metrics, _ := call(s, "GET", "/metrics", "")
	if want := `predictd_prediction_log_records_total{model="txlin",outcome="logged"} 4`; !strings.Contains(metrics, want+"\n") {
		t.Errorf("/metrics lacks %q", want)
	}
	rows, cols := readLog(t, l, dir)
	if len(cols) != 7 || cols[4] != "country" {
		t.Fatalf("columns %q, want id, time, model, version, country, the output, latency_us", cols)
	}
	key := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	for i, in := range txRows {
		id := predlog.Hash(key, "p/"+strconv.Itoa(i))
		r, ok := rows[id]
		if want := predlog.Hash(key, in["country"].(string)); !ok || r["country"] != want {
			t.Errorf("instance %d: row %v (found %v), want id %s, country %s", i, r, ok, id, want)
		}
	}
	_, metrics, _ = call(s, "GET", "/metrics", "")
	if !strings.Contains(metrics, "predictd_prediction_log_segments_total 1\n") || strings.Contains(metrics, "predictd_prediction_log_bytes_total 0\n") ||
		!strings.Contains(metrics, "predictd_prediction_log_errors_total 0\n") || !strings.Contains(metrics, "predictd_prediction_log_lost_records_total 0\n") {
		t.Errorf("/metrics after Close: want 1 segment, its bytes, no errors or lost records, got %s", grepLines(metrics, "predictd_prediction_log"))
	}
}

// TestPredictLogAllocs: the warm hot path allocates nothing with the
// prediction log on, every request logged (the log's slots warmed: a
// slot's first use allocates its arrays).
func TestPredictLogAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	for _, mode := range []BatchingMode{BatchingNever, BatchingAlways} {
		po := predlog.DefaultOptions()
		po.Dir, po.BufferRecords = t.TempDir(), 4
		po.Default = predlog.Policy{SampleRate: 1, Fields: append(lrFeatures(t), "age", "income")}
		l, err := predlog.New(po)
		if err != nil {
			t.Fatal(err)
		}
		opts := DefaultOptions()
		opts.DefaultModel.Batching = mode
		opts.PredictionLog = l
		s := newTestServer(t, opts)
		for range 100 { // every slot used with each model's record
			call(s, "POST", "/v1/models/lr:predict", `{"instances": [`+lrRow+`]}`)
			call(s, "POST", "/v1/models/trees:predict", `{"instances": [[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]]}`)
		}
		checkPredictAllocs(t, s, mode)
		if err := l.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		// The buffer of 4 drops most: the writer is slower than the loop.
		if st := l.Stats(); st.Logged < 4 || st.Records != st.Logged || st.Logged+st.Dropped < 800 {
			t.Errorf("batching %s: the log's stats %+v, want records logged and all written, every request offered (800+)", mode, st)
		}
	}
}

// txSent is one request txSendAll sent: the id its answer returned and its
// predictions.
type txSent struct {
	id    string
	preds []float64
}

// txSendAll sends txRows to txlin in every request form of txBodies: TF
// Serving forms with an X-Request-Id of their own, OIP with a generated
// one; it fails t on an answer other than 200.
func txSendAll(t *testing.T, s *Server) []txSent {
	t.Helper()
	var reqs []txSent
	for form, body := range txBodies(txLinInputs, txRows) {
		uri, h := "/v1/models/txlin:predict", []string{"X-Request-Id", "r-" + form}
		if form == "oip" {
			uri, h = "/v2/models/txlin/infer", nil // generated
		}
		code, out, ctx := call(s, "POST", uri, body, h...)
		if code != 200 {
			t.Fatalf("POST %s %s: %d %s", uri, body, code, out)
		}
		reqs = append(reqs, txSent{string(ctx.Response.Header.Peek("X-Request-Id")), txPreds(t, out)})
	}
	return reqs
}
