// Package capacity finds the highest request rate a prediction server
// answers within a latency SLO, and turns it into a deployment plan.
//
// # The search
//
// Search offers constant-rate open-loop load (loadtest.Run with
// Options.Rate set) in steps, each Warmup followed by StepDuration of
// measurement, and judges every step with loadtest.SLO.Check: its p99 and
// its error rate, unsent requests included, must be within the SLO. It
// ramps from StartRate, doubling the rate after each passing step, until a
// step fails or MaxRate passes; then it bisects between the last passing
// and the first failing rate until (hi-lo)/lo < Precision. MaxSteps bounds
// the steps in all.
//
// A step above capacity is meaningful: loadtest's open loop saturates
// (sends as fast as the connections are answered, counts the rest
// unsent), so such a step's achieved rate is the server's throughput
// (Step.Saturated, Report.SaturatedRPS), and the next probe goes just
// under it instead of half way to a rate far above.
//
// # Noise
//
// A rate's verdict is the majority of its runs. When the bracket is
// narrow enough, both its ends are run once more (PhaseVerify); a rate
// whose runs split, or whose verdict contradicts another rate's (a failure
// below a rate that passed, a pass above one that failed), is run again
// (PhaseRepeat), up to three runs. A flipped end moves the bracket and the
// search goes on (up the ramp again if the failing end now passes).
// Report.Repeats holds the spread of every repeated rate; Inconsistent and
// a note flag whatever disagreement is left.
//
// If the first rate fails (by majority), Search stops there and reports
// no knee (Report.Found false) rather than searching downward: a server
// that cannot hold StartRate needs a lower StartRate or a looser SLO, and
// the user should choose which.
//
// The knee is a passing run at the highest rate that passed below the
// lowest that failed. Its achieved rate (2xx responses per second) is what
// one server, as tested, sustains within the SLO: it assumes production
// requests cost what the test's bodies cost and that the server runs on
// the same kind of machine. When no rate failed (MaxSteps or MaxRate ran
// out first) it is only a floor: Report.LowerBound, "at least N
// requests/s".
//
// # CPU time per request
//
// When Options.MetricsURL is set, Search scrapes the server's
// process_cpu_seconds_total before and after each step and divides the
// growth by the requests completed in the step, warm-up included (the
// count loadtest reports through Options.Progress). That is the server
// process's CPU time per request — everything it did meanwhile, idle work
// included, so it overstates the cost at low rates; the plan uses the
// knee step's figure. A failed scrape leaves the figure unknown (0) and
// the search goes on.
//
// # The plan
//
// MakePlan is a pure function of the knee and the planning inputs; its
// doc comment states every formula and what it assumes. It prices a
// million predictions on two bases side by side, in Options.Currency:
// whole replicas (every core paid for, busy or not) and CPU time (the
// measured CPU seconds only, cores bought in fractions); the first is what
// a fleet of machines costs, the second the floor, and they can differ by
// one or two orders of magnitude for a cheap model on a large machine.
//
// # Concurrency
//
// Search runs its steps one after another and calls Options.Progress from
// the goroutine that called Search. Several Searches may run at once, but
// against one server they measure each other.
package capacity
