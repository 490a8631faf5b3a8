package mirror

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// progressEvery is how often a long walk says how far it has got. A first
// sync at 40 requests a minute reads 1,500 conversations in about three
// minutes and 100,000 in over an hour: without a line now and then the log
// is silent from "serving" to "sync done", and nobody can tell a slow walk
// from a stuck one. A line per page would bury everything else.
const progressEvery = 30 * time.Second

// progress follows one long walk: the first sync, or the walk of a mailbox
// added to QW_MAILBOXES or newly visible to the API user. Its counts run across the rewalks of that walk,
// and across the attempts before it: a walk resumed from a saved cursor
// (after a failed attempt, or a restart part-way) lists only what is left,
// so its counts start from what the store already holds of its scope.
type progress struct {
	mailbox int64 // the mailbox walked on its own; 0 = the first sync's walk
	logged  time.Time
	pages   int
	held    int // conversations of the walk's scope the store holds
	listed  int // conversations listed by the current walk (or rewalk)
	total   int // where held is expected to end, when hasSize
	hasSize bool
	// catchUp: the first sync after a restart on a mirror that synced
	// before (Mirror.inherited). The store holds the whole queue already,
	// and the walk re-lists what changed since the last sync, so held
	// says nothing of how far it has got; its own listing does (size).
	catchUp bool
	size    int // the listing's size, as its latest page said; 0: not given
	// read counts the conversations an added mailbox's walk listed in the
	// syncs before this one (walkMailbox); announced: the log said the
	// walk begins (settleScope). Both are of this process.
	read      int
	announced bool
	// visible: the mailbox walked is one the directory lists only since
	// the walk that built the scope (newly visible to the API user), not
	// one added to QW_MAILBOXES; settleScope tells them apart, and the
	// walk's lines say which, as its announcement does.
	visible bool
}

// what names the mailbox a walk of one mailbox reads, in its log lines.
func (p *progress) what() string {
	if p.visible {
		return "newly visible mailbox"
	}
	return "added mailbox"
}

func newProgress(mailbox int64, now time.Time) *progress {
	return &progress{mailbox: mailbox, logged: now}
}

// beginWalk starts a walk or rewalk: its listing's size counts what is
// left from its cursor on.
func (p *progress) beginWalk() {
	if p != nil {
		p.listed = 0
	}
}

// page counts one list page of n conversations from a listing Help Scout
// says holds size of them (page.totalElements; 0 when it gives none),
// after which the store holds held conversations of the walk's scope. What
// the listing has yet to give is size less what this walk listed; the
// rest of the scope is held already. Counting the store rather than adding
// its count at the start keeps a conversation re-listed in the cursor's
// overlap, or by a rewalk, from being counted twice.
func (p *progress) page(n, size, held int) {
	p.pages++
	p.listed += n
	p.held = held
	p.size = size
	if size > 0 {
		// A listing that grows during the walk can be read past its
		// first size; the end is never shown behind the count.
		p.total, p.hasSize = max(held+size-p.listed, held), true
	}
}

// due reports whether progressEvery has passed since the walk began or
// last said how far it got, and restarts the interval if so.
func (p *progress) due(now time.Time) bool {
	if now.Sub(p.logged) < progressEvery {
		return false
	}
	p.logged = now
	return true
}

// counts says how far the walk has got: "600 of 1,500 conversations", or
// "600 conversations, 24 pages" when Help Scout gives no size; after a
// restart (catchUp), "40 of 160 conversations changed since the last
// sync".
func (p *progress) counts() string {
	if p.catchUp {
		if p.size > 0 {
			return grouped(p.listed) + " of " + grouped(p.size) + " conversations changed since the last sync"
		}
		return grouped(p.listed) + " conversations changed since the last sync, " + grouped(p.pages) + " pages"
	}
	if p.hasSize {
		return grouped(p.held) + " of " + grouped(p.total) + " conversations"
	}
	return grouped(p.held) + " conversations, " + grouped(p.pages) + " pages"
}

// grouped writes n with thousands separators, as people read counts.
func grouped(n int) string {
	if n < 0 {
		return "-" + grouped(-n)
	}
	s := strconv.Itoa(n)
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// noteProgress counts a page of a long walk, once it is committed. Every
// progressEvery of the mirror's clock it logs how far the walk has got;
// until the first sync completes, /readyz's reason says it at every page.
func (m *Mirror) noteProgress(ctx context.Context, l listing, n, size int) {
	p := l.progress
	if p == nil {
		return
	}
	held, err := m.db.CountInMailboxes(ctx, l.mailboxes)
	if err != nil {
		// Only the count suffers: the page is committed, and a store that
		// fails to read fails the next commit, which says so.
		held = p.held + n
	}
	p.page(n, size, held)
	if !m.everSynced() {
		reason := "first sync: " + p.counts()
		switch {
		case p.mailbox != 0 && m.inherited():
			// A mailbox the restart's directory refresh lists that no walk
			// read (with every mailbox, one the API user was given access
			// to meanwhile), walked before the poll on a mirror that holds
			// the rest of the queue as of the last sync: no first sync,
			// and, with QW_MAILBOXES empty, nothing added.
			reason = fmt.Sprintf("%s; under way: walking mailbox %d: %s", noSyncSinceRestart, p.mailbox, p.counts())
		case p.mailbox != 0:
			reason = fmt.Sprintf("first sync: walking %s %d: %s", p.what(), p.mailbox, p.counts())
		case p.catchUp:
			reason = noSyncSinceRestart + "; under way: " + p.counts()
		}
		m.setReady(false, reason)
	}
	if !p.due(m.opts.Now()) {
		return
	}
	attrs := p.attrs()
	if p.mailbox != 0 {
		m.opts.Logger.Info("walk of "+p.what()+" under way", append([]any{"mailbox_id", p.mailbox}, attrs...)...)
		return
	}
	if p.catchUp {
		m.opts.Logger.Info("sync since the restart under way", "progress", p.counts(), "pages", p.pages, "listed", p.listed, "size", p.size)
		return
	}
	m.opts.Logger.Info("first sync under way", attrs...)
}

// attrs are a long walk's progress line's counts.
func (p *progress) attrs() []any {
	attrs := []any{"progress", p.counts(), "pages", p.pages, "conversations", p.held}
	if p.hasSize {
		attrs = append(attrs, "total", p.total)
	}
	return attrs
}
