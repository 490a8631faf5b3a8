package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOpenPatientlyWaitsForTheDisk: a database whose directory does not
// exist yet (a volume not mounted) is tried again after a second, and
// opened once the directory is there.
func TestOpenPatientlyWaitsForTheDisk(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "not-mounted-yet")
	var waits []time.Duration
	db, err := OpenPatiently(context.Background(), filepath.Join(dir, "qw.db"), "serve", func(err error, wait time.Duration) {
		waits = append(waits, wait)
		if err == nil {
			t.Error("retrying called without the error")
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatalf("OpenPatiently: %v", err)
	}
	db.Close()
	if len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("waits %v, want one of 1s", waits)
	}
}

func TestOpenPatientlyGivesUp(t *testing.T) {
	t.Parallel()
	t.Run("a newer schema at once", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "qw.db")
		db, _ := openAt(t, path)
		if _, err := db.write.Exec(fmt.Sprintf("PRAGMA user_version = %d", LatestSchemaVersion()+1)); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := OpenPatiently(context.Background(), path, "serve", func(err error, _ time.Duration) {
			t.Errorf("retried a newer schema: %v", err)
		})
		if !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("err = %v, want ErrSchemaTooNew", err)
		}
	})
	t.Run("another program's file, at once", func(t *testing.T) {
		_, err := OpenPatiently(context.Background(), foreignFile(t, 7, 0, "notes"), "serve", func(err error, _ time.Duration) {
			t.Errorf("retried a foreign file: %v", err)
		})
		if !errors.Is(err, ErrForeignDatabase) {
			t.Errorf("err = %v, want ErrForeignDatabase", err)
		}
	})
	t.Run("a database another process holds, at once", func(t *testing.T) {
		if !LocksSupported {
			t.Skip("no file lock on this system")
		}
		path := filepath.Join(t.TempDir(), "qw.db")
		lock, err := AcquireLock(path, "sync")
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release()
		_, err = OpenPatiently(context.Background(), path, "serve", func(err error, _ time.Duration) {
			t.Errorf("retried a held database: %v", err)
		})
		if !errors.Is(err, ErrLocked) {
			t.Errorf("err = %v, want ErrLocked", err)
		}
	})
	t.Run("when the context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		path := filepath.Join(t.TempDir(), "missing", "qw.db")
		_, err := OpenPatiently(ctx, path, "serve", func(error, time.Duration) { cancel() })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}
