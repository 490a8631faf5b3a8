package mirror

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWalkCursorNameIsTheMigrations: migrations 0012 and 0013 of the store
// find an added mailbox's walk cursor by the literal name
// "conversations@mailbox:<id>" (SQL cannot import a Go constant). Renaming
// walkCursorPrefix would make them match nothing, silently: a switch
// interrupted before 0012 would read as whole, and 0013 would keep the
// stale cursors it exists to drop.
func TestWalkCursorNameIsTheMigrations(t *testing.T) {
	const literal = "conversations@mailbox:"
	if walkCursorPrefix != literal {
		t.Fatalf("walkCursorPrefix is %q; migrations 0012 and 0013 match %q: change them together (in a new migration)", walkCursorPrefix, literal)
	}
	if got := mailboxCursor(7); got != literal+"7" {
		t.Errorf("mailboxCursor(7) = %q, want %q", got, literal+"7")
	}
	for _, name := range []string{"0012_mirror_scope_recorded.sql", "0013_stale_walk_cursors.sql"} {
		b, err := os.ReadFile(filepath.Join("..", "store", "migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "'"+literal) {
			t.Errorf("%s no longer matches %q", name, literal)
		}
	}
}
