package testkit

import (
	"os"
	"testing"
)

// Size picks the volume of a volume test: full normally, underRace under the
// race detector (which slows SQLite and JSON several times over), short under
// -short. QW_TEST_FULL=1 forces full, to run the full volume under -race.
func Size(full, underRace, short int) int {
	switch {
	case os.Getenv("QW_TEST_FULL") == "1":
		return full
	case testing.Short():
		return short
	case Race:
		return underRace
	}
	return full
}
