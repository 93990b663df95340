// Package server is predictd's HTTP front end on fasthttp: the TF Serving
// REST API (/v1/models/...:predict, model status and metadata), the Open
// Inference Protocol v2 (/v2/..., infer, with its binary tensor data
// extension: the Inference-Header-Content-Length header; metadata,
// health), /healthz, /readyz, /metrics in Prometheus text format, and the
// bearer-token admin endpoints (/v1/admin/...). docs/api.md is the user's description.
// Beside HTTP, on listeners of its own (ServeGRPC), the KServe v2 gRPC API
// (grpc.go; wire/kservepb; docs/grpc.md), with the standard gRPC health
// service and server reflection.
//
// The package holds no model logic. Versions come from Models (models.go),
// the small interface cmd/predictd adapts model/manager's Manager to; the
// manager calls Server.Prepare once per loaded version to build the
// version's serving state (predictor, request schema, metadata, metric
// series), so a request does no lookups beyond Models.Acquire.
//
// Pieces: package wire decodes bodies into rows checked against the
// version's wire.Schema and encodes responses; featcache runs the online
// feature join (join.go adds the store-down policy, statuses and
// deadlines); monitor holds the series the server feeds after each
// response and the registry /metrics gathers, on which metrics.go
// registers the server's collectors. Here: route.go parses model paths;
// discovery.go lists the models (GET /v1/models, GET /v2/models), answers
// Triton's repository index (POST /v2/repository/index) and writes the
// readiness body that names each model without a loaded version and why,
// all from Models.Names and Models.Status; metadata.go builds each
// version's metadata once (entity key inputs, the class label output);
// server.go routes; infer.go is the prediction hot path both transports
// share (limits, decode, deadline, join, contract, transforms, compute,
// metrics, monitor) behind the small front interface, HTTP's httpCall and
// gRPC's grpcCall; errors.go maps errors to statuses in one place
// (statusOf: a *StatusError keeps its status, wire.ErrInvalid is 400,
// ErrModelNotFound 404, batcher.ErrQueueFull 503, anything else 500;
// writeError writes it for HTTP, grpcCode maps it for gRPC); conns.go bounds the open
// connections; features.go serves /v1/features. Each version may get a
// batcher.Batcher: calibrate.go measures the version at load time and, in
// the default auto mode, batches only where a batch saves enough per row;
// gone_linux.go is the probe that lets the batcher drop a request whose
// client has left. contract.go checks each request's rows, after the feature
// join, against the data contract the version carries (model.ReadContract,
// contract.Checker), per model (ModelOptions.Contract): enforce refuses the
// request with 400 naming the instance and field, count serves it; both
// count the violations per version, feature and kind in /metrics. A
// version with transforms (trained by predictd; model.Loaded.Transform) is
// served from raw values, strings included (wire keeps them in the
// request's arena): after the join and the contract check (both on the raw
// number inputs; a contract naming a string input is refused at Prepare)
// each instance goes through model.TransformRow into the exchange's
// scratch, and those model columns are what the model, the batcher and the
// monitor get (transformRows; TestTransformPredict holds the answers to
// TransformRow and Predict bit for bit).
//
// reqid.go gives every prediction request an id (the caller's
// X-Request-Id or OIP id, validated, else generated from the exchange's
// own ChaCha8), returned in the X-Request-Id header of every HTTP answer
// and in the body (TestPredictionIDs). predlog.go feeds the prediction
// log (Options.PredictionLog, monitor/predlog): a predlog.Model per
// prepared version, one record per instance of each successful request,
// logged after the answer is composed without blocking (TestPredLogRecords,
// TestPredictLogAllocs). labels.go records every successful instance of
// a binary or regression model in the labels store (Options.Labels,
// monitor/labels) at the same place, by the same id, with its slice
// values, and serves POST /v1/models/{name}/feedback (TestLabelsFeedback,
// TestFeedbackErrors); quality.go adds the store's reports to /monitor and
// /metrics, computed when asked at most once per QualityRecomputeEvery
// (TestLabelsMonitorMerged).
//
// Invariants: the warm HTTP prediction path allocates nothing (its
// scratch, an exchange, is pooled; TestPredictAllocs, TestJoinAllocs,
// TestTransformAllocs; with labels on, once: the instances' ids,
// TestPredictLabelsAllocs; a gRPC call allocates its response message, and
// grpc its own); a gRPC call gets the answer, status text included, that
// the same HTTP request gets (TestGRPCInferMatchesHTTP, TestGRPCErrors);
// every queue is
// bounded: beyond Options.MaxConcurrent a request is answered 503 at once;
// a version taken with Models.Acquire is released before the handler
// returns.
//
// Concurrency: Handle is called by fasthttp, and the gRPC methods by grpc,
// from many goroutines at once;
// Prepare and Retired are called by the manager (Prepare calls never
// overlap; Retired may run in a request's goroutine, at its last Release).
// SetModels is called once before Serve and ServeGRPC; Shutdown once.
package server
