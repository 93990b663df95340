package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/predictd/predictd/model"
	"github.com/predictd/predictd/model/transform"
)

// BenchmarkTransform measures the whole handler (no network, batching
// off) for txlin served from raw rows (mode=raw: decode with strings,
// transform, predict) against the same model without transforms answering
// the transformed rows (mode=columns), the peer: the difference is what
// serving from raw values costs.
func BenchmarkTransform(b *testing.B) {
	imp, p := txLin(b)
	repo := b.TempDir()
	if _, _, err := model.Write(repo, "raw", imp, model.WriteOptions{Transform: p}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := model.Write(repo, "columns", imp, model.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	opts := DefaultOptions()
	opts.DefaultModel.Batching = BatchingNever
	s := serveRepo(b, opts, repo)
	for _, n := range []int{1, 32} {
		var raws, cols []string
		for i := range n {
			r := txRows[i%len(txRows)]
			raws = append(raws, fmt.Sprintf(`{"amount": %v, "age": %s, "country": %s}`, r["amount"], txValue(r["age"]), txValue(r["country"])))
			raw := transform.Row{transform.Num(r["amount"].(float64)), {}, transform.Str(r["country"].(string))}
			if a, ok := r["age"].(float64); ok {
				raw[1] = transform.Num(a)
			}
			x, err := model.TransformRow(nil, p, false, raw)
			if err != nil {
				b.Fatal(err)
			}
			cols = append(cols, strings.Join(strings.Fields(fmt.Sprint(x)), ", "))
		}
		for _, c := range []struct{ mode, uri, body string }{
			{"raw", "/v1/models/raw:predict", `{"instances": [` + strings.Join(raws, ", ") + `]}`},
			{"columns", "/v1/models/columns:predict", `{"instances": [` + strings.Join(cols, ", ") + `]}`},
		} {
			b.Run(fmt.Sprintf("rows=%d/mode=%s", n, c.mode), func(b *testing.B) {
				b.ReportAllocs()
				ctx := new(fasthttp.RequestCtx)
				ctx.Request.Header.SetMethod("POST")
				ctx.Request.SetRequestURI(c.uri)
				ctx.Request.SetBodyString(c.body)
				for b.Loop() {
					ctx.Response.ResetBody()
					s.Handle(ctx)
				}
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("%s: %d %s", c.body, ctx.Response.StatusCode(), ctx.Response.Body())
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
			})
		}
	}
}
