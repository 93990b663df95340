package server

import "errors"

// Models is what the server needs of the model manager: a version to serve
// by name, version or label, the models' status, and the admin calls.
// cmd/predictd adapts model/manager's Manager to it; the server does not
// import the manager.
//
// Errors: one that wraps (errors.Is) ErrModelNotFound, ErrModelConflict,
// ErrModelInvalid, ErrModelsClosed or ErrModelsLoading is answered 404,
// 409, 400, 503, or 503 with Retry-After; its text goes to the client as
// it is. Any other error is the server's fault: 500. All methods are
// called from many goroutines at once.
type Models interface {
	// Acquire pins the version of model name that version and label select
	// (version 0 and label "": the latest) and returns what Server.Prepare
	// returned for it, with the Releaser to call exactly once when the
	// response is written. It must not allocate on success, nor keep name
	// or label, which alias the request's buffers.
	Acquire(name string, version int, label string) (prepared any, r Releaser, err error)
	// Ready reports whether every model has a version to serve; NotReady
	// says what is still missing, for the readiness probe's body.
	Ready() bool
	NotReady() string
	// Names lists the known models, sorted.
	Names() []string
	// Status reports a model's versions and labels; an unknown model is
	// an ErrModelNotFound.
	Status(name string) (ModelStatus, error)
	// The admin calls: rescan the repository; load or unload one version;
	// point a label at a version.
	Reload() error
	LoadVersion(name string, version int) error
	UnloadVersion(name string, version int) error
	SetLabel(name, label string, version int) error
}

// Releaser gives back a version taken by Models.Acquire.
type Releaser interface{ Release() }

// ModelStatus is a model's versions, newest first, and its labels. Its
// JSON is the admin API's answer.
type ModelStatus struct {
	Name     string          `json:"name"`
	Versions []VersionStatus `json:"versions"`
	Labels   map[string]int  `json:"labels,omitempty"`
	// Error says why the model has nothing to load.
	Error string `json:"error,omitempty"`
}

// VersionStatus is one version's lifecycle state, named as in TF Serving
// (START, LOADING, AVAILABLE, UNLOADING, END), and why it failed to load.
type VersionStatus struct {
	Version int    `json:"version"`
	State   string `json:"state"`
	Error   string `json:"error,omitempty"`
}

// The kinds of Models errors the server answers with a status of their
// own; see Models.
var (
	ErrModelNotFound = errors.New("not found")
	ErrModelConflict = errors.New("conflict")
	ErrModelInvalid  = errors.New("invalid argument")
	ErrModelsClosed  = errors.New("models are closed")
	ErrModelsLoading = errors.New("models are still loading")
)

// ModelError returns err, its text unchanged, marked as kind (one of the
// ErrModel sentinels) for errors.Is: how a Models implementation passes
// on errors of its own kinds.
func ModelError(err, kind error) error {
	if err == nil {
		return nil
	}
	return &modelError{err, kind}
}

type modelError struct{ err, kind error }

func (e *modelError) Error() string   { return e.err.Error() }
func (e *modelError) Unwrap() []error { return []error{e.err, e.kind} }
