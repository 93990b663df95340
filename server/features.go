package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/featcache"
)

// handleFeatures serves POST /v1/features/{view} (push rows) and
// GET /v1/features/{view}/{entity} (one entity's values, their age and
// status). p is the decoded path after /v1/features/.
//
// The entity segment is percent-decoded from the request's original path,
// not taken from p: fasthttp decodes %2F in p to '/', and then a key with a
// '/' could be written (push bodies are JSON) but never read back. So
// GET /v1/features/user_stats/a%2Fb reads key "a/b", and an unescaped '/'
// in the entity segment is a 404 as before.
func (s *Server) handleFeatures(ctx *fasthttp.RequestCtx, p []byte) {
	fs := s.opts.Features
	if fs == nil {
		s.writeError(ctx, Errorf(fasthttp.StatusNotFound, "feature serving is off: start predictd serve with --features defs.yaml"))
		return
	}
	if raw := ctx.URI().PathOriginal(); bytes.HasPrefix(raw, []byte("/v1/features/")) {
		p = raw[len("/v1/features/"):]
	}
	view, entity, hasEntity := bytes.Cut(p, []byte("/"))
	if len(view) == 0 || (hasEntity && (len(entity) == 0 || bytes.IndexByte(entity, '/') >= 0)) {
		s.notFound(ctx)
		return
	}
	viewName, err := url.PathUnescape(string(view))
	if err != nil {
		s.writeError(ctx, Errorf(fasthttp.StatusBadRequest, "view in the path: %v", err))
		return
	}
	var key string
	if hasEntity {
		if key, err = url.PathUnescape(string(entity)); err != nil {
			s.writeError(ctx, Errorf(fasthttp.StatusBadRequest, "entity in the path: %v (escape %%, / and other reserved bytes as %%XX: key a/b is a%%2Fb)", err))
			return
		}
	}
	// Not ctx as the context: a fasthttp.RequestCtx's Done is the server's
	// (nil outside a running server, where Err panics), not the request's.
	// The cache bounds a read by its StoreTimeout; a push runs to the end,
	// so that what the client is told matches what the store holds.
	var out any
	if hasEntity {
		if !s.allow(ctx, fasthttp.MethodGet) {
			return
		}
		out, err = fs.Get(context.Background(), viewName, key)
	} else {
		if !s.allow(ctx, fasthttp.MethodPost) {
			return
		}
		out, err = fs.Push(context.Background(), viewName, ctx.PostBody())
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
