package server

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/predictd/predictd/wire/kservepb"
)

// generatedID is the form of a generated prediction id.
var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// dropID removes a response body's "id" member, for comparing two answers
// that differ only by their generated ids.
func dropID(body string) string {
	return regexp.MustCompile(`,"id":"[^"]*"`).ReplaceAllString(body, "")
}

// TestPredictionIDs: every prediction answer carries an id, in the
// X-Request-Id header and in the body (TF Serving's "id" beside
// model_version, OIP's "id"): the caller's header or OIP body id when it
// sent one, else a generated one of 32 hex digits; errors carry it too.
func TestPredictionIDs(t *testing.T) {
	s := newTestServer(t, Options{})
	tf := `{"instances": [` + lrRow + `]}`
	oip := func(id string) string {
		return `{` + id + `"inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 10], "data": ` + lrRow + `}]}`
	}
	for _, c := range []struct {
		name, uri, body string
		header          []string
		code            int
		want            string // "" = generated
	}{
		{"tf header", "/v1/models/lr:predict", tf, []string{"X-Request-Id", "req-1"}, 200, "req-1"},
		{"tf generated", "/v1/models/lr:predict", tf, nil, 200, ""},
		{"oip body", "/v2/models/lr/infer", oip(`"id": "b 2",`), nil, 200, "b 2"},
		{"oip header", "/v2/models/lr/infer", oip(""), []string{"X-Request-Id", "h3"}, 200, "h3"},
		{"oip both equal", "/v2/models/lr/infer", oip(`"id": "same",`), []string{"X-Request-Id", "same"}, 200, "same"},
		{"oip empty body id", "/v2/models/lr/infer", oip(`"id": "",`), nil, 200, ""},
		{"oip generated", "/v2/models/lr/infer", oip(""), nil, 200, ""},
		{"longest", "/v1/models/lr:predict", tf, []string{"X-Request-Id", strings.Repeat("a", MaxIDBytes)}, 200, strings.Repeat("a", MaxIDBytes)},
		{"error keeps caller id", "/v1/models/nosuch:predict", tf, []string{"X-Request-Id", "e1"}, 404, "e1"},
		{"error generated", "/v1/models/lr:predict", `{"instances": 1}`, nil, 400, ""},
	} {
		code, out, ctx := call(s, "POST", c.uri, c.body, c.header...)
		got := string(ctx.Response.Header.Peek("X-Request-Id"))
		if code != c.code || (c.want != "" && got != c.want) || (c.want == "" && !generatedID.MatchString(got)) {
			t.Errorf("%s: %s %s header %q = %d, X-Request-Id %q, want %d, %q (empty: generated)", c.name, c.uri, c.body, c.header, code, got, c.code, c.want)
			continue
		}
		if code != 200 {
			continue
		}
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.ID != got {
			t.Errorf("%s: body %s: id %q (%v), want the header's %q", c.name, out, r.ID, err, got)
		}
	}
}

// TestPredictionIDBinary: an OIP request in the binary tensor data
// extension carries its id in its JSON header; the answer returns it.
func TestPredictionIDBinary(t *testing.T) {
	s := newTestServer(t, Options{})
	head := `{"id":"bin-1","inputs":[{"name":"input","shape":[1,10],"datatype":"FP64","parameters":{"binary_data_size":80}}]}`
	body := []byte(head)
	for _, x := range []float64{17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871} {
		body = binary.LittleEndian.AppendUint64(body, math.Float64bits(x))
	}
	code, out, ctx := call(s, "POST", "/v2/models/lr/infer", string(body), "Inference-Header-Content-Length", strconv.Itoa(len(head)))
	got := string(ctx.Response.Header.Peek("X-Request-Id"))
	if code != 200 || got != "bin-1" || !strings.Contains(out, `"id":"bin-1"`) {
		t.Errorf("binary infer with id bin-1 = %d %s, X-Request-Id %q; want 200, the id in both", code, out, got)
	}
}

// TestPredictionIDRefused: a caller id that is too long, not printable
// ASCII, or holds '"' or '\', and a header and body id that differ, are
// answered 400 naming the header or field; the answer still carries an
// id: a generated one, or the header's when only the body's was bad.
func TestPredictionIDRefused(t *testing.T) {
	s := newTestServer(t, Options{})
	tf := `{"instances": [` + lrRow + `]}`
	oip := func(id string) string {
		return `{"id": "` + id + `", "inputs": [{"name": "input", "datatype": "FP64", "shape": [1, 10], "data": ` + lrRow + `}]}`
	}
	for _, c := range []struct {
		uri, body, header, want string
	}{
		{"/v1/models/lr:predict", tf, strings.Repeat("a", MaxIDBytes+1), "X-Request-Id header: the prediction id is 129 bytes long, at most 128"},
		{"/v1/models/lr:predict", tf, "a\x7fb", "X-Request-Id header: byte 1"},
		{"/v1/models/lr:predict", tf, `a"b`, `X-Request-Id header: byte 1 of the prediction id is '"'`},
		{"/v1/models/lr:predict", tf, "é", "X-Request-Id header: byte 0"},
		{"/v2/models/lr/infer", oip(`a\"b`), "", `request "id": byte 1 of the prediction id is '\\'`},
		{"/v2/models/lr/infer", oip("a\x7fb"), "", `request "id": byte 1`},
		{"/v2/models/lr/infer", oip(strings.Repeat("x", 200)), "", `request "id": the prediction id is 200 bytes long`},
		{"/v2/models/lr/infer", oip("one"), "two", `the X-Request-Id header "two" and the request "id" "one" differ`},
	} {
		var h []string
		if c.header != "" {
			h = []string{"X-Request-Id", c.header}
		}
		code, out, ctx := call(s, "POST", c.uri, c.body, h...)
		got := string(ctx.Response.Header.Peek("X-Request-Id"))
		var e struct{ Error string }
		_ = json.Unmarshal([]byte(out), &e)
		// A valid header id comes back even when the body's differs.
		okID := generatedID.MatchString(got) || (checkID([]byte(c.header), "") == nil && got == c.header)
		if code != 400 || !strings.Contains(e.Error, c.want) || !okID {
			t.Errorf("%s %q header %q = %d %s, X-Request-Id %q; want 400 naming %q, a generated id (or the valid header's)", c.uri, c.body, c.header, code, out, got, c.want)
		}
	}
}

// TestPredictionIDsUnique: 100,000 generated ids, from requests answered
// one after another through the pooled exchanges, are all distinct.
func TestPredictionIDsUnique(t *testing.T) {
	s := newTestServer(t, Options{})
	body := `{"instances": [` + lrRow + `]}`
	seen := make(map[string]int, 100000)
	for i := range 100000 {
		code, _, ctx := call(s, "POST", "/v1/models/lr:predict", body)
		id := string(ctx.Response.Header.Peek("X-Request-Id"))
		if code != 200 || !generatedID.MatchString(id) {
			t.Fatalf("request %d: %d, id %q; want 200, 32 hex digits", i, code, id)
		}
		if j, dup := seen[id]; dup {
			t.Fatalf("request %d: id %q, already given to request %d", i, id, j)
		}
		seen[id] = i
	}
}

// TestPredictionIDGRPC: ModelInferResponse.id is the request's id, or a
// generated one when it has none; a bad id is InvalidArgument naming
// the field.
func TestPredictionIDGRPC(t *testing.T) {
	s := newTestServer(t, Options{})
	g := grpcService{s: s}
	req := func(id string) *kservepb.ModelInferRequest {
		return &kservepb.ModelInferRequest{ModelName: "lr", Id: id, Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{
			Name: "input", Datatype: "FP64", Shape: []int64{1, 10},
			Contents: &kservepb.InferTensorContents{Fp64Contents: []float64{17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871}},
		}}}
	}
	resp, err := g.ModelInfer(t.Context(), req("g-1"))
	if err != nil || resp.GetId() != "g-1" {
		t.Errorf("ModelInfer id g-1 = %q, %v; want g-1", resp.GetId(), err)
	}
	resp, err = g.ModelInfer(t.Context(), req(""))
	if err != nil || !generatedID.MatchString(resp.GetId()) {
		t.Errorf("ModelInfer without id = %q, %v; want a generated id", resp.GetId(), err)
	}
	_, err = g.ModelInfer(t.Context(), req("bad\nid"))
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "ModelInferRequest.id: byte 3") {
		t.Errorf("ModelInfer id %q = %v, want InvalidArgument naming ModelInferRequest.id", "bad\nid", err)
	}
}
