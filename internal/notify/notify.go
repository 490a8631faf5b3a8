package notify

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// The channel label of queuewrangler_notifications_total: which kind of
// message.
const (
	ChannelProposals  = "proposals"
	ChannelEscalation = "escalation"
	ChannelDigest     = "digest"
)

// The result label: what finally became of a message.
const (
	ResultSent           = "sent"
	ResultRateLimited    = "rate_limited"    // Slack still answered 429 after the retries
	ResultInvalidPayload = "invalid_payload" // Slack refused the message's JSON
	ResultNoService      = "no_service"      // the webhook is disabled, removed or invalid
	ResultFailed         = "failed"          // another 4xx, or 5xx and network errors after the retries
	ResultDropped        = "dropped"         // the delivery queue was full
)

// Store is what the messages read from the mirror (a *store.DB).
type Store interface {
	Users(ctx context.Context) ([]store.User, error)
	FirstResponsesBetween(ctx context.Context, from, to time.Time) ([]store.FirstResponse, error)
	MovesBetween(ctx context.Context, from, to time.Time) (store.MoveCounts, error)
	OpenConversations(ctx context.Context, f store.OpenFilter) ([]store.OpenConversation, error)
	CustomerNames(ctx context.Context, conversationIDs []int64) (map[int64]string, error)
}

// Team lists the agents with the balancer's figures (a *team.Reader).
type Team interface {
	Agents(ctx context.Context) ([]team.Agent, team.Figures, error)
}

// Daily is the local time of the digest.
type Daily struct {
	Hour, Minute int
	Zone         *time.Location // nil = UTC
}

// Options configures a Notifier.
type Options struct {
	// WebhookURL is the Slack incoming webhook. It is a credential: the
	// Notifier never logs it nor puts it in an error.
	WebhookURL string
	// PageURL is the queue page's public address; empty = no links to it.
	PageURL string
	// Digest is when the daily digest goes; its zone defaults to the
	// office hours', else UTC.
	Digest Daily
	// OfficeHours, when set, add the office-hours first response times
	// to the digest.
	OfficeHours roster.OfficeHours
	Store       Store
	// Client posts the messages; nil = one with a 10 s timeout per attempt.
	Client *http.Client
	// Sleep waits between attempts; nil = a timer that ends with ctx.
	// Tests inject one to see the waits without taking them.
	Sleep func(ctx context.Context, d time.Duration) error
	// Tick is how often Run looks for messages that are due (the
	// proposals' minute, the digest); 0 = 5 s.
	Tick time.Duration
	// QueueSize bounds the messages waiting for delivery; 0 = 32.
	QueueSize int
	// Retries bounds the attempts after the first for 429, 5xx and network
	// errors; 0 = 4.
	Retries int
	Logger  *slog.Logger
	Metrics *metrics.Instruments
	Now     func() time.Time
}

const (
	// batchEvery is the least time between two proposals messages: an SST
	// gets one message for the proposals of a minute, not one each.
	batchEvery = time.Minute
	// repeatEscalationAfter is how long a stuck ticket, once announced, is
	// not announced again: every balancer run finds it stuck anew.
	repeatEscalationAfter = 24 * time.Hour
	// maxPending bounds what waits to be put in a message; beyond it only
	// a count is kept ("and 12 more"), so a large team's backlog cannot
	// grow the daemon's memory while Slack is unreachable.
	maxPending = 50
)

// Notifier sends the messages. Without a webhook New returns nil, and
// only Run may be called on a nil *Notifier (it returns at once). Never
// store a nil one in an interface (rebalance.Options.Notify): it would not
// compare equal to nil, and its receiver would do work for nothing.
type Notifier struct {
	opts  Options
	queue chan message
	wake  chan struct{}

	mu              sync.Mutex
	proposals       pending[store.Proposal]
	escalations     pending[escalation]
	lastProposalsAt time.Time
	announced       map[int64]time.Time // conversation -> when its escalation was queued
	// nextDigest is when the next digest is due. It moves on only once
	// that digest is settled (digestSettled): a transient failure leaves
	// it due, and digestOut keeps a second copy from being queued while
	// one is on its way.
	nextDigest time.Time
	digestOut  bool
	// digestWait is how long a digest that failed for a passing reason
	// waits before it is tried again (digestSettled), and digestRetryAt
	// the time it may go; zero while the day's digest has not failed
	// since the last delivered message. digestWaitOnSlack says the last
	// failure was Slack's, so that a message getting through ends the
	// wait; one that was the mirror's read waits it out.
	digestWait        time.Duration
	digestRetryAt     time.Time
	digestWaitOnSlack bool

	logMu  sync.Mutex
	logged map[string]bool // failure kinds logged since the last success
}

// pending is a bounded list of things waiting to be put in a message.
type pending[T any] struct {
	items []T
	more  int // beyond maxPending: counted, not kept
}

func (p *pending[T]) add(items ...T) {
	for _, it := range items {
		if len(p.items) < maxPending {
			p.items = append(p.items, it)
		} else {
			p.more++
		}
	}
}

func (p *pending[T]) take() (items []T, more int) {
	items, more = p.items, p.more
	p.items, p.more = nil, 0
	return items, more
}

// escalation is a stuck ticket for a person.
type escalation struct {
	flag     balancer.Flag
	noSenior bool // an ST's ticket no senior can take; otherwise an SST's, flagged
}

// message is one post to the webhook.
type message struct {
	channel string
	payload slack.WebhookMessage
	// settled, when set, is told how the message ended: sent or given up
	// for good (retry false), or failed in a way worth another try later
	// (retry true). A shutdown abandons the message without telling.
	settled func(retry bool)
}

// New returns a Notifier, or nil when opts.WebhookURL is empty.
func New(opts Options) *Notifier {
	if opts.WebhookURL == "" {
		return nil
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Tick <= 0 {
		opts.Tick = 5 * time.Second
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 32
	}
	if opts.Retries <= 0 {
		opts.Retries = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Digest.Zone == nil {
		opts.Digest.Zone = cmp.Or(opts.OfficeHours.Location(), time.UTC)
	}
	n := &Notifier{opts: opts, queue: make(chan message, opts.QueueSize), wake: make(chan struct{}, 1),
		announced: map[int64]time.Time{}, logged: map[string]bool{}}
	n.nextDigest = nextDaily(opts.Now(), opts.Digest)
	if m := opts.Metrics; m != nil {
		// Every series from the start, so that a rate over a quiet
		// channel reads 0 rather than nothing.
		for _, ch := range []string{ChannelProposals, ChannelEscalation, ChannelDigest} {
			for _, r := range []string{ResultSent, ResultRateLimited, ResultInvalidPayload, ResultNoService, ResultFailed, ResultDropped} {
				m.Notifications.WithLabelValues(ch, r)
			}
		}
	}
	return n
}

// ProposalsWaiting queues proposals for the next proposals message. It
// returns at once (rebalance.Notifier).
func (n *Notifier) ProposalsWaiting(ps []store.Proposal) {
	if len(ps) == 0 {
		return
	}
	n.mu.Lock()
	n.proposals.add(ps...)
	n.mu.Unlock()
	n.poke()
}

// Escalations queues the stuck tickets not announced in the last day for
// the next escalation message. It returns at once (rebalance.Notifier).
func (n *Notifier) Escalations(flagged, noSenior []balancer.Flag) {
	now := n.opts.Now()
	n.mu.Lock()
	for id, at := range n.announced {
		if now.Sub(at) >= repeatEscalationAfter {
			delete(n.announced, id)
		}
	}
	added := false
	for _, kind := range []struct {
		flags    []balancer.Flag
		noSenior bool
	}{{flagged, false}, {noSenior, true}} {
		for _, f := range kind.flags {
			if _, done := n.announced[f.ConversationID]; done {
				continue
			}
			n.announced[f.ConversationID] = now
			n.escalations.add(escalation{flag: f, noSenior: kind.noSenior})
			added = true
		}
	}
	n.mu.Unlock()
	if added {
		n.poke()
	}
}

// poke wakes Run without waiting for it.
func (n *Notifier) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run builds the messages that are due and delivers them until ctx ends;
// the digest reads the agents from agents. Delivery has its own goroutine,
// which Run waits for: a Slack that hangs holds up only the messages
// behind it, which the queue's bound drops.
func (n *Notifier) Run(ctx context.Context, agents Team) {
	if n == nil {
		return
	}
	n.opts.Logger.Info("slack messages on", "next_digest", n.nextDigest.Format(time.RFC3339))
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-n.queue:
				n.deliver(ctx, m)
			}
		}
	})
	defer wg.Wait()
	tick := time.NewTicker(n.opts.Tick)
	defer tick.Stop()
	for {
		n.flush(ctx, agents)
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-tick.C:
		}
	}
}

// flush queues every message that is due: the proposals when a minute has
// passed since the last proposals message, the escalations, and the
// digest once its time has come.
func (n *Notifier) flush(ctx context.Context, agents Team) {
	now := n.opts.Now()
	n.mu.Lock()
	var proposals []store.Proposal
	var moreProposals int
	if len(n.proposals.items) > 0 && (n.lastProposalsAt.IsZero() || now.Sub(n.lastProposalsAt) >= batchEvery) {
		proposals, moreProposals = n.proposals.take()
		n.lastProposalsAt = now
	}
	escalations, moreEscalations := n.escalations.take()
	digestDue := !n.digestOut && !now.Before(n.nextDigest) && !now.Before(n.digestRetryAt)
	if digestDue {
		// A digest left due by failures until a later day's is due gives
		// way to that one, which reports the later day. The later day's
		// starts its waits afresh: its first failure is tried again at
		// the next tick, not after the wait the last day's grew to.
		for next := nextDaily(n.nextDigest, n.opts.Digest); !now.Before(next); next = nextDaily(next, n.opts.Digest) {
			n.nextDigest = next
			n.digestWait, n.digestWaitOnSlack = 0, false
		}
		n.digestOut = true
	}
	sendAt := n.nextDigest
	n.mu.Unlock()

	if len(proposals) > 0 || len(escalations) > 0 {
		names := team.Names(ctx, n.opts.Store)
		if len(proposals) > 0 {
			n.enqueue(message{channel: ChannelProposals, payload: proposalsMessage(proposals, moreProposals, names, n.opts.PageURL)})
		}
		if len(escalations) > 0 {
			n.enqueue(message{channel: ChannelEscalation, payload: escalationMessage(escalations, moreEscalations, names, n.opts.PageURL)})
		}
	}
	if digestDue {
		settled := func(retry bool) { n.digestSettled(sendAt, retry) }
		d, err := n.digest(ctx, agents, sendAt, now)
		if err != nil {
			n.count(ChannelDigest, ResultFailed)
			n.logOnce("digest read", "slack digest not sent yet: reading the mirror failed; it is tried again", "err", err)
			n.digestUnread(sendAt)
			return
		}
		n.enqueue(message{channel: ChannelDigest, payload: digestMessage(d, n.opts.PageURL), settled: settled})
	}
}

// maxDigestWait bounds the wait between two tries of a digest that keeps
// failing: a Slack back after an outage gets the day's digest within the
// hour.
const maxDigestWait = time.Hour

// digestSettled records what became of the digest due at sendAt. Sent, or
// refused for good (invalid_payload, no_service, another 4xx), the next
// one is tomorrow's. A transient failure (the mirror's read, a 5xx or
// network error after the retries, a 429, a full queue) leaves it due,
// to be read and sent again after a wait: one tick after the first
// failure, doubling with each failure after it up to maxDigestWait, and
// never past the next day's digest, which then goes instead with its
// waits started afresh (flush). Without the wait a Slack answering 5xx
// all day would get the digest and its retries at every tick (5 posts
// every 5 s).
// When the failure was Slack's, any message delivered ends the wait
// (delivered).
func (n *Notifier) digestSettled(sendAt time.Time, retry bool) {
	now := n.opts.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.digestOut = false
	if !retry {
		n.nextDigest = nextDaily(now, n.opts.Digest)
		n.digestWait, n.digestRetryAt, n.digestWaitOnSlack = 0, time.Time{}, false
		return
	}
	n.digestWaitLonger(sendAt, now, true)
}

// digestUnread leaves the digest due at sendAt due after the mirror's read
// failed, to be tried again after the same waits as Slack's failures. A
// message delivered meanwhile says nothing of the mirror, so it does not
// end this wait.
func (n *Notifier) digestUnread(sendAt time.Time) {
	now := n.opts.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.digestOut = false
	n.digestWaitLonger(sendAt, now, false)
}

// digestWaitLonger keeps the digest due at sendAt due and doubles its
// wait; onSlack says the failure was Slack's. n.mu must be held.
func (n *Notifier) digestWaitLonger(sendAt, now time.Time, onSlack bool) {
	n.nextDigest = sendAt
	n.digestWait = min(max(2*n.digestWait, n.opts.Tick), maxDigestWait)
	n.digestRetryAt = now.Add(n.digestWait)
	n.digestWaitOnSlack = onSlack
	if tomorrow := nextDaily(sendAt, n.opts.Digest); tomorrow.Before(n.digestRetryAt) {
		n.digestRetryAt = tomorrow
	}
}

// enqueue hands m to the delivery goroutine, or drops it when the queue
// is full: never wait, the caller may be on the balancer's path.
func (n *Notifier) enqueue(m message) {
	select {
	case n.queue <- m:
	default:
		n.count(m.channel, ResultDropped)
		if m.settled != nil {
			m.settled(true)
		}
		n.logOnce(ResultDropped, "slack message dropped: the delivery queue is full (Slack slow or unreachable)", "channel", m.channel)
	}
}

func (n *Notifier) count(channel, result string) {
	if n.opts.Metrics != nil {
		n.opts.Metrics.Notifications.WithLabelValues(channel, result).Inc()
	}
}

// logOnce logs a failure of a kind at warn the first time since the last
// delivered message, and at debug after that: a Slack that refuses every
// message must not fill the log.
func (n *Notifier) logOnce(kind, msg string, args ...any) {
	n.logMu.Lock()
	first := !n.logged[kind]
	n.logged[kind] = true
	n.logMu.Unlock()
	level := slog.LevelDebug
	if first {
		level = slog.LevelWarn
	}
	n.opts.Logger.Log(context.Background(), level, msg, append(args, "kind", kind)...)
}

// delivered forgets the failures logged, so that the next one is news
// again, and ends the wait of a digest that Slack failed: Slack answers
// again. A digest whose mirror read failed keeps its wait.
func (n *Notifier) delivered() {
	n.mu.Lock()
	if n.digestWaitOnSlack {
		n.digestWait, n.digestRetryAt, n.digestWaitOnSlack = 0, time.Time{}, false
	}
	n.mu.Unlock()
	n.logMu.Lock()
	recovered := len(n.logged) > 0
	clear(n.logged)
	n.logMu.Unlock()
	if recovered {
		n.opts.Logger.Info("slack messages are delivered again")
	}
}

// nextDaily is the first time after now at d's local time.
func nextDaily(now time.Time, d Daily) time.Time {
	local := now.In(d.Zone)
	at := time.Date(local.Year(), local.Month(), local.Day(), d.Hour, d.Minute, 0, 0, d.Zone)
	if !at.After(now) {
		at = time.Date(local.Year(), local.Month(), local.Day()+1, d.Hour, d.Minute, 0, 0, d.Zone)
	}
	return at
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
