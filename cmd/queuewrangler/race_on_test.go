//go:build race

package main

// raceDetector is true under -race, which slows SQLite and JSON several
// times over: volume tests shrink so the suite stays quick (testSize).
const raceDetector = true
