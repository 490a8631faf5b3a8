package config

import (
	"os"
	"testing"
)

// unsetenv removes key for the rest of the test; t.Setenv has registered the
// restore already, so only the removal is needed here.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
