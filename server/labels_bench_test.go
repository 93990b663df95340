package server

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/monitor/labels"
)

// BenchmarkPredictLabels measures TF Serving requests for "lr" (one row)
// over loopback HTTP, 8 clients at once, with every prediction recorded in
// a labels store; beside it, from a server without labels, the same count
// of requests made right after (the machine is shared): off_req/s,
// off_p99_us and vs_off, the recording server's req/s over the other's.
func BenchmarkPredictLabels(b *testing.B) {
	serve := func(st *labels.Store) *fasthttp.HostClient {
		s := newTestServer(b, Options{Labels: st})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go s.Serve(ln)
		b.Cleanup(func() { s.Shutdown(context.Background()) })
		return &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 64, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	}
	off := serve(nil)
	st := newLabels(b, labels.Options{})
	on := serve(st)
	body := []byte(`{"instances": [` + lrRow + `]}`)
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
	s := st.Stats()
	b.Logf("recorded %d, dropped %d", s.Recorded, s.Dropped)
}
