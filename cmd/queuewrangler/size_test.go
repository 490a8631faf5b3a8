package main

import (
	"os"
	"testing"
)

// testSize picks a volume: full normally, underRace under the race
// detector, short under -short. QW_TEST_FULL=1 forces full.
func testSize(full, underRace, short int) int {
	switch {
	case os.Getenv("QW_TEST_FULL") == "1":
		return full
	case testing.Short():
		return short
	case raceDetector:
		return underRace
	}
	return full
}
