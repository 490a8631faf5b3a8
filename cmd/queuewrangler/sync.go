package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := parseFlags(newFlagSet("sync", stderr), args); err != nil {
		return err
	}
	cfg, err := loadConfig(config.NeedsHelpScout)
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
	cursor := "none yet (no conversation listed)"
	switch cur, err := db.Cursor(ctx, mirror.CursorConversations); {
	case err == nil:
		cursor = cur.Value.Format(time.RFC3339)
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "synced into %s in %s\n", cfg.DBPath, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(tw, "conversations listed\t%d\n", st.Conversations)
	fmt.Fprintf(tw, "conversations changed\t%d\n", st.Applied)
	fmt.Fprintf(tw, "list pages\t%d\n", st.Pages)
	fmt.Fprintf(tw, "thread lists fetched\t%d\n", st.ThreadFetches)
	fmt.Fprintf(tw, "mailboxes\t%d\n", st.Mailboxes)
	fmt.Fprintf(tw, "users and teams\t%d\n", st.Users)
	fmt.Fprintf(tw, "teams\t%d\n", st.Teams)
	fmt.Fprintf(tw, "user statuses\t%d\n", st.Statuses)
	fmt.Fprintf(tw, "cursor\t%s\n", cursor)
	return tw.Flush()
}
