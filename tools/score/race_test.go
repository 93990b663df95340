//go:build race

package score

const raceEnabled = true
