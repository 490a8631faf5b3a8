// Package balancer is queuewrangler's equitable-load algorithm: given a
// snapshot of the team and its conversations, Plan says which tickets to
// move, to whom and why, and Measure gives the fairness figures the queue
// page and the metrics show.
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
// weight (Weight) is 1 when it is active and the customer is waiting on us
// (the last message is the customer's), Policy.PendingWeight (0.25) when it
// is pending or active with an agent speaking last, and 0 when closed or
// spam. The unassigned queue is the active unassigned conversations,
// weighed the same way.
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
// than Policy.StuckAfter counted from CustomerWaitingSince (IsStuck). That
// is the figure the page and the metrics report. The stuck rule (rule 3)
// acts on a narrower set, tickets stuck with their owner: the owner is
// available and the customer has waited longer than StuckAfter since the
// owner became available (Agent.AvailableSince) and since the owner got the
// ticket (Conversation.AssignedAt), so that an agent is not relieved of the
// night's queue ten minutes into their shift, nor of a ticket an SST handed
// them ten minutes ago.
//
// Ongoing conversation: one an agent has replied to (AgentReplied). Rules 2
// and 4 leave ongoing conversations with the agent who knows them whenever
// that agent is coming back at a known time; the stuck rule is their
// safety net.
//
// # The rules, in priority order
//
//  1. unassigned: the unassigned queue, oldest waiting first, each ticket to
//     the available front-line agent with the lowest utilisation after
//     taking it. The customer's previous agent, if available and under fair
//     share, has their utilisation multiplied by 1 - PreviousAgentBonus for
//     the comparison.
//  2. away: the waiting tickets of front-line agents unavailable for at
//     least AwayGrace, oldest waiting first, to available agents the same
//     way, when they are due. Being away and being off shift differ. An
//     agent Away in Help Scout, or off shift with no known next shift
//     (Agent.BackAt zero), is on an absence of unknown length: all their
//     waiting tickets are due. An agent merely off shift (BackAt set, from
//     the roster's hours) will be back and answer their own customers: their
//     ongoing conversations wait for them (unless HandOverOngoing: follow
//     the sun), and a customer nobody has answered yet is due only when
//     they would by BackAt have waited
//     longer than StuckAfter (counted from CustomerWaitingSince, or from now
//     when that is unknown). A lunch break or a short gap between split
//     shifts then moves nothing, while a new customer who would otherwise
//     wait overnight is still handed to whoever is on shift.
//  3. stuck: a ticket stuck with its ST owner goes to the least utilised
//     available SST; when no SST can take it, to a HoS who takes
//     escalations; else to the least utilised available front-line agent.
//     A ticket stuck with an SST is not moved but flagged for the HoS
//     (Result.Flags).
//  4. overload: while an available front-line agent is outside the
//     hysteresis band, that is their load exceeds their fair share by more
//     than OverloadTolerance (relative, 50%) and their utilisation exceeds
//     the fair utilisation by at least OverloadMargin (absolute: 2 tickets
//     for a capacity-1 agent, 1 for a half-capacity junior), take the most
//     utilised such agent and move the ticket they invested least in (a
//     customer nobody has answered yet, waiting first, then newest) to the
//     agent with the lowest utilisation after taking it, provided the move
//     lowers the imbalance by at least MinGain and leaves the target no
//     busier than the source. Ongoing conversations are never taken off an
//     overloaded agent. While two agents tie for busiest no single move
//     lowers the imbalance, so neither is relieved by this rule: hand-outs
//     (rules 1 and 2) go to the least utilised meanwhile, and the first
//     ticket either of them closes breaks the tie. The absolute margin
//     exists because the relative band alone is tight in a small team:
//     with fair shares of 3, one extra ticket is 33% over, and moving it is
//     churn that the next arrivals and replies would even out on their own.
//
// No rule hands a ticket to an agent whose shift ends within
// ShiftEndMargin (Agent.AvailableUntil): what they cannot finish before
// they leave would wait for their next shift. Nor to one who cannot open
// the ticket's mailbox (Agent.Mailboxes): every rule picks among those who
// can, and a ticket nobody available can open stays where it is. Fair
// shares stay team-wide.
//
// Defaults (DefaultPolicy) and why. The caps (5 moves per run, 2 out of and
// into one agent per run, 5 new assignments per agent per hour) and MinGain
// (0.02) are unchanged from the first version. The band was 25% at first;
// 50% cut the simulator's overload moves by about a third with no loss on
// first response, because Help Scout's routing counts tickets while the
// split weighs capacity, so a narrow band spends moves undoing routing
// that the next arrivals would partly undo again. Measured in the simulator, tighter
// per-run caps or a higher MinGain mostly shift the same moves from one rule
// to another; a tighter per-window cap does cut moves, but it also blocks
// stuck escalations (the cap counts every assignment, and the unassigned and
// away rules come first), so a customer past the threshold would stay stuck
// for the sake of churn. The rules above, not the caps, carry the reduction.
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
//   - a move never targets an agent whose shift ends within ShiftEndMargin,
//     nor one who cannot open the ticket's mailbox (Agent.Mailboxes);
//   - an away move takes only a waiting ticket of a front-line agent
//     unavailable for at least AwayGrace and, when that agent's BackAt is
//     set, one whose customer would by then have waited longer than
//     StuckAfter and, unless HandOverOngoing, nobody has answered yet;
//   - a stuck move takes only a ticket stuck with its available ST owner
//     (counted from AvailableSince);
//   - an overload move takes a ticket nobody has answered yet from an
//     agent whose load, before the move, is above their fair share by more
//     than OverloadTolerance and by at least OverloadMargin × their
//     capacity;
//   - no ticket of an excluded agent, of the HoS or of an unknown assignee
//     moves; no pinned ticket, no ticket moved within Cooldown, no ticket with
//     agent activity within RecentActivity moves (a time in the future counts
//     as recent);
//   - no ticket moves twice in one plan;
//   - at most MaxMovesPerRun moves; at most MaxMovesPerAgent out of and,
//     separately, into any one agent; an agent's RecentAssignments plus the
//     moves into them never exceed AssignmentsPerWindow; a move never takes
//     an agent's open tickets above MaxOpen;
//   - moves appear in priority order (unassigned, away, stuck, overload);
//   - every overload move lowers the imbalance by at least MinGain (and
//     strictly, even at MinGain 0) and leaves the target no busier than the
//     source, so the busiest utilisation never rises and planning and
//     applying repeatedly converges instead of churning;
//   - Result.After equals Measure of the snapshot with the moves applied
//     (Apply).
//
// Cost: a few sorts over the conversations (by id, and the candidates of
// each rule by waiting time) plus O(agents) per move; no rescans of the
// conversations per move. See the benchmarks for figures.
package balancer
