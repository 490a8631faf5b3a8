//go:build !race

package mirror_test

// raceDetector is true under -race, which slows SQLite and JSON several
// times over: volume tests shrink so the suite stays quick (testSize).
const raceDetector = false
