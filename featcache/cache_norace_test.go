//go:build !race

package featcache_test

const raceEnabled = false
