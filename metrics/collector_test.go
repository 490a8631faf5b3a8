package metrics

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// sourceFunc adapts a function to StateSource.
type sourceFunc func(ctx context.Context) (State, error)

func (f sourceFunc) State(ctx context.Context) (State, error) { return f(ctx) }

// steppingClock returns times 250 ms apart, so that every read of the state
// takes exactly 250 ms.
type steppingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *steppingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.t
	c.t = c.t.Add(250 * time.Millisecond)
	return now
}

// scrapeStart is the clock's first reading: a whole second, so that the
// last-success time prints exactly.
var scrapeStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func sampleState() State {
	return State{
		Mailboxes: []MailboxState{
			{MailboxID: 101, ByStatus: map[string]int{"active": 7, "pending": 2, "closed": 40, "spam": 1},
				Unassigned: 3, Stuck: 1, OldestWaitSeconds: 5400},
			{MailboxID: 102, ByStatus: map[string]int{"closed": 5}},
		},
		Agents: []AgentState{
			{AgentID: 7, Name: "Ana Lima", Role: "st", Level: 1, Status: "active", Open: 4, LoadRatio: 1.25, HasFairShare: true},
			{AgentID: 8, Name: "ben@example.com", Role: "sst", Level: 3, Status: "away", Open: 0, LoadRatio: 0},
			{AgentID: 9, Name: "a removed user", Role: "st", Status: "removed", Open: 2},
		},
		Imbalance: 1.5,
		Jain:      0.8,
	}
}

// collectorExposition is the whole output of a collector serving
// sampleState after one successful read at scrapeStart.
const collectorExposition = `
# HELP helpscout_agent_info Agent facts (always 1): join on agent_id to show names.
# TYPE helpscout_agent_info gauge
helpscout_agent_info{agent_id="7",level="1",name="Ana Lima",role="st",status="active"} 1
helpscout_agent_info{agent_id="8",level="3",name="agent 8",role="sst",status="away"} 1
helpscout_agent_info{agent_id="9",level="",name="a removed user",role="st",status="removed"} 1
# HELP helpscout_agent_load_ratio The agent's utilisation divided by the fair utilisation (1.0 = fair share); absent for an agent with no fair share (off shift, away, head of support).
# TYPE helpscout_agent_load_ratio gauge
helpscout_agent_load_ratio{agent_id="7"} 1.25
# HELP helpscout_agent_open_conversations The agent's active assigned conversations.
# TYPE helpscout_agent_open_conversations gauge
helpscout_agent_open_conversations{agent_id="7"} 4
helpscout_agent_open_conversations{agent_id="8"} 0
helpscout_agent_open_conversations{agent_id="9"} 2
# HELP helpscout_conversations Mirrored conversations by mailbox and status.
# TYPE helpscout_conversations gauge
helpscout_conversations{mailbox_id="101",status="active"} 7
helpscout_conversations{mailbox_id="101",status="closed"} 40
helpscout_conversations{mailbox_id="101",status="pending"} 2
helpscout_conversations{mailbox_id="101",status="spam"} 1
helpscout_conversations{mailbox_id="102",status="active"} 0
helpscout_conversations{mailbox_id="102",status="closed"} 5
helpscout_conversations{mailbox_id="102",status="pending"} 0
helpscout_conversations{mailbox_id="102",status="spam"} 0
# HELP helpscout_customer_waiting_oldest_seconds Longest current customer wait on an active conversation; 0 when nobody waits.
# TYPE helpscout_customer_waiting_oldest_seconds gauge
helpscout_customer_waiting_oldest_seconds{mailbox_id="101"} 5400
helpscout_customer_waiting_oldest_seconds{mailbox_id="102"} 0
# HELP helpscout_stuck_conversations Active, assigned conversations whose customer has waited longer than QW_STUCK_AFTER.
# TYPE helpscout_stuck_conversations gauge
helpscout_stuck_conversations{mailbox_id="101"} 1
helpscout_stuck_conversations{mailbox_id="102"} 0
# HELP helpscout_unassigned_conversations Active conversations without an assignee.
# TYPE helpscout_unassigned_conversations gauge
helpscout_unassigned_conversations{mailbox_id="101"} 3
helpscout_unassigned_conversations{mailbox_id="102"} 0
# HELP queuewrangler_fairness_jain Jain's fairness index of available agents' utilisation (1.0 = perfectly even); absent while no agent has a fair share.
# TYPE queuewrangler_fairness_jain gauge
queuewrangler_fairness_jain 0.8
# HELP queuewrangler_load_imbalance_ratio Maximum utilisation divided by mean utilisation over available agents (1.0 = perfectly even); absent while no agent has a fair share.
# TYPE queuewrangler_load_imbalance_ratio gauge
queuewrangler_load_imbalance_ratio 1.5
`

// selfExposition is the collector's report on itself after reads at
// scrapeStart; lastSuccess is the exposition value of the last success time.
func selfExposition(scrapes, errs int, lastSuccess string) string {
	return `
# HELP queuewrangler_collector_last_success_timestamp_seconds Unix time of the last successful read of the current state; 0 before the first.
# TYPE queuewrangler_collector_last_success_timestamp_seconds gauge
queuewrangler_collector_last_success_timestamp_seconds ` + lastSuccess + `
# HELP queuewrangler_collector_scrape_duration_seconds Duration of the last read of the current state.
# TYPE queuewrangler_collector_scrape_duration_seconds gauge
queuewrangler_collector_scrape_duration_seconds 0.25
# HELP queuewrangler_collector_scrape_errors_total Reads of the current state that failed.
# TYPE queuewrangler_collector_scrape_errors_total counter
queuewrangler_collector_scrape_errors_total ` + itoa(errs) + `
# HELP queuewrangler_collector_scrapes_total Reads of the current state by the metrics collector.
# TYPE queuewrangler_collector_scrapes_total counter
queuewrangler_collector_scrapes_total ` + itoa(scrapes) + `
`
}

func itoa(n int) string { return idLabel(int64(n)) }

func TestCollectorExposition(t *testing.T) {
	clock := &steppingClock{t: scrapeStart}
	c := NewCollector(sourceFunc(func(context.Context) (State, error) { return sampleState(), nil }),
		CollectorOptions{Now: clock.Now})
	// The last success is the end of the read: start + 250 ms.
	want := collectorExposition + selfExposition(1, 0, "1.77244200025e+09")
	if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// TestCollectorOnError pins down what a failed read exports: the error
// counter always, the last good state while it is younger than MaxStale,
// nothing of the state otherwise.
func TestCollectorOnError(t *testing.T) {
	boom := errors.New("database is locked")
	tests := []struct {
		name      string
		maxStale  time.Duration
		reads     []error // one per scrape; the last is compared
		wantState bool
		wantErrs  int
		wantLast  string
	}{
		{name: "never succeeded", reads: []error{boom}, wantErrs: 1, wantLast: "0"},
		{name: "recent success served", reads: []error{nil, boom}, wantState: true, wantErrs: 1, wantLast: "1.77244200025e+09"},
		{name: "success too old", maxStale: 400 * time.Millisecond, reads: []error{nil, boom}, wantErrs: 1, wantLast: "1.77244200025e+09"},
		{name: "stale state disabled", maxStale: -1, reads: []error{nil, boom}, wantErrs: 1, wantLast: "1.77244200025e+09"},
		{name: "recovers", reads: []error{boom, nil}, wantState: true, wantErrs: 1, wantLast: "1.77244200075e+09"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &steppingClock{t: scrapeStart}
			var mu sync.Mutex
			n := 0
			src := sourceFunc(func(context.Context) (State, error) {
				mu.Lock()
				defer mu.Unlock()
				err := tt.reads[n]
				n++
				if err != nil {
					return State{}, err
				}
				return sampleState(), nil
			})
			var heard []error
			c := NewCollector(src, CollectorOptions{Now: clock.Now, MaxStale: tt.maxStale,
				OnError: func(err error) { heard = append(heard, err) }})
			for range len(tt.reads) - 1 {
				testutil.CollectAndCount(c)
			}
			want := selfExposition(len(tt.reads), tt.wantErrs, tt.wantLast)
			if tt.wantState {
				want = collectorExposition + want
			}
			if err := testutil.CollectAndCompare(c, strings.NewReader(want)); err != nil {
				t.Error(err)
			}
			if len(heard) != tt.wantErrs {
				t.Fatalf("OnError heard %d errors, want %d", len(heard), tt.wantErrs)
			}
			for _, err := range heard {
				if !errors.Is(err, boom) {
					t.Errorf("OnError heard %v, want it to wrap %v", err, boom)
				}
			}
		})
	}
}

func TestCollectorPassesTimeout(t *testing.T) {
	var got time.Duration
	src := sourceFunc(func(ctx context.Context) (State, error) {
		dl, ok := ctx.Deadline()
		if !ok {
			return State{}, errors.New("no deadline")
		}
		got = time.Until(dl)
		return State{}, nil
	})
	c := NewCollector(src, CollectorOptions{Timeout: time.Minute})
	testutil.CollectAndCount(c)
	if got <= 50*time.Second || got > time.Minute {
		t.Errorf("deadline in %v, want about 1m", got)
	}
}

// TestInstrumentsExposition covers the event instruments of New: one child
// of each vector, so that every family shows its HELP, TYPE and labels.
func TestInstrumentsExposition(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewInstruments(reg)
	observeOneOfEach(m)
	m.Syncs.Inc()
	m.SyncFailures.Add(0)
	m.SyncLastSuccess.Set(1772442000)

	const want = `
# HELP helpscout_first_response_seconds Time from the creation of a customer-started conversation to the first published agent reply, observed once per conversation.
# TYPE helpscout_first_response_seconds histogram
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="60"} 0
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="300"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="900"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="1800"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="3600"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="7200"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="14400"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="28800"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="43200"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="86400"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="172800"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="259200"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="432000"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="604800"} 1
helpscout_first_response_seconds_bucket{agent_id="7",mailbox_id="101",le="+Inf"} 1
helpscout_first_response_seconds_sum{agent_id="7",mailbox_id="101"} 120
helpscout_first_response_seconds_count{agent_id="7",mailbox_id="101"} 1
# HELP helpscout_resolution_seconds Time from creation to the first close that follows at least one agent reply, observed once per conversation.
# TYPE helpscout_resolution_seconds histogram
helpscout_resolution_seconds_bucket{mailbox_id="101",le="60"} 0
helpscout_resolution_seconds_bucket{mailbox_id="101",le="300"} 0
helpscout_resolution_seconds_bucket{mailbox_id="101",le="900"} 0
helpscout_resolution_seconds_bucket{mailbox_id="101",le="1800"} 0
helpscout_resolution_seconds_bucket{mailbox_id="101",le="3600"} 0
helpscout_resolution_seconds_bucket{mailbox_id="101",le="7200"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="14400"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="28800"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="43200"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="86400"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="172800"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="259200"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="432000"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="604800"} 1
helpscout_resolution_seconds_bucket{mailbox_id="101",le="+Inf"} 1
helpscout_resolution_seconds_sum{mailbox_id="101"} 7200
helpscout_resolution_seconds_count{mailbox_id="101"} 1
# HELP queuewrangler_checkpoint_failures_total Checkpoints of the database's -wal file after a poll that failed; while they fail, the file grows by every poll's writes.
# TYPE queuewrangler_checkpoint_failures_total counter
queuewrangler_checkpoint_failures_total 0
# HELP queuewrangler_helpscout_rate_limit_remaining Requests left in Help Scout's current rate-limit minute, from X-RateLimit-Remaining-Minute; absent until a response has carried that header.
# TYPE queuewrangler_helpscout_rate_limit_remaining gauge
queuewrangler_helpscout_rate_limit_remaining 180
# HELP queuewrangler_helpscout_request_duration_seconds Help Scout API request latency.
# TYPE queuewrangler_helpscout_request_duration_seconds histogram
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="0.025"} 0
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="0.05"} 0
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="0.1"} 0
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="0.25"} 1
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="0.5"} 1
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="1"} 1
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="2.5"} 1
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="5"} 1
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="10"} 1
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="30"} 1
queuewrangler_helpscout_request_duration_seconds_bucket{method="GET",le="+Inf"} 1
queuewrangler_helpscout_request_duration_seconds_sum{method="GET"} 0.2
queuewrangler_helpscout_request_duration_seconds_count{method="GET"} 1
# HELP queuewrangler_helpscout_requests_total Help Scout API requests by method and status code (code is "error" when no response arrived).
# TYPE queuewrangler_helpscout_requests_total counter
queuewrangler_helpscout_requests_total{code="200",method="GET"} 1
# HELP queuewrangler_notifications_total Slack messages by channel (proposals, escalation, digest) and final result (sent, rate_limited, invalid_payload, no_service, failed, dropped).
# TYPE queuewrangler_notifications_total counter
queuewrangler_notifications_total{channel="digest",result="sent"} 1
# HELP queuewrangler_reassignments_total Moves by reason, outcome (proposed, applied, approved, rejected, stale, failed) and kind (handout, reassignment).
# TYPE queuewrangler_reassignments_total counter
queuewrangler_reassignments_total{kind="reassignment",outcome="proposed",reason="stuck"} 1
# HELP queuewrangler_sync_failures_total Sync attempts that failed.
# TYPE queuewrangler_sync_failures_total counter
queuewrangler_sync_failures_total 0
# HELP queuewrangler_sync_last_success_timestamp_seconds Unix time of the last successful sync.
# TYPE queuewrangler_sync_last_success_timestamp_seconds gauge
queuewrangler_sync_last_success_timestamp_seconds 1.772442e+09
# HELP queuewrangler_syncs_total Sync attempts with Help Scout.
# TYPE queuewrangler_syncs_total counter
queuewrangler_syncs_total 1
# HELP queuewrangler_webhook_events_total Webhook deliveries by event and result.
# TYPE queuewrangler_webhook_events_total counter
queuewrangler_webhook_events_total{event="convo.created",result="stored"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}

// contract is the README's Metrics section plus the collector's report on itself:
// every name with its type and label names.
var contract = map[string]struct {
	typ    string
	labels []string
}{
	"helpscout_first_response_seconds":                       {"histogram", []string{"agent_id", "mailbox_id"}},
	"helpscout_resolution_seconds":                           {"histogram", []string{"mailbox_id"}},
	"helpscout_conversations":                                {"gauge", []string{"mailbox_id", "status"}},
	"helpscout_unassigned_conversations":                     {"gauge", []string{"mailbox_id"}},
	"helpscout_stuck_conversations":                          {"gauge", []string{"mailbox_id"}},
	"helpscout_customer_waiting_oldest_seconds":              {"gauge", []string{"mailbox_id"}},
	"helpscout_agent_open_conversations":                     {"gauge", []string{"agent_id"}},
	"helpscout_agent_load_ratio":                             {"gauge", []string{"agent_id"}},
	"helpscout_agent_info":                                   {"gauge", []string{"agent_id", "level", "name", "role", "status"}},
	"queuewrangler_load_imbalance_ratio":                     {"gauge", nil},
	"queuewrangler_fairness_jain":                            {"gauge", nil},
	"queuewrangler_reassignments_total":                      {"counter", []string{"kind", "outcome", "reason"}},
	"queuewrangler_webhook_events_total":                     {"counter", []string{"event", "result"}},
	"queuewrangler_notifications_total":                      {"counter", []string{"channel", "result"}},
	"queuewrangler_helpscout_requests_total":                 {"counter", []string{"code", "method"}},
	"queuewrangler_helpscout_request_duration_seconds":       {"histogram", []string{"method"}},
	"queuewrangler_helpscout_rate_limit_remaining":           {"gauge", nil},
	"queuewrangler_syncs_total":                              {"counter", nil},
	"queuewrangler_sync_failures_total":                      {"counter", nil},
	"queuewrangler_sync_last_success_timestamp_seconds":      {"gauge", nil},
	"queuewrangler_checkpoint_failures_total":                {"counter", nil},
	"queuewrangler_collector_scrapes_total":                  {"counter", nil},
	"queuewrangler_collector_scrape_errors_total":            {"counter", nil},
	"queuewrangler_collector_scrape_duration_seconds":        {"gauge", nil},
	"queuewrangler_collector_last_success_timestamp_seconds": {"gauge", nil},
}

// allowedLabels are the label names a queuewrangler metric may carry: each
// takes a bounded set of values, none a conversation id or an email.
var allowedLabels = map[string]bool{
	"mailbox_id": true, "agent_id": true, "status": true, "name": true, "role": true, "level": true,
	"reason": true, "outcome": true, "kind": true, "event": true, "result": true, "channel": true, "method": true, "code": true, "le": true,
}

// observeOneOfEach gives every vector of m one child and sets the gauges
// that wait for a first report, so that each family shows its HELP, TYPE
// and labels.
func observeOneOfEach(m *Instruments) {
	m.HelpScoutRateRemaining.Set(180)
	m.FirstResponse.WithLabelValues("101", "7").Observe(120)
	m.Resolution.WithLabelValues("101").Observe(7200)
	m.Reassignments.WithLabelValues("stuck", "proposed", KindReassignment).Inc()
	m.WebhookEvents.WithLabelValues("convo.created", "stored").Inc()
	m.Notifications.WithLabelValues("digest", "sent").Inc()
	m.HelpScoutRequests.WithLabelValues("GET", "200").Inc()
	m.HelpScoutRequestDuration.WithLabelValues("GET").Observe(0.2)
}

// fullRegistry registers everything the daemon registers from this package,
// with one child in every vector.
func fullRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m := NewInstruments(reg)
	observeOneOfEach(m)
	reg.MustRegister(NewCollector(sourceFunc(func(context.Context) (State, error) { return sampleState(), nil }), CollectorOptions{}))
	return reg
}

// TestCatalogMatchesContract checks every family's name, type and label
// names against the README's Metrics section, in both directions.
func TestCatalogMatchesContract(t *testing.T) {
	mfs, err := fullRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		name := mf.GetName()
		seen[name] = true
		want, ok := contract[name]
		if !ok {
			t.Errorf("%s is not in the contract", name)
			continue
		}
		if got := strings.ToLower(mf.GetType().String()); got != want.typ {
			t.Errorf("%s has type %s, want %s", name, got, want.typ)
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, lp := range m.GetLabel() {
				got = append(got, lp.GetName())
			}
			if strings.Join(got, ",") != strings.Join(want.labels, ",") {
				t.Errorf("%s has labels %v, want %v", name, got, want.labels)
			}
		}
	}
	for name := range contract {
		if !seen[name] {
			t.Errorf("%s is missing from the exposition", name)
		}
	}
}

// TestLabelsCannotCarryConversationsOrEmails checks every label name of
// every family against the allow-list, and every label value against an
// email address.
func TestLabelsCannotCarryConversationsOrEmails(t *testing.T) {
	mfs, err := fullRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !allowedLabels[lp.GetName()] {
					t.Errorf("%s has label %q outside the allow-list", mf.GetName(), lp.GetName())
				}
				if strings.Contains(lp.GetValue(), "@") {
					t.Errorf("%s{%s=%q} carries an email", mf.GetName(), lp.GetName(), lp.GetValue())
				}
			}
		}
	}
}

// TestLint runs client_golang's linter (promlint) over every family.
func TestLint(t *testing.T) {
	problems, err := testutil.GatherAndLint(fullRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestCollectorNoFairnessWithNobodyToShare: with the whole front line off
// shift or away nobody has a fair share and fairness is undefined; the
// balancer reports 1.0, which drew a perfectly even night on the dashboard
// while customers waited on people who were not there. Neither gauge is
// exported then; the rest of the state is.
func TestCollectorNoFairnessWithNobodyToShare(t *testing.T) {
	night := sampleState()
	for i := range night.Agents {
		night.Agents[i].HasFairShare = false
		night.Agents[i].Status = "off-shift"
	}
	night.Imbalance, night.Jain = 1, 1
	c := NewCollector(sourceFunc(func(context.Context) (State, error) { return night, nil }), CollectorOptions{})
	for name, want := range map[string]int{
		"queuewrangler_load_imbalance_ratio": 0, "queuewrangler_fairness_jain": 0,
		"helpscout_agent_open_conversations": 3, "helpscout_stuck_conversations": 2,
	} {
		if n := testutil.CollectAndCount(c, name); n != want {
			t.Errorf("%s: %d series, want %d", name, n, want)
		}
	}
}

// TestCollectorWaitsForTheFirstSync: until the daemon has first been ready,
// the mirror holds only the conversations read so far, and exporting their
// counts would show a part of the queue as the whole (and could fire the
// stuck-tickets alert on it). The collector exports only its own figures
// then, without reading the state; once ready it exports the state for
// good, so that a later loss of readiness (a full disk) ends no alert.
func TestCollectorWaitsForTheFirstSync(t *testing.T) {
	var ready atomic.Bool
	reads := 0
	c := NewCollector(sourceFunc(func(context.Context) (State, error) { reads++; return sampleState(), nil }),
		CollectorOptions{Ready: func() (bool, string) { return ready.Load(), "first sync: 75 of 2,000 conversations" }})
	count := func() map[string]int {
		return map[string]int{
			"helpscout_conversations":               testutil.CollectAndCount(c, "helpscout_conversations"),
			"helpscout_stuck_conversations":         testutil.CollectAndCount(c, "helpscout_stuck_conversations"),
			"queuewrangler_load_imbalance_ratio":    testutil.CollectAndCount(c, "queuewrangler_load_imbalance_ratio"),
			"queuewrangler_collector_scrapes_total": testutil.CollectAndCount(c, "queuewrangler_collector_scrapes_total"),
		}
	}
	none := map[string]int{"helpscout_conversations": 0, "helpscout_stuck_conversations": 0,
		"queuewrangler_load_imbalance_ratio": 0, "queuewrangler_collector_scrapes_total": 1}
	state := map[string]int{"helpscout_conversations": 8, "helpscout_stuck_conversations": 2,
		"queuewrangler_load_imbalance_ratio": 1, "queuewrangler_collector_scrapes_total": 1}

	if diff := cmp.Diff(none, count()); diff != "" {
		t.Errorf("during the first sync (-want +got):\n%s", diff)
	}
	if reads != 0 {
		t.Errorf("the state was read %d times before the daemon was ready", reads)
	}
	ready.Store(true)
	if diff := cmp.Diff(state, count()); diff != "" {
		t.Errorf("once ready (-want +got):\n%s", diff)
	}
	ready.Store(false)
	if diff := cmp.Diff(state, count()); diff != "" {
		t.Errorf("ready once, then not (-want +got):\n%s", diff)
	}
}
