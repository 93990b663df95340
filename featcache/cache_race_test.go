//go:build race

package featcache_test

// raceEnabled: the race detector makes sync.Pool drop items on purpose, so
// allocation tests of pooled code skip under it.
const raceEnabled = true
