package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"modernc.org/sqlite"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	tests := []struct {
		name string
		// provoke returns a real driver error of the class under test.
		provoke func(t *testing.T) error
		want    error
	}{
		{name: "constraint is ErrConflict", want: ErrConflict, provoke: func(t *testing.T) error {
			db, _ := openTest(t)
			if _, err := db.write.Exec("INSERT INTO mailboxes (id) VALUES (1)"); err != nil {
				t.Fatal(err)
			}
			_, err := db.write.Exec("INSERT INTO mailboxes (id) VALUES (1)")
			return err
		}},
		{name: "foreign key is ErrConflict", want: ErrConflict, provoke: func(t *testing.T) error {
			db, _ := openTest(t)
			_, err := db.write.Exec("INSERT INTO threads (id, conversation_id) VALUES (1, 404)")
			return err
		}},
		{name: "locked is ErrBusy", want: ErrBusy, provoke: func(t *testing.T) error {
			db, _ := openTest(t)
			tx, err := db.write.BeginTx(ctx, nil) // BEGIN IMMEDIATE: holds the write lock
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			// A second connection that does not wait, as another process would
			// see it once busy_timeout runs out.
			other, err := sql.Open("sqlite", "file://"+db.path+"?_pragma=busy_timeout(0)&_txlock=immediate")
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			_, err = other.Begin()
			return err
		}},
		{name: "read-only connection is ErrReadOnly", want: ErrReadOnly, provoke: func(t *testing.T) error {
			db, _ := openTest(t)
			_, err := db.read.Exec("INSERT INTO mailboxes (id) VALUES (1)")
			return err
		}},
		{name: "page limit reached is ErrFull", want: ErrFull, provoke: func(t *testing.T) error {
			db, _ := openTest(t)
			var pages int
			if err := db.write.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
				t.Fatal(err)
			}
			if _, err := db.write.Exec("PRAGMA max_page_count = " + strconv.Itoa(pages+1)); err != nil {
				t.Fatal(err)
			}
			_, err := db.write.Exec("INSERT INTO webhook_inbox (received_at, body, signature_ok) VALUES (0, zeroblob(1000000), 1)")
			return err
		}},
		{name: "no rows is ErrNotFound", want: ErrNotFound, provoke: func(t *testing.T) error {
			db, _ := openTest(t)
			var id int64
			return db.read.QueryRow("SELECT id FROM mailboxes WHERE id = 1").Scan(&id)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := tt.provoke(t)
			if raw == nil {
				t.Fatal("provoke returned no error")
			}
			got := classify(raw)
			if !errors.Is(got, tt.want) {
				t.Errorf("classify(%v) = %v, want errors.Is %v", raw, got, tt.want)
			}
			if again := classify(got); again.Error() != got.Error() {
				t.Errorf("classify is not idempotent: %q then %q", got, again)
			}
			var se *sqlite.Error
			if tt.want != ErrNotFound && !errors.As(got, &se) {
				t.Errorf("classify(%v) lost the driver error", raw)
			}
		})
	}
}

func TestErrorsReachCallersWithTheOperation(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	_, err := db.Proposal(ctx, 42)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "read proposal 42") {
		t.Errorf("Proposal(42) error = %v, want ErrNotFound naming the operation", err)
	}
	// A full disk surfaces through a public method, not just classify.
	// (SQLite raises a max_page_count below the current size to it.)
	if _, err := db.write.Exec("PRAGMA max_page_count = 1"); err != nil {
		t.Fatal(err)
	}
	_, _, err = db.AddWebhook(ctx, "convo.created", make([]byte, 1<<20), t0)
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "insert webhook convo.created") {
		t.Errorf("AddWebhook on a full database = %v, want ErrFull naming the operation", err)
	}
	if _, err := Open(ctx, filepath.Join(t.TempDir(), "missing-dir", "sub", "qw.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

func TestOpenFailedReason(t *testing.T) {
	for err, want := range map[error]string{
		fmt.Errorf("open: %w", ErrFull):       ErrCannotWriteReason,
		fmt.Errorf("open: %w", ErrReadOnly):   ErrCannotWriteReason,
		errors.New("unable to open database"): "the database cannot be opened; see the log",
	} {
		if got := OpenFailedReason(err); got != want {
			t.Errorf("OpenFailedReason(%v) = %q, want %q", err, got, want)
		}
	}
}
