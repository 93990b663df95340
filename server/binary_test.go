package server

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// tritonBody builds an OIP request with the binary tensor data extension
// by hand, as tritonclient's InferInput.set_data_from_numpy(x,
// binary_data=True) and InferRequestedOutput(name, binary_data=True)
// lay it out (tritonclient itself is not installed: it is not packaged in
// Debian): the JSON header, then the FP32 [n, f] input's bytes,
// little-endian, row-major. It returns the body and the header's length.
func tritonBody(rows [][]float32, outputs string) (string, int) {
	f := len(rows[0])
	header := fmt.Sprintf(`{"inputs":[{"name":"input","shape":[%d,%d],"datatype":"FP32","parameters":{"binary_data_size":%d}}],"outputs":[%s]}`,
		len(rows), f, 4*len(rows)*f, outputs)
	b := []byte(header)
	for _, row := range rows {
		for _, v := range row {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return string(b), len(header)
}

// jsonFP32 is the same request as JSON: FP32 values written shortest.
func jsonFP32(rows [][]float32) string {
	var vals []string
	for _, row := range rows {
		for _, v := range row {
			vals = append(vals, strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
	}
	return fmt.Sprintf(`{"inputs":[{"name":"input","shape":[%d,%d],"datatype":"FP32","data":[%s]}],"outputs":[{"name":"output"},{"name":"label"}]}`,
		len(rows), len(rows[0]), strings.Join(vals, ","))
}

// TestInferBinary: a tritonclient-style binary request (FP32 [n, f] in,
// "output" asked for as binary data) answers the predictions of the same
// request in JSON bit for bit, the header Inference-Header-Content-Length
// giving the JSON part's length and Content-Type application/octet-stream;
// "label" asked for in JSON beside it comes back as JSON.
func TestInferBinary(t *testing.T) {
	s := newTestServer(t, Options{})
	lr := [][]float32{
		{17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871},
		{0.19274682, -0.5571257, -0.13598446, -0.045235025, -2.5286033, -1.4178664, -0.973614, -1.1516958, -1.0504864, -1.2585288},
	}
	trees := [][]float32{
		{1.2, 1.9, 4.2, -0.1, 3.9, 2.0, float32(math.NaN()), 1.6, 0.8, -2.4},
		{0.3, 0.1, 1.0, 2.0, 1.1, 5.0, 1, 0.0, 3.0, 0.7},
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	for _, c := range []struct {
		model string
		rows  [][]float32
	}{{"lr", lr}, {"trees", trees}} {
		for _, uri := range []string{"/v2/models/" + c.model + "/infer", "/v2/models/" + c.model + "/versions/1/infer"} {
			want, _ := infer(t, s, uri, strings.ReplaceAll(jsonFP32(c.rows), "NaN", "null"))
			body, hl := tritonBody(c.rows, `{"name":"output","parameters":{"binary_data":true}},{"name":"label","parameters":{"binary_data":false}}`)
			code, out, ctx := call(s, "POST", uri, body, "Inference-Header-Content-Length", strconv.Itoa(hl), "Content-Type", "application/octet-stream")
			if code != 200 {
				t.Fatalf("POST %s binary %q = %d %s, want 200", uri, body, code, out)
			}
			if ct := string(ctx.Response.Header.ContentType()); ct != "application/octet-stream" {
				t.Errorf("POST %s binary: Content-Type %q, want application/octet-stream", uri, ct)
			}
			n, err := strconv.Atoi(string(ctx.Response.Header.Peek("Inference-Header-Content-Length")))
			if err != nil || n < 0 || n > len(out) {
				t.Fatalf("POST %s binary: Inference-Header-Content-Length %q (%v) for a %d-byte body", uri, ctx.Response.Header.Peek("Inference-Header-Content-Length"), err, len(out))
			}
			var head struct {
				Outputs []struct {
					Name       string
					Datatype   string
					Shape      []int
					Data       []float64
					Parameters struct {
						BinaryDataSize int `json:"binary_data_size"`
					}
				}
			}
			if err := json.Unmarshal([]byte(out[:n]), &head); err != nil || len(head.Outputs) != 2 {
				t.Fatalf("POST %s binary: JSON header %q: %v, want two outputs", uri, out[:n], err)
			}
			pred, label := head.Outputs[0], head.Outputs[1]
			wantPred := want.Outputs[0].Data
			raw := out[n:]
			if pred.Name != "output" || pred.Datatype != "FP64" || pred.Data != nil || pred.Parameters.BinaryDataSize != 8*len(wantPred) || len(raw) != 8*len(wantPred) {
				t.Fatalf("POST %s binary: output %+v with %d binary bytes, want FP64 binary_data_size %d", uri, pred, len(raw), 8*len(wantPred))
			}
			if fmt.Sprint(pred.Shape) != fmt.Sprint(want.Outputs[0].Shape) {
				t.Errorf("POST %s binary: output shape %v, JSON's %v", uri, pred.Shape, want.Outputs[0].Shape)
			}
			for i, w := range wantPred {
				got := math.Float64frombits(binary.LittleEndian.Uint64([]byte(raw[8*i:])))
				if math.Float64bits(got) != math.Float64bits(w) {
					t.Errorf("POST %s binary: prediction %d = %v (bits %#x), the JSON API's is %v (bits %#x)", uri, i, got, math.Float64bits(got), w, math.Float64bits(w))
				}
			}
			if fmt.Sprint(label.Data) != fmt.Sprint(want.Outputs[1].Data) || label.Parameters.BinaryDataSize != 0 {
				t.Errorf("POST %s binary: label %+v, want JSON data %v", uri, label, want.Outputs[1].Data)
			}
		}
	}

	// binary_data_output: every output binary, in the order asked.
	body, hl := tritonBody(lr, `{"name":"label"},{"name":"output"}`)
	body = strings.Replace(body, `{"inputs"`, `{"parameters":{"binary_data_output":true},"inputs"`, 1)
	hl += len(`"parameters":{"binary_data_output":true},`)
	code, out, ctx := call(s, "POST", "/v2/models/lr/infer", body, "Inference-Header-Content-Length", strconv.Itoa(hl))
	n, _ := strconv.Atoi(string(ctx.Response.Header.Peek("Inference-Header-Content-Length")))
	if code != 200 || n <= 0 || len(out)-n != 2*8+2*8 {
		t.Fatalf("POST /v2/models/lr/infer binary_data_output = %d %q (header length %d), want 200, labels and predictions in %d binary bytes", code, out, n, 32)
	}
	want, _ := infer(t, s, "/v2/models/lr/infer", jsonFP32(lr))
	for i := range 2 {
		l := float64(int64(binary.LittleEndian.Uint64([]byte(out[n+8*i:]))))
		p := math.Float64frombits(binary.LittleEndian.Uint64([]byte(out[n+16+8*i:])))
		if l != want.Outputs[1].Data[i] || p != want.Outputs[0].Data[i] {
			t.Errorf("binary_data_output: instance %d: label %v, prediction %v; the JSON API's are %v, %v", i, l, p, want.Outputs[1].Data[i], want.Outputs[0].Data[i])
		}
	}
}

// TestInferBinaryErrors: a malformed binary request is a 400 naming what
// is wrong.
func TestInferBinaryErrors(t *testing.T) {
	s := newTestServer(t, Options{})
	row := [][]float32{{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	good, hl := tritonBody(row, `{"name":"output","parameters":{"binary_data":true}}`)
	for _, c := range []struct {
		name, body, header, want string
	}{
		{"header past the body", good, strconv.Itoa(len(good) + 1), fmt.Sprintf("Inference-Header-Content-Length %d is past the body's end: the body has %d bytes", len(good)+1, len(good))},
		{"header not a number", good, "-3", `header Inference-Header-Content-Length: \"-3\" is not a length in bytes`},
		{"size mismatch", strings.Replace(good, `"binary_data_size":40`, `"binary_data_size":36`, 1), strconv.Itoa(hl), `input \"input\": \"binary_data_size\" 36, but shape [1,10] of FP32 takes 40 bytes (4 each)`},
		{"trailing bytes", good + "\x00\x00\x00\x00", strconv.Itoa(hl), fmt.Sprintf("binary data: 4 bytes at body byte %d follow the last binary input's data", len(good))},
		{"data short", good[:len(good)-4], strconv.Itoa(hl), fmt.Sprintf(`input \"input\": binary data at body byte %d: \"binary_data_size\" 40 runs past the body's end (36 bytes of binary data left)`, hl)},
		{"unknown datatype", strings.Replace(good, `"FP32"`, `"FP16"`, 1), strconv.Itoa(hl), `input \"input\": datatype \"FP16\" is not supported`},
		{"header cuts the JSON", good, strconv.Itoa(hl - 1), "malformed JSON at byte"},
	} {
		code, out, _ := call(s, "POST", "/v2/models/lr/infer", c.body, "Inference-Header-Content-Length", c.header)
		if code != 400 || !strings.Contains(out, c.want) {
			t.Errorf("%s: POST /v2/models/lr/infer (Inference-Header-Content-Length %s) %q = %d %s, want 400 %s", c.name, c.header, c.body, code, out, c.want)
		}
	}
}

// TestServerMetadataExtensions: GET /v2 lists binary_tensor_data, as
// Triton does for the extension.
func TestServerMetadataExtensions(t *testing.T) {
	s := newTestServer(t, Options{})
	code, out, _ := call(s, "GET", "/v2", "")
	var md struct{ Extensions []string }
	if err := json.Unmarshal([]byte(out), &md); code != 200 || err != nil || len(md.Extensions) != 1 || md.Extensions[0] != "binary_tensor_data" {
		t.Errorf("GET /v2 = %d %s, want extensions [binary_tensor_data]", code, out)
	}
}

// TestInferBinaryAllocs: the warm hot path allocates nothing for a
// binary request answered in binary (header read, decode, encode, the
// Inference-Header-Content-Length response header).
func TestInferBinaryAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items")
	}
	for _, mode := range []BatchingMode{BatchingNever, BatchingAlways} {
		opts := DefaultOptions()
		opts.DefaultModel.Batching = mode
		s := newTestServer(t, opts)
		body, hl := tritonBody([][]float32{{17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871}}, `{"name":"output","parameters":{"binary_data":true}}`)
		ctx := new(fasthttp.RequestCtx)
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/v2/models/lr/infer")
		ctx.Request.Header.Set("Inference-Header-Content-Length", strconv.Itoa(hl))
		ctx.Request.SetBodyString(body)
		s.Handle(ctx)
		if ctx.Response.StatusCode() != 200 || len(ctx.Response.Header.Peek("Inference-Header-Content-Length")) == 0 {
			t.Fatalf("POST /v2/models/lr/infer binary: %d %q", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		allocs := testing.AllocsPerRun(200, func() {
			ctx.Response.ResetBody()
			s.Handle(ctx)
		})
		if allocs != 0 {
			t.Errorf("batching %s: binary POST /v2/models/lr/infer: %.1f allocations per request, want 0", mode, allocs)
		}
	}
}
