package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/predictd/predictd/wire/kservepb"
)

// BenchmarkAPIs measures whole requests over loopback TCP, client and
// server in this process, with the same model ("trees": XGBoost, 10
// features, 4 classes) and the same rows, through each API: HTTP OIP JSON,
// HTTP with the binary tensor data extension (FP64 in and out), gRPC with
// typed contents (fp64_contents) and gRPC with raw_input_contents. 8
// clients at once (RunParallel, parallelism 4 per core). It reports req/s
// and rows/s, and for each API beside JSON vs_json: its req/s over that of
// as many HTTP JSON requests from 8 clients made right after it, on the
// same load (the machine is shared: a ratio of runs minutes apart would
// measure the neighbours).
func BenchmarkAPIs(b *testing.B) {
	s := newTestServer(b, Options{})
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(httpLn)
	go s.ServeGRPC(grpcLn)
	b.Cleanup(func() { s.Shutdown(context.Background()) })
	conn, err := grpc.NewClient(grpcLn.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	gc := kservepb.NewGRPCInferenceServiceClient(conn)
	hc := &fasthttp.HostClient{Addr: httpLn.Addr().String(), MaxConns: 64, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

	base := grpcRows["trees"][1] // no missing value
	for _, rows := range []int{1, 64} {
		vals := make([]float64, 0, rows*len(base))
		for i := range rows {
			for k, v := range base {
				vals = append(vals, float64(v)+float64(i*k)/100)
			}
		}
		shape := []int64{int64(rows), int64(len(base))}
		text := make([]string, len(vals))
		var raw []byte
		for i, v := range vals {
			text[i] = strconv.FormatFloat(v, 'g', -1, 64)
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
		jsonBody := fmt.Sprintf(`{"inputs":[{"name":"input","datatype":"FP64","shape":[%d,%d],"data":[%s]}]}`, rows, len(base), strings.Join(text, ","))
		head := fmt.Sprintf(`{"inputs":[{"name":"input","datatype":"FP64","shape":[%d,%d],"parameters":{"binary_data_size":%d}}],"parameters":{"binary_data_output":true}}`, rows, len(base), len(raw))
		binBody := append([]byte(head), raw...)
		typed := &kservepb.ModelInferRequest{ModelName: "trees", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{
			Name: "input", Datatype: "FP64", Shape: shape, Contents: &kservepb.InferTensorContents{Fp64Contents: vals}}}}
		rawReq := &kservepb.ModelInferRequest{ModelName: "trees", Inputs: []*kservepb.ModelInferRequest_InferInputTensor{{
			Name: "input", Datatype: "FP64", Shape: shape}}, RawInputContents: [][]byte{raw}}

		httpCall := func(body []byte, header string) func() error {
			return func() error {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.SetRequestURI("http://" + hc.Addr + "/v2/models/trees/infer")
				req.Header.SetMethod("POST")
				if header != "" {
					req.Header.Set("Inference-Header-Content-Length", header)
				}
				req.SetBodyRaw(body)
				if err := hc.Do(req, resp); err != nil {
					return err
				}
				if resp.StatusCode() != 200 {
					return fmt.Errorf("HTTP %d %s", resp.StatusCode(), resp.Body())
				}
				return nil
			}
		}
		grpcCall := func(m *kservepb.ModelInferRequest) func() error {
			return func() error {
				_, err := gc.ModelInfer(context.Background(), m)
				return err
			}
		}
		jsonCall := httpCall([]byte(jsonBody), "")
		for _, api := range []struct {
			name string
			call func() error
		}{
			{"http-json", jsonCall},
			{"http-binary", httpCall(binBody, strconv.Itoa(len(head)))},
			{"grpc", grpcCall(typed)},
			{"grpc-raw", grpcCall(rawReq)},
		} {
			b.Run(fmt.Sprintf("rows=%d/api=%s", rows, api.name), func(b *testing.B) {
				if err := api.call(); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetParallelism(4)
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := api.call(); err != nil {
							b.Error(err)
							return
						}
					}
				})
				rate := float64(b.N) / time.Since(start).Seconds()
				b.ReportMetric(rate, "req/s")
				b.ReportMetric(rate*float64(rows), "rows/s")
				if api.name == "http-json" {
					return
				}
				// The peer, paired: as many JSON requests, right after
				// the run above, on the same load.
				b.StopTimer()
				b.ReportMetric(rate/parallelRate(b, 8, b.N, jsonCall), "vs_json")
			})
		}
	}
}

// parallelRate makes n calls from conc goroutines and returns calls per
// second.
func parallelRate(b *testing.B, conc, n int, call func() error) float64 {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := call(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds()
}
