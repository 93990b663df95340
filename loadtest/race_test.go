//go:build race

package loadtest

// raceEnabled: the race detector makes sync.Pool drop items on purpose, so
// allocation counts of pooled code (fasthttp's) are not meaningful under it.
const raceEnabled = true
