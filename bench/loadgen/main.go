// Command loadgen offers HTTP load to a prediction endpoint and prints what
// it measured (see package loadtest): a closed loop by default, an open loop
// on a fixed schedule with --rate, latency measured from the scheduled send
// time. bench/batching.sh drives it.
//
//	loadgen --url http://127.0.0.1:8080/v1/models/m:predict --body-file bodies.jsonl \
//	    [--concurrency 64] [--rate 0] [--duration 10s] [--warmup 1s] [--timeout 10s] [--json]
//
// The body file holds one JSON request body per line, sent round-robin.
// Exit status: 0 when every measured request was answered 2xx, 1 when some
// were not or the run failed, 2 for a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/predictd/predictd/loadtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// headers is a repeatable "Name: value" flag.
type headers map[string]string

func (h headers) String() string { return "" }

func (h headers) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: want \"Name: value\"", s)
	}
	h[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	d := loadtest.DefaultOptions()
	hdr := headers{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", `where to send: http://host:port/path or unix:/path/to.sock:/path (required)`)
	bodyFile := fs.String("body-file", "", "file of request bodies, one JSON body per line, sent round-robin (required unless --method GET)")
	method := fs.String("method", d.Method, "HTTP method")
	conc := fs.Int("concurrency", 0, "connections; closed loop: clients, each with one request outstanding (default 64); open loop: most requests in flight (default max(64, rate/10))")
	rate := fs.Float64("rate", 0, "requests per second on a fixed schedule (open loop); 0: closed loop")
	duration := fs.Duration("duration", d.Duration, "measured time")
	warmup := fs.Duration("warmup", d.Warmup, "time before the measured time when requests are sent but not recorded; 0: none")
	timeout := fs.Duration("timeout", d.Timeout, "per-request timeout")
	asJSON := fs.Bool("json", false, "print the result as one JSON object (durations in nanoseconds)")
	fs.Var(hdr, "header", `extra request header "Name: value" (repeatable)`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loadgen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *url == "" {
		fmt.Fprintln(stderr, "loadgen: --url is required")
		return 2
	}
	opts := loadtest.Options{
		URL:         *url,
		Method:      *method,
		Header:      hdr,
		Concurrency: *conc,
		Rate:        *rate,
		Duration:    *duration,
		Warmup:      *warmup,
		Timeout:     *timeout,
	}
	if opts.Warmup == 0 {
		opts.Warmup = -1 // loadtest's "none"; 0 would mean its default
	}
	if *bodyFile != "" {
		bodies, err := readBodies(*bodyFile)
		if err != nil {
			fmt.Fprintf(stderr, "loadgen: --body-file: %v\n", err)
			return 2
		}
		opts.Bodies = bodies
	}
	res, err := loadtest.Run(ctx, opts)
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	if *asJSON {
		out, _ := json.Marshal(res)
		fmt.Fprintf(stdout, "%s\n", out)
	} else {
		fmt.Fprintln(stdout, res)
	}
	if err != nil || res.Requests != res.OK {
		return 1
	}
	return 0
}

// readBodies reads one body per non-blank line of path.
func readBodies(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return loadtest.BodiesFromLines(f, path)
}
