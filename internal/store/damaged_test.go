package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goodFile writes a migrated database with enough rows to span many pages,
// closed, and returns its path.
func goodFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qw.db")
	db, _ := openAt(t, path)
	for i := range 400 {
		if _, err := db.write.Exec("INSERT INTO mailboxes (id, name) VALUES (?, ?)", i+1, strings.Repeat("x", 200)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// openRefused opens path as the daemon does and fails the test if the
// error is retried: what no wait repairs must end the daemon at once.
func openRefused(t *testing.T, path string) error {
	t.Helper()
	db, err := OpenPatiently(context.Background(), path, "serve", func(err error, _ time.Duration) {
		t.Fatalf("retried: %v", err)
	})
	if err == nil {
		db.Close()
		t.Fatal("opened")
	}
	return err
}

// TestDamagedDatabaseIsNotRetried is ops finding 2: a damaged file was
// retried for ever ("optimize: database disk image is malformed (11)",
// backing off to 30 s) while /readyz said only "cannot be opened". It is
// ErrCorrupt now, which the daemon does not retry, and the advice says
// what to do.
func TestDamagedDatabaseIsNotRetried(t *testing.T) {
	t.Parallel()
	for name, damage := range map[string]func(b []byte) []byte{
		"48 bytes overwritten past the header": func(b []byte) []byte {
			copy(b[12288:], strings.Repeat("\xff", 48))
			return b
		},
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := goodFile(t)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) < 12288+48 {
				t.Fatalf("the file is %d bytes; the test damages it at 12288", len(b))
			}
			if err := os.WriteFile(path, damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			err = openRefused(t, path)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			msg := Advise(path, err).Error()
			for _, want := range []string{path, "damaged", "restore it from a backup", "move the file aside", "re-sync"} {
				if !strings.Contains(msg, want) {
					t.Errorf("advice does not say %q:\n%s", want, msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("advice spans lines:\n%s", msg)
			}
		})
	}
}

// TestMissingColumnIsNotRetried: a file at our latest version that lacks
// a column its migrations add (ops finding 2: "no such column:
// assigned_at", a migration edited after it landed) cannot be fixed by
// waiting: ErrSchemaMismatch, with the same advice as a damaged file.
func TestMissingColumnIsNotRetried(t *testing.T) {
	t.Parallel()
	path := goodFile(t)
	raw, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("ALTER TABLE conversations DROP COLUMN assigned_at"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	err = openRefused(t, path)
	if !errors.Is(err, ErrSchemaMismatch) || !strings.Contains(err.Error(), "assigned_at") {
		t.Fatalf("err = %v, want ErrSchemaMismatch naming assigned_at", err)
	}
	if msg := Advise(path, err).Error(); !strings.Contains(msg, "restore it from a backup") {
		t.Errorf("advice without a remedy: %s", msg)
	}
}

// TestDatabaseFromADifferentBuild is ops finding 3: a file whose
// schema_version names a migration this build does not have (0005 was
// replaced after it landed) was called "not a queuewrangler database", exit
// 2. It is ours, from a different build, and the error names the
// migration, whether or not the file carries our application_id.
func TestDatabaseFromADifferentBuild(t *testing.T) {
	t.Parallel()
	for _, stamped := range []bool{false, true} {
		name := map[bool]string{false: "before application_id", true: "with application_id"}[stamped]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "qw.db")
			raw := rawAtVersion(t, path, 7)
			stmts := []string{"UPDATE schema_version SET name = '0005_facts_revision.sql' WHERE version = 5"}
			if stamped {
				stmts = append(stmts, fmt.Sprintf("PRAGMA application_id = %d", ApplicationID))
			}
			for _, s := range stmts {
				if _, err := raw.Exec(s); err != nil {
					t.Fatal(err)
				}
			}
			raw.Close()
			before := dirState(t, path)
			err := openRefused(t, path)
			if errors.Is(err, ErrForeignDatabase) || !errors.Is(err, ErrSchemaMismatch) {
				t.Fatalf("err = %v, want ErrSchemaMismatch and not ErrForeignDatabase", err)
			}
			for _, want := range []string{"different build of queuewrangler", "0005_facts_revision.sql", "0005_first_answer.sql"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}
			if after := dirState(t, path); !bytes.Equal(after[filepath.Base(path)], before[filepath.Base(path)]) {
				t.Error("the refused file changed")
			}
		})
	}
}

// TestDamageIsNewsOnceUntilTheFilePassesACheck: foundDamaged is news once
// for a run of failures on a damaged file, and DamageCleared ends the run
// only when the file passes SQLite's integrity check, wherever the damage sits.
func TestDamageIsNewsOnceUntilTheFilePassesACheck(t *testing.T) {
	t.Parallel()
	db, clock := openAt(t, goodFile(t))
	ctx := context.Background()
	if db.DamageCleared(ctx) {
		t.Error("a file never found damaged was cleared")
	}
	if !db.foundDamaged() {
		t.Error("the first damage found is not news")
	}
	if db.foundDamaged() {
		t.Error("damage found again is news")
	}

	pgno, good := rootPage(t, db, "mailboxes")
	writePage := func(data []byte) { overwritePage(t, db, pgno, data) }
	writePage(bytes.Repeat([]byte{0xff}, len(good)))
	if db.DamageCleared(ctx) {
		t.Error("cleared while the mailboxes table is still damaged")
	}
	if db.foundDamaged() {
		t.Error("damage found again after a failed check is news")
	}
	writePage(good)
	clock.Set(t0.Add(damageCheckEvery))
	if !db.DamageCleared(ctx) {
		t.Error("the restored file was not cleared")
	}
	if db.DamageCleared(ctx) {
		t.Error("cleared twice")
	}
	if !db.foundDamaged() {
		t.Error("damage found after the file was cleared is not news")
	}
}

// TestDamageCheckedAtMostOncePerInterval: while the file is held damaged,
// every successful sync asked for SQLite's integrity check, which reads
// the whole file (1.5 s on 100,000 conversations) at every poll. It now
// runs at most once per damageCheckEvery, and a file repaired meanwhile is
// cleared at the first call after that.
func TestDamageCheckedAtMostOncePerInterval(t *testing.T) {
	t.Parallel()
	db, clock := openAt(t, goodFile(t))
	ctx := context.Background()
	pgno, good := rootPage(t, db, "mailboxes")
	overwritePage(t, db, pgno, bytes.Repeat([]byte{0xff}, len(good)))
	db.foundDamaged()
	if db.DamageCleared(ctx) {
		t.Fatal("cleared while the mailboxes table is damaged")
	}
	checked := db.damageCheckedAt
	if checked.IsZero() {
		t.Fatal("the first call after the damage was found did not check the file")
	}
	overwritePage(t, db, pgno, good) // repaired
	for _, after := range []time.Duration{time.Second, 2 * time.Minute, damageCheckEvery - time.Second} {
		clock.Set(checked.Add(after))
		if db.DamageCleared(ctx) {
			t.Errorf("%v after the last check: the file was checked again, want at most one check per %v", after, damageCheckEvery)
		}
	}
	clock.Set(checked.Add(damageCheckEvery))
	if !db.DamageCleared(ctx) {
		t.Errorf("%v after the last check: the repaired file was not cleared", damageCheckEvery)
	}
}

// TestDamageCheckThatDidNotRunIsNotTheLast: a check cut short by its
// context read nothing of the file; counted as the last check, it put off
// the next one by damageCheckEvery, and a file repaired meanwhile stayed
// held damaged for those 10 minutes.
func TestDamageCheckThatDidNotRunIsNotTheLast(t *testing.T) {
	t.Parallel()
	db, _ := openAt(t, goodFile(t))
	db.foundDamaged() // the file is held damaged, and is in fact fine
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if db.DamageCleared(ended) {
		t.Fatal("cleared by a check whose context had ended")
	}
	if !db.damageCheckedAt.IsZero() {
		t.Errorf("a check whose context had ended counts as the last, at %v", db.damageCheckedAt)
	}
	if !db.DamageCleared(context.Background()) {
		t.Error("the check after one whose context had ended did not clear the sound file")
	}
}

// rootPage returns the page number and content of the root page of the
// table or index named name.
func rootPage(t *testing.T, db *DB, name string) (int64, []byte) {
	t.Helper()
	var pgno int64
	var data []byte
	if err := db.write.QueryRow("SELECT rootpage FROM sqlite_schema WHERE name = ?", name).Scan(&pgno); err != nil {
		t.Fatal(err)
	}
	if err := db.write.QueryRow("SELECT data FROM sqlite_dbpage WHERE pgno = ?", pgno).Scan(&data); err != nil {
		t.Fatal(err)
	}
	return pgno, data
}

// overwritePage writes data over page pgno, as a failing disk would.
func overwritePage(t *testing.T, db *DB, pgno int64, data []byte) {
	t.Helper()
	if _, err := db.write.Exec("UPDATE sqlite_dbpage SET data = ? WHERE pgno = ?", data, pgno); err != nil {
		t.Fatal(err)
	}
}

// TestSayFailureSaysTheDamageOnce: callers that fail at every turn on a
// damaged file (a scrape, a page view) hear the damage once, with the
// remedy, and every other failure each time; once the file passes its
// check, new damage is said again.
func TestSayFailureSaysTheDamageOnce(t *testing.T) {
	t.Parallel()
	path := goodFile(t)
	db, _ := openAt(t, path)
	var said []string
	say := func(err error) { said = append(said, err.Error()) }
	damaged := fmt.Errorf("read the team: %w", ErrCorrupt)
	other := errors.New("read the team: disk on fire")
	for range 3 {
		db.SayFailure(damaged, say)
		db.SayFailure(other, say)
	}
	if len(said) != 4 || !strings.Contains(said[0], path) || !strings.Contains(said[0], "restore it from a backup") {
		t.Fatalf("said %q, want the damage once with the file and the remedy, then the other failure three times", said)
	}
	for _, s := range said[1:] {
		if s != other.Error() {
			t.Errorf("said %q after the damage, want only %q", s, other)
		}
	}
	if !db.DamageCleared(context.Background()) {
		t.Fatal("the undamaged file was not cleared")
	}
	said = nil
	db.SayFailure(damaged, say)
	if len(said) != 1 {
		t.Errorf("new damage after the file was cleared: said %q, want it once", said)
	}
}

// TestDamageInAnIndexIsNotCleared: SQLite's quick check does not compare
// an index's entries with its table, so with an index page left from
// before a change (a lost write) the file passed it, the log said it was
// usable again, and the next read through the index said the damage
// again: at every poll. DamageCleared runs the full integrity check.
func TestDamageInAnIndexIsNotCleared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, clock := openTest(t)
	us := make([]ConversationUpdate, 20)
	for i := range us {
		us[i] = queueConversation(i, len(us))
	}
	if _, err := db.ApplyConversations(ctx, us); err != nil {
		t.Fatal(err)
	}
	pgno, before := rootPage(t, db, "conversations_mailbox_status")
	if _, err := db.write.Exec("UPDATE conversations SET mailbox_id = mailbox_id + 1000 WHERE id = (SELECT min(id) FROM conversations)"); err != nil {
		t.Fatal(err)
	}
	overwritePage(t, db, pgno, before)
	var quick string
	if err := db.read.QueryRow("PRAGMA quick_check(1)").Scan(&quick); err != nil || quick != "ok" {
		t.Fatalf("quick_check = %q (%v): the stale index page is meant to pass it", quick, err)
	}

	db.foundDamaged()
	if db.DamageCleared(ctx) {
		t.Error("cleared while an index disagrees with its table")
	}
	if _, err := db.write.Exec("REINDEX conversations_mailbox_status"); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(damageCheckEvery))
	if !db.DamageCleared(ctx) {
		t.Error("not cleared once the index was rebuilt")
	}
}
