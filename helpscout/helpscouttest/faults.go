package helpscouttest

import (
	"maps"
	"slices"
	"time"
)

// Faults are injected failures, switchable at runtime with SetFaults. They
// apply to API requests that passed the bearer check (not to the token
// endpoint). Random choices come from a generator seeded with Options.Seed,
// so a single-goroutine client sees the same faults on every run.
type Faults struct {
	// ErrorProbability answers that share of requests with a 5xx drawn from
	// ErrorStatuses (default 500, 502, 503) in the vnd.error shape.
	ErrorProbability float64
	ErrorStatuses    []int
	// FailNext answers the next FailNext requests with FailStatus (default
	// 503), deterministically, then stops.
	FailNext   int
	FailStatus int
	// StormFor starts a 429 storm when SetFaults is called: for that long
	// every request gets 429 with X-RateLimit-Retry-After counting down to
	// the storm's end.
	StormFor time.Duration
	// Delay holds that share of responses (every response when
	// DelayProbability is 0) for Delay before answering.
	Delay            time.Duration
	DelayProbability float64
	// TruncateProbability sends only the first half of that share of
	// response bodies (Content-Length announces the whole) and then drops
	// the connection (by panicking with http.ErrAbortHandler, so the Server
	// must be served by net/http).
	TruncateProbability float64

	// Webhook chaos: drop an event, deliver it twice, or hold it back and
	// deliver it after the next one (reorder).
	WebhookDropProbability      float64
	WebhookDuplicateProbability float64
	WebhookReorderProbability   float64
}

// SetFaults replaces the fault settings. A non-zero StormFor starts a new
// storm now (wall clock); a zero one ends any storm in progress.
func (s *Server) SetFaults(f Faults) {
	f.ErrorStatuses = slices.Clone(f.ErrorStatuses)
	s.ctl.Lock()
	s.faults = f
	s.failNext = f.FailNext
	s.storm = time.Time{}
	if f.StormFor > 0 {
		s.storm = s.wall().Add(f.StormFor)
	}
	s.ctl.Unlock()
	s.hooks.setChaos(f.WebhookDropProbability, f.WebhookDuplicateProbability, f.WebhookReorderProbability)
}

// Stats counts what the fake saw on the wire. State API calls are not
// requests and never appear here.
type Stats struct {
	// Requests counts arrivals by route ("GET /v2/conversations/{id}"; see
	// the Route constants), including ones answered 401, 429 or a fault.
	// Unmatched paths count as "METHOD (unmatched)".
	Requests map[string]int
	// RateLimitViolations counts requests that arrived while the minute's
	// budget was exhausted (answered 429).
	RateLimitViolations int
	StormRejections     int // 429s from a storm
	InjectedErrors      int // 5xx from ErrorProbability or FailNext
	Truncated           int
	Delayed             int
	Unauthorized        int // 401s for a missing, unknown or expired token
	TokensIssued        int
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	st := s.stats
	st.Requests = maps.Clone(s.stats.Requests)
	return st
}

// ResetStats zeroes the counters and forgets recorded PATCHes, notes and
// routing PUTs.
func (s *Server) ResetStats() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.stats = Stats{Requests: map[string]int{}}
	s.patches = nil
	s.notes = nil
	s.routingPuts = nil
}

// Patches returns the PATCH requests received, in arrival order.
func (s *Server) Patches() []PatchRecord {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	out := slices.Clone(s.patches)
	for i := range out {
		out[i].Value = slices.Clone(out[i].Value)
	}
	return out
}

// NotesReceived returns the note creations received, in arrival order.
func (s *Server) NotesReceived() []NoteRecord {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	return slices.Clone(s.notes)
}

// RateLimitRemaining reports the budget left in the current minute (-1 when
// no limit is configured). It does not consume budget.
func (s *Server) RateLimitRemaining() int {
	if s.opts.RateLimitPerMinute <= 0 {
		return -1
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.rollWindow(s.wall())
	return s.opts.RateLimitPerMinute - s.used
}

// SpendRateBudget spends cost units of the current minute's budget as
// another integration on the account would: the next responses report that
// much less in X-RateLimit-Remaining-Minute. It does nothing when no limit
// is configured; the minute's budget cannot go below zero.
func (s *Server) SpendRateBudget(cost int) {
	if s.opts.RateLimitPerMinute <= 0 {
		return
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.rollWindow(s.wall())
	s.used = min(s.used+cost, s.opts.RateLimitPerMinute)
}
