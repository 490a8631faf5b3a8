//go:build race

package testkit

// Race is true when the test binary was built with -race.
const Race = true
