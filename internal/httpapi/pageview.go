package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// pageView is everything page.html shows. Every string in it is plain
// text: html/template escapes it, and nothing here is template.HTML.
type pageView struct {
	Now            timeView
	Zone           string // of every absolute time and of "today"
	ZoneSet        bool   // false: UTC, as the team's zone is not set
	Refresh        bool
	RefreshSeconds int
	ReadOnly       bool
	Mode           string // QW_MODE: off, propose or apply
	LoggedIn       bool
	CSRF           string
	Who            string
	Flash          flash
	Errors         []string
	Notices        []string // the setup's mistakes (Notices)
	// NotReady is /readyz's reason while the daemon is not ready (the
	// first sync runs, Help Scout cannot be read, or the database fails);
	// empty once ready.
	NotReady string
	// QueueAsOf, set while not ready, says the mirror holds the whole
	// queue as of that sync, stale; unset, every count on the page covers
	// only what a first sync has read so far.
	QueueAsOf timeView
	// NoSyncSinceRestart: QueueAsOf is an earlier process's sync;
	// ReasonSaysRestart: NotReady says so already.
	NoSyncSinceRestart, ReasonSaysRestart bool
	// SyncedAt, set while ready, is when the latest completed sync began:
	// the queue below is Help Scout's as of then. A Help Scout outage
	// does not make the daemon unready (the mirror is still a faithful
	// copy of that sync), so without it a page hours old said "As of"
	// now and nothing else.
	SyncedAt timeView
	// NothingToApprove: in apply mode the balancer makes its moves without
	// approval, so with none left pending (from an earlier propose mode)
	// logging in is for Plan now, not for approving.
	NothingToApprove bool
	// Damaged: the database file is damaged, and the page shows what can
	// still be read from it, neither a whole queue nor a first sync's part.
	Damaged bool

	StuckAfter string
	Figures    figuresView
	Agents     []agentRow
	Stuck      stuckView
	Unassigned ticketList
	// UnassignedNote says when and to whom the unassigned tickets are
	// handed out, by QW_MODE and QW_BACKLOG.
	UnassignedNote string
	Pending        pendingList
	Moves          []proposalRow
	Routing        *routingView // nil when no Routing source is wired
}

// routingView is the routing mode and, in steer mode, each inbox's
// rotation.
type routingView struct {
	Mode, Running string
	Notice        string
	Inboxes       []routingInboxView
}

type routingInboxView struct {
	Name    string
	Enabled bool
	Note    string
	Checked timeView
	People  []team.RotationPerson
}

// pendingList is the proposals an SST must decide on, the customer who has
// waited longest first.
type pendingList struct {
	Rows  []proposalRow
	Total int
	More  int // Total - len(Rows)
}

// timeView is one instant, shown relative ("3h 10m ago") and absolute.
type timeView struct {
	Set bool
	ISO string // for <time datetime>
	Rel string // duration from then to the page's now
	Abs string // in the page's location
}

type figuresView struct {
	Imbalance, Jain string
	CV              string
	Available       int
	Agents          int
	Open, Waiting   int
	Stuck           int
	Unassigned      int
	// FRTKnown is false when no FirstResponses source is wired or it
	// failed; FRTP50 and FRTP90 are set when there were first replies.
	FRTKnown   bool
	FRTCount   int
	FRTP50     string
	FRTP90     string
	TodayStart timeView
}

type agentRow struct {
	ID        int64
	Name      string
	Role      string
	Level     int
	Status    string // the label
	StatusKey string // the CSS class: active, away, off-shift, other
	BackAt    string // "Tue 09:00 CET": the next shift of someone off shift; "" otherwise
	Available bool
	// FrontLine is false for the head of support and the excluded, who
	// never work the queue: no pace, and not in the availability count.
	FrontLine bool
	Open      int
	Waiting   int
	Load      string
	Pace      string // "2.4/h": replies per working hour; "" when not known
	FairShare string // "" when the agent has no fair share (unavailable)
	Ratio     string // "163%"; "" without a fair share
	// LoadLevel is "over" above redRatio of the fair share, "high" above
	// amberRatio, "" otherwise (and without a fair share).
	LoadLevel  string
	BarClass   string // w0..w100
	MarkClass  string // m0..m100, "" without a fair share
	OldestWait timeView
}

// stuckView is the stuck list in two groups, so that an SST sees first
// the tickets nothing is due to move on (stuckOutlook.NeedsSomeone).
type stuckView struct {
	Total         int // both groups: the count of the metric and the API
	NeedsSomeone  ticketList
	WaitsForOwner ticketList
}

type ticketList struct {
	Rows  []ticketRow
	Total int
	More  int    // Total - len(Rows)
	State string // the JSON API's name for the list
	Empty string // what to say when there is nothing
	// ShowOwner is false for the unassigned queue, whose owner column
	// would read "Unassigned" on every row.
	ShowOwner bool
	// ShowNext is true for the stuck list, whose rows say what
	// queuewrangler will do about each (ticketRow.Next).
	ShowNext bool
}

type ticketRow struct {
	ID       int64
	Number   int64
	URL      string
	Subject  string
	Customer string
	Owner    string
	Status   string
	Waiting  timeView // the customer's wait; unset if not waiting
	Created  timeView
	// Next says what happens next to a stuck ticket ("waits for Eli, back
	// Wed 09:00"); NextProposal is the pending proposal it refers to, if
	// any, for a link to its card.
	Next         string
	NextProposal int64
}

type proposalRow struct {
	ID       int64
	Number   int64
	URL      string
	From, To string
	// Kind is "hand-out" (a ticket nobody owned given to someone),
	// "reassignment" (taken from one person for another) or "" for a
	// flag, which moves nothing: design.md section 8 keeps them apart.
	Kind        string
	Reason      string
	Explanation string
	Status      string
	Error       string
	DecidedBy   string
	// Waits says why an approved move is not being made: under
	// QW_MODE=off no balancer run applies it.
	Waits   string
	Created timeView
	When    timeView // the last transition
	// Waiting is the customer's wait: for a pending move, as the mirror
	// holds the ticket now (pendingNow); unset when the customer is not
	// waiting.
	Waiting timeView
	// Gone, for a pending move, says the ticket is no longer where the
	// move would take it from (closed, or moved by someone, since the
	// proposal); Waiting is then unset.
	Gone string
	// ToUnfit, for a pending move, says its receiver cannot take the
	// ticket now (team.Agent.Unfit: away or off shift, and until when, or
	// unable to open its mailbox, or no longer someone the roster lets the
	// plan choose, or ending their shift within the policy's
	// ShiftEndMargin): the move was proposed when they could, and approved
	// now it is skipped as stale (the re-check before a move is the same
	// Unfit), so the SST knows before clicking rather than after.
	ToUnfit string
}

// pageData is what collect reads; build turns it into a pageView.
type pageData struct {
	agents     []team.Agent
	teamRead   bool // agents is the team, not what a failed read left
	figures    team.Figures
	unassigned []store.OpenConversation
	customers  map[int64]string
	pending    []store.Proposal
	moves      []store.Proposal
	frt        []time.Duration
	frtKnown   bool
	notices    []string
	routing    *team.Routing
	errors     []string

	// The stuck tickets in their two groups, each oldest first, and what
	// happens next to each (the split is its NeedsSomeone).
	needsSomeone  []store.OpenConversation
	waitsForOwner []store.OpenConversation
	nexts         team.NextSteps

	// pendingNow holds the pending moves' tickets as the mirror holds them
	// now, by id (page.pendingNow); nil when they could not be read.
	pendingNow map[int64]store.OpenConversation
}

// decidedStatuses are the proposals shown as recent moves.
var decidedStatuses = []store.ProposalStatus{
	store.ProposalApplied, store.ProposalStale, store.ProposalFailed, store.ProposalRejected,
	store.ProposalApproved, store.ProposalApplying,
}

// collect reads everything the page shows. A failed read leaves its
// section empty with a note, so the rest of the page still helps.
func (p *page) collect(ctx context.Context, now time.Time) pageView {
	var d pageData
	fail := func(what string, err error) {
		store.LogFailure(p.o.Failures, p.log, slog.LevelError, "page: read "+what, err)
		d.errors = append(d.errors, "Could not read "+what+"; the daemon log has the detail.")
	}
	var err error
	if d.agents, d.figures, err = p.o.Team.Agents(ctx); err != nil {
		fail("the team", err)
	}
	d.teamRead = err == nil
	var stuck []store.OpenConversation
	if p.o.StuckAfter > 0 {
		if stuck, err = p.o.Queue.OpenConversations(ctx, store.OpenFilter{
			Assignment: store.OnlyAssigned, WaitingBefore: now.Add(-p.o.StuckAfter),
		}); err != nil {
			fail("the stuck tickets", err)
		}
	}
	// Every open proposal: the store lists newest first, and the page
	// shows the longest customer wait first, so a limit here would drop
	// exactly the rows that matter most. The stuck list's groups need
	// them too (an approved move is as much a next step as a pending
	// one), before the customers' names of the rows shown are read.
	open, err := p.o.Queue.ListProposals(ctx, store.ProposalFilter{Statuses: team.OpenProposalStatuses()})
	if err != nil {
		fail("the pending proposals", err)
	}
	for _, pr := range open {
		if pr.Status == store.ProposalPending {
			d.pending = append(d.pending, pr)
		}
	}
	// The refusals that may still hold a stuck ticket where it is, as a
	// balancer run reads them: without them a row would promise a move
	// the refusal forbids.
	refused, err := p.o.Queue.ListProposals(ctx, team.RefusalsFilter(d.agents, now))
	if err != nil {
		fail("the rejected proposals", err)
	}
	d.nexts = team.NewNextSteps(d.agents, append(open, refused...), p.o.Mode, p.o.Location, now)
	for _, c := range stuck {
		if d.nexts.Of(c).NeedsSomeone {
			d.needsSomeone = append(d.needsSomeone, c)
		} else {
			d.waitsForOwner = append(d.waitsForOwner, c)
		}
	}
	// The unassigned queue is active tickets (as in the JSON API), longest
	// wait first.
	d.unassigned, err = p.o.Queue.OpenConversations(ctx, store.OpenFilter{Assignment: store.OnlyUnassigned, ActiveOnly: true})
	unassignedErr := err
	if err != nil {
		fail("the unassigned queue", err)
	}
	slices.SortFunc(d.unassigned, func(a, b store.OpenConversation) int {
		return cmp.Or(waitStart(a).Compare(waitStart(b)), cmp.Compare(a.ID, b.ID))
	})
	if unassignedErr == nil {
		if d.pendingNow, err = pendingNow(ctx, p.o.Queue, d.pending, d.unassigned); err != nil {
			fail("the pending proposals' tickets", err)
		}
	}
	if p.o.Customers != nil {
		needs, waits := stuckShown(len(d.needsSomeone), len(d.waitsForOwner), p.o.maxRows)
		ids := make([]int64, 0, 2*p.o.maxRows)
		for _, list := range [][]store.OpenConversation{d.needsSomeone[:needs], d.waitsForOwner[:waits], d.unassigned} {
			for _, c := range list[:min(len(list), p.o.maxRows)] {
				ids = append(ids, c.ID)
			}
		}
		if len(ids) > 0 {
			if d.customers, err = p.o.Customers.CustomerNames(ctx, ids); err != nil {
				fail("the customers' names", err)
			}
		}
	}
	if d.moves, err = p.o.Queue.ListProposals(ctx, store.ProposalFilter{
		Statuses: decidedStatuses, Limit: recentMoves,
	}); err != nil {
		fail("the recent moves", err)
	}
	if p.o.FirstResponses != nil {
		d.frtKnown = true
		if d.frt, err = p.o.FirstResponses.FirstResponseTimes(ctx, startOfDay(now, p.o.Location)); err != nil {
			d.frtKnown = false
			fail("today's first responses", err)
		}
	}
	if p.o.Notices != nil {
		if d.notices, err = p.o.Notices.Notices(ctx); err != nil {
			fail("the setup checks", err)
		}
	}
	if p.o.Routing != nil {
		rt := p.o.Routing.Routing(ctx)
		d.routing = &rt
	}
	return p.build(d, now)
}

// pendingNow reads the tickets of the pending moves as the mirror holds
// them now, by id: the open tickets of each owner a move would take one
// from, and the unassigned queue for hand-outs. A proposal waits for
// approval for hours; meanwhile its customer may have been answered or
// written again, and the ticket closed or taken by someone, so the wait
// it was proposed with is not the customer's wait now. One read per
// owner, and pending moves come from few owners.
//
// The JSON API reads them the same way for its pending proposals
// (Server.pendingChecks), so both say the same of each.
func pendingNow(ctx context.Context, q PageQueue, pending []store.Proposal, unassigned []store.OpenConversation) (map[int64]store.OpenConversation, error) {
	held := make(map[int64]store.OpenConversation)
	for _, c := range unassigned {
		held[c.ID] = c
	}
	read := make(map[int64]bool)
	for _, pr := range pending {
		if pr.FromAgent == 0 || read[pr.FromAgent] {
			continue
		}
		read[pr.FromAgent] = true
		cs, err := q.OpenConversations(ctx, store.OpenFilter{AssigneeID: pr.FromAgent})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			held[c.ID] = c
		}
	}
	return held, nil
}

// stuckShown is how many rows of each stuck group the page shows: the two
// share the one list's maxRows, the tickets that need someone first, so
// that splitting the list does not make the page longer.
func stuckShown(needsSomeone, waitsForOwner, maxRows int) (needs, waits int) {
	needs = min(needsSomeone, maxRows)
	return needs, min(waitsForOwner, maxRows-needs)
}

// waitStart is when the ticket started waiting on us: the customer's last
// message when they wrote last, else its creation.
func waitStart(c store.OpenConversation) time.Time {
	if since := c.CustomerWaitStart(); !since.IsZero() {
		return since
	}
	return c.CreatedAt
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func (p *page) build(d pageData, now time.Time) pageView {
	loc := p.o.Location
	v := pageView{
		Now:        absTime(now, now, loc),
		Zone:       loc.String(),
		ZoneSet:    p.zoneSet,
		Errors:     d.errors,
		Notices:    d.notices,
		StuckAfter: relDuration(p.o.StuckAfter),
		Routing:    buildRouting(d.routing, now, loc),
	}
	if v.Routing != nil && v.Routing.Notice != "" {
		v.Notices = append(v.Notices, v.Routing.Notice)
	}
	owner := agentNamer(d.agents)

	v.Agents, v.Figures = p.buildTeam(d.agents, now)
	if fairnessDefined(d.agents) {
		v.Figures.Imbalance = fmt.Sprintf("%.2f", d.figures.Imbalance)
		v.Figures.Jain = fmt.Sprintf("%.2f", d.figures.Jain)
		v.Figures.CV = fmt.Sprintf("%.2f", d.figures.CV)
	}
	v.Figures.Stuck = len(d.needsSomeone) + len(d.waitsForOwner)
	v.Figures.Unassigned = len(d.unassigned)
	if d.frtKnown {
		v.Figures.FRTKnown = true
		v.Figures.FRTCount = len(d.frt)
		v.Figures.TodayStart = absTime(startOfDay(now, loc), now, loc)
		if len(d.frt) > 0 {
			sorted := slices.Clone(d.frt)
			slices.Sort(sorted)
			v.Figures.FRTP50 = relDuration(team.Percentile(sorted, 0.5))
			v.Figures.FRTP90 = relDuration(team.Percentile(sorted, 0.9))
		}
	}

	// The list shows its first rows; next is nil for a list whose rows do
	// not say what happens next.
	tickets := func(list []store.OpenConversation, rows int, state, empty string, showOwner bool, next *team.NextSteps) ticketList {
		tl := ticketList{Total: len(list), State: state, Empty: empty, ShowOwner: showOwner, ShowNext: next != nil}
		shown := list[:rows]
		tl.More = tl.Total - len(shown)
		tl.Rows = make([]ticketRow, 0, len(shown))
		for _, c := range shown {
			row := ticketRow{
				ID: c.ID, Number: c.Number, URL: conversationURL(c.ID, c.Number),
				Subject: c.Subject, Status: c.Status, Customer: customerLabel(c, d.customers),
				Created: absTime(c.CreatedAt, now, loc),
			}
			if row.Subject == "" {
				row.Subject = "(no subject)"
			}
			if c.AssigneeID != 0 {
				row.Owner = owner(c.AssigneeID)
			}
			if since := c.CustomerWaitStart(); !since.IsZero() {
				row.Waiting = absTime(since, now, loc)
			}
			if next != nil {
				o := next.Of(c)
				row.Next, row.NextProposal = o.Say, o.Proposal
			}
			tl.Rows = append(tl.Rows, row)
		}
		return tl
	}
	needs, waits := stuckShown(len(d.needsSomeone), len(d.waitsForOwner), p.o.maxRows)
	v.Stuck = stuckView{
		Total:         v.Figures.Stuck,
		NeedsSomeone:  tickets(d.needsSomeone, needs, "stuck", "None: each stuck ticket has something due to move it on.", true, &d.nexts),
		WaitsForOwner: tickets(d.waitsForOwner, waits, "stuck", "None.", true, &d.nexts),
	}
	v.Unassigned = tickets(d.unassigned, min(len(d.unassigned), p.o.maxRows), "unassigned", "The unassigned queue is empty.", false, nil)
	v.UnassignedNote = unassignedNote(p.o.Mode, p.o.Backlog)

	proposals := func(ps []store.Proposal) []proposalRow {
		out := make([]proposalRow, 0, len(ps))
		for _, pr := range ps {
			row := proposalRow{
				ID: pr.ID, Number: pr.ConversationNumber, URL: conversationURL(pr.ConversationID, pr.ConversationNumber),
				From: "Unassigned", To: "nobody (flagged for the head of support)",
				Reason: pr.Reason, Explanation: pr.Explanation, Status: string(pr.Status),
				Error: pr.Error, DecidedBy: pr.DecidedBy,
				Created: absTime(pr.CreatedAt, now, loc),
				When:    absTime(lastTransition(pr), now, loc),
				Waiting: absTime(pr.Snapshot.CustomerWaitingSince, now, loc),
			}
			if pr.FromAgent != 0 {
				row.From = owner(pr.FromAgent)
			}
			if pr.ToAgent != 0 {
				row.To = owner(pr.ToAgent)
				row.Kind = "reassignment"
				if pr.Handout() {
					row.Kind = "hand-out"
				}
			}
			out = append(out, row)
		}
		return out
	}
	pending := slices.Clone(d.pending)
	waitNow := func(pr store.Proposal) time.Time { return pr.Snapshot.CustomerWaitingSince }
	if d.pendingNow != nil {
		waitNow = func(pr store.Proposal) time.Time {
			if c, ok := d.pendingNow[pr.ConversationID]; ok && c.AssigneeID == pr.FromAgent {
				return c.CustomerWaitStart()
			}
			return time.Time{}
		}
	}
	slices.SortStableFunc(pending, byCustomerWait(waitNow))
	shown := pending[:min(len(pending), p.o.maxRows)]
	v.Pending = pendingList{Rows: proposals(shown), Total: len(pending), More: len(pending) - len(shown)}
	checks := pendingChecks{held: d.pendingNow, agents: d.agents, teamRead: d.teamRead, owner: owner, now: now, loc: loc}
	for i, pr := range shown {
		row := &v.Pending.Rows[i]
		if d.pendingNow != nil {
			row.Waiting = absTime(waitNow(pr), now, loc)
		}
		var unfit receiverUnfit
		row.Gone, unfit = checks.of(pr)
		row.ToUnfit = unfit.sentence()
	}
	// The store lists by id; a move's row belongs where its last step
	// happened, newest first.
	moves := slices.Clone(d.moves)
	slices.SortStableFunc(moves, func(a, b store.Proposal) int { return lastTransition(b).Compare(lastTransition(a)) })
	v.Moves = proposals(moves)
	if p.o.Mode == "off" {
		for i := range v.Moves {
			if v.Moves[i].Status == string(store.ProposalApproved) {
				v.Moves[i].Waits = approvedWaitWhileOff
			}
		}
	}
	return v
}

// approvedWaitWhileOff is why an approved move stays unmade in off mode.
// The move is not dropped: once the mode is propose or apply, the next
// run applies it after re-reading the ticket, and it goes stale, as any
// move does, if the ticket changed meanwhile (at the first off-mode run
// after the mirror shows the change, its row here reads stale, with why).
const approvedWaitWhileOff = "QW_MODE=off: approved moves wait until the mode is propose or apply"

// agentNamer names an agent by id as the page and the API say them: the
// team's name, else "user 12" (someone the team no longer holds, or a
// team that could not be read).
func agentNamer(agents []team.Agent) func(id int64) string {
	names := make(map[int64]string, len(agents))
	for _, a := range agents {
		names[a.ID] = a.Name
	}
	return func(id int64) string {
		if n, ok := names[id]; ok && n != "" {
			return n
		}
		return "user " + strconv.FormatInt(id, 10)
	}
}

// pendingChecks tells, of each pending move, whether approving it now
// would do nothing: the page's warnings on its cards, and the JSON API's
// ticket_gone and receiver_unfit. One computation for both, so that a
// tool approving through the API is told what an SST clicking is told.
type pendingChecks struct {
	// held is the pending moves' tickets as the mirror holds them now
	// (pendingNow); nil when they could not be read: no move is then said
	// gone, and the receiver's check does not know the ticket's mailbox.
	held map[int64]store.OpenConversation
	// agents is the team only when teamRead: without it no receiver is
	// checked, as a failed read would make everyone "no longer a Help
	// Scout user".
	agents   []team.Agent
	teamRead bool
	owner    func(id int64) string // agentNamer's, for goneSince
	now      time.Time
	loc      *time.Location // of the times said: the page's zone
}

// of says whether pr's ticket is gone (goneSince's words) and, if not,
// whether its receiver cannot take it now.
func (pc pendingChecks) of(pr store.Proposal) (gone string, unfit receiverUnfit) {
	var mailbox int64 // unknown without the ticket as the mirror holds it now
	if pc.held != nil {
		c, ok := pc.held[pr.ConversationID]
		if !ok || c.AssigneeID != pr.FromAgent {
			// Approving finds the ticket changed and moves nothing:
			// whoever would receive it does not matter.
			return goneSince(pr, pc.owner(pr.FromAgent)), receiverUnfit{}
		}
		mailbox = c.MailboxID
	}
	if pr.ToAgent != 0 && pc.teamRead {
		unfit = unfitNow(team.Receiver(pc.agents, pr.ToAgent), mailbox, pr.Reason, pc.now, pc.loc)
	}
	return "", unfit
}

// goneSince says that a pending move's ticket is no longer where the move
// would take it from: the mirror holds it neither open with from (its
// owner's name; unused for a hand-out) nor, for a hand-out, in the
// unassigned queue.
func goneSince(pr store.Proposal, from string) string {
	if pr.FromAgent == 0 {
		return "no longer in the unassigned queue (assigned, set pending or closed since the proposal)"
	}
	return "no longer open with " + from + " (closed, or moved by someone, since the proposal)"
}

// receiverUnfit is why a move's receiver cannot take its ticket now.
// Said is their name and team.Agent.Unfit's why ("Sam Senior is off
// shift now (back Wed 09:00 CET)"), "" when they can; Absent says they
// are not there (away, off shift, no longer a user), rather than someone
// the plan may no longer choose. The API gives the two as they are; the
// page says them in one sentence.
type receiverUnfit struct {
	Said   string
	Absent bool
}

// unfitNow says whether a move's receiver can take its ticket now (why
// is team.Agent.Unfit's, the approval's own re-check, which for a pending
// move, one a person approves, includes the shift-end margin: View.Measure
// set it).
func unfitNow(a team.Agent, mailbox int64, reason string, now time.Time, loc *time.Location) receiverUnfit {
	why, absent := a.Unfit(mailbox, reason, now, loc)
	if why == "" {
		return receiverUnfit{}
	}
	return receiverUnfit{Said: a.Name + " " + why, Absent: absent}
}

// sentence is the page's warning: who cannot take the ticket and why, and
// what approving the move does now; "" when they can.
func (u receiverUnfit) sentence() string {
	if u.Said == "" {
		return ""
	}
	because := "hands a customer only to someone it could choose now"
	if u.Absent {
		because = "hands no customer to someone who is not there"
	}
	return u.Said + ": approved now, the move is skipped (stale), as queuewrangler " + because
}

// byCustomerWait orders proposals by how long their customer has waited
// (since waitStart, zero when not waiting), longest first; moves of
// tickets whose customer is not waiting come last, and ties go to the
// older proposal.
func byCustomerWait(waitStart func(store.Proposal) time.Time) func(a, b store.Proposal) int {
	return func(a, b store.Proposal) int {
		wa, wb := waitStart(a), waitStart(b)
		if wa.IsZero() != wb.IsZero() {
			if wa.IsZero() {
				return 1
			}
			return -1
		}
		return cmp.Or(wa.Compare(wb), cmp.Compare(a.ID, b.ID))
	}
}

func lastTransition(pr store.Proposal) time.Time {
	for _, t := range []time.Time{pr.AppliedAt, pr.UpdatedAt, pr.DecidedAt} {
		if !t.IsZero() {
			return t
		}
	}
	return pr.CreatedAt
}

func customerLabel(c store.OpenConversation, names map[int64]string) string {
	if n := strings.TrimSpace(names[c.ID]); n != "" {
		return n
	}
	if c.CustomerID != 0 {
		return "customer " + strconv.FormatInt(c.CustomerID, 10)
	}
	return "unknown customer"
}

// buildTeam orders the team so the question "who is overloaded?" is
// answered by the first rows: available agents by load ratio, highest
// first, then everyone unavailable, by name.
func (p *page) buildTeam(agents []team.Agent, now time.Time) ([]agentRow, figuresView) {
	var fig figuresView
	sorted := slices.Clone(agents)
	slices.SortFunc(sorted, func(a, b team.Agent) int {
		if a.Available != b.Available {
			if a.Available {
				return -1
			}
			return 1
		}
		if a.Available {
			if c := cmp.Compare(b.LoadRatio, a.LoadRatio); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	// One scale for every bar, so bars compare across rows.
	scale := 1.0
	for _, a := range sorted {
		scale = max(scale, a.Load, a.FairShare)
	}
	rows := make([]agentRow, 0, len(sorted))
	for _, a := range sorted {
		frontLine := a.Role != "hos" && a.Role != "exclude"
		if frontLine {
			fig.Agents++
			if a.Available {
				fig.Available++
			}
		}
		fig.Open += a.Open
		fig.Waiting += a.Waiting
		row := agentRow{
			ID: a.ID, Name: a.Name, Role: strings.ToUpper(a.Role), Level: a.Level,
			Status: statusLabel(a.Status), StatusKey: statusKey(a.Status), Available: a.Available, FrontLine: frontLine,
			Open: a.Open, Waiting: a.Waiting, Load: trimFloat(a.Load),
			BarClass:   "w" + strconv.Itoa(pct(a.Load, scale)),
			OldestWait: absTime(a.OldestWait, now, p.o.Location),
		}
		if a.Pace > 0 && frontLine {
			row.Pace = strconv.FormatFloat(a.Pace, 'f', 1, 64) + "/h"
		}
		if !a.BackAt.IsZero() {
			// Within the coming week, so the weekday says which day.
			row.BackAt = a.BackAt.In(p.o.Location).Format("Mon 15:04 MST")
		}
		if a.FairShare > 0 {
			row.FairShare = trimFloat(a.FairShare)
			ratio := a.Load / a.FairShare
			row.Ratio = strconv.Itoa(int(math.Round(ratio*100))) + "%"
			row.LoadLevel = loadLevel(ratio)
			row.MarkClass = "m" + strconv.Itoa(pct(a.FairShare, scale))
		}
		rows = append(rows, row)
	}
	return rows, fig
}

// The load colours. Amber starts a little above a fair share, so a lead
// sees who is drifting; red is half again a fair share.
const (
	amberRatio = 1.1
	redRatio   = 1.5
)

func loadLevel(ratio float64) string {
	switch {
	case ratio > redRatio:
		return "over"
	case ratio > amberRatio:
		return "high"
	}
	return ""
}

func pct(v, scale float64) int {
	if scale <= 0 || v <= 0 || math.IsNaN(v) {
		return 0
	}
	return min(100, int(math.Round(v/scale*100)))
}

func trimFloat(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

func statusLabel(s string) string {
	switch s {
	case "active":
		return "Active"
	case "away":
		return "Away"
	case "off-shift":
		return "Off shift"
	case "":
		return "Unknown"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func statusKey(s string) string {
	switch s {
	case "active", "away", "off-shift":
		return s
	}
	return "other"
}

// absTime presents t for a <time> element: the relative part is how long
// ago from now, the absolute part in loc, with the date only when it is
// not today.
func absTime(t, now time.Time, loc *time.Location) timeView {
	if t.IsZero() {
		return timeView{}
	}
	lt, ln := t.In(loc), now.In(loc)
	layout := "15:04 MST"
	if lt.YearDay() != ln.YearDay() || lt.Year() != ln.Year() {
		layout = "Jan 2 15:04 MST"
		if lt.Year() != ln.Year() {
			layout = "Jan 2 2006 15:04 MST"
		}
	}
	rel := relDuration(now.Sub(t))
	if now.Sub(t) < time.Minute {
		rel = "under a minute"
	}
	return timeView{Set: true, ISO: t.UTC().Format(time.RFC3339), Rel: rel, Abs: lt.Format(layout)}
}

// relDuration says a duration the way a support lead does: "45m",
// "3h 10m", "2d 4h".
func relDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return strconv.Itoa(h) + "h"
		}
		return fmt.Sprintf("%dh %dm", h, m)
	default:
		days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
		if h == 0 {
			return strconv.Itoa(days) + "d"
		}
		return fmt.Sprintf("%dd %dh", days, h)
	}
}

func buildRouting(rt *team.Routing, now time.Time, loc *time.Location) *routingView {
	if rt == nil {
		return nil
	}
	v := &routingView{Mode: rt.Mode, Running: rt.Running, Notice: rt.Notice}
	for _, in := range rt.Inboxes {
		v.Inboxes = append(v.Inboxes, routingInboxView{Name: in.Name, Enabled: in.Enabled, Note: in.Note,
			Checked: absTime(in.CheckedAt, now, loc), People: in.People})
	}
	return v
}

// unassignedNote says what becomes of the unassigned queue: with the
// default QW_BACKLOG=idle its tickets wait while everyone on shift has a
// customer waiting, which a lead who sees them sit there must be told.
func unassignedNote(mode string, backlog time.Duration) string {
	if mode == "off" {
		return "The balancer is off (QW_MODE=off): queuewrangler hands none of these out."
	}
	var note string
	switch backlog {
	case 0:
		note = "queuewrangler hands each, longest wait first, only to someone with no customer waiting (QW_BACKLOG=idle): while everyone on shift has a customer waiting, these wait too."
	case math.MaxInt64:
		note = "queuewrangler hands them out at once, longest wait first, to whoever would answer soonest (QW_BACKLOG=oldest)."
	default:
		note = "queuewrangler hands each, longest wait first, to someone with whom a new customer would wait at most " + relDuration(backlog) + " (QW_BACKLOG)."
	}
	if mode == "" || mode == "propose" {
		note += " Each hand-out waits under Pending proposals until someone approves it."
	}
	return note
}
