package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
	"github.com/predictd/predictd/wire/kservepb"
)

// treeNames name the 4 classes of the "trees" fixture; one needs JSON
// escapes.
var treeNames = []string{"setosa", `ver"si`, "virginica", "ünïcode"}

// namedServer serves the "trees" fixture twice: "trees" as imported (class
// indices) and "named" with treeNames as its class labels.
func namedServer(t *testing.T) *Server {
	t.Helper()
	repo := t.TempDir()
	for name, labels := range map[string][]string{"trees": nil, "named": treeNames} {
		imp, err := importer.ImportFile("xgboost", fixture.Path("xgboost", "gbtree_multi_softprob.json"))
		if err != nil {
			t.Fatal(err)
		}
		imp.ClassLabels = labels
		if _, _, err := model.Write(repo, name, imp, model.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return serveRepo(t, Options{}, repo)
}

const namedIn = `"inputs": [{"name": "input", "datatype": "FP64", "shape": [3, 10], "data": [` + treesRow + `, [0,0,0,0,0,0,0,0,0,0]]}]`

// TestClassNamesOIP: a model with class labels answers the OIP output
// "label" as BYTES, the name of the class the same model without names
// answers as an index, for each instance; the other output is unchanged.
func TestClassNamesOIP(t *testing.T) {
	s := namedServer(t)
	body := `{"outputs": [{"name": "label"}, {"name": "output"}], ` + namedIn + `}`
	_, plainOut, _ := call(s, "POST", "/v2/models/trees/infer", body)
	_, namedOut, _ := call(s, "POST", "/v2/models/named/infer", body)
	type tensor struct {
		Name     string
		Datatype string
		Shape    []int
		Data     json.RawMessage
	}
	var plain, named struct{ Outputs []tensor }
	if err := json.Unmarshal([]byte(plainOut), &plain); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(namedOut), &named); err != nil {
		t.Fatal(err)
	}
	if len(plain.Outputs) != 2 || len(named.Outputs) != 2 {
		t.Fatalf("outputs: plain %s, named %s; want 2 each", plainOut, namedOut)
	}
	var idx []int
	var names []string
	if err := json.Unmarshal(plain.Outputs[0].Data, &idx); err != nil || plain.Outputs[0].Datatype != "INT64" {
		t.Fatalf("plain label %s (%v), want INT64 indices", plainOut, err)
	}
	if err := json.Unmarshal(named.Outputs[0].Data, &names); err != nil || named.Outputs[0].Datatype != "BYTES" || !slices.Equal(named.Outputs[0].Shape, []int{3}) {
		t.Fatalf("named label %s (%v), want BYTES [3] strings", namedOut, err)
	}
	for i := range idx {
		if names[i] != treeNames[idx[i]] {
			t.Errorf("instance %d: named label %q, want %q (class %d)", i, names[i], treeNames[idx[i]], idx[i])
		}
	}
	if string(plain.Outputs[1].Data) != string(named.Outputs[1].Data) {
		t.Errorf("output tensor: named %s, plain %s; want the same", named.Outputs[1].Data, plain.Outputs[1].Data)
	}
	// Binary: BYTES, a 4-byte little-endian length and the bytes each.
	code, out, ctx := call(s, "POST", "/v2/models/named/infer", `{"id": "b-1", "outputs": [{"name": "label", "parameters": {"binary_data": true}}], `+namedIn+`}`)
	var want []byte
	for _, n := range names {
		want = binary.LittleEndian.AppendUint32(want, uint32(len(n)))
		want = append(want, n...)
	}
	h := string(ctx.Response.Header.Peek("Inference-Header-Content-Length"))
	wantHead := `{"model_name":"named","model_version":"1","id":"b-1","outputs":[{"name":"label","datatype":"BYTES","shape":[3],"parameters":{"binary_data_size":` + itoa(len(want)) + `}}]}`
	if code != 200 || h != itoa(len(wantHead)) || !strings.HasPrefix(out, wantHead) || !bytes.Equal([]byte(out[len(wantHead):]), want) {
		t.Errorf("binary label: %d header length %s body %q, want 200, %d, %s then %q", code, h, out, len(wantHead), wantHead, want)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestClassNamesTFServing: return_labels answers the class names as JSON
// strings for a model with class labels, indices without.
func TestClassNamesTFServing(t *testing.T) {
	s := namedServer(t)
	body := `{"return_labels": true, "instances": [` + treesRow + `]}`
	var plain struct{ Labels []int }
	var named struct{ Labels []string }
	for _, c := range []struct {
		uri string
		dst any
	}{{"/v1/models/trees:predict", &plain}, {"/v1/models/named:predict", &named}} {
		code, out, _ := call(s, "POST", c.uri, body)
		if err := json.Unmarshal([]byte(out), c.dst); code != 200 || err != nil {
			t.Fatalf("POST %s %s = %d %s (%v)", c.uri, body, code, out, err)
		}
	}
	if len(plain.Labels) != 2 || len(named.Labels) != 2 {
		t.Fatalf("labels: plain %v, named %q; want 2 each", plain.Labels, named.Labels)
	}
	for i, k := range plain.Labels {
		if named.Labels[i] != treeNames[k] {
			t.Errorf("instance %d: labels %q, want %q (class %d)", i, named.Labels[i], treeNames[k], k)
		}
	}
}

// TestClassNamesMetadata: the metadata of a model with class labels shows
// the label output as BYTES with the names in its parameters (OIP) and
// class_labels (TF Serving); gRPC's shows BYTES; without names, INT64 and
// no names.
func TestClassNamesMetadata(t *testing.T) {
	s := namedServer(t)
	type meta struct {
		Outputs []struct {
			Name       string
			Datatype   string
			Parameters map[string][]string
		}
	}
	for _, c := range []struct {
		name     string
		datatype string
		names    []string
	}{{"trees", "INT64", nil}, {"named", "BYTES", treeNames}} {
		code, out, _ := call(s, "GET", "/v2/models/"+c.name, "")
		var m meta
		if err := json.Unmarshal([]byte(out), &m); code != 200 || err != nil || len(m.Outputs) != 2 {
			t.Fatalf("GET /v2/models/%s = %d %s (%v)", c.name, code, out, err)
		}
		if l := m.Outputs[1]; l.Name != "label" || l.Datatype != c.datatype || !slices.Equal(l.Parameters["class_labels"], c.names) {
			t.Errorf("GET /v2/models/%s label output = %+v, want %s with class_labels %q", c.name, l, c.datatype, c.names)
		}
		if c.names == nil && strings.Contains(out, "class_labels") {
			t.Errorf("GET /v2/models/%s = %s, want no class_labels", c.name, out)
		}
		code, out, _ = call(s, "GET", "/v1/models/"+c.name+"/metadata", "")
		var v1 struct{ Metadata map[string]json.RawMessage }
		if err := json.Unmarshal([]byte(out), &v1); code != 200 || err != nil {
			t.Fatalf("GET /v1/models/%s/metadata = %d %s (%v)", c.name, code, out, err)
		}
		var got []string
		if raw, ok := v1.Metadata["class_labels"]; ok {
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(got, c.names) {
			t.Errorf("GET /v1/models/%s/metadata class_labels = %q, want %q", c.name, got, c.names)
		}
		md, err := grpcClient(t, s).ModelMetadata(context.Background(), &kservepb.ModelMetadataRequest{Name: c.name})
		if err != nil || len(md.Outputs) != 2 || md.Outputs[1].Datatype != c.datatype {
			t.Errorf("gRPC ModelMetadata(%s) = %v (%v), want the label output %s", c.name, md, err, c.datatype)
		}
	}
}

// TestClassNamesGRPC: gRPC answers the label of a model with class labels
// as BYTES in bytes_contents, or in raw_output_contents laid out as the
// binary extension's BYTES when the output is raw; the names are those of
// the classes the same model without names answers as indices.
func TestClassNamesGRPC(t *testing.T) {
	s := namedServer(t)
	cl := grpcClient(t, s)
	ask := func(name, form string) *kservepb.ModelInferResponse {
		req := grpcInput(grpcRows["trees"], form)
		req.ModelName = name
		req.Outputs = []*kservepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "label"}}
		resp, err := cl.ModelInfer(context.Background(), req)
		if err != nil || len(resp.Outputs) != 1 {
			t.Fatalf("ModelInfer(%s, %s, label) = %v, %v", name, form, resp, err)
		}
		return resp
	}
	idx := ask("trees", "fp64").Outputs[0].GetContents().GetInt64Contents()
	if len(idx) != 3 {
		t.Fatalf("plain labels %v, want 3", idx)
	}
	var want [][]byte
	var raw []byte
	for _, k := range idx {
		want = append(want, []byte(treeNames[k]))
		raw = binary.LittleEndian.AppendUint32(raw, uint32(len(treeNames[k])))
		raw = append(raw, treeNames[k]...)
	}
	r := ask("named", "fp64")
	if got := r.Outputs[0].GetContents().GetBytesContents(); r.Outputs[0].Datatype != "BYTES" || !slices.EqualFunc(got, want, bytes.Equal) {
		t.Errorf("named labels %s %q, want BYTES %q", r.Outputs[0].Datatype, got, want)
	}
	r = ask("named", "raw64")
	if r.Outputs[0].Datatype != "BYTES" || len(r.RawOutputContents) != 1 || !bytes.Equal(r.RawOutputContents[0], raw) {
		t.Errorf("named labels, raw: %s %q, want BYTES raw %q", r.Outputs[0].Datatype, r.RawOutputContents, raw)
	}
}

// TestClassNamesAllocs: a named label response, JSON or TF Serving,
// keeps the warm path free of allocations.
func TestClassNamesAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	s := namedServer(t)
	for _, c := range []struct{ uri, body string }{
		{"/v2/models/named/infer", `{"outputs": [{"name": "label"}, {"name": "output"}], ` + namedIn + `}`},
		{"/v2/models/named/infer", `{"outputs": [{"name": "label", "parameters": {"binary_data": true}}], ` + namedIn + `}`},
		{"/v1/models/named:predict", `{"return_labels": true, "instances": [` + treesRow + `]}`},
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
		if allocs != 0 {
			t.Errorf("POST %s %s: %.1f allocations per request, want 0", c.uri, c.body, allocs)
		}
	}
}
