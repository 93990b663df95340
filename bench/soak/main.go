// Command soak runs `predictd serve` for a long time under mixed traffic,
// reloads, feature-store outages and bad inputs, samples the daemon's
// resources over time, and ends with a verdict: the check to run before a
// release (`make soak`; issue 12).
//
//	soak --predictd bin/predictd [--duration 10m] [--out .soak/soak.json] [--rate 200] [--bad-rate 20]
//
// It makes a temporary model repository by importing committed fixtures
// (the XGBoost wine model, the fraud model that reads the user_stats and
// merchant_stats feature views, two scikit-learn models through the native
// importer), starts a private redis-server on a free loopback port and
// `predictd serve --store redis://... --features testdata/features/demo.yaml
// --admin-token-file ...` on 127.0.0.1, and then, for --duration, at once:
//
//   - good traffic at --rate requests/s: TF Serving REST and Open Inference
//     Protocol predictions with the features inline, and for the fraud model
//     by entity key (the features joined from the store); feature pushes and
//     reads;
//   - reloads every --reload-every: a new version of a model imported into
//     the repository, picked up in turn by POST /v1/admin/reload, by SIGHUP
//     and by the daemon's own repository poll, each waited for until the
//     new version is AVAILABLE;
//   - store outages every --outage-every for --outage-for, in turn
//     redis-server stopped (SIGSTOP, then SIGCONT: a hung store) and killed
//     and restarted on the same port (a refused store, its data lost);
//   - bad inputs at --bad-rate: malformed JSON, wrong shapes, unknown
//     models and versions, bodies over the limit, bad keys and rows,
//     requests with broken headers and garbage bytes on raw TCP
//     connections, a wrong admin token, and batches of idle connections
//     opened, held and closed.
//
// Every --sample (10s), and at the start and the end, it records the
// daemon's RSS (/proc/PID/status VmRSS), threads, open file descriptors
// (/proc/PID/fd), goroutines (go_goroutines from /metrics; "n/a" when the
// daemon has no such gauge), open connections, log lines, and the requests
// sent and answered by status class. It prints that as a table and writes
// it, with every count by kind and status and the first unexpected answers
// in full, as JSON to --out.
//
// What is expected: a good request is answered 2xx, except that a request
// that reads or writes the store while it is out (from the outage's start
// to --outage-grace after its end) may be answered 5xx (the fraud model
// fails closed: 503; a push or read of a feature whose store failed); a bad
// input is answered 4xx or its connection closed. Anything else — any other
// 5xx, a bad input accepted (2xx) or answered 5xx, a connection error on
// good traffic, a reload not AVAILABLE within --reload-timeout — is
// unexpected.
//
// Verdict: FAIL (exit 1) when the daemon died, when anything unexpected
// happened, when SIGTERM at the end did not make it exit 0, or when at the
// end RSS, fds or goroutines exceed their post-warm-up values by more than
// the margins (--rss-margin 50%, --fd-margin 64, --goroutine-margin 100).
// The live heap (go_gc_heap_live_bytes, as of the daemon's last GC) is
// printed beside RSS but not judged: it moves by several MiB with the
// timing of the last GC (pools, buffers), and soak cannot force one. A
// leak shows in it as a steady climb; a 3-minute run's heap profiles
// (taken by hand with a pprof build) showed 1.7 MiB of pooled buffers
// gained between 65s and 195s, nothing per reload.
// Both of those samples are quiet: traffic paused, the client's idle
// connections closed, and --settle (25s) to settle, so that they differ by
// what the daemon kept, not by what was in flight (fasthttp keeps a worker
// goroutine per connection it served at once until it has been idle 10 s,
// cleared every 10 s: a store outage that held requests for a second
// leaves a hundred or more of them for up to 20 s). The warm-up (--warmup, default
// min(60s, duration/5)) has traffic and bad inputs but no reloads or
// outages. PASS (exit 0) otherwise; 2 for a usage error or a setup that
// failed.
//
// Safety: every connection it opens goes to 127.0.0.1 (the dialer refuses
// anything else), the daemon and redis-server listen on 127.0.0.1 only,
// the rates are bounded and the run stops by itself (the whole run is cut
// off at duration + 3 minutes). On SIGINT or SIGTERM it stops the traffic,
// takes the end sample, stops the daemon and redis-server and removes its
// temporary folder (--keep keeps it); its children are killed too if it is
// killed itself (Linux's parent-death signal).
//
// Linux only: it reads /proc.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends soak at once (its children die with it)
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config is the run's settings, from flags (whose defaults come from the
// SOAK_* environment variables, so `SOAK_DURATION=1m make soak` works).
type config struct {
	predictd, redis, root string
	duration, warmup      time.Duration
	sample                time.Duration
	settle                time.Duration
	reloadEvery           time.Duration
	reloadTimeout         time.Duration
	outageEvery           time.Duration
	outageFor             time.Duration
	outageGrace           time.Duration
	rate, badRate         float64 // requests per second
	out                   string
	keep                  bool
	dumpGoroutines        bool
	rssMargin             float64 // fraction of the baseline
	fdMargin, gorMargin   int
}

// env returns the environment variable k, or def when it is unset.
func env(k, def string) string {
	if v, ok := os.LookupEnv(k); ok && v != "" {
		return v
	}
	return def
}

func envDuration(k string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(env(k, "")); err == nil {
		return d
	}
	return def
}

func envFloat(k string, def float64) float64 {
	if f, err := strconv.ParseFloat(env(k, ""), 64); err == nil {
		return f
	}
	return def
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.predictd, "predictd", env("PREDICTD", "bin/predictd"), "the predictd binary to soak (env PREDICTD)")
	fs.StringVar(&c.redis, "redis-server", env("REDIS_SERVER", "redis-server"), "the redis-server binary (env REDIS_SERVER)")
	fs.StringVar(&c.root, "root", ".", "the repository's root: testdata/ is read from it")
	fs.DurationVar(&c.duration, "duration", envDuration("SOAK_DURATION", 10*time.Minute), "how long the traffic runs (env SOAK_DURATION)")
	fs.DurationVar(&c.warmup, "warmup", envDuration("SOAK_WARMUP", 0), "traffic before the baseline sample, without reloads or outages; 0: min(60s, duration/5) (env SOAK_WARMUP)")
	fs.DurationVar(&c.sample, "sample", 10*time.Second, "sampling period")
	fs.DurationVar(&c.settle, "settle", 25*time.Second, "before each quiet sample, how long the paused daemon is left to settle")
	fs.DurationVar(&c.reloadEvery, "reload-every", envDuration("SOAK_RELOAD_EVERY", 0), "period of reloads; 0: duration/30 within [5s, 20s] (env SOAK_RELOAD_EVERY)")
	fs.DurationVar(&c.reloadTimeout, "reload-timeout", 30*time.Second, "how long a reload may take to make the new version AVAILABLE")
	fs.DurationVar(&c.outageEvery, "outage-every", envDuration("SOAK_OUTAGE_EVERY", 0), "period of store outages; 0: duration/10 within [20s, 60s] (env SOAK_OUTAGE_EVERY)")
	fs.DurationVar(&c.outageFor, "outage-for", envDuration("SOAK_OUTAGE_FOR", 8*time.Second), "length of each store outage (env SOAK_OUTAGE_FOR)")
	fs.DurationVar(&c.outageGrace, "outage-grace", 5*time.Second, "after an outage ends, how long store-bound requests may still fail")
	fs.Float64Var(&c.rate, "rate", envFloat("SOAK_RATE", 200), "good requests per second, every kind together (env SOAK_RATE)")
	fs.Float64Var(&c.badRate, "bad-rate", envFloat("SOAK_BAD_RATE", 20), "bad inputs per second (env SOAK_BAD_RATE)")
	fs.StringVar(&c.out, "out", env("SOAK_OUT", ".soak/soak.json"), "JSON report file (env SOAK_OUT)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary folder (repository, logs)")
	fs.BoolVar(&c.dumpGoroutines, "dump-goroutines", false, "at the end, SIGQUIT instead of SIGTERM: the daemon's goroutine stacks go to its log (kept, with the folder; the SIGTERM check is skipped)")
	fs.Float64Var(&c.rssMargin, "rss-margin", 0.5, "FAIL when the end RSS exceeds the baseline by more than this fraction")
	fs.IntVar(&c.fdMargin, "fd-margin", 64, "FAIL when the end fd count exceeds the baseline by more than this")
	fs.IntVar(&c.gorMargin, "goroutine-margin", 100, "FAIL when the end goroutine count exceeds the baseline by more than this")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.warmup == 0 {
		c.warmup = min(time.Minute, c.duration/5)
	}
	if c.dumpGoroutines {
		c.keep = true
	}
	if c.reloadEvery == 0 {
		c.reloadEvery = min(max(c.duration/30, 5*time.Second), 20*time.Second)
	}
	if c.outageEvery == 0 {
		c.outageEvery = min(max(c.duration/10, 20*time.Second), time.Minute)
	}
	bad := func(name string, v any, want string) error { return fmt.Errorf("--%s %v: want %s", name, v, want) }
	switch {
	case c.duration < 10*time.Second || c.duration > 24*time.Hour:
		return c, bad("duration", c.duration, "between 10s and 24h")
	case c.warmup < 0 || c.warmup >= c.duration:
		return c, bad("warmup", c.warmup, "a duration ≥ 0 shorter than --duration")
	case c.settle < 0:
		return c, bad("settle", c.settle, "a duration ≥ 0")
	case c.sample < time.Second:
		return c, bad("sample", c.sample, "at least 1s")
	case c.reloadEvery < 2*time.Second:
		return c, bad("reload-every", c.reloadEvery, "at least 2s")
	case c.reloadTimeout <= 0:
		return c, bad("reload-timeout", c.reloadTimeout, "a positive duration")
	case c.outageFor <= 0 || c.outageEvery <= c.outageFor+c.outageGrace:
		return c, bad("outage-every", c.outageEvery, "longer than --outage-for plus --outage-grace (and --outage-for > 0)")
	case c.outageGrace < 0:
		return c, bad("outage-grace", c.outageGrace, "a duration ≥ 0")
	case !(c.rate >= 10 && c.rate <= 5000):
		return c, bad("rate", c.rate, "10 to 5000 requests per second")
	case !(c.badRate >= 0 && c.badRate <= 1000):
		return c, bad("bad-rate", c.badRate, "0 to 1000 per second")
	case !(c.rssMargin > 0) || c.fdMargin < 0 || c.gorMargin < 0:
		return c, fmt.Errorf("--rss-margin, --fd-margin, --goroutine-margin: want positive margins")
	case c.out == "":
		return c, bad("out", `""`, "a file name")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	// The whole run, setup and shutdown included, is cut off here: it
	// stops by itself whatever hangs.
	ctx, cancel := context.WithTimeout(ctx, c.duration+3*time.Minute)
	defer cancel()

	// The report path is checked before anything runs.
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		fmt.Fprintf(stderr, "soak: --out %s: %v\n", c.out, err)
		return 2
	}
	work, err := os.MkdirTemp("", "predictd-soak-")
	if err != nil {
		fmt.Fprintf(stderr, "soak: %v\n", err)
		return 2
	}
	s := &soak{cfg: c, work: work, stdout: stdout, stderr: stderr, stats: newStats()}
	defer func() {
		s.stopProcesses()
		if c.keep {
			fmt.Fprintf(stdout, "kept %s\n", work)
		} else {
			os.RemoveAll(work)
		}
	}()
	if err := s.setup(ctx); err != nil {
		fmt.Fprintf(stderr, "soak: setup: %v\n", err)
		if s.daemon != nil {
			fmt.Fprintf(stderr, "daemon log (%s):\n%s", s.daemon.logPath, tail(s.daemon.logPath, 30))
		}
		return 2
	}
	rep := s.run(ctx)
	if err := rep.write(c.out); err != nil {
		fmt.Fprintf(stderr, "soak: --out: %v\n", err)
	} else {
		fmt.Fprintf(stdout, "report: %s\n", c.out)
	}
	if !rep.Verdict.Pass {
		return 1
	}
	return 0
}
