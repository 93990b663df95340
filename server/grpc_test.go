package server

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/predictd/predictd/wire/kservepb"
)

// grpcClient serves s's gRPC API on an in-memory listener and returns a
// client of it; both stop when t ends.
func grpcClient(t *testing.T, s *Server) kservepb.GRPCInferenceServiceClient {
	return kservepb.NewGRPCInferenceServiceClient(grpcBufConn(t, s))
}

// grpcBufConn serves s's gRPC API on an in-memory listener and returns a
// connection to it; both stop when t ends.
func grpcBufConn(t *testing.T, s *Server) *grpc.ClientConn {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- s.ServeGRPC(ln) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		s.grpc.Stop()
		if err := <-served; err != nil {
			t.Errorf("ServeGRPC returned %v after Stop, want nil", err)
		}
	})
	return conn
}

// grpcRows are the test rows of each model of newTestServer, float32 so
// that FP32 and FP64 requests carry the same values; NaN is a missing
// value (trees only).
var grpcRows = map[string][][]float32{
	"lr": {
		{17.99, 10.38, 122.8, 1001, 0.1184, 0.2776, 0.3001, 0.1471, 0.2419, 0.07871},
		{0.19274682, -0.5571257, -0.13598446, -0.045235025, -2.5286033, -1.4178664, -0.973614, -1.1516958, -1.0504864, -1.2585288},
	},
	"trees": {
		{1.2, 1.9, 4.2, -0.1, 3.9, 2.0, float32(math.NaN()), 1.6, 0.8, -2.4},
		{0.3, 0.1, 1.0, 2.0, 1.1, 5.0, 1, 0.0, 3.0, 0.7},
		{0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	},
}

// grpcInput is rows as the 2-D "input" tensor in the form named: "fp32"
// and "fp64" typed contents, "raw32" and "raw64" raw_input_contents.
func grpcInput(rows [][]float32, form string) *kservepb.ModelInferRequest {
	in := &kservepb.ModelInferRequest_InferInputTensor{Name: "input", Shape: []int64{int64(len(rows)), int64(len(rows[0]))}}
	m := &kservepb.ModelInferRequest{Inputs: []*kservepb.ModelInferRequest_InferInputTensor{in}}
	var f32 []float32
	for _, r := range rows {
		f32 = append(f32, r...)
	}
	var raw []byte
	switch form {
	case "fp32":
		in.Datatype, in.Contents = "FP32", &kservepb.InferTensorContents{Fp32Contents: f32}
	case "fp64":
		f64 := make([]float64, len(f32))
		for i, v := range f32 {
			f64[i] = float64(v)
		}
		in.Datatype, in.Contents = "FP64", &kservepb.InferTensorContents{Fp64Contents: f64}
	case "raw32":
		in.Datatype = "FP32"
		for _, v := range f32 {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
		m.RawInputContents = [][]byte{raw}
	case "raw64":
		in.Datatype = "FP64"
		for _, v := range f32 {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(float64(v)))
		}
		m.RawInputContents = [][]byte{raw}
	}
	return m
}

// grpcOutputs reads a response's "output" (FP64) and "label" (INT64)
// tensors, from typed contents or raw_output_contents as it holds them.
func grpcOutputs(t *testing.T, resp *kservepb.ModelInferResponse) (preds []float64, labels []int64, raw bool) {
	t.Helper()
	raw = len(resp.GetRawOutputContents()) > 0
	for i, o := range resp.GetOutputs() {
		switch {
		case o.GetName() == "output" && raw:
			b := resp.GetRawOutputContents()[i]
			for k := 0; k+8 <= len(b); k += 8 {
				preds = append(preds, math.Float64frombits(binary.LittleEndian.Uint64(b[k:])))
			}
		case o.GetName() == "output":
			preds = o.GetContents().GetFp64Contents()
		case o.GetName() == "label" && raw:
			b := resp.GetRawOutputContents()[i]
			for k := 0; k+8 <= len(b); k += 8 {
				labels = append(labels, int64(binary.LittleEndian.Uint64(b[k:])))
			}
		case o.GetName() == "label":
			labels = o.GetContents().GetInt64Contents()
		default:
			t.Fatalf("response output %q, want output or label", o.GetName())
		}
	}
	return preds, labels, raw
}

// TestGRPCInferMatchesHTTP: ModelInfer answers each model's rows, sent
// as FP32 or FP64, typed or raw, with the predictions and labels the HTTP
// OIP JSON request of the same values answers, bit for bit; a request that
// sent raw_input_contents, or asked for binary_data_output, is answered in
// raw_output_contents, else in typed contents. The response carries the
// request's id and the model's name and version.
func TestGRPCInferMatchesHTTP(t *testing.T) {
	s := newTestServer(t, Options{})
	cl := grpcClient(t, s)
	for model, rows := range grpcRows {
		want, _ := infer(t, s, "/v2/models/"+model+"/infer", strings.ReplaceAll(jsonFP32(rows), "NaN", "null"))
		for _, form := range []string{"fp32", "fp64", "raw32", "raw64", "fp32+binary_data_output"} {
			req := grpcInput(rows, strings.TrimSuffix(form, "+binary_data_output"))
			req.ModelName, req.Id = model, "req-"+form
			req.Outputs = []*kservepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "output"}, {Name: "label"}}
			if strings.HasSuffix(form, "+binary_data_output") {
				req.Parameters = map[string]*kservepb.InferParameter{"binary_data_output": {ParameterChoice: &kservepb.InferParameter_BoolParam{BoolParam: true}}}
			}
			resp, err := cl.ModelInfer(context.Background(), req)
			if err != nil {
				t.Fatalf("%s %s: ModelInfer: %v", model, form, err)
			}
			preds, labels, raw := grpcOutputs(t, resp)
			if wantRaw := form != "fp32" && form != "fp64"; raw != wantRaw {
				t.Errorf("%s %s: raw_output_contents used %v, want %v", model, form, raw, wantRaw)
			}
			if resp.GetModelName() != model || resp.GetModelVersion() != "1" || resp.GetId() != "req-"+form {
				t.Errorf("%s %s: response model %q version %q id %q, want %q \"1\" %q", model, form, resp.GetModelName(), resp.GetModelVersion(), resp.GetId(), model, "req-"+form)
			}
			wantPreds := want.Outputs[0].Data
			if len(preds) != len(wantPreds) {
				t.Fatalf("%s %s: %d predictions, want %d", model, form, len(preds), len(wantPreds))
			}
			for i := range preds {
				if math.Float64bits(preds[i]) != math.Float64bits(wantPreds[i]) {
					t.Errorf("%s %s: prediction %d = %v, HTTP answers %v", model, form, i, preds[i], wantPreds[i])
				}
			}
			if fmt.Sprint(labels) != fmt.Sprint(want.Outputs[1].Data) {
				t.Errorf("%s %s: labels %v, HTTP answers %v", model, form, labels, want.Outputs[1].Data)
			}
			shape := resp.GetOutputs()[0].GetShape()
			if fmt.Sprint(shape) != fmt.Sprint(want.Outputs[0].Shape) {
				t.Errorf("%s %s: output shape %v, HTTP answers %v", model, form, shape, want.Outputs[0].Shape)
			}
		}
	}
}

// TestGRPCErrors: a request HTTP refuses is refused over gRPC with the
// same message, its status mapped (400 InvalidArgument, 404 NotFound, 413
// ResourceExhausted); what only a protobuf request can get wrong is
// refused naming the input; each is counted in the "grpc" series with its
// HTTP status.
func TestGRPCErrors(t *testing.T) {
	s := newTestServer(t, Options{MaxInstances: 2})
	cl := grpcClient(t, s)
	lr := grpcRows["lr"][:1]
	f64 := func(name string, n int) *kservepb.ModelInferRequest_InferInputTensor {
		return &kservepb.ModelInferRequest_InferInputTensor{Name: name, Datatype: "FP64", Shape: []int64{int64(n / 10), 10},
			Contents: &kservepb.InferTensorContents{Fp64Contents: make([]float64, n)}}
	}
	req := func(model string, ins ...*kservepb.ModelInferRequest_InferInputTensor) *kservepb.ModelInferRequest {
		return &kservepb.ModelInferRequest{ModelName: model, Inputs: ins}
	}
	for _, c := range []struct {
		name string
		req  *kservepb.ModelInferRequest
		// http is the same request's JSON body over HTTP ("" for none):
		// its status and message must be the gRPC call's.
		http string
		code codes.Code
		want string
	}{
		{"unknown input", req("lr", f64("inputs", 10)),
			`{"inputs":[{"name":"inputs","datatype":"FP64","shape":[1,10],"data":[0,0,0,0,0,0,0,0,0,0]}]}`, codes.InvalidArgument, `"inputs"`},
		{"too many instances", req("lr", f64("input", 30)),
			`{"inputs":[{"name":"input","datatype":"FP64","shape":[3,10],"data":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}`, codes.ResourceExhausted, "max"},
		{"unknown model", req("nope", f64("input", 10)),
			`{"inputs":[{"name":"input","datatype":"FP64","shape":[1,10],"data":[0,0,0,0,0,0,0,0,0,0]}]}`, codes.NotFound, "nope"},
		{"unknown output", &kservepb.ModelInferRequest{ModelName: "lr", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{f64("input", 10)},
			Outputs: []*kservepb.ModelInferRequest_InferRequestedOutputTensor{{Name: "probabilities"}}},
			`{"inputs":[{"name":"input","datatype":"FP64","shape":[1,10],"data":[0,0,0,0,0,0,0,0,0,0]}],"outputs":[{"name":"probabilities"}]}`, codes.InvalidArgument, "probabilities"},
		{"count off the shape", req("lr", &kservepb.ModelInferRequest_InferInputTensor{Name: "input", Datatype: "FP64", Shape: []int64{1, 10},
			Contents: &kservepb.InferTensorContents{Fp64Contents: make([]float64, 9)}}),
			"", codes.InvalidArgument, `input "input": contents.fp64_contents holds 9 values, but shape [1 10] takes 10`},
		{"contents of another type", req("lr", &kservepb.ModelInferRequest_InferInputTensor{Name: "input", Datatype: "FP32", Shape: []int64{1, 10},
			Contents: &kservepb.InferTensorContents{Fp64Contents: make([]float64, 10)}}),
			"", codes.InvalidArgument, `input "input": datatype FP32 takes its values in contents.fp32_contents, but contents.fp64_contents holds 10 values`},
		{"raw of the wrong size", &kservepb.ModelInferRequest{ModelName: "lr", Inputs: grpcInput(lr, "raw64").Inputs, RawInputContents: [][]byte{make([]byte, 79)}},
			"", codes.InvalidArgument, `input "input": raw_input_contents[0] has 79 bytes, but shape [1 10] of FP64 takes 80 (8 each)`},
		{"raw and contents", &kservepb.ModelInferRequest{ModelName: "lr", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{f64("input", 10)}, RawInputContents: [][]byte{make([]byte, 80)}},
			"", codes.InvalidArgument, `input "input": contents set, but the request sends raw_input_contents`},
		{"raw entries off the inputs", &kservepb.ModelInferRequest{ModelName: "lr", Inputs: grpcInput(lr, "raw64").Inputs, RawInputContents: [][]byte{make([]byte, 80), nil}},
			"", codes.InvalidArgument, "raw_input_contents has 2 entries for 1 inputs"},
		{"bad version", &kservepb.ModelInferRequest{ModelName: "lr", ModelVersion: "v1", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{f64("input", 10)}},
			"", codes.InvalidArgument, `model_version "v1": want a positive integer`},
		{"missing version", &kservepb.ModelInferRequest{ModelName: "lr", ModelVersion: "7", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{f64("input", 10)}},
			`{"inputs":[{"name":"input","datatype":"FP64","shape":[1,10],"data":[0,0,0,0,0,0,0,0,0,0]}]}`, codes.NotFound, "7"},
	} {
		_, err := cl.ModelInfer(context.Background(), c.req)
		st, _ := status.FromError(err)
		if st.Code() != c.code || !strings.Contains(st.Message(), c.want) {
			t.Errorf("%s: ModelInfer = %v %q, want %v containing %q", c.name, st.Code(), st.Message(), c.code, c.want)
		}
		if c.http == "" {
			continue
		}
		uri := "/v2/models/" + c.req.GetModelName() + "/infer"
		if v := c.req.GetModelVersion(); v != "" {
			uri = "/v2/models/" + c.req.GetModelName() + "/versions/" + v + "/infer"
		}
		code, body, _ := call(s, "POST", uri, c.http)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != st.Message() || grpcCode(code) != st.Code() {
			t.Errorf("%s: HTTP answers %d %s, gRPC %v %q: want the same message and the status grpcCode maps", c.name, code, body, st.Code(), st.Message())
		}
	}
	var out strings.Builder
	if _, err := s.metrics.Write(&out, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`predictd_requests_total{api="grpc",code="400",model="lr",version="1"} 7`,
		`predictd_requests_total{api="grpc",code="413",model="lr",version="1"} 1`,
		`predictd_requests_total{api="grpc",code="400",model="",version="0"} 1`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(out.String(), "predictd_requests_total"))
		}
	}
}

// grepLines is the lines of s that contain sub.
func grepLines(s, sub string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestGRPCLimitsAndDeadlines: a call beyond MaxConcurrent is Unavailable
// naming max_concurrent, as HTTP's 503; a call whose deadline has passed
// is DeadlineExceeded with HTTP's 504 message, uncomputed; a message
// larger than MaxBodyBytes is ResourceExhausted.
func TestGRPCLimitsAndDeadlines(t *testing.T) {
	s := newTestServer(t, Options{MaxConcurrent: 2, MaxBodyBytes: 4096})
	cl := grpcClient(t, s)
	req := grpcInput(grpcRows["lr"], "fp64")
	req.ModelName = "lr"

	s.inflight.Store(2)
	_, err := cl.ModelInfer(context.Background(), req)
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "max_concurrent") {
		t.Errorf("call over MaxConcurrent: %v %q, want Unavailable naming max_concurrent", st.Code(), st.Message())
	}
	s.inflight.Store(0)

	// Called in process: a client does not send a call whose deadline has
	// passed.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = grpcService{s: s}.ModelInfer(ctx, req)
	if st, _ := status.FromError(err); st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "timeout of 1ns passed before it was computed") {
		t.Errorf("call past its deadline: %v %q, want DeadlineExceeded saying it was not computed", st.Code(), st.Message())
	}
	if st, _ := status.FromError(err); !strings.Contains(st.Message(), "(the gRPC call's deadline, OIP parameters.timeout, or the model's timeout setting)") || strings.Contains(st.Message(), "X-Request-Timeout") {
		t.Errorf("call past its deadline: message %q, want it to name the call's deadline and parameters.timeout, not HTTP's X-Request-Timeout", st.Message())
	}

	big := grpcInput([][]float32{make([]float32, 10)}, "fp64")
	big.ModelName = "lr"
	big.Id = strings.Repeat("x", 5000)
	_, err = cl.ModelInfer(context.Background(), big)
	if st, _ := status.FromError(err); st.Code() != codes.ResourceExhausted {
		t.Errorf("message over MaxBodyBytes: %v %q, want ResourceExhausted", st.Code(), st.Message())
	}
}

// TestGRPCClientGone: the batcher's gone probe reads a gRPC call's
// context: a cancelled call is gone, one past its deadline is not (the
// deadline answers it 504).
func TestGRPCClientGone(t *testing.T) {
	c := getExchange()
	defer putExchange(c)
	ctx, cancel := context.WithCancel(context.Background())
	c.ctx = ctx
	if c.gone() {
		t.Error("gone() = true for a live call, want false")
	}
	cancel()
	if !c.gone() {
		t.Error("gone() = false for a cancelled call, want true")
	}
	dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer dcancel()
	c.ctx = dctx
	if c.gone() {
		t.Error("gone() = true for a call past its deadline, want false")
	}
}

// TestGRPCMetadata: ServerLive, ServerReady, ServerMetadata, ModelReady
// and ModelMetadata answer what GET /v2/health/live, /v2/health/ready,
// /v2, /v2/models/{m}/ready and /v2/models/{m} answer; the standard health
// service's Check says SERVING while ready, NOT_SERVING while draining,
// NotFound for a service predictd does not serve; Triton's other RPCs are
// Unimplemented.
func TestGRPCMetadata(t *testing.T) {
	s := newTestServer(t, Options{Version: "1.2.3"})
	conn := grpcBufConn(t, s)
	cl := kservepb.NewGRPCInferenceServiceClient(conn)
	bg := context.Background()
	if r, err := cl.ServerLive(bg, &kservepb.ServerLiveRequest{}); err != nil || !r.GetLive() {
		t.Errorf("ServerLive = %v, %v; want live", r, err)
	}
	if r, err := cl.ServerReady(bg, &kservepb.ServerReadyRequest{}); err != nil || !r.GetReady() {
		t.Errorf("ServerReady = %v, %v; want ready", r, err)
	}
	if r, err := cl.ServerMetadata(bg, &kservepb.ServerMetadataRequest{}); err != nil || r.GetName() != "predictd" || r.GetVersion() != "1.2.3" || fmt.Sprint(r.GetExtensions()) != "[binary_tensor_data]" {
		t.Errorf("ServerMetadata = %v, %v; want predictd 1.2.3 [binary_tensor_data]", r, err)
	}
	for _, c := range []struct {
		name, version string
		ready         bool
		code          codes.Code
	}{{"lr", "", true, codes.OK}, {"lr", "1", true, codes.OK}, {"lr", "2", false, codes.NotFound}, {"nope", "", false, codes.NotFound}, {"lr", "x", false, codes.InvalidArgument}} {
		r, err := cl.ModelReady(bg, &kservepb.ModelReadyRequest{Name: c.name, Version: c.version})
		if status.Code(err) != c.code || r.GetReady() != c.ready {
			t.Errorf("ModelReady(%q, %q) = %v, %v; want ready %v, code %v", c.name, c.version, r, err, c.ready, c.code)
		}
	}
	for _, model := range []string{"lr", "trees"} {
		md, err := cl.ModelMetadata(bg, &kservepb.ModelMetadataRequest{Name: model})
		if err != nil {
			t.Fatalf("ModelMetadata(%s): %v", model, err)
		}
		_, body, _ := call(s, "GET", "/v2/models/"+model, "")
		var want struct {
			Name     string
			Versions []string
			Platform string
			Inputs   []tensorMeta
			Outputs  []tensorMeta
		}
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("%s %v %s", md.GetName(), md.GetVersions(), md.GetPlatform())
		for _, ts := range [][]*kservepb.ModelMetadataResponse_TensorMetadata{md.GetInputs(), md.GetOutputs()} {
			for _, tm := range ts {
				got += fmt.Sprintf(" %s:%s%v", tm.GetName(), tm.GetDatatype(), tm.GetShape())
			}
		}
		exp := fmt.Sprintf("%s %v %s", want.Name, want.Versions, want.Platform)
		for _, ts := range [][]tensorMeta{want.Inputs, want.Outputs} {
			for _, tm := range ts {
				exp += fmt.Sprintf(" %s:%s%v", tm.Name, tm.Datatype, tm.Shape)
			}
		}
		if got != exp {
			t.Errorf("ModelMetadata(%s) = %s, HTTP answers %s", model, got, exp)
		}
	}
	hc := healthpb.NewHealthClient(conn)
	for _, svc := range []string{"", "inference.GRPCInferenceService"} {
		if r, err := hc.Check(bg, &healthpb.HealthCheckRequest{Service: svc}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health Check(%q) = %v, %v; want SERVING", svc, r, err)
		}
	}
	if _, err := hc.Check(bg, &healthpb.HealthCheckRequest{Service: "x"}); status.Code(err) != codes.NotFound {
		t.Errorf("health Check(x) = %v, want NotFound", err)
	}
	// Triton's other RPCs are not served.
	if err := conn.Invoke(bg, "/inference.GRPCInferenceService/ModelStatistics", &kservepb.ModelReadyRequest{}, &kservepb.ModelReadyResponse{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("ModelStatistics = %v, want Unimplemented", err)
	}
	s.StopReady()
	if r, err := cl.ServerReady(bg, &kservepb.ServerReadyRequest{}); err != nil || r.GetReady() {
		t.Errorf("ServerReady while draining = %v, %v; want not ready", r, err)
	}
	if r, err := hc.Check(bg, &healthpb.HealthCheckRequest{}); err != nil || r.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health Check while draining = %v, %v; want NOT_SERVING", r, err)
	}
}

// TestGRPCShutdownDrains: Shutdown lets a gRPC call in flight finish and
// answer, then ServeGRPC returns nil.
func TestGRPCShutdownDrains(t *testing.T) {
	s := newTestServer(t, Options{})
	ln := bufconn.Listen(1 << 20)
	served := make(chan error, 1)
	go func() { served <- s.ServeGRPC(ln) }()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl := kservepb.NewGRPCInferenceServiceClient(conn)
	// A request big enough to be in flight when Shutdown starts.
	rows := make([][]float32, 100000)
	for i := range rows {
		rows[i] = grpcRows["trees"][i%2]
	}
	s.opts.MaxInstances, s.limits.MaxInstances = len(rows), len(rows)
	req := grpcInput(rows, "raw32")
	req.ModelName = "trees"
	got := make(chan error, 1)
	go func() {
		resp, err := cl.ModelInfer(context.Background(), req)
		if err == nil && len(resp.GetRawOutputContents()[0]) != 8*4*len(rows) {
			err = fmt.Errorf("%d bytes of output, want %d", len(resp.GetRawOutputContents()[0]), 8*4*len(rows))
		}
		got <- err
	}()
	for s.inflight.Load() == 0 {
		select {
		case err := <-got:
			t.Fatalf("the call ended before Shutdown could start: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-got; err != nil {
		t.Errorf("call in flight at Shutdown: %v, want its answer", err)
	}
	if err := <-served; err != nil {
		t.Errorf("ServeGRPC after Shutdown: %v, want nil", err)
	}
	if _, err := cl.ServerLive(context.Background(), &kservepb.ServerLiveRequest{}); err == nil {
		t.Error("ServerLive after Shutdown answered; want an error")
	}
}

// TestGRPCCode: each HTTP status the server answers maps to the gRPC code
// grpcCode's doc names.
func TestGRPCCode(t *testing.T) {
	for code, want := range map[int]codes.Code{
		400: codes.InvalidArgument, 401: codes.Unauthenticated, 404: codes.NotFound, 409: codes.AlreadyExists,
		413: codes.ResourceExhausted, 503: codes.Unavailable, 504: codes.DeadlineExceeded, 499: codes.Canceled,
		500: codes.Internal, 418: codes.Internal,
	} {
		if got := grpcCode(code); got != want {
			t.Errorf("grpcCode(%d) = %v, want %v", code, got, want)
		}
	}
}

// loadingModels is a Models whose models are all still loading.
type loadingModels struct{ Models }

func (loadingModels) Acquire(string, int, string) (any, Releaser, error) {
	return nil, nil, ModelError(errors.New("model lr: loading"), ErrModelsLoading)
}

// TestGRPCModelReadyLoading: where HTTP answers 503 (still loading),
// ModelReady answers false, and ModelInfer is Unavailable with HTTP's
// text.
func TestGRPCModelReadyLoading(t *testing.T) {
	s := newTestServer(t, Options{})
	s.SetModels(loadingModels{s.models})
	cl := grpcClient(t, s)
	r, err := cl.ModelReady(context.Background(), &kservepb.ModelReadyRequest{Name: "lr"})
	if err != nil || r.GetReady() {
		t.Errorf("ModelReady while loading = %v, %v; want not ready, no error", r, err)
	}
	req := grpcInput(grpcRows["lr"], "fp64")
	req.ModelName = "lr"
	_, err = cl.ModelInfer(context.Background(), req)
	if st, _ := status.FromError(err); st.Code() != codes.Unavailable || st.Message() != "model lr: loading" {
		t.Errorf("ModelInfer while loading = %v %q, want Unavailable %q", st.Code(), st.Message(), "model lr: loading")
	}
}

// TestGRPCDeadlineWins: the call's deadline wins over parameters.timeout,
// as HTTP's X-Request-Timeout does: a call past its deadline with a
// parameters.timeout of 1000s is DeadlineExceeded, uncomputed.
func TestGRPCDeadlineWins(t *testing.T) {
	s := newTestServer(t, Options{})
	req := grpcInput(grpcRows["lr"], "fp64")
	req.ModelName = "lr"
	req.Parameters = map[string]*kservepb.InferParameter{"timeout": {ParameterChoice: &kservepb.InferParameter_Int64Param{Int64Param: 1e9}}}
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	_, err := grpcService{s: s}.ModelInfer(ctx, req)
	if st, _ := status.FromError(err); st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "timeout of 1ns") {
		t.Errorf("call past its deadline with parameters.timeout 1000s: %v %q, want DeadlineExceeded, timeout of 1ns", st.Code(), st.Message())
	}
}

// TestGRPCShutdownDeadline: a call still running when Shutdown's context
// ends is cut off (the client sees an error, not a hang), and Shutdown
// returns the context's error.
func TestGRPCShutdownDeadline(t *testing.T) {
	s := newTestServer(t, Options{MaxInstances: 100000})
	cl := grpcClient(t, s)
	rows := make([][]float32, 100000)
	for i := range rows {
		rows[i] = grpcRows["trees"][i%2]
	}
	req := grpcInput(rows, "raw32")
	req.ModelName = "trees"
	got := make(chan error, 1)
	go func() {
		_, err := cl.ModelInfer(context.Background(), req, grpc.MaxCallRecvMsgSize(64<<20))
		got <- err
	}()
	for s.inflight.Load() == 0 {
		select {
		case err := <-got:
			t.Fatalf("the call ended before Shutdown could start: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with its context ended: %v, want context.Canceled", err)
	}
	if err := <-got; status.Code(err) != codes.Unavailable && status.Code(err) != codes.Canceled {
		t.Errorf("call cut off by Shutdown: %v, want Unavailable or Canceled", err)
	}
}

// TestGRPCMonitored: the model monitor sees gRPC predictions as HTTP
// ones: the rows of 3 calls of 2 rows are 6 in the drift window, and the
// SLO tracker counts the calls.
func TestGRPCMonitored(t *testing.T) {
	s, _ := monitoredServer(t, BatchingNever)
	cl := grpcClient(t, s)
	req := grpcInput(grpcRows["lr"], "fp64")
	req.ModelName = "lr"
	for range 3 {
		if _, err := cl.ModelInfer(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	code, body, _ := call(s, "GET", "/v1/models/lr/monitor", "")
	for _, want := range []string{`"name": "since_load",` + "\n" + `          "rows": 6,`, `"slo": {`, `"requests": 3`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /v1/models/lr/monitor after 3 gRPC calls = %d %s, want 200 containing %q", code, body, want)
		}
	}
}

// TestGRPCJoin: a gRPC call of a model that reads online features, with
// entity keys (INT64 and BYTES) in place of features and return_features,
// answers the prediction of the same HTTP OIP request, and
// parameters["features"] holds the JSON array HTTP answers under
// parameters.features, byte for byte.
func TestGRPCJoin(t *testing.T) {
	s, _, svc, now := joinServer(t, Options{}, "shape", "lab:mean_smoothness", "lab:mean_compactness")
	write(t, svc, "shape", "7", now.Add(-90*time.Second), 0.19, -0.55, -0.13, -0.04)
	write(t, svc, "lab", "north", now.Add(-30*time.Second), -2.5, -1.4, 7)
	cl := grpcClient(t, s)

	rest := []float64{-0.97, -1.15, -1.05, -1.25}
	req := &kservepb.ModelInferRequest{ModelName: "lr",
		Parameters: map[string]*kservepb.InferParameter{"return_features": {ParameterChoice: &kservepb.InferParameter_BoolParam{BoolParam: true}}},
		Inputs: []*kservepb.ModelInferRequest_InferInputTensor{
			{Name: "patient_id", Datatype: "INT64", Shape: []int64{1}, Contents: &kservepb.InferTensorContents{Int64Contents: []int64{7}}},
			{Name: "site", Datatype: "BYTES", Shape: []int64{1}, Contents: &kservepb.InferTensorContents{BytesContents: [][]byte{[]byte("north")}}},
		}}
	var inputs []string
	for i, name := range lrNames[6:] {
		req.Inputs = append(req.Inputs, &kservepb.ModelInferRequest_InferInputTensor{Name: name, Datatype: "FP64", Shape: []int64{1},
			Contents: &kservepb.InferTensorContents{Fp64Contents: []float64{rest[i]}}})
		inputs = append(inputs, fmt.Sprintf(`{"name": %q, "datatype": "FP64", "shape": [1], "data": [%v]}`, name, rest[i]))
	}
	body := `{"parameters": {"return_features": true}, "inputs": [{"name": "patient_id", "datatype": "INT64", "shape": [1], "data": [7]},
		{"name": "site", "datatype": "BYTES", "shape": [1], "data": ["north"]}, ` + strings.Join(inputs, ", ") + `]}`
	want, raw := infer(t, s, "/v2/models/lr/infer", body)
	resp, err := cl.ModelInfer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetOutputs()[0].GetContents().GetFp64Contents(); len(got) != 1 || math.Float64bits(got[0]) != math.Float64bits(want.Outputs[0].Data[0]) {
		t.Errorf("gRPC join prediction %v, HTTP answers %v", got, want.Outputs[0].Data)
	}
	var httpParams struct {
		Parameters struct {
			Features json.RawMessage `json:"features"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal([]byte(raw), &httpParams); err != nil {
		t.Fatal(err)
	}
	if got := resp.GetParameters()["features"].GetStringParam(); got != string(httpParams.Parameters.Features) {
		t.Errorf("gRPC parameters[features] = %s, HTTP parameters.features = %s", got, httpParams.Parameters.Features)
	}
}
