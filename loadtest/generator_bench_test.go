package loadtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkGenerator runs whole closed- and open-loop runs (Run, as
// `predictd loadtest` does) as fast as they go, for a CPU profile of the
// generator: how much of it is the client, the dispatcher, the recording.
// Set LOADTEST_URL to a server in another process (bench/noopserver) so the
// profile holds the generator alone; otherwise it runs against an
// in-process do-nothing server and the profile holds both. One iteration
// is one run of 2s; requests/s is the closed loop's rate, or the open
// loop's at the rate it was asked for (mode=open offers 40000/s).
//
//	go build -o /tmp/noop ./bench/noopserver && /tmp/noop --listen 127.0.0.1:18096 &
//	LOADTEST_URL=http://127.0.0.1:18096/ go test -run - -bench Generator -benchtime 1x -cpuprofile cpu.out ./loadtest/
func BenchmarkGenerator(b *testing.B) {
	url := os.Getenv("LOADTEST_URL")
	if url == "" {
		url = serve(b, noop) + "/v1/models/m:predict"
	}
	for _, tc := range []struct {
		mode  string
		rate  float64
		conns int
	}{
		{"closed", 0, 16},
		{"closed", 0, 64},
		{"open", 40000, 16},
		{"open", 40000, 64},
	} {
		b.Run(fmt.Sprintf("mode=%s/conns=%d", tc.mode, tc.conns), func(b *testing.B) {
			o := Options{
				URL: url, Bodies: bodies(`{"instances": [[0.5, 1.25, -3, 4.5, 0, 12, 7.75, -0.125, 2, 9]]}`),
				Concurrency: tc.conns, Rate: tc.rate, Duration: 2 * time.Second, Warmup: 200 * time.Millisecond,
			}
			var ok, late, unsent uint64
			var took time.Duration
			for b.Loop() {
				r, err := Run(context.Background(), o)
				if err != nil {
					b.Fatal(err)
				}
				ok, late, unsent, took = ok+r.OK, late+r.Late, unsent+r.Unsent, took+r.Duration
				sinkResult = r
			}
			b.ReportMetric(float64(ok)/took.Seconds(), "requests/s")
			if tc.rate > 0 {
				b.ReportMetric(float64(late)/float64(ok), "late/request")
				b.ReportMetric(float64(unsent)/float64(ok+unsent), "unsent/due")
			}
		})
	}
}

// BenchmarkOpenDispatch compares the two ways Run keeps the open loop's
// schedule, at the rate asked (LOADTEST_RATE, default 40000/s) and on the
// same connections: the dispatcher (open: one locked thread sleeps until
// each send is due and hands it over a channel to a free sender) and
// self-scheduled senders (openShared: a free sender takes the next due time
// under a mutex and sleeps until then). Run picks by rate
// (dispatchMaxRate); this measures both at any rate.
func BenchmarkOpenDispatch(b *testing.B) {
	url := os.Getenv("LOADTEST_URL")
	if url == "" {
		url = serve(b, noop) + "/v1/models/m:predict"
	}
	rate := 40000.0
	if s := os.Getenv("LOADTEST_RATE"); s != "" {
		fmt.Sscan(s, &rate)
	}
	for _, conns := range []int{16, 64} {
		for _, how := range []string{"dispatcher", "shared"} {
			b.Run(fmt.Sprintf("how=%s/conns=%d", how, conns), func(b *testing.B) {
				o, tg, err := Options{
					URL: url, Bodies: bodies(`{"instances": [[0.5, 1.25, -3, 4.5, 0, 12, 7.75, -0.125, 2, 9]]}`),
					Concurrency: conns, Rate: rate, Duration: 2 * time.Second, Warmup: -1,
				}.check()
				if err != nil {
					b.Fatal(err)
				}
				var res Result
				for b.Loop() {
					g := newGenerator(o, tg)
					g.start = time.Now()
					var warmEnd, end time.Time
					if how == "dispatcher" {
						warmEnd, end, res.Unsent = g.open(context.Background())
					} else {
						warmEnd, end, res.Unsent = g.openShared(context.Background())
					}
					res.Duration = end.Sub(warmEnd)
					g.rec.result(&res)
					g.client.CloseIdleConnections()
				}
				b.ReportMetric(float64(res.OK)/res.Duration.Seconds(), "requests/s")
				b.ReportMetric(float64(res.Late)/float64(res.OK), "late/request")
				b.ReportMetric(float64(res.Unsent)/float64(res.OK+res.Unsent), "unsent/due")
				b.ReportMetric(float64(res.P99)/1e6, "p99-ms")
				sinkResult = res
			})
		}
	}
}

// BenchmarkClosedLayers splits the closed loop's cost per request between
// the generator's own layer and fasthttp: conns goroutines each sending
// with client.send (body rotation, shared progress counters, two clock
// reads, recording) or with a bare fasthttp.HostClient.DoTimeout on the
// same request. Against LOADTEST_URL when set (a server in another
// process), else an in-process do-nothing server.
func BenchmarkClosedLayers(b *testing.B) {
	url := os.Getenv("LOADTEST_URL")
	if url == "" {
		url = serve(b, noop) + "/v1/models/m:predict"
	}
	for _, conns := range []int{16, 64} {
		for _, layer := range []string{"loadtest", "fasthttp"} {
			b.Run(fmt.Sprintf("layer=%s/conns=%d", layer, conns), func(b *testing.B) {
				g := testClient(b, url, conns)
				var n atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for range conns {
					wg.Go(func() {
						c := g.newClient()
						defer c.release()
						body := g.opts.Bodies[0]
						for n.Add(1) <= int64(b.N) {
							if layer == "fasthttp" {
								c.req.SetBodyRaw(body)
								if err := g.client.DoTimeout(c.req, c.resp, g.opts.Timeout); err != nil {
									b.Error(err)
									return
								}
								continue
							}
							now := time.Now()
							c.send(now, now, true)
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "requests/s")
				g.rec.result(&sinkResult)
			})
		}
	}
}
