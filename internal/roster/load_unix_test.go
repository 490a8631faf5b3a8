//go:build unix

package roster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestLoadSaysWhoMayNotReadIt: a roster kept private on the host (mode
// 600) and mounted into the container, which runs as uid 65532, was
// refused with "permission denied" alone.
func TestLoadSaysWhoMayNotReadIt(t *testing.T) {
	dir, run := testkit.AsUnprivileged(t, func(dir string) {
		if err := os.WriteFile(filepath.Join(dir, "roster.json"), []byte(`{"agents": []}`), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	if !run {
		return
	}
	path := filepath.Join(dir, "roster.json")
	_, problems := LoadChecked(path, "QW_ROSTER_FILE")
	want := "permission denied (this user, uid " + strconv.Itoa(os.Getuid()) + ", may not read it: make it readable by that user, such as chmod 644"
	if len(problems) != 1 || !strings.Contains(problems[0], want) {
		t.Errorf("LoadChecked(a file this user may not read) = %q, want one problem with %q", problems, want)
	}
}
