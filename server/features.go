package server

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/featcache"
)

// handleFeatures serves POST /v1/features/{view} (push rows) and
// GET /v1/features/{view}/{entity} (one entity's values, their age and
// status).
func (s *Server) handleFeatures(ctx *fasthttp.RequestCtx, p []byte) {
	fs := s.opts.Features
	if fs == nil {
		s.writeError(ctx, Errorf(fasthttp.StatusNotFound, "feature serving is off: start predictd serve with --features defs.yaml"))
		return
	}
	view, entity, hasEntity := bytes.Cut(p, []byte("/"))
	if len(view) == 0 || (hasEntity && (len(entity) == 0 || bytes.IndexByte(entity, '/') >= 0)) {
		s.notFound(ctx)
		return
	}
	var (
		out any
		err error
	)
	if hasEntity {
		if !s.allow(ctx, fasthttp.MethodGet) {
			return
		}
		out, err = fs.Get(ctx, string(view), string(entity))
	} else {
		if !s.allow(ctx, fasthttp.MethodPost) {
			return
		}
		out, err = fs.Push(ctx, string(view), ctx.PostBody())
	}
	if err != nil {
		var ie *featcache.InputError
		if errors.As(err, &ie) {
			err = Errorf(fasthttp.StatusBadRequest, "%s", ie.Msg)
		}
		s.writeError(ctx, err)
		return
	}
	b, _ := json.Marshal(out)
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}
