package version

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time: -ldflags "-X
// github.com/queuewrangler/queuewrangler/internal/version.version=v1.2.3
// -X github.com/queuewrangler/queuewrangler/internal/version.commit=abc123".
// A build without them reads the commit from the module's VCS stamp.
var (
	version = "dev"
	commit  = ""
)

// Write prints the version, the commit ("unknown" when the build has none)
// and the Go version, one per line.
func Write(w io.Writer) error {
	_, err := fmt.Fprintf(w, "queuewrangler %s\ncommit %s\n%s\n", version, Commit(), runtime.Version())
	return err
}

// Version is the version stamped at build time, "dev" without one.
func Version() string { return version }

// Commit is the commit stamped at build time, else the one the go tool
// stamped from version control, else "unknown".
func Commit() string { return cmp.Or(commit, vcsCommit(), "unknown") }

// vcsCommit is the commit the go tool stamped into the binary, marked when
// the tree had changes; "" when it stamped none (go run, -buildvcs=false).
func vcsCommit() string {
	info, _ := debug.ReadBuildInfo()
	if info == nil {
		return ""
	}
	vcs := map[string]string{}
	for _, s := range info.Settings {
		vcs[s.Key] = s.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" && vcs["vcs.modified"] == "true" {
		return rev + "-dirty"
	}
	return vcs["vcs.revision"]
}
