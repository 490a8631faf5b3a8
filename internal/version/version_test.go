package version

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// TestWriteNamesVersionCommitAndGo: an unstamped test binary prints the
// default version, "unknown" or a VCS commit, and the Go version; a stamped
// one prints what was stamped (the Dockerfile's flags are checked by cmd's
// container test, which links with them).
func TestWriteNamesVersionCommitAndGo(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "queuewrangler dev" || !strings.HasPrefix(lines[1], "commit ") || lines[2] != runtime.Version() {
		t.Errorf("Write printed %q", b.String())
	}
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v1.2.3", "abc123"
	b.Reset()
	if err := Write(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "queuewrangler v1.2.3\ncommit abc123\n") {
		t.Errorf("stamped build printed %q", b.String())
	}
}
