package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
)

// inferResp is an OIP inference response as the tests read it.
type inferResp struct {
	Outputs []struct {
		Name     string    `json:"name"`
		Datatype string    `json:"datatype"`
		Shape    []int     `json:"shape"`
		Data     []float64 `json:"data"`
	} `json:"outputs"`
	Parameters struct {
		Features []map[string]struct {
			Value  *float64 `json:"value"`
			Status string   `json:"status"`
		} `json:"features"`
	} `json:"parameters"`
}

func infer(t *testing.T, s *Server, uri, body string) (inferResp, string) {
	t.Helper()
	code, out, _ := call(s, "POST", uri, body)
	var r inferResp
	if err := json.Unmarshal([]byte(out), &r); code != 200 || err != nil {
		t.Fatalf("POST %s %s = %d %s (%v), want 200", uri, body, code, out, err)
	}
	return r, out
}

// treesRow is one instance of the "trees" fixture (4 classes).
const treesRow = `[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4], [0.3, 0.1, 1.0, 2.0, 1.1, 5.0, 1, 0.0, 3.0, 0.7]`

// TestClassLabelOutputs: a classifier's label, asked for as the OIP output
// "label" or with TF Serving's return_labels, is the threshold (binary) or
// argmax (multiclass) of the predictions the same request answers; the
// default responses do not carry it; an output the model does not have is
// refused naming it and the model's outputs.
func TestClassLabelOutputs(t *testing.T) {
	s := newTestServer(t, Options{})
	for _, c := range []struct {
		model, rows string
		width       int
	}{
		// Rows 1 and 10 of the fixture's test set: p 0.998 and 0.054.
		{"lr", `[0.19274682068843138, -0.5571256898010233, -0.13598445775402068, -0.045235024628816706, -2.5286033658573857, -1.4178663844422168, -0.9736140224110086, -1.1516958115914389, -1.0504864745170337, -1.258528799443321],
			[1.2467165835521505, 0.6977625228157563, 1.0235004260556892, 0.820838066089876, -1.6618753988783976, -0.2245339007551097, 0.2127869201244666, 0.07714103293415722, -0.3054440328695214, -1.4361510007625493]`, 10},
		{"trees", treesRow, 10},
	} {
		data := "[" + c.rows + "]"
		in := fmt.Sprintf(`"inputs": [{"name": "input", "datatype": "FP64", "shape": [2, %d], "data": %s}]`, c.width, data)
		uri := "/v2/models/" + c.model + "/infer"
		_, plain := infer(t, s, uri, `{`+in+`}`)
		_, asked := infer(t, s, uri, `{"outputs": [{"name": "output"}], `+in+`}`)
		if dropID(plain) != dropID(asked) || strings.Contains(plain, `"label"`) {
			t.Errorf("%s: outputs [output] = %s, want the default response %s, which has no label", c.model, asked, plain)
		}
		both, _ := infer(t, s, uri, `{"outputs": [{"name": "label"}, {"name": "output", "parameters": {"binary_data": false}}], `+in+`}`)
		if len(both.Outputs) != 2 || both.Outputs[0].Name != "label" || both.Outputs[0].Datatype != "INT64" || !reflect.DeepEqual(both.Outputs[0].Shape, []int{2}) || both.Outputs[1].Name != "output" {
			t.Fatalf("%s: outputs [label, output] = %+v, want label INT64 [2] then output", c.model, both.Outputs)
		}
		preds := both.Outputs[1].Data
		k := len(preds) / 2
		want := make([]float64, 2)
		for i := range 2 {
			row := preds[i*k : (i+1)*k]
			if k == 1 {
				if row[0] > 0.5 {
					want[i] = 1
				}
				continue
			}
			for j := range row {
				if row[j] > row[int(want[i])] {
					want[i] = float64(j)
				}
			}
		}
		if !reflect.DeepEqual(both.Outputs[0].Data, want) {
			t.Errorf("%s: labels %v of predictions %v, want %v", c.model, both.Outputs[0].Data, preds, want)
		}
		if c.model == "lr" && want[0] == want[1] {
			t.Errorf("lr: both instances are class %v; the test wants one of each", want[0])
		}
		only, _ := infer(t, s, uri, `{"outputs": [{"name": "label"}], `+in+`}`)
		if len(only.Outputs) != 1 || !reflect.DeepEqual(only.Outputs[0].Data, want) {
			t.Errorf("%s: outputs [label] = %+v, want the labels %v alone", c.model, only.Outputs, want)
		}

		// TF Serving: "labels" beside the predictions; without
		// return_labels the response is as before.
		code, out, _ := call(s, "POST", "/v1/models/"+c.model+":predict", `{"return_labels": true, "instances": `+data+`}`)
		var tf struct {
			Predictions []any     `json:"predictions"`
			Labels      []float64 `json:"labels"`
		}
		if err := json.Unmarshal([]byte(out), &tf); code != 200 || err != nil || !reflect.DeepEqual(tf.Labels, want) || len(tf.Predictions) != 2 {
			t.Errorf("%s: return_labels = %d %s, want labels %v", c.model, code, out, want)
		}
		_, out, _ = call(s, "POST", "/v1/models/"+c.model+":predict", `{"return_labels": false, "instances": `+data+`}`)
		if _, def, _ := call(s, "POST", "/v1/models/"+c.model+":predict", `{"instances": `+data+`}`); dropID(out) != dropID(def) || strings.Contains(def, "labels") {
			t.Errorf("%s: return_labels false = %s, want the default %s, without labels", c.model, out, def)
		}
	}
	for _, c := range []struct{ body, want string }{
		{`{"outputs": [{"name": "probabilities"}], "inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 10], "data": ` + lrRow + `}]}`,
			`outputs[0]: unknown output \"probabilities\": the model's outputs are \"output\" (the predictions) and \"label\" (the class label)`},
	} {
		if code, out, _ := call(s, "POST", "/v2/models/lr/infer", c.body); code != 400 || !strings.Contains(out, c.want) {
			t.Errorf("POST /v2/models/lr/infer %s = %d %s, want 400 %s", c.body, code, out, c.want)
		}
	}
}

// TestNoLabelForRegression: a model without class labels refuses them by
// name in both APIs, and its metadata lists no label output; a
// classifier's lists it, and how it is read.
func TestNoLabelForRegression(t *testing.T) {
	repo := t.TempDir()
	imp, err := importer.ImportFile("native", fixture.Path("native", "linreg_diabetes.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := model.Write(repo, "reg", imp, model.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	s := serveRepo(t, Options{}, repo)
	code, out, _ := call(s, "POST", "/v2/models/reg/infer", `{"outputs": [{"name": "label"}], "inputs": []}`)
	if code != 400 || !strings.Contains(out, `output \"label\": this model has no class label`) {
		t.Errorf("label of a regression model over OIP = %d %s, want 400 saying it has none", code, out)
	}
	code, out, _ = call(s, "POST", "/v1/models/reg:predict", `{"return_labels": true, "instances": []}`)
	if code != 400 || !strings.Contains(out, `\"return_labels\": this model has no class label`) {
		t.Errorf("return_labels of a regression model = %d %s, want 400 saying it has none", code, out)
	}
	for _, uri := range []string{"/v2/models/reg", "/v1/models/reg/metadata"} {
		if _, meta, _ := call(s, "GET", uri, ""); strings.Contains(meta, `"label"`) || strings.Contains(meta, "class_label") {
			t.Errorf("GET %s = %s: a regression model's metadata lists a label", uri, meta)
		}
	}
	s = newTestServer(t, Options{})
	for _, c := range []struct{ uri, want string }{
		{"/v2/models/lr", `{"name":"label","datatype":"INT64","shape":[-1]}],"parameters":{"class_label":"1 when the probability of class 1 is above 0.5, else 0"`},
		{"/v2/models/trees", `"class_label":"the index of the largest output (the first of equal ones)"`},
		{"/v1/models/trees/metadata", `"class_label":"the index of the largest output (the first of equal ones)"`},
	} {
		if _, meta, _ := call(s, "GET", c.uri, ""); !strings.Contains(meta, c.want) {
			t.Errorf("GET %s = %s, want %s", c.uri, meta, c.want)
		}
	}
}

// TestInferOneInstance1D: an OIP "input" of shape [features] is one
// instance, answered as the same row sent as [1, features].
func TestInferOneInstance1D(t *testing.T) {
	s := newTestServer(t, Options{})
	_, one := infer(t, s, "/v2/models/lr/infer", `{"inputs": [{"name": "input", "datatype": "FP64", "shape": [10], "data": `+lrRow+`}]}`)
	_, two := infer(t, s, "/v2/models/lr/infer", `{"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 10], "data": `+lrRow+`}]}`)
	if dropID(one) != dropID(two) {
		t.Errorf("input [10] = %s, want the answer to [1, 10], %s", one, two)
	}
	code, out, _ := call(s, "POST", "/v2/models/lr/infer", `{"inputs": [{"name": "input", "datatype": "FP64", "shape": [4], "data": [1, 2, 3, 4]}]}`)
	if code != 400 || !strings.Contains(out, `send shape [10], or [batch, 10] for a batch`) {
		t.Errorf("input [4] to a 10-feature model = %d %s, want 400 naming [10] and [batch, 10]", code, out)
	}
}

// TestJoinOIPKeysAndFeatures: a model that reads online features lists its entity key
// inputs in OIP metadata (INT64 for int keys, BYTES for strings, both
// optional, as are the features they fetch) and in v1 metadata; an OIP
// request with a whole float key (7.0) and parameters.return_features
// gets the prediction and the features TF Serving's return_features
// reports for the same instance, under parameters.features; 7.5 is
// refused naming the instance and key.
func TestJoinOIPKeysAndFeatures(t *testing.T) {
	s, _, svc, now := joinServer(t, Options{}, "shape", "lab:mean_smoothness", "lab:mean_compactness")
	write(t, svc, "shape", "7", now.Add(-90*time.Second), 0.19, -0.55, -0.13, -0.04)
	write(t, svc, "lab", "north", now.Add(-30*time.Second), -2.5, -1.4, 7)

	code, body, _ := call(s, "GET", "/v2/models/lr", "")
	var meta struct {
		Inputs []struct {
			Name       string         `json:"name"`
			Datatype   string         `json:"datatype"`
			Shape      []int          `json:"shape"`
			Optional   bool           `json:"optional"`
			Parameters map[string]any `json:"parameters"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal([]byte(body), &meta); code != 200 || err != nil || len(meta.Inputs) != 12 {
		t.Fatalf("GET /v2/models/lr = %d %s (%v), want 10 feature inputs and 2 entity keys", code, body, err)
	}
	for i, in := range meta.Inputs[:10] {
		fetched := i < 6
		if in.Name != lrNames[i] || in.Datatype != "FP64" || !reflect.DeepEqual(in.Shape, []int{-1}) || in.Optional != fetched {
			t.Errorf("metadata input %d = %+v, want %s FP64 [-1], optional %v", i, in, lrNames[i], fetched)
		}
	}
	if in := meta.Inputs[0]; in.Parameters["feature_view"] != "shape" || in.Parameters["entity_key"] != "patient_id" {
		t.Errorf("metadata input mean_radius parameters %v, want feature_view shape, entity_key patient_id", in.Parameters)
	}
	for i, want := range []struct{ name, dt, entity, view string }{{"patient_id", "INT64", "patient", "shape"}, {"site", "BYTES", "site", "lab"}} {
		in := meta.Inputs[10+i]
		feats, _ := in.Parameters["features"].(map[string]any)
		if in.Name != want.name || in.Datatype != want.dt || !reflect.DeepEqual(in.Shape, []int{-1}) || !in.Optional || in.Parameters["entity"] != want.entity || feats[want.view] == nil {
			t.Errorf("metadata entity key %d = %+v, want %s %s [-1] optional, entity %s fetching from %s", i, in, want.name, want.dt, want.entity, want.view)
		}
	}
	_, v1, _ := call(s, "GET", "/v1/models/lr/metadata", "")
	if !strings.Contains(v1, `"entity_keys":[{"name":"patient_id","type":"int","entity":"patient","features":{"shape":["mean_radius","mean_texture","mean_perimeter","mean_area"]}}`) {
		t.Errorf("GET /v1/models/lr/metadata = %s, want entity_keys naming patient_id and what it fetches", v1)
	}

	rest := []float64{-0.97, -1.15, -1.05, -1.25}
	var inputs []string
	for i, name := range lrNames[6:] {
		inputs = append(inputs, fmt.Sprintf(`{"name": %q, "datatype": "FP64", "shape": [1], "data": [%v]}`, name, rest[i]))
	}
	oipBody := func(key string) string {
		return `{"parameters": {"return_features": true}, "inputs": [{"name": "patient_id", "datatype": "INT64", "shape": [1], "data": [` + key + `]},
			{"name": "site", "datatype": "BYTES", "shape": [1], "data": ["north"]}, ` + strings.Join(inputs, ", ") + `]}`
	}
	got, _ := infer(t, s, "/v2/models/lr/infer", oipBody("7.0"))
	want := predictLR(t, s, `{"return_features": true, "instances": [{"patient_id": 7, "site": "north", `+inline(lrNames[6:], rest)+`}]}`)
	if len(got.Outputs) != 1 || len(got.Outputs[0].Data) != 1 || got.Outputs[0].Data[0] != want.Predictions[0] {
		t.Errorf("OIP with patient_id 7.0: outputs %+v, want prediction %v (TF Serving with 7)", got.Outputs, want.Predictions)
	}
	if len(got.Parameters.Features) != 1 || len(got.Parameters.Features[0]) != 6 {
		t.Fatalf("OIP parameters.features = %+v, want 6 features of one instance", got.Parameters.Features)
	}
	for name, w := range want.Features[0] {
		g := got.Parameters.Features[0][name]
		if g.Status != w.Status || g.Value == nil || *g.Value != *w.Value {
			t.Errorf("OIP parameters.features %s = %s %v, want %s %v (TF Serving's)", name, g.Status, deref(g.Value), w.Status, deref(w.Value))
		}
	}
	_, plain := infer(t, s, "/v2/models/lr/infer", strings.Replace(oipBody("7"), `"return_features": true`, `"return_features": false`, 1))
	if strings.Contains(plain, "parameters") {
		t.Errorf("OIP without return_features = %s, want no parameters", plain)
	}
	code, out, _ := call(s, "POST", "/v2/models/lr/infer", oipBody("7.5"))
	if code != 400 || !strings.Contains(out, `instance 0: entity key \"patient_id\": \"7.5\" is not an integer (entity patient has int keys)`) {
		t.Errorf("OIP with patient_id 7.5 = %d %s, want 400 naming instance 0 and patient_id", code, out)
	}
	code, out, _ = call(s, "POST", "/v1/models/lr:predict", `{"instances": [{"patient_id": 7.5, "site": "north", `+inline(lrNames[6:], rest)+`}]}`)
	if code != 400 || !strings.Contains(out, `instance 0: entity key \"patient_id\": \"7.5\" is not an integer`) {
		t.Errorf("TF Serving with patient_id 7.5 = %d %s, want 400 naming instance 0 and patient_id", code, out)
	}
}

// TestOutputsAllocs: the label output, return_labels and OIP
// return_features keep the warm path free of allocations.
func TestOutputsAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	s := newTestServer(t, DefaultOptions())
	js, _, svc, now := joinServer(t, DefaultOptions(), "shape")
	write(t, svc, "shape", "7", now.Add(-time.Second), 0.19, -0.55, -0.13, -0.04)
	var rest []string
	for _, name := range lrNames[4:] {
		rest = append(rest, fmt.Sprintf(`{"name": %q, "datatype": "FP64", "shape": [1], "data": [0.5]}`, name))
	}
	for _, c := range []struct {
		s         *Server
		uri, body string
	}{
		{s, "/v2/models/trees/infer", `{"outputs": [{"name": "label"}, {"name": "output"}], "inputs": [{"name": "input", "datatype": "FP64", "shape": [10], "data": [1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]}]}`},
		{s, "/v1/models/lr:predict", `{"return_labels": true, "instances": [` + lrRow + `]}`},
		{js, "/v2/models/lr/infer", `{"parameters": {"return_features": true}, "inputs": [{"name": "patient_id", "datatype": "INT64", "shape": [1], "data": [7.0]}, ` + strings.Join(rest, ", ") + `]}`},
	} {
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI(c.uri)
		ctx.Request.SetBodyString(c.body)
		c.s.Handle(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("POST %s: %d %s", c.uri, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		time.Sleep(10 * time.Millisecond) // ristretto applies the join's cache sets asynchronously
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.ResetBody()
			c.s.Handle(ctx)
		})
		if allocs != 0 {
			t.Errorf("POST %s %s: %.1f allocations per request, want 0", c.uri, c.body, allocs)
		}
	}
}
