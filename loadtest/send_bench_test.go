package loadtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// noop answers every request at once with a one-instance prediction.
func noop(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"predictions":[0.5],"model_version":"1"}`) }

// testClient returns a generator's client for url, ready to send.
func testClient(tb testing.TB, url string, conc int) *generator {
	tb.Helper()
	o, t, err := Options{URL: url, Bodies: bodies(`{"instances":[[1,2,3]]}`, `{"instances":[[4,5,6]]}`), Concurrency: conc}.check()
	if err != nil {
		tb.Fatal(err)
	}
	g := newGenerator(o, t)
	tb.Cleanup(g.client.CloseIdleConnections)
	return g
}

// The per-request path (pick a body, send, wait, classify, record) must not
// allocate once the connection is open: at 100k requests per second the
// generator shares the machine with the server it measures.
func TestSendDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	g := testClient(t, serve(t, noop)+"/v1/models/m:predict", 1)
	c := g.newClient()
	defer c.release()
	now := time.Now()
	c.send(now, now, true) // open the connection
	if n := testing.AllocsPerRun(200, func() { c.send(now, now, true) }); n != 0 {
		t.Errorf("send: %v allocations per request, want 0", n)
	}
	res := Result{Duration: time.Second}
	g.rec.result(&res)
	if res.OK != 202 {
		t.Errorf("OK = %d after 202 sends, want 202", res.OK)
	}
}

var sinkResult Result

// BenchmarkSend measures the generator's cost per request against a
// do-nothing fasthttp server in the same process, beside its peer: a bare
// fasthttp.HostClient doing the same requests (what wrk-like tools reduce
// to). The ratio is the overhead of scheduling, body rotation and
// recording.
func BenchmarkSend(b *testing.B) {
	base := serve(b, noop)
	url := base + "/v1/models/m:predict"
	b.Run("client=loadtest", func(b *testing.B) {
		g := testClient(b, url, 64)
		b.ReportAllocs()
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			c := g.newClient()
			defer c.release()
			for pb.Next() {
				now := time.Now()
				c.send(now, now, true)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
		g.rec.result(&sinkResult)
	})
	b.Run("client=fasthttp", func(b *testing.B) {
		hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(base, "http://"), MaxConns: 64}
		defer hc.CloseIdleConnections()
		body := []byte(`{"instances":[[1,2,3]]}`)
		b.ReportAllocs()
		b.SetParallelism(4)
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod("POST")
			req.SetRequestURI(url)
			req.Header.SetContentType("application/json")
			for pb.Next() {
				req.SetBodyRaw(body)
				if err := hc.DoTimeout(req, resp, DefaultTimeout); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
	})
}

// BenchmarkRecord measures recording one outcome from many goroutines at
// once, each on its own shard as clients are (shared=false), or all on one
// (shared=true: past maxShards clients).
func BenchmarkRecord(b *testing.B) {
	for _, shared := range []bool{false, true} {
		b.Run(fmt.Sprintf("shared=%v", shared), func(b *testing.B) {
			rec := newRecorder(1)
			if !shared {
				rec = newRecorder(maxShards)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				s := rec.shard()
				lat := 1234 * time.Microsecond
				for pb.Next() {
					s.record(lat, 200, "", false)
				}
			})
			res := Result{Duration: time.Second}
			rec.result(&res)
			sinkResult = res
		})
	}
}
