package main

import (
	"errors"
	"fmt"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// finalStoreError says what to do about a database that retrying cannot
// open, or returns nil for a failure worth retrying (a full or read-only
// disk). The file is left as it was in every case.
//
//   - another program's file: QW_DB_PATH names the wrong file, a
//     configuration error (exit code 2);
//   - held by another queuewrangler: one daemon per database, and a `sync`
//     would write beside it (exit code 1; `plan` only reads and may run);
//   - a newer schema: this binary is too old for the file (exit code 1).
func finalStoreError(path string, err error) error {
	switch {
	case errors.Is(err, store.ErrForeignDatabase):
		return usagef("QW_DB_PATH: %v (point it at queuewrangler's own file, or at one that does not exist yet)", err)
	case errors.Is(err, store.ErrLocked):
		return fmt.Errorf("%w (one queuewrangler writes to a database at a time: stop that one first; `plan` may run beside it)", err)
	case errors.Is(err, store.ErrSchemaTooNew):
		return fmt.Errorf("open database %s: %w (run the newer queuewrangler, or move the file aside to start afresh)", path, err)
	}
	return nil
}
