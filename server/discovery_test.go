package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/importer"
)

// discoveryServer serves "lr" (versions 1 and 2, v2 corrupt, so v1
// serves), and "broken" (its one version corrupt): not ready.
func discoveryServer(t *testing.T) *Server {
	t.Helper()
	repo := t.TempDir()
	imp, err := importer.ImportFile("native", fixture.Path("native", "logreg_binary.model.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []struct {
		name    string
		version int
		corrupt bool
	}{{"lr", 1, false}, {"lr", 2, true}, {"broken", 1, true}} {
		_, dir, err := model.Write(repo, w.name, imp, model.WriteOptions{Version: w.version})
		if err != nil {
			t.Fatal(err)
		}
		if w.corrupt {
			if err := os.WriteFile(filepath.Join(dir, model.PayloadFile), []byte("garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return serveRepo(t, Options{}, repo)
}

// TestListModels: GET /v1/models and GET /v2/models name every model,
// loaded or not, and list each version with its state and why a failed
// one failed, in each API's state names.
func TestListModels(t *testing.T) {
	s := discoveryServer(t)
	code, body, _ := call(s, "GET", "/v1/models", "")
	var v1 struct {
		Models   []string    `json:"models"`
		Versions []v1Version `json:"versions"`
	}
	if err := json.Unmarshal([]byte(body), &v1); code != 200 || err != nil {
		t.Fatalf("GET /v1/models = %d %s (%v), want 200 and JSON", code, body, err)
	}
	if want := []string{"broken", "lr"}; !reflect.DeepEqual(v1.Models, want) {
		t.Errorf("GET /v1/models: models %q, want %q", v1.Models, want)
	}
	got := map[string]v1Version{}
	for _, v := range v1.Versions {
		got[v.Name+"/"+v.Version] = v
	}
	for key, want := range map[string]struct{ state, code, msg string }{
		"lr/1":     {"AVAILABLE", "OK", ""},
		"lr/2":     {"END", "UNKNOWN", "corrupt"},
		"broken/1": {"END", "UNKNOWN", "corrupt"},
	} {
		g, ok := got[key]
		if !ok || g.State != want.state || g.Status.Code != want.code || !strings.Contains(g.Status.Message, want.msg) || (want.msg == "") != (g.Status.Message == "") {
			t.Errorf("GET /v1/models: %s = %+v (present %v), want state %s, code %s, message containing %q", key, g, ok, want.state, want.code, want.msg)
		}
	}
	if strings.Contains(body, "labels") {
		t.Errorf("GET /v1/models = %s, want no labels (none is set)", body)
	}
	if len(v1.Versions) != 3 {
		t.Errorf("GET /v1/models: %d versions %+v, want 3", len(v1.Versions), v1.Versions)
	}

	code, body, _ = call(s, "GET", "/v2/models", "")
	var v2 struct {
		Models   []string     `json:"models"`
		Versions []indexEntry `json:"versions"`
	}
	if err := json.Unmarshal([]byte(body), &v2); code != 200 || err != nil {
		t.Fatalf("GET /v2/models = %d %s (%v), want 200 and JSON", code, body, err)
	}
	if want := []string{"broken", "lr"}; !reflect.DeepEqual(v2.Models, want) {
		t.Errorf("GET /v2/models: models %q, want %q", v2.Models, want)
	}
	checkIndex(t, "GET /v2/models", v2.Versions, "broken/1:UNAVAILABLE:corrupt lr/2:UNAVAILABLE:corrupt lr/1:READY:")

	for _, uri := range []string{"/v1/models", "/v2/models"} {
		if code, body, _ := call(s, "POST", uri, ""); code != 405 {
			t.Errorf("POST %s = %d %s, want 405", uri, code, body)
		}
	}
}

// checkIndex compares index entries to want, "name/version:STATE:reason
// part" in order, separated by spaces.
func checkIndex(t *testing.T, what string, got []indexEntry, want string) {
	t.Helper()
	w := strings.Fields(want)
	if len(got) != len(w) {
		t.Fatalf("%s: %d entries %+v, want %d: %s", what, len(got), got, len(w), want)
	}
	for i, e := range got {
		parts := strings.SplitN(w[i], ":", 3)
		if e.Name+"/"+e.Version != parts[0] || e.State != parts[1] || !strings.Contains(e.Reason, parts[2]) || (parts[2] == "") != (e.Reason == "") {
			t.Errorf("%s: entry %d = %+v, want %s", what, i, e, w[i])
		}
	}
}

// TestRepositoryIndex: POST /v2/repository/index answers Triton's index,
// every version or only the ready ones, and refuses a body it cannot read.
func TestRepositoryIndex(t *testing.T) {
	s := discoveryServer(t)
	all := "broken/1:UNAVAILABLE:corrupt lr/2:UNAVAILABLE:corrupt lr/1:READY:"
	for _, c := range []struct {
		body string
		want string
	}{
		{"", all},
		{"{}", all},
		{`{"ready": false}`, all},
		{`{"ready": true}`, "lr/1:READY:"},
	} {
		code, body, _ := call(s, "POST", "/v2/repository/index", c.body)
		var got []indexEntry
		if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || !strings.HasPrefix(body, "[") {
			t.Fatalf("POST /v2/repository/index %q = %d %s (%v), want 200 and a JSON array", c.body, code, body, err)
		}
		checkIndex(t, "POST /v2/repository/index "+c.body, got, c.want)
	}
	for _, c := range []struct{ body, want string }{
		{`{"ready": 1}`, "cannot unmarshal number"},
		{`{"redy": true}`, `unknown field "redy"`},
		{`{"ready": true} {}`, "data after the object"},
		{`[`, "unexpected EOF"},
	} {
		code, body, _ := call(s, "POST", "/v2/repository/index", c.body)
		var e struct{ Error string }
		json.Unmarshal([]byte(body), &e)
		if code != 400 || !strings.Contains(e.Error, c.want) || !strings.Contains(e.Error, `{"ready": true|false}`) {
			t.Errorf("POST /v2/repository/index %q = %d %s, want 400 saying %q", c.body, code, body, c.want)
		}
	}
	if code, body, _ := call(s, "GET", "/v2/repository/index", ""); code != 405 {
		t.Errorf("GET /v2/repository/index = %d %s, want 405", code, body)
	}
}

// TestReadyzNamesMissing: /readyz, not ready, names each model without a
// loaded version, with each of its versions and why it is not served; a
// model that serves (lr, whose v2 failed) is not listed.
func TestReadyzNamesMissing(t *testing.T) {
	s := discoveryServer(t)
	code, body, _ := call(s, "GET", "/readyz", "")
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if code != 503 || len(lines) != 2 || lines[0] != "not ready: no version loaded for broken" ||
		!strings.HasPrefix(lines[1], "model broken: version 1 failed to load: ") || !strings.Contains(lines[1], "broken/1/model.bin.zst") || !strings.Contains(lines[1], "truncated or corrupt") {
		t.Errorf("GET /readyz = %d %q, want 503, the summary, then \"model broken: version 1 failed to load: ...payload...\" alone", code, body)
	}

	// The states a loading model goes through, from a Models that reports
	// them.
	f := &fakeModels{statuses: []ModelStatus{
		{Name: "a", Versions: []VersionStatus{{Version: 3, State: "LOADING"}, {Version: 2, State: "START"}}},
		{Name: "b", Error: "no versions in folder b"},
		{Name: "c", Versions: []VersionStatus{{Version: 1, State: "AVAILABLE"}}, Labels: map[string]int{"stable": 1}},
		{Name: "d", Versions: []VersionStatus{{Version: 4, State: "UNLOADING"}, {Version: 1, State: "END"}}},
		{Name: "e"},
	}, notReady: "loading: no version loaded yet for a, b, d, e"}
	s2, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2.SetModels(f)
	code, body, _ = call(s2, "GET", "/readyz", "")
	want := "not ready: loading: no version loaded yet for a, b, d, e\n" +
		"model a: version 3 loading; version 2 waiting to load\n" +
		"model b: no versions in folder b\n" +
		"model d: version 4 unloading; version 1 unloaded\n" +
		"model e: no version to load\n"
	if code != 503 || body != want {
		t.Errorf("GET /readyz = %d %q, want 503 %q", code, body, want)
	}
	// OIP's server readiness says the same, as the protocol's error body.
	code, body, ctx := call(s2, "GET", "/v2/health/ready", "")
	var e struct{ Error string }
	if err := json.Unmarshal([]byte(body), &e); code != 503 || err != nil || e.Error != strings.TrimSuffix(want, "\n") ||
		string(ctx.Response.Header.ContentType()) != "application/json" {
		t.Errorf("GET /v2/health/ready = %d %q (%v), want 503 application/json {\"error\": %q}", code, body, err, strings.TrimSuffix(want, "\n"))
	}
	s2.StopReady()
	if code, body, _ := call(s2, "GET", "/v2/health/ready", ""); code != 503 || body != `{"error":"draining"}` {
		t.Errorf("GET /v2/health/ready while draining = %d %q, want 503 {\"error\":\"draining\"}", code, body)
	}
	code, body, _ = call(s2, "POST", "/v2/repository/index", "")
	var got []indexEntry
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil {
		t.Fatalf("POST /v2/repository/index = %d %s (%v)", code, body, err)
	}
	checkIndex(t, "index of the fake", got, "a/3:LOADING: a/2:LOADING: b/:UNAVAILABLE:folder c/1:READY: d/4:UNLOADING: d/1:UNAVAILABLE:unloaded e/:UNAVAILABLE:no")
	// GET /v1/models: a model with no version is an END entry without
	// one, saying why; labels by model.
	code, body, _ = call(s2, "GET", "/v1/models", "")
	for _, want := range []string{
		`{"name":"b","state":"END","status":{"error_code":"UNKNOWN","error_message":"no versions in folder b"}}`,
		`{"name":"e","state":"END","status":{"error_code":"UNKNOWN","error_message":"no version to load"}}`,
		`{"name":"a","version":"2","state":"START","status":{"error_code":"OK","error_message":""}}`,
		`"labels":{"c":{"stable":1}}}`,
		`{"models":["a","b","c","d","e"],`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /v1/models of the fake = %d %s, want it to hold %s", code, body, want)
		}
	}
}

// fakeModels reports fixed statuses; it serves nothing.
type fakeModels struct {
	statuses []ModelStatus
	notReady string
}

func (f *fakeModels) Acquire(name string, version int, label string) (any, Releaser, error) {
	return nil, nil, ModelError(errNoModel, ErrModelNotFound)
}
func (f *fakeModels) Ready() bool      { return f.notReady == "" }
func (f *fakeModels) NotReady() string { return f.notReady }
func (f *fakeModels) Names() []string {
	var n []string
	for _, st := range f.statuses {
		n = append(n, st.Name)
	}
	return n
}
func (f *fakeModels) Status(name string) (ModelStatus, error) {
	for _, st := range f.statuses {
		if st.Name == name {
			return st, nil
		}
	}
	return ModelStatus{}, ModelError(errNoModel, ErrModelNotFound)
}
func (f *fakeModels) Reload() error                                  { return nil }
func (f *fakeModels) LoadVersion(name string, version int) error     { return nil }
func (f *fakeModels) UnloadVersion(name string, version int) error   { return nil }
func (f *fakeModels) SetLabel(name, label string, version int) error { return nil }

var errNoModel = os.ErrNotExist
