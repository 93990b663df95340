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
	pairedLoad(b, on, off, body)
	s := st.Stats()
	b.Logf("recorded %d, dropped %d", s.Recorded, s.Dropped)
}
