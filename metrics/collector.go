package metrics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// State is the current state of the mirror and the team, read once per
// scrape. It is plain data so that this package needs nothing from the
// store or the balancer; internal/team fills it in.
type State struct {
	Mailboxes []MailboxState
	Agents    []AgentState
	// Imbalance is max utilisation ÷ mean utilisation over available agents
	// (1.0 is perfect); Jain is Jain's fairness index of the same (1.0 is
	// perfect). Neither is exported while no agent has a fair share.
	Imbalance float64
	Jain      float64
}

// MailboxState is one mailbox's gauges.
type MailboxState struct {
	MailboxID int64
	// ByStatus counts mirrored conversations by Help Scout status.
	ByStatus   map[string]int
	Unassigned int // active and unassigned
	Stuck      int // stuck by the README's "What it moves, and how"
	// OldestWaitSeconds is the longest current customer wait on an active
	// ticket; 0 when nobody waits.
	OldestWaitSeconds float64
}

// AgentState is one agent's gauges and the facts of helpscout_agent_info.
// Name must be a display name, never an email address: the collector
// replaces a name that contains "@" rather than export it.
type AgentState struct {
	AgentID int64
	Name    string
	Role    string // st, sst, hos, exclude
	Level   int    // 1-5; 0 = unknown
	Status  string // active, away, off-shift, removed, ...
	// Open counts the agent's active assigned tickets.
	Open int
	// LoadRatio is utilisation ÷ fair utilisation (1.0 = fair).
	LoadRatio float64
	// HasFairShare: the agent is in the split (has a fair share). Only
	// then is helpscout_agent_load_ratio exported: a 0 for someone off
	// shift who still holds waiting customers would read as idle.
	HasFairShare bool
}

// StateSource reads the current state. It is declared here, by its user,
// and implemented by internal/team.
type StateSource interface {
	State(ctx context.Context) (State, error)
}

// CollectorOptions tunes a Collector. Zero values take the defaults.
type CollectorOptions struct {
	// Timeout bounds one read of the state (default 5s), well inside a
	// typical scrape timeout so that a slow database shows up as a
	// collector error rather than as a failed scrape.
	Timeout time.Duration
	// MaxStale is how long the last good state is served when a read
	// fails (default 5m; negative = never serve stale state). See Collector.
	MaxStale time.Duration
	// Now is the clock for the scrape duration and the last-success time.
	Now func() time.Time
	// OnError, if set, hears every failed read (main logs it): the error
	// counter says that reads fail, this says why. This package never logs.
	OnError func(error)
	// Ready, if set, says whether the mirror holds the whole queue (the
	// daemon's mirror.HoldsQueue: a sync has completed, in this process
	// or, of the same mailboxes, in an earlier one). Until it first
	// says so no state is exported: the mirror holds only the
	// conversations read so far, and its counts would fill the dashboard
	// and the alerts with a part of the queue taken for the whole. After
	// that the state is exported for good: a later loss of readiness (a
	// full disk) must not end every alert.
	Ready func() (bool, string)
}

// statuses are always exported per mailbox, zero or not, so that a status
// that empties out reads 0 rather than vanishing from the dashboard.
var statuses = []string{"active", "pending", "closed", "spam"}

// Collector computes current state at scrape time from a StateSource.
//
// It also reports on itself: queuewrangler_collector_scrapes_total and
// queuewrangler_collector_scrape_errors_total count reads and failed reads,
// queuewrangler_collector_scrape_duration_seconds is the last read's
// duration and queuewrangler_collector_last_success_timestamp_seconds says
// how fresh the exported state is.
//
// When a read fails, the collector serves the last state it read
// successfully if that is younger than MaxStale, and no state at all
// otherwise. A single busy moment of the database therefore does not reset
// the `for:` clock of every alert, while a database that stays broken does
// not keep reporting old queues as current; the error counter and the
// last-success time make either case visible.
type Collector struct {
	src  StateSource
	opts CollectorOptions

	conversations, unassigned, stuck, oldestWait   *prometheus.Desc
	agentOpen, agentLoadRatio, agentInfo           *prometheus.Desc
	imbalance, jain                                *prometheus.Desc
	scrapes, scrapeErrors, scrapeDuration, lastSuc *prometheus.Desc

	mu        sync.Mutex // guards the fields below; Collect may run concurrently
	last      State
	lastAt    time.Time // zero until the first good read
	nScrapes  float64
	nErrors   float64
	lastTaken float64
	wasReady  bool // Ready has said ready once
}

// NewCollector returns a collector reading from src. Register it on the
// registry made in main.
func NewCollector(src StateSource, opts CollectorOptions) *Collector {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxStale == 0 {
		opts.MaxStale = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := prometheus.NewDesc
	mb := []string{"mailbox_id"}
	ag := []string{"agent_id"}
	return &Collector{
		src:  src,
		opts: opts,
		conversations: d("helpscout_conversations",
			"Mirrored conversations by mailbox and status.", []string{"mailbox_id", "status"}, nil),
		unassigned: d("helpscout_unassigned_conversations",
			"Active conversations without an assignee.", mb, nil),
		stuck: d("helpscout_stuck_conversations",
			"Active, assigned conversations whose customer has waited longer than QW_STUCK_AFTER.", mb, nil),
		oldestWait: d("helpscout_customer_waiting_oldest_seconds",
			"Longest current customer wait on an active conversation; 0 when nobody waits.", mb, nil),
		agentOpen: d("helpscout_agent_open_conversations",
			"The agent's active assigned conversations.", ag, nil),
		agentLoadRatio: d("helpscout_agent_load_ratio",
			"The agent's utilisation divided by the fair utilisation (1.0 = fair share); absent for an agent with no fair share (off shift, away, head of support).", ag, nil),
		agentInfo: d("helpscout_agent_info",
			"Agent facts (always 1): join on agent_id to show names.", []string{"agent_id", "name", "role", "level", "status"}, nil),
		imbalance: d("queuewrangler_load_imbalance_ratio",
			"Maximum utilisation divided by mean utilisation over available agents (1.0 = perfectly even); absent while no agent has a fair share.", nil, nil),
		jain: d("queuewrangler_fairness_jain",
			"Jain's fairness index of available agents' utilisation (1.0 = perfectly even); absent while no agent has a fair share.", nil, nil),
		scrapes: d("queuewrangler_collector_scrapes_total",
			"Reads of the current state by the metrics collector.", nil, nil),
		scrapeErrors: d("queuewrangler_collector_scrape_errors_total",
			"Reads of the current state that failed.", nil, nil),
		scrapeDuration: d("queuewrangler_collector_scrape_duration_seconds",
			"Duration of the last read of the current state.", nil, nil),
		lastSuc: d("queuewrangler_collector_last_success_timestamp_seconds",
			"Unix time of the last successful read of the current state; 0 before the first.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conversations, c.unassigned, c.stuck, c.oldestWait,
		c.agentOpen, c.agentLoadRatio, c.agentInfo, c.imbalance, c.jain,
		c.scrapes, c.scrapeErrors, c.scrapeDuration, c.lastSuc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads the state now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	if !c.readyOnce() {
		c.collectSelf(ch)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	start := c.opts.Now()
	st, err := c.src.State(ctx)
	end := c.opts.Now()
	if err != nil && c.opts.OnError != nil {
		c.opts.OnError(fmt.Errorf("collect current state: %w", err))
	}

	c.mu.Lock()
	c.nScrapes++
	c.lastTaken = end.Sub(start).Seconds()
	serve, ok := st, true
	if err != nil {
		c.nErrors++
		serve = c.last
		ok = !c.lastAt.IsZero() && c.opts.MaxStale > 0 && end.Sub(c.lastAt) <= c.opts.MaxStale
	} else {
		c.last, c.lastAt = st, end
	}
	c.mu.Unlock()

	c.collectSelf(ch)
	if ok {
		c.collectState(ch, serve)
	}
}

// readyOnce reports whether Ready has said ready, now or before.
func (c *Collector) readyOnce() bool {
	if c.opts.Ready == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.wasReady {
		c.wasReady, _ = c.opts.Ready()
	}
	return c.wasReady
}

// collectSelf exports the collector's own figures.
func (c *Collector) collectSelf(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	var lastAt float64
	if !c.lastAt.IsZero() {
		lastAt = float64(c.lastAt.UnixMilli()) / 1e3
	}
	nScrapes, nErrors, taken := c.nScrapes, c.nErrors, c.lastTaken
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.scrapes, prometheus.CounterValue, nScrapes)
	ch <- prometheus.MustNewConstMetric(c.scrapeErrors, prometheus.CounterValue, nErrors)
	ch <- prometheus.MustNewConstMetric(c.scrapeDuration, prometheus.GaugeValue, taken)
	ch <- prometheus.MustNewConstMetric(c.lastSuc, prometheus.GaugeValue, lastAt)
}

func (c *Collector) collectState(ch chan<- prometheus.Metric, st State) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	seenMailbox := map[int64]bool{}
	for _, m := range st.Mailboxes {
		if seenMailbox[m.MailboxID] {
			continue // a duplicate would make the whole scrape fail
		}
		seenMailbox[m.MailboxID] = true
		mb := idLabel(m.MailboxID)
		for _, s := range statuses {
			gauge(c.conversations, float64(m.ByStatus[s]), mb, s)
		}
		others := make([]string, 0, len(m.ByStatus))
		for s := range m.ByStatus {
			if !slices.Contains(statuses, s) {
				others = append(others, s)
			}
		}
		slices.Sort(others)
		for _, s := range others {
			gauge(c.conversations, float64(m.ByStatus[s]), mb, s)
		}
		gauge(c.unassigned, float64(m.Unassigned), mb)
		gauge(c.stuck, float64(m.Stuck), mb)
		gauge(c.oldestWait, max(m.OldestWaitSeconds, 0), mb)
	}
	seenAgent := map[int64]bool{}
	anyShare := false
	for _, a := range st.Agents {
		if seenAgent[a.AgentID] {
			continue
		}
		seenAgent[a.AgentID] = true
		id := idLabel(a.AgentID)
		gauge(c.agentOpen, float64(a.Open), id)
		if a.HasFairShare {
			gauge(c.agentLoadRatio, a.LoadRatio, id)
			anyShare = true
		}
		level := ""
		if a.Level > 0 {
			level = strconv.Itoa(a.Level)
		}
		gauge(c.agentInfo, 1, id, safeName(a), a.Role, level, a.Status)
	}
	// With nobody in the split (the whole front line off shift or away)
	// fairness is undefined, and the 1.0 the balancer reports would draw
	// a perfectly even night while customers wait on people who are not
	// there: export nothing, as for an agent without a fair share.
	if anyShare {
		gauge(c.imbalance, st.Imbalance)
		gauge(c.jain, st.Jain)
	}
}

// safeName keeps email addresses out of labels, whatever the source did.
func safeName(a AgentState) string {
	if a.Name == "" || strings.Contains(a.Name, "@") {
		return fmt.Sprintf("agent %d", a.AgentID)
	}
	return a.Name
}

func idLabel(v int64) string { return strconv.FormatInt(v, 10) }
