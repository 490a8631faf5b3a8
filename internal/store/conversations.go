package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ApplyConversation writes one conversation under the never-regress rule
// (doc.go) and reports whether the stored state changed.
func (db *DB) ApplyConversation(ctx context.Context, u ConversationUpdate) (applied bool, err error) {
	op := fmt.Sprintf("apply conversation %d", u.Conversation.ID)
	err = db.writeTx(ctx, op, func(tx *sql.Tx) error {
		var err error
		applied, err = newConvWriter(ctx, tx, db.conv, db.now()).apply(ctx, u)
		return err
	})
	return applied, err
}

// ApplyConversations writes a batch in one transaction (all or nothing) and
// returns how many updates changed the stored state.
func (db *DB) ApplyConversations(ctx context.Context, us []ConversationUpdate) (applied int, err error) {
	err = db.writeTx(ctx, "apply conversations", func(tx *sql.Tx) error {
		applied, err = applyAll(ctx, tx, db.conv, db.now(), us)
		return err
	})
	return applied, err
}

// CommitPage writes a page of conversations and moves the sync cursor
// cursorName to cursorValue in the same transaction: if any conversation
// fails, neither the page nor the cursor is stored, so a restart resumes
// from the previous cursor without a gap.
func (db *DB) CommitPage(ctx context.Context, us []ConversationUpdate, cursorName string, cursorValue time.Time) (applied int, err error) {
	if cursorName == "" {
		return 0, errors.New("commit page: empty cursor name")
	}
	op := fmt.Sprintf("commit page (%d conversations, cursor %s)", len(us), cursorName)
	err = db.writeTx(ctx, op, func(tx *sql.Tx) error {
		now := db.now()
		applied, err = applyAll(ctx, tx, db.conv, now, us)
		if err != nil {
			return err
		}
		return setCursor(ctx, tx, cursorName, cursorValue, now)
	})
	return applied, err
}

func applyAll(ctx context.Context, tx *sql.Tx, prepared *convStmts, now time.Time, us []ConversationUpdate) (int, error) {
	w := newConvWriter(ctx, tx, prepared, now)
	n := 0
	for _, u := range us {
		ok, err := w.apply(ctx, u)
		if err != nil {
			return n, fmt.Errorf("conversation %d: %w", u.Conversation.ID, err)
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// DeleteConversation removes a conversation with its threads and tags, and
// leaves a tombstone so that an older update arriving later cannot restore
// it. A conversation that is not stored gives ErrNotFound.
func (db *DB) DeleteConversation(ctx context.Context, id int64) error {
	return db.writeTx(ctx, fmt.Sprintf("delete conversation %d", id), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO deleted_conversations
			(id, user_updated_at, latest_thread_at, thread_count, first_response_observed_at, resolution_observed_at,
			 first_response_live, resolution_live, deleted_at)
			SELECT id, COALESCE(user_updated_at, 0), COALESCE(latest_thread_at, 0), thread_count,
			       first_response_observed_at, resolution_observed_at, first_response_live, resolution_live, ?
			FROM conversations WHERE id = ?
			ON CONFLICT (id) DO UPDATE SET
			  user_updated_at = excluded.user_updated_at, latest_thread_at = excluded.latest_thread_at,
			  thread_count = excluded.thread_count, first_response_observed_at = excluded.first_response_observed_at,
			  resolution_observed_at = excluded.resolution_observed_at, first_response_live = excluded.first_response_live,
			  resolution_live = excluded.resolution_live, deleted_at = excluded.deleted_at`,
			db.now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM conversations WHERE id = ?", id)
		return err
	})
}

// MarkFirstResponseObserved records that the conversation's first response
// was dealt with: observed into the histogram (live) or passed over as
// history, which `backfill` then writes. It reports true only for the call
// that set the mark, so concurrent or repeated observers (poll and webhook,
// a restart) observe once.
func (db *DB) MarkFirstResponseObserved(ctx context.Context, id int64, at time.Time, live bool) (first bool, err error) {
	return db.markOnce(ctx, "first_response_observed_at", "first_response_live", "mark first response observed", id, at, live)
}

// MarkResolutionObserved is MarkFirstResponseObserved for the resolution.
func (db *DB) MarkResolutionObserved(ctx context.Context, id int64, at time.Time, live bool) (first bool, err error) {
	return db.markOnce(ctx, "resolution_observed_at", "resolution_live", "mark resolution observed", id, at, live)
}

func (db *DB) markOnce(ctx context.Context, column, liveColumn, op string, id int64, at time.Time, live bool) (first bool, err error) {
	if at.IsZero() {
		at = db.now()
	}
	err = db.writeTx(ctx, fmt.Sprintf("%s %d", op, id), func(tx *sql.Tx) error {
		// The columns are constants above, never caller input. The flag is
		// set with the mark, in the same row: backfill must never write
		// again what was observed.
		res, err := tx.ExecContext(ctx, "UPDATE conversations SET "+column+" = ?, "+liveColumn+" = ? WHERE id = ? AND "+column+" IS NULL",
			at.UnixMilli(), live, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			first = true
			return nil
		}
		var one int
		return tx.QueryRowContext(ctx, "SELECT 1 FROM conversations WHERE id = ?", id).Scan(&one)
	})
	return first, err
}

// version orders the updates of one conversation (doc.go, "Never regress").
type version struct {
	userUpdated  int64 // ms, 0 when unknown
	latestThread int64 // ms, 0 when no threads
	threads      int
}

func (v version) compare(o version) int {
	switch {
	case v.userUpdated != o.userUpdated:
		return cmpInt(v.userUpdated, o.userUpdated)
	case v.latestThread != o.latestThread:
		return cmpInt(v.latestThread, o.latestThread)
	default:
		return cmpInt(int64(v.threads), int64(o.threads))
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func incomingVersion(u ConversationUpdate) version {
	v := version{userUpdated: msInt(u.Conversation.UserUpdatedAt), threads: u.Conversation.ThreadCount}
	for _, t := range u.Threads {
		v.latestThread = max(v.latestThread, msInt(t.CreatedAt))
	}
	return v
}

// storedConv is what apply needs to know about the stored row.
type storedConv struct {
	version
	assigneeID      int64
	previousID      int64
	status          string
	closedAt        int64
	latestReplyFrom string
	assignedAt      int64
	reassignedAt    int64
	fromWebhook     bool // the row's version is a webhook body's (Conversation.FromWebhook)
}

// convStmts are the statements that write conversations. They are prepared
// once, on the single writer connection, and bound to each transaction with
// Tx.StmtContext: compiling a dozen statements per page cost as much as
// writing it.
type convStmts struct {
	getStored, getTomb, delTomb, upsertConv, updDerived, restoreLive,
	getTags, delTags, insTag,
	getThreads, delThreads, upsertThread, insThreadIfNew *sql.Stmt
}

// convWriter writes conversations within one transaction.
type convWriter struct {
	convStmts // bound to the transaction
	now       int64
}

const convColumns = `id, number, mailbox_id, status, state, type, subject, assignee_id,
	created_by_type, created_by_id, customer_id, customer_first, customer_last, customer_email,
	created_at, closed_at, closed_by, customer_waiting_since, user_updated_at, thread_count, latest_reply_from,
	latest_thread_at, last_message_by, last_customer_at, last_agent_activity_at, first_reply_at, first_reply_by,
	resolved_at, previous_assignee_id, synced_at, first_response_observed_at, resolution_observed_at, first_answer_at, assigned_at,
	reassigned_at, from_webhook`

const threadColumns = `id, conversation_id, type, state, status, created_by_type, created_by_id, assigned_to_id, created_at,
	workflow`

func (s *convStmts) queries() []struct {
	dst   **sql.Stmt
	query string
} {
	return []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.getStored, `SELECT COALESCE(user_updated_at, 0), COALESCE(latest_thread_at, 0), thread_count,
			COALESCE(assignee_id, 0), COALESCE(previous_assignee_id, 0), status, COALESCE(closed_at, 0), latest_reply_from,
			COALESCE(assigned_at, 0), COALESCE(reassigned_at, 0), from_webhook
			FROM conversations WHERE id = ?`},
		{&s.getTomb, `SELECT user_updated_at, latest_thread_at, thread_count, first_response_observed_at, resolution_observed_at,
			first_response_live, resolution_live
			FROM deleted_conversations WHERE id = ?`},
		{&s.restoreLive, `UPDATE conversations SET first_response_live = ?, resolution_live = ? WHERE id = ?`},
		{&s.delTomb, `DELETE FROM deleted_conversations WHERE id = ?`},
		{&s.upsertConv, `INSERT INTO conversations (` + convColumns + `)
			VALUES (?,?,?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?,?,?,?,?, ?,?,?,?,?,?, ?,?,?,?,?,?,?, ?,?)
			ON CONFLICT (id) DO UPDATE SET
			  number = excluded.number, mailbox_id = excluded.mailbox_id, status = excluded.status,
			  state = excluded.state, type = excluded.type, subject = excluded.subject,
			  assignee_id = excluded.assignee_id, created_by_type = excluded.created_by_type,
			  created_by_id = excluded.created_by_id, customer_id = excluded.customer_id,
			  customer_first = excluded.customer_first, customer_last = excluded.customer_last,
			  customer_email = excluded.customer_email, created_at = excluded.created_at,
			  closed_at = excluded.closed_at, closed_by = excluded.closed_by,
			  customer_waiting_since = excluded.customer_waiting_since, user_updated_at = excluded.user_updated_at,
			  thread_count = excluded.thread_count, latest_reply_from = excluded.latest_reply_from,
			  latest_thread_at = excluded.latest_thread_at, last_message_by = excluded.last_message_by,
			  last_customer_at = excluded.last_customer_at, last_agent_activity_at = excluded.last_agent_activity_at,
			  first_reply_at = excluded.first_reply_at, first_reply_by = excluded.first_reply_by,
			  resolved_at = excluded.resolved_at, previous_assignee_id = excluded.previous_assignee_id,
			  synced_at = excluded.synced_at, first_answer_at = excluded.first_answer_at,
			  assigned_at = excluded.assigned_at, reassigned_at = excluded.reassigned_at,
			  from_webhook = excluded.from_webhook`},
		{&s.updDerived, `UPDATE conversations SET latest_thread_at = ?, last_message_by = ?, last_customer_at = ?,
			last_agent_activity_at = ?, first_reply_at = ?, first_reply_by = ?, resolved_at = ?,
			previous_assignee_id = ?, first_answer_at = ?, assigned_at = ?, reassigned_at = ?, synced_at = ? WHERE id = ?`},
		{&s.getTags, `SELECT tag FROM conversation_tags WHERE conversation_id = ?`},
		{&s.delTags, `DELETE FROM conversation_tags WHERE conversation_id = ?`},
		{&s.insTag, `INSERT INTO conversation_tags (conversation_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING`},
		{&s.getThreads, `SELECT ` + threadColumns + ` FROM threads WHERE conversation_id = ?`},
		{&s.delThreads, `DELETE FROM threads WHERE conversation_id = ?`},
		// A thread id seen under another conversation moves here: that is
		// what a merge looks like from the API.
		{&s.upsertThread, `INSERT INTO threads (` + threadColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (id) DO UPDATE SET conversation_id = excluded.conversation_id, type = excluded.type,
			  state = excluded.state, status = excluded.status, created_by_type = excluded.created_by_type,
			  created_by_id = excluded.created_by_id, assigned_to_id = excluded.assigned_to_id,
			  created_at = excluded.created_at, workflow = excluded.workflow`},
		// At the stored version a stored thread stays as it is, but for
		// the workflow mark threads stored before 0018 lack: a read that
		// brings it takes it (applyEqual). A thread of another
		// conversation (a merge) is left alone.
		{&s.insThreadIfNew, `INSERT INTO threads (` + threadColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (id) DO UPDATE SET workflow = excluded.workflow
			  WHERE threads.workflow = '' AND excluded.workflow <> ''
			    AND threads.conversation_id = excluded.conversation_id`},
	}
}

func prepareConvStmts(ctx context.Context, db *sql.DB) (*convStmts, error) {
	s := &convStmts{}
	for _, q := range s.queries() {
		st, err := db.PrepareContext(ctx, q.query)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("prepare: %w", classify(err))
		}
		*q.dst = st
	}
	return s, nil
}

func (s *convStmts) close() {
	for _, q := range s.queries() {
		if *q.dst != nil {
			(*q.dst).Close()
		}
	}
}

// newConvWriter binds the prepared statements to tx. The bound copies close
// with the transaction.
func newConvWriter(ctx context.Context, tx *sql.Tx, prepared *convStmts, now time.Time) *convWriter {
	w := &convWriter{now: now.UnixMilli()}
	src, dst := prepared.queries(), w.queries()
	for i := range src {
		*dst[i].dst = tx.StmtContext(ctx, *src[i].dst)
	}
	return w
}

func validateUpdate(u ConversationUpdate) error {
	if u.Conversation.ID <= 0 {
		return fmt.Errorf("invalid conversation id %d", u.Conversation.ID)
	}
	for _, t := range u.Threads {
		if t.ID <= 0 {
			return fmt.Errorf("invalid thread id %d", t.ID)
		}
		switch t.Workflow {
		case "", WorkflowAutomatic, WorkflowManual:
		default:
			// The column's CHECK would refuse it too, as a constraint
			// failure that names nothing.
			return fmt.Errorf("thread %d: invalid workflow %q", t.ID, t.Workflow)
		}
	}
	return nil
}

func (w *convWriter) apply(ctx context.Context, u ConversationUpdate) (bool, error) {
	if err := validateUpdate(u); err != nil {
		return false, err
	}
	c := u.Conversation
	in := incomingVersion(u)
	threads := dedupeThreads(u.Threads)

	var st storedConv
	err := w.getStored.QueryRowContext(ctx, c.ID).Scan(&st.userUpdated, &st.latestThread, &st.threads,
		&st.assigneeID, &st.previousID, &st.status, &st.closedAt, &st.latestReplyFrom, &st.assignedAt, &st.reassignedAt, &st.fromWebhook)
	if errors.Is(err, sql.ErrNoRows) {
		return w.insertNew(ctx, c, threads, in)
	}
	if err != nil {
		return false, err
	}

	order := in.compare(st.version)
	// overHint: Help Scout's own answer, at the version of the row a
	// webhook wrote or below it, overrules the webhook. The webhook was a
	// hint, and its version (a quirk, or a forged body dated ahead) must
	// not outrank what Help Scout serves, or every later re-read would
	// lose to it until the conversation changed again in Help Scout. An
	// answer asked for by id overrules it at any version; a listing page
	// only at the same version (it confirms or corrects the hint, and
	// clears the mark, so that the hourly reconcile need not re-read
	// it): an older page may predate the change the webhook told of. An
	// answer newer than the hint replaces it as any newer version does.
	overHint := st.fromWebhook && !c.FromWebhook && (order == 0 || order < 0 && u.ReadByID)
	if overHint {
		order = 1
	}
	switch order {
	case -1:
		return false, nil
	case 0:
		return w.applyEqual(ctx, c, threads, st)
	}

	all := threads
	if u.ThreadsComplete {
		if _, err := w.delThreads.ExecContext(ctx, c.ID); err != nil {
			return false, err
		}
	} else {
		stored, err := w.threads(ctx, c.ID)
		if err != nil {
			return false, err
		}
		all = mergeThreads(stored, threads)
	}
	fi := factsInput{assigneeID: c.AssigneeID, status: c.Status, closedAt: msInt(c.ClosedAt),
		latestReplyFrom: c.LatestReplyFrom, storedPrevious: st.previousID, storedAssignedAt: st.assignedAt,
		storedReassignedAt: st.reassignedAt, assigneeChanged: st.assigneeID != c.AssigneeID, now: w.now}
	if st.assigneeID != 0 && st.assigneeID != c.AssigneeID {
		fi.changedFrom, fi.changedFromSince = st.assigneeID, st.assignedAt
	}
	if overHint && st.assigneeID != c.AssigneeID {
		// The webhook named an owner Help Scout does not: nobody moved
		// the ticket from them, nor, by the webhook's word, to them. The
		// change Help Scout's answer shows is from the owner before the
		// hint (the previous assignee the hint's write recorded), if it
		// names someone else: a person moved it from them. What the
		// threads show still counts.
		fi.changedFrom, fi.changedFromSince, fi.storedReassignedAt, fi.assigneeChanged = 0, 0, 0, false
		if st.previousID != c.AssigneeID {
			fi.changedFrom = st.previousID
		}
	}
	if err := w.writeRow(ctx, c, deriveFacts(fi, all), nil, nil); err != nil {
		return false, err
	}
	if err := w.writeTags(ctx, c.ID, c.Tags); err != nil {
		return false, err
	}
	return true, w.writeThreads(ctx, c.ID, threads)
}

// insertNew stores a conversation the store does not have, unless a
// tombstone says it was deleted at this version or later.
func (w *convWriter) insertNew(ctx context.Context, c Conversation, threads []Thread, in version) (bool, error) {
	var tomb version
	var frObserved, resObserved, frLive, resLive sql.NullInt64
	err := w.getTomb.QueryRowContext(ctx, c.ID).Scan(&tomb.userUpdated, &tomb.latestThread, &tomb.threads, &frObserved, &resObserved,
		&frLive, &resLive)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return false, err
	case in.compare(tomb) <= 0:
		return false, nil
	default:
		if _, err := w.delTomb.ExecContext(ctx, c.ID); err != nil {
			return false, err
		}
	}
	// Threads already stored under this id belong to a conversation this one
	// was merged from; they move here with the upsert.
	f := deriveFacts(factsInput{assigneeID: c.AssigneeID, status: c.Status, closedAt: msInt(c.ClosedAt),
		latestReplyFrom: c.LatestReplyFrom}, threads)
	if err := w.writeRow(ctx, c, f, nullMS(frObserved), nullMS(resObserved)); err != nil {
		return false, err
	}
	if frLive.Valid || resLive.Valid {
		// What the marks were, for backfill: they come back with them.
		if _, err := w.restoreLive.ExecContext(ctx, nullMS(frLive), nullMS(resLive), c.ID); err != nil {
			return false, err
		}
	}
	if err := w.writeTags(ctx, c.ID, c.Tags); err != nil {
		return false, err
	}
	return true, w.writeThreads(ctx, c.ID, threads)
}

func nullMS(v sql.NullInt64) any {
	if !v.Valid {
		return nil
	}
	return v.Int64
}

// applyEqual handles an update at the stored version: the row stays, but
// threads the store did not have yet are added and a changed tag set is
// taken (doc.go explains why). So is a workflow mark a stored thread lacks
// (stored before migration 0018, which read none): Help Scout's line item
// has not changed, only what the store kept of it, and the facts are
// derived again with it. Otherwise a workflow's move stored before stayed
// a hand move until the conversation changed in Help Scout, though any
// read would show it was none.
func (w *convWriter) applyEqual(ctx context.Context, c Conversation, threads []Thread, st storedConv) (bool, error) {
	added := false // or marked
	for _, t := range threads {
		res, err := w.insThreadIfNew.ExecContext(ctx, threadArgs(c.ID, t)...)
		if err != nil {
			return false, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			added = true
		}
	}
	tagsChanged, err := w.tagsDiffer(ctx, c.ID, c.Tags)
	if err != nil {
		return false, err
	}
	if tagsChanged {
		if err := w.writeTags(ctx, c.ID, c.Tags); err != nil {
			return false, err
		}
	}
	if !added {
		return tagsChanged, nil
	}
	all, err := w.threads(ctx, c.ID)
	if err != nil {
		return false, err
	}
	f := deriveFacts(factsInput{assigneeID: st.assigneeID, status: st.status, closedAt: st.closedAt,
		latestReplyFrom: st.latestReplyFrom, storedPrevious: st.previousID, storedAssignedAt: st.assignedAt,
		storedReassignedAt: st.reassignedAt}, all)
	_, err = w.updDerived.ExecContext(ctx, msOrNil(f.latestThreadAt), f.lastMessageBy, msOrNil(f.lastCustomerAt),
		msOrNil(f.lastAgentActivityAt), msOrNil(f.firstReplyAt), id(f.firstReplyBy), msOrNil(f.resolvedAt),
		id(f.previousAssigneeID), msOrNil(f.firstAnswerAt), msOrNil(f.assignedAt), msOrNil(f.reassignedAt), w.now, c.ID)
	return true, err
}

func msOrNil(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func (w *convWriter) writeRow(ctx context.Context, c Conversation, f facts, frObserved, resObserved any) error {
	_, err := w.upsertConv.ExecContext(ctx,
		c.ID, c.Number, c.MailboxID, c.Status, c.State, c.Type, c.Subject, id(c.AssigneeID),
		c.CreatedByType, id(c.CreatedByID), id(c.CustomerID), c.CustomerFirst, c.CustomerLast, c.CustomerEmail,
		ms(c.CreatedAt), ms(c.ClosedAt), id(c.ClosedBy), ms(c.CustomerWaitingSince), ms(c.UserUpdatedAt), c.ThreadCount, c.LatestReplyFrom,
		msOrNil(f.latestThreadAt), f.lastMessageBy, msOrNil(f.lastCustomerAt), msOrNil(f.lastAgentActivityAt),
		msOrNil(f.firstReplyAt), id(f.firstReplyBy),
		msOrNil(f.resolvedAt), id(f.previousAssigneeID), w.now, frObserved, resObserved, msOrNil(f.firstAnswerAt), msOrNil(f.assignedAt),
		msOrNil(f.reassignedAt), c.FromWebhook)
	return err
}

func (w *convWriter) writeTags(ctx context.Context, convID int64, tags []string) error {
	if _, err := w.delTags.ExecContext(ctx, convID); err != nil {
		return err
	}
	for _, t := range normalizeTags(tags) {
		if _, err := w.insTag.ExecContext(ctx, convID, t); err != nil {
			return err
		}
	}
	return nil
}

func (w *convWriter) tagsDiffer(ctx context.Context, convID int64, tags []string) (bool, error) {
	rows, err := w.getTags.QueryContext(ctx, convID)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var stored []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return false, err
		}
		stored = append(stored, t)
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	return !slices.Equal(tagKeys(stored), tagKeys(normalizeTags(tags))), nil
}

// normalizeTags trims tags and drops empty and case-insensitive duplicates
// (the column is NOCASE, as Help Scout treats tags).
func normalizeTags(tags []string) []string {
	seen := make(map[string]bool, len(tags))
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		k := strings.ToLower(t)
		if t == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out
}

func tagKeys(tags []string) []string {
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = strings.ToLower(t)
	}
	slices.Sort(keys)
	return keys
}

func threadArgs(convID int64, t Thread) []any {
	return []any{t.ID, convID, t.Type, t.State, t.Status, t.CreatedByType, id(t.CreatedByID), id(t.AssignedToID), ms(t.CreatedAt),
		t.Workflow}
}

func (w *convWriter) writeThreads(ctx context.Context, convID int64, threads []Thread) error {
	for _, t := range threads {
		if _, err := w.upsertThread.ExecContext(ctx, threadArgs(convID, t)...); err != nil {
			return fmt.Errorf("thread %d: %w", t.ID, err)
		}
	}
	return nil
}

func (w *convWriter) threads(ctx context.Context, convID int64) ([]Thread, error) {
	rows, err := w.getThreads.QueryContext(ctx, convID)
	if err != nil {
		return nil, err
	}
	return scanThreads(rows)
}

func scanThreads(rows *sql.Rows) ([]Thread, error) {
	defer rows.Close()
	var ts []Thread
	for rows.Next() {
		var t Thread
		if err := rows.Scan(&t.ID, &t.ConversationID, &t.Type, &t.State, &t.Status, &t.CreatedByType,
			idCol{&t.CreatedByID}, idCol{&t.AssignedToID}, timeCol{&t.CreatedAt}, &t.Workflow); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// dedupeThreads keeps the last copy of each thread id, in input order.
func dedupeThreads(ts []Thread) []Thread {
	idx := make(map[int64]int, len(ts))
	out := make([]Thread, 0, len(ts))
	for _, t := range ts {
		if i, ok := idx[t.ID]; ok {
			out[i] = t
			continue
		}
		idx[t.ID] = len(out)
		out = append(out, t)
	}
	return out
}

// mergeThreads overlays incoming threads on the stored ones by id.
func mergeThreads(stored, incoming []Thread) []Thread {
	return dedupeThreads(append(slices.Clone(stored), incoming...))
}

// setCursor is the transaction-scoped half of SetCursor and CommitPage.
func setCursor(ctx context.Context, tx *sql.Tx, name string, value, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO sync_cursors (name, value, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		name, ms(value), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("set cursor %s: %w", name, err)
	}
	return nil
}

// SetCursor stores a sync cursor on its own. Prefer CommitPage, which stores
// the cursor together with the page it follows.
func (db *DB) SetCursor(ctx context.Context, name string, value time.Time) error {
	if name == "" {
		return errors.New("set cursor: empty name")
	}
	return db.writeTx(ctx, "set cursor", func(tx *sql.Tx) error {
		return setCursor(ctx, tx, name, value, db.now())
	})
}

// Cursor returns a stored sync cursor, or ErrNotFound before the first
// CommitPage or SetCursor under that name.
func (db *DB) Cursor(ctx context.Context, name string) (SyncCursor, error) {
	c := SyncCursor{Name: name}
	err := db.readTx(ctx, "read cursor "+name, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT value, updated_at FROM sync_cursors WHERE name = ?", name).
			Scan(timeCol{&c.Value}, timeCol{&c.UpdatedAt})
	})
	return c, err
}

// Cursors returns the stored sync cursors whose names begin with prefix,
// by name: for cursors kept one per mailbox under a common prefix, which
// the reader finds without knowing the mailboxes beforehand (those of a
// scope since narrowed, say, whose cursors it is to remove).
func (db *DB) Cursors(ctx context.Context, prefix string) ([]SyncCursor, error) {
	if prefix == "" {
		return nil, errors.New("read cursors: empty prefix")
	}
	var out []SyncCursor
	err := db.readTx(ctx, "read cursors "+prefix, func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var c SyncCursor
			if err := rows.Scan(&c.Name, timeCol{&c.Value}, timeCol{&c.UpdatedAt}); err != nil {
				return err
			}
			out = append(out, c)
			return nil
		}, "SELECT name, value, updated_at FROM sync_cursors WHERE substr(name, 1, ?) = ? ORDER BY name", len(prefix), prefix)
	})
	return out, err
}

// DeleteCursor removes a stored sync cursor; one that is not stored is no
// error, so that a removal retried after a failure is harmless.
func (db *DB) DeleteCursor(ctx context.Context, name string) error {
	if name == "" {
		return errors.New("delete cursor: empty name")
	}
	return db.writeTx(ctx, "delete cursor "+name, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM sync_cursors WHERE name = ?", name)
		return err
	})
}
