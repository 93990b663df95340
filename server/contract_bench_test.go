package server

import (
	"strconv"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkContract is the cost of checking a request against its
// version's contract: the same clean lr request served with contract
// off, count and enforce.
func BenchmarkContract(b *testing.B) {
	for _, rows := range []int{1, 64} {
		body := `{"instances": [` + strings.TrimSuffix(strings.Repeat(lrRow+`, `, rows), `, `) + `]}`
		for _, mode := range []ContractMode{ContractOff, ContractCount, ContractEnforce} {
			b.Run("rows="+strconv.Itoa(rows)+"/contract="+mode.String(), func(b *testing.B) {
				s := contractServer(b, mode, DefaultOptions())
				ctx := new(fasthttp.RequestCtx)
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI("/v1/models/lr:predict")
				ctx.Request.SetBodyString(body)
				s.Handle(ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					ctx.Response.ResetBody()
					s.Handle(ctx)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
			})
		}
	}
}
