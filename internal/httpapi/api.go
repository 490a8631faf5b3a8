package httpapi

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// Team reads the people and their loads: one team.Agent each, which
// /api/v1/agents writes as it is (its JSON names are the API's keys) and
// the page renders.
type Team interface {
	Agents(ctx context.Context) ([]team.Agent, team.Figures, error)
}

// Routing says how new conversations get their first owner (QW_ROUTING)
// and, in steer mode, who is in each inbox's rotation and why.
type Routing interface {
	Routing(ctx context.Context) team.Routing
}

// Queue reads conversations and proposals from the mirror.
type Queue interface {
	OpenConversations(ctx context.Context, f store.OpenFilter) ([]store.OpenConversation, error)
	// CountOpenConversations counts what OpenConversations would list
	// without its limit.
	CountOpenConversations(ctx context.Context, f store.OpenFilter) (int, error)
	ListProposals(ctx context.Context, f store.ProposalFilter) ([]store.Proposal, error)
}

// Decider acts on proposals and plans on demand.
type Decider interface {
	Approve(ctx context.Context, id int64, by string) (store.Proposal, error)
	Reject(ctx context.Context, id int64, by string) (store.Proposal, error)
	PlanNow(ctx context.Context) ([]store.Proposal, error)
}

// APIOptions wires the JSON API.
type APIOptions struct {
	Team    Team
	Queue   Queue
	Decider Decider
	// Routing, when set, adds the routing mode and the steered rotations
	// to /api/v1/agents under "routing".
	Routing Routing
	// AdminToken guards the write endpoints; empty makes them answer 403.
	AdminToken string
	StuckAfter time.Duration
	// Mode is QW_MODE, for what happens next to a stuck conversation
	// (its "next"); empty reads as propose.
	Mode string
}

// EnableAPI adds /api/v1 to the server.
func (s *Server) EnableAPI(o APIOptions) {
	s.api = o
	s.apiLimiter = newLoginLimiter(maxAPIAuthFailures, time.Minute, s.opts.Now)
	s.mux.HandleFunc("GET /api/v1/agents", s.handleAgents)
	s.mux.HandleFunc("GET /api/v1/conversations", s.handleConversations)
	s.mux.HandleFunc("GET /api/v1/proposals", s.handleProposals)
	s.mux.HandleFunc("POST /api/v1/proposals/{id}/approve", s.requireAdmin(s.handleDecision(true)))
	s.mux.HandleFunc("POST /api/v1/proposals/{id}/reject", s.requireAdmin(s.handleDecision(false)))
	s.mux.HandleFunc("POST /api/v1/plan", s.requireAdmin(s.handlePlan))
}

// tokenMatches compares in constant time. Hashing first makes the
// comparison independent of the lengths as well.
func tokenMatches(got, want string) bool {
	g := sha256.Sum256([]byte(got))
	w := sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// maxAPIAuthFailures bounds wrong admin tokens per address per minute
// before they are answered 429, slowly: enough for a mistyped script.
const maxAPIAuthFailures = 10

// bearerToken reads an Authorization header of the Bearer scheme, whose
// name is case-insensitive (RFC 7235 section 2.1). The token is returned
// as sent, so that the API and the page compare the same bytes.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	return token, token != ""
}

// requireAdmin checks the bearer token: 403 when none is configured (the
// daemon is read-only), 401 when it is missing or wrong, and 429 for wrong
// tokens past the limit from one address. The right token always passes,
// whatever else came from its address.
func (s *Server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.api.AdminToken == "" {
			writeError(w, http.StatusForbidden, "read-only: no admin token is configured (QW_ADMIN_TOKEN)")
			return
		}
		if token, ok := bearerToken(r); ok && tokenMatches(token, s.api.AdminToken) {
			next(w, r)
			return
		}
		if limited, wait := s.apiLimiter.refuse(r.Context(), remoteAddr(r)); limited {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
			writeError(w, http.StatusTooManyRequests, "too many failed attempts; try again later")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="queuewrangler"`)
		writeError(w, http.StatusUnauthorized, "missing or invalid admin token")
	}
}

func (s *Server) handleAgents(w http.ResponseWriter, r *http.Request) {
	agents, figures, err := s.api.Team.Agents(r.Context())
	if err != nil {
		s.internalError(w, "read agents", err)
		return
	}
	out := map[string]any{"agents": toAgentsJSON(agents), "team": toFiguresJSON(agents, figures)}
	if s.api.Routing != nil {
		out["routing"] = s.api.Routing.Routing(r.Context())
	}
	s.sayNotReady(out)
	writeJSON(w, http.StatusOK, out)
}

// agentJSON is an agent in /api/v1/agents: team.Agent's keys, but with
// no load_ratio for someone who has no fair share (off shift, away, the
// head of support), as the metric is absent for them and the page says
// "no fair share": the balancer's 0 would read as an idle agent beside
// their waiting customers.
type agentJSON struct {
	team.Agent
	LoadRatio *float64 `json:"load_ratio,omitempty"` // shadows team.Agent's
}

func toAgentsJSON(agents []team.Agent) []agentJSON {
	out := make([]agentJSON, len(agents))
	for i, a := range agents {
		out[i].Agent = a
		if a.FairShare > 0 {
			out[i].LoadRatio = &agents[i].LoadRatio
		}
	}
	return out
}

// figuresJSON is /api/v1/agents's "team": the fairness figures, left out
// while they are undefined (fairnessDefined), as the metrics leave them
// absent and the page says none.
type figuresJSON struct {
	Imbalance *float64 `json:"imbalance_ratio,omitempty"`
	Jain      *float64 `json:"jain,omitempty"`
	CV        *float64 `json:"cv,omitempty"`
}

func toFiguresJSON(agents []team.Agent, f team.Figures) figuresJSON {
	if !fairnessDefined(agents) {
		return figuresJSON{}
	}
	return figuresJSON{Imbalance: &f.Imbalance, Jain: &f.Jain, CV: &f.CV}
}

// fairnessDefined reports whether someone is in the split (has a fair
// share). With nobody, the whole front line off shift or away, the
// balancer's 1.0 would read as a perfectly even team while customers wait
// on people who are not there.
func fairnessDefined(agents []team.Agent) bool {
	return slices.ContainsFunc(agents, func(a team.Agent) bool { return a.FairShare > 0 })
}

// sayNotReady adds "not_ready", /readyz's reason, to an answer read from
// the mirror while the daemon is not ready: during the first sync the
// counts and lists cover only the conversations read so far, and a tool
// must not take them for the queue, as the page's banner tells a person.
// Every GET of the API says it through here (agents, conversations, and
// proposals, whose pending warnings are read from the mirror), so that
// the key cannot mean one thing on one answer and another on the next.
// When the mirror holds the whole queue as of an earlier sync (a restart
// while Help Scout is down), "queue_as_of" says so and when that sync
// began: every ticket is there, but nothing newer.
func (s *Server) sayNotReady(out map[string]any) {
	u, waiting := s.unready()
	if !waiting {
		return
	}
	out["not_ready"] = u.why
	if !u.asOf.IsZero() {
		out["queue_as_of"] = u.asOf.UTC().Format(time.RFC3339)
	}
}

// conversationJSON is a conversation in /api/v1/conversations.
type conversationJSON struct {
	ID                   int64     `json:"id"`
	Number               int64     `json:"number"`
	MailboxID            int64     `json:"mailbox_id"`
	Status               string    `json:"status"`
	Subject              string    `json:"subject"`
	AssigneeID           int64     `json:"assignee_id,omitempty"`
	CustomerWaiting      bool      `json:"customer_waiting"`
	CustomerWaitingSince time.Time `json:"customer_waiting_since,omitzero"`
	CreatedAt            time.Time `json:"created_at"`
	Pinned               bool      `json:"pinned,omitempty"`
	URL                  string    `json:"url"`
	// Next, for state=stuck only, says what queuewrangler will do about
	// it, as the queue page's stuck list does.
	Next string `json:"next,omitempty"`
}

// conversationURL is the conversation's page in Help Scout.
func conversationURL(id, number int64) string {
	return "https://secure.helpscout.net/conversation/" + strconv.FormatInt(id, 10) + "/" + strconv.FormatInt(number, 10)
}

// maxConversations bounds one answer of /api/v1/conversations; beyond it
// the answer says it was cut ("truncated") and how many there are.
const maxConversations = 1000

func (s *Server) handleConversations(w http.ResponseWriter, r *http.Request) {
	f := store.OpenFilter{Limit: maxConversations}
	state := r.URL.Query().Get("state")
	switch state {
	case "", "open":
	case "unassigned":
		// The unassigned queue is active tickets.
		f.Assignment, f.ActiveOnly = store.OnlyUnassigned, true
	case "stuck":
		f.Assignment = store.OnlyAssigned
		f.WaitingBefore = s.opts.Now().Add(-s.api.StuckAfter)
	default:
		writeError(w, http.StatusBadRequest, "state must be stuck, unassigned or open")
		return
	}
	convs, err := s.api.Queue.OpenConversations(r.Context(), f)
	if err != nil {
		s.internalError(w, "read conversations", err)
		return
	}
	total := len(convs)
	if total >= f.Limit {
		n, err := s.api.Queue.CountOpenConversations(r.Context(), f)
		if err != nil {
			s.internalError(w, "count conversations", err)
			return
		}
		total = max(n, total) // the count is a second read; never say fewer than were listed
	}
	var next *team.NextSteps
	if state == "stuck" {
		n, err := s.nextSteps(r.Context())
		if err != nil {
			s.internalError(w, "read the team for stuck conversations", err)
			return
		}
		next = &n
	}
	out := make([]conversationJSON, 0, len(convs))
	for _, c := range convs {
		cj := conversationJSON{
			ID: c.ID, Number: c.Number, MailboxID: c.MailboxID, Status: c.Status, Subject: c.Subject,
			AssigneeID: c.AssigneeID, CustomerWaiting: c.CustomerWaiting(), CreatedAt: c.CreatedAt,
			Pinned: c.Pinned, URL: conversationURL(c.ID, c.Number),
		}
		if cj.CustomerWaiting {
			cj.CustomerWaitingSince = c.CustomerWaitingSince
		}
		if next != nil {
			cj.Next = next.Of(c).Say
		}
		out = append(out, cj)
	}
	answer := map[string]any{"conversations": out, "truncated": total > len(out), "total": total}
	s.sayNotReady(answer)
	writeJSON(w, http.StatusOK, answer)
}

// nextSteps reads what team.NextSteps needs, the team, the open
// proposals and the refusals that may still hold a ticket, at the
// server's clock, and says the times in the page's zone, so that the API and
// the page say the same. The API gives the sentence only: the page's
// grouping is its own, and the sentence already tells a tool which case
// it is.
func (s *Server) nextSteps(ctx context.Context) (team.NextSteps, error) {
	agents, _, err := s.api.Team.Agents(ctx)
	if err != nil {
		return team.NextSteps{}, err
	}
	open, err := s.api.Queue.ListProposals(ctx, store.ProposalFilter{Statuses: team.OpenProposalStatuses()})
	if err != nil {
		return team.NextSteps{}, err
	}
	now := s.opts.Now()
	refused, err := s.api.Queue.ListProposals(ctx, team.RefusalsFilter(agents, now))
	if err != nil {
		return team.NextSteps{}, err
	}
	return team.NewNextSteps(agents, append(open, refused...), cmp.Or(s.api.Mode, "propose"), s.pageZone, now), nil
}

// proposalJSON is a proposal in the API.
type proposalJSON struct {
	ID                 int64     `json:"id"`
	CreatedAt          time.Time `json:"created_at"`
	ConversationID     int64     `json:"conversation_id"`
	ConversationNumber int64     `json:"conversation_number"`
	URL                string    `json:"url"`
	From               int64     `json:"from_agent"`
	To                 int64     `json:"to_agent"`
	Reason             string    `json:"reason"`
	// Kind is handout or reassignment, as the metric's kind label.
	Kind            string    `json:"kind"`
	Explanation     string    `json:"explanation"`
	Status          string    `json:"status"`
	ImbalanceBefore float64   `json:"imbalance_before"`
	ImbalanceAfter  float64   `json:"imbalance_after"`
	DecidedBy       string    `json:"decided_by,omitempty"`
	DecidedAt       time.Time `json:"decided_at,omitzero"`
	AppliedAt       time.Time `json:"applied_at,omitzero"`
	Error           string    `json:"error,omitempty"`
	// The three below are set on a pending proposal in a listing only
	// (Server.pendingChecks), and say what the queue page's card says:
	// approving it now would move nothing, as its ticket is no longer
	// where the move takes it from (TicketGone), or would be skipped as
	// stale, as its receiver cannot take it now (ReceiverUnfit: their name
	// and why, in the page's zone; ReceiverAbsent: because they are not
	// there, rather than someone the plan may no longer choose).
	TicketGone     string `json:"ticket_gone,omitempty"`
	ReceiverUnfit  string `json:"receiver_unfit,omitempty"`
	ReceiverAbsent bool   `json:"receiver_absent,omitempty"`
}

func toProposalJSON(p store.Proposal) proposalJSON {
	return proposalJSON{
		ID: p.ID, CreatedAt: p.CreatedAt, ConversationID: p.ConversationID, ConversationNumber: p.ConversationNumber,
		URL: conversationURL(p.ConversationID, p.ConversationNumber), From: p.FromAgent, To: p.ToAgent,
		Reason: p.Reason, Kind: metrics.MoveKind(p.Handout()), Explanation: p.Explanation, Status: string(p.Status),
		ImbalanceBefore: p.ImbalanceBefore, ImbalanceAfter: p.ImbalanceAfter,
		DecidedBy: p.DecidedBy, DecidedAt: p.DecidedAt, AppliedAt: p.AppliedAt, Error: p.Error,
	}
}

func toProposalsJSON(ps []store.Proposal) []proposalJSON {
	out := make([]proposalJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, toProposalJSON(p))
	}
	return out
}

var proposalStatuses = map[string]bool{"pending": true, "approved": true, "applying": true, "applied": true, "rejected": true, "stale": true, "failed": true}

func (s *Server) handleProposals(w http.ResponseWriter, r *http.Request) {
	f := store.ProposalFilter{Limit: 500}
	if st := r.URL.Query().Get("status"); st != "" {
		if !proposalStatuses[st] {
			writeError(w, http.StatusBadRequest, "status must be pending, approved, applying, applied, rejected, stale or failed")
			return
		}
		f.Statuses = []store.ProposalStatus{store.ProposalStatus(st)}
	}
	ps, err := s.api.Queue.ListProposals(r.Context(), f)
	if err != nil {
		s.internalError(w, "read proposals", err)
		return
	}
	out := toProposalsJSON(ps)
	var pending []store.Proposal
	for _, p := range ps {
		if p.Status == store.ProposalPending {
			pending = append(pending, p)
		}
	}
	if len(pending) > 0 {
		checks := s.pendingChecks(r.Context(), pending)
		for i, p := range ps {
			if p.Status == store.ProposalPending {
				var unfit receiverUnfit
				out[i].TicketGone, unfit = checks.of(p)
				out[i].ReceiverUnfit, out[i].ReceiverAbsent = unfit.Said, unfit.Absent
			}
		}
	}
	answer := map[string]any{"proposals": out}
	// The proposals are the store's whole log, but a pending one's
	// warnings are read from the mirror, partial or stale while not ready.
	s.sayNotReady(answer)
	writeJSON(w, http.StatusOK, answer)
}

// pendingChecks reads what the page's pendingChecks needs for the pending
// proposals listed: the team once, and the tickets as pendingNow reads
// them (the unassigned queue, and each owner a move takes from), not once
// per proposal. A failed read is logged and leaves out what needed it, as
// on the page: the proposals are the answer, the warnings an addition.
func (s *Server) pendingChecks(ctx context.Context, pending []store.Proposal) pendingChecks {
	var failures store.FailureSayer = everyFailure{}
	if s.opts.Inbox != nil {
		// The store, in the daemon: a damaged file is said once between
		// the API, the page and the loops, not at every request.
		failures = s.opts.Inbox
	}
	fail := func(what string, err error) {
		store.LogFailure(failures, s.opts.Logger, slog.LevelError, "api: read "+what+" for the pending proposals' warnings", err)
	}
	pc := pendingChecks{now: s.opts.Now(), loc: cmp.Or(s.pageZone, time.UTC)}
	agents, _, err := s.api.Team.Agents(ctx)
	if err != nil {
		fail("the team", err)
	} else {
		pc.agents, pc.teamRead = agents, true
	}
	pc.owner = agentNamer(pc.agents)
	// A hand-out's ticket is where its move takes it from while in the
	// unassigned queue, which the page reads as active tickets.
	unassigned, err := s.api.Queue.OpenConversations(ctx, store.OpenFilter{Assignment: store.OnlyUnassigned, ActiveOnly: true})
	if err == nil {
		pc.held, err = pendingNow(ctx, s.api.Queue, pending, unassigned)
	}
	if err != nil {
		fail("the pending proposals' tickets", err)
	}
	return pc
}

func (s *Server) handleDecision(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(w, http.StatusBadRequest, "invalid proposal id")
			return
		}
		p, err := s.decide(r.Context(), id, approve, "api")
		if err != nil {
			s.decisionError(w, p, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"proposal": toProposalJSON(p)})
	}
}

func (s *Server) decide(ctx context.Context, id int64, approve bool, by string) (store.Proposal, error) {
	if approve {
		return s.api.Decider.Approve(ctx, id, by)
	}
	return s.api.Decider.Reject(ctx, id, by)
}

// decisionError is the one place that maps decision errors to statuses.
// p is the proposal as the decider found it, if it says so.
func (s *Server) decisionError(w http.ResponseWriter, p store.Proposal, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such proposal")
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "the proposal is no longer pending"+whyNotPending(p))
	case errors.Is(err, context.Canceled):
		// The caller went away (a closed tab, a client timeout), or a
		// stopping daemon cut the move (rebalance.Halt): nothing failed.
		// An approved move is made at the balancer's next run; one cut
		// while Help Scout was assigning it is settled from Help Scout's
		// answer then.
		s.opts.Logger.Info("decision cut short; the balancer's next run finishes it", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the request was cut short; the balancer's next run finishes the move (makes it if approved, or settles it from Help Scout if it was being made)")
	default:
		s.internalError(w, "decide proposal", err)
	}
}

func (s *Server) handlePlan(w http.ResponseWriter, r *http.Request) {
	// The balancer's own loop never plans from a half-read mirror; a run
	// asked for by hand must not either, or an agent whose tickets are not
	// read yet looks idle and, in apply mode, is handed others' customers.
	if u, waiting := s.unready(); waiting {
		writeError(w, http.StatusServiceUnavailable, "not ready, nothing planned: "+u.why)
		return
	}
	ps, err := s.api.Decider.PlanNow(r.Context())
	if err != nil {
		s.internalError(w, "plan", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"proposals": toProposalsJSON(ps)})
}

// internalError logs the detail and answers without it.
func (s *Server) internalError(w http.ResponseWriter, op string, err error) {
	s.opts.Logger.Error(op, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// whyNotPending is ": " and why a proposal that went stale did (expired:
// nobody approved it in time, or what changed), for the answer to a
// decision it refused; otherwise nothing, as someone decided it first.
func whyNotPending(p store.Proposal) string {
	if p.Status == store.ProposalStale && p.Error != "" {
		return ": " + p.Error
	}
	return ""
}
