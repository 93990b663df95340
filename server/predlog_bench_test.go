package server

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/monitor/predlog"
)

// BenchmarkPredictionLog measures TF Serving requests for "lr" (one row,
// 10 inputs, all logged) over loopback HTTP, client and server in this
// process, 8 clients at once, with the prediction log on at each sample
// rate. It reports req/s and p99 latency (p99_us), and beside them, from
// a server without a log, the same count of requests made right after on
// the same load (the machine is shared): off_req/s, off_p99_us and
// vs_off, the logging server's req/s over the other's.
func BenchmarkPredictionLog(b *testing.B) {
	fields := lrFeatures(b)
	serve := func(l *predlog.Log) *fasthttp.HostClient {
		s := newTestServer(b, Options{PredictionLog: l})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go s.Serve(ln)
		b.Cleanup(func() { s.Shutdown(context.Background()) })
		return &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 64, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	}
	off := serve(nil)
	body := []byte(`{"instances": [` + lrRow + `]}`)
	for _, rate := range []float64{0.01, 0.1, 1} {
		opts := predlog.DefaultOptions()
		opts.Dir, opts.Default = b.TempDir(), predlog.Policy{SampleRate: rate, Fields: fields}
		l, err := predlog.New(opts)
		if err != nil {
			b.Fatal(err)
		}
		on := serve(l)
		b.Run(fmt.Sprintf("rate=%v", rate), func(b *testing.B) {
			pairedLoad(b, on, off, body)
		})
		st := l.Stats()
		if err := l.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Logf("rate %v: logged %d, dropped %d, sampled out %d", rate, st.Logged, st.Dropped, st.SampledOut)
	}
}

type loadResult struct {
	rate float64
	p99  time.Duration
}

// loadRun makes n TF Serving requests for lr from conc goroutines and
// returns the rate and the p99 latency.
func loadRun(hc *fasthttp.HostClient, body []byte, conc, n int) (loadResult, error) {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		lats  = make([]time.Duration, 0, n)
		first error
	)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var mine []time.Duration
			for next.Add(1) <= int64(n) {
				req.SetRequestURI("http://" + hc.Addr + "/v1/models/lr:predict")
				req.Header.SetMethod("POST")
				req.SetBodyRaw(body)
				t0 := time.Now()
				err := hc.Do(req, resp)
				mine = append(mine, time.Since(t0))
				if err == nil && resp.StatusCode() != 200 {
					err = fmt.Errorf("HTTP %d %s", resp.StatusCode(), resp.Body())
				}
				if err != nil {
					mu.Lock()
					first = cmpErr(first, err)
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			lats = append(lats, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	took := time.Since(start)
	slices.Sort(lats)
	r := loadResult{rate: float64(n) / took.Seconds()}
	if len(lats) > 0 {
		r.p99 = lats[min(len(lats)-1, len(lats)*99/100)]
	}
	return r, first
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// pairedLoad measures b.N requests of body on the server on, with 8
// clients, then as many on off right after, and reports both rates, both
// p99s and their ratio (vs_off): one paired run on the same load.
func pairedLoad(b *testing.B, on, off *fasthttp.HostClient, body []byte) {
	b.Helper()
	if _, err := loadRun(on, body, 8, 1); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	onRes, err := loadRun(on, body, 8, b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	offRes, err := loadRun(off, body, 8, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(onRes.rate, "req/s")
	b.ReportMetric(float64(onRes.p99.Microseconds()), "p99_us")
	b.ReportMetric(offRes.rate, "off_req/s")
	b.ReportMetric(float64(offRes.p99.Microseconds()), "off_p99_us")
	b.ReportMetric(onRes.rate/offRes.rate, "vs_off")
}
