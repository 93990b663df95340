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
// {"error": Msg}).
type StatusError struct {
	Status int    // HTTP status code, e.g. 400 or 413
	Msg    string // what is wrong and where, for the client
}

// Error returns Msg.
func (e *StatusError) Error() string { return e.Msg }

// Errorf formats a StatusError. It allocates: use it on failure paths only.
func Errorf(status int, format string, args ...any) *StatusError {
	return &StatusError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// writeError is the one place an error becomes a response: a *StatusError
// keeps its status; a request the decoders refuse (wire.ErrInvalid,
// wire.ErrTooLarge) or an entity key the feature store cannot hold
// (*featcache.InputError) is 400 or 413; the Models errors are as Models
// says (ErrModelNotFound is 404); anything else is the server's fault, 500.
// It returns the status written.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, err error) int {
	code := fasthttp.StatusInternalServerError
	var (
		se *StatusError
		ie *featcache.InputError
	)
	switch {
	case errors.As(err, &se):
		code = se.Status
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
		code = fasthttp.StatusServiceUnavailable
		ctx.Response.Header.Set("Retry-After", "1")
	case errors.Is(err, batcher.ErrQueueFull), errors.Is(err, batcher.ErrClosed):
		code = fasthttp.StatusServiceUnavailable
		ctx.Response.Header.Set("Retry-After", "1")
	case errors.Is(err, batcher.ErrDeadline):
		code = fasthttp.StatusGatewayTimeout
	default:
		s.logServerErr("error: %s %q: %v", ctx.Method(), ctx.Path(), err)
	}
	r := wire.GetRequest()
	r.Out = wire.AppendError(r.Out[:0], err.Error())
	s.writeJSON(ctx, code, r.Out)
	wire.PutRequest(r)
	return code
}
