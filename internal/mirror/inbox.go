package mirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// maxWebhookAttempts bounds retries of one stored event; after that it
// stays failed in the inbox for an operator until the upkeep prunes it
// (webhookRetention), and polling heals the mirror.
const maxWebhookAttempts = 10

// inboxBatch is how many events one pass takes.
const inboxBatch = 200

// ProcessInbox applies pending and failed webhook events, oldest first, and
// returns how many it completed. An event that fails stays in the inbox
// with its error and is tried again on the next pass.
//
// Events never wait behind re-reads. An event is applied from its own body
// (with a thread list fetch when it brings threads the store lacks); one
// that cannot be trusted on its own only queues its conversation for a
// re-read (rereadQueue: at most one pending per conversation). The queue is
// worked through after the inbox, one conversation at a time, and every
// event that arrived meanwhile is applied before the next re-read.
//
// A damaged database file (store.ErrCorrupt) may hold one conversation's
// rows unreadable and the rest intact: an event or a re-read that meets it
// is passed over, without a try, the others proceed, and the pass returns
// the damage at its end, for the log's once-only line. The pass ends at
// once only when the inbox itself cannot be read or written. A re-read
// that met the damage is parked until the store holds the file damaged no
// longer (store.DB.HeldDamaged): each try fetched the conversation from
// Help Scout only to fail on the file again, at every pass until an
// operator repaired it.
func (m *Mirror) ProcessInbox(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var damaged error // the first damage met
	done, last, err := m.applyInbox(ctx, 0, &damaged)
	if err != nil {
		return done, err
	}
	if !m.db.HeldDamaged() {
		m.rereads.unpark() // behind the others: they waited meanwhile
	}
	var damagedRereads []int64
	defer func() { m.rereads.park(damagedRereads) }()
	var st Stats
	for {
		id, ok := m.rereads.next()
		if !ok {
			break
		}
		err := m.refresh(ctx, id, &st)
		if err != nil && ctx.Err() == nil && conversationFault(err) && !m.holds(ctx, id) {
			// Asked for by a doubted body of a conversation the store
			// does not hold, and refused (a 403 in a mailbox gone, a 4xx,
			// a body that does not decode; a 404 is no failure): there is
			// nothing held to fix, and retried it would only fail again,
			// a warning at every pass, and hold up the re-reads behind
			// it. The poll brings the conversation in if Help Scout lists
			// it.
			m.opts.Logger.Debug("re-read of a conversation not held refused; dropped", "conversation", id, "err", err)
			err = nil
		}
		if err != nil {
			if errors.Is(err, store.ErrCorrupt) {
				damaged = cmp.Or(damaged, err)
				damagedRereads = append(damagedRereads, id)
				continue
			}
			// A cancelled pass or a spent budget is no fault of the
			// conversation's: it keeps its place and its tries.
			failed := ctx.Err() == nil && !rateLimited(err)
			if !m.rereads.retry(id, failed) {
				m.opts.Logger.Warn("re-read failed too often; the poll and the reconcile heal the mirror",
					"conversation", id, "err", err)
			} else if failed {
				m.opts.Logger.Warn("re-read failed; will retry", "conversation", id, "err", err)
			}
			if ctx.Err() != nil {
				return done, ctx.Err()
			}
			break // Help Scout is failing (or the budget is spent): the next pass goes on
		}
		m.rereads.done(id)
		var n int
		if n, last, err = m.applyInbox(ctx, last, &damaged); err != nil {
			return done + n, err
		}
		done += n
	}
	if _, err := m.observe(ctx); err != nil {
		return done, err
	}
	return done, damaged
}

// applyInbox applies the events after the one with id after, oldest first,
// and returns how many it completed and the id of the last one it tried.
// Each event is tried at most once per call. An event that meets a damaged
// file is passed over, and the first such failure is kept in damaged.
func (m *Mirror) applyInbox(ctx context.Context, after int64, damaged *error) (done int, last int64, err error) {
	last = after
	for {
		events, err := m.db.PendingWebhooksAfter(ctx, last, maxWebhookAttempts, inboxBatch)
		if err != nil {
			return done, last, fmt.Errorf("read webhook inbox: %w", err)
		}
		for _, e := range events {
			last = e.ID
			if err := m.applyEvent(ctx, e); err != nil {
				if ctx.Err() != nil {
					return done, last, ctx.Err()
				}
				if errors.Is(err, store.ErrCorrupt) {
					// No fault of the event's: it keeps its tries for
					// when the file is repaired. The damage may hold
					// only its conversation's rows, so the rest go on.
					*damaged = cmp.Or(*damaged, fmt.Errorf("apply webhook %d: %w", e.ID, err))
					continue
				}
				if merr := m.db.MarkWebhookFailed(ctx, e.ID, err.Error()); merr != nil {
					return done, last, fmt.Errorf("record webhook %d failure: %w", e.ID, merr)
				}
				if e.Attempts+1 >= maxWebhookAttempts {
					m.opts.Logger.Warn("webhook event failed for the last time; giving up, the poll heals the mirror",
						"webhook_id", e.ID, "event", e.Event, "attempts", e.Attempts+1, "err", err)
				} else {
					m.opts.Logger.Warn("webhook event failed; will retry", "webhook_id", e.ID, "event", e.Event, "err", err)
				}
				if helpScoutFailing(err) {
					// The rest would fail the same way, each after the
					// client's retries, while the poll waits for this pass.
					return done, last, nil
				}
				continue
			}
			if err := m.db.MarkWebhookDone(ctx, e.ID); err != nil {
				return done, last, fmt.Errorf("mark webhook %d done: %w", e.ID, err)
			}
			done++
		}
		if len(events) < inboxBatch {
			return done, last, nil
		}
	}
}

// holds reports whether the store holds conversation id; a failed read
// says it does, so that its re-read is kept rather than dropped.
func (m *Mirror) holds(ctx context.Context, id int64) bool {
	_, _, err := m.db.Conversation(ctx, id)
	return !errors.Is(err, store.ErrNotFound)
}

// helpScoutFailing reports whether err says Help Scout itself is failing
// rather than this one request: a spent budget, a 5xx after the client's
// retries, a refused token, or no answer at all. Or that Help Scout
// refuses the form of our request (400, 405, 406, 415: a parameter or
// header it no longer takes), which every later read repeats alike: no
// conversation's own fault, to be passed over hour after hour while the
// sync reports success.
func helpScoutFailing(err error) bool {
	var auth *helpscout.AuthError
	var transport *url.Error
	if rateLimited(err) || errors.As(err, &auth) || errors.As(err, &transport) {
		return true
	}
	var resp *helpscout.ErrorResponse
	if !errors.As(err, &resp) {
		return false
	}
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusUnsupportedMediaType:
		return true
	}
	return resp.StatusCode >= 500
}

// ofMailboxGone reports whether err, completing an event's conversation
// c, is Help Scout refusing c (404, or 403) because its mailbox is gone:
// deleted, or taken from the API user, which the stored directory no
// longer lists. Webhooks are the account's, so events of such a mailbox go
// on arriving; retried, each would meet the same refusal until its
// attempts ran out, a warning at every pass. The mailbox left the mirror
// with its conversations, and is walked again if it comes back, so there
// is nothing to apply. A refusal in a mailbox still listed stays an error.
func (m *Mirror) ofMailboxGone(ctx context.Context, c helpscout.Conversation, err error) bool {
	if !errors.Is(err, helpscout.ErrNotFound) && !errors.Is(err, helpscout.ErrForbidden) {
		return false
	}
	listed, lerr := m.db.Mailboxes(ctx)
	if lerr != nil || len(listed) == 0 {
		return false // no directory to judge by: the error stands
	}
	return !lists(listed, c.MailboxID)
}

func threadIDs(ts []store.Thread) []int64 {
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids
}

// applyConversationEvent stores what a conversation event says, unless
// the event cannot be trusted on its own; then its conversation is queued
// for a re-read from Help Scout.
func (m *Mirror) applyConversationEvent(ctx context.Context, event string, c helpscout.Conversation) error {
	var st Stats
	stored, threads, err := m.db.Conversation(ctx, c.ID)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read conversation %d: %w", c.ID, err)
	}
	if known && olderThanStored(c, stored) {
		// Sent before a state the store already holds (a late delivery, or
		// a captured body replayed): it carries nothing the store would
		// take, and asking Help Scout about it would let anyone holding an
		// old signed body spend the request budget.
		return nil
	}
	if c.MailboxID > 0 && !m.inScope(c.MailboxID) {
		// In a mailbox this daemon does not mirror (a body naming none
		// is doubtedBody's: the conversation may well be in one it
		// does). The event may be older than the stored copy (held
		// back, then delivered after the conversation moved in), so it
		// is not enough to forget it: the re-read decides, and removes
		// it only if it is really out.
		if known {
			m.rereads.add(c.ID)
		}
		return nil
	}
	if why, odd, err := m.doubtedBody(ctx, c); err != nil {
		return err
	} else if why != "" {
		// The body is signed but not Help Scout's word: stored as sent it
		// would hold the row (mailbox 0, a date years ahead) until Help
		// Scout's own answer replaced it. That answer is asked for now,
		// for a conversation the store does not hold too: a new one
		// would otherwise wait for the poll, and own mode route it that
		// much later. Those re-reads are bounded (unheldBudget), and one
		// Help Scout refuses (404, or 403 in a mailbox gone) is dropped,
		// not retried (ProcessInbox).
		if !known && !m.rereads.waiting(c.ID) {
			if m.unheld.skip(c.MailboxID) {
				// Of a mailbox the directory stopped listing: Help Scout
				// refuses the read, and the budget is kept for the
				// mailboxes mirrored.
				return nil
			}
			ok, first := m.unheld.take(m.opts.Now())
			if first {
				m.opts.Logger.Warn("webhook bodies of conversations not held: the re-read budget is spent for this hour; the poll brings in those it lists",
					"limit", maxUnheldRereads, "window", unheldWindow.String(), "conversation", c.ID, "event", event, "reason", why)
			}
			if !ok {
				return nil // said once above, not at every body of a flood
			}
		}
		if odd {
			m.opts.Logger.Warn("webhook body not applied; Help Scout's answer is taken instead",
				"conversation", c.ID, "event", event, "reason", why, "stored", known)
		}
		m.rereads.add(c.ID)
		return nil
	}
	u, err := m.completeFrom(ctx, c, stored, threads, known, &st)
	if err != nil {
		if m.ofMailboxGone(ctx, c, err) {
			return nil
		}
		return err
	}
	// A hint: Help Scout's answer read by id replaces it whatever its
	// version, a listing at its version or a later one (store, "Never
	// regress").
	u.Conversation.FromWebhook = true
	var mergedFrom []int64
	if event == helpscout.EventConvoMerged {
		// The event names the survivor. The conversations merged into it
		// are the stored ones still holding its threads (found before the
		// survivor takes them); without this they would stay open here
		// until the hourly reconcile.
		if mergedFrom, err = m.db.ConversationsHolding(ctx, threadIDs(u.Threads), c.ID); err != nil {
			return fmt.Errorf("find conversations merged into %d: %w", c.ID, err)
		}
	}
	if known && sameVersion(c, stored) && !sameTags(stored.Tags, c.Tags) {
		// A tag change does not move the conversation's version, so the
		// store takes the tag set of an update at its own version; but an
		// older event delivered late (a retry, or two events in one second
		// out of order) carries the old set, and qw-pin would be lost for
		// good. Help Scout's answer settles it.
		m.rereads.add(c.ID)
	} else if _, err = m.db.ApplyConversation(ctx, u); err != nil {
		return fmt.Errorf("store conversation %d: %w", c.ID, err)
	}
	for _, id := range mergedFrom {
		m.rereads.add(id) // gone: the re-read removes it
	}
	return nil
}

// webhookClockSkew is how far ahead of the mirror's clock a webhook's
// dates may be: Help Scout's clock and ours disagree by seconds, not by
// minutes.
const webhookClockSkew = 5 * time.Minute

// doubtedBody says why a conversation event's body cannot be stored as
// sent, or "" when it can: it names no mailbox (a payload quirk: stored, the
// conversation would sit in mailbox 0), it is dated ahead of the mirror's
// clock (no change Help Scout made can be, and its version would outrank
// every answer until replaced), or, with every mailbox mirrored, it names
// a mailbox the directory does not list (a mailbox outside QW_MAILBOXES is
// inScope's). The directory is only judged by once it lists some mailbox.
// odd says the body is malformed or forged rather than early: a mailbox
// just created, or just gone, is not yet or no longer listed, and its
// events are no news for the log.
func (m *Mirror) doubtedBody(ctx context.Context, c helpscout.Conversation) (why string, odd bool, err error) {
	if c.MailboxID <= 0 {
		return "no mailbox", true, nil
	}
	if at := modifiedAt(c); at.After(m.opts.Now().Add(webhookClockSkew)) {
		return "dated ahead of the clock", true, nil
	}
	if len(m.opts.Mailboxes) > 0 {
		return "", false, nil
	}
	listed, err := m.db.Mailboxes(ctx)
	if err != nil {
		return "", false, fmt.Errorf("read mailboxes: %w", err)
	}
	if len(listed) > 0 && !lists(listed, c.MailboxID) {
		return "a mailbox the directory does not list", false, nil
	}
	return "", false, nil
}

// olderThanStored reports whether a conversation event describes a state
// before the stored one, by the store's own order (doc.go, "Never
// regress"): the user update time, then the thread count. A webhook body
// carries no threads, so the latest thread time cannot be compared.
func olderThanStored(c helpscout.Conversation, stored store.Conversation) bool {
	if c.UserUpdatedAt.Time.IsZero() {
		return false // no version to compare: let the store decide
	}
	in, have := c.UserUpdatedAt.Time.UnixMilli(), stored.UserUpdatedAt.UnixMilli()
	return in < have || in == have && c.ThreadCount < stored.ThreadCount
}

func sameVersion(c helpscout.Conversation, stored store.Conversation) bool {
	return c.UserUpdatedAt.Time.UnixMilli() == stored.UserUpdatedAt.UnixMilli() && c.ThreadCount == stored.ThreadCount
}

// sameTags reports whether the stored tags and a webhook's are the same
// set, compared as the store compares them (trimmed, case-insensitive).
func sameTags(stored []string, incoming []helpscout.Tag) bool {
	set := func(names []string) map[string]bool {
		m := make(map[string]bool, len(names))
		for _, n := range names {
			if n = strings.ToLower(strings.TrimSpace(n)); n != "" {
				m[n] = true
			}
		}
		return m
	}
	in := make([]string, len(incoming))
	for i, t := range incoming {
		in[i] = t.Name
	}
	return maps.Equal(set(stored), set(in))
}

// applyEvent applies one stored event. The store's never-regress rule makes
// duplicates and late deliveries harmless.
func (m *Mirror) applyEvent(ctx context.Context, e store.WebhookEvent) error {
	ev, err := helpscout.ParseWebhook(e.Event, e.Body)
	if err != nil {
		return err
	}
	switch ev.Kind {
	case helpscout.WebhookConversationDeleted:
		// Only Help Scout's 404 deletes: a body of just an id, signed,
		// could otherwise remove a conversation Help Scout still serves,
		// and nothing would bring it back until it changed there. The
		// re-read removes it (404), or keeps and refreshes it. One not
		// stored has nothing to remove, and costs no request.
		_, _, err := m.db.Conversation(ctx, ev.DeletedID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("read conversation %d: %w", ev.DeletedID, err)
		}
		m.rereads.add(ev.DeletedID)
		return nil
	case helpscout.WebhookConversation:
		return m.applyConversationEvent(ctx, e.Event, *ev.Conversation)
	case helpscout.WebhookTest, helpscout.WebhookOther:
		return nil // test pings and events about other resources
	}
	// A kind helpscout added and nobody taught the mirror: the event stays
	// failed in the inbox, for an operator to see, instead of vanishing.
	return fmt.Errorf("webhook %s: the mirror has no handler for %s events", e.Event, ev.Kind)
}
