package loadtest

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"
	"time"
)

// Options configures a run. The zero value of a field means its default
// (see DefaultOptions); URL and, for a method that sends a body, Bodies are
// required.
type Options struct {
	// URL is where requests go: "http://host:port/path?query",
	// "https://...", or "unix:/path/to.sock:/path?query" for a server on a
	// Unix socket (Host header "localhost").
	URL string
	// Method is the HTTP method. Default POST.
	Method string
	// Bodies are the request bodies, sent round-robin across all clients.
	// Required (at least one) unless Method is GET or HEAD, which send
	// none. Run reads them concurrently and never modifies them.
	Bodies [][]byte
	// Header holds extra request headers. Content-Type is
	// application/json unless set here.
	Header map[string]string
	// Concurrency is the number of connections, each with at most one
	// request in flight, in [1, MaxConcurrency]. Closed loop: the number of
	// clients; default 64. Open loop: the bound on requests in flight;
	// default max(64, Rate/10), at most MaxConcurrency (100ms of requests
	// at Rate can be in flight before sends start late).
	Concurrency int
	// Rate, when positive, selects the open loop: requests per second on a
	// schedule fixed in advance (see Profile), at most MaxRate; the peak
	// rate for the step and ramp profiles. Zero selects the closed loop.
	Rate float64
	// Profile shapes the open loop's schedule over Duration: constant
	// (the default: one request every 1/Rate), step (Steps equal steps
	// from StartRate up to Rate), ramp (linear from StartRate to Rate) or
	// poisson (exponential inter-arrival times with mean 1/Rate, as
	// independent users send; seeded by Seed). Warmup runs at the
	// profile's first rate.
	Profile Profile
	// StartRate is the step and ramp profiles' first rate; default
	// Rate/Steps for step, Rate/10 for ramp.
	StartRate float64
	// Steps is the step profile's number of steps; default 5.
	Steps int
	// Seed seeds the poisson profile; the same seed gives the same
	// schedule.
	Seed int64
	// Progress, when set, is called every ProgressInterval (default 1s)
	// from its own goroutine with the run's counts so far, and once more
	// when the run ends.
	Progress         func(Progress)
	ProgressInterval time.Duration
	// Duration is the measured time. Default 10s.
	Duration time.Duration
	// Warmup is the time before Duration during which requests are sent
	// but not recorded. Default 1s; negative means none.
	Warmup time.Duration
	// Timeout bounds each request, from its send to the end of its
	// response; a request that takes longer counts as a "timeout" error.
	// Default 10s.
	Timeout time.Duration
	// MaxLateness (open loop) is how far behind its schedule a send may
	// start. A due request that no connection was free to start within
	// MaxLateness is skipped, counted in Result.Unsent, and the senders go
	// on with the requests due since: past capacity the generator keeps
	// sending as fast as its connections allow, and the latencies it
	// measures (from each request's schedule) stay bounded by MaxLateness
	// plus the server's answer instead of growing with the run. Default
	// Timeout (a request that late has, for its user, timed out already).
	MaxLateness time.Duration
}

// Profile is an open-loop schedule's shape (Options.Profile).
type Profile string

// Profiles.
const (
	ProfileConstant Profile = "constant"
	ProfileStep     Profile = "step"
	ProfileRamp     Profile = "ramp"
	ProfilePoisson  Profile = "poisson"
)

// Progress is a run's counts so far (Options.Progress).
type Progress struct {
	Elapsed time.Duration // since the run started, warm-up included
	Warmup  bool          // still in the warm-up
	// Counts of completed requests (warm-up ones included), of those
	// answered 2xx, of the rest, and of sends that started late.
	Done, OK, Errors, Late uint64
	InFlight               int64
}

// Defaults and bounds of Options.
const (
	DefaultMethod      = "POST"
	DefaultConcurrency = 64
	DefaultDuration    = 10 * time.Second
	DefaultWarmup      = time.Second
	DefaultTimeout     = 10 * time.Second
	// MaxConcurrency bounds Options.Concurrency: each is a connection and
	// a goroutine.
	MaxConcurrency = 10000
	// MaxRate bounds Options.Rate (requests per second). A rate far above
	// what the connections can carry costs counters, not work per request
	// (see pacer), so the bound only keeps a schedule's offsets and
	// counts well inside their integer ranges.
	MaxRate = 1e9
	// LateThreshold is how far behind its schedule an open-loop send may
	// start before it counts in Result.Late.
	LateThreshold = time.Millisecond
)

// DefaultOptions returns Options with every field but URL, Bodies, Header
// and Rate set to its default (the closed loop's Concurrency).
func DefaultOptions() Options {
	return Options{
		Method:      DefaultMethod,
		Concurrency: DefaultConcurrency,
		Duration:    DefaultDuration,
		Warmup:      DefaultWarmup,
		Timeout:     DefaultTimeout,
	}
}

// Check reports the first field of o that Run would refuse, with the error
// Run would return, so a caller that runs later (a capacity search) can
// refuse bad options up front.
func (o Options) Check() error {
	_, _, err := o.check()
	return err
}

// target is where Options.URL points, split the way the client needs it.
type target struct {
	addr    string // HostClient.Addr: "host:port", or the socket path
	unix    bool   // addr is a Unix socket path
	tls     bool
	host    string // Host header
	reqURI  string // path and query, "/v1/models/m:predict"
	fullURI string // what the request is set to: scheme, host and reqURI
}

// check returns o with its defaults filled in and the target it names, or
// an error naming the first field that is wrong.
func (o Options) check() (Options, target, error) {
	def := DefaultOptions()
	if o.Method == "" {
		o.Method = def.Method
	}
	o.Method = strings.ToUpper(o.Method)
	if math.IsNaN(o.Rate) || o.Rate < 0 || o.Rate > MaxRate {
		return o, target{}, fmt.Errorf("loadtest: Options.Rate is %v, want requests per second in (0, %g], or 0 for the closed loop", o.Rate, float64(MaxRate))
	}
	if o.Profile == "" {
		o.Profile = ProfileConstant
	}
	switch o.Profile {
	case ProfileConstant, ProfilePoisson:
	case ProfileStep, ProfileRamp:
		if o.Steps == 0 {
			o.Steps = 5
		}
		if o.StartRate == 0 {
			o.StartRate = o.Rate / 10
			if o.Profile == ProfileStep {
				o.StartRate = o.Rate / float64(o.Steps)
			}
		}
	default:
		return o, target{}, fmt.Errorf("loadtest: Options.Profile is %q, want constant, step, ramp or poisson", o.Profile)
	}
	switch {
	case o.Profile != ProfileConstant && o.Rate == 0:
		return o, target{}, fmt.Errorf("loadtest: Options.Profile %s needs an open loop: set Options.Rate", o.Profile)
	case o.Profile == ProfileStep && (o.Steps < 1 || o.Steps > 1000):
		return o, target{}, fmt.Errorf("loadtest: Options.Steps is %d, want 1 to 1000", o.Steps)
	case math.IsNaN(o.StartRate) || o.StartRate < 0 || o.StartRate > o.Rate:
		return o, target{}, fmt.Errorf("loadtest: Options.StartRate is %v, want a rate in (0, Rate=%v]", o.StartRate, o.Rate)
	case o.ProgressInterval < 0:
		return o, target{}, fmt.Errorf("loadtest: Options.ProgressInterval is %v, want a positive time (0 for 1s)", o.ProgressInterval)
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = time.Second
	}
	if o.Concurrency == 0 {
		o.Concurrency = def.Concurrency
		if o.Rate > 0 {
			o.Concurrency = min(max(DefaultConcurrency, int(math.Ceil(o.Rate/10))), MaxConcurrency)
		}
	}
	if o.Duration == 0 {
		o.Duration = def.Duration
	}
	if o.Warmup == 0 {
		o.Warmup = def.Warmup
	} else if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Timeout == 0 {
		o.Timeout = def.Timeout
	}
	if o.MaxLateness == 0 {
		o.MaxLateness = o.Timeout
	}
	switch {
	case o.Concurrency < 1 || o.Concurrency > MaxConcurrency:
		return o, target{}, fmt.Errorf("loadtest: Options.Concurrency is %d, want connections in [1, %d] (0 for the default)", o.Concurrency, MaxConcurrency)
	case o.Duration < 0:
		return o, target{}, fmt.Errorf("loadtest: Options.Duration is %v, want a positive time (0 for the default %v)", o.Duration, DefaultDuration)
	case o.Timeout < 0:
		return o, target{}, fmt.Errorf("loadtest: Options.Timeout is %v, want a positive time (0 for the default %v)", o.Timeout, DefaultTimeout)
	case o.MaxLateness < 0:
		return o, target{}, fmt.Errorf("loadtest: Options.MaxLateness is %v, want a positive time (0 for Timeout)", o.MaxLateness)
	case len(o.Bodies) == 0 && o.Method != "GET" && o.Method != "HEAD":
		return o, target{}, fmt.Errorf("loadtest: Options.Bodies is empty, want at least one request body for %s", o.Method)
	case strings.ContainsAny(o.Method, " \t\r\n"):
		return o, target{}, fmt.Errorf("loadtest: Options.Method %q is not an HTTP method", o.Method)
	}
	for k, v := range o.Header {
		if k == "" || strings.ContainsAny(k, ": \t\r\n") || strings.ContainsAny(v, "\r\n") {
			return o, target{}, fmt.Errorf("loadtest: Options.Header %q: %q is not a valid header", k, v)
		}
	}
	t, err := parseTarget(o.URL)
	if err != nil {
		return o, target{}, fmt.Errorf("loadtest: Options.URL %q: %v", o.URL, err)
	}
	return o, t, nil
}

// parseTarget splits a URL as Options.URL documents it.
func parseTarget(s string) (target, error) {
	if rest, ok := strings.CutPrefix(s, "unix:"); ok {
		// unix:/path/to.sock:/request/path — the socket path ends at the
		// first ":/" (a request path starts with "/").
		i := strings.Index(rest, ":/")
		if i <= 0 {
			return target{}, fmt.Errorf(`want "unix:/path/to.sock:/request/path"`)
		}
		t := target{addr: rest[:i], unix: true, host: "localhost", reqURI: rest[i+1:]}
		t.fullURI = "http://localhost" + t.reqURI
		return t, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, err
	}
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return target{}, fmt.Errorf(`scheme %q: want "http", "https" or "unix"`, u.Scheme)
	}
	if u.Host == "" {
		return target{}, fmt.Errorf("no host")
	}
	if u.User != nil {
		return target{}, fmt.Errorf("user info is not supported; set an Authorization header")
	}
	t := target{addr: u.Host, tls: u.Scheme == "https", host: u.Host, reqURI: u.RequestURI()}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		t.addr = net.JoinHostPort(u.Hostname(), port)
	}
	t.fullURI = u.Scheme + "://" + u.Host + t.reqURI
	return t, nil
}
