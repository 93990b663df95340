package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/featcache/pebblestore"
	"github.com/predictd/predictd/kernels"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
	"github.com/predictd/predictd/monitor/watch"
	"github.com/predictd/predictd/tools/profile"
)

// Versions with transforms (trained by predictd): "txlin", a logistic
// model over a standardized amount (no imputer: a missing amount is
// refused), an imputed age with its indicator and a one-hot country
// (unknown: error); "txtrees", a tree model over a raw amount and an
// ordinal country (missing values routed by the trees). Both carry a
// reference profiled over their model columns, so the monitor watches
// them.

// txInputs are the raw inputs of both versions, in the order of
// txlin's features (txtrees takes amount and country).
var txLinInputs = []string{"amount", "age", "country"}
var txTreesInputs = []string{"amount", "country"}

// txFitRows are the rows the transforms are fitted on.
var txFitRows = []transform.Row{
	{transform.Num(1), transform.Num(20), transform.Str("DE")},
	{transform.Num(3), transform.Num(30), transform.Str("US")},
	{transform.Num(5), {}, transform.Str("US")},
	{transform.Num(2), transform.Num(40), transform.Str("Ünïcode \"x\"")},
}

// txLin builds txlin's pipeline and model.
func txLin(t testing.TB) (*model.Imported, *transform.Pipeline) {
	t.Helper()
	feats := []transform.Feature{
		{Name: "amount", Columns: []string{"amount"}, Steps: []transform.Step{{Op: transform.OpStandardize}}},
		{Name: "age", Columns: []string{"age"}, Steps: []transform.Step{{Op: transform.OpImpute, Strategy: "mean", Indicator: true}, {Op: transform.OpStandardize}}},
		{Name: "country", Columns: []string{"country"}, Encode: &transform.Encoding{Op: transform.EncOneHot, Unknown: "error"}},
	}
	p, err := transform.FitRows(feats, txFitRows)
	if err != nil {
		t.Fatal(err)
	}
	names := p.Names()
	cols := make([]model.Feature, len(names))
	w := make([]float64, len(names))
	for i, n := range names {
		cols[i] = model.Feature{Name: n, Type: model.FeatureFloat}
		w[i] = 0.3*float64(i+1) - 0.7
	}
	d := &model.Dense{Layers: []model.Layer{{In: len(names), Out: 1, Weights: w, Bias: []float64{0.1}, Activation: kernels.ActIdentity}}, Link: model.LinkSigmoid}
	outs, raw := model.DefaultOutputs(model.TaskBinary, 1, model.LinkSigmoid)
	return &model.Imported{
		Kind: model.KindLinear, Task: model.TaskBinary, Features: cols, Outputs: outs, RawOutputs: raw,
		Source: model.Source{Format: "predictd-train", File: "spec.yaml", SHA256: "00"}, Model: d,
	}, p
}

// txTrees builds txtrees' pipeline and model: two trees over amount and
// the country's ordinal code, missing values sent left by one and right
// by the other.
func txTrees(t testing.TB) (*model.Imported, *transform.Pipeline) {
	t.Helper()
	feats := []transform.Feature{
		{Name: "amount", Columns: []string{"amount"}},
		{Name: "country", Columns: []string{"country"}, Encode: &transform.Encoding{Op: transform.EncOrdinal, Unknown: "error"}},
	}
	rows := make([]transform.Row, len(txFitRows))
	for i, r := range txFitRows {
		rows[i] = transform.Row{r[0], r[2]}
	}
	p, err := transform.FitRows(feats, rows)
	if err != nil {
		t.Fatal(err)
	}
	tr := &model.Trees{Link: model.LinkSigmoid, Scale: 1, Divide: 1}
	f := &tr.Forest
	f.NumFeatures = 2
	f.Base = []float64{0.25}
	f.Compare = kernels.LessEqFloat64
	for i, nodes := range [][]model.SourceNode{
		{
			{Feature: 0, Value: 2.5, Left: 1, Right: 2, Flags: kernels.FlagDefaultLeft},
			{Leaf: true, Value: -0.5},
			{Feature: 1, Value: 0.5, Left: 3, Right: 4},
			{Leaf: true, Value: 0.75},
			{Leaf: true, Value: 1.25},
		},
		{
			{Feature: 1, Value: 1.5, Left: 1, Right: 2},
			{Leaf: true, Value: 0.125},
			{Leaf: true, Value: -0.375},
		},
	} {
		if err := model.AppendTree(f, nodes, 0, 0); err != nil {
			t.Fatalf("AppendTree(%d): %v", i, err)
		}
	}
	if err := tr.Validate(); err != nil {
		t.Fatal(err)
	}
	cols := make([]model.Feature, p.Width())
	for i, n := range p.Names() {
		cols[i] = model.Feature{Name: n, Type: model.FeatureFloat}
	}
	outs, raw := model.DefaultOutputs(model.TaskBinary, 1, model.LinkSigmoid)
	return &model.Imported{
		Kind: model.KindTrees, Task: model.TaskBinary, Features: cols, Outputs: outs, RawOutputs: raw,
		Source: model.Source{Format: "predictd-train", File: "spec.yaml", SHA256: "00"}, Model: tr,
	}, p
}

// txReference profiles imp's columns over the fitted rows through p.
func txReference(t testing.TB, imp *model.Imported, p *transform.Pipeline, rows []transform.Row) *model.Reference {
	t.Helper()
	nc := p.Width()
	var x []float64
	for _, r := range rows {
		var err error
		if x, err = model.TransformRow(x, p, true, r); err != nil {
			t.Fatal(err)
		}
	}
	preds := imp.Model.Predict(nil, x, false)
	ref := &model.Reference{FormatVersion: model.ReferenceFormatVersion, Created: time.Unix(1700000000, 0).UTC(), Source: "train.csv", Rows: int64(len(rows))}
	for j := range nc {
		var vals []float64
		missing := int64(0)
		for i := range rows {
			if v := x[i*nc+j]; math.IsNaN(v) {
				missing++
			} else {
				vals = append(vals, v)
			}
		}
		ref.Features = append(ref.Features, profile.Numeric(p.Names()[j], vals, ref.Rows, missing, slices.Clone(vals), 4))
	}
	ref.Outputs = append(ref.Outputs, profile.Numeric(imp.Outputs[0].Name, slices.Clone(preds), ref.Rows, 0, slices.Clone(preds), 4))
	return ref
}

// txServer serves txlin and txtrees from a fresh repository with opts
// (and a model monitor when mon is set), and returns the repository.
func txServer(t testing.TB, opts Options, mon *watch.Monitor) (*Server, string) {
	t.Helper()
	repo := t.TempDir()
	for _, m := range []struct {
		name  string
		build func(testing.TB) (*model.Imported, *transform.Pipeline)
		rows  func(transform.Row) transform.Row
	}{
		{"txlin", txLin, func(r transform.Row) transform.Row { return r }},
		{"txtrees", txTrees, func(r transform.Row) transform.Row { return transform.Row{r[0], r[2]} }},
	} {
		imp, p := m.build(t)
		rows := make([]transform.Row, len(txFitRows))
		for i, r := range txFitRows {
			rows[i] = m.rows(r)
		}
		ref := txReference(t, imp, p, rows)
		if _, _, err := model.Write(repo, m.name, imp, model.WriteOptions{Transform: p, Reference: ref}); err != nil {
			t.Fatal(err)
		}
	}
	opts.Monitor = mon
	return serveRepo(t, opts, repo), repo
}

// txRow is one raw instance, by input name: a float64, a string, or nil
// (missing).
type txRow map[string]any

// txRows are requests' instances for both versions (txtrees ignores age):
// known categories, a missing age (imputed), a category with escapes and
// non-ASCII letters.
var txRows = []txRow{
	{"amount": 1.5, "age": nil, "country": "DE"},
	{"amount": 3.0, "age": 33.5, "country": "US"},
	{"amount": -2.0, "age": 25.0, "country": "Ünïcode \"x\""},
	{"amount": 4.25, "age": 61.0, "country": "DE"},
}

// txValue is v as JSON.
func txValue(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// txBodies returns the same instances in each request form: TF Serving
// instances as objects and as arrays, columnar inputs, and OIP's
// per-feature inputs (BYTES for the string input).
func txBodies(names []string, rows []txRow) map[string]string {
	var objs, arrs []string
	for _, r := range rows {
		var o, a []string
		for _, n := range names {
			o = append(o, fmt.Sprintf("%q: %s", n, txValue(r[n])))
			a = append(a, txValue(r[n]))
		}
		objs = append(objs, "{"+strings.Join(o, ", ")+"}")
		arrs = append(arrs, "["+strings.Join(a, ", ")+"]")
	}
	var cols, ins []string
	for _, n := range names {
		var vs []string
		dt := "FP64"
		for _, r := range rows {
			vs = append(vs, txValue(r[n]))
			if _, ok := r[n].(string); ok {
				dt = "BYTES"
			}
		}
		cols = append(cols, fmt.Sprintf("%q: [%s]", n, strings.Join(vs, ", ")))
		ins = append(ins, fmt.Sprintf(`{"name": %q, "datatype": %q, "shape": [%d], "data": [%s]}`, n, dt, len(rows), strings.Join(vs, ", ")))
	}
	return map[string]string{
		"instances-objects": `{"instances": [` + strings.Join(objs, ", ") + `]}`,
		"instances-arrays":  `{"instances": [` + strings.Join(arrs, ", ") + `]}`,
		"columns":           `{"inputs": {` + strings.Join(cols, ", ") + `}}`,
		"oip":               `{"inputs": [` + strings.Join(ins, ", ") + `]}`,
	}
}

// txWant is what model.TransformRow and the payload's Predict give for
// rows, through the version in repo as model.Open loads it.
func txWant(t *testing.T, repo, name string, names []string, rows []txRow) []float64 {
	t.Helper()
	l, err := model.Open(repo, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	var x []float64
	for i, r := range rows {
		raw := make(transform.Row, len(names))
		for j, n := range names {
			switch v := r[n].(type) {
			case float64:
				raw[j] = transform.Num(v)
			case string:
				raw[j] = transform.Str(v)
			}
		}
		if x, err = model.TransformRow(x, l.Transform, l.Manifest.Kind == model.KindTrees, raw); err != nil {
			t.Fatalf("%s: TransformRow(instance %d): %v", name, i, err)
		}
	}
	return l.Model.Predict(nil, x, false)
}

// txPreds parses a predict or infer response's predictions exactly: the
// server writes numbers shortest-exact, so ParseFloat gives back its bits.
func txPreds(t *testing.T, body string) []float64 {
	t.Helper()
	var resp struct {
		Predictions []json.Number `json:"predictions"`
		Columns     []json.Number `json:"outputs"`
	}
	var infer struct {
		Outputs []struct {
			Data []json.Number `json:"data"`
		} `json:"outputs"`
	}
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	nums := []json.Number(nil)
	if strings.Contains(body, `"model_name"`) {
		if err := d.Decode(&infer); err != nil || len(infer.Outputs) != 1 {
			t.Fatalf("infer response %s: %v", body, err)
		}
		nums = infer.Outputs[0].Data
	} else {
		if err := d.Decode(&resp); err != nil {
			t.Fatalf("predict response %s: %v", body, err)
		}
		nums = resp.Predictions
		if nums == nil {
			nums = resp.Columns
		}
	}
	out := make([]float64, len(nums))
	for i, n := range nums {
		var err error
		if out[i], err = strconv.ParseFloat(string(n), 64); err != nil {
			t.Fatalf("response %s: %v", body, err)
		}
	}
	return out
}

// TestTransformPredict: for raw rows in every request form, a version
// with transforms answers, bit for bit, what model.TransformRow and the
// payload's Predict give on the same rows; batched and unbatched.
func TestTransformPredict(t *testing.T) {
	for _, mode := range []BatchingMode{BatchingNever, BatchingAlways} {
		opts := DefaultOptions()
		opts.DefaultModel.Batching = mode
		s, repo := txServer(t, opts, nil)
		for _, m := range []struct {
			name  string
			names []string
			rows  []txRow
		}{
			{"txlin", txLinInputs, txRows},
			// Trees take missing values: a missing amount and country.
			{"txtrees", txTreesInputs, append(slices.Clone(txRows), txRow{"amount": nil, "country": nil})},
		} {
			want := txWant(t, repo, m.name, m.names, m.rows)
			for form, body := range txBodies(m.names, m.rows) {
				uri := "/v1/models/" + m.name + ":predict"
				if form == "oip" {
					uri = "/v2/models/" + m.name + "/infer"
				}
				code, out, _ := call(s, "POST", uri, body)
				if code != 200 {
					t.Fatalf("batching %s: POST %s %s: %d %s", mode, uri, body, code, out)
				}
				got := txPreds(t, out)
				if len(got) != len(want) {
					t.Fatalf("batching %s: POST %s %s = %v, want %v", mode, uri, body, got, want)
				}
				for i := range got {
					if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
						t.Errorf("batching %s: %s %s: instance %d = %v, want %v (TransformRow + Predict)", mode, m.name, form, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestTransformErrors: each raw value a version with transforms cannot
// take is a 400 naming the instance and the feature or column.
func TestTransformErrors(t *testing.T) {
	s, _ := txServer(t, DefaultOptions(), nil)
	ok := `{"amount": 1, "age": 2, "country": "DE"}`
	for _, c := range []struct {
		uri, body, want string
	}{
		{"/v1/models/txlin:predict", `{"instances": [` + ok + `, ` + ok + `, ` + ok + `, {"amount": 1, "age": 2, "country": 49}]}`,
			`instance 3: field "country": want a string (a category) or null, got a number`},
		{"/v1/models/txlin:predict", `{"instances": [` + ok + `, {"amount": "1.5", "age": 2, "country": "DE"}]}`,
			`instance 1: field "amount": expected a number, got a string`},
		{"/v1/models/txlin:predict", `{"inputs": {"amount": [1, 2], "age": [2, null], "country": ["DE", "FR"]}}`,
			`instance 1: transform: column country: unknown category "FR"`},
		{"/v1/models/txlin:predict", `{"instances": [` + ok + `, ` + ok + `, {"amount": null, "age": 2, "country": "DE"}]}`,
			`instance 2: column amount: missing value; the model takes none`},
		{"/v2/models/txlin/infer", `{"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 3], "data": [1, 2, 3]}]}`,
			`input "input": the model has string inputs (country), which a 2-D numeric tensor cannot carry: send one input per feature`},
		{"/v2/models/txlin/infer", `{"inputs": [{"name": "amount", "datatype": "FP64", "shape": [1], "data": [1]}, {"name": "age", "datatype": "FP64", "shape": [1], "data": [1]}, {"name": "country", "datatype": "FP64", "shape": [1], "data": [1]}]}`,
			`input "country": datatype FP64, but "country" is a string input (a category): send datatype BYTES`},
		{"/v2/models/txtrees/infer", `{"inputs": [{"name": "amount", "datatype": "FP64", "shape": [2], "data": [1, null]}, {"name": "country", "datatype": "BYTES", "shape": [2], "data": ["US", "XX"]}]}`,
			`instance 1: transform: column country: unknown category "XX"`},
	} {
		code, body, _ := call(s, "POST", c.uri, c.body)
		if code != 400 || !strings.Contains(errMsg(body), c.want) {
			t.Errorf("POST %s %s = %d %s, want 400 containing %q", c.uri, c.body, code, body, c.want)
		}
	}
}

// TestTransformMetadata: v1 and v2 metadata list the raw inputs with their
// types (OIP: one tensor per input, BYTES for a string) and the number of
// model columns.
func TestTransformMetadata(t *testing.T) {
	s, _ := txServer(t, DefaultOptions(), nil)
	code, body, _ := call(s, "GET", "/v1/models/txlin/metadata", "")
	var v1 struct {
		Metadata struct {
			Features     []model.Feature `json:"features"`
			ModelColumns int             `json:"model_columns"`
			Transform    bool            `json:"transform"`
		} `json:"metadata"`
	}
	wantFeatures := []model.Feature{{Name: "amount", Type: model.FeatureFloat}, {Name: "age", Type: model.FeatureFloat}, {Name: "country", Type: model.FeatureString}}
	// amount, age, age_missing, and one column per country.
	const wantCols = 3 + 3
	if code != 200 || json.Unmarshal([]byte(body), &v1) != nil || !slices.Equal(v1.Metadata.Features, wantFeatures) || v1.Metadata.ModelColumns != wantCols || !v1.Metadata.Transform {
		t.Errorf("GET /v1/models/txlin/metadata = %d %s, want features %v, model_columns %d, transform true", code, body, wantFeatures, wantCols)
	}
	code, body, _ = call(s, "GET", "/v2/models/txlin", "")
	var v2 struct {
		Inputs     []tensorMeta `json:"inputs"`
		Parameters struct {
			ModelColumns int  `json:"model_columns"`
			Missing      bool `json:"missing"`
		} `json:"parameters"`
	}
	wantInputs := []tensorMeta{{"amount", "FP64", []int{-1}}, {"age", "FP64", []int{-1}}, {"country", "BYTES", []int{-1}}}
	same := code == 200 && json.Unmarshal([]byte(body), &v2) == nil && slices.EqualFunc(v2.Inputs, wantInputs, func(a, b tensorMeta) bool {
		return a.Name == b.Name && a.Datatype == b.Datatype && slices.Equal(a.Shape, b.Shape)
	})
	if !same || v2.Parameters.ModelColumns != wantCols || !v2.Parameters.Missing {
		t.Errorf("GET /v2/models/txlin = %d %s, want inputs %v, model_columns %d, missing true", code, body, wantInputs, wantCols)
	}
}

// TestTransformMonitor: the monitor profiles what the model saw, the
// transformed columns, against the reference over the same columns: age
// sent missing is imputed, so its column has no missing value.
func TestTransformMonitor(t *testing.T) {
	mon, err := watch.New(watch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, repo := txServer(t, DefaultOptions(), mon)
	body := txBodies(txLinInputs, txRows)["instances-objects"]
	if code, out, _ := call(s, "POST", "/v1/models/txlin:predict", body); code != 200 {
		t.Fatalf("POST %s: %d %s", body, code, out)
	}
	code, out, _ := call(s, "GET", "/v1/models/txlin/monitor", "")
	var rep struct {
		Versions []struct {
			Windows []struct {
				Name  string `json:"name"`
				Rows  int64  `json:"rows"`
				Drift struct {
					Features []struct {
						Name  string `json:"name"`
						Stats struct {
							Rows    int64 `json:"rows"`
							Missing int64 `json:"missing"`
						} `json:"stats"`
					} `json:"features"`
				} `json:"drift"`
			} `json:"windows"`
		} `json:"versions"`
	}
	if code != 200 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Versions) != 1 || len(rep.Versions[0].Windows) == 0 {
		t.Fatalf("GET /v1/models/txlin/monitor = %d %s", code, out)
	}
	w := rep.Versions[0].Windows[0]
	var names []string
	for _, f := range w.Drift.Features {
		names = append(names, f.Name)
		if f.Stats.Rows != int64(len(txRows)) || f.Stats.Missing != 0 {
			t.Errorf("window %s: column %s: %d rows, %d missing; want %d rows, none missing (age imputed)", w.Name, f.Name, f.Stats.Rows, f.Stats.Missing, len(txRows))
		}
	}
	imp, p := txLin(t)
	if want := p.Names(); w.Rows != int64(len(txRows)) || !slices.Equal(names, want) || len(imp.Features) != len(want) {
		t.Errorf("window %s: %d rows over %q; want %d rows over the model columns %q", w.Name, w.Rows, names, len(txRows), want)
	}

	// The prediction histogram reads the outputs' series, which follow
	// the model columns' in the monitor's window.
	reg := prometheus.NewRegistry()
	reg.MustRegister(mon)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	preds := txWant(t, repo, "txlin", txLinInputs, txRows)
	found := false
	for _, fam := range fams {
		if fam.GetName() != "predictd_prediction_value" {
			continue
		}
		for _, m := range fam.GetMetric() {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == "model" && l.GetValue() == "txlin" }) {
				continue
			}
			found = true
			h := m.GetHistogram()
			if h.GetSampleCount() != uint64(len(preds)) {
				t.Errorf("predictd_prediction_value count %d, want %d", h.GetSampleCount(), len(preds))
			}
			for _, b := range h.GetBucket() {
				want := uint64(0)
				for _, x := range preds {
					if x < b.GetUpperBound() {
						want++
					}
				}
				if b.GetCumulativeCount() != want {
					t.Errorf("predictd_prediction_value bucket le=%v: %d, want %d of the predictions %v", b.GetUpperBound(), b.GetCumulativeCount(), want, preds)
				}
			}
		}
	}
	if !found {
		t.Errorf("no predictd_prediction_value series for txlin")
	}
}

// TestTransformContract: a contract column naming a string input is
// refused (model.CheckContract: at import, and when a version loads), with
// a message saying what to change; one over the numeric inputs is checked
// on the raw values.
func TestTransformContract(t *testing.T) {
	imp, p := txLin(t)
	repo := t.TempDir()
	const onCountry = "columns:\n  - name: amount\n    type: float\n    min: 0\n  - name: country\n    type: int\n"
	_, _, err := model.Write(repo, "txlin", imp, model.WriteOptions{Transform: p, Contract: []byte(onCountry), ContractSource: "c.yaml"})
	if err == nil || !strings.Contains(err.Error(), `column "country" is a string input (a category) of this version, and the daemon checks contracts on numeric inputs only: drop the column`) {
		t.Errorf("Write(contract naming the string input country) error = %v, want one naming the column and saying what to change", err)
	}

	repo = t.TempDir()
	const onAmount = "columns:\n  - name: amount\n    type: float\n    min: 0\n"
	if _, _, err := model.Write(repo, "txlin", imp, model.WriteOptions{Transform: p, Contract: []byte(onAmount), ContractSource: "c.yaml"}); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.DefaultModel.Contract = ContractEnforce
	s := serveRepo(t, opts, repo)
	body := `{"instances": [{"amount": 1, "age": null, "country": "DE"}, {"amount": -1, "age": 3, "country": "US"}]}`
	code, out, _ := call(s, "POST", "/v1/models/txlin:predict", body)
	if want := `instance 1: field "amount": -1 is outside the range [0, +inf]`; code != 400 || !strings.Contains(errMsg(out), want) {
		t.Errorf("POST %s = %d %s, want 400 containing %q", body, code, out, want)
	}
}

// TestTransformAllocs: the warm path of a version with transforms
// (decode with strings, transform, predict, encode, monitor) allocates
// nothing, batched and unbatched.
func TestTransformAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	for _, mode := range []BatchingMode{BatchingNever, BatchingAlways} {
		mon, err := watch.New(watch.Options{})
		if err != nil {
			t.Fatal(err)
		}
		opts := DefaultOptions()
		opts.DefaultModel.Batching = mode
		s, _ := txServer(t, opts, mon)
		lin := txBodies(txLinInputs, txRows)
		trees := txBodies(txTreesInputs, txRows)
		for _, c := range []struct{ uri, body string }{
			{"/v1/models/txlin:predict", lin["instances-objects"]},
			{"/v1/models/txlin:predict", lin["columns"]},
			{"/v2/models/txlin/infer", lin["oip"]},
			{"/v1/models/txtrees:predict", trees["instances-arrays"]},
		} {
			ctx := new(fasthttp.RequestCtx)
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI(c.uri)
			ctx.Request.SetBodyString(c.body)
			s.Handle(ctx)
			if ctx.Response.StatusCode() != 200 {
				t.Fatalf("POST %s: %d %s", c.uri, ctx.Response.StatusCode(), ctx.Response.Body())
			}
			allocs := testing.AllocsPerRun(200, func() {
				ctx.Response.ResetBody()
				s.Handle(ctx)
			})
			if allocs != 0 || !bytes.Contains(ctx.Response.Body(), []byte(`"model_version":"1"`)) {
				t.Errorf("batching %s: POST %s: %.1f allocations per request (response %s), want 0", mode, c.uri, allocs, ctx.Response.Body())
			}
		}
	}
}

// txJoinDefs: txlin's amount and age come from view "u" of a user; age
// has no default, so a user the store lacks sends a missing age, which
// txlin's imputer fills.
const txJoinDefs = `
entities:
  - {name: user, join_key: uid, key_type: int}
feature_views:
  - name: u
    entity: user
    ttl: 1h
    features:
      - {name: amount, type: float, default: 2}
      - {name: age, type: float}
`

// TestTransformJoin: a version with transforms that reads online features
// gets its numeric raw inputs from the join, then transforms them: its
// prediction from an entity key equals the prediction of the joined row
// sent inline, and return_features reports the raw values served.
func TestTransformJoin(t *testing.T) {
	defs, err := featcache.ParseDefs([]byte(txJoinDefs), "defs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pebblestore.Open(t.TempDir(), pebblestore.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ps.Close() })
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc, err := featcache.NewService(defs, ps, featcache.CacheOptions{MaxStaleness: time.Hour, StoreTimeout: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	write(t, svc, "u", "7", now.Add(-time.Minute), 4.5, 52)

	imp, p := txLin(t)
	repo := t.TempDir()
	if _, _, err := model.Write(repo, "txlin", imp, model.WriteOptions{Transform: p, FeatureViews: []string{"u"}}); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Features = svc
	s := serveRepo(t, opts, repo)
	type feature struct {
		Value  *float64 `json:"value"`
		Status string   `json:"status"`
	}
	for _, c := range []struct {
		name, instance, joined string
		want                   map[string]feature
	}{
		{"present", `{"uid": 7, "country": "US"}`, `{"amount": 4.5, "age": 52, "country": "US"}`,
			map[string]feature{"amount": {ptr(4.5), "present"}, "age": {ptr(52), "present"}}},
		{"missing user: amount's default, age missing and imputed", `{"uid": 8, "country": "DE"}`, `{"amount": 2, "age": null, "country": "DE"}`,
			map[string]feature{"amount": {ptr(2), "default"}, "age": {nil, "default"}}},
		{"override", `{"uid": 7, "age": 18, "country": "DE"}`, `{"amount": 4.5, "age": 18, "country": "DE"}`,
			map[string]feature{"amount": {ptr(4.5), "present"}, "age": {ptr(18), "overridden"}}},
	} {
		code, out, _ := call(s, "POST", "/v1/models/txlin:predict", `{"return_features": true, "instances": [`+c.instance+`]}`)
		code2, out2, _ := call(s, "POST", "/v1/models/txlin:predict", `{"instances": [`+c.joined+`]}`)
		if code != 200 || code2 != 200 {
			t.Fatalf("%s: %d %s; inline %d %s", c.name, code, out, code2, out2)
		}
		got, want := txPreds(t, out), txPreds(t, out2)
		if len(got) != 1 || len(want) != 1 || math.Float64bits(got[0]) != math.Float64bits(want[0]) {
			t.Errorf("%s: prediction %v, want %v (the joined row's, inline)", c.name, got, want)
		}
		var resp struct {
			Features []map[string]feature `json:"features"`
		}
		if err := json.Unmarshal([]byte(out), &resp); err != nil || len(resp.Features) != 1 {
			t.Fatalf("%s: response %s: %v", c.name, out, err)
		}
		for name, w := range c.want {
			g := resp.Features[0][name]
			if g.Status != w.Status || (g.Value == nil) != (w.Value == nil) || g.Value != nil && *g.Value != *w.Value {
				t.Errorf("%s: feature %s = %v %s, want %v %s (response %s)", c.name, name, deref(g.Value), g.Status, deref(w.Value), w.Status, out)
			}
		}
	}
}

func ptr(x float64) *float64 { return &x }
