package mirror

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// maxWebhookAttempts bounds retries of one stored event; after that it
// stays failed in the inbox for an operator, and polling heals the mirror.
const maxWebhookAttempts = 10

// inboxBatch is how many events one pass takes.
const inboxBatch = 200

// ProcessInbox applies pending and failed webhook events, oldest first, and
// returns how many it completed. An event that fails stays in the inbox
// with its error and is tried again on the next pass.
func (m *Mirror) ProcessInbox(ctx context.Context) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	done := 0
	for {
		events, err := m.db.PendingWebhooks(ctx, maxWebhookAttempts, inboxBatch)
		if err != nil {
			return done, fmt.Errorf("read webhook inbox: %w", err)
		}
		if len(events) == 0 {
			break
		}
		progress := false
		for _, e := range events {
			if err := m.applyEvent(ctx, e); err != nil {
				if ctx.Err() != nil {
					return done, ctx.Err()
				}
				if merr := m.db.MarkWebhookFailed(ctx, e.ID, err.Error()); merr != nil {
					return done, fmt.Errorf("record webhook %d failure: %w", e.ID, merr)
				}
				m.opts.Logger.Warn("webhook event failed; will retry", "webhook_id", e.ID, "event", e.Event, "err", err)
				var rl *helpscout.RateLimitError
				if errors.As(err, &rl) {
					// Budget spent: the rest would fail the same way.
					return done, nil
				}
				continue
			}
			if err := m.db.MarkWebhookDone(ctx, e.ID); err != nil {
				return done, fmt.Errorf("mark webhook %d done: %w", e.ID, err)
			}
			done++
			progress = true
		}
		if !progress || len(events) < inboxBatch {
			break
		}
	}
	if _, err := m.observe(ctx); err != nil {
		return done, err
	}
	return done, nil
}

func threadIDs(ts []store.Thread) []int64 {
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return ids
}

// applyConversationEvent stores what a conversation event says, unless
// the event cannot be trusted on its own; then Help Scout is asked.
func (m *Mirror) applyConversationEvent(ctx context.Context, event string, c helpscout.Conversation) error {
	var st Stats
	stored, threads, err := m.db.Conversation(ctx, c.ID)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read conversation %d: %w", c.ID, err)
	}
	if !m.inScope(c.MailboxID) {
		// In a mailbox this daemon does not mirror. The event may be
		// older than the stored copy (held back, then delivered after the
		// conversation moved in), so it is not enough to forget it: the
		// re-read decides, and removes it only if it is really out.
		if !known {
			return nil
		}
		return m.refresh(ctx, c.ID, &st)
	}
	u, err := m.completeFrom(ctx, c, stored, threads, known, &st)
	if err != nil {
		return err
	}
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
	if known && !sameTags(stored.Tags, c.Tags) {
		// A tag change does not move the conversation's version, so the
		// store takes the tag set of an update at its own version; but an
		// older event delivered late (a retry, or two events in one second
		// out of order) carries the old set, and qw-pin would be lost for
		// good. Help Scout's answer settles it.
		err = m.refresh(ctx, c.ID, &st)
	} else if _, err = m.db.ApplyConversation(ctx, u); err != nil {
		err = fmt.Errorf("store conversation %d: %w", c.ID, err)
	}
	if err != nil {
		return err
	}
	for _, id := range mergedFrom {
		if err := m.refresh(ctx, id, &st); err != nil {
			return err
		}
	}
	return nil
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
		if err := m.db.DeleteConversation(ctx, ev.DeletedID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete conversation %d: %w", ev.DeletedID, err)
		}
		return nil
	case helpscout.WebhookConversation:
		return m.applyConversationEvent(ctx, e.Event, *ev.Conversation)
	}
	return nil // test pings and events about other resources
}
