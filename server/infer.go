package server

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/batcher"
	"github.com/predictd/predictd/rollout/canary"
	"github.com/predictd/predictd/wire"
)

// front is the transport a prediction request came on, as infer, the
// transport-neutral hot path, needs it: HTTP (httpCall) or gRPC
// (grpcCall). A front lives in the request's exchange, so that passing it
// as an interface does not allocate.
type front interface {
	// decode decodes the request into c.Request against vs.schema and
	// points c's gone probe at the client (c.conn or c.ctx).
	decode(c *exchange, vs *versionState, lim wire.Limits) error
	// timeout is the request's own timeout, if it set one (an HTTP
	// header, a gRPC deadline, OIP parameters.timeout), else def; start is
	// when the request arrived.
	timeout(r *wire.Request, def time.Duration, start time.Time) (time.Duration, error)
	// reply writes the response to c's request, computed by vs.
	reply(c *exchange, vs *versionState)
	// fail writes the answer to err and returns the HTTP status it
	// stands for (statusOf), which the metrics count whatever the
	// transport.
	fail(err error) int
	// left is told that the client went away before its answer: nothing
	// is written.
	left()
	// headerID puts the id the request's headers carry (HTTP's
	// X-Request-Id) in c.id, validated; none: c.id stays empty.
	headerID(c *exchange) error
	// bodyID is the id the decoded request's body carries (OIP's "id";
	// empty when none) and the field it came from, for errors.
	bodyID(c *exchange) ([]byte, string)
	// setID tells the transport the request's id before its answer (an
	// HTTP response header).
	setID(id []byte)
}

// fail answers err with the request's id (generated if not yet known).
func (c *exchange) fail(f front, err error) int {
	c.ensureID(f)
	return f.fail(err)
}

// infer serves one prediction request, whichever its transport: the
// max_concurrent limit, the model version (name, version, label), decode,
// deadline, online feature join, data contract, transforms, compute
// through the batcher, the response, and the request's metrics, cost span
// and monitor observation. name and label may alias the request's
// buffers. c is the request's exchange, f its transport; the caller
// returns c to the pool after infer returns.
func (s *Server) infer(f front, c *exchange, api API, name string, version int, label string) {
	start := time.Now()
	m := s.metrics
	if err := f.headerID(c); err != nil {
		code := c.fail(f, err)
		m.Series("", 0, api.String()).Count(code)
		return
	}
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	if n > int64(s.opts.MaxConcurrent) {
		m.Shed.Add(1)
		c.fail(f, retryErrorf(fasthttp.StatusServiceUnavailable, "server busy: %d prediction requests in flight, the limit is %d (max_concurrent); retry", n-1, s.opts.MaxConcurrent))
		m.Series("", 0, api.String()).Count(fasthttp.StatusServiceUnavailable)
		s.observeRequest(name, time.Since(start), fasthttp.StatusServiceUnavailable)
		return
	}
	// While a rollout of the model runs, a request that names no version
	// and no label goes to the side the split gives it (rollout.go).
	var ro *rolloutRun
	side := canary.Stable
	if version == 0 && label == "" {
		if ro = s.rollouts.route(name); ro != nil {
			side, version = ro.pick(f, s.rollouts.seq.Add(1))
		}
	}
	prepared, rel, err := s.models.Acquire(name, version, label)
	if err != nil && side == canary.Candidate {
		// The candidate is gone: the stable version answers.
		ro.rec.Observe(canary.Candidate, time.Since(start), true, 0)
		prepared, rel, err = s.models.Acquire(name, ro.plan.Stable, "")
		ro, side = nil, canary.Stable
	}
	if err != nil {
		code := c.fail(f, err)
		m.Series("", 0, api.String()).Count(code)
		return
	}
	defer func() { rel.Release() }() // rel changes on a fallback
	vs := prepared.(*versionState)
	span := vs.mon.Meter().Start()
	r := &c.Request
	rows, err := s.attempt(f, c, vs, start)
	if err != nil && side == canary.Candidate && !errors.Is(err, batcher.ErrGone) {
		// No request fails because of the candidate: the stable version
		// answers it again. If it fails too, the request was bad for both
		// and the stable version's error is the answer; the candidate is
		// charged an error only when the stable version answered.
		span.End(0)
		vs2, rel2, rows2, err2 := s.rolloutFallback(f, c, ro, name)
		if err2 == nil {
			ro.rec.Observe(canary.Candidate, time.Since(start), true, 0)
			rel.Release()
			vs, rel, rows, err = vs2, rel2, rows2, nil
		} else {
			err = err2
		}
		ro, side = nil, canary.Stable
		span = vs.mon.Meter().Start()
	}
	ser := vs.series[api]
	if err != nil {
		span.End(0)
		if errors.Is(err, batcher.ErrGone) {
			// Nobody to answer: the client left.
			f.left()
			ser.Count(statusClientGone)
			s.observeRequest(vs.name, -1, statusClientGone)
			return
		}
		code := c.fail(f, err)
		ser.Count(code)
		took := time.Since(start)
		ser.Latency.Observe(took)
		s.observeRequest(vs.name, took, code)
		if ro != nil && code >= 500 {
			// The stable side's own failure (a client's bad request
			// counts on neither side).
			ro.rec.Observe(side, took, true, 0)
		}
		return
	}
	c.ensureID(f)
	f.reply(c, vs)
	span.End(r.N)
	ser.Instances.Add(uint64(r.N))
	ser.Count(fasthttp.StatusOK)
	now := time.Now()
	took := now.Sub(start)
	ser.Latency.Observe(took)
	s.observeRequest(vs.name, took, fasthttp.StatusOK)
	if ro != nil {
		ro.observe(side, took, false, c, vs.outputs)
	}
	// The rows as the model saw them (joined features included, and
	// transformed for a version with transforms: the reference profiles
	// the model's columns) and its predictions; bounded work that never
	// waits (monitor/live).
	vs.mon.Observe(now, rows, r.Preds, r.N)
	// The request's inputs (raw, for a version with transforms), each
	// instance a record; never waits (predlog.go).
	s.logPredictions(vs, c, took, now)
	// Every instance, for the labels' join; never waits (labels.go).
	s.recordLabels(vs, c, now)
	// Sampled requests, to the shadow's bounded queue; never waits
	// (shadow.go).
	s.offerShadow(vs, c, rows, now, took)
}

// attempt runs c's request on vs, from decode to compute: decode, the
// deadline (from start), the online feature join, the data contract, the
// transforms and the prediction; it returns the rows the model took. It
// may run twice for one request (a rollout's fallback to the stable
// version).
func (s *Server) attempt(f front, c *exchange, vs *versionState, start time.Time) ([]float64, error) {
	r := &c.Request
	err := f.decode(c, vs, s.limits)
	if err == nil {
		id, where := f.bodyID(c)
		err = c.bodyID(id, where)
	}
	var timeout time.Duration
	if err == nil {
		timeout, err = f.timeout(r, vs.timeout, start)
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	if err == nil && (r.Fetch || r.ReturnFeatures) {
		err = s.join(vs, c, deadline, timeout)
	}
	if err == nil && vs.contract != nil {
		err = s.checkContract(vs, c)
	}
	// rows are what the model takes: the request's rows, or for a version
	// with transforms their transformed columns.
	rows := r.Rows
	if err == nil && vs.transform != nil {
		rows, err = transformRows(vs, c)
	}
	if err == nil {
		err = s.compute(vs, c, rows, deadline, timeout)
	}
	return rows, err
}

// predict serves a TF Serving :predict or an OIP infer call over HTTP.
func (s *Server) predict(ctx *fasthttp.RequestCtx, api API, t target) {
	c := getExchange()
	c.http = httpCall{s: s, ctx: ctx, api: api}
	s.infer(&c.http, c, api, bstr(t.name), t.version, bstr(t.label))
	putExchange(c)
}

// httpCall is the HTTP front of a prediction request.
type httpCall struct {
	s   *Server
	ctx *fasthttp.RequestCtx
	api API
}

func (h *httpCall) decode(c *exchange, vs *versionState, lim wire.Limits) error {
	c.conn = h.ctx.Conn()
	if h.api == APIOIP {
		return decodeInfer(h.ctx, &c.Request, vs.schema, lim)
	}
	return c.Request.DecodePredict(h.ctx.PostBody(), vs.schema, lim)
}

func (h *httpCall) timeout(r *wire.Request, def time.Duration, _ time.Time) (time.Duration, error) {
	return requestTimeout(h.ctx, r, def)
}

func (h *httpCall) fail(err error) int { return h.s.writeError(h.ctx, err) }

func (h *httpCall) left() { h.ctx.SetConnectionClose() }

func (h *httpCall) headerID(c *exchange) error {
	id := h.ctx.Request.Header.Peek(headerRequestID)
	if err := checkID(id, headerRequestID+" header"); err != nil {
		return err
	}
	c.id = append(c.id[:0], id...)
	return nil
}

func (h *httpCall) bodyID(c *exchange) ([]byte, string) {
	if h.api != APIOIP {
		return nil, ""
	}
	return c.Request.ID, `request "id"`
}

func (h *httpCall) setID(id []byte) { h.ctx.Response.Header.SetBytesV(headerRequestID, id) }

func (h *httpCall) reply(c *exchange, vs *versionState) {
	ctx, r := h.ctx, &c.Request
	contentType := "application/json"
	if h.api == APIOIP {
		// The OIP response's "id" is the request's (its body's, its
		// header's or a generated one): a valid id is its own JSON
		// string's contents.
		r.ID = c.id
		var headerLen int
		r.Out, headerLen = wire.AppendInferBinary(r.Out[:0], vs.name, vs.version, r, vs.schema, r.Preds, vs.outputs, &c.join)
		if headerLen >= 0 {
			// Outputs as binary data: the JSON header's length, and
			// the body's type as Triton sets it.
			var num [20]byte
			ctx.Response.Header.SetBytesV(headerInferenceLength, strconv.AppendInt(num[:0], int64(headerLen), 10))
			contentType = "application/octet-stream"
		}
	} else {
		r.Out = wire.AppendPredict(r.Out[:0], r.Preds, r.N, vs.outputs, r.Columnar, vs.version)
		// predictd's extension: the prediction id beside model_version.
		r.Out = append(r.Out[:len(r.Out)-1], `,"id":"`...)
		r.Out = append(r.Out, c.id...)
		r.Out = append(r.Out, `"}`...)
		if r.ReturnLabels {
			r.Out = append(r.Out[:len(r.Out)-1], `,"labels":`...)
			r.Out = vs.schema.AppendLabels(r.Out, r.Preds, r.N, vs.outputs)
			r.Out = append(r.Out, '}')
		}
		if r.ReturnFeatures {
			r.Out = wire.AppendFeatures(r.Out[:len(r.Out)-1], vs.schema, r, &c.join)
			r.Out = append(r.Out, '}')
		}
	}
	ctx.SetContentType(contentType)
	ctx.SetBody(r.Out)
}
