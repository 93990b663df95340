// Package monitor records what serving does and writes it out for
// /metrics in Prometheus text format 0.0.4: per model version and API,
// responses by HTTP status, their latency and the instances predicted
// (metrics.go); each version's batcher and online feature join
// (features.go); and process and runtime gauges. Latency, cost, drift and
// SLOs belong here as they are built.
//
// The server feeds it after a request's response is ready, never in the
// way of one: an update is an atomic add on a Series or JoinStats the
// server looked up when the version loaded, takes no lock and allocates
// nothing (TestSeriesDoesNotAllocate).
//
// Invariants: label sets are bounded: model and version name loaded
// versions (a request for an unknown model counts under model "" and
// version 0), api comes from the server's fixed set, code from HTTP's; a
// version's series go when it retires (Registry.Drop), and the batcher and
// join series are written only for live versions; the exposition is sorted
// so that successive scrapes diff cleanly.
//
// Concurrency: every method is safe for concurrent use; a scrape reads
// each counter atomically while updates go on, so counters of one scrape
// are not a consistent snapshot of one another. (The next issue moves this
// onto Prometheus client_golang collectors.)
package monitor
