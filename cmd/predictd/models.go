package main

import (
	"errors"

	"github.com/predictd/predictd/model/manager"
	"github.com/predictd/predictd/server"
)

// serverModels adapts the model manager to server.Models, which the server
// takes instead of importing the manager (Go has no covariant returns): a
// version is what srv.Prepare built for it, and the manager's sentinel
// errors are marked with the server's kinds.
type serverModels struct{ *manager.Manager }

func (m serverModels) Acquire(name string, version int, label string) (any, server.Releaser, error) {
	h, err := m.Manager.Acquire(name, version, label)
	if err != nil {
		return nil, nil, modelErr(err)
	}
	return h.Attached, h, nil
}

func (m serverModels) Status(name string) (server.ModelStatus, error) {
	st, err := m.Manager.Status(name)
	out := server.ModelStatus{Name: st.Name, Versions: make([]server.VersionStatus, len(st.Versions)), Labels: st.Labels, Error: st.Error}
	for i, v := range st.Versions {
		out.Versions[i] = server.VersionStatus{Version: v.Version, State: string(v.State), Error: v.Error}
	}
	return out, modelErr(err)
}

func (m serverModels) Reload() error { return modelErr(m.Manager.Reload()) }

func (m serverModels) LoadVersion(name string, v int) error {
	return modelErr(m.Manager.LoadVersion(name, v))
}

func (m serverModels) UnloadVersion(name string, v int) error {
	return modelErr(m.Manager.UnloadVersion(name, v))
}

func (m serverModels) SetLabel(name, label string, v int) error {
	return modelErr(m.Manager.SetLabel(name, label, v))
}

// Rollback is what the server's admin rollback endpoint calls.
func (m serverModels) Rollback(name string) (from, to int, err error) {
	from, to, err = m.Manager.Rollback(name)
	return from, to, modelErr(err)
}

// RollbackTarget is what the rollback endpoint records in the audit log
// before it calls Rollback.
func (m serverModels) RollbackTarget(name string) (from, to int, err error) {
	from, to, err = m.Manager.RollbackTarget(name)
	return from, to, modelErr(err)
}

// modelErr marks the manager's sentinel errors with the server's kinds.
func modelErr(err error) error {
	for _, k := range [...]struct{ m, s error }{
		{manager.ErrNotFound, server.ErrModelNotFound},
		{manager.ErrLastVersion, server.ErrModelConflict},
		{manager.ErrNoRollback, server.ErrModelConflict},
		{manager.ErrInvalid, server.ErrModelInvalid},
		{manager.ErrClosed, server.ErrModelsClosed},
		{manager.ErrLoading, server.ErrModelsLoading},
	} {
		if errors.Is(err, k.m) {
			return server.ModelError(err, k.s)
		}
	}
	return err
}
