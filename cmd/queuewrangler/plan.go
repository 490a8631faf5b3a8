package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, ros, err := loadConfig(0, true)
	if err != nil {
		return err
	}
	// A plan reads the mirror; opening a path that does not exist would
	// create an empty database and report "0 moves" as if all were well.
	if _, err := os.Stat(cfg.DBPath); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no mirror at %s (QW_DB_PATH): run `queuewrangler sync` or `serve` first", cfg.DBPath)
	}
	// Read-only and without the lock: a plan changes nothing, so it may
	// run beside the daemon that holds the database.
	db, err := store.OpenReadOnly(ctx, cfg.DBPath)
	if err != nil {
		if final := finalStoreError(cfg.DBPath, err); final != nil {
			return final
		}
		return fmt.Errorf("open database %s: %w", cfg.DBPath, err)
	}
	defer db.Close()
	r := rebalance.New(db, nil, rebalance.Options{Mode: rebalance.ModePropose, Policy: policyFrom(cfg), Roster: ros})
	res, team, err := r.DryRun(ctx)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(team))
	for _, a := range team {
		names[a.ID] = a.Name
	}
	if *asJSON {
		return rebalance.WritePlanJSON(stdout, res, names)
	}
	return rebalance.WritePlanTable(stdout, res, names)
}
