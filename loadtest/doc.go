// Package loadtest generates HTTP load against a prediction endpoint and
// measures what it got back: how many requests were answered, by which
// status, and the latency percentiles of the successful ones. It is the
// logic behind `predictd loadtest` (which the bench/ scripts drive) and
// `predictd capacity` (loadtest/capacity); it knows nothing about models,
// only about request bodies and a URL.
//
// # Two ways to offer load
//
// Closed loop (Options.Rate == 0): Concurrency clients each keep one
// request outstanding, sending the next as soon as the previous is
// answered. This finds capacity (the most requests per second the server
// answers at that concurrency), but its latencies hide queueing: when the
// server stalls, the clients stall with it and send nothing, so the stall
// shows in one slow request per client instead of in every request that a
// real population of users would have sent meanwhile.
//
// Open loop (Options.Rate > 0): requests are due on a fixed schedule, one
// every 1/Rate seconds from the start, whatever the server does, and at
// most Concurrency are in flight (one connection each). Latency is measured
// from each request's scheduled send time, not from when it was actually
// sent (as wrk2 does), so the results are free of coordinated omission: a
// request that had to wait for a free connection because the server fell
// behind counts that wait. Result.Late counts sends that started more than
// LateThreshold after their schedule; Result.Unsent counts requests due in
// the measured window that were never sent.
//
// # Past capacity
//
// Asked for more than the server (or the connections) can take, the open
// loop saturates instead of collapsing: every connection sends as fast as
// it is answered, and the rest of the schedule is counted, not worked
// through. Sends are handed out in schedule order; when the measured window
// starts, the warm-up's backlog is dropped (uncounted); a request that no
// connection could start within Options.MaxLateness (default Timeout) of
// its schedule is skipped and counted unsent; when the window ends, the
// rest of it is unsent. Each skip jumps the schedule in O(1) (a Poisson
// draw for the poisson profile), so 10^7 requests a second cost counters,
// not work per request. Latency still counts from each sent request's
// schedule, so past capacity it grows with the queue (up to MaxLateness),
// and Requests + Unsent = Scheduled, the requests due in the window.
//
// # What is measured
//
// The run is Warmup (requests sent, not recorded: connections opened, the
// server's first-request costs paid) followed by Duration (recorded). A
// closed-loop request belongs to the window in which it was sent, an
// open-loop request to the window in which it was due; requests still in
// flight when the window ends are waited for (at most Timeout) and
// recorded. A request is OK when it is answered with a 2xx status; every
// other outcome is counted in Result.Errors under its status code ("503")
// or transport error kind ("timeout", "connection_refused", ...).
// Percentiles are over OK responses only, from HDR histograms (1µs to 60s,
// 3 significant digits), one per client (past 64 clients, shared), merged
// when the run ends. The client never retries.
//
// Open-loop latency includes the generator's own lateness: the dispatcher
// sleeps on its own OS thread (nanosleep) until each send is due and wakes
// some 0.1ms late on a typical Linux VM (a runtime timer was 0.2–0.6ms),
// more on a busy machine, and an idle client pays OS wake-ups that a
// closed loop running flat out does not. Compare open-loop runs with each
// other (same machine, same rate), not with closed-loop latencies; Late
// counts the sends that slipped by more than LateThreshold.
//
// Profiles (Options.Profile) shape the schedule: constant, step, ramp or
// poisson; each send's due time is computed from its index (from a seeded
// random stream for poisson), so a rerun offers the same load.
//
// # Concurrency
//
// Run may be called from several goroutines at once; each call has its own
// client, connections and histogram. Options are not modified, and Bodies
// are read but never written or kept after Run returns.
package loadtest
