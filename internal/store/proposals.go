package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

const proposalColumns = `id, created_at, updated_at, conversation_id, conversation_number, mailbox_id,
	from_agent, to_agent, reason, explanation, imbalance_before, imbalance_after, jain_before, jain_after,
	figures, status, decided_by, decided_at, applied_at, error,
	snap_assignee_id, snap_status, snap_customer_waiting_since, snap_last_customer_at,
	note, note_at, note_tries, maybe_made`

func scanProposal(row interface{ Scan(...any) error }) (Proposal, error) {
	var p Proposal
	var figures, status, note string
	err := row.Scan(&p.ID, timeCol{&p.CreatedAt}, timeCol{&p.UpdatedAt}, &p.ConversationID, &p.ConversationNumber,
		&p.MailboxID, idCol{&p.FromAgent}, idCol{&p.ToAgent}, &p.Reason, &p.Explanation,
		&p.ImbalanceBefore, &p.ImbalanceAfter, &p.JainBefore, &p.JainAfter,
		&figures, &status, &p.DecidedBy, timeCol{&p.DecidedAt}, timeCol{&p.AppliedAt}, &p.Error,
		idCol{&p.Snapshot.AssigneeID}, &p.Snapshot.Status, timeCol{&p.Snapshot.CustomerWaitingSince},
		timeCol{&p.Snapshot.LastCustomerAt}, &note, timeCol{&p.NoteAt}, &p.NoteTries, &p.MaybeMade)
	p.Figures = json.RawMessage(figures)
	p.Status = ProposalStatus(status)
	p.Note = NoteState(note)
	return p, err
}

// InsertProposals stores a balancer run's proposals in one transaction and
// returns them with ID, CreatedAt and UpdatedAt set. Status must be
// ProposalPending (propose mode) or ProposalApproved (apply mode, with
// DecidedBy naming the policy); empty means pending. A conversation that
// already has a live proposal (pending, approved or applying) fails the
// whole batch with ErrConflict: supersede the old one first
// (MarkProposalStale) or leave the conversation out of the plan.
func (db *DB) InsertProposals(ctx context.Context, ps []Proposal) ([]Proposal, error) {
	out := make([]Proposal, len(ps))
	now := db.now()
	err := db.writeTx(ctx, fmt.Sprintf("insert %d proposals", len(ps)), func(tx *sql.Tx) error {
		for i, p := range ps {
			switch p.Status {
			case "":
				p.Status = ProposalPending
			case ProposalPending:
			case ProposalApproved:
				if p.DecidedAt.IsZero() {
					p.DecidedAt = now
				}
			default:
				return fmt.Errorf("proposal for conversation %d: cannot insert with status %q", p.ConversationID, p.Status)
			}
			if p.ConversationID <= 0 || p.Reason == "" {
				return fmt.Errorf("proposal for conversation %d: conversation id and reason are required", p.ConversationID)
			}
			figures := "{}"
			if len(p.Figures) > 0 {
				figures = string(p.Figures)
			}
			p.CreatedAt, p.UpdatedAt = now, now
			err := tx.QueryRowContext(ctx, `INSERT INTO proposals (created_at, updated_at, conversation_id,
				conversation_number, mailbox_id, from_agent, to_agent, reason, explanation,
				imbalance_before, imbalance_after, jain_before, jain_after, figures, status, decided_by, decided_at,
				snap_assignee_id, snap_status, snap_customer_waiting_since, snap_last_customer_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				now.UnixMilli(), now.UnixMilli(), p.ConversationID, p.ConversationNumber, p.MailboxID,
				id(p.FromAgent), id(p.ToAgent), p.Reason, p.Explanation,
				p.ImbalanceBefore, p.ImbalanceAfter, p.JainBefore, p.JainAfter, figures, string(p.Status),
				p.DecidedBy, ms(p.DecidedAt),
				id(p.Snapshot.AssigneeID), p.Snapshot.Status, ms(p.Snapshot.CustomerWaitingSince),
				ms(p.Snapshot.LastCustomerAt)).Scan(&p.ID)
			if err != nil {
				return fmt.Errorf("proposal for conversation %d: %w", p.ConversationID, classify(err))
			}
			p.Figures = json.RawMessage(figures)
			// Return what a read would: UTC, millisecond precision.
			p.DecidedAt, p.CreatedAt = stored(p.DecidedAt), stored(now)
			p.UpdatedAt = p.CreatedAt
			p.Snapshot.CustomerWaitingSince = stored(p.Snapshot.CustomerWaitingSince)
			p.Snapshot.LastCustomerAt = stored(p.Snapshot.LastCustomerAt)
			out[i] = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Proposal returns one proposal, or ErrNotFound.
func (db *DB) Proposal(ctx context.Context, id int64) (Proposal, error) {
	var p Proposal
	err := db.readTx(ctx, fmt.Sprintf("read proposal %d", id), func(tx *sql.Tx) error {
		var err error
		p, err = scanProposal(tx.QueryRowContext(ctx, "SELECT "+proposalColumns+" FROM proposals WHERE id = ?", id))
		return err
	})
	return p, err
}

// ListProposals lists proposals matching f, newest first.
func (db *DB) ListProposals(ctx context.Context, f ProposalFilter) ([]Proposal, error) {
	q, args := proposalsQuery(f)
	return db.readProposals(ctx, "list proposals", q, args...)
}

// proposalsQuery builds the SELECT behind ListProposals.
func proposalsQuery(f ProposalFilter) (string, []any) {
	var where []string
	var args []any
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Statuses))+")")
		for _, s := range f.Statuses {
			args = append(args, string(s))
		}
	}
	if f.ConversationID != 0 {
		where = append(where, "conversation_id = ?")
		args = append(args, f.ConversationID)
	}
	if !f.DecidedSince.IsZero() {
		where = append(where, "decided_at >= ?")
		args = append(args, f.DecidedSince.UnixMilli())
	}
	q := "SELECT " + proposalColumns + " FROM proposals"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return q, args
}

// transition moves proposal id to status `to` if, and only if, it is in
// one of the `from` states, and sets the extra columns. The check and the
// write are one UPDATE on the single writer connection, so of two
// concurrent callers exactly one succeeds; the other gets ErrConflict.
func (db *DB) transition(ctx context.Context, op string, pid int64, to ProposalStatus, from []ProposalStatus,
	set string, setArgs ...any) (Proposal, error) {
	var p Proposal
	err := db.writeTx(ctx, fmt.Sprintf("%s proposal %d", op, pid), func(tx *sql.Tx) error {
		now := db.now().UnixMilli()
		args := []any{string(to), now}
		args = append(args, setArgs...)
		args = append(args, pid)
		for _, f := range from {
			args = append(args, string(f))
		}
		q := "UPDATE proposals SET status = ?, updated_at = ?"
		if set != "" {
			q += ", " + set
		}
		q += " WHERE id = ? AND status IN (" + placeholders(len(from)) + ") RETURNING " + proposalColumns
		var err error
		p, err = scanProposal(tx.QueryRowContext(ctx, q, args...))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var cur string
		switch err := tx.QueryRowContext(ctx, "SELECT status FROM proposals WHERE id = ?", pid).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		}
		return fmt.Errorf("%w: proposal is %s, not %s", ErrConflict, cur, joinStatuses(from))
	})
	return p, err
}

func joinStatuses(ss []ProposalStatus) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = string(s)
	}
	return strings.Join(parts, " or ")
}

// ApproveProposal moves a pending proposal to approved, recording who
// decided. Anything but pending gives ErrConflict (the API's 409).
func (db *DB) ApproveProposal(ctx context.Context, id int64, by string) (Proposal, error) {
	return db.transition(ctx, "approve", id, ProposalApproved, []ProposalStatus{ProposalPending},
		"decided_by = ?, decided_at = ?", by, db.now().UnixMilli())
}

// RejectProposal moves a pending proposal to rejected. Anything but pending
// gives ErrConflict.
func (db *DB) RejectProposal(ctx context.Context, id int64, by string) (Proposal, error) {
	return db.transition(ctx, "reject", id, ProposalRejected, []ProposalStatus{ProposalPending},
		"decided_by = ?, decided_at = ?", by, db.now().UnixMilli())
}

// ClaimProposal moves an approved proposal to applying. Call it before
// touching Help Scout: only one caller can claim a proposal, which is what
// makes applying it twice impossible. Anything but approved gives
// ErrConflict.
func (db *DB) ClaimProposal(ctx context.Context, id int64) (Proposal, error) {
	return db.transition(ctx, "claim", id, ProposalApplying, []ProposalStatus{ProposalApproved}, "")
}

// UnclaimProposal moves a claimed proposal back to approved, recording
// why: the daemon claimed it, then stopped before writing anything to Help
// Scout (the re-read that comes first was cut short), so the move was
// never tried, and the next run's recovery applies it after a re-read of
// its own. Only the daemon calls it, never a decision of a person; a move
// whose Help Scout write may have begun is settled by recovery instead.
// Anything but applying gives ErrConflict.
func (db *DB) UnclaimProposal(ctx context.Context, id int64, why string) (Proposal, error) {
	return db.transition(ctx, "unclaim", id, ProposalApproved, []ProposalStatus{ProposalApplying}, "error = ?", why)
}

// MarkProposalApplied records that a claimed proposal was written to Help
// Scout, with its private note due (NotesDue lists it until MarkNote
// settles it). Anything but applying gives ErrConflict.
func (db *DB) MarkProposalApplied(ctx context.Context, id int64) (Proposal, error) {
	return db.markApplied(ctx, id, NoteDue)
}

// MarkProposalAppliedWithoutNote is MarkProposalApplied for a move that
// carries no note by design: own mode's first assignment of a new
// conversation (Help Scout's own line item records who assigned it).
func (db *DB) MarkProposalAppliedWithoutNote(ctx context.Context, id int64) (Proposal, error) {
	return db.markApplied(ctx, id, NoteNone)
}

// SettleProposalApplied records that a move a stopped process left
// applying was made: Help Scout shows the ticket with its receiver. It is
// dated claimedAt, when the proposal was claimed (its updated_at while
// applying), not now: the assignment went out within seconds of the claim,
// and Help Scout's line item is dated then. Dated at the settle, 5 minutes
// or more later, the move would fall outside OwnMoveMargin of that line
// item and read as a person's hand move, held for the cooldown. note is
// NoteDue, or NoteNone for own mode's first assignment.
func (db *DB) SettleProposalApplied(ctx context.Context, id int64, claimedAt time.Time, note NoteState) (Proposal, error) {
	return db.markAppliedAt(ctx, id, note, claimedAt)
}

// markApplied sets the note's state in the same write as applied, so that
// no crash leaves a move applied without saying whether its note is due.
func (db *DB) markApplied(ctx context.Context, id int64, note NoteState) (Proposal, error) {
	return db.markAppliedAt(ctx, id, note, db.now())
}

func (db *DB) markAppliedAt(ctx context.Context, id int64, note NoteState, at time.Time) (Proposal, error) {
	return db.transition(ctx, "mark applied", id, ProposalApplied, []ProposalStatus{ProposalApplying},
		"applied_at = ?, error = '', note = ?, note_at = NULL, note_tries = 0", at.UnixMilli(), string(note))
}

// NotesDue lists the applied moves whose note is still due and that were
// applied before appliedBefore, oldest first: the ones whose note the
// process that made them did not write (it stopped, or the POST failed).
// Newer ones may still be being written by the process that made them.
func (db *DB) NotesDue(ctx context.Context, appliedBefore time.Time) ([]Proposal, error) {
	return db.readProposals(ctx, "list notes due",
		"SELECT "+proposalColumns+" FROM proposals WHERE note = 'due' AND status = 'applied' AND applied_at < ? ORDER BY applied_at, id",
		appliedBefore.UnixMilli())
}

// readProposals runs query q, one of proposalColumns' SELECTs, in a read
// transaction named op, and returns its rows.
func (db *DB) readProposals(ctx context.Context, op, q string, args ...any) ([]Proposal, error) {
	var out []Proposal
	err := db.readTx(ctx, op, func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			p, err := scanProposal(rows)
			if err != nil {
				return err
			}
			out = append(out, p)
			return nil
		}, q, args...)
	})
	return out, err
}

// MarkNote settles a due note: NoteWritten once it is on the ticket (or
// found there), NoteGivenUp when it is not to be tried again. A note not
// due any more (settled meanwhile by another caller) gives ErrConflict.
func (db *DB) MarkNote(ctx context.Context, id int64, to NoteState) (Proposal, error) {
	if to != NoteWritten && to != NoteGivenUp {
		return Proposal{}, fmt.Errorf("mark note of proposal %d: cannot set it %q", id, to)
	}
	return db.noteUpdate(ctx, fmt.Sprintf("mark note %s", to), id, "note = ?, note_at = ?", string(to), db.now().UnixMilli())
}

// NoteFailed counts a failed try at a due note and returns the proposal
// with NoteTries counted. A note not due any more gives ErrConflict.
func (db *DB) NoteFailed(ctx context.Context, id int64) (Proposal, error) {
	return db.noteUpdate(ctx, "count a failed note", id, "note_tries = note_tries + 1")
}

func (db *DB) noteUpdate(ctx context.Context, op string, id int64, set string, args ...any) (Proposal, error) {
	var p Proposal
	err := db.writeTx(ctx, fmt.Sprintf("%s of proposal %d", op, id), func(tx *sql.Tx) error {
		var err error
		p, err = scanProposal(tx.QueryRowContext(ctx, "UPDATE proposals SET "+set+" WHERE id = ? AND note = 'due' RETURNING "+proposalColumns,
			append(args, id)...))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var cur string
		switch err := tx.QueryRowContext(ctx, "SELECT note FROM proposals WHERE id = ?", id).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		}
		return fmt.Errorf("%w: its note is %q, not due", ErrConflict, cur)
	})
	return p, err
}

// MarkProposalStale records that the conversation changed since the plan
// (or that a newer plan superseded the proposal), with why, if the
// proposal is still seen: the status the caller read it in, one of
// pending, approved and applying. The check is part of the update, because
// what the caller judged may have moved on meanwhile: a pending move
// listed by a balancer run may be approved and claimed, and made in Help
// Scout, before the run marks it, and must not be recorded stale while it
// is made. Any other status gives ErrConflict, naming the status it is in.
func (db *DB) MarkProposalStale(ctx context.Context, id int64, seen ProposalStatus, why string) (Proposal, error) {
	if !slices.Contains([]ProposalStatus{ProposalPending, ProposalApproved, ProposalApplying}, seen) {
		return Proposal{}, fmt.Errorf("%w: mark stale proposal %d: a proposal %s cannot go stale", ErrConflict, id, seen)
	}
	return db.transition(ctx, "mark stale", id, ProposalStale, []ProposalStatus{seen}, "error = ?", why)
}

// MarkProposalFailed records that applying failed, with the error, and
// that the move was not made: it failed before its write to Help Scout
// (the re-read before it), Help Scout refused the write, or recovery found
// the ticket without it. It is final: a failed proposal is never retried
// blindly. Allowed from approved and applying.
func (db *DB) MarkProposalFailed(ctx context.Context, id int64, msg string) (Proposal, error) {
	return db.markFailed(ctx, id, msg, false)
}

// MarkProposalFailedMaybeMade is MarkProposalFailed for a move whose
// write reached Help Scout, or may have, with no answer that says it was
// not made (a timeout, a 5xx, a transport error): Help Scout may show it
// made. Only such a failure is taken for the cause of the reassignment
// the mirror sees next (ownFailedMoveQuery).
func (db *DB) MarkProposalFailedMaybeMade(ctx context.Context, id int64, msg string) (Proposal, error) {
	return db.markFailed(ctx, id, msg, true)
}

func (db *DB) markFailed(ctx context.Context, id int64, msg string, maybeMade bool) (Proposal, error) {
	return db.transition(ctx, "mark failed", id, ProposalFailed,
		[]ProposalStatus{ProposalApproved, ProposalApplying}, "error = ?, maybe_made = ?", msg, maybeMade)
}

// MoveClass is what the outcome counter tells moves apart by: the reason,
// and whether the move is a hand-out (Proposal.Handout).
type MoveClass struct {
	Reason  string
	Handout bool
}

// ExpirePendingProposals marks pending proposals created before the given
// time stale, with why, and returns how many by reason and kind (for the
// outcome counter). A balancer run calls it so old proposals nobody
// approved do not pile up against newer facts.
func (db *DB) ExpirePendingProposals(ctx context.Context, createdBefore time.Time, why string) (map[MoveClass]int, error) {
	byClass := map[MoveClass]int{}
	err := db.writeTx(ctx, "expire pending proposals", func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var c MoveClass
			if err := rows.Scan(&c.Reason, &c.Handout); err != nil {
				return err
			}
			byClass[c]++
			return nil
		}, `UPDATE proposals SET status = 'stale', updated_at = ?, error = ?
			WHERE status = 'pending' AND created_at < ? RETURNING reason, from_agent IS NULL`,
			db.now().UnixMilli(), why, createdBefore.UnixMilli())
	})
	return byClass, err
}

// AssignmentsSince counts the moves applied into each agent since the given
// time: the balancer's per-window cap on new assignments.
func (db *DB) AssignmentsSince(ctx context.Context, since time.Time) (map[int64]int, error) {
	var m map[int64]int
	err := db.readTx(ctx, "count assignments", func(tx *sql.Tx) error {
		var err error
		m, err = assignmentsSince(ctx, tx, since)
		return err
	})
	return m, err
}

const assignmentsQuery = `SELECT to_agent, COUNT(*) FROM proposals
	WHERE status = 'applied' AND applied_at >= ? AND to_agent IS NOT NULL GROUP BY to_agent`

func assignmentsSince(ctx context.Context, tx *sql.Tx, since time.Time) (map[int64]int, error) {
	return countsByID(ctx, tx, assignmentsQuery, msInt(since))
}

// MoveCounts counts applied moves, hand-outs (a ticket nobody owned given
// to someone) apart from reassignments (taken from one person for
// another): the churn agents feel is the second figure alone.
type MoveCounts struct {
	Handouts, Reassignments int
}

// movesBetweenQuery counts hand-outs (stored with no from_agent) and
// reassignments within a range of proposals_applied.
const movesBetweenQuery = `SELECT COALESCE(SUM(from_agent IS NULL), 0), COALESCE(SUM(from_agent IS NOT NULL), 0)
	FROM proposals WHERE status = 'applied' AND applied_at >= ? AND applied_at < ?`

// MovesBetween counts the moves applied in [from, to).
func (db *DB) MovesBetween(ctx context.Context, from, to time.Time) (MoveCounts, error) {
	var c MoveCounts
	err := db.readTx(ctx, "count moves", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, movesBetweenQuery, from.UnixMilli(), to.UnixMilli()).
			Scan(&c.Handouts, &c.Reassignments)
	})
	return c, err
}

// LastMoveAt returns when queuewrangler last moved the conversation (an
// applied proposal), or the zero time if it never did: the cooldown.
func (db *DB) LastMoveAt(ctx context.Context, conversationID int64) (time.Time, error) {
	var t time.Time
	err := db.readTx(ctx, fmt.Sprintf("read last move of conversation %d", conversationID), func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT MAX(applied_at) FROM proposals
			WHERE conversation_id = ? AND status = 'applied'`, conversationID).Scan(timeCol{&t})
	})
	return t, err
}
