// Package monitor records what serving does: latency histograms, cost per
// prediction, prediction distributions, drift statistics and SLO state. Not
// built yet: the serving and monitoring issues add it.
package monitor
