package mirror

import (
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
// added to QW_MAILBOXES. Its counts run across the rewalks of that walk.
type progress struct {
	mailbox int64 // the added mailbox walked; 0 = the first sync's walk
	logged  time.Time
	pages   int
	listed  int // conversations listed so far
	base    int // listed when the current walk (or rewalk) began
	total   int // where listed is expected to end, when hasSize
	hasSize bool
}

func newProgress(mailbox int64, now time.Time) *progress {
	return &progress{mailbox: mailbox, logged: now}
}

// beginWalk starts a walk or rewalk: its listing's size counts from what
// was listed before it.
func (p *progress) beginWalk() {
	if p != nil {
		p.base = p.listed
	}
}

// page counts one list page of n conversations from a listing Help Scout
// says holds size of them (page.totalElements; 0 when it gives none).
func (p *progress) page(n, size int) {
	p.pages++
	p.listed += n
	if size > 0 {
		// A listing that grows during the walk can be read past its
		// first size; the end is never shown behind the count.
		p.total, p.hasSize = max(p.base+size, p.listed), true
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
// "600 conversations, 24 pages" when Help Scout gives no size.
func (p *progress) counts() string {
	if p.hasSize {
		return grouped(p.listed) + " of " + grouped(p.total) + " conversations"
	}
	return grouped(p.listed) + " conversations, " + grouped(p.pages) + " pages"
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

// noteProgress counts a page of a long walk. Every progressEvery of the
// mirror's clock it logs how far the walk has got; until the first sync
// completes, /readyz's reason says it at every page.
func (m *Mirror) noteProgress(p *progress, n, size int) {
	if p == nil {
		return
	}
	p.page(n, size)
	if !m.everSynced() {
		reason := "first sync: " + p.counts()
		if p.mailbox != 0 {
			reason = fmt.Sprintf("first sync: walking added mailbox %d: %s", p.mailbox, p.counts())
		}
		m.setReady(false, reason)
	}
	if !p.due(m.opts.Now()) {
		return
	}
	attrs := []any{"progress", p.counts(), "pages", p.pages, "conversations", p.listed}
	if p.hasSize {
		attrs = append(attrs, "total", p.total)
	}
	if p.mailbox != 0 {
		m.opts.Logger.Info("walk of added mailbox under way", append([]any{"mailbox_id", p.mailbox}, attrs...)...)
		return
	}
	m.opts.Logger.Info("first sync under way", attrs...)
}
