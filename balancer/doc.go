// Package balancer is queuewrangler's equitable-load algorithm: given a
// snapshot of the team and its conversations, Plan says which tickets to
// move, to whom and why; Route says who gets a new conversation when
// queuewrangler owns routing (QW_ROUTING=own); Rotation says who should be
// in Help Scout's routing rotation when queuewrangler steers it
// (QW_ROUTING=steer); and Measure gives the fairness figures the queue page
// and the metrics show.
//
// It is pure. It does no I/O, reads no clock (the snapshot carries Now),
// uses no randomness, takes no context, never logs and imports nothing from
// the module. Everything with side effects (reading the mirror, storing
// proposals, writing to Help Scout) belongs to internal/rebalance.
//
// # Definitions
//
// Front line: agents with role st or sst and a positive capacity. The HoS is
// counted on the page but is outside the split; excluded agents, agents with
// an unknown role or bad capacity, and agents or conversations whose id
// appears twice in the snapshot are ignored (Snapshot.Validate lists them).
//
// Open work: a conversation that is assigned and active or pending. Its
// weight (measure.go) is 1 when it is active and the customer is waiting
// on us (the last message is the customer's), Policy.PendingWeight (0.25)
// when it is pending or active with an agent speaking last, and 0 when
// closed or spam. The unassigned queue is the active unassigned
// conversations, weighed the same way.
//
// Load: the sum of the weights of an agent's open work. Utilisation: load ÷
// capacity, where capacity is the roster's weight (LevelCapacity by level
// unless overridden).
//
// Fair share: the work the available front line holds or is due to take
// (their own open work, the unassigned queue, and the waiting tickets due to
// be handed over by agents unavailable beyond Policy.AwayGrace, rule 2)
// split among the available front line in proportion to capacity. Work an
// absent agent keeps (their pending tickets, anything within the grace
// period, and the customers an off-shift agent will answer in time when
// back) is not in the split, so an absence does not make everybody else look
// underloaded. Unavailable agents
// and the HoS have a fair share of 0. LoadRatio is load ÷ fair share.
//
// Imbalance: max utilisation ÷ mean utilisation over the available front
// line; 1.0 is perfect. Jain's index (Σu)² ÷ (n·Σu²) and the coefficient of
// variation (population standard deviation ÷ mean) are over the same
// utilisations. A team with nobody available or no work is perfectly
// balanced (1, 1, 0).
//
// Stuck: assigned, active, the customer waiting on us, and waiting longer
// than Policy.StuckAfter counted from CustomerWaitingSince (isStuck in
// measure.go). That is the figure the page and the metrics report. The
// stuck rule (rule 3) acts on a narrower set, tickets stuck with their
// owner: the owner is available and the customer has waited longer than
// StuckAfter since the owner became available (Agent.AvailableSince) and
// since the owner got the ticket (Conversation.AssignedAt), so that an
// agent is not relieved of the night's queue ten minutes into their shift,
// nor of a ticket an SST handed them ten minutes ago.
//
// Ongoing conversation: one an agent has replied to (AgentReplied). Rules 2
// and 4 leave ongoing conversations with the agent who knows them whenever
// that agent is coming back at a known time; the stuck rule is their
// safety net.
//
// # Expected wait
//
// A move must pay (design.md section 8): it is made only when the customer
// will be answered clearly sooner. The estimate is simple enough to check
// by hand:
//
//   - Agents answer the customer who has waited longest first. The
//     customers ahead of c with agent a are those waiting on a whose
//     CustomerWaitingSince is earlier (ties by id); a customer waiting
//     since an unknown time, or not waiting, comes last.
//   - Pace is replies per working hour: Agent.Pace when measured;
//     otherwise Capacity times the team's measured pace per unit of
//     capacity, or times Policy.PriorPace (6: a reply every 10 minutes for
//     a capacity-1 agent) while nobody is measured.
//   - Expected wait with k customers ahead: k ÷ pace hours. An available
//     agent starts now, but what cannot be started before their shift ends
//     (AvailableUntil) waits for their next shift: NextShiftAt, from the
//     roster's hours (after a weekend or a day off too), or, when that is
//     unknown, the same shift tomorrow (24 hours after AvailableSince; an
//     8-hour shift when that is unknown too). An agent off shift starts at BackAt; one away with
//     no known return gives NoEstimate, which any available agent beats.
//   - A customer joining a's queue now waits endWait(a): behind everyone
//     waiting. That is what a new ticket would wait, and how buried a's
//     queue is. Targets rank by it, then by utilisation after taking the
//     ticket (fairness breaks ties), then by id.
//   - pays(owner, target): target ≤ WaitRatio × owner (0.5) and owner −
//     target ≥ SoonerBy (30 minutes), and target < owner. A reassignment
//     needs pays for the customer and pays for the queues, the owner's
//     last customer against a new customer with the target: never into an
//     equally buried queue, and the team's total wait falls (moving any
//     customer from a to b changes the sum of the current customers' waits
//     by exactly endWait(b) − the last wait with a).
//   - The stuck rule also counts the evidence: a customer who has waited W
//     with an owner who has not answered can expect at least W more,
//     whatever the owner's pace says.
//
// # Backlog order
//
// Policy.Backlog is the team's choice between the median and the tail
// (QW_BACKLOG). Work that waited elsewhere (the Unassigned folder, an
// absent agent's customers, a long queue's newest customer) goes to
// someone only if a customer joining their queue would wait at most
// Backlog. BacklogIdle (0, the default) hands it only to people with
// nobody waiting: no customer already queued waits longer for it, which
// is what Help Scout's routing leaves the folder to, and what the default
// takes: capacity that would otherwise stand idle. BacklogOldest hands it
// out at once, oldest first, to the front of the shortest queue: the
// tail shrinks and the customers who wrote in later wait longer. Durations
// in between bound how deep a queue the backlog may join.
// The away and stuck rules apply the same check to their targets, so
// under idle an absent agent's customers and an ST's stuck ones stay put
// while everyone who could take them has customers waiting;
// BacklogKeeps lists those tickets, for the queue page to say so.
//
// # The rules, in priority order
//
//  1. unassigned: the unassigned queue, oldest waiting first, each ticket to
//     the available front-line agent who ranks best (Expected wait),
//     within the backlog setting. The customer's previous agent, if
//     available and under fair share, has their wait and utilisation
//     multiplied by 1 - PreviousAgentBonus for the comparison.
//  2. away: the waiting tickets of front-line agents unavailable for at
//     least AwayGrace, oldest waiting first, to the agent who ranks best,
//     when they are due and the move pays, within the backlog setting.
//     Being away and being off shift differ. An agent Away in Help Scout,
//     or off shift with no known next shift (Agent.BackAt zero), is on an
//     absence of unknown length: all their waiting tickets are due, and
//     any target pays. An agent merely off shift (BackAt set, from the
//     roster's hours) will be back and answer their own customers: their
//     ongoing conversations wait for them (unless HandOverOngoing: follow
//     the sun), and a customer nobody has answered yet is due only when
//     they would by BackAt have waited longer than StuckAfter (counted
//     from CustomerWaitingSince, or from now when that is unknown); even
//     then it moves only if someone would answer clearly sooner than the
//     owner, first thing on their return. A lunch break or a short gap
//     between split shifts then moves nothing, while a new customer who
//     would otherwise wait overnight is handed to whoever is on shift.
//  3. stuck: a ticket stuck with its ST owner goes to the available SST
//     who ranks best, when that pays; else to a HoS who takes escalations;
//     else to the front-line agent who ranks best; within the backlog
//     setting. A ticket stuck with an SST is not moved but flagged for the
//     HoS (Result.Flags). A ticket stuck with an ST that stays with them
//     because no senior can take it (no SST, nor a HoS who takes
//     escalations, is available, can open its mailbox, is below MaxOpen
//     and is not about to leave) is reported apart (Result.NoSenior), for
//     a person to look at; one a senior could take but whose move does
//     not pay, or waits for the caps, is not: the rule tries again at the
//     next run.
//  4. overload (a move that pays): from each available front-line agent's
//     queue, the newest customer nobody has answered yet (the one who
//     would wait longest, and in whom the owner has invested least) to the
//     agent who ranks best, when the move pays and the backlog setting
//     lets that agent take it; the move that saves its customer the most
//     time first, one at a time. Ongoing conversations are never taken
//     this way. Two agents tied for busiest block nothing: each queue is
//     judged on its own.
//
// No rule hands a ticket to an agent about to leave: one who could not
// start a customer joining their queue now ShiftEndMargin before their
// shift ends (Agent.AvailableUntil): what they cannot finish before they
// leave would wait for their next shift. Nor to one who cannot open
// the ticket's mailbox (Agent.Mailboxes): every rule picks among those who
// can, and a ticket nobody available can open stays where it is. Fair
// shares stay team-wide.
//
// Defaults (DefaultPolicy) and why. The caps (5 moves per run, 2 out of and
// into one agent per run, 5 new assignments per agent per hour) are
// unchanged from the first version. The hysteresis (half the wait and at
// least 30 minutes sooner) absorbs the estimate's error: one reply can take
// several times the mean, and a pace is a rate, not a promise. The backlog
// setting defaults to idle because that is what gives the best median
// without losing the tail; the README's simulation section has the
// measured frontier from idle to oldest. The rule that replaced "move when
// utilisation is above fair share" cut the simulator's reassignments from
// 15-32 to about one per 100 conversations: most of those moves undid Help
// Scout's count-based routing and were undone by it in turn, while a move
// into an idle queue uses capacity that would otherwise be wasted.
//
// Each move is applied to a working copy of the loads before the next
// decision, ties are broken by the lower id, and everything is evaluated in
// id order, so the plan does not depend on the order of the input slices.
//
// # Guarantees
//
// For every plan, whatever the snapshot:
//
//   - the same snapshot and policy give the same Result, in any input order;
//   - a move targets only an available st or sst, or, for a stuck
//     escalation only, an available HoS with Escalations set; never an
//     unavailable, excluded or ignored agent;
//   - a move never targets an agent who could not start a customer joining
//     their queue ShiftEndMargin before their shift ends (so never one
//     whose shift ends within ShiftEndMargin), nor one who cannot open the
//     ticket's mailbox (Agent.Mailboxes);
//   - a move never gives a ticket to an agent with whom a customer joining
//     the queue would wait longer than Backlog (unless BacklogOldest);
//   - a move's OwnerWait and TargetWait are the expected waits of doc.go
//     on the snapshot as the plan's earlier moves left it (NoEstimate for
//     a hand-out), and every reassignment pays for the customer and for
//     the queues;
//   - an away move takes only a waiting ticket of a front-line agent
//     unavailable for at least AwayGrace and, when that agent's BackAt is
//     set, one whose customer would by then have waited longer than
//     StuckAfter and, unless HandOverOngoing, nobody has answered yet;
//   - a stuck move takes only a ticket stuck with its available ST owner
//     (counted from AvailableSince);
//   - an overload move takes a waiting customer nobody has answered yet
//     from an available front-line agent;
//   - no ticket of an excluded agent, of the HoS or of an unknown assignee
//     moves; no pinned ticket, no ticket moved within Cooldown, no ticket with
//     agent activity within RecentActivity moves (a time in the future counts
//     as recent);
//   - a ticket in Result.NoSenior is stuck with its available ST owner,
//     and is neither moved nor flagged;
//   - no ticket moves twice in one plan;
//   - at most MaxMovesPerRun moves; at most MaxMovesPerAgent out of and,
//     separately, into any one agent; an agent's RecentAssignments plus the
//     moves into them never exceed AssignmentsPerWindow; a move never takes
//     an agent's open tickets above MaxOpen;
//   - moves appear in priority order (unassigned, away, stuck, overload);
//   - a reassignment never goes into a queue as buried as the one it
//     leaves (the queue end with the target comes strictly sooner than the
//     owner's last customer), so planning and applying repeatedly
//     converges instead of churning, even with no hysteresis at all;
//   - Result.After equals Measure of the snapshot with the moves applied
//     (Apply).
//
// Cost: a few sorts over the conversations (by id, each agent's queue by
// waiting time, and the candidates of each rule) plus O(agents) per
// decision; no rescans of the conversations per move. See the benchmarks
// for figures.
package balancer
