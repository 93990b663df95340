package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/predictd/predictd/internal/fixture"
)

// daemon is a running `predictd serve` started by a test.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string // TCP host:port, "" if not listening on TCP
	sock string // Unix socket path, "" if none
	log  *lockedBuffer
	done chan struct{}
	err  error // Wait's result, set before done closes
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingOn = regexp.MustCompile(`serving HTTP on (127\.0\.0\.1:\d+)`)

// startServe runs predictd serve with args (and extra environment
// variables) and waits until it is ready. It always listens on a free
// loopback port as well.
func startServe(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	d := launchServe(t, env, nil, args...)
	d.waitReady()
	return d
}

// launchServe runs predictd serve like startServe but returns as soon as
// it listens, ready or not. With wrap, the command line is wrap followed
// by the binary and its arguments (a shell that sets a limit, say).
func launchServe(t *testing.T, env, wrap []string, args ...string) *daemon {
	t.Helper()
	args = append([]string{"--listen", "127.0.0.1:0"}, args...)
	d := &daemon{t: t, log: new(lockedBuffer), done: make(chan struct{})}
	for i, a := range args {
		if a == "--unix" {
			d.sock = args[i+1]
		}
	}
	argv := append(append(slices.Clone(wrap), bin, "serve"), args...)
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Env = append(os.Environ(), env...)
	pr, pw := io.Pipe()
	d.cmd.Stderr = pw
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	logged := make(chan struct{})
	go func() {
		d.err = d.cmd.Wait()
		pw.Close()
		<-logged // every line is in d.log before done closes
		close(d.done)
	}()
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(d.log, line)
			if m := servingOn.FindStringSubmatch(line); m != nil && !sent {
				addrc <- m[1]
				sent = true
			}
		}
		if !sent {
			close(addrc)
		}
	}()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("predictd serve log:\n%s", d.log.String())
		}
	})
	select {
	case a, ok := <-addrc:
		if !ok {
			<-d.done
			t.Fatalf("predictd serve exited before listening: %v\n%s", d.err, d.log.String())
		}
		d.addr = a
	case <-time.After(30 * time.Second):
		t.Fatalf("predictd serve did not listen within 30s\n%s", d.log.String())
	}
	return d
}

// client returns an HTTP client for the TCP listener, or the Unix socket
// when unix is set.
func (d *daemon) client(unix bool) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	if unix {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.sock)
		}
	}
	d.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func (d *daemon) url(unix bool, path string) string {
	if unix {
		return "http://predictd" + path
	}
	return "http://" + d.addr + path
}

func (d *daemon) waitReady() {
	d.t.Helper()
	c := d.client(false)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(d.url(false, "/readyz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-d.done:
			d.t.Fatalf("predictd serve exited: %v\n%s", d.err, d.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	d.t.Fatalf("predictd serve not ready within 30s\n%s", d.log.String())
}

// do sends a request and returns the status and body.
func do(t *testing.T, c *http.Client, method, url string, body any, header ...string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// jsonValue is a row value as a client sends it: null for missing.
func jsonValue(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// flattenPredictions turns TF Serving predictions (numbers or arrays) into
// one flat list.
func flattenPredictions(t *testing.T, raw json.RawMessage) []float64 {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("predictions %s: %v", raw, err)
	}
	var out []float64
	for _, it := range items {
		if len(it) > 0 && it[0] == '[' {
			var vs []float64
			if err := json.Unmarshal(it, &vs); err != nil {
				t.Fatal(err)
			}
			out = append(out, vs...)
			continue
		}
		var v float64
		if err := json.Unmarshal(it, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// servedCase is a model served in the parity test, with the rows and the
// predictions `predictd score` gave for them.
type servedCase struct {
	name     string
	features []string
	rows     [][]float64
	want     []float64 // flat, from score
	outputs  int
	rel      float64 // 0: bit for bit
}

// TestServeMatchesScore serves tree and dense models over TCP and a Unix
// socket, asks for predictions through both APIs in every request form,
// and checks they are the numbers `predictd score` writes for the same
// rows.
func TestServeMatchesScore(t *testing.T) {
	repo := t.TempDir()
	imports := []struct{ from, in, name string }{
		{"xgboost", fixture.Path("xgboost", "gbtree_binary_logistic_300x6.json"), "churn"},
		{"xgboost", fixture.Path("xgboost", "gbtree_multi_softprob.json"), "wine"},
		{"native", fixture.Path("native", "mlp_multiclass_tanh.model.json"), "mlp"},
	}
	rowsFor := map[string]string{
		"churn": fixture.Path("xgboost", "gbtree_binary_logistic_300x6.csv"),
		"wine":  fixture.Path("xgboost", "gbtree_multi_softprob.csv"),
		"mlp":   fixture.Path("native", "mlp_multiclass_tanh.csv"),
	}
	var cases []servedCase
	for _, im := range imports {
		mustRun(t, "import", "--from", im.from, "--in", im.in, "--repo", repo, "--name", im.name)
		out := filepath.Join(t.TempDir(), im.name+".csv")
		mustRun(t, "score", "--repo", repo, "--model", im.name, "--in", rowsFor[im.name], "--out", out)
		in := fixture.ReadTable(t, rowsFor[im.name])
		want := fixture.ReadTable(t, out)
		c := servedCase{name: im.name, features: in.Header, rows: in.Rows, want: want.Flat(), outputs: len(want.Header)}
		if im.from == "native" {
			c.rel = 1e-6 // the float32 kernels block rows differently at other batch sizes
		}
		if len(c.rows) > 600 {
			c.rows = c.rows[:600]
			c.want = c.want[:600*c.outputs]
		}
		cases = append(cases, c)
	}
	for _, batching := range []string{"true", "false"} {
		sock := filepath.Join(t.TempDir(), "predictd.sock")
		d := startServe(t, nil, "--repo", repo, "--unix", sock, "--batching="+batching)
		t.Run("batching="+batching, func(t *testing.T) { checkServedForms(t, d, cases) })
	}
}

// checkServedForms asks d for every case's rows in every request form and
// compares with what score wrote.
func checkServedForms(t *testing.T, d *daemon, cases []servedCase) {

	forms := []struct {
		name string
		unix bool
		api  string
	}{
		{"tf-instances-objects", false, "tf-objects"},
		{"tf-instances-arrays", true, "tf-arrays"},
		{"tf-columnar", true, "tf-columnar"},
		{"oip-2d", true, "oip-2d"},
		{"oip-per-feature", false, "oip-columns"},
	}
	for _, c := range cases {
		for _, f := range forms {
			t.Run(c.name+"/"+f.name, func(t *testing.T) {
				cl := d.client(f.unix)
				var got []float64
				for lo, chunk := 0, 1; lo < len(c.rows); lo, chunk = lo+chunk, 1+(chunk*37)%97 {
					rows := c.rows[lo:min(lo+chunk, len(c.rows))]
					got = append(got, predictRows(t, d, cl, f.unix, f.api, c, rows)...)
				}
				if len(got) != len(c.want) {
					t.Fatalf("got %d predictions, want %d", len(got), len(c.want))
				}
				bad := 0
				for i := range got {
					e := fixture.RelErr(got[i], c.want[i])
					if e > c.rel {
						if bad < 5 {
							t.Errorf("row %d output %d: served %v, score wrote %v (rel err %g)", i/c.outputs, i%c.outputs, got[i], c.want[i], e)
						}
						bad++
					}
				}
				if bad > 0 {
					t.Errorf("%d of %d predictions differ", bad, len(got))
				}
			})
		}
	}
}

// predictRows sends rows in one request of the given form and returns the
// flat predictions.
func predictRows(t *testing.T, d *daemon, c *http.Client, unix bool, form string, sc servedCase, rows [][]float64) []float64 {
	t.Helper()
	var body any
	switch form {
	case "tf-objects":
		var inst []map[string]any
		for _, r := range rows {
			m := make(map[string]any, len(r))
			for j, v := range r {
				m[sc.features[j]] = jsonValue(v)
			}
			inst = append(inst, m)
		}
		body = map[string]any{"instances": inst}
	case "tf-arrays":
		var inst [][]any
		for _, r := range rows {
			a := make([]any, len(r))
			for j, v := range r {
				a[j] = jsonValue(v)
			}
			inst = append(inst, a)
		}
		body = map[string]any{"signature_name": "serving_default", "instances": inst}
	case "tf-columnar":
		cols := make(map[string][]any)
		for j, f := range sc.features {
			for _, r := range rows {
				cols[f] = append(cols[f], jsonValue(r[j]))
			}
		}
		body = map[string]any{"inputs": cols}
	case "oip-2d":
		var data []any
		for _, r := range rows {
			for _, v := range r {
				data = append(data, jsonValue(v))
			}
		}
		body = map[string]any{"id": "req-2d", "inputs": []any{map[string]any{
			"name": "input", "datatype": "FP64", "shape": []int{len(rows), len(sc.features)}, "data": data,
		}}}
	case "oip-columns":
		var inputs []any
		for j, f := range sc.features {
			var data []any
			for _, r := range rows {
				data = append(data, jsonValue(r[j]))
			}
			inputs = append(inputs, map[string]any{"name": f, "datatype": "FP64", "shape": []int{len(rows)}, "data": data})
		}
		body = map[string]any{"inputs": inputs}
	}
	var path string
	if strings.HasPrefix(form, "tf") {
		path = "/v1/models/" + sc.name + ":predict"
	} else {
		path = "/v2/models/" + sc.name + "/infer"
	}
	code, resp := do(t, c, http.MethodPost, d.url(unix, path), body)
	if code != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, code, resp)
	}
	if strings.HasPrefix(form, "tf") {
		var r map[string]json.RawMessage
		if err := json.Unmarshal(resp, &r); err != nil {
			t.Fatalf("response %s: %v", resp, err)
		}
		key := "predictions"
		if form == "tf-columnar" {
			key = "outputs"
		}
		if string(r["model_version"]) != `"1"` {
			t.Errorf("model_version = %s, want \"1\"", r["model_version"])
		}
		return flattenPredictions(t, r[key])
	}
	var r struct {
		ModelName    string `json:"model_name"`
		ModelVersion string `json:"model_version"`
		ID           string `json:"id"`
		Outputs      []struct {
			Name     string    `json:"name"`
			Datatype string    `json:"datatype"`
			Shape    []int     `json:"shape"`
			Data     []float64 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal(resp, &r); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
	if r.ModelName != sc.name || r.ModelVersion != "1" || len(r.Outputs) != 1 {
		t.Fatalf("response names model %q version %q with %d outputs, want %q, \"1\", 1", r.ModelName, r.ModelVersion, len(r.Outputs), sc.name)
	}
	if form == "oip-2d" && r.ID != "req-2d" {
		t.Errorf("id = %q, want the request's \"req-2d\"", r.ID)
	}
	wantShape := []int{len(rows)}
	if sc.outputs > 1 {
		wantShape = append(wantShape, sc.outputs)
	}
	if fmt.Sprint(r.Outputs[0].Shape) != fmt.Sprint(wantShape) {
		t.Errorf("output shape %v, want %v", r.Outputs[0].Shape, wantShape)
	}
	return r.Outputs[0].Data
}

// loadResult counts what a load generator saw.
type loadResult struct {
	ok, failed atomic.Int64
	versions   sync.Map // model_version string -> true
	mu         sync.Mutex
	firstErrs  []string
}

// send makes one request. A transport error is returned for the caller to
// judge; a response other than 200 is counted as a failure here and gives
// nil data; a 200 gives its body.
func (l *loadResult) send(c *http.Client, req *http.Request) ([]byte, error) {
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		l.fail(fmt.Sprintf("%d %s", resp.StatusCode, data))
		return nil, nil
	}
	return data, nil
}

func (l *loadResult) fail(msg string) {
	l.failed.Add(1)
	l.mu.Lock()
	if len(l.firstErrs) < 5 {
		l.firstErrs = append(l.firstErrs, msg)
	}
	l.mu.Unlock()
}

// runLoad sends predict requests from workers until stop closes. A
// request that gets an HTTP response must get 200; a transport error is a
// failure unless allowDial is set and it is a refused connection (a new
// connection after the listener closed, which is not an in-flight
// request).
func runLoad(d *daemon, workers int, body []byte, path string, allowDial bool, stop <-chan struct{}) *loadResult {
	res := new(loadResult)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := d.client(false)
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, d.url(false, path), bytes.NewReader(body))
				// Safe to retry: net/http then resends a request that met
				// a keep-alive connection the server had just closed.
				req.Header.Set("Idempotency-Key", "load")
				data, err := res.send(c, req)
				if err != nil {
					var op *net.OpError
					if allowDial && errors.As(err, &op) && op.Op == "dial" {
						continue
					}
					res.fail(err.Error())
					continue
				}
				if data == nil {
					continue
				}
				var r struct {
					Version string `json:"model_version"`
				}
				json.Unmarshal(data, &r)
				res.versions.Store(r.Version, true)
				res.ok.Add(1)
			}
		}()
	}
	go func() { <-stop; wg.Wait() }()
	return res
}

func instancesBody(t *testing.T, path string, n int) []byte {
	t.Helper()
	tab := fixture.ReadTable(t, path)
	var inst [][]any
	for _, r := range tab.Rows[:n] {
		a := make([]any, len(r))
		for j, v := range r {
			a[j] = jsonValue(v)
		}
		inst = append(inst, a)
	}
	b, err := json.Marshal(map[string]any{"instances": inst})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func modelStatus(t *testing.T, d *daemon, name string) map[string]string {
	t.Helper()
	code, body := do(t, d.client(false), http.MethodGet, d.url(false, "/v1/models/"+name), nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/models/%s: %d %s", name, code, body)
	}
	var st struct {
		Versions []struct {
			Version string `json:"version"`
			State   string `json:"state"`
			Status  struct {
				Message string `json:"error_message"`
			} `json:"status"`
		} `json:"model_version_status"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	for _, v := range st.Versions {
		out[v.Version] = v.State
		if v.Status.Message != "" {
			out[v.Version+".error"] = v.Status.Message
		}
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServeHotSwapUnderLoad drops new versions into the repository while
// clients predict without pause: a good one is picked up by polling and
// takes over, a corrupt one never takes traffic, and no request fails.
func TestServeHotSwapUnderLoad(t *testing.T) {
	repo := t.TempDir()
	model := fixture.Path("xgboost", "gbtree_binary_logistic_300x6.json")
	mustRun(t, "import", "--from", "xgboost", "--in", model, "--repo", repo, "--name", "churn")
	d := startServe(t, nil, "--repo", repo, "--poll-interval", "50ms")
	body := instancesBody(t, fixture.Path("xgboost", "gbtree_binary_logistic_300x6.csv"), 20)

	stop := make(chan struct{})
	res := runLoad(d, 8, body, "/v1/models/churn:predict", false, stop)
	waitFor(t, "the first 200 answers", func() bool { return res.ok.Load() > 200 })

	mustRun(t, "import", "--from", "xgboost", "--in", model, "--repo", repo, "--name", "churn")
	waitFor(t, "version 2 to serve", func() bool { _, ok := res.versions.Load("2"); return ok })
	waitFor(t, "version 1 to retire", func() bool { return modelStatus(t, d, "churn")["1"] == "END" })

	// A corrupt version 3: a copy of version 2, renumbered, with its
	// payload truncated.
	tmp := filepath.Join(repo, "churn", ".tmp-3")
	copyDir(t, filepath.Join(repo, "churn", "2"), tmp)
	renumber(t, filepath.Join(tmp, "manifest.json"), 3)
	payload := filepath.Join(tmp, "model.bin.zst")
	data, err := os.ReadFile(payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(payload, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(repo, "churn", "3")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "version 3 to fail", func() bool { return modelStatus(t, d, "churn")["3"] == "END" })
	before := res.ok.Load()
	waitFor(t, "200 more answers", func() bool { return res.ok.Load() > before+200 })
	close(stop)

	st := modelStatus(t, d, "churn")
	if st["2"] != "AVAILABLE" {
		t.Errorf("version 2 state %q, want AVAILABLE (status %v)", st["2"], st)
	}
	if e := st["3.error"]; !strings.Contains(e, "model.bin.zst") {
		t.Errorf("version 3 error %q does not name the truncated payload", e)
	}
	if _, ok := res.versions.Load("3"); ok {
		t.Error("the corrupt version 3 answered requests")
	}
	if n := res.failed.Load(); n > 0 {
		t.Errorf("%d of %d requests failed during the swaps; first: %q", n, n+res.ok.Load(), res.firstErrs)
	}
	t.Logf("%d requests, all 200, across versions 1 and 2", res.ok.Load())
}

// renumber rewrites the version in a manifest.
func renumber(t *testing.T, path string, v int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = v
	if data, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, string(data))
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeDrainUnderLoad sends SIGTERM while clients predict, as a load
// balancer would see it: readiness turns false during the drain delay, the
// clients (which poll readiness, as a balancer does) stop sending new
// requests, every request sent is answered 200, including those in flight
// when the signal landed, and the process exits 0.
func TestServeDrainUnderLoad(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_binary_logistic_300x6.json"), "--repo", repo, "--name", "churn")
	d := startServe(t, nil, "--repo", repo, "--drain-delay", "500ms", "--drain-timeout", "20s")
	// 1,000 rows of 300 trees: each request computes for several
	// milliseconds, so some are in flight when the signal lands.
	body := instancesBody(t, fixture.Path("xgboost", "gbtree_binary_logistic_300x6.csv"), 1000)

	var ready atomic.Bool // what the balancer believes
	ready.Store(true)
	probeDone := make(chan struct{})
	sawNotReady := make(chan struct{})
	go func() {
		defer close(probeDone)
		probe := d.client(false)
		for {
			resp, err := probe.Get(d.url(false, "/readyz"))
			if err != nil {
				ready.Store(false)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				ready.Store(false)
				close(sawNotReady)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	var sigAt atomic.Int64 // UnixNano of SIGTERM
	var spanned atomic.Int64
	res := new(loadResult)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := d.client(false)
			for ready.Load() {
				start := time.Now()
				req, _ := http.NewRequest(http.MethodPost, d.url(false, "/v1/models/churn:predict"), bytes.NewReader(body))
				data, err := res.send(c, req)
				if err != nil {
					res.fail(err.Error())
				}
				if data == nil {
					continue
				}
				res.ok.Add(1)
				if s := sigAt.Load(); s != 0 && start.UnixNano() < s {
					spanned.Add(1)
				}
			}
		}()
	}
	waitFor(t, "the first answers", func() bool { return res.ok.Load() > 8 })
	sigAt.Store(time.Now().UnixNano())
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		t.Fatal("predictd did not exit within 30s of SIGTERM")
	}
	wg.Wait()
	<-probeDone
	select {
	case <-sawNotReady:
	default:
		t.Error("/readyz never answered 503 during the drain delay")
	}
	if d.err != nil {
		t.Errorf("predictd serve exited with %v after SIGTERM, want status 0", d.err)
	}
	if n := res.failed.Load(); n > 0 {
		t.Errorf("%d requests failed across the drain; first: %q", n, res.firstErrs)
	}
	if spanned.Load() == 0 {
		t.Error("no request was in flight when SIGTERM landed; the test proved nothing")
	}
	if !strings.Contains(d.log.String(), "drained") {
		t.Errorf("log does not say it drained:\n%s", d.log.String())
	}
	t.Logf("%d requests answered 200, %d of them in flight at SIGTERM", res.ok.Load(), spanned.Load())
}

// TestServeDrainInFlight sends SIGTERM with no drain delay while one long
// request is being computed: the listeners close at once, and the request
// still gets its answer before the process exits 0.
func TestServeDrainInFlight(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_binary_logistic_300x6.json"), "--repo", repo, "--name", "churn")
	d := startServe(t, nil, "--repo", repo, "--max-instances", "100000", "--max-body-bytes", "100000000")
	tab := fixture.ReadTable(t, fixture.Path("xgboost", "gbtree_binary_logistic_300x6.csv"))
	var inst [][]any
	for len(inst) < 40000 {
		for _, r := range tab.Rows {
			a := make([]any, len(r))
			for j, v := range r {
				a[j] = jsonValue(v)
			}
			inst = append(inst, a)
		}
	}
	body, _ := json.Marshal(map[string]any{"instances": inst})
	type answer struct {
		code int
		n    int
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := d.client(false).Post(d.url(false, "/v1/models/churn:predict"), "application/json", bytes.NewReader(body))
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var r struct {
			Predictions []float64 `json:"predictions"`
		}
		err = json.NewDecoder(resp.Body).Decode(&r)
		got <- answer{code: resp.StatusCode, n: len(r.Predictions), err: err}
	}()
	metrics := d.client(false)
	for {
		code, m := do(t, metrics, "GET", d.url(false, "/metrics"), nil)
		if code == 200 && strings.Contains(string(m), "predictd_inflight_requests 1") {
			break
		}
		select {
		case a := <-got:
			t.Fatalf("the long request was answered before SIGTERM could be sent: %+v", a)
		case <-time.After(time.Millisecond):
		}
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-got
	<-d.done
	if a.err != nil || a.code != 200 || a.n != len(inst) {
		t.Errorf("request in flight at SIGTERM: status %d, %d predictions, err %v; want 200 with %d", a.code, a.n, a.err, len(inst))
	}
	if d.err != nil {
		t.Errorf("exit: %v, want status 0", d.err)
	}
}

// TestServeConfigAndErrors starts the daemon from a config file and
// environment variables and checks the errors clients and operators see.
func TestServeConfigAndErrors(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_multi_softprob.json"), "--repo", repo, "--name", "wine")
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_multi_softprob.json"), "--repo", repo, "--name", "wine")
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", "lr")
	cfg := filepath.Join(t.TempDir(), "predictd.json")
	writeFile(t, cfg, `{
  "repo": "`+repo+`",
  "max_body_bytes": 65536,
  "models": [
    {"name": "wine", "policy": {"latest": 2}, "labels": {"old": 1}},
    {"name": "lr"}
  ]
}`)
	tokenFile := filepath.Join(t.TempDir(), "token")
	writeFile(t, tokenFile, "0123456789abcdef-secret\n")
	d := startServe(t, []string{"PREDICTD_MAX_INSTANCES=5", "PREDICTD_ADMIN_TOKEN_FILE=" + tokenFile}, "--config", cfg)
	c := d.client(false)
	u := func(p string) string { return d.url(false, p) }
	wineRow := `[1.2, 1.9, 4.2, -0.1, 3.9, 2.0, null, 1.6, 0.8, -2.4]`

	check := func(name string, code int, body []byte, wantCode int, wantText ...string) {
		t.Helper()
		if code != wantCode {
			t.Errorf("%s: status %d, want %d (body %s)", name, code, wantCode, body)
		}
		for _, w := range wantText {
			if !strings.Contains(string(body), w) {
				t.Errorf("%s: body %s does not contain %q", name, body, w)
			}
		}
	}
	code, body := do(t, c, "POST", u("/v1/models/wine/labels/old:predict"), `{"instances": [`+wineRow+`]}`)
	check("predict by config label", code, body, 200, `"model_version":"1"`)
	code, body = do(t, c, "POST", u("/v1/models/wine:predict"), `{"instances": [`+wineRow+`]}`)
	check("predict latest", code, body, 200, `"model_version":"2"`)
	code, body = do(t, c, "POST", u("/v1/models/wine/versions/1:predict"), `{"instances": [`+wineRow+`]}`)
	check("predict version 1 (latest 2 keeps it)", code, body, 200, `"model_version":"1"`)
	code, body = do(t, c, "POST", u("/v1/models/wine/versions/7:predict"), `{"instances": [`+wineRow+`]}`)
	check("unknown version", code, body, 404, "7")
	code, body = do(t, c, "POST", u("/v2/models/nope/infer"), `{"inputs": []}`)
	check("unknown model", code, body, 404, "nope")
	code, body = do(t, c, "POST", u("/v1/models/wine:predict"), `{"instances": [`+wineRow+`, [1, 2]]}`)
	check("short instance", code, body, 400, "instance 1")
	code, body = do(t, c, "POST", u("/v1/models/lr:predict"), `{"instances": [{"mean_radius": null}]}`)
	check("null into a linear model", code, body, 400, "instance 0")
	code, body = do(t, c, "POST", u("/v1/models/wine:predict"), `{"instances": [`+wineRow+`,]}`)
	check("malformed JSON", code, body, 400, "byte")
	rows := strings.Repeat(wineRow+",", 5) + wineRow
	code, body = do(t, c, "POST", u("/v1/models/wine:predict"), `{"instances": [`+rows+`]}`)
	check("6 instances over PREDICTD_MAX_INSTANCES=5", code, body, 413, "5")
	code, body = do(t, c, "POST", u("/v1/models/wine:predict"), `{"instances": [`+wineRow+`], "pad": "`+strings.Repeat("x", 70000)+`"}`)
	check("body over max_body_bytes", code, body, 413, "65536")
	code, body = do(t, c, "GET", u("/v1/models/wine:predict"), nil)
	check("GET on predict", code, body, 405, "POST")

	code, body = do(t, c, "GET", u("/v2/models/wine"), nil)
	check("OIP metadata", code, body, 200, `"input"`, `"output"`, `"shape":[-1,10]`)
	code, body = do(t, c, "GET", u("/v2/models/wine/versions/1/ready"), nil)
	check("OIP version ready", code, body, 200)
	code, body = do(t, c, "GET", u("/v2/health/ready"), nil)
	check("OIP server ready", code, body, 200)

	// Admin: token required, then label, unload, load, reload.
	code, body = do(t, c, "POST", u("/v1/admin/reload"), nil)
	check("admin without token", code, body, 401, "Bearer")
	code, body = do(t, c, "POST", u("/v1/admin/reload"), nil, "Authorization", "Bearer wrong-token-0000000")
	check("admin with a wrong token", code, body, 401)
	auth := []string{"Authorization", "Bearer 0123456789abcdef-secret"}
	code, body = do(t, c, "POST", u("/v1/admin/models/wine/labels/canary"), `{"version": 2}`, auth...)
	check("set label", code, body, 200)
	code, body = do(t, c, "POST", u("/v1/models/wine/labels/canary:predict"), `{"instances": [`+wineRow+`]}`)
	check("predict by admin label", code, body, 200, `"model_version":"2"`)
	code, body = do(t, c, "POST", u("/v1/admin/models/wine/versions/1/unload"), nil, auth...)
	check("unload version 1", code, body, 200)
	code, body = do(t, c, "POST", u("/v1/models/wine/versions/1:predict"), `{"instances": [`+wineRow+`]}`)
	check("predict an unloaded version", code, body, 404)
	code, body = do(t, c, "POST", u("/v1/admin/models/wine/versions/2/unload"), nil, auth...)
	check("unload the last available version", code, body, 409)
	code, body = do(t, c, "POST", u("/v1/admin/models/wine/versions/1/load"), nil, auth...)
	check("load version 1 again", code, body, 200)
	code, body = do(t, c, "POST", u("/v1/models/wine/versions/1:predict"), `{"instances": [`+wineRow+`]}`)
	check("predict the reloaded version", code, body, 200, `"model_version":"1"`)
	code, body = do(t, c, "POST", u("/v1/admin/reload"), nil, auth...)
	check("reload", code, body, 200)

	code, body = do(t, c, "GET", u("/metrics"), nil)
	// Version 1 was unloaded (its series removed) and loaded again: its
	// counters start over, at the one request since.
	check("metrics", code, body, 200)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64 // -1: at least 1
	}{
		{"predictd_requests_total", []string{"model", "wine", "version", "1", "api", "v1", "code", "200"}, 1},
		{"predictd_requests_total", []string{"model", "wine", "version", "2", "api", "v1", "code", "413"}, 1},
		{"predictd_requests_total", []string{"model", "wine", "version", "2", "api", "v1", "code", "200"}, 2},
		{"predictd_request_duration_seconds", []string{"model", "wine", "version", "2", "api", "v1"}, -1},
		{"predictd_model_version_state", []string{"model", "wine", "version", "2", "state", "AVAILABLE"}, 1},
		{"predictd_body_too_large_total", nil, 1},
	} {
		if got := sampleValue(t, body, c.name, c.labels...); got != c.want && !(c.want < 0 && got >= 1) {
			t.Errorf("/metrics: %s%q = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

// TestServeStartupErrors checks that bad settings stop the daemon at once
// with a message naming the setting.
func TestServeStartupErrors(t *testing.T) {
	repo := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "bad.json")
	writeFile(t, cfg, "{\n  \"repo\": \""+repo+"\",\n  \"max_instance\": 5\n}")
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no repo", nil, nil, "--repo"},
		{"typo in config", nil, []string{"--config", cfg}, `line 3: unknown key "max_instance"`},
		{"bad env value", []string{"PREDICTD_MAX_CONCURRENT=lots"}, []string{"--repo", repo}, "PREDICTD_MAX_CONCURRENT"},
		{"short admin token", []string{"PREDICTD_ADMIN_TOKEN=short"}, []string{"--repo", repo}, "admin token"},
		{"missing repo folder", nil, []string{"--repo", filepath.Join(repo, "nope")}, "nope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0"}, c.args...)...)
			cmd.Env = append(os.Environ(), c.env...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("serve %v: err %v, want a non-zero exit\n%s", c.args, err, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Errorf("serve %v said %q, want it to contain %q", c.args, out, c.want)
			}
		})
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestServeSIGHUP checks that with polling off a new version is picked up
// on SIGHUP, and not before.
func TestServeSIGHUP(t *testing.T) {
	repo := t.TempDir()
	in := fixture.Path("native", "logreg_binary.model.json")
	mustRun(t, "import", "--from", "native", "--in", in, "--repo", repo, "--name", "lr")
	d := startServe(t, nil, "--repo", repo, "--poll-interval", "0")
	mustRun(t, "import", "--from", "native", "--in", in, "--repo", repo, "--name", "lr")
	time.Sleep(200 * time.Millisecond)
	if st := modelStatus(t, d, "lr"); st["2"] != "" {
		t.Fatalf("version 2 is %s before SIGHUP with polling off", st["2"])
	}
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "version 2 after SIGHUP", func() bool { return modelStatus(t, d, "lr")["2"] == "AVAILABLE" })
}

// TestServeBatchedConcurrentParity forces every request through the
// batcher and sends single-row requests for distinct rows from many
// clients at once, so requests share batches: each answer must be its own
// row's prediction, as predictd score writes it.
func TestServeBatchedConcurrentParity(t *testing.T) {
	repo := t.TempDir()
	rowsPath := fixture.Path("xgboost", "gbtree_binary_logistic_300x6.csv")
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_binary_logistic_300x6.json"), "--repo", repo, "--name", "churn")
	out := filepath.Join(t.TempDir(), "churn.csv")
	mustRun(t, "score", "--repo", repo, "--model", "churn", "--in", rowsPath, "--out", out)
	want := fixture.ReadTable(t, out).Flat()
	rows := fixture.ReadTable(t, rowsPath).Rows
	cfg := filepath.Join(t.TempDir(), "always.json")
	writeFile(t, cfg, `{"models": [{"name": "churn", "batching": {"mode": "always", "max_wait": "2ms", "workers": 1}}]}`)
	d := startServe(t, nil, "--repo", repo, "--config", cfg)

	const clients = 16
	got := make([]float64, len(rows))
	errs := make(chan string, clients)
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := d.client(false)
			for i := w; i < len(rows); i += clients {
				a := make([]any, len(rows[i]))
				for j, v := range rows[i] {
					a[j] = jsonValue(v)
				}
				body, _ := json.Marshal(map[string]any{"instances": [][]any{a}})
				resp, err := c.Post(d.url(false, "/v1/models/churn:predict"), "application/json", bytes.NewReader(body))
				if err != nil {
					errs <- err.Error()
					return
				}
				var r struct {
					Predictions []float64 `json:"predictions"`
				}
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || len(r.Predictions) != 1 {
					errs <- fmt.Sprintf("row %d: status %d, %v, %v", i, resp.StatusCode, r.Predictions, err)
					return
				}
				got[i] = r.Predictions[0]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	bad := 0
	for i := range got {
		if got[i] != want[i] {
			if bad < 5 {
				t.Errorf("row %d: served %v, score wrote %v", i, got[i], want[i])
			}
			bad++
		}
	}
	code, m := do(t, d.client(false), "GET", d.url(false, "/metrics"), nil)
	var batches, batchRows float64
	for _, line := range strings.Split(string(m), "\n") {
		if strings.HasPrefix(line, `predictd_batch_rows_count{model="churn"`) {
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &batches)
		}
		if strings.HasPrefix(line, `predictd_batch_rows_sum{model="churn"`) {
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &batchRows)
		}
	}
	if code != 200 || batchRows != float64(len(rows)) {
		t.Errorf("/metrics: %d, batches carried %v rows, want all %d requests' rows through the batcher", code, batchRows, len(rows))
	}
	if batches >= float64(len(rows)) {
		t.Errorf("%v batches for %d single-row requests: no request shared a batch, so the test proved nothing about ordering", batches, len(rows))
	}
	t.Logf("%d rows in %v batches (%.2f rows a batch), %d differ", len(rows), batches, batchRows/max(batches, 1), bad)
}

// TestServeClientGoneWhileQueued queues a request behind a long batch and
// closes its connection: the request is not computed, and the batcher
// counts it as gone.
func TestServeClientGoneWhileQueued(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "onnx", "--in", fixture.Path("onnx", "mlp512_softmax.onnx"), "--repo", repo, "--name", "mlp")
	cfg := filepath.Join(t.TempDir(), "c.json")
	writeFile(t, cfg, `{"models": [{"name": "mlp", "batching": {"mode": "always", "workers": 1, "max_batch_size": 8192, "max_queue": 16384}}]}`)
	d := startServe(t, nil, "--repo", repo, "--config", cfg, "--max-body-bytes", "100000000")
	tab := fixture.ReadTable(t, fixture.Path("onnx", "mlp512_softmax.csv"))
	row := func(i int) []any {
		a := make([]any, len(tab.Rows[i%len(tab.Rows)]))
		for j, v := range tab.Rows[i%len(tab.Rows)] {
			a[j] = v
		}
		return a
	}
	var big [][]any
	for i := 0; i < 8000; i++ {
		big = append(big, row(i))
	}
	bigBody, _ := json.Marshal(map[string]any{"instances": big})
	smallBody, _ := json.Marshal(map[string]any{"instances": [][]any{row(0)}})

	// Teach the batcher's cost fit what one row costs, so it does not take
	// a single row for a call cheap enough to run beside the long batch.
	for i := 0; i < 20; i++ {
		if code, body := do(t, d.client(false), "POST", d.url(false, "/v1/models/mlp:predict"), smallBody); code != 200 {
			t.Fatalf("warm-up request: %d %s", code, body)
		}
	}
	bigDone := make(chan int, 1)
	go func() {
		resp, err := d.client(false).Post(d.url(false, "/v1/models/mlp:predict"), "application/json", bytes.NewReader(bigBody))
		if err != nil {
			bigDone <- -1
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		bigDone <- resp.StatusCode
	}()
	metrics := func() string {
		_, m := do(t, d.client(false), "GET", d.url(false, "/metrics"), nil)
		return string(m)
	}
	// Before its batch starts it may still be being decoded.
	waitFor(t, "the long batch to be computing", func() bool {
		return strings.Contains(metrics(), `predictd_batch_busy{model="mlp",version="1"} 1`)
	})
	// The small request, on a raw connection closed while it is queued.
	conn, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /v1/models/mlp:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(smallBody), smallBody)
	waitFor(t, "the small request to queue", func() bool {
		m := metrics()
		select {
		case code := <-bigDone:
			t.Fatalf("the long request finished (%d) before the small one was seen queued:\n%s\n%s", code, grepLines(m, "predictd_batch"), grepLines(m, "predictd_inflight"))
		default:
		}
		return strings.Contains(m, `predictd_batch_queued_rows{model="mlp",version="1"} 1`)
	})
	conn.Close()
	if code := <-bigDone; code != 200 {
		t.Fatalf("the long request: status %d, want 200", code)
	}
	waitFor(t, "the gone request to be counted", func() bool {
		return strings.Contains(metrics(), `predictd_batch_gone_total{model="mlp",version="1"} 1`)
	})
	m := metrics()
	if !strings.Contains(m, `predictd_batch_rows_sum{model="mlp",version="1"} 8020`) {
		t.Errorf("the batcher computed rows beyond the warm-up's 20 and the long request's 8000:\n%s", grepLines(m, "predictd_batch_rows_sum"))
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeFeatures pushes feature rows to the daemon's embedded store,
// reads them back with their age and status, checks a bad push is refused
// whole, and restarts the daemon to see that acknowledged writes survive.
func TestServeFeatures(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", "lr")
	store := "pebble:" + filepath.Join(t.TempDir(), "features")
	args := []string{"--repo", repo, "--features", fixture.Path("features", "demo.yaml"), "--store", store}
	d := startServe(t, nil, args...)
	c := d.client(false)
	now := time.Now().UTC()
	row := func(entity string, at time.Time, spend any) map[string]any {
		return map[string]any{"entity": entity, "event_time": at.Format(time.RFC3339Nano),
			"values": map[string]any{"spend_7d": spend, "orders_30d": 3, "segment": nil}}
	}
	code, body := do(t, c, "POST", d.url(false, "/v1/features/user_stats"), map[string]any{"rows": []any{
		row("u1", now.Add(-time.Hour), 12.5), row("u2", now.Add(-48*time.Hour), 7.0),
	}})
	if code != 200 || !strings.Contains(string(body), `"written":2`) {
		t.Fatalf("push: %d %s", code, body)
	}
	// An older event for u1 is skipped, not written over the newer one.
	code, body = do(t, c, "POST", d.url(false, "/v1/features/user_stats"), map[string]any{"rows": []any{row("u1", now.Add(-2*time.Hour), 99.0)}})
	if code != 200 || !strings.Contains(string(body), `"skipped":1`) {
		t.Errorf("push of an older event: %d %s, want it skipped", code, body)
	}
	// A bad row refuses the whole batch, naming the row and field.
	code, body = do(t, c, "POST", d.url(false, "/v1/features/user_stats"), map[string]any{"rows": []any{row("u3", now, 1.0), row("u4", now, "lots")}})
	if code != 400 || !strings.Contains(string(body), `row 1: feature \"spend_7d\"`) {
		t.Errorf("bad push: %d %s, want 400 naming row 1 and spend_7d", code, body)
	}
	lookup := func(d *daemon, entity string) map[string]any {
		t.Helper()
		code, body := do(t, d.client(false), "GET", d.url(false, "/v1/features/user_stats/"+entity), nil)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", entity, code, body)
		}
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(d *daemon) {
		t.Helper()
		u1 := lookup(d, "u1")
		if u1["status"] != "present" || u1["values"].(map[string]any)["spend_7d"] != 12.5 {
			t.Errorf("u1: %v, want present with spend_7d 12.5", u1)
		}
		if age, _ := u1["age_seconds"].(float64); age < 3500 || age > 3700+60 {
			t.Errorf("u1 age %v s, want about an hour", u1["age_seconds"])
		}
		if u2 := lookup(d, "u2"); u2["status"] != "expired" || u2["values"].(map[string]any)["spend_7d"] != 0.0 {
			t.Errorf("u2 (48h old, TTL 24h): %v, want expired with the default 0", u2)
		}
		if u3 := lookup(d, "u3"); u3["status"] != "missing" {
			t.Errorf("u3 (its batch was refused): %v, want missing", u3)
		}
	}
	check(d)
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-d.done
	check(startServe(t, nil, args...))
}

// TestMaterialize bulk-loads an offline file into the embedded store with
// the real binary, then serves it: the latest row per entity at or before
// --until is what the daemon reads.
func TestMaterialize(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "native", "--in", fixture.Path("native", "logreg_binary.model.json"), "--repo", repo, "--name", "lr")
	store := "pebble:" + filepath.Join(t.TempDir(), "features")
	defs := fixture.Path("features", "demo.yaml")
	now := time.Now().UTC()
	at := func(h int) string { return now.Add(time.Duration(-h) * time.Hour).Format(time.RFC3339) }
	csvPath := filepath.Join(t.TempDir(), "user_stats.csv")
	writeFile(t, csvPath, "user_id,event_time,spend_7d,orders_30d,segment\n"+
		"u1,"+at(5)+",10,1,2\n"+
		"u1,"+at(3)+",30,3,2\n"+
		"u1,"+at(-1)+",99,9,9\n"+ // after --until: ignored
		"u2,"+at(4)+",NA,0,1\n")
	out := mustRun(t, "materialize", "--features", defs, "--view", "user_stats", "--in", csvPath, "--store", store, "--until", now.Format(time.RFC3339))
	if !strings.Contains(out, "4 rows, 1 after --until ignored, 2 entities: 2 written") {
		t.Errorf("materialize said %q", out)
	}
	// The same from Parquet (a timestamp column, a nullable int): u3.
	type userStats struct {
		UserID    string    `parquet:"user_id"`
		EventTime time.Time `parquet:"event_time,timestamp(microsecond)"`
		Spend7d   float64   `parquet:"spend_7d"`
		Orders30d *int64    `parquet:"orders_30d,optional"`
		Segment   int32     `parquet:"segment"`
	}
	pqPath := filepath.Join(t.TempDir(), "user_stats.parquet")
	pf, err := os.Create(pqPath)
	if err != nil {
		t.Fatal(err)
	}
	pw := parquet.NewGenericWriter[userStats](pf)
	if _, err := pw.Write([]userStats{
		{"u3", now.Add(-2 * time.Hour), 7.5, nil, 1},
		{"u3", now.Add(-6 * time.Hour), 70, nil, 1},
		{"u3", now.Add(time.Hour), 700, nil, 1}, // after --until: ignored
	}); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pf.Close(); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "materialize", "--features", defs, "--view", "user_stats", "--in", pqPath, "--store", store, "--until", now.Format(time.RFC3339))
	if !strings.Contains(out, "3 rows, 1 after --until ignored, 1 entities: 1 written") {
		t.Errorf("materialize (Parquet) said %q", out)
	}
	r := predictd(t, "materialize", "--features", defs, "--view", "nope", "--in", csvPath, "--store", store)
	if r.code != 2 || !strings.Contains(r.stderr, `--view "nope"`) {
		t.Errorf("unknown view: exit %d, %q", r.code, r.stderr)
	}
	d := startServe(t, nil, "--repo", repo, "--features", defs, "--store", store)
	code, body := do(t, d.client(false), "GET", d.url(false, "/v1/features/user_stats/u1"), nil)
	if code != 200 || !strings.Contains(string(body), `"spend_7d":30`) || !strings.Contains(string(body), `"status":"present"`) {
		t.Errorf("u1 after materialize: %d %s, want the row of 3 hours ago (spend 30)", code, body)
	}
	code, body = do(t, d.client(false), "GET", d.url(false, "/v1/features/user_stats/u2"), nil)
	if code != 200 || !strings.Contains(string(body), `"spend_7d":null`) {
		t.Errorf("u2 after materialize: %d %s, want spend_7d missing (null)", code, body)
	}
	code, body = do(t, d.client(false), "GET", d.url(false, "/v1/features/user_stats/u3"), nil)
	if code != 200 || !strings.Contains(string(body), `"spend_7d":7.5`) || !strings.Contains(string(body), `"orders_30d":null`) {
		t.Errorf("u3 after materialize from Parquet: %d %s, want the row of 2 hours ago (spend 7.5, orders missing)", code, body)
	}
}
