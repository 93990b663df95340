package server

import (
	"errors"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/model/manager"
)

// managed is the tests' Models: the real model manager, adapted as
// cmd/predictd's serverModels adapts it, so that the handler tests run end
// to end through the manager's lifecycle, labels and refusals.
type managed struct{ *manager.Manager }

func (m managed) Acquire(name string, version int, label string) (any, Releaser, error) {
	h, err := m.Manager.Acquire(name, version, label)
	if err != nil {
		return nil, nil, managerErr(err)
	}
	return h.Attached, h, nil
}

func (m managed) Status(name string) (ModelStatus, error) {
	st, err := m.Manager.Status(name)
	out := ModelStatus{Name: st.Name, Versions: make([]VersionStatus, len(st.Versions)), Labels: st.Labels, Error: st.Error}
	for i, v := range st.Versions {
		out.Versions[i] = VersionStatus{Version: v.Version, State: string(v.State), Error: v.Error}
	}
	return out, managerErr(err)
}

func (m managed) Reload() error { return managerErr(m.Manager.Reload()) }

func (m managed) LoadVersion(name string, v int) error {
	return managerErr(m.Manager.LoadVersion(name, v))
}

func (m managed) UnloadVersion(name string, v int) error {
	return managerErr(m.Manager.UnloadVersion(name, v))
}

func (m managed) SetLabel(name, label string, v int) error {
	return managerErr(m.Manager.SetLabel(name, label, v))
}

func managerErr(err error) error {
	for _, k := range [...]struct{ m, s error }{
		{manager.ErrNotFound, ErrModelNotFound},
		{manager.ErrLastVersion, ErrModelConflict},
		{manager.ErrInvalid, ErrModelInvalid},
		{manager.ErrClosed, ErrModelsClosed},
		{manager.ErrLoading, ErrModelsLoading},
	} {
		if errors.Is(err, k.m) {
			return ModelError(err, k.s)
		}
	}
	return err
}

// TestModelErrorStatuses checks the status each kind of Models error is
// answered with, and that the client reads the error's own text.
func TestModelErrorStatuses(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kind       error
		code       int
		retryAfter string
	}{
		{ErrModelNotFound, 404, ""},
		{ErrModelConflict, 409, ""},
		{ErrModelInvalid, 400, ""},
		{ErrModelsClosed, 503, ""},
		{ErrModelsLoading, 503, "1"},
		{nil, 500, ""},
	} {
		err := errors.New(`model "m": what went wrong`)
		if c.kind != nil {
			err = ModelError(err, c.kind)
		}
		ctx := new(fasthttp.RequestCtx)
		code := s.writeError(ctx, err)
		if body := string(ctx.Response.Body()); code != c.code || body != `{"error":"model \"m\": what went wrong"}` || string(ctx.Response.Header.Peek("Retry-After")) != c.retryAfter {
			t.Errorf("writeError(%v) = %d %s (Retry-After %q), want %d and %q", c.kind, code, body, ctx.Response.Header.Peek("Retry-After"), c.code, c.retryAfter)
		}
	}
}
