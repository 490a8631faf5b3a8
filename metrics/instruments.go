package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// NewRegistry returns a new registry holding the Go runtime's and the
// process's standard collectors: the one registry main makes and passes to
// NewInstruments, the collector and /metrics.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// SupportTimeBuckets spans one minute to one week, the range in which first
// response and resolution times of a support team fall.
var SupportTimeBuckets = []float64{
	60, 300, 900, 1800, 3600, 2 * 3600, 4 * 3600, 8 * 3600, 12 * 3600,
	24 * 3600, 2 * 24 * 3600, 3 * 24 * 3600, 5 * 24 * 3600, 7 * 24 * 3600,
}

// The support-time histograms' names and help texts, shared with
// internal/backfill, which writes their history from the mirror under the
// same names, labels and buckets.
const (
	FirstResponseName       = "helpscout_first_response_seconds"
	ResolutionName          = "helpscout_resolution_seconds"
	FirstResponseOfficeName = "helpscout_first_response_office_seconds"
	ResolutionOfficeName    = "helpscout_resolution_office_seconds"

	FirstResponseHelp       = "Time from the creation of a customer-started conversation to the first published agent reply, observed once per conversation."
	ResolutionHelp          = "Time from creation to the first close that follows at least one agent reply, observed once per conversation."
	FirstResponseOfficeHelp = "helpscout_first_response_seconds counting only the time inside office hours (QW_OFFICE_HOURS)."
	ResolutionOfficeHelp    = "helpscout_resolution_seconds counting only the time inside office hours (QW_OFFICE_HOURS)."
)

// Instruments holds the event instruments: counters and histograms updated as
// things happen. Current state is computed at scrape time by Collector.
type Instruments struct {
	FirstResponse *prometheus.HistogramVec // mailbox_id, agent_id
	Resolution    *prometheus.HistogramVec // mailbox_id

	// The office-hours twins of FirstResponse and Resolution: nil until
	// EnableOfficeHours, so that they are exported only when
	// QW_OFFICE_HOURS is set.
	FirstResponseOffice *prometheus.HistogramVec // mailbox_id, agent_id
	ResolutionOffice    *prometheus.HistogramVec // mailbox_id

	// Reassignments counts moves by reason, outcome and kind: KindHandout
	// (a ticket nobody owned given to someone, the work routing does) or
	// KindReassignment (taken from one person for another, the churn
	// agents feel). design.md section 8 keeps the two apart everywhere.
	Reassignments *prometheus.CounterVec // reason, outcome, kind
	WebhookEvents *prometheus.CounterVec // event, result
	Notifications *prometheus.CounterVec // channel, result

	HelpScoutRequests        *prometheus.CounterVec   // method, code
	HelpScoutRequestDuration *prometheus.HistogramVec // method
	HelpScoutRateRemaining   *ReportedGauge

	Syncs           prometheus.Counter
	SyncFailures    prometheus.Counter
	SyncLastSuccess prometheus.Gauge

	// CheckpointFailures counts the checkpoints after a poll that failed:
	// the log says only the first of a run, and meanwhile the -wal file
	// keeps every poll's writes.
	CheckpointFailures prometheus.Counter
}

// The values of the kind label of queuewrangler_reassignments_total.
const (
	KindHandout      = "handout"
	KindReassignment = "reassignment"
)

// MoveOutcomes are the values of the outcome label of
// queuewrangler_reassignments_total.
var MoveOutcomes = []string{"proposed", "applied", "approved", "rejected", "stale", "failed"}

// StartMoves exports queuewrangler_reassignments_total at 0 for reason and
// kind under every outcome. A counter series born at its first increment
// reads 1 in its first sample, and increase() and rate() miss that move:
// the dashboard's moves panel would show nothing for the first stuck
// ticket moved on a new install while the page lists it.
func (m *Instruments) StartMoves(reason, kind string) {
	for _, outcome := range MoveOutcomes {
		m.Reassignments.WithLabelValues(reason, outcome, kind)
	}
}

// MoveKind is the kind label of a move: KindHandout when the ticket had no
// owner (balancer.Move.Handout), KindReassignment otherwise.
func MoveKind(handout bool) string {
	if handout {
		return KindHandout
	}
	return KindReassignment
}

// NewInstruments creates the instruments and registers them on reg.
func NewInstruments(reg prometheus.Registerer) *Instruments {
	m := &Instruments{
		FirstResponse: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    FirstResponseName,
			Help:    FirstResponseHelp,
			Buckets: SupportTimeBuckets,
		}, []string{"mailbox_id", "agent_id"}),
		Resolution: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    ResolutionName,
			Help:    ResolutionHelp,
			Buckets: SupportTimeBuckets,
		}, []string{"mailbox_id"}),
		Reassignments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "queuewrangler_reassignments_total",
			Help: "Moves by reason, outcome (proposed, applied, approved, rejected, stale, failed) and kind (handout, reassignment).",
		}, []string{"reason", "outcome", "kind"}),
		WebhookEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "queuewrangler_webhook_events_total",
			Help: "Webhook deliveries by event and result.",
		}, []string{"event", "result"}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "queuewrangler_notifications_total",
			Help: "Slack messages by channel (proposals, escalation, digest) and final result (sent, rate_limited, invalid_payload, no_service, failed, dropped).",
		}, []string{"channel", "result"}),
		HelpScoutRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "queuewrangler_helpscout_requests_total",
			Help: "Help Scout API requests by method and status code (code is \"error\" when no response arrived).",
		}, []string{"method", "code"}),
		HelpScoutRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "queuewrangler_helpscout_request_duration_seconds",
			Help:    "Help Scout API request latency.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method"}),
		HelpScoutRateRemaining: &ReportedGauge{gauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "queuewrangler_helpscout_rate_limit_remaining",
			Help: "Requests left in Help Scout's current rate-limit minute, from X-RateLimit-Remaining-Minute; absent until a response has carried that header.",
		})},
		Syncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "queuewrangler_syncs_total",
			Help: "Sync attempts with Help Scout.",
		}),
		SyncFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "queuewrangler_sync_failures_total",
			Help: "Sync attempts that failed.",
		}),
		SyncLastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "queuewrangler_sync_last_success_timestamp_seconds",
			Help: "Unix time of the last successful sync.",
		}),
		CheckpointFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "queuewrangler_checkpoint_failures_total",
			Help: "Checkpoints of the database's -wal file after a poll that failed; while they fail, the file grows by every poll's writes.",
		}),
	}
	reg.MustRegister(m.FirstResponse, m.Resolution, m.Reassignments, m.WebhookEvents, m.Notifications,
		m.HelpScoutRequests, m.HelpScoutRequestDuration, m.HelpScoutRateRemaining,
		m.Syncs, m.SyncFailures, m.SyncLastSuccess, m.CheckpointFailures)
	return m
}

// EnableOfficeHours creates and registers on reg the office-hours
// histograms, and a gauge holding target, the office-hours first response
// target (QW_OFFICE_FIRST_RESPONSE_TARGET): the shipped alert compares the
// p90 with it, so that the target is configured in one place and the rule
// file stays the same for every team.
func (m *Instruments) EnableOfficeHours(reg prometheus.Registerer, target time.Duration) {
	m.FirstResponseOffice = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    FirstResponseOfficeName,
		Help:    FirstResponseOfficeHelp,
		Buckets: SupportTimeBuckets,
	}, []string{"mailbox_id", "agent_id"})
	m.ResolutionOffice = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    ResolutionOfficeName,
		Help:    ResolutionOfficeHelp,
		Buckets: SupportTimeBuckets,
	}, []string{"mailbox_id"})
	targetGauge := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "queuewrangler_office_first_response_target_seconds",
		Help: "The office-hours first response target (QW_OFFICE_FIRST_RESPONSE_TARGET) that the HelpScoutOfficeFirstResponseSlow alert compares the p90 with.",
	})
	targetGauge.Set(target.Seconds())
	reg.MustRegister(m.FirstResponseOffice, m.ResolutionOffice, targetGauge)
}

// ReportedGauge is a gauge that is exported only once it has been set. A
// figure that only a response header reports means nothing before the
// first such header: exported from the start it would read 0, which for
// the rate budget says "nothing left" (and stays so against a server that
// never sends it, like the demo's fake without a limit).
type ReportedGauge struct {
	gauge    prometheus.Gauge
	reported atomic.Bool
}

// Set sets the gauge and from then on exports it.
func (g *ReportedGauge) Set(v float64) {
	g.gauge.Set(v)
	g.reported.Store(true)
}

// Describe implements prometheus.Collector.
func (g *ReportedGauge) Describe(ch chan<- *prometheus.Desc) { g.gauge.Describe(ch) }

// Collect implements prometheus.Collector: nothing until the first Set.
func (g *ReportedGauge) Collect(ch chan<- prometheus.Metric) {
	if g.reported.Load() {
		g.gauge.Collect(ch)
	}
}
