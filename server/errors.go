package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/batcher"
	"github.com/predictd/predictd/featcache"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/wire"
)

// StatusError is the one error type that carries an HTTP status: the
// server's own refusals (limits, deadlines, routes). writeError maps it,
// and the other packages' errors, to the response in one place (status and
// {"error": Msg}); the gRPC API maps the same status to a gRPC code
// (grpcCode).
type StatusError struct {
	Status int    // HTTP status code, e.g. 400 or 413
	Msg    string // what is wrong and where, for the client
	// retry: the answer says Retry-After: 1 (a 503 that will pass).
	retry bool
}

// Error returns Msg.
func (e *StatusError) Error() string { return e.Msg }

// Errorf formats a StatusError. It allocates: use it on failure paths only.
func Errorf(status int, format string, args ...any) *StatusError {
	return &StatusError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// retryErrorf is Errorf for a refusal that will pass: the answer says
// Retry-After: 1.
func retryErrorf(status int, format string, args ...any) *StatusError {
	e := Errorf(status, format, args...)
	e.retry = true
	return e
}

// statusOf is the one place an error gets its status, for both APIs: a
// *StatusError keeps its status; a request the decoders refuse
// (wire.ErrInvalid, wire.ErrTooLarge) or an entity key the feature store
// cannot hold (*featcache.InputError) is 400 or 413; the Models errors are
// as Models says (ErrModelNotFound is 404); anything else is the server's
// fault, 500, and ours is true. retry says the answer carries Retry-After:
// 1 (over gRPC the status is Unavailable either way).
func statusOf(err error) (code int, retry, ours bool) {
	code = fasthttp.StatusInternalServerError
	var (
		se *StatusError
		ie *featcache.InputError
	)
	switch {
	case errors.As(err, &se):
		code, retry = se.Status, se.retry
	case errors.Is(err, wire.ErrTooLarge):
		code = fasthttp.StatusRequestEntityTooLarge
	case errors.Is(err, wire.ErrInvalid), errors.As(err, &ie):
		code = fasthttp.StatusBadRequest
	case errors.Is(err, ErrModelNotFound), errors.Is(err, model.ErrNotFound):
		code = fasthttp.StatusNotFound
	case errors.Is(err, ErrModelConflict):
		code = fasthttp.StatusConflict
	case errors.Is(err, ErrModelInvalid):
		code = fasthttp.StatusBadRequest
	case errors.Is(err, ErrModelsClosed), errors.Is(err, context.Canceled):
		// Closed, or a load cancelled by the daemon's shutdown.
		code = fasthttp.StatusServiceUnavailable
	case errors.Is(err, ErrModelsLoading):
		code, retry = fasthttp.StatusServiceUnavailable, true
	case errors.Is(err, batcher.ErrQueueFull), errors.Is(err, batcher.ErrClosed):
		code, retry = fasthttp.StatusServiceUnavailable, true
	case errors.Is(err, batcher.ErrDeadline):
		code = fasthttp.StatusGatewayTimeout
	default:
		ours = true
	}
	return code, retry, ours
}

// writeError is the one place an error becomes an HTTP response: the
// status statusOf gives it (with Retry-After: 1 where it says), and the
// body {"error": <its text>}. It returns the status written.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) int {
	code, retry, ours := statusOf(err)
	if retry {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	if ours {
		s.logServerErr("error: %s %q: %v", ctx.Method(), ctx.Path(), err)
	}
	r := wire.GetRequest()
	r.Out = wire.AppendError(r.Out[:0], err.Error())
	s.writeJSON(ctx, code, r.Out)
	wire.PutRequest(r)
	return code
}
