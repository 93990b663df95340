package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Discovery: what models the server knows and in what state, for clients
// (GET /v1/models, GET /v2/models, POST /v2/repository/index) and for the
// readiness probe's body. All of it is read from Models.Names and
// Models.Status; none of it is on the prediction path.

// indexEntry is one entry of the OIP repository index (Triton's model
// repository extension): a model version, or a model with no version at
// all (Version empty), its state in Triton's names and why.
type indexEntry struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	State   string `json:"state"`
	Reason  string `json:"reason"`
}

// tritonState names a version's lifecycle state (TF Serving's names, as
// Models reports them) as Triton's repository index does: AVAILABLE is
// READY; START and LOADING are LOADING; UNLOADING stays; END (failed or
// unloaded) is UNAVAILABLE.
func tritonState(tf string) string {
	switch tf {
	case "AVAILABLE":
		return "READY"
	case "START", "LOADING":
		return "LOADING"
	case "END":
		return "UNAVAILABLE"
	}
	return tf
}

// modelStatuses returns the status of every model Models knows, sorted by
// name. A model removed between Names and Status is left out.
func (s *Server) modelStatuses() ([]ModelStatus, error) {
	if s.models == nil {
		return nil, Errorf(fasthttp.StatusServiceUnavailable, "not ready: starting")
	}
	names := s.models.Names()
	out := make([]ModelStatus, 0, len(names))
	for _, name := range names {
		st, err := s.models.Status(name)
		if errors.Is(err, ErrModelNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// repositoryIndex is the index of every model version: each version with
// its state in Triton's names and, for one that failed to load or was
// unloaded, why; a model that has no version at all is one entry without a
// version, its reason the model's error. readyOnly keeps the READY ones.
func repositoryIndex(sts []ModelStatus, readyOnly bool) []indexEntry {
	out := []indexEntry{}
	for _, st := range sts {
		if len(st.Versions) == 0 && !readyOnly {
			reason := st.Error
			if reason == "" {
				reason = "no version to load"
			}
			out = append(out, indexEntry{Name: st.Name, State: "UNAVAILABLE", Reason: reason})
		}
		for _, v := range st.Versions {
			e := indexEntry{Name: st.Name, Version: strconv.Itoa(v.Version), State: tritonState(v.State), Reason: v.Error}
			if e.State == "UNAVAILABLE" && e.Reason == "" {
				e.Reason = "unloaded"
			}
			if readyOnly && e.State != "READY" {
				continue
			}
			out = append(out, e)
		}
	}
	return out
}

// v1Version is one entry of GET /v1/models: a version as GET
// /v1/models/{name} reports it (TF Serving's model_version_status), with
// the model's name.
type v1Version struct {
	Name    string    `json:"name"`
	Version string    `json:"version,omitempty"`
	State   string    `json:"state"`
	Status  errStatus `json:"status"`
}

// errStatus is TF Serving's status of a model version.
type errStatus struct {
	Code    string `json:"error_code"`
	Message string `json:"error_message"`
}

// versionErrStatus is TF Serving's status of a version that failed with
// msg ("" for none).
func versionErrStatus(msg string) errStatus {
	if msg == "" {
		return errStatus{Code: "OK"}
	}
	return errStatus{Code: "UNKNOWN", Message: msg}
}

// listModels answers GET /v1/models and GET /v2/models:
//
//	{"models": ["a", "b"], "versions": [...]}
//
// "models" names every model the server knows (KServe's list models
// answer), loaded or not; "versions" has one entry per version, newest
// first within a model: for /v1 as GET /v1/models/{name} reports it
// (TF Serving's state names and status) with the model's name, and the
// models' labels under "labels"; for /v2 the entries of POST
// /v2/repository/index. A model with no version at all is one entry
// without a version, state END (v1) or UNAVAILABLE (v2), saying why.
func (s *Server) listModels(ctx *fasthttp.RequestCtx, api API) {
	if !s.allow(ctx, fasthttp.MethodGet) {
		return
	}
	sts, err := s.modelStatuses()
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	names := make([]string, len(sts))
	for i, st := range sts {
		names[i] = st.Name
	}
	var b []byte
	if api == APIOIP {
		b, err = json.Marshal(struct {
			Models   []string     `json:"models"`
			Versions []indexEntry `json:"versions"`
		}{names, repositoryIndex(sts, false)})
	} else {
		versions := []v1Version{}
		labels := map[string]map[string]int{}
		for _, st := range sts {
			if len(st.Versions) == 0 {
				msg := st.Error
				if msg == "" {
					msg = "no version to load"
				}
				versions = append(versions, v1Version{Name: st.Name, State: "END", Status: versionErrStatus(msg)})
			}
			for _, v := range st.Versions {
				versions = append(versions, v1Version{Name: st.Name, Version: strconv.Itoa(v.Version), State: v.State, Status: versionErrStatus(v.Error)})
			}
			if len(st.Labels) > 0 {
				labels[st.Name] = st.Labels
			}
		}
		b, err = json.Marshal(struct {
			Models   []string                  `json:"models"`
			Versions []v1Version               `json:"versions"`
			Labels   map[string]map[string]int `json:"labels,omitempty"`
		}{names, versions, labels})
	}
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}

// repositoryIndexHandler answers POST /v2/repository/index, the index API
// of Triton's model repository extension: the body is empty or
// {"ready": bool} (true: only versions ready for inference); the answer
// is the JSON array of repositoryIndex's entries.
func (s *Server) repositoryIndexHandler(ctx *fasthttp.RequestCtx) {
	if !s.allow(ctx, fasthttp.MethodPost) {
		return
	}
	var req struct {
		Ready *bool `json:"ready"`
	}
	if body := bytes.TrimSpace(ctx.PostBody()); len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || dec.More() {
			s.writeError(ctx, Errorf(fasthttp.StatusBadRequest, `repository index: the body is empty or {"ready": true|false}: %v`, indexBodyError(err)))
			return
		}
	}
	sts, err := s.modelStatuses()
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	b, err := json.Marshal(repositoryIndex(sts, req.Ready != nil && *req.Ready))
	if err != nil {
		s.writeError(ctx, err)
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, b)
}

// indexBodyError says what is wrong with a repository index body (nil
// err: something follows the object).
func indexBodyError(err error) string {
	if err == nil {
		return "data after the object"
	}
	return err.Error()
}

// maxNotReadyLines caps the models the readiness body details.
const maxNotReadyLines = 50

// notReady is /readyz's body when the models are not ready: Models'
// summary, then a line per model that has no version loaded, naming each
// of its versions, its state and, for one that failed, why; or the
// model's own error when it has no version at all.
func (s *Server) notReady() string {
	var b strings.Builder
	b.WriteString("not ready: ")
	b.WriteString(s.models.NotReady())
	b.WriteByte('\n')
	sts, err := s.modelStatuses()
	if err != nil {
		return b.String()
	}
	n := 0
	for _, st := range sts {
		if hasAvailable(st) {
			continue
		}
		if n == maxNotReadyLines {
			fmt.Fprintf(&b, "and more models without a loaded version\n")
			break
		}
		n++
		fmt.Fprintf(&b, "model %s: ", st.Name)
		if len(st.Versions) == 0 {
			msg := st.Error
			if msg == "" {
				msg = "no version to load"
			}
			b.WriteString(msg)
		}
		for i, v := range st.Versions {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "version %d %s", v.Version, versionReason(v))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// hasAvailable reports whether a model has a version being served.
func hasAvailable(st ModelStatus) bool {
	for _, v := range st.Versions {
		if v.State == "AVAILABLE" {
			return true
		}
	}
	return false
}

// versionReason says in words what a version not served is doing.
func versionReason(v VersionStatus) string {
	switch {
	case v.Error != "":
		return "failed to load: " + v.Error
	case v.State == "START":
		return "waiting to load"
	case v.State == "LOADING":
		return "loading"
	case v.State == "UNLOADING":
		return "unloading"
	case v.State == "END":
		return "unloaded"
	}
	return strings.ToLower(v.State)
}
