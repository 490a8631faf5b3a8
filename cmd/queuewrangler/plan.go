package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plan", stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, ros, err := loadDaemonConfig(0)
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
	names := map[int64]string{0: "(unassigned)"}
	for _, a := range team {
		names[a.ID] = a.Name
	}
	if *asJSON {
		type move struct {
			ConversationID int64  `json:"conversation_id"`
			Number         int64  `json:"number"`
			From           int64  `json:"from"`
			To             int64  `json:"to"`
			FromName       string `json:"from_name"`
			ToName         string `json:"to_name"`
			Reason         string `json:"reason"`
			WaitingSeconds int64  `json:"waiting_seconds"`
			Explanation    string `json:"explanation"`
		}
		out := struct {
			Moves           []move  `json:"moves"`
			Flags           any     `json:"flags"`
			ImbalanceBefore float64 `json:"imbalance_before"`
			ImbalanceAfter  float64 `json:"imbalance_after"`
			JainBefore      float64 `json:"jain_before"`
			JainAfter       float64 `json:"jain_after"`
		}{Moves: []move{}, Flags: res.Flags, ImbalanceBefore: res.Before.Imbalance, ImbalanceAfter: res.After.Imbalance,
			JainBefore: res.Before.Jain, JainAfter: res.After.Jain}
		for _, m := range res.Moves {
			out.Moves = append(out.Moves, move{m.ConversationID, m.Number, m.From, m.To, names[m.From], names[m.To],
				string(m.Reason), int64(m.WaitingFor.Seconds()), m.Explanation})
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "imbalance %.2f -> %.2f, Jain %.2f -> %.2f, %d moves, %d flags (nothing is changed in Help Scout)\n\n",
		res.Before.Imbalance, res.After.Imbalance, res.Before.Jain, res.After.Jain, len(res.Moves), len(res.Flags))
	if len(res.Moves) > 0 {
		fmt.Fprintln(tw, "TICKET\tREASON\tFROM\tTO\tWAITING\tWHY")
		for _, m := range res.Moves {
			fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\t%s\n", m.Number, m.Reason, names[m.From], names[m.To],
				m.WaitingFor.Round(time.Minute), m.Explanation)
		}
	}
	for _, f := range res.Flags {
		fmt.Fprintf(tw, "flag #%d (%s, held by %s): %s\n", f.Number, f.Reason, names[f.AgentID], strings.TrimSpace(f.Explanation))
	}
	return tw.Flush()
}
