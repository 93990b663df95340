// Package slo keeps each model's service level objectives: their
// configuration (Config, read from the serve config file's per-model
// "slo" object), the in-process indicators the daemon reports (Tracker:
// SLI over the SLO window, error budget left, burn rates over the SRE
// workbook's multiwindow pairs; a Snapshot for /monitor and a Prometheus
// collector for /metrics), and the numbers the alert rules are built from
// (Windows, Alerts, FormatWindow), so that the daemon's gauges and the
// rules tools/alerts writes mean the same thing.
//
// Two objectives per model, each a ratio of good requests to all:
//
//   - availability: a request is good unless its HTTP status is 5xx;
//   - latency: a request is good if it was answered within the threshold,
//     whatever its status. The threshold is one of monitor.LatencyBuckets,
//     so that the Prometheus rules can count the same requests from the
//     bucket of predictd_request_duration_seconds with that bound; that
//     histogram has no status label, which is why a fast 503 is good for
//     latency (it is bad for availability) and a slow one bad for both.
//
// Invariants: the Tracker's memory is fixed when it is made (a ring of
// 1-minute slots for 6 hours and one of 1-hour slots for max(3 days, the
// window), 32 bytes a slot: about 33 KB for a model with a 28-day window);
// time comes only from the injected clock, so its answers are a pure
// function of the observations and the clock's readings.
//
// Concurrency: Tracker.Observe is called on every request, from any
// goroutine: four atomic adds at most, no allocation, and a per-model lock
// taken only by the first request of each minute. Snapshot and Collect
// may run at any time beside it.
package slo
