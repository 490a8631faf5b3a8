package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("sync", stderr), args); err != nil {
		return err
	}
	cfg, _, err := loadConfig(config.NeedsHelpScout, false)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.LogFormat, cfg.LogLevel, stderr)
	// Exclusive: a sync beside a running daemon would write the same rows
	// and cursor, and the daemon's own polling already does what it does.
	db, err := store.OpenExclusive(ctx, cfg.DBPath, "sync")
	if err != nil {
		if final := finalStoreError(cfg.DBPath, err); final != nil {
			return final
		}
		return fmt.Errorf("open database %s: %w", cfg.DBPath, err)
	}
	defer db.Close()
	hs, err := newHelpScout(cfg, nil, logger)
	if err != nil {
		return err
	}
	mir := mirror.New(hs, db, mirror.Options{Mailboxes: cfg.Mailboxes.IDs, Logger: logger})
	start := time.Now()
	st, err := mir.SyncOnce(ctx)
	if err != nil {
		if st.Applied > 0 {
			return fmt.Errorf("sync: %w (the %d conversations stored before the failure are kept; the next sync resumes from them)", err, st.Applied)
		}
		return fmt.Errorf("sync: %w", err)
	}
	cur, err := db.Cursor(ctx, mirror.CursorConversations)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	fmt.Fprintf(stdout, "synced into %s in %s\n", cfg.DBPath, time.Since(start).Round(time.Millisecond))
	return st.WriteTable(stdout, cur.Value)
}
