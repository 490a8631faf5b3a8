package store

import (
	"context"
	"errors"
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

// TestNarrowFromEveryMailboxRecordsOnlyListed: narrowing from every
// mailbox to a list records as whole only the listed mailboxes the
// directory holds, those the walks of every mailbox could have read. One
// the account does not list yet (QW_MAILBOXES naming a mailbox the API
// user cannot see yet) had nothing walked; recorded, its history would
// never be walked once it appears (the mirror walks only mailboxes beyond
// the recorded scope).
func TestNarrowFromEveryMailboxRecordsOnlyListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := seedTeam(t) // the directory lists mailboxes 10, 20 and 30
	if err := db.SetMirrorScope(ctx, true, nil); err != nil {
		t.Fatal(err)
	}
	const unlisted = 40
	if _, err := db.NarrowMirrorScope(ctx, []int64{10, unlisted}, "conversations@mailbox:"); err != nil {
		t.Fatal(err)
	}
	got, err := db.MirrorScope(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (MirrorScope{Recorded: true, Mailboxes: []int64{10}}); !cmp.Equal(got, want) {
		t.Errorf("MirrorScope() after narrowing every mailbox to [10 %d] = %+v, want %+v", unlisted, got, want)
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
