// Command noopserver is the baseline for bench/serve-wrk.sh: a fasthttp
// server whose handler does nothing but answer 200 with a fixed body the
// size of a one-instance prediction. What predictd reaches against it, on
// the same connections and machine, is the cost of predicting over the
// cost of HTTP itself.
package main

import (
	"flag"
	"log"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:8090", "address to serve on")
	flag.Parse()
	body := []byte(`{"predictions":[0.5],"model_version":"1"}`)
	s := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json")
			ctx.SetBody(body)
		},
		NoDefaultServerHeader: true,
	}
	log.Fatal(s.ListenAndServe(*addr))
}
