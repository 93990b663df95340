// Package loadtest is predictd's open-loop load generator (latency measured
// from the scheduled send time) and capacity planner. Not built yet: the
// load-testing issue adds it.
package loadtest
