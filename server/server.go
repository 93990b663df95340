package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"google.golang.org/grpc"

	"github.com/predictd/predictd/batcher"
	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/internal/logx"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
	"github.com/predictd/predictd/monitor"
	"github.com/predictd/predictd/monitor/cost"
	"github.com/predictd/predictd/monitor/labels"
	"github.com/predictd/predictd/monitor/predlog"
	"github.com/predictd/predictd/monitor/watch"
	"github.com/predictd/predictd/rollout/audit"
	"github.com/predictd/predictd/wire"
	"github.com/predictd/predictd/wire/kservepb"
)

// Options configures a Server. Zero fields take DefaultOptions' values
// where noted.
type Options struct {
	// MaxBodyBytes bounds a request body; a larger one is answered 413
	// before it is read in full. Default 8 MiB.
	MaxBodyBytes int
	// MaxInstances bounds the instances (rows) of one request; more are
	// answered 413. Default 10,000.
	MaxInstances int
	// MaxConcurrent bounds the prediction requests served at once; one
	// more is answered 503 with Retry-After at once. Default 1,024.
	MaxConcurrent int
	// MaxConnections bounds the open client connections over all
	// listeners; at the limit a new connection evicts the longest-idle one,
	// or is answered 503 when none is idle (see conns.go). Default
	// DefaultMaxConnections().
	MaxConnections int
	// MaxHeaderBytes bounds a request's line and headers; larger is
	// answered 431. Default 8 KiB.
	MaxHeaderBytes int
	// IdleGrace is how long Shutdown keeps serving idle keep-alive
	// connections (one more request each, answered with Connection: close)
	// after the listeners close, before it closes the ones still idle: a
	// client that reuses its connection within IdleGrace is answered
	// instead of reset. Default 1s; negative: none. Bounded by Shutdown's
	// context.
	IdleGrace time.Duration
	// ReadTimeout and WriteTimeout bound reading a whole request and
	// writing a whole response; IdleTimeout bounds a keep-alive connection
	// waiting for its next request. Defaults 10s, 10s, 60s.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// AdminToken is the bearer token the /v1/admin endpoints require. Empty
	// turns the admin endpoints off (404) unless AdminTokens has some.
	AdminToken string
	// AdminTokens are more admin bearer tokens by their holder's name
	// (admintoken.go): the name is the actor of the calls a token makes
	// in the audit log. AdminToken, if set, is named "admin". Names are
	// CheckTokenName's; tokens non-empty and distinct. No token is ever
	// logged or audited.
	AdminTokens map[string]string
	// DisableBatching makes every request its own Predict call on the
	// handler's goroutine (predictd serve --batching=false), for
	// comparison. By default each model version has an adaptive batcher.
	DisableBatching bool
	// Models holds per-model settings by model name; a model not listed
	// gets DefaultModel.
	Models       map[string]ModelOptions
	DefaultModel ModelOptions
	// Features, when set, serves /v1/features: push and read online
	// feature values.
	Features *featcache.Service
	// Metrics is the registry /metrics serves; nil: a new one
	// (monitor.NewRegistry). The server registers its collectors on it in
	// New; other components (the feature stream consumer) register theirs
	// on the same one.
	Metrics *monitor.Registry
	// Monitor, when set, is told every prediction after it is computed
	// (rows, predictions, latency, status, CPU spans) and answers GET
	// /v1/models/{name}/monitor; nil: no model monitoring.
	Monitor *watch.Monitor
	// PredictionLog, when set, logs the predictions of every version
	// (see predlog.go): the server makes a predlog.Model per prepared
	// version and retires it with the version; the caller creates the Log
	// before the server's first Prepare and closes it after Shutdown.
	// nil: no prediction log.
	PredictionLog *predlog.Log
	// Labels, when set, records every successful prediction instance of
	// the binary and regression models (labels.go) and serves POST
	// /v1/models/{name}/feedback; the caller opens the store before the
	// server's first Prepare and closes it after Shutdown. nil: labels
	// are off (feedback answers 503).
	Labels *labels.Store
	// Audit, when set, gets an entry for every change the server makes or
	// is asked to make (audit.go), appended before the change takes
	// effect; a change whose entry cannot be written is refused. The
	// caller opens the log before the server's first Prepare and closes it
	// after Shutdown. nil: no audit trail.
	Audit *audit.Log
	// QualityRecomputeEvery bounds how often a version's live-quality
	// report (quality.go) is recomputed for /monitor and /metrics; calls in
	// between get the last one. Default 10s.
	QualityRecomputeEvery time.Duration
	// Version is reported by GET /v2 and predictd_build_info.
	Version string
	// Logf receives one line per notable event (admin calls, errors that
	// are the server's fault). Default: discard.
	Logf func(format string, args ...any)
	// Rollout configures the canary rollouts (rollout.go): the shared
	// state store and the decision loop's interval and clock.
	Rollout RolloutOptions
}

// ModelOptions are one model's serving settings.
type ModelOptions struct {
	// Batching says whether requests go through the model's batcher:
	// auto (the default) measures each version at load time and batches
	// only if a batch saves enough per row to pay for the handoff.
	Batching BatchingMode
	// Batch configures the model's batcher; zero fields take
	// batcher.DefaultOptions' values.
	Batch batcher.Options
	// Timeout is the deadline of a request that sets none itself
	// (X-Request-Timeout header, OIP parameters.timeout); 0 means none. A
	// request still queued at its deadline is answered 504 uncomputed.
	Timeout time.Duration
	// StoreDown says what the model's requests do when the online feature
	// store fails: FailClosed (503, the default) or FailOpen (defaults).
	StoreDown StoreDownPolicy
	// Quality is the model's live-quality settings for Options.Labels.
	Quality Quality
	// Contract says whether the model's requests are checked against the
	// data contract its version carries: ContractDefault (count when there
	// is one), ContractOff, ContractCount or ContractEnforce.
	Contract ContractMode
	// Rollout is the model's "rollout" block (rollout.go); nil: a new
	// version takes the traffic as the manager publishes it.
	Rollout *RolloutConfig
	// Shadow, when set, is the model's shadow (shadow.go); nil: none.
	Shadow *ShadowOptions
}

// DefaultOptions returns the defaults that serve well with no config file.
func DefaultOptions() Options {
	return Options{
		MaxBodyBytes:  8 << 20,
		MaxInstances:  10000,
		MaxConcurrent: 1024,
		ReadTimeout:   10 * time.Second,
		WriteTimeout:  10 * time.Second,
		IdleTimeout:   60 * time.Second,
		// MaxConnections: DefaultMaxConnections(), computed in New.
		MaxHeaderBytes: 8 << 10,
		IdleGrace:      time.Second,
		Version:        "dev",
	}
}

// DefaultMaxConnections is half the process's open-file limit, at most
// 10,000 and at least 64: well under the limit, so that model files, the
// feature store and the log keep descriptors to spare.
func DefaultMaxConnections() int {
	n := openFileLimit() / 2
	if n == 0 || n > 10000 {
		return 10000
	}
	return max(int(n), 64)
}

// Server is the HTTP front end. Create it with New, hand its Prepare and
// Retired methods to the model manager, attach the manager with SetModels,
// then Serve on one or more listeners and Shutdown once.
type Server struct {
	opts    Options
	limits  wire.Limits
	metrics *monitor.Registry
	models  Models
	http    *fasthttp.Server
	grpc    *grpc.Server // the KServe v2 gRPC API (grpc.go)

	// inflight counts the prediction requests being served, against
	// MaxConcurrent.
	inflight atomic.Int64
	// draining is set first thing in Shutdown: readiness answers false
	// from then on.
	draining atomic.Bool
	// versions holds the serving state of every prepared, not yet retired
	// version (*versionState keys), for /metrics.
	versions sync.Map
	adminMu  sync.Mutex // serializes admin calls
	conns    *connGuard
	lnMu     sync.Mutex
	lns      []net.Listener // what Serve was given, wrapped

	// live counts the prepared, not yet retired states of each model
	// version, whose request series stay until the last retires
	// (acquireSeries).
	liveMu sync.Mutex
	live   map[versionKey]int

	// plog: the prediction log's counts of retired versions.
	plog predlogState
	// labelCounts: label outcomes by model name (*labelCounts).
	labelCounts sync.Map
	// quality: the live versions' last quality reports.
	quality qualityCache
	// rollouts: the canary rollouts (rollout.go).
	rollouts rolloutSet
	// admins: the admin tokens, hashed; authFail: the audit of failed
	// authentications, rate-limited (admintoken.go).
	admins   []adminKey
	authFail authFailures

	// Rate-limited Logf for lines clients or outages repeat.
	logClientErr, logServerErr, logStoreDown, logFeatures func(string, ...any)
}

// fasthttpLogger adapts a Printf func to fasthttp.Logger.
type fasthttpLogger func(string, ...any)

func (f fasthttpLogger) Printf(format string, args ...any) { f("http: "+format, args...) }

// New validates opts and returns a server with no models attached.
func New(opts Options) (*Server, error) {
	d := DefaultOptions()
	switch {
	case opts.MaxBodyBytes < 0:
		return nil, fmt.Errorf("server: MaxBodyBytes %d is negative", opts.MaxBodyBytes)
	case opts.MaxInstances < 0:
		return nil, fmt.Errorf("server: MaxInstances %d is negative", opts.MaxInstances)
	case opts.MaxConcurrent < 0:
		return nil, fmt.Errorf("server: MaxConcurrent %d is negative", opts.MaxConcurrent)
	case opts.MaxConnections < 0:
		return nil, fmt.Errorf("server: MaxConnections %d is negative", opts.MaxConnections)
	case opts.MaxHeaderBytes < 0:
		return nil, fmt.Errorf("server: MaxHeaderBytes %d is negative", opts.MaxHeaderBytes)
	case opts.ReadTimeout < 0 || opts.WriteTimeout < 0 || opts.IdleTimeout < 0:
		return nil, fmt.Errorf("server: ReadTimeout, WriteTimeout and IdleTimeout must not be negative")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = d.MaxBodyBytes
	}
	if opts.MaxInstances == 0 {
		opts.MaxInstances = d.MaxInstances
	}
	if opts.MaxConcurrent == 0 {
		opts.MaxConcurrent = d.MaxConcurrent
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = DefaultMaxConnections()
	}
	if opts.MaxHeaderBytes == 0 {
		opts.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if opts.IdleGrace == 0 {
		opts.IdleGrace = d.IdleGrace
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = d.ReadTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = d.WriteTimeout
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = d.IdleTimeout
	}
	if opts.Version == "" {
		opts.Version = d.Version
	}
	if opts.QualityRecomputeEvery <= 0 {
		opts.QualityRecomputeEvery = 10 * time.Second
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	s := &Server{
		opts:    opts,
		limits:  wire.Limits{MaxInstances: opts.MaxInstances},
		metrics: opts.Metrics,
		live:    make(map[versionKey]int),
		plog:    predlogState{retired: map[string]predlog.Stats{}},
		// Lines a client or an outage can repeat are rate-limited, each
		// call site on its own.
		logClientErr: logx.Limit(opts.Logf, 5, 10*time.Second),
		logServerErr: logx.Limit(opts.Logf, 10, 10*time.Second),
		logStoreDown: logx.Limit(opts.Logf, 1, 10*time.Second),
		logFeatures:  logx.Limit(opts.Logf, 1, 10*time.Second),
	}
	s.rollouts.opts = opts.Rollout
	s.conns = newConnGuard(opts.MaxConnections, logx.Limit(opts.Logf, 1, 10*time.Second))
	if s.metrics == nil {
		s.metrics = monitor.NewRegistry()
	}
	if err := s.registerMetrics(); err != nil {
		return nil, fmt.Errorf("server: Options.Metrics: %w", err)
	}
	if err := s.initAdmin(); err != nil {
		return nil, err
	}
	s.http = &fasthttp.Server{
		Handler:            s.Handle,
		ErrorHandler:       s.handleTransportError,
		ConnState:          connState,
		Name:               "predictd",
		MaxRequestBodySize: opts.MaxBodyBytes,
		ReadBufferSize:     opts.MaxHeaderBytes,
		ReadTimeout:        opts.ReadTimeout,
		WriteTimeout:       opts.WriteTimeout,
		IdleTimeout:        opts.IdleTimeout,
		CloseOnShutdown:    true,
		// fasthttp's own messages would quote the request (headers,
		// credentials included) into the response and the log.
		SecureErrorLogMessage: true,
		Logger:                fasthttpLogger(logx.Limit(opts.Logf, 5, 10*time.Second)),
		NoDefaultServerHeader: true,
	}
	s.newGRPC()
	return s, nil
}

// versionState is what the server keeps beside each loaded model version
// (what Models.Acquire returns as prepared): the predictor, the request
// schema, precomputed metadata and the version's metric series, so the hot
// path does no lookups.
type versionState struct {
	name    string
	version int
	model   model.Predictor
	schema  *wire.Schema
	outputs int
	series  [numAPIs]*monitor.Series
	// v1Meta and v2Meta are the metadata responses, built once; grpcMeta
	// is v2Meta as the gRPC API's message (read-only once built).
	v1Meta, v2Meta []byte
	grpcMeta       *kservepb.ModelMetadataResponse
	// batcher is nil when batching is off. A request of bigger than
	// bigRows rows is a batch already and is computed on its own goroutine.
	batcher *batcher.Batcher
	bigRows int
	timeout time.Duration
	// batchHist is the batcher's histograms; nil without a batcher.
	batchHist *monitor.BatcherHistograms
	// join counts the feature reads of a model with a join plan
	// (schema.Join()); storeDown is its policy when the store fails.
	join      *monitor.JoinStats
	storeDown StoreDownPolicy
	// mon is the version's model monitor (nil when monitoring is off; its
	// methods take a nil receiver).
	mon *watch.Version
	// contract is the version's data contract and its counters; nil when
	// it has none or the model's contract mode is off.
	contract *contractState
	// transform, for a version trained by predictd, turns a request's raw
	// inputs (schema's features) into the columns model takes
	// (model.TransformRow); nil otherwise. takesMissing: the model routes
	// NaN (trees); columns is the number of model columns.
	transform    *transform.Pipeline
	takesMissing bool
	columns      int
	// plog logs the version's predictions; nil when the server has no
	// prediction log.
	plog *predlog.Model
	// labels is the version's labels bookkeeping; nil when the server
	// records no labels for it.
	labels *labelState
	// shadowSig is what a shadow of this version must share with it;
	// shadow is its shadow, nil for none (shadow.go).
	shadowSig *shadowSig
	shadow    *shadowState
}

// Prepare builds a version's serving state; pass it as the model manager's
// Options.Prepare.
func (s *Server) Prepare(l *model.Loaded) (any, error) {
	m := l.Manifest
	vs := &versionState{
		name:         m.Name,
		version:      m.Version,
		model:        l.Model,
		schema:       wire.NewSchema(m),
		outputs:      l.Model.NumOutputs(),
		transform:    l.Transform,
		takesMissing: m.Kind == model.KindTrees,
		columns:      len(m.Columns()),
	}
	if vs.outputs != len(m.Outputs) {
		return nil, fmt.Errorf("model %s version %d: the payload predicts %d outputs, the manifest names %d", m.Name, m.Version, vs.outputs, len(m.Outputs))
	}
	if (m.Transform != nil) != (l.Transform != nil) {
		return nil, fmt.Errorf("BUG: model %s version %d: manifest transform %v, loaded pipeline %v", m.Name, m.Version, m.Transform != nil, l.Transform != nil)
	}
	var err error
	mo, ok := s.opts.Models[m.Name]
	if !ok {
		mo = s.opts.DefaultModel
	}
	vs.timeout = mo.Timeout
	if vs.contract, err = s.prepareContract(l, mo.Contract); err != nil {
		return nil, err
	}
	if len(m.FeatureViews) > 0 {
		if s.opts.Features == nil {
			return nil, fmt.Errorf("model %s version %d reads online features (feature_views %s): start predictd serve with --features defs.yaml", m.Name, m.Version, strings.Join(m.FeatureViews, ", "))
		}
		if vs.schema, err = wire.NewJoinSchema(m, s.opts.Features.Defs); err != nil {
			return nil, fmt.Errorf("model %s version %d: %w", m.Name, m.Version, err)
		}
		vs.join, vs.storeDown = monitor.NewJoinStats(), mo.StoreDown
	}
	vs.schema = vs.schema.WithLabel(wire.ClassLabel(m.Task, vs.outputs, model.LinkOf(l.Model)))
	if len(m.ClassLabels) > 0 {
		if vs.schema.Label() == wire.NoLabel {
			// model.OpenDir refuses such a manifest (HasClassLabel).
			return nil, fmt.Errorf("BUG: model %s version %d: class_labels for a model without a class label", m.Name, m.Version)
		}
		vs.schema = vs.schema.WithClassNames(m.ClassLabels)
	}
	if vs.v1Meta, err = v1Metadata(m, vs.schema); err != nil {
		return nil, err
	}
	if vs.v2Meta, err = v2Metadata(m, vs.outputs, vs.schema); err != nil {
		return nil, err
	}
	if vs.grpcMeta, err = grpcMetadata(vs.v2Meta); err != nil {
		return nil, err
	}
	vs.bigRows = mo.Batch.MaxBatchRows
	if vs.bigRows == 0 {
		vs.bigRows = batcher.DefaultOptions().MaxBatchRows
	}
	use := false
	switch {
	case s.opts.DisableBatching || mo.Batching == BatchingNever:
	case mo.Batching == BatchingAlways:
		use = true
	default:
		c := calibrate(l.Model, vs.bigRows)
		use = c.pays()
		verdict := "off: it would not pay"
		if use {
			verdict = "on"
		}
		s.opts.Logf("model %s version %d: batching %s (one row %s, %s a row in a batch of %d)", m.Name, m.Version, verdict, c.Single, c.PerRowInBatch, c.Batch)
	}
	if err := s.preparePredLog(vs, m); err != nil {
		return nil, fmt.Errorf("model %s version %d: prediction log: %w", m.Name, m.Version, err)
	}
	if err := s.prepareLabels(vs, m, mo.Quality); err != nil {
		s.retirePredLog(vs)
		return nil, fmt.Errorf("model %s version %d: %w", m.Name, m.Version, err)
	}
	// The offline evaluation is the quality alerts' baseline; one that
	// cannot be read leaves the version without one, not unserved.
	if err := s.setBaseline(vs, m); err != nil {
		s.opts.Logf("model %s version %d: quality baseline: %v", m.Name, m.Version, err)
	}
	if s.opts.Monitor != nil {
		vs.mon = s.opts.Monitor.Attach(l)
	}
	if use {
		bo := mo.Batch
		vs.batchHist = monitor.NewBatcherHistograms(vs.bigRows)
		bo.Observer = vs.batchHist
		// The batcher's workers predict outside any request's span: their
		// own spans count that work to the version's cost.
		var p model.Predictor = l.Model
		if meter := vs.mon.Meter(); meter != nil {
			p = meteredPredictor{Predictor: l.Model, meter: meter}
		}
		if vs.batcher, err = batcher.New(p, bo); err != nil {
			if vs.mon != nil {
				s.opts.Monitor.Detach(vs.mon)
			}
			s.retirePredLog(vs)
			return nil, fmt.Errorf("model %s: batching: %w", m.Name, err)
		}
	}
	// Last, past every error: Retired, which releases them, runs only for
	// a version Prepare returned.
	s.prepareShadow(vs, m, mo.Shadow)
	vs.series = s.acquireSeries(m.Name, m.Version)
	s.versions.Store(vs, struct{}{})
	return vs, nil
}

// Retired is the model manager's Options.Retired: it stops the version's
// batcher (its queue is empty: no handle is left) and removes the
// version's series from /metrics, the request series with the batcher's and
// the join's: a daemon that reloads all day must not grow its metrics (or
// its heap) by every version it ever served. Prometheus marks the removed
// series stale at the next scrape.
func (s *Server) Retired(_ *model.Loaded, attached any) {
	vs := attached.(*versionState)
	s.versions.Delete(vs)
	s.releaseSeries(vs.name, vs.version)
	if vs.mon != nil {
		s.opts.Monitor.Detach(vs.mon)
	}
	if vs.batcher != nil {
		vs.batcher.Close()
	}
	s.retirePredLog(vs)
	s.forgetQuality(vs)
	s.retireShadow(vs)
}

// SetModels attaches the model manager. Call it once, before Serve; the
// manager may still be loading (Ready says so).
func (s *Server) SetModels(m Models) {
	s.models = m
	s.startRollouts()
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if s.models == nil {
		panic("BUG: server.Serve before SetModels")
	}
	gl := guardListener{Listener: ln, g: s.conns}
	s.lnMu.Lock()
	s.lns = append(s.lns, gl)
	s.lnMu.Unlock()
	return s.http.Serve(gl)
}

// Ready reports whether the server should take traffic: not draining, and
// every configured model has a loaded version.
func (s *Server) Ready() bool {
	return !s.draining.Load() && s.models != nil && s.models.Ready() && s.rollouts.ready.Load()
}

// StopReady turns readiness false (for /readyz and /v2/health/ready) while
// everything else keeps serving: a load balancer stops sending new traffic
// before Shutdown closes the listeners.
func (s *Server) StopReady() { s.draining.Store(true) }

// Shutdown drains: readiness turns false at once and the listeners close;
// for up to IdleGrace, keep-alive connections may send one more request
// (answered with Connection: close); then idle connections close and
// requests in flight finish. The gRPC API drains beside it: its listeners
// close and clients are told to go (GOAWAY) at once, calls in flight
// finish, and those still running at ctx's deadline are cancelled. It
// returns ctx's error if requests have not finished by ctx's deadline.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.stopRollouts()
	grpcDone := make(chan error, 1)
	go func() { grpcDone <- s.stopGRPC(ctx) }()
	err := s.shutdownHTTP(ctx)
	if gerr := <-grpcDone; err == nil {
		err = gerr
	}
	return err
}

// shutdownHTTP is Shutdown's HTTP part.
func (s *Server) shutdownHTTP(ctx context.Context) error {
	if s.opts.IdleGrace > 0 {
		s.lnMu.Lock()
		for _, ln := range s.lns {
			ln.Close()
		}
		s.lnMu.Unlock()
		grace := time.NewTimer(s.opts.IdleGrace)
		tick := time.NewTicker(10 * time.Millisecond)
	wait:
		for s.conns.open.Load() > 0 {
			select {
			case <-ctx.Done():
				break wait
			case <-grace.C:
				break wait
			case <-tick.C:
			}
		}
		grace.Stop()
		tick.Stop()
	}
	err := s.http.ShutdownWithContext(ctx)
	if errors.Is(err, net.ErrClosed) {
		err = nil // the listeners closed above
	}
	return err
}

// Handle is the fasthttp handler: it routes by path.
func (s *Server) Handle(ctx *fasthttp.RequestCtx) {
	if s.draining.Load() {
		// Move keep-alive clients off this server before the listeners
		// close: a connection closed while idle races with the client's
		// next request on it.
		ctx.SetConnectionClose()
	}
	p := ctx.Path()
	switch {
	case bytes.HasPrefix(p, []byte("/v1/models/")):
		t, ok := parseModelPath(p[len("/v1/models/"):], APITFServing, false)
		if !ok {
			s.notFound(ctx)
			return
		}
		s.handleModel(ctx, APITFServing, t)
	case bytes.HasPrefix(p, []byte("/v2/models/")):
		t, ok := parseModelPath(p[len("/v2/models/"):], APIOIP, false)
		if !ok {
			s.notFound(ctx)
			return
		}
		s.handleModel(ctx, APIOIP, t)
	case bytes.HasPrefix(p, []byte("/v1/admin/")):
		s.handleAdmin(ctx, p[len("/v1/admin/"):])
	case bytes.HasPrefix(p, []byte("/v1/features/")):
		s.handleFeatures(ctx, p[len("/v1/features/"):])
	default:
		s.handleFixed(ctx, string(p))
	}
}

func (s *Server) handleFixed(ctx *fasthttp.RequestCtx, path string) {
	switch path {
	case "/healthz", "/v2/health/live":
		if !s.allow(ctx, fasthttp.MethodGet) {
			return
		}
		ctx.SetStatusCode(fasthttp.StatusOK)
		if path == "/healthz" {
			ctx.SetBodyString("ok\n")
		}
	case "/readyz", "/v2/health/ready":
		if !s.allow(ctx, fasthttp.MethodGet) {
			return
		}
		if s.Ready() {
			ctx.SetStatusCode(fasthttp.StatusOK)
			if path == "/readyz" {
				ctx.SetBodyString("ready\n")
			}
			return
		}
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		var why string
		switch {
		case s.draining.Load():
			why = "draining\n"
		case s.models == nil:
			why = "not ready: starting\n"
		case s.models.Ready() && !s.rollouts.ready.Load():
			why = "not ready: reading the rollout state from the state store\n"
		default:
			why = s.notReady()
		}
		if path == "/readyz" {
			ctx.SetBodyString(why)
			return
		}
		// OIP's server readiness: the same words, as the protocol's
		// error body.
		ctx.SetContentType("application/json")
		ctx.SetBody(wire.AppendError(nil, strings.TrimSuffix(why, "\n")))
	case "/v1/models":
		s.listModels(ctx, APITFServing)
	case "/v2/models":
		s.listModels(ctx, APIOIP)
	case "/v2/repository/index":
		s.repositoryIndexHandler(ctx)
	case "/v2":
		if !s.allow(ctx, fasthttp.MethodGet) {
			return
		}
		b, _ := json.Marshal(map[string]any{"name": "predictd", "version": s.opts.Version, "extensions": []string{"binary_tensor_data"}})
		s.writeJSON(ctx, fasthttp.StatusOK, b)
	case "/metrics":
		if !s.allow(ctx, fasthttp.MethodGet) {
			return
		}
		s.serveMetrics(ctx)
	default:
		s.notFound(ctx)
	}
}

// handleModel serves every path under /v1/models/ and /v2/models/.
func (s *Server) handleModel(ctx *fasthttp.RequestCtx, api API, t target) {
	switch t.verb {
	case verbPredict, verbInfer:
		if !s.allow(ctx, fasthttp.MethodPost) {
			return
		}
		s.predict(ctx, api, t)
		return
	case verbFeedback:
		if !s.allow(ctx, fasthttp.MethodPost) {
			return
		}
		s.handleFeedback(ctx, t)
		return
	}
	if !s.allow(ctx, fasthttp.MethodGet) {
		return
	}
	switch t.verb {
	case verbStatus:
		s.status(ctx, t)
	case verbMonitor:
		s.monitorReport(ctx, t)
	case verbMetadata, verbReady:
		prepared, rel, err := s.models.Acquire(bstr(t.name), t.version, bstr(t.label))
		if err != nil {
			s.writeError(ctx, err)
			return
		}
		vs := prepared.(*versionState)
		switch {
		case t.verb == verbReady:
			ctx.SetStatusCode(fasthttp.StatusOK)
		case api == APIOIP:
			s.writeJSON(ctx, fasthttp.StatusOK, vs.v2Meta)
		default:
			s.writeJSON(ctx, fasthttp.StatusOK, vs.v1Meta)
		}
		rel.Release()
	}
}

// transformRows turns c's decoded raw rows (after the join and the
// contract check) into the version's model columns, in c.x, through
// model.TransformRow: the one function batch scoring and training build
// a version's rows with. A row the transform refuses (a missing value a
// dense model cannot take, an unknown category under unknown: error) is a
// 400 naming the instance and column. It does not allocate once c's
// scratch has grown to the request's size, unless it refuses.
func transformRows(vs *versionState, c *exchange) ([]float64, error) {
	r := &c.Request
	c.x = slices.Grow(c.x[:0], r.N*vs.columns)
	for i := range r.N {
		c.raw = r.RawRow(c.raw, vs.schema, i)
		var err error
		if c.x, err = model.TransformRow(c.x, vs.transform, vs.takesMissing, c.raw); err != nil {
			return nil, Errorf(fasthttp.StatusBadRequest, "instance %d: %v (model %s version %d)", i, err, vs.name, vs.version)
		}
	}
	return c.x, nil
}

// observeRequest tells the monitor (its SLO tracker) about a prediction
// request of model answered with code after took (negative: the client
// left unanswered).
func (s *Server) observeRequest(model string, took time.Duration, code int) {
	if s.opts.Monitor != nil {
		s.opts.Monitor.Request(model, took, code)
	}
}

// meteredPredictor times a batcher worker's Predict calls as spans of the
// version's cost meter.
type meteredPredictor struct {
	model.Predictor
	meter *cost.Meter
}

func (p meteredPredictor) Predict(dst, rows []float64, raw bool) []float64 {
	span := p.meter.Start()
	dst = p.Predictor.Predict(dst, rows, raw)
	span.End(0)
	return dst
}

// statusClientGone is what the metrics count for a request whose client
// left while it was queued (nginx's 499); no response is written.
const statusClientGone = 499

// compute predicts rows (c's r.N instances, as the model takes them) into
// c.Preds through the version's batcher, or directly when batching is off,
// unless the request's deadline has passed. The batcher's gone probe is
// c.gone: the transport set what it watches (c.conn, c.ctx) when it
// decoded the request.
func (s *Server) compute(vs *versionState, c *exchange, rows []float64, deadline time.Time, timeout time.Duration) error {
	r := &c.Request
	var err error
	if vs.batcher == nil || r.N > vs.bigRows {
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			err = batcher.ErrDeadline
		} else {
			r.Preds = vs.model.Predict(r.Preds[:0], rows, false)
		}
	} else {
		r.Preds, err = vs.batcher.Submit(rows, r.N, r.Preds[:0], deadline, c.gone)
	}
	switch {
	case err == nil, errors.Is(err, batcher.ErrGone):
		return err
	case errors.Is(err, batcher.ErrDeadline):
		return errTimedOut(vs, c, timeout, "it was computed")
	}
	return fmt.Errorf("model %s version %d: %w", vs.name, vs.version, err)
}

// errTimedOut is the 504 of c's request, whose deadline passed before
// what ("it was computed", "its online features were read"). It names
// where a timeout comes from for the request's transport: for HTTP the
// X-Request-Timeout header, for gRPC (c.ctx set) the call's deadline.
func errTimedOut(vs *versionState, c *exchange, timeout time.Duration, what string) error {
	from := "X-Request-Timeout, OIP parameters.timeout, or the model's timeout setting"
	if c.ctx != nil {
		from = "the gRPC call's deadline, OIP parameters.timeout, or the model's timeout setting"
	}
	return Errorf(fasthttp.StatusGatewayTimeout, "model %s version %d: the request's timeout of %s passed before %s (%s)", vs.name, vs.version, timeout, what, from)
}

// requestTimeout is the request's own timeout (the X-Request-Timeout
// header, a Go duration such as "250ms" or a number of milliseconds; or
// OIP's parameters.timeout in microseconds), else def.
func requestTimeout(ctx *fasthttp.RequestCtx, r *wire.Request, def time.Duration) (time.Duration, error) {
	if h := ctx.Request.Header.Peek("X-Request-Timeout"); len(h) > 0 {
		return parseTimeout(h)
	}
	if r.TimeoutMicros > 0 {
		return time.Duration(r.TimeoutMicros) * time.Microsecond, nil
	}
	return def, nil
}

// parseTimeout reads a positive duration: "250ms", "1.5s", or a bare
// number of milliseconds ("250").
func parseTimeout(b []byte) (time.Duration, error) {
	if ms, ok := parseVersion(b); ok {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(string(b))
	if err != nil || d <= 0 {
		return 0, Errorf(fasthttp.StatusBadRequest, "header X-Request-Timeout %q: want a positive duration such as 250ms or a number of milliseconds", b)
	}
	return d, nil
}

// monitorReport answers GET /v1/models/{name}/monitor: the model's drift
// windows, costs and SLOs (monitor/watch.Monitor.Report).
func (s *Server) monitorReport(ctx *fasthttp.RequestCtx, t target) {
	if t.version != 0 || t.label != nil {
		s.writeError(ctx, Errorf(fasthttp.StatusBadRequest, "GET /v1/models/%s/monitor reports every served version of the model; drop the version or label from the path", t.name))
		return
	}
	if s.opts.Monitor == nil && s.opts.Labels == nil {
		s.writeError(ctx, Errorf(fasthttp.StatusNotFound, "model monitoring is off in this server"))
		return
	}
	var body []byte
	var err error
	if s.opts.Monitor != nil {
		body, err = s.opts.Monitor.Report(bstr(t.name))
	}
	if s.opts.Labels != nil && (err == nil || errors.Is(err, watch.ErrUnknownModel)) {
		var ok bool
		var qerr error
		if body, ok, qerr = s.addQuality(string(t.name), body); qerr != nil {
			err = qerr
		} else if ok {
			err = nil
		} else if err == nil {
			err = fmt.Errorf("model %q: %w", t.name, watch.ErrUnknownModel)
		}
	}
	if err == nil || errors.Is(err, watch.ErrUnknownModel) {
		// The model's shadows, beside (shadow.go).
		if b, ok, serr := s.addShadow(string(t.name), body); serr != nil {
			err = serr
		} else if ok {
			body, err = b, nil
		}
	}
	switch {
	case errors.Is(err, watch.ErrUnknownModel):
		s.writeError(ctx, Errorf(fasthttp.StatusNotFound, "%v", err))
	case err != nil:
		s.writeError(ctx, err)
	default:
		s.writeJSON(ctx, fasthttp.StatusOK, s.addRollout(string(t.name), body))
	}
}

// status answers TF Serving's GetModelStatus for a model, one version or
// the version a label points at.
func (s *Server) status(ctx *fasthttp.RequestCtx, t target) {
	st, err := s.models.Status(bstr(t.name))
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	want := t.version
	if t.label != nil {
		v, ok := st.Labels[string(t.label)]
		if !ok {
			s.writeError(ctx, fmt.Errorf("label %q of model %q is not set: %w", t.label, t.name, ErrModelNotFound))
			return
		}
		want = v
	}
	type versionStatus struct {
		Version string    `json:"version"`
		State   string    `json:"state"`
		Status  errStatus `json:"status"`
	}
	out := struct {
		Versions []versionStatus `json:"model_version_status"`
		Rollout  json.RawMessage `json:"rollout,omitempty"` // rollout.go
	}{Versions: []versionStatus{}, Rollout: s.rolloutJSON(bstr(t.name))}
	for _, v := range st.Versions {
		if want != 0 && v.Version != want {
			continue
		}
		out.Versions = append(out.Versions, versionStatus{Version: strconv.Itoa(v.Version), State: v.State, Status: versionErrStatus(v.Error)})
	}
	if want != 0 && len(out.Versions) == 0 {
		s.writeError(ctx, fmt.Errorf("model %q has no version %d: %w", t.name, want, ErrModelNotFound))
		return
	}
	b, _ := json.Marshal(out)
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}

// handleAdmin serves /v1/admin/...: reload, set a label, load and unload a
// version. Every call needs the bearer token.
func (s *Server) handleAdmin(ctx *fasthttp.RequestCtx, p []byte) {
	if !s.authAdmin(ctx) { // admintoken.go: 404 when off, 401 audited
		return
	}
	if string(p) == "audit/head" {
		s.auditHead(ctx)
		return
	}
	if !s.allow(ctx, fasthttp.MethodPost) {
		return
	}
	s.adminMu.Lock()
	defer s.adminMu.Unlock()
	if string(p) == "reload" {
		if err := s.audit(actorOf(ctx), audit.ActionConfigReload, "", nil, "admin API: reload"); err != nil {
			s.writeError(ctx, err)
			return
		}
		if err := s.models.Reload(); err != nil {
			s.writeError(ctx, err)
			return
		}
		s.opts.Logf("admin: reload")
		s.writeJSON(ctx, fasthttp.StatusOK, []byte(`{"reloaded":true}`))
		return
	}
	rest, ok := bytes.CutPrefix(p, []byte("models/"))
	if !ok {
		s.notFound(ctx)
		return
	}
	if s.handleRolloutAdmin(ctx, rest) {
		return
	}
	t, ok := parseModelPath(rest, APITFServing, true)
	if !ok {
		s.notFound(ctx)
		return
	}
	name := string(t.name)
	var err error
	switch t.verb {
	case verbLoad:
		if err = s.auditAdmin(ctx, t, name, 0); err == nil {
			err = s.models.LoadVersion(name, t.version)
		}
	case verbUnload:
		if err = s.auditAdmin(ctx, t, name, 0); err == nil {
			err = s.models.UnloadVersion(name, t.version)
		}
	case verbLabel:
		var body struct {
			Version *int `json:"version"`
		}
		dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
		dec.DisallowUnknownFields()
		if derr := dec.Decode(&body); derr != nil || body.Version == nil {
			s.writeError(ctx, Errorf(fasthttp.StatusBadRequest, `setting a label needs the body {"version": N}`))
			return
		}
		if err = s.auditAdmin(ctx, t, name, *body.Version); err == nil {
			err = s.models.SetLabel(name, string(t.label), *body.Version)
		}
	case verbRollback:
		s.rollback(ctx, name)
		return
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.opts.Logf("admin: %q model %q version %d label %q: done", ctx.Path(), name, t.version, t.label)
	st, err := s.models.Status(name)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	b, _ := json.Marshal(st)
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}

// rollback answers POST /v1/admin/models/{name}/rollback: the model's
// status plus the versions "stable" moved from and to. Models that cannot
// roll back (no Rollback method) answer 404.
func (s *Server) rollback(ctx *fasthttp.RequestCtx, name string) {
	rb, ok := s.models.(interface {
		Rollback(name string) (from, to int, err error)
	})
	if !ok {
		s.notFound(ctx)
		return
	}
	if err := s.auditRollback(ctx, name); err != nil {
		s.writeError(ctx, err)
		return
	}
	from, to, err := rb.Rollback(name)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.opts.Logf("admin: rollback model %q: stable v%d -> v%d", name, from, to)
	st, err := s.models.Status(name)
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	b, _ := json.Marshal(struct {
		ModelStatus
		From int `json:"from"`
		To   int `json:"to"`
	}{st, from, to})
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}

func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, code int, body []byte) {
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

func (s *Server) notFound(ctx *fasthttp.RequestCtx) {
	s.writeError(ctx, Errorf(fasthttp.StatusNotFound, "no such endpoint: %s %s (see docs/api.md)", ctx.Method(), ctx.Path()))
}

// allow answers 405 unless the request's method is method.
func (s *Server) allow(ctx *fasthttp.RequestCtx, method string) bool {
	if string(ctx.Method()) == method {
		return true
	}
	ctx.Response.Header.Set(fasthttp.HeaderAllow, method)
	s.writeError(ctx, Errorf(fasthttp.StatusMethodNotAllowed, "%s %s: use %s", ctx.Method(), ctx.Path(), method))
	return false
}

// handleTransportError answers what fasthttp refused before the handler
// ran: a body over MaxBodyBytes (413), headers over MaxHeaderBytes (431), a
// read timeout (408), a malformed request (400). The answer never quotes
// the request: it may carry credentials.
func (s *Server) handleTransportError(ctx *fasthttp.RequestCtx, err error) {
	var (
		se    *StatusError
		small *fasthttp.ErrSmallBuffer
		ne    net.Error
	)
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.metrics.BodyTooLarge.Add(1)
		se = Errorf(fasthttp.StatusRequestEntityTooLarge, "request body is larger than %d bytes (max_body_bytes)", s.opts.MaxBodyBytes)
	case errors.As(err, &small):
		se = Errorf(fasthttp.StatusRequestHeaderFieldsTooLarge, "request line and headers are larger than %d bytes (max_header_bytes)", s.opts.MaxHeaderBytes)
	case errors.As(err, &ne) && ne.Timeout():
		se = Errorf(fasthttp.StatusRequestTimeout, "request not read within %s (read_timeout)", s.opts.ReadTimeout)
	default:
		se = Errorf(fasthttp.StatusBadRequest, "malformed HTTP request: %s", transportReason(err))
	}
	s.metrics.Malformed.Add(1)
	s.logClientErr("client %s: %d %s", ctx.RemoteAddr(), se.Status, se.Msg)
	ctx.SetConnectionClose()
	lingerOnClose(ctx.Conn())
	s.writeError(ctx, se)
}

// transportReason is fasthttp's reason for refusing a request, cut before
// anything it quotes of the request and at 200 bytes, with control bytes
// escaped. fasthttp runs with SecureErrorLogMessage, so it should quote
// nothing; this is the second guard.
func transportReason(err error) string {
	msg := err.Error()
	for _, cut := range []string{"Buffer size=", "buf=", "contents:", "\r\n", "\r", "\n", "\x00", "\""} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i]
		}
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return strings.TrimRight(logx.Sanitize(msg), " :;,\"")
}

// headerInferenceLength is the HTTP header of the OIP binary tensor data
// extension: the length in bytes of the body's JSON part, the tensors'
// binary data following it.
const headerInferenceLength = "Inference-Header-Content-Length"

// decodeInfer decodes an OIP inference request into r: with the header
// Inference-Header-Content-Length, the binary tensor data extension
// (wire.DecodeInferBinary), else a JSON body (wire.DecodeInfer). A header
// that is not a non-negative integer is refused with 400.
func decodeInfer(ctx *fasthttp.RequestCtx, r *wire.Request, s *wire.Schema, lim wire.Limits) error {
	hl := ctx.Request.Header.Peek(headerInferenceLength)
	if hl == nil {
		return r.DecodeInfer(ctx.PostBody(), s, lim)
	}
	n, err := fasthttp.ParseUint(hl)
	if err != nil {
		return Errorf(fasthttp.StatusBadRequest, "header %s: %q is not a length in bytes (a non-negative integer)", headerInferenceLength, hl)
	}
	return r.DecodeInferBinary(ctx.PostBody(), n, s, lim)
}
