package mirror

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
)

// The deletion walk finds stored conversations, of any status, that Help
// Scout no longer has (deleted, merged away, moved out of the mirrored
// mailboxes) although no webhook said so: polling cannot see them, since a
// vanished conversation is simply no longer listed, and the open-set
// reconcile sees only active and pending ones.
//
// Comparing the whole listing would cost one request per 25 conversations
// each time. Instead the walk reads Help Scout's listing of every status
// sorted by creation time, where a conversation keeps its place for ever:
// deletions only take places away, and new conversations come last. Where
// two consecutive conversations of a page were created in different
// seconds, the page tells exactly how many conversations were created
// before the later one (a boundary). The store can count the same; the
// difference is how many stored conversations created before it are gone
// from Help Scout (the offset). Equal offsets at two boundaries mean
// nothing vanished between them, so the walk bisects only ranges whose
// offsets differ, and reads the pages of a range in full once it is one or
// two pages long. Each stored conversation in it that was not listed is
// read once (refresh): a 404 removes it, a 301 replaces it with the
// survivor, another mailbox forgets it, and one still there is kept.
//
// Cost: one or two list pages when nothing vanished, whatever the size of
// the mirror; about log2(pages) more per vanished conversation, plus its
// re-read; never more than the whole listing (one page per 25).
//
// What it cannot see: a conversation created with an old creation time
// (an import) or moved into the mirrored mailboxes since the last poll,
// in the same range as a deletion, makes up for it in the counts. The next
// walk, after the poll has mirrored it, finds the deletion.

// deletionWalkTailSteps bounds how far back from the last page the walk
// looks for a boundary before which the store holds everything: the
// conversations created since the last poll are listed last and are not
// stored yet. More than this many pages of them means the mirror is behind;
// the walk waits for the next reconcile.
const deletionWalkTailSteps = 4

// conversationPageSize is Help Scout's page of conversations
// (helpscout-api.md section 3), for the first guess at the last page; the
// walk then counts places with the size each page reports.
const conversationPageSize = 25

// boundary is a place in the creation-time listing: r conversations were
// created before t, and the place is on page.
type boundary struct {
	t    time.Time
	r    int
	page int
	off  int // stored conversations created before t, minus r
}

// creationListing reads pages of the listing by creation time, each at
// most once per walk.
type creationListing struct {
	m         *Mirror
	mailboxes []int64 // the filter (Mirror.listedScope)
	pages     map[int][]helpscout.Conversation
	total     int // Help Scout's page count, from the last response
	size      int // conversations per page, from the last response
	reads     int
}

func (l *creationListing) page(ctx context.Context, p int) ([]helpscout.Conversation, error) {
	if got, ok := l.pages[p]; ok {
		return got, nil
	}
	opts := &helpscout.ConversationListOptions{
		Status:    helpscout.StatusAll,
		SortField: helpscout.SortCreatedAt,
		SortOrder: helpscout.SortAsc,
		Mailbox:   l.mailboxes,
		Page:      p,
	}
	convs, resp, err := l.m.hs.Conversations.List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("deletion walk: %w", refusedListing(l.mailboxes, err))
	}
	l.reads++
	l.total = resp.Page.TotalPages
	l.size = cmp.Or(resp.Page.Size, conversationPageSize)
	l.pages[p] = convs
	return convs, nil
}

// boundaryOn finds the first boundary on page p.
func (l *creationListing) boundaryOn(ctx context.Context, p int) (boundary, bool, error) {
	convs, err := l.page(ctx, p)
	if err != nil {
		return boundary{}, false, err
	}
	for j := 1; j < len(convs); j++ {
		prev, t := convs[j-1].CreatedAt.Time.Truncate(time.Second), convs[j].CreatedAt.Time.Truncate(time.Second)
		if t.After(prev) {
			return boundary{t: t, r: (p-1)*l.size + j, page: p}, true, nil
		}
	}
	return boundary{}, false, nil
}

// walkDeletions runs the deletion walk; st counts its list pages
// (DeletionWalkPages) and what it removed (Removed).
// A candidate Help Scout will not serve for reasons of its own is passed
// over into unread, as the open set's are (reconcileRefresh).
func (m *Mirror) walkDeletions(ctx context.Context, st *Stats, unread *unreadConversations) error {
	stored, err := m.db.CountCreatedBefore(ctx, time.Time{})
	if err != nil {
		return fmt.Errorf("deletion walk: %w", err)
	}
	if stored == 0 {
		return nil
	}
	mailboxes, none, err := m.listedScope(ctx)
	if err != nil || none {
		return err
	}
	l := &creationListing{m: m, mailboxes: mailboxes, pages: map[int][]helpscout.Conversation{}}
	defer func() { st.DeletionWalkPages += l.reads }()
	last := (stored + conversationPageSize - 1) / conversationPageSize
	if _, err := l.page(ctx, last); err != nil {
		return err
	}
	if l.total != last {
		last = max(l.total, 1)
		if _, err := l.page(ctx, last); err != nil {
			return err
		}
	}

	// The top: the last boundary before which every listed conversation is
	// stored. Everything from it on is compared in full.
	top, found := boundary{}, false
	for p := last; p >= 1 && p > last-deletionWalkTailSteps; p-- {
		b, ok, err := l.boundaryOn(ctx, p)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		clean, err := m.storedBefore(ctx, l.pages[p], b.t)
		if err != nil {
			return err
		}
		if clean {
			top, found = b, true
			break
		}
	}
	if !found && last > deletionWalkTailSteps {
		m.opts.Logger.Info("deletion walk skipped: the newest conversations are not mirrored yet; the next reconcile walks")
		return nil
	}
	var candidates []int64
	if !found {
		// A short listing: compare all of it.
		top = boundary{page: 1}
	}
	tail, err := m.unlisted(ctx, l, top, boundary{page: last}, true)
	if err != nil {
		return err
	}
	candidates = append(candidates, tail...)
	if found {
		if top.off, err = m.offset(ctx, top); err != nil {
			return err
		}
		found, err := m.bisect(ctx, l, boundary{page: 1}, top)
		if err != nil {
			return err
		}
		candidates = append(candidates, found...)
	}
	for _, id := range candidates {
		if err := m.reconcileRefresh(ctx, id, st, unread); err != nil {
			return fmt.Errorf("deletion walk: %w", err)
		}
	}
	return nil
}

// storedBefore reports whether every conversation on a page created before
// t is in the store.
func (m *Mirror) storedBefore(ctx context.Context, page []helpscout.Conversation, t time.Time) (bool, error) {
	if len(page) == 0 {
		return true, nil
	}
	ids, err := m.db.CreatedBetween(ctx, page[0].CreatedAt.Time.Truncate(time.Second), t)
	if err != nil {
		return false, fmt.Errorf("deletion walk: %w", err)
	}
	have := make(map[int64]bool, len(ids))
	for _, id := range ids {
		have[id] = true
	}
	for _, c := range page {
		if c.CreatedAt.Time.Before(t) && !have[c.ID] {
			return false, nil
		}
	}
	return true, nil
}

func (m *Mirror) offset(ctx context.Context, b boundary) (int, error) {
	n, err := m.db.CountCreatedBefore(ctx, b.t)
	if err != nil {
		return 0, fmt.Errorf("deletion walk: %w", err)
	}
	return n - b.r, nil
}

// bisect returns the stored conversations between boundaries a and b
// (a.t inclusive, b.t exclusive) that Help Scout does not list.
func (m *Mirror) bisect(ctx context.Context, l *creationListing, a, b boundary) ([]int64, error) {
	if a.off == b.off {
		return nil, nil
	}
	if b.page-a.page <= 1 {
		return m.unlisted(ctx, l, a, b, false)
	}
	mid := (a.page + b.page) / 2
	c, ok, err := l.boundaryOn(ctx, mid)
	if err != nil {
		return nil, err
	}
	if !ok {
		// A whole page created in one second: read the range in full.
		return m.unlisted(ctx, l, a, b, false)
	}
	if c.off, err = m.offset(ctx, c); err != nil {
		return nil, err
	}
	left, err := m.bisect(ctx, l, a, c)
	if err != nil {
		return nil, err
	}
	right, err := m.bisect(ctx, l, c, b)
	return append(left, right...), err
}

// unlisted reads pages a.page to b.page and returns the stored
// conversations created from a.t on, and before b.t unless open, that are
// on none of them.
func (m *Mirror) unlisted(ctx context.Context, l *creationListing, a, b boundary, open bool) ([]int64, error) {
	listed := map[int64]bool{}
	for p := a.page; p <= b.page; p++ {
		convs, err := l.page(ctx, p)
		if err != nil {
			return nil, err
		}
		for _, c := range convs {
			listed[c.ID] = true
		}
	}
	to := b.t
	if open {
		to = time.Time{}
	}
	ids, err := m.db.CreatedBetween(ctx, a.t, to)
	if err != nil {
		return nil, fmt.Errorf("deletion walk: %w", err)
	}
	var out []int64
	for _, id := range ids {
		if !listed[id] {
			out = append(out, id)
		}
	}
	return out, nil
}
