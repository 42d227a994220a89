//go:build race

package filter

// raceEnabled shrinks timing-based tests: the race detector slows code down.
const raceEnabled = true
