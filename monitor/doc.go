// Package monitor owns the daemon's metrics: one Prometheus registry
// (Registry, on client_golang) that /metrics gathers, the one histogram
// type (Histogram) every component counts latencies and sizes in, and the
// collectors that read them. Latency, cost, drift and SLOs belong here as
// they are built (their subpackages register collectors on the same
// Registry).
//
// What is here: the request series per model version and API, responses
// by HTTP status, their latency over LatencyBuckets and the instances
// predicted, with the shed, body-too-large and malformed counters
// (metrics.go); each version's batcher (batcher.go: BatcherHistograms is
// the batcher's Observer) and online feature join with the feature cache
// (features.go); the Go runtime and process collectors of client_golang
// (go_*, process_*: memory, GC, goroutines, CPU, open file descriptors).
// The server registers its own collectors (readiness, lifecycle states,
// connections) and the feature stream consumer its counters on the same
// Registry.
//
// The server feeds it after a request's response is ready, never in the
// way of one: an update is an atomic add on a Series, Histogram or
// JoinStats the server looked up when the version loaded; it takes no
// lock, hashes no label and allocates nothing (TestSeriesDoesNotAllocate).
// All the work of exposition (labels, sorting, encoding) happens at scrape
// time, in the collectors, through client_golang's const metrics and
// expfmt's encoders; Registry.Write negotiates the format as promhttp
// does.
//
// Invariants:
//   - One registry, one exposition path: nothing writes Prometheus text by
//     hand, and every scrape in the tests is parsed with expfmt (and one
//     checked with the real promtool).
//   - Series go when what they describe goes: Registry.Drop removes a
//     model version's request series (the server calls it when the last
//     prepared state of the version retires), and the batcher and join
//     collectors write only the versions live at the scrape.
//   - Label sets are bounded: model and version name loaded versions (a
//     request for an unknown model counts under model "" and version 0),
//     api comes from the server's fixed set, code from HTTP's, status and
//     policy from fixed lists; a collector writes each model version once
//     even if two states of it are live, since a duplicate series fails
//     the whole scrape.
//   - Names carry their unit (_seconds, _bytes, _rows) and counters end in
//     _total; `promtool check metrics` is clean (server's
//     TestMetricsPromtool).
//
// Concurrency: every method is safe for concurrent use. A scrape reads
// each counter atomically while updates go on, so the counters of one
// scrape are not a consistent snapshot of one another (a histogram's
// _count is its buckets' total, its _sum may be an observation ahead).
package monitor
