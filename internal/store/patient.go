package store

import (
	"context"
	"errors"
	"time"
)

// OpenPatiently opens the database at path as OpenExclusive does for
// command, and while it cannot (a disk full or read-only, a file system not
// mounted yet) tries again: after a second, then twice as long each time up
// to 30 s, until ctx ends. Each failure goes to retrying with the wait
// before the next try, so that the daemon can say why it is not ready
// instead of exiting into a crash loop. What no wait can fix ends it at
// once, with the error as OpenExclusive gave it: another program's file
// (ErrForeignDatabase), a database another process holds (ErrLocked), one
// written by a newer binary (ErrSchemaTooNew), a damaged file (ErrCorrupt)
// and one whose tables are not what its version says (ErrSchemaMismatch).
func OpenPatiently(ctx context.Context, path, command string, retrying func(err error, wait time.Duration)) (*DB, error) {
	wait := time.Second
	for {
		db, err := OpenExclusive(ctx, path, command)
		switch {
		case err == nil:
			return db, nil
		case errors.Is(err, ErrForeignDatabase), errors.Is(err, ErrLocked), errors.Is(err, ErrSchemaTooNew),
			errors.Is(err, ErrCorrupt), errors.Is(err, ErrSchemaMismatch):
			return nil, err
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		retrying(err, wait)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}
