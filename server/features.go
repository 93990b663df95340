package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/featcache"
)

// featurePushTimeout bounds one push's store write. Pushes carry many rows
// and a synced write, so it is longer than a prediction's store read
// (--feature-store-timeout).
const featurePushTimeout = 10 * time.Second

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
	// The cache bounds a read by its StoreTimeout; a push by
	// featurePushTimeout, so that a hung store cannot hold pushes (and
	// their goroutines) for as long as it hangs.
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
		pctx, cancel := context.WithTimeout(context.Background(), featurePushTimeout)
		out, err = fs.Push(pctx, viewName, ctx.PostBody())
		cancel()
	}
	if err != nil {
		var ie *featcache.InputError
		if errors.As(err, &ie) {
			err = Errorf(fasthttp.StatusBadRequest, "%s", ie.Msg)
		} else {
			// The store failed or timed out: the client's request was
			// fine, so 503 and a retry, not 500. A push that timed out
			// may or may not have been written; sending it again is safe
			// (a row never overwrites a newer one, and an equal one
			// changes nothing).
			ctx.Response.Header.Set("Retry-After", "1")
			err = Errorf(fasthttp.StatusServiceUnavailable, "online feature store unavailable: %v; retry (pushing the same rows again is safe)", err)
			s.logFeatures("features: %s %q: %v", ctx.Method(), ctx.Path(), err)
		}
		s.writeError(ctx, err)
		return
	}
	b, _ := json.Marshal(out)
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}
