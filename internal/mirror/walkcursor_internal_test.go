package mirror

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWalkCursorNameIsTheMigrations: migrations 0012, 0013 and 0014 of the
// store find an added mailbox's walk cursor by the literal name
// "conversations@mailbox:<id>" (SQL cannot import a Go constant). Renaming
// walkCursorPrefix would make them match nothing, silently: a switch
// interrupted before 0012 would read as whole, 0013 would keep the stale
// cursors it exists to drop, and 0014 would record as walked a mailbox
// whose walk is under way.
func TestWalkCursorNameIsTheMigrations(t *testing.T) {
	const literal = "conversations@mailbox:"
	if walkCursorPrefix != literal {
		t.Fatalf("walkCursorPrefix is %q; migrations 0012 to 0014 match %q: change them together (in a new migration)", walkCursorPrefix, literal)
	}
	if got := mailboxCursor(7); got != literal+"7" {
		t.Errorf("mailboxCursor(7) = %q, want %q", got, literal+"7")
	}
	for _, name := range []string{"0012_mirror_scope_recorded.sql", "0013_stale_walk_cursors.sql", "0014_walked_mailboxes.sql"} {
		b, err := os.ReadFile(filepath.Join("..", "store", "migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "'"+literal) {
			t.Errorf("%s no longer matches %q", name, literal)
		}
	}
}

// TestCompleteMarkNameIsTheMigrations: migration 0014 of the store tells a
// completed walk of every mailbox by the mark's literal name
// "sync-complete@mailboxes:all". Renamed, the mark would match nothing,
// and every upgraded file would take its walk of every mailbox as still
// under way.
func TestCompleteMarkNameIsTheMigrations(t *testing.T) {
	const literal = "sync-complete@mailboxes:all"
	if got := (&Mirror{}).completeCursor(); got != literal {
		t.Fatalf("the mark of a completed sync of every mailbox is %q; migration 0014 matches %q: change them together (in a new migration)", got, literal)
	}
	b, err := os.ReadFile(filepath.Join("..", "store", "migrations", "0014_walked_mailboxes.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "'"+literal+"'") {
		t.Errorf("0014_walked_mailboxes.sql no longer matches %q", literal)
	}
}
