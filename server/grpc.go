package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"github.com/valyala/fasthttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/predictd/predictd/wire"
	"github.com/predictd/predictd/wire/kservepb"
)

// The KServe v2 gRPC API (GRPCInferenceService of wire/kservepb) beside
// HTTP: ModelInfer goes through infer, the hot path HTTP's predictions
// take, so it keeps the same limits, deadlines, batching, online
// features, contract checks, metrics (api label "grpc"), cost spans and
// monitor; its errors carry the HTTP API's message, the status mapped by
// grpcCode. The metadata calls answer what their HTTP twins answer.

// newGRPC makes the server's gRPC server: a message larger than
// MaxBodyBytes is refused (ResourceExhausted, by grpc itself) as HTTP
// refuses such a body with 413.
func (s *Server) newGRPC() {
	// grpc's defaults otherwise: NumStreamWorkers(GOMAXPROCS) with
	// SharedWriteBuffer was measured against them (BenchmarkAPIs api=grpc,
	// 3 runs each, load about 1): 1 row 38,100-42,900 req/s against
	// 40,100-45,800, 64 rows 11,000-11,800 against 10,200-10,700, within
	// the machine's noise, so not kept.
	s.grpc = grpc.NewServer(
		grpc.MaxRecvMsgSize(s.opts.MaxBodyBytes),
	)
	kservepb.RegisterGRPCInferenceServiceServer(s.grpc, grpcService{s: s})
	healthpb.RegisterHealthServer(s.grpc, grpcHealth{s: s})
	// Server reflection, so that grpcurl and other tools list and call
	// the API without the .proto.
	reflection.Register(s.grpc)
}

// grpcHealth is the standard gRPC health service (grpc.health.v1), for
// orchestrators' gRPC probes: Check answers SERVING when the server is
// ready (Server.Ready, as /readyz), NOT_SERVING when not; for the
// service "" and "inference.GRPCInferenceService", NotFound for any other.
// Watch is not implemented.
type grpcHealth struct {
	healthpb.UnimplementedHealthServer
	s *Server
}

func (h grpcHealth) Check(_ context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	switch req.GetService() {
	case "", kservepb.GRPCInferenceService_ServiceDesc.ServiceName:
	default:
		return nil, status.Errorf(codes.NotFound, "unknown service %q: predictd serves %q", req.GetService(), kservepb.GRPCInferenceService_ServiceDesc.ServiceName)
	}
	if h.s.Ready() {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING}, nil
}

// ServeGRPC serves the KServe v2 gRPC API on ln (TCP or a Unix socket)
// until Shutdown. It returns nil after Shutdown. It may run beside Serve,
// on any number of listeners.
func (s *Server) ServeGRPC(ln net.Listener) error {
	if s.models == nil {
		panic("BUG: server.ServeGRPC before SetModels")
	}
	err := s.grpc.Serve(ln)
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// stopGRPC drains the gRPC server: no new calls (GOAWAY), calls in flight
// finish; at ctx's end those still running are cancelled and the
// connections closed.
func (s *Server) stopGRPC(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		return ctx.Err()
	}
}

// grpcCode is the gRPC status of an answer with HTTP status code: 400
// InvalidArgument, 401 Unauthenticated, 404 NotFound, 409 AlreadyExists,
// 413 ResourceExhausted (a request over a limit, as grpc answers a
// message over the size limit), 503 Unavailable, 504 DeadlineExceeded,
// 499 Canceled, 500 and any other Internal.
func grpcCode(code int) codes.Code {
	switch code {
	case fasthttp.StatusBadRequest:
		return codes.InvalidArgument
	case fasthttp.StatusUnauthorized:
		return codes.Unauthenticated
	case fasthttp.StatusNotFound:
		return codes.NotFound
	case fasthttp.StatusConflict:
		return codes.AlreadyExists
	case fasthttp.StatusRequestEntityTooLarge:
		return codes.ResourceExhausted
	case fasthttp.StatusServiceUnavailable:
		return codes.Unavailable
	case fasthttp.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case statusClientGone:
		return codes.Canceled
	}
	return codes.Internal
}

// grpcError is err as a gRPC status error: its text unchanged, its code
// grpcCode of statusOf; code is the HTTP status it stands for. The log
// gets the server's own errors (500s).
func (s *Server) grpcError(method string, err error) (code int, st error) {
	code, _, ours := statusOf(err)
	if ours {
		s.logServerErr("error: grpc %s: %v", method, err)
	}
	return code, status.Error(grpcCode(code), err.Error())
}

// grpcVersion reads a request's model version: "" is 0 (the latest), else
// a positive integer as in an HTTP path.
func grpcVersion(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, ok := parseVersion([]byte(v))
	if !ok {
		return 0, Errorf(fasthttp.StatusBadRequest, "model_version %q: want a positive integer, or empty for the latest version", v)
	}
	return n, nil
}

// grpcService implements kservepb.GRPCInferenceServiceServer.
type grpcService struct {
	kservepb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

// ServerLive is GET /v2/health/live: true while the process serves.
func (g grpcService) ServerLive(context.Context, *kservepb.ServerLiveRequest) (*kservepb.ServerLiveResponse, error) {
	return &kservepb.ServerLiveResponse{Live: true}, nil
}

// ServerReady is GET /v2/health/ready: every configured model loaded, and
// not draining.
func (g grpcService) ServerReady(context.Context, *kservepb.ServerReadyRequest) (*kservepb.ServerReadyResponse, error) {
	return &kservepb.ServerReadyResponse{Ready: g.s.Ready()}, nil
}

// ServerMetadata is GET /v2.
func (g grpcService) ServerMetadata(context.Context, *kservepb.ServerMetadataRequest) (*kservepb.ServerMetadataResponse, error) {
	return &kservepb.ServerMetadataResponse{Name: "predictd", Version: g.s.opts.Version, Extensions: []string{"binary_tensor_data"}}, nil
}

// acquire pins the version a metadata call names, as GET
// /v2/models/{name}[/versions/{v}] does.
func (g grpcService) acquire(method, name, version string) (*versionState, Releaser, error) {
	v, err := grpcVersion(version)
	if err != nil {
		_, st := g.s.grpcError(method, err)
		return nil, nil, st
	}
	prepared, rel, err := g.s.models.Acquire(name, v, "")
	if err != nil {
		_, st := g.s.grpcError(method, err)
		return nil, nil, st
	}
	return prepared.(*versionState), rel, nil
}

// ModelReady is GET /v2/models/{name}[/versions/{v}]/ready: true when the
// version is loaded. Where HTTP answers 503 (models still loading), it
// answers false; an unknown model or version is NotFound, as HTTP's 404.
func (g grpcService) ModelReady(_ context.Context, req *kservepb.ModelReadyRequest) (*kservepb.ModelReadyResponse, error) {
	_, rel, err := g.acquire("ModelReady", req.GetName(), req.GetVersion())
	if err != nil {
		if status.Code(err) == codes.Unavailable {
			return &kservepb.ModelReadyResponse{Ready: false}, nil
		}
		return nil, err
	}
	rel.Release()
	return &kservepb.ModelReadyResponse{Ready: true}, nil
}

// ModelMetadata is GET /v2/models/{name}[/versions/{v}]: the same name,
// versions, platform, inputs and outputs. The HTTP answer's "parameters"
// (task, features, class_label, ...) and an input's "optional" and
// "parameters" have no field in the message.
func (g grpcService) ModelMetadata(_ context.Context, req *kservepb.ModelMetadataRequest) (*kservepb.ModelMetadataResponse, error) {
	vs, rel, err := g.acquire("ModelMetadata", req.GetName(), req.GetVersion())
	if err != nil {
		return nil, err
	}
	defer rel.Release()
	return vs.grpcMeta, nil
}

// ModelInfer is POST /v2/models/{name}[/versions/{v}]/infer.
func (g grpcService) ModelInfer(ctx context.Context, req *kservepb.ModelInferRequest) (*kservepb.ModelInferResponse, error) {
	s := g.s
	v, err := grpcVersion(req.GetModelVersion())
	if err != nil {
		code, st := s.grpcError("ModelInfer", err)
		s.metrics.Series("", 0, APIGRPC.String()).Count(code)
		return nil, st
	}
	c := getExchange()
	c.grpc = grpcCall{s: s, ctx: ctx, req: req}
	s.infer(&c.grpc, c, APIGRPC, req.GetModelName(), v, "")
	resp, err := c.grpc.resp, c.grpc.err
	putExchange(c)
	return resp, err
}

// grpcCall is the gRPC front of a prediction request: the call's context
// and request, and what infer answered.
type grpcCall struct {
	s    *Server
	ctx  context.Context
	req  *kservepb.ModelInferRequest
	resp *kservepb.ModelInferResponse
	err  error
}

func (g *grpcCall) decode(c *exchange, vs *versionState, lim wire.Limits) error {
	c.ctx = g.ctx
	return c.Request.DecodeInferProto(g.req, vs.schema, lim)
}

// timeout: the call's deadline plays the part of HTTP's X-Request-Timeout
// header (it wins over parameters.timeout); a deadline already past is a
// timeout of 1ns, answered DeadlineExceeded uncomputed.
func (g *grpcCall) timeout(r *wire.Request, def time.Duration, start time.Time) (time.Duration, error) {
	if d, ok := g.ctx.Deadline(); ok {
		return max(d.Sub(start), time.Nanosecond), nil
	}
	if r.TimeoutMicros > 0 {
		return time.Duration(r.TimeoutMicros) * time.Microsecond, nil
	}
	return def, nil
}

func (g *grpcCall) reply(c *exchange, vs *versionState) {
	g.resp = &kservepb.ModelInferResponse{}
	id := g.req.GetId()
	if id == "" {
		id = string(c.id) // generated
	}
	wire.InferProto(g.resp, vs.name, vs.version, id, &c.Request, vs.schema, c.Preds, vs.outputs, &c.join)
}

func (g *grpcCall) fail(err error) int {
	var code int
	code, g.err = g.s.grpcError("ModelInfer", err)
	return code
}

// headerID: a gRPC call's id is its request's id field alone.
func (g *grpcCall) headerID(*exchange) error { return nil }

func (g *grpcCall) bodyID(*exchange) ([]byte, string) {
	id := g.req.GetId()
	return unsafe.Slice(unsafe.StringData(id), len(id)), "ModelInferRequest.id"
}

// setID: the id comes back in the response's id field, not in metadata.
func (g *grpcCall) setID([]byte) {}

func (g *grpcCall) left() {
	g.err = status.Error(codes.Canceled, "the client cancelled the call before its answer")
}

// grpcMetadata is the ModelMetadataResponse of a version whose HTTP
// metadata (v2Metadata) is v2Meta: the same fields, read back from it.
func grpcMetadata(v2Meta []byte) (*kservepb.ModelMetadataResponse, error) {
	var md struct {
		Name     string
		Versions []string
		Platform string
		Inputs   []tensorMeta
		Outputs  []tensorMeta
	}
	if err := json.Unmarshal(v2Meta, &md); err != nil {
		return nil, fmt.Errorf("BUG: v2 metadata: %w", err)
	}
	tensors := func(ts []tensorMeta) []*kservepb.ModelMetadataResponse_TensorMetadata {
		out := make([]*kservepb.ModelMetadataResponse_TensorMetadata, len(ts))
		for i, t := range ts {
			shape := make([]int64, len(t.Shape))
			for k, d := range t.Shape {
				shape[k] = int64(d)
			}
			out[i] = &kservepb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: shape}
		}
		return out
	}
	return &kservepb.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform, Inputs: tensors(md.Inputs), Outputs: tensors(md.Outputs)}, nil
}
