package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/predictd/predictd/loadtest"
	"github.com/predictd/predictd/loadtest/report"
)

// headerFlags is a repeatable "Name: value" flag.
type headerFlags map[string]string

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("%q: want \"Name: value\"", s)
	}
	h[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

// requestFlags are the flags saying what to send, shared by loadtest and
// capacity: the endpoint, the bodies and extra headers.
type requestFlags struct {
	url, body, bodies, lines *string
	batch                    *int
	header                   headerFlags
}

func addRequestFlags(fs *flag.FlagSet) *requestFlags {
	rf := &requestFlags{header: headerFlags{}}
	rf.url = fs.String("url", "", "endpoint: http://host:port/v1/models/NAME:predict, or unix:/path.sock:/v1/models/NAME:predict")
	rf.body = fs.String("body", "", "file holding one request body (JSON), sent as is")
	rf.bodies = fs.String("bodies", "", "NDJSON file of instances, one per line; requests cycle through them")
	rf.lines = fs.String("body-lines", "", "NDJSON file of whole request bodies, one per line (e.g. OIP infer requests); sent round-robin")
	rf.batch = fs.Int("batch", 1, "with --bodies: instances per request")
	fs.Var(rf.header, "header", `extra request header "Name: value" (repeatable)`)
	return rf
}

// loadBodies reads the request bodies of --body (one body, sent as is),
// --bodies (NDJSON instances, batch per request) or --body-lines (one
// whole body per line); nil when none is given. Bodies written for another
// protocol than --url's are refused (see checkProtocol).
func (rf *requestFlags) loadBodies() ([][]byte, error) {
	bodies, flagName, err := rf.readBodies()
	if err != nil || bodies == nil {
		return bodies, err
	}
	if err := checkProtocol(*rf.url, flagName, bodies); err != nil {
		return nil, err
	}
	return bodies, nil
}

// checkProtocol refuses bodies (from --flagName) written for another
// prediction protocol than the one url's path speaks: every request would
// fail (a TF Serving body to an OIP infer URL is answered 400), so the run
// would measure nothing. --bodies always writes TF Serving bodies; the
// first bodies of --body and --body-lines are judged by their keys
// (loadtest.BodyProtocol). A URL or body whose protocol cannot be told is
// let through.
func checkProtocol(url, flagName string, bodies [][]byte) error {
	want := loadtest.URLProtocol(url)
	if want == "" {
		return nil
	}
	for i, b := range bodies[:min(len(bodies), 100)] {
		got := loadtest.BodyProtocol(b)
		if flagName == "bodies" {
			got = loadtest.ProtocolTFServing
		}
		if got == "" || got == want {
			continue
		}
		which := fmt.Sprintf("body %d of --%s", i+1, flagName)
		if flagName == "bodies" {
			which = `--bodies (instances wrapped as {"instances": [...]})`
		}
		fix := `give --bodies FILE (instances) or --body-lines FILE of TF Serving bodies ({"instances": [...]})`
		if want == loadtest.ProtocolOIP {
			fix = `give --body-lines FILE with one OIP infer request ({"inputs": [{"name", "shape", "datatype", "data"}]}) per line, or a /v1/models/NAME:predict --url`
		}
		return usageErr("--url %s speaks %s, but %s is a %s body: the server would refuse every request; %s",
			url, loadtest.ProtocolName(want), which, loadtest.ProtocolName(got), fix)
	}
	return nil
}

// readBodies is loadBodies without the protocol check; flagName is the
// flag the bodies came from.
func (rf *requestFlags) readBodies() ([][]byte, string, error) {
	body, instances, lines, batch := *rf.body, *rf.bodies, *rf.lines, *rf.batch
	given := 0
	for _, f := range []string{body, instances, lines} {
		if f != "" {
			given++
		}
	}
	switch {
	case given > 1:
		return nil, "", usageErr("give one of --body, --bodies and --body-lines")
	case lines != "":
		f, err := os.Open(lines)
		if err != nil {
			return nil, "", usageErr("--body-lines: %v", err)
		}
		defer f.Close()
		bodies, err := loadtest.BodiesFromLines(f, lines)
		if err != nil {
			return nil, "", usageErr("--body-lines: %v", err)
		}
		return bodies, "body-lines", nil
	case body != "":
		b, err := os.ReadFile(body)
		if err != nil {
			return nil, "", usageErr("--body: %v", err)
		}
		if b = bytes.TrimSpace(b); !json.Valid(b) {
			return nil, "", usageErr("--body %s: not valid JSON", body)
		}
		return [][]byte{b}, "body", nil
	case instances != "":
		f, err := os.Open(instances)
		if err != nil {
			return nil, "", usageErr("--bodies: %v", err)
		}
		defer f.Close()
		bodies, err := loadtest.BodiesFromInstances(f, instances, batch)
		if err != nil {
			return nil, "", usageErr("--bodies: %v", err)
		}
		return bodies, "bodies", nil
	}
	return nil, "", nil
}

// isTerminal reports whether f is a terminal (for the progress line).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// cmdLoadtest is `predictd loadtest`: one run against a prediction
// endpoint, judged against an SLO when one is given.
func cmdLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	d := loadtest.DefaultOptions()
	fs := newFlags("loadtest", stderr)
	rf := addRequestFlags(fs)
	url := rf.url
	rate := fs.Float64("rate", 0, "open loop: requests per second on a schedule fixed in advance (the peak for step and ramp)")
	conc := fs.Int("concurrency", 0, "closed loop: clients, each with one request outstanding (for comparison; hides stalls)")
	conns := fs.Int("connections", 0, "open loop: most requests in flight, one connection each (default max(64, rate/10))")
	profile := fs.String("profile", "constant", "open-loop schedule: constant, step, ramp or poisson")
	startRate := fs.Float64("start-rate", 0, "step and ramp: the first rate (default rate/steps, rate/10)")
	steps := fs.Int("steps", 5, "step: number of steps")
	seed := fs.Int64("seed", 1, "poisson: schedule seed")
	duration := fs.Duration("duration", d.Duration, "measured time")
	warmup := fs.Duration("warmup", d.Warmup, "time before it when requests are sent but not recorded; 0: none")
	timeout := fs.Duration("timeout", d.Timeout, "per-request timeout")
	maxLate := fs.Duration("max-lateness", 0, "open loop: a request no connection could start this long after its schedule is skipped and counted unsent (default: --timeout)")
	method := fs.String("method", d.Method, "HTTP method")
	sloP99 := fs.Duration("slo-p99", 0, "p99 objective: the run ends with a verdict and exits 1 when it fails")
	maxErr := fs.Float64("max-error-rate", 0.001, "with --slo-p99: the highest acceptable fraction of failed or unsent requests")
	jsonOut := fs.String("json", "", "write the result as JSON to this file (- for stdout); checked before any request, replaced whole at the end")
	htmlOut := fs.String("html", "", "write a self-contained HTML report to this file; checked before any request, replaced whole at the end")
	quiet := fs.Bool("quiet", false, "no progress line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "url"); err != nil {
		return err
	}
	if err := checkNumbers(fs,
		bound{"rate", atLeast0, "requests per second ≥ 0"},
		bound{"concurrency", atLeast0, "clients ≥ 0"},
		bound{"connections", atLeast0, "connections ≥ 0 (0: the default)"},
		bound{"start-rate", atLeast0, "requests per second ≥ 0 (0: the default)"},
		bound{"steps", above0, "at least 1 step"},
		bound{"batch", above0, "at least 1 instance per request"},
		bound{"duration", above0, "a positive duration"},
		bound{"warmup", atLeast0, "a duration ≥ 0 (0: none)"},
		bound{"timeout", above0, "a positive duration"},
		bound{"max-lateness", atLeast0, "a duration ≥ 0 (0: --timeout)"},
		bound{"slo-p99", atLeast0, "a duration ≥ 0 (0: no SLO)"},
		bound{"max-error-rate", fraction, "a fraction in [0, 1]"},
	); err != nil {
		return err
	}
	switch {
	case *rate > 0 && *conc > 0:
		return usageErr("loadtest: give --rate (open loop) or --concurrency (closed loop), not both")
	case *rate <= 0 && *conc <= 0:
		return usageErr("loadtest: give --rate R (open loop: a fixed schedule, latency from each scheduled send) or --concurrency N (closed loop)")
	case *conc > 0 && *conns > 0:
		return usageErr("loadtest: --connections is for the open loop; the closed loop uses --concurrency connections")
	}
	bs, err := rf.loadBodies()
	if err != nil {
		return err
	}
	if bs == nil && *method != "GET" && *method != "HEAD" {
		return usageErr("loadtest: give --body FILE, --bodies FILE.ndjson or --body-lines FILE.ndjson")
	}
	opts := loadtest.Options{
		URL: *url, Method: *method, Bodies: bs, Header: rf.header,
		Rate: *rate, Concurrency: max(*conc, *conns),
		Duration: *duration, Warmup: *warmup, Timeout: *timeout, Seed: *seed, MaxLateness: *maxLate,
	}
	if opts.Warmup == 0 {
		opts.Warmup = -1 // loadtest's "none"
	}
	if *rate > 0 {
		opts.Profile, opts.StartRate, opts.Steps = loadtest.Profile(*profile), *startRate, *steps
	} else if fs.Lookup("profile").Value.String() != "constant" {
		return usageErr("loadtest: --profile is for the open loop (--rate)")
	}
	if err := opts.Check(); err != nil {
		return usageErr("%v", err)
	}
	// The report paths are checked now, before any request is sent, so a
	// typo in one costs nothing; see openReports.
	reps, err := openReports("loadtest", *jsonOut, *htmlOut)
	if err != nil {
		return err
	}
	defer reps.discard()
	if f, ok := stderr.(*os.File); ok && !*quiet && isTerminal(f) {
		opts.Progress = func(p loadtest.Progress) {
			phase := "measuring"
			if p.Warmup {
				phase = "warm-up  "
			}
			fmt.Fprintf(stderr, "\r%s %6.1fs  done %-9d ok %-9d errors %-7d late %-7d in flight %-5d", phase, p.Elapsed.Seconds(), p.Done, p.OK, p.Errors, p.Late, p.InFlight)
		}
	}
	res, err := loadtest.Run(ctx, opts)
	if opts.Progress != nil {
		fmt.Fprintln(stderr)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		if res.Requests == 0 {
			return usageErr("loadtest: %v", err)
		}
	}
	var slo *loadtest.SLO
	if *sloP99 > 0 {
		slo = &loadtest.SLO{P99: *sloP99, MaxErrorRate: *maxErr}
	}
	sum := loadtest.Summarize(opts, res, slo)
	fmt.Fprintf(stdout, "%s\nlatency p95 %s\n", res, fmtMS(sum.LatencyMS.P95))
	if err != nil {
		fmt.Fprintf(stdout, "stopped early: %v\n", err)
	}
	if err := reps.write(stdout, sum, func(w io.Writer) error {
		return report.LoadTest(w, "predictd loadtest: "+*url, sum)
	}); err != nil {
		return err
	}
	if sum.Verdict == nil && res.OK == 0 {
		// Without an SLO a run is still a failure when nothing succeeded:
		// a script must not read a run of errors as a measurement.
		why := "no request was sent"
		if res.Requests > 0 {
			why = fmt.Sprintf("every one of the %d requests failed (errors %v)", res.Requests, res.Errors)
		}
		fmt.Fprintf(stdout, "FAILED: %s\n", why)
		return &exitError{1, fmt.Errorf("loadtest: %s", why)}
	}
	if sum.Verdict != nil {
		if sum.Verdict.Pass {
			fmt.Fprintf(stdout, "SLO met: p99 %s ≤ %s, error rate %.3g%% ≤ %.3g%%\n", fmtMS(sum.LatencyMS.P99), *sloP99, 100*sum.ErrorRate, 100**maxErr)
		} else {
			fmt.Fprintf(stdout, "SLO FAILED: %s\n", strings.Join(sum.Verdict.Reasons, "; "))
			return &exitError{1, errors.New("loadtest: the SLO was not met")}
		}
	}
	return nil
}

// bound is what one numeric flag must hold: ok(value) with the value as
// a float64 (a duration in nanoseconds), want saying it in words.
type bound struct {
	flag string
	ok   func(float64) bool
	want string
}

// The bounds flags use; NaN fails each of them.
var (
	above0   = func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	atLeast0 = func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }
	fraction = func(v float64) bool { return v >= 0 && v <= 1 }
)

// checkNumbers checks the flags of fs that bounds name (int, int64,
// float64 or duration flags, given or defaulted) and returns a usage error
// naming the first one out of its bound: no negative duration, rate or
// count reaches a run, where a negative value would silently mean "none"
// or "the default".
func checkNumbers(fs *flag.FlagSet, bounds ...bound) error {
	for _, b := range bounds {
		f := fs.Lookup(b.flag)
		if f == nil {
			panic("BUG: checkNumbers: no flag --" + b.flag)
		}
		var v float64
		switch x := f.Value.(flag.Getter).Get().(type) {
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		case float64:
			v = x
		case time.Duration:
			v = float64(x)
		default:
			panic(fmt.Sprintf("BUG: checkNumbers: --%s is a %T", b.flag, x))
		}
		if !b.ok(v) {
			return usageErr("%s: --%s %s: want %s", strings.TrimPrefix(fs.Name(), "predictd "), b.flag, f.Value, b.want)
		}
	}
	return nil
}

// reports are the --json and --html outputs of a run, opened before it
// starts. Each named file is created as a hidden temporary file in the
// destination's folder (so the folder must exist and be writable, and an
// existing file there must be a writable regular file), written when the
// run has a result and then renamed over the destination: a reader never
// sees a half-written report, and a run that ends without a result
// (discard) leaves no file and an older report at the path untouched.
type reports struct {
	cmd        string
	json, html *reportFile
	jsonStdout bool
}

// reportFile is one report: the flag and path it was given and its
// temporary file.
type reportFile struct {
	flag, path string
	tmp        *os.File
}

// openReports checks and opens the report paths of cmd; "" writes nothing
// and a --json of "-" writes to stdout. Errors are usage errors naming the
// flag.
func openReports(cmd, jsonPath, htmlPath string) (*reports, error) {
	r := &reports{cmd: cmd, jsonStdout: jsonPath == "-"}
	if jsonPath != "" && htmlPath != "" && filepath.Clean(jsonPath) == filepath.Clean(htmlPath) {
		return nil, usageErr("%s: --json and --html both name %s", cmd, htmlPath)
	}
	var err error
	if jsonPath != "" && jsonPath != "-" {
		if r.json, err = openReport(cmd, "json", jsonPath); err != nil {
			return nil, err
		}
	}
	if htmlPath != "" {
		if r.html, err = openReport(cmd, "html", htmlPath); err != nil {
			r.discard()
			return nil, err
		}
	}
	return r, nil
}

func openReport(cmd, flagName, path string) (*reportFile, error) {
	fail := func(err error) (*reportFile, error) {
		return nil, usageErr("%s: --%s %s: %v", cmd, flagName, path, err)
	}
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return fail(errors.New("exists and is not a regular file"))
		}
		// Opened for writing without truncating: the old report stays
		// until the new one replaces it.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fail(err)
		}
		f.Close()
	} else if !errors.Is(err, os.ErrNotExist) {
		return fail(err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the temporary name would only confuse
		}
		return fail(fmt.Errorf("cannot create a file in %s: %w", filepath.Dir(path), err))
	}
	return &reportFile{flag: flagName, path: path, tmp: tmp}, nil
}

// write writes v as indented JSON to --json and the page html renders to
// --html, each replacing its destination. Errors name the command and
// flag.
func (r *reports) write(stdout io.Writer, v any, html func(io.Writer) error) error {
	if r.json != nil || r.jsonStdout {
		js, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("%s: --json: %w", r.cmd, err)
		}
		js = append(js, '\n')
		if r.jsonStdout {
			stdout.Write(js)
		} else if err := r.json.commit(js); err != nil {
			return fmt.Errorf("%s: %w", r.cmd, err)
		}
	}
	if r.html != nil {
		var b bytes.Buffer
		if err := html(&b); err != nil {
			return fmt.Errorf("%s: --html: %w", r.cmd, err)
		}
		if err := r.html.commit(b.Bytes()); err != nil {
			return fmt.Errorf("%s: %w", r.cmd, err)
		}
	}
	return nil
}

// discard removes the temporary files not yet committed; safe to call
// after write.
func (r *reports) discard() {
	for _, f := range []*reportFile{r.json, r.html} {
		if f != nil && f.tmp != nil {
			f.tmp.Close()
			os.Remove(f.tmp.Name())
			f.tmp = nil
		}
	}
}

// commit writes b to the temporary file and renames it over the
// destination.
func (f *reportFile) commit(b []byte) error {
	tmp := f.tmp
	f.tmp = nil
	_, err := tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp makes 0600; reports are for sharing
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("--%s %s: %w", f.flag, f.path, err)
	}
	return nil
}

// fmtMS prints a latency in milliseconds readably.
func fmtMS(ms float64) string {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond).String()
}
