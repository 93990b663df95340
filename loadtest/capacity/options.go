package capacity

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/predictd/predictd/loadtest"
)

// Options configures a Search. The zero value of a field means its
// default (see DefaultOptions); Load.URL, Load.Bodies and SLO.P99 are
// required.
type Options struct {
	// Load says what to send: URL, Method, Bodies, Header, Concurrency
	// (0: loadtest's open-loop default for each step's rate) and Timeout
	// are used. Rate, Profile, Duration, Warmup and Progress are set by
	// the search for each step.
	Load loadtest.Options
	// SLO is what each step is judged against. P99 is required.
	SLO loadtest.SLO
	// StartRate is the ramp's first rate, requests per second. Default
	// 100.
	StartRate float64
	// MaxRate is the highest rate tried, requests per second. Default
	// 100,000; at most loadtest.MaxRate.
	MaxRate float64
	// StepDuration is each step's measured time. Default 10s: long enough
	// for the tail to be stable at p99.
	StepDuration time.Duration
	// Warmup is each step's unmeasured start. Default 2s; negative means
	// none.
	Warmup time.Duration
	// Precision stops the bisection when (hi-lo)/lo < Precision. Default
	// 0.05.
	Precision float64
	// MaxSteps caps the steps, ramp and bisection together. Default 20.
	MaxSteps int
	// MetricsURL is the server's Prometheus endpoint, scraped for
	// process_cpu_seconds_total around each step; "" means none.
	MetricsURL string
	// TargetRPS is the rate the plan sizes a deployment for; 0 sizes
	// nothing.
	TargetRPS float64
	// CostPerCoreHour prices the plan, in Currency; 0 prices nothing.
	CostPerCoreHour float64
	// Currency names CostPerCoreHour's unit (a code such as "USD" or
	// "EUR", letters only); default DefaultCurrency.
	Currency string
	// Headroom is the plan's target utilisation in (0, 1]. Default 0.7.
	Headroom float64
	// ServerCores is the cores of the machine the server runs on: one
	// replica's size. Default runtime.NumCPU() (right when the server runs
	// on this machine).
	ServerCores int
	// Progress, when set, is called after each step with it, from the
	// goroutine that called Search.
	Progress func(Step)
}

// Defaults of Options.
const (
	DefaultStartRate    = 100
	DefaultMaxRate      = 100_000
	DefaultStepDuration = 10 * time.Second
	DefaultWarmup       = 2 * time.Second
	DefaultPrecision    = 0.05
	DefaultMaxSteps     = 20
	DefaultHeadroom     = 0.7
	DefaultCurrency     = "USD"
)

// DefaultOptions returns Options with every field but Load, SLO, the
// plan's TargetRPS and CostPerCoreHour, MetricsURL and Progress set to
// its default.
func DefaultOptions() Options {
	return Options{
		StartRate: DefaultStartRate, MaxRate: DefaultMaxRate,
		StepDuration: DefaultStepDuration, Warmup: DefaultWarmup,
		Precision: DefaultPrecision, MaxSteps: DefaultMaxSteps,
		Headroom: DefaultHeadroom, ServerCores: runtime.NumCPU(), Currency: DefaultCurrency,
	}
}

// ErrBadOptions is what errors.Is finds in Search's error when Options
// are invalid (and nothing ran).
var ErrBadOptions = errors.New("capacity: invalid options")

// optionsError names the bad field of Options; it Is ErrBadOptions.
type optionsError string

func (e optionsError) Error() string        { return string(e) }
func (e optionsError) Is(target error) bool { return target == ErrBadOptions }

// Check reports the first field of o that Search would refuse, with the
// error Search would return (it Is ErrBadOptions), so a caller can refuse
// bad options before doing anything else, such as opening report files.
func (o Options) Check() error {
	_, err := o.check()
	return err
}

// check returns o with its defaults filled in, or an error naming the
// first field that is wrong.
func (o Options) check() (Options, error) {
	def := DefaultOptions()
	// Zero fields take the defaults (a negative Warmup means none).
	o.StartRate = cmp.Or(o.StartRate, def.StartRate)
	o.MaxRate = cmp.Or(o.MaxRate, def.MaxRate)
	o.StepDuration = cmp.Or(o.StepDuration, def.StepDuration)
	o.Warmup = cmp.Or(o.Warmup, def.Warmup)
	o.Precision = cmp.Or(o.Precision, def.Precision)
	o.MaxSteps = cmp.Or(o.MaxSteps, def.MaxSteps)
	o.Headroom = cmp.Or(o.Headroom, def.Headroom)
	o.ServerCores = cmp.Or(o.ServerCores, def.ServerCores)
	o.Currency = cmp.Or(o.Currency, def.Currency)
	bad := func(v any, field, want string) (Options, error) {
		return o, optionsError(fmt.Sprintf("capacity: Options.%s is %v, want %s", field, v, want))
	}
	switch {
	case o.Load.URL == "":
		return bad(`""`, "Load.URL", "the prediction endpoint's URL")
	case !(o.SLO.P99 > 0):
		return bad(o.SLO.P99, "SLO.P99", "a positive latency: the search needs a target")
	case !(o.SLO.MaxErrorRate >= 0 && o.SLO.MaxErrorRate < 1):
		return bad(o.SLO.MaxErrorRate, "SLO.MaxErrorRate", "a fraction in [0, 1)")
	case !(o.StartRate > 0) || o.StartRate > loadtest.MaxRate:
		return bad(o.StartRate, "StartRate", fmt.Sprintf("requests per second in (0, %g]", float64(loadtest.MaxRate)))
	case !(o.MaxRate >= o.StartRate) || o.MaxRate > loadtest.MaxRate:
		return bad(o.MaxRate, "MaxRate", fmt.Sprintf("requests per second in [StartRate=%g, %g]", o.StartRate, float64(loadtest.MaxRate)))
	case o.StepDuration < 0:
		return bad(o.StepDuration, "StepDuration", "a positive time (0 for the default)")
	case !(o.Precision > 0 && o.Precision < 1):
		return bad(o.Precision, "Precision", "a fraction in (0, 1)")
	case o.MaxSteps < 1:
		return bad(o.MaxSteps, "MaxSteps", "at least 1")
	case !(o.Headroom > 0 && o.Headroom <= 1):
		return bad(o.Headroom, "Headroom", "a target utilisation in (0, 1]")
	case o.ServerCores < 1:
		return bad(o.ServerCores, "ServerCores", "at least 1")
	case !(o.TargetRPS >= 0) || math.IsInf(o.TargetRPS, 0):
		return bad(o.TargetRPS, "TargetRPS", "requests per second ≥ 0")
	case !(o.CostPerCoreHour >= 0) || math.IsInf(o.CostPerCoreHour, 0):
		return bad(o.CostPerCoreHour, "CostPerCoreHour", "a price ≥ 0")
	case len(o.Currency) > 8 || strings.IndexFunc(o.Currency, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') }) >= 0:
		return bad(fmt.Sprintf("%q", o.Currency), "Currency", `a currency code of up to 8 letters, such as "USD"`)
	}
	// Load as the first step will run it: a bad field is an options error
	// now, not a failed step later.
	first := o.Load
	first.Rate, first.Duration, first.Warmup = o.StartRate, o.StepDuration, o.Warmup
	if first.Warmup == 0 {
		first.Warmup = -1
	}
	if err := first.Check(); err != nil {
		// "loadtest: Options.URL ..." names the field as capacity's.
		return o, optionsError(strings.Replace(err.Error(), "loadtest: Options.", "capacity: Options.Load.", 1))
	}
	if o.MetricsURL != "" {
		u, err := url.Parse(o.MetricsURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(fmt.Sprintf("%q", o.MetricsURL), "MetricsURL", "an http(s) URL of the server's /metrics, or empty")
		}
	}
	return o, nil
}
