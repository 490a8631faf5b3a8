package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestMirrorScopeStaysRecordedWithoutMailbox: narrowing to a mailbox the
// scope did not hold (QW_MAILBOXES from b to a) leaves a recorded scope
// holding no mailbox, not an unrecorded one, until a's walk finishes.
func TestMirrorScopeStaysRecordedWithoutMailbox(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openTest(t)
	read := func(when string, want MirrorScope) {
		t.Helper()
		got, err := db.MirrorScope(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(got, want) {
			t.Errorf("%s: MirrorScope() = %+v, want %+v", when, got, want)
		}
	}
	read("new file", MirrorScope{})
	if err := db.SetMirrorScope(ctx, false, []int64{20}); err != nil {
		t.Fatal(err)
	}
	read("set to 20", MirrorScope{Recorded: true, Mailboxes: []int64{20}})
	if _, err := db.NarrowMirrorScope(ctx, []int64{10}, "conversations@mailbox:"); err != nil {
		t.Fatal(err)
	}
	read("narrowed to 10", MirrorScope{Recorded: true})
	const cursor = "conversations@mailbox:10"
	if err := db.SetCursor(ctx, cursor, at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.AddToMirrorScope(ctx, 10, cursor); err != nil {
		t.Fatal(err)
	}
	read("10 walked", MirrorScope{Recorded: true, Mailboxes: []int64{10}})
	if _, err := db.Cursor(ctx, cursor); !errors.Is(err, ErrNotFound) {
		t.Errorf("the cursor of the finished walk: %v, want ErrNotFound", err)
	}
	if err := db.SetMirrorScope(ctx, true, nil); err != nil {
		t.Fatal(err)
	}
	read("every mailbox", MirrorScope{Recorded: true, All: true})
}

// TestMailboxStatsWithNoMailboxWhole: while the recorded scope holds no
// mailbox (a switch whose walk is unfinished), the stats list the
// mailboxes the conversations carry, not the account's every mailbox with
// zeros, which would read as empty inboxes.
func TestMailboxStatsWithNoMailboxWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := seedTeam(t) // mailboxes 10, 20 (both with conversations) and 30
	if err := db.SetMirrorScope(ctx, false, []int64{20}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NarrowMirrorScope(ctx, []int64{10}, "conversations@mailbox:"); err != nil {
		t.Fatal(err)
	}
	stats, err := db.MailboxStats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, s := range stats {
		ids = append(ids, s.MailboxID)
	}
	if diff := cmp.Diff([]int64{10}, ids); diff != "" {
		t.Errorf("mailboxes in the stats (-want +got):\n%s", diff)
	}
}

// TestMigrationRecordsTheScope: a file at schema version 11 opens and is
// upgraded with its scope read as it was meant, nothing else lost. A
// scope with a row was recorded; an empty one beside the cursor of an
// added mailbox's walk is a switch interrupted after its first page
// (recorded, no mailbox whole); a mailbox recorded while its walk's
// cursor is still there was recorded without the walk finishing, and is
// walked again from that cursor. An interrupted walk holds what it read
// (a walk's cursor moves only in the transaction that stores a page).
func TestMigrationRecordsTheScope(t *testing.T) {
	t.Parallel()
	const before = 11 // the last schema without mirror_scope_recorded
	for _, tc := range []struct {
		name    string
		scope   []int64
		cursors []string
		want    MirrorScope
	}{
		{"recorded scope", []int64{5, 9}, nil, MirrorScope{Recorded: true, Mailboxes: []int64{5, 9}}},
		{"every mailbox", []int64{0}, nil, MirrorScope{Recorded: true, All: true}},
		{"nothing recorded", nil, nil, MirrorScope{}},
		{"switch interrupted in the walk", nil, []string{"conversations@mailbox:7"}, MirrorScope{Recorded: true}},
		{"mailbox recorded without its walk", []int64{7, 9}, []string{"conversations@mailbox:7"},
			MirrorScope{Recorded: true, Mailboxes: []int64{9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "qw.db")
			raw := rawAtVersion(t, path, before)
			cursors := append([]string{"conversations"}, tc.cursors...)
			for _, name := range cursors {
				if _, err := raw.Exec("INSERT INTO sync_cursors (name, value, updated_at) VALUES (?, 1, 1)", name); err != nil {
					t.Fatal(err)
				}
			}
			for _, id := range tc.scope {
				if _, err := raw.Exec("INSERT INTO mirror_scope (mailbox_id) VALUES (?)", id); err != nil {
					t.Fatal(err)
				}
			}
			for i, name := range tc.cursors {
				mailbox := strings.TrimPrefix(name, "conversations@mailbox:")
				if _, err := raw.Exec("INSERT INTO conversations (id, mailbox_id, synced_at) VALUES (?, ?, 1)", 100+i, mailbox); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()

			db, _ := openAt(t, path)
			if v, err := db.SchemaVersion(ctx); err != nil || v != LatestSchemaVersion() {
				t.Fatalf("schema version = %d, %v; want %d", v, err, LatestSchemaVersion())
			}
			got, err := db.MirrorScope(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(got, tc.want) {
				t.Errorf("MirrorScope() after the upgrade = %+v, want %+v", got, tc.want)
			}
			for _, name := range cursors {
				if cur, err := db.Cursor(ctx, name); err != nil || cur.Value.UnixMilli() != 1 {
					t.Errorf("cursor %s kept through the upgrade = %+v, %v", name, cur, err)
				}
			}
		})
	}
}

// TestNarrowMirrorScopeDropsWalkCursors: the cursors of unfinished walks
// of the mailboxes left go with their conversations; the poll's, and a
// kept mailbox's walk, stay.
func TestNarrowMirrorScopeDropsWalkCursors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openTest(t)
	const prefix = "conversations@mailbox:"
	names := []string{"conversations", prefix + "10", prefix + "20", prefix + "200"}
	for _, name := range names {
		if err := db.SetCursor(ctx, name, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetMirrorScope(ctx, false, []int64{30}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NarrowMirrorScope(ctx, []int64{10, 30}, prefix); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, name := range names {
		switch _, err := db.Cursor(ctx, name); {
		case err == nil:
			kept = append(kept, name)
		case !errors.Is(err, ErrNotFound):
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"conversations", prefix + "10"}, kept); diff != "" {
		t.Errorf("cursors kept (-want +got):\n%s", diff)
	}
	if _, err := db.NarrowMirrorScope(ctx, []int64{10}, ""); err == nil {
		t.Error("NarrowMirrorScope without a cursor prefix: no error; it would drop every cursor")
	}
}

// TestNarrowFromEveryMailboxRecordsOnlyWalked: narrowing from every
// mailbox to a list records as whole only the kept mailboxes a walk read
// from the beginning: those the walk of every mailbox read (finished or
// still under way, which the poll resumes from its cursor with the
// narrowed listing) and those walked on their own since. One the
// directory lists but no walk read (the API user was given access to it
// after the walk of every mailbox) had only its recent changes polled,
// and one the account does not list (QW_MAILBOXES naming a mailbox the
// API user cannot see yet) nothing at all; recorded, either would never
// be walked (the mirror walks only mailboxes beyond the recorded scope).
// The walks of the mailboxes left are forgotten with their conversations.
func TestNarrowFromEveryMailboxRecordsOnlyWalked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := seedTeam(t) // the directory lists mailboxes 10, 20 and 30
	if err := db.ReplaceMailboxes(ctx, []Mailbox{{ID: 10}, {ID: 20}, {ID: 30}, {ID: 50}, {ID: 60}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMirrorScope(ctx, true, nil); err != nil {
		t.Fatal(err)
	}
	// The walk of every mailbox read 10, 20 and 50 (and finished with
	// 10 and 20); 30 was walked on its own; 60 was listed after the
	// walk and never walked.
	if err := db.BeginPollWalk(ctx, []int64{10, 20}); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishPollWalk(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.BeginPollWalk(ctx, []int64{50}); err != nil {
		t.Fatal(err)
	}
	if err := db.AddToMirrorScope(ctx, 30, "conversations@mailbox:30"); err != nil {
		t.Fatal(err)
	}
	if got, err := db.MirrorScope(ctx); err != nil || !got.All {
		t.Fatalf("MirrorScope() after a mailbox's own walk with every mailbox = %+v, %v; want every mailbox", got, err)
	}
	const unlisted = 40
	if _, err := db.NarrowMirrorScope(ctx, []int64{10, 30, unlisted, 50, 60}, "conversations@mailbox:"); err != nil {
		t.Fatal(err)
	}
	got, err := db.MirrorScope(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (MirrorScope{Recorded: true, Mailboxes: []int64{10, 30, 50}}); !cmp.Equal(got, want) {
		t.Errorf("MirrorScope() after narrowing every mailbox to [10 30 %d 50 60] = %+v, want %+v", unlisted, got, want)
	}
	walked, err := db.Walked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]bool{10: true, 30: true, 50: false}, walked); diff != "" {
		t.Errorf("walked mailboxes after the narrowing (-want +got):\n%s", diff)
	}
}

// TestWalkedMailboxes: a mailbox counts as walked once the last page of
// a walk that read it from the beginning is stored: its own walk's
// (AddToMirrorScope, in the transaction that drops the walk's cursor), or
// the poll's first walk's (BeginPollWalk before it, FinishPollWalk at its
// end). A mailbox walked on its own before stays walked when a poll walk
// begins. One the account stops listing is forgotten: it was not polled
// meanwhile, and is walked again if it comes back.
func TestWalkedMailboxes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openTest(t)
	read := func(when string, want map[int64]bool) {
		t.Helper()
		got, err := db.Walked(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: Walked() (-want +got):\n%s", when, diff)
		}
	}
	read("new file", map[int64]bool{})
	if err := db.ReplaceMailboxes(ctx, []Mailbox{{ID: 10}, {ID: 20}, {ID: 30}}); err != nil {
		t.Fatal(err)
	}
	const cursor = "conversations@mailbox:30"
	if err := db.SetCursor(ctx, cursor, at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	read("30's walk under way", map[int64]bool{})
	if err := db.AddToMirrorScope(ctx, 30, cursor); err != nil {
		t.Fatal(err)
	}
	read("30 walked", map[int64]bool{30: true})
	if err := db.BeginPollWalk(ctx, []int64{10, 20, 30}); err != nil {
		t.Fatal(err)
	}
	read("the poll's first walk begun", map[int64]bool{10: false, 20: false, 30: true})
	if err := db.FinishPollWalk(ctx); err != nil {
		t.Fatal(err)
	}
	read("the poll's first walk finished", map[int64]bool{10: true, 20: true, 30: true})
	if err := db.ReplaceMailboxes(ctx, []Mailbox{{ID: 10}, {ID: 30}}); err != nil {
		t.Fatal(err)
	}
	read("20 no longer listed", map[int64]bool{10: true, 30: true})
	if err := db.ReplaceMailboxes(ctx, []Mailbox{{ID: 10}, {ID: 20}, {ID: 30}}); err != nil {
		t.Fatal(err)
	}
	read("20 listed again", map[int64]bool{10: true, 30: true})
}

// TestMigrationRecordsTheWalkedMailboxes: a file at schema version 13
// has its walked mailboxes derived from what the old version did. With
// every mailbox, the old walk read the mailboxes the directory lists:
// walked if that walk completed (its mark is stored), still read by the
// poll's walk if not; a mailbox whose own walk left its cursor is not
// walked, that walk resumes. With a list, the recorded mailboxes the
// directory lists were read (which finished is not known: the poll's
// next walk says); one it does not list was recorded unread and is
// walked once listed. A file that never recorded a scope has none.
func TestMigrationRecordsTheWalkedMailboxes(t *testing.T) {
	t.Parallel()
	const before = 13 // the last schema without walked_mailboxes
	for _, tc := range []struct {
		name    string
		scope   []int64
		cursors []string
		want    map[int64]bool
	}{
		{"every mailbox, walk completed", []int64{0}, []string{"sync-complete@mailboxes:all"},
			map[int64]bool{10: true, 20: true, 30: true}},
		{"every mailbox, first walk under way", []int64{0}, nil, map[int64]bool{10: false, 20: false, 30: false}},
		{"every mailbox, one walked on its own under way", []int64{0}, []string{"sync-complete@mailboxes:all", "conversations@mailbox:30"},
			map[int64]bool{10: true, 20: true}},
		{"a list", []int64{10, 20, 40}, []string{"sync-complete@mailboxes:10,20,40"}, map[int64]bool{10: false, 20: false}},
		{"nothing recorded", nil, nil, map[int64]bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "qw.db")
			raw := rawAtVersion(t, path, before)
			stmts := []string{
				"INSERT INTO mailboxes (id, name, email, slug) VALUES (10, 'a', '', ''), (20, 'b', '', ''), (30, 'c', '', '')",
				"INSERT INTO sync_cursors (name, value, updated_at) VALUES ('conversations', 1, 1)",
			}
			if tc.scope != nil {
				stmts = append(stmts, "INSERT INTO mirror_scope_recorded (id) VALUES (1)")
			}
			for _, id := range tc.scope {
				stmts = append(stmts, fmt.Sprintf("INSERT INTO mirror_scope (mailbox_id) VALUES (%d)", id))
			}
			for _, name := range tc.cursors {
				stmts = append(stmts, fmt.Sprintf("INSERT INTO sync_cursors (name, value, updated_at) VALUES ('%s', 1, 1)", name))
			}
			// 0013 keeps a walk's cursor only beside what it stored.
			stmts = append(stmts, "INSERT INTO conversations (id, mailbox_id, synced_at) VALUES (1, 30, 1)")
			for _, stmt := range stmts {
				if _, err := raw.Exec(stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			raw.Close()

			db, _ := openAt(t, path)
			got, err := db.Walked(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Walked() after the upgrade (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMigrationDropsStaleWalkCursors: a file at schema version 12 may hold
// the cursor of an unfinished walk of a mailbox whose conversations an
// older narrowing deleted. Resumed from it when the mailbox is wanted
// again, the walk would skip everything before it. The upgrade drops such
// cursors; a walk whose mailbox still holds what it read, and the poll's
// own cursor, keep theirs.
func TestMigrationDropsStaleWalkCursors(t *testing.T) {
	t.Parallel()
	const before = 12 // the last schema that kept such cursors
	const prefix = "conversations@mailbox:"
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	raw := rawAtVersion(t, path, before)
	// Mailbox 9 is whole; 7's walk is unfinished and holds a conversation;
	// 5's walk was cut short, then 5 was narrowed away, conversations only.
	for _, stmt := range []string{
		"INSERT INTO mirror_scope_recorded (id) VALUES (1)",
		"INSERT INTO mirror_scope (mailbox_id) VALUES (9)",
		"INSERT INTO conversations (id, mailbox_id, synced_at) VALUES (1, 9, 1), (2, 7, 1)",
		"INSERT INTO sync_cursors (name, value, updated_at) VALUES ('conversations', 1, 1), ('" + prefix + "7', 1, 1), ('" + prefix + "5', 1, 1)",
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, _ := openAt(t, path)
	var kept []string
	for _, name := range []string{"conversations", prefix + "5", prefix + "7"} {
		switch _, err := db.Cursor(ctx, name); {
		case err == nil:
			kept = append(kept, name)
		case !errors.Is(err, ErrNotFound):
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"conversations", prefix + "7"}, kept); diff != "" {
		t.Errorf("cursors kept through the upgrade (-want +got):\n%s", diff)
	}
	got, err := db.MirrorScope(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (MirrorScope{Recorded: true, Mailboxes: []int64{9}}); !cmp.Equal(got, want) {
		t.Errorf("MirrorScope() after the upgrade = %+v, want %+v", got, want)
	}
}
