//go:build race

package main

// raceEnabled: under go test -race the worker subprocess is built with the race detector too.
const raceEnabled = true
