package server

import (
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkRolloutPredict: a keyed lr:predict through the handler with
// no rollout (the peer) and during a rollout at 50% (the split, the
// recorder), both versions the same model.
func BenchmarkRolloutPredict(b *testing.B) {
	for _, rollout := range []string{"off", "on"} {
		b.Run("rollout="+rollout, func(b *testing.B) {
			s, _ := rolloutServer(b, rolloutRepo(b, "logreg_binary.model.json"), nil, nil)
			if rollout == "on" {
				if code, out := admin(s, "rollout", quickPlan); code != 200 {
					b.Fatalf("start = %d %s", code, out)
				}
			}
			ctx := new(fasthttp.RequestCtx)
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetRequestURI("/v1/models/lr:predict")
			ctx.Request.Header.Set("X-User-Id", "user-1")
			ctx.Request.SetBodyString(`{"instances": [` + lrRow + `]}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				ctx.Response.ResetBody()
				s.Handle(ctx)
			}
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("predict: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/request")
		})
	}
}
