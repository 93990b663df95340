package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/predictd/predictd/internal/fixture"
	"github.com/predictd/predictd/wire/kservepb"
)

var grpcServingOn = regexp.MustCompile(`serving gRPC \(KServe v2\) on (127\.0\.0\.1:\d+)`)

// grpcDial connects a gRPC client, generated from wire/kservepb's .proto,
// to target (host:port or unix:PATH).
func grpcDial(t *testing.T, target string) kservepb.GRPCInferenceServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return kservepb.NewGRPCInferenceServiceClient(conn)
}

// grpcAddr is the TCP address the daemon logged serving gRPC on.
func (d *daemon) grpcAddr() string {
	d.t.Helper()
	m := grpcServingOn.FindStringSubmatch(d.log.String())
	if m == nil {
		d.t.Fatalf("predictd serve --grpc-listen logged no gRPC address:\n%s", d.log.String())
	}
	return m[1]
}

// fp64Request is rows as the OIP 2-D input, FP64, over gRPC (NaN, a
// missing value, as itself) and as the HTTP JSON body (NaN as null).
func fp64Request(model string, rows [][]float64) (*kservepb.ModelInferRequest, map[string]any) {
	var flat []float64
	var data []any
	for _, r := range rows {
		flat = append(flat, r...)
		for _, v := range r {
			data = append(data, jsonValue(v))
		}
	}
	shape := []int64{int64(len(rows)), int64(len(rows[0]))}
	req := &kservepb.ModelInferRequest{ModelName: model, Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{
		Name: "input", Datatype: "FP64", Shape: shape, Contents: &kservepb.InferTensorContents{Fp64Contents: flat}}}}
	body := map[string]any{"inputs": []any{map[string]any{"name": "input", "datatype": "FP64", "shape": shape, "data": data}}}
	return req, body
}

// TestGRPCServeE2E runs the real binary with --grpc-listen and
// --grpc-unix beside HTTP and calls it with a Go client generated from the
// same .proto: ServerLive and ServerReady; ModelMetadata as GET
// /v2/models/churn says; ModelInfer of 1 and 64 rows of the XGBoost
// fixture equal to the HTTP OIP answer for the same rows bit for bit, over
// TCP and the Unix socket; an unknown input is InvalidArgument with the
// HTTP 400's text; a 1ms deadline on a big request is DeadlineExceeded;
// /metrics counts the calls under api="grpc"; SIGTERM lets a call in
// flight finish with its answer and the process exits 0.
func TestGRPCServeE2E(t *testing.T) {
	repo := t.TempDir()
	mustRun(t, "import", "--from", "xgboost", "--in", fixture.Path("xgboost", "gbtree_binary_logistic_300x6.json"), "--repo", repo, "--name", "churn")
	sock := filepath.Join(t.TempDir(), "grpc.sock")
	d := startServe(t, nil, "--repo", repo, "--grpc-listen", "127.0.0.1:0", "--grpc-unix", sock,
		"--max-instances", "100000", "--max-body-bytes", "100000000")
	tcp := grpcDial(t, d.grpcAddr())
	unix := grpcDial(t, "unix:"+sock)
	c := d.client(false)
	bg := context.Background()

	for name, cl := range map[string]kservepb.GRPCInferenceServiceClient{"tcp": tcp, "unix": unix} {
		if r, err := cl.ServerLive(bg, &kservepb.ServerLiveRequest{}); err != nil || !r.GetLive() {
			t.Errorf("%s: ServerLive = %v, %v; want live", name, r, err)
		}
		if r, err := cl.ServerReady(bg, &kservepb.ServerReadyRequest{}); err != nil || !r.GetReady() {
			t.Errorf("%s: ServerReady = %v, %v; want ready", name, r, err)
		}
	}
	md, err := tcp.ModelMetadata(bg, &kservepb.ModelMetadataRequest{Name: "churn"})
	if err != nil {
		t.Fatal(err)
	}
	_, mdBody := do(t, c, "GET", d.url(false, "/v2/models/churn"), nil)
	var wantMD struct {
		Name     string   `json:"name"`
		Versions []string `json:"versions"`
		Inputs   []struct {
			Name     string  `json:"name"`
			Datatype string  `json:"datatype"`
			Shape    []int64 `json:"shape"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(mdBody, &wantMD); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(md.GetName(), md.GetVersions(), md.GetInputs()[0].GetName(), md.GetInputs()[0].GetShape()),
		fmt.Sprint(wantMD.Name, wantMD.Versions, wantMD.Inputs[0].Name, wantMD.Inputs[0].Shape); got != want {
		t.Errorf("ModelMetadata(churn) = %s, GET /v2/models/churn says %s", got, want)
	}

	tab := fixture.ReadTable(t, fixture.Path("xgboost", "gbtree_binary_logistic_300x6.csv"))
	for _, n := range []int{1, 64} {
		req, body := fp64Request("churn", tab.Rows[:n])
		code, out := do(t, c, "POST", d.url(false, "/v2/models/churn/infer"), body)
		var want struct {
			Outputs []struct {
				Data []float64 `json:"data"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(out, &want); code != 200 || err != nil {
			t.Fatalf("HTTP infer %d rows: %d %s", n, code, out)
		}
		for name, cl := range map[string]kservepb.GRPCInferenceServiceClient{"tcp": tcp, "unix": unix} {
			resp, err := cl.ModelInfer(bg, req)
			if err != nil {
				t.Fatalf("%s: ModelInfer %d rows: %v", name, n, err)
			}
			got := resp.GetOutputs()[0].GetContents().GetFp64Contents()
			if len(got) != n {
				t.Fatalf("%s: ModelInfer %d rows: %d predictions", name, n, len(got))
			}
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want.Outputs[0].Data[i]) {
					t.Errorf("%s: %d rows: prediction %d = %v over gRPC, %v over HTTP", name, n, i, got[i], want.Outputs[0].Data[i])
				}
			}
		}
	}

	bad, badBody := fp64Request("churn", tab.Rows[:1])
	bad.Inputs[0].Name = "x"
	badBody["inputs"].([]any)[0].(map[string]any)["name"] = "x"
	code, out := do(t, c, "POST", d.url(false, "/v2/models/churn/infer"), badBody)
	var httpErr struct{ Error string }
	json.Unmarshal(out, &httpErr)
	_, err = tcp.ModelInfer(bg, bad)
	if st, _ := status.FromError(err); code != 400 || st.Code() != codes.InvalidArgument || st.Message() != httpErr.Error || httpErr.Error == "" {
		t.Errorf("unknown input: gRPC %v %q, HTTP %d %s; want InvalidArgument with HTTP 400's text", st.Code(), st.Message(), code, out)
	}

	// A big request, for the deadline and the drain.
	var big [][]float64
	for len(big) < 40000 {
		big = append(big, tab.Rows...)
	}
	bigReq, _ := fp64Request("churn", big)
	ctx, cancel := context.WithTimeout(bg, time.Millisecond)
	_, err = tcp.ModelInfer(ctx, bigReq)
	cancel()
	if status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("%d rows with a 1ms deadline: %v, want DeadlineExceeded", len(big), err)
	}
	_, metrics := do(t, c, "GET", d.url(false, "/metrics"), nil)
	for _, want := range []string{`predictd_requests_total{api="grpc",code="200",model="churn",version="1"} 4`, `predictd_requests_total{api="grpc",code="400",model="churn",version="1"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	type answer struct {
		n   int
		err error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := tcp.ModelInfer(bg, bigReq)
		got <- answer{len(resp.GetOutputs()[0].GetContents().GetFp64Contents()), err}
	}()
	for {
		_, m := do(t, c, "GET", d.url(false, "/metrics"), nil)
		if strings.Contains(string(m), "predictd_inflight_requests 1") {
			break
		}
		select {
		case a := <-got:
			t.Fatalf("the long call was answered before SIGTERM could be sent: %+v", a)
		case <-time.After(time.Millisecond):
		}
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	a := <-got
	<-d.done
	if a.err != nil || a.n != len(big) {
		t.Errorf("call in flight at SIGTERM: %d predictions, %v; want %d", a.n, a.err, len(big))
	}
	if d.err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", d.err)
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Errorf("the gRPC socket %s still answers after exit", sock)
	}
}

// TestGRPCServeFlags: --grpc-listen takes host:port or unix:PATH (the
// same as --grpc-unix PATH), PREDICTD_GRPC_LISTEN and the config file's
// grpc_listen and grpc_unix set them as for every flag, and the
// combinations that cannot work are refused naming the flags; gRPC comes
// beside HTTP, never alone.
func TestGRPCServeFlags(t *testing.T) {
	repo := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "predictd.json")
	writeFile(t, cfgFile, `{"grpc_listen": "127.0.0.1:9002", "grpc_unix": "/run/q.sock"}`)
	for _, c := range []struct {
		name       string
		env        string
		args       []string
		tcp, unix  string
		wantErrSub string
	}{
		{"tcp", "", []string{"--grpc-listen", "127.0.0.1:9000"}, "127.0.0.1:9000", "", ""},
		{"unix: form", "", []string{"--grpc-listen", "unix:/run/p.sock"}, "", "/run/p.sock", ""},
		{"--grpc-unix", "", []string{"--grpc-listen", "127.0.0.1:9000", "--grpc-unix", "/run/p.sock"}, "127.0.0.1:9000", "/run/p.sock", ""},
		{"env", "127.0.0.1:9001", nil, "127.0.0.1:9001", "", ""},
		{"config file", "", []string{"--config", cfgFile}, "127.0.0.1:9002", "/run/q.sock", ""},
		{"off by default", "", nil, "", "", ""},
		{"unix: without a path", "", []string{"--grpc-listen", "unix:"}, "", "", "--grpc-listen unix: needs a socket path"},
		{"two sockets", "", []string{"--grpc-listen", "unix:/a", "--grpc-unix", "/b"}, "", "", "give one Unix socket for gRPC"},
		{"gRPC alone", "", []string{"--listen", "", "--grpc-listen", "127.0.0.1:9000"}, "", "", "nothing to serve on: give --listen, --unix or both"},
		{"shared with HTTP", "", []string{"--unix", "/s", "--grpc-unix", "/s"}, "", "", "--grpc-unix /s is --unix too"},
	} {
		t.Setenv("PREDICTD_GRPC_LISTEN", c.env) // restored when t ends
		if c.env == "" {
			os.Unsetenv("PREDICTD_GRPC_LISTEN")
		}
		cfg, err := parseServe(append([]string{"--repo", repo}, c.args...), io.Discard)
		switch {
		case c.wantErrSub != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErrSub) {
				t.Errorf("%s: serve %v: error %v, want one containing %q", c.name, c.args, err, c.wantErrSub)
			}
		case err != nil:
			t.Errorf("%s: serve %v: %v", c.name, c.args, err)
		case cfg.grpcListen != c.tcp || cfg.grpcUnix != c.unix:
			t.Errorf("%s: serve %v (PREDICTD_GRPC_LISTEN %q): grpc listen %q unix %q, want %q and %q", c.name, c.args, c.env, cfg.grpcListen, cfg.grpcUnix, c.tcp, c.unix)
		}
	}
}
