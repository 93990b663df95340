package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/predictd/predictd/loadtest"
	"github.com/predictd/predictd/loadtest/capacity"
	"github.com/predictd/predictd/loadtest/report"
)

// cmdCapacity is `predictd capacity`: the highest rate a server holds
// within a p99 target, and the deployment that serves --target-rps.
// Exit 0 with a knee, 1 when even the first step failed, 2 on usage
// errors.
func cmdCapacity(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	d := capacity.DefaultOptions()
	fs := newFlags("capacity", stderr)
	rf := addRequestFlags(fs)
	target := rf.url
	sloP99 := fs.Duration("slo-p99", 0, "p99 latency target each step must hold (required)")
	maxErr := fs.Float64("max-error-rate", 0.001, "highest acceptable fraction of failed or unsent requests in a step")
	startRate := fs.Float64("start-rate", d.StartRate, "the ramp's first rate, requests/s")
	maxRate := fs.Float64("max-rate", d.MaxRate, "the highest rate tried, requests/s")
	stepDur := fs.Duration("step-duration", d.StepDuration, "measured time of each step")
	warmup := fs.Duration("warmup", d.Warmup, "unmeasured time before each step; 0: none")
	precision := fs.Float64("precision", d.Precision, "stop bisecting when (hi-lo)/lo is below this")
	maxSteps := fs.Int("max-steps", d.MaxSteps, "most steps, ramp and bisection together")
	conns := fs.Int("connections", 0, "most requests in flight, one connection each (default max(64, rate/10) per step)")
	timeout := fs.Duration("timeout", loadtest.DefaultTimeout, "per-request timeout")
	targetRPS := fs.Float64("target-rps", 0, "plan: the rate the deployment must serve")
	cost := fs.Float64("cost-per-core-hour", 0, "plan: price of one core for an hour, in --currency")
	currency := fs.String("currency", d.Currency, "plan: the unit of --cost-per-core-hour and of every price in the plan")
	headroom := fs.Float64("headroom", d.Headroom, "plan: target utilisation of each replica, in (0, 1]")
	serverCores := fs.Int("server-cores", d.ServerCores, "plan: cores of the machine the server runs on (one replica)")
	metrics := fs.String("metrics-url", "", `server's Prometheus /metrics for CPU time per request (default: --url's scheme://host + "/metrics"; "none": off)`)
	jsonOut := fs.String("json", "", "write the report as JSON to this file (- for stdout); checked before any request, replaced whole at the end")
	htmlOut := fs.String("html", "", "write a self-contained HTML report to this file; checked before any request, replaced whole at the end")
	quiet := fs.Bool("quiet", false, "no line per step")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := required(fs, "url"); err != nil {
		return err
	}
	if *sloP99 == 0 { // a duration flag's empty value prints as "0s": required cannot see it
		return usageErr("%s: missing required flag --slo-p99 (the p99 latency each step must hold)", fs.Name())
	}
	if err := checkNumbers(fs,
		bound{"slo-p99", above0, "a positive duration"},
		bound{"max-error-rate", func(v float64) bool { return v >= 0 && v < 1 }, "a fraction in [0, 1)"},
		bound{"start-rate", above0, "requests per second > 0"},
		bound{"max-rate", above0, "requests per second > 0"},
		bound{"step-duration", above0, "a positive duration"},
		bound{"warmup", atLeast0, "a duration ≥ 0 (0: none)"},
		bound{"precision", func(v float64) bool { return v > 0 && v < 1 }, "a fraction in (0, 1)"},
		bound{"max-steps", above0, "at least 1 step"},
		bound{"connections", atLeast0, "connections ≥ 0 (0: the default)"},
		bound{"batch", above0, "at least 1 instance per request"},
		bound{"timeout", above0, "a positive duration"},
		bound{"target-rps", atLeast0, "requests per second ≥ 0 (0: no plan)"},
		bound{"cost-per-core-hour", atLeast0, "a price ≥ 0 (0: no cost)"},
		bound{"headroom", func(v float64) bool { return v > 0 && v <= 1 }, "a utilisation in (0, 1]"},
		bound{"server-cores", above0, "at least 1 core"},
	); err != nil {
		return err
	}
	bs, err := rf.loadBodies()
	if err != nil {
		return err
	}
	if bs == nil {
		return usageErr("capacity: give --body FILE or --bodies FILE.ndjson")
	}
	murl, err := metricsURL(*target, *metrics)
	if err != nil {
		return err
	}
	o := capacity.Options{
		Load:      loadtest.Options{URL: *target, Bodies: bs, Header: rf.header, Concurrency: *conns, Timeout: *timeout},
		SLO:       loadtest.SLO{P99: *sloP99, MaxErrorRate: *maxErr},
		StartRate: *startRate, MaxRate: *maxRate, StepDuration: *stepDur, Warmup: *warmup,
		Precision: *precision, MaxSteps: *maxSteps, MetricsURL: murl,
		TargetRPS: *targetRPS, CostPerCoreHour: *cost, Currency: *currency, Headroom: *headroom, ServerCores: *serverCores,
	}
	if o.Warmup == 0 {
		o.Warmup = -1 // capacity's "none"
	}
	if err := o.Check(); err != nil {
		return usageErr("%v", err)
	}
	// The report paths are checked now, before the first step; see
	// openReports.
	reps, err := openReports("capacity", *jsonOut, *htmlOut)
	if err != nil {
		return err
	}
	defer reps.discard()
	if !*quiet {
		fmt.Fprintf(stdout, "%-4s %-6s %10s %10s %10s %10s %8s  %s\n", "step", "phase", "rate/s", "achieved/s", "p50", "p99", "errors", "verdict")
		n := 0
		o.Progress = func(s capacity.Step) {
			n++
			v := "pass"
			if !s.Pass {
				v = "FAIL: " + strings.Join(s.Reasons, "; ")
			}
			if s.Saturated {
				v += " (saturated: the server answered what it could)"
			}
			fmt.Fprintf(stdout, "%-4d %-6s %10.0f %10.1f %10s %10s %7.3g%%  %s\n", n, s.Phase, s.TargetRPS, s.AchievedRPS, fmtMS(s.P50MS), fmtMS(s.P99MS), 100*s.ErrorRate, v)
		}
	}
	r, err := capacity.Search(ctx, o)
	if errors.Is(err, capacity.ErrBadOptions) { // nothing ran
		return usageErr("%v", err)
	}
	searchErr := err
	printPlan(stdout, r)
	if err := reps.write(stdout, r, func(w io.Writer) error { return report.Capacity(w, r) }); err != nil {
		return err
	}
	switch {
	case searchErr != nil:
		return &exitError{1, fmt.Errorf("capacity: search stopped: %w", searchErr)}
	case !r.Found:
		return &exitError{1, errors.New("capacity: no knee found")}
	}
	return nil
}

// metricsURL is --metrics-url: flag as given, "" for "none", or the
// scheme and host of target with /metrics.
func metricsURL(target, flag string) (string, error) {
	switch flag {
	case "none":
		return "", nil
	case "":
	default:
		return flag, nil
	}
	if strings.HasPrefix(target, "unix:") {
		return "", nil // the scraper speaks TCP only; say --metrics-url
	}
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return "", usageErr("capacity: --url %q: want http://host:port/path", target)
	}
	return u.Scheme + "://" + u.Host + "/metrics", nil
}

// printPlan prints the search's outcome and the plan, one fact a line.
func printPlan(w io.Writer, r capacity.Report) {
	fmt.Fprintf(w, "\n%s\n", r.Message)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	p := r.Plan
	if p == nil {
		return
	}
	if r.LowerBound {
		fmt.Fprintf(w, "capacity: at least %.0f requests/s (no step failed: a floor, not a knee)\n", p.PerReplicaRPS)
	}
	fmt.Fprintf(w, "per replica: %.0f requests/s within the SLO, planned at %.0f%% utilisation (%.0f/s)\n",
		p.PerReplicaRPS, 100*p.Headroom, p.PerReplicaRPS*p.Headroom)
	if p.CPUSecondsPerRequest > 0 {
		fmt.Fprintf(w, "server CPU per prediction: %.3g ms\n", 1000*p.CPUSecondsPerRequest)
	}
	if p.TargetRPS > 0 {
		fmt.Fprintf(w, "for %.0f requests/s: %d replicas × %d cores = %d cores", p.TargetRPS, p.Replicas, p.CoresPerReplica, p.Cores)
		if p.CoresByCPU > 0 {
			fmt.Fprintf(w, " (%.1f cores by CPU time)", p.CoresByCPU)
		}
		fmt.Fprintln(w)
		if p.CostPerHour > 0 {
			fmt.Fprintf(w, "cost: %.4g %s per hour (%d cores × %.4g %s per core-hour)\n", p.CostPerHour, p.Currency, p.Cores, p.CostPerCoreHour, p.Currency)
		}
	}
	// The two prices of a million predictions side by side, each with its
	// basis: they can differ by far (70x was seen), and one without the
	// other misleads.
	if p.CostPerMillionReplicas > 0 {
		fmt.Fprintf(w, "cost per million predictions, %s:\n", p.Currency)
		fmt.Fprintf(w, "  %-10.4g by whole replicas: every core of every replica paid for, busy or not (a fleet of machines like the tested one)\n", p.CostPerMillionReplicas)
		if p.CostPerMillionCPU > 0 {
			fmt.Fprintf(w, "  %-10.4g by CPU time: the server's measured CPU seconds per prediction at %.0f%% utilisation, cores bought in fractions (the floor)\n", p.CostPerMillionCPU, 100*p.Headroom)
			fmt.Fprintf(w, "  the replica basis is %.3gx the CPU basis: the difference is cores a replica holds but does not keep busy\n", p.CostPerMillionReplicas/p.CostPerMillionCPU)
		}
	}
	for _, rp := range r.Repeats {
		fmt.Fprintf(w, "repeated %g/s: %d of %d runs passed, achieved %.4g-%.4g/s, p99 %s-%s\n", rp.TargetRPS, rp.Passed, rp.Runs,
			rp.AchievedMin, rp.AchievedMax, fmtMS(rp.P99MinMS), fmtMS(rp.P99MaxMS))
	}
}
