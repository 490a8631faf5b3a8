// Package sim is a seeded, deterministic discrete-event model of a support
// team working a Help Scout mailbox. It drives `queuewrangler simulate`,
// which scores routing policies on the same simulated week, and the live
// accounts of `queuewrangler demo` and `fake-helpscout`.
//
// The model must not know the balancer exists. The world (world.go) sees
// only assignments: Help Scout's routing (routing.go) picks an owner at
// arrival from the inbox's configuration, and an optional wrangler may
// reassign tickets and rewrite the routing rotation, exactly as people see
// their Help Scout queues and an admin sees the routing page change. The
// queuewrangler policies (policy.go) are such a wrangler: they convert
// what Help Scout would show (observe.go) with the daemon's own
// conversion, team.SnapshotFrom, run balancer.Plan, balancer.Rotation
// or balancer.Route with balancer.DefaultPolicy (StuckAfter from the
// scenario) and apply the result. Nothing in the world is tuned to that
// algorithm. The model must
// not read the wall clock, use global randomness or do I/O beyond reading
// scenario files; only the live mode below runs in real time and serves.
//
// # Assumptions of the model
//
// Time and randomness:
//   - Time is simulated: events (arrivals, replies sent, customer answers,
//     shift and absence changes, samples, balancer runs) are played in time
//     order, ties in the order they were scheduled. Nothing depends on map
//     order or the wall clock, so a scenario and seed give the same result.
//   - Everything random is drawn up front from the seed: the arrival times
//     from one stream; each conversation's work from its own stream (whether
//     it is hard, how many replies it needs, each reply's handle time and
//     each customer answer's delay, in units of the means). Every policy
//     therefore faces the very same customers and the very same work; only
//     who does it, and when, differs.
//   - A run starts at the scenario's "start" (RFC 3339; by default 00:00
//     UTC on Monday 5 January 2026, winter time in the northern time
//     zones), with empty queues and an empty mirror, as a
//     daemon on its first day would. The scenario's offsets (away at and
//     until, surges) count from that moment, and a 168h run ends with the
//     weekend: what arrives then and is not answered by the end counts
//     with its wait so far (score.go). --warmup plays the same world for a
//     while before that Monday (warmup.go) and scores only what follows,
//     for a daemon with history.
//
// Customers:
//   - Conversations arrive as a Poisson process whose rate is constant
//     within each hour: arrivals.per_hour × hourly_profile[hour of the UTC
//     day] × weekend_factor on Saturdays and Sundays (UTC) × the factor of
//     any surge covering the moment. Every conversation is started by a
//     customer by email, in one mailbox.
//   - A conversation needs 1 + Poisson(replies_to_resolve_mean − 1) agent
//     replies. After each reply but the last the agent sets it pending, and
//     the customer answers after an exponential delay with mean
//     customer_reply_minutes_mean (at any hour); Help Scout reopens it
//     (active) in the same owner's queue. It is closed with its last needed
//     reply. Customers never give up, and nobody writes notes.
//   - A hard_fraction of conversations are hard: each of their replies takes
//     hard_factor times longer.
//
// People:
//   - A member is available when on shift (their roster "hours" read in
//     their time zone with the roster's own schedule logic; no hours means
//     always on shift) and not within one of their "away" stretches (Help
//     Scout's Away status). Routing and the balancer see the same
//     availability.
//   - Each available member works one ticket at a time, non-preemptively:
//     from their own queue, the active ticket whose customer has waited
//     longest. A reply takes handle_minutes_mean × (an Erlang-2 draw with
//     mean 1) ÷ speed, times hard_factor for a hard ticket. Someone going off
//     shift or away finishes the reply in hand, then stops.
//   - When their own queue has nothing waiting, an st or sst takes the
//     oldest ticket in the Unassigned folder (assigning it to themselves):
//     at once when they finish a reply, and, when they are already idle as
//     a conversation lands in the folder, five minutes later (noticeDelay):
//     nobody watches the folder every second.
//     The head of support (hos) and excluded members never receive routed
//     tickets and never pick from the folder; they only work what they are
//     given (the balancer may escalate to a hos whose scenario entry has
//     "escalations": true, the roster's field of that name).
//   - Level is the roster's seniority (the balancer's capacity weight);
//     it does not change how fast someone works: speed does. Getting stuck
//     is not scripted: it is what happens when a slow person draws a hard
//     ticket and their queue waits behind it.
//   - Every reply sent is a published email reply in Help Scout's history,
//     from which the daemon's view learns each agent's pace (team's
//     PaceWindow, counted from the first reply of the run, as from a mirror
//     that young); replies abandoned by a move were never sent and do not
//     count. The world does not know what the pace is for.
//   - A move takes the ticket out of its owner's queue at once. A reply
//     the old owner was writing is lost, and the new owner starts that reply
//     afresh: the pessimistic reading of a move, which never flatters the
//     wrangler.
//
// Help Scout's routing (helpscout-api.md section 15), as the world plays
// it:
//   - The inbox's configuration holds the rotation (userIds: at the start
//     every st and sst, the admin's set) and the assignment limit
//     (routing.assignment_limit, default 100). Someone is eligible when
//     they are in the rotation, Active (which the model ties to being on
//     shift and not away, as for everything else) and have fewer active
//     conversations than the limit.
//   - Round Robin picks the next eligible person alphabetically; Balanced
//     the eligible person with the fewest active conversations (ties: least
//     recently routed, then alphabetical). With nobody eligible, a new
//     conversation stays in the Unassigned folder.
//   - routing.drains_backlog (default false, the pessimistic reading of
//     helpscout-api.md section 14, question 7): when true, whenever someone
//     may have become eligible again (on shift or Active, back under the
//     limit, added to the rotation) routing assigns the folder, oldest
//     first, while anyone is eligible. When false, the folder waits for
//     people to take from it.
//   - A program may rewrite the rotation (setRotation), as PUT
//     /v2/mailboxes/{id}/routing does; an empty rotation is refused (400)
//     and leaves the configuration as it was. Each change counts as one
//     write.
//   - Help Scout's webhook for a new conversation reaches a listening
//     wrangler 10 seconds after the customer wrote in (webhookDelay:
//     delivery plus the daemon's handling, rounded up), after routing has
//     acted. Every other change the daemon sees at its interval.
//
// Policies (design.md section 10), each on the same seeded arrivals:
//   - none: Round Robin routing over the admin's rotation; nobody
//     wrangles.
//   - balanced: Balanced routing; nothing moves afterwards.
//   - queuewrangler: Balanced routing plus the daemon in RecommendedMode
//     (steer; helpscout with --routing helpscout) in apply mode: every
//     balance_interval (default 5m) it plans (balancer.Plan) and its moves
//     are applied at once; in steer mode it also writes the rotation
//     balancer.Rotation asks for, at each run and at each new
//     conversation's webhook, which are the moments the real daemon can
//     act (it cannot act before routing does).
//   - queuewrangler-own: routing off; the daemon assigns each new
//     conversation at its webhook (balancer.Route) and plans every
//     interval. A conversation nobody could take waits in the folder.
//
// Scores:
//   - first response: creation to the first agent reply; resolution:
//     creation to the close. A conversation still unanswered (unresolved)
//     at the end counts with its wait so far: a lower bound, never harsher
//     on the policy that leaves more customers waiting. Percentiles are
//     nearest-rank.
//   - waiting_over_stuck_share: the share of conversations in which the
//     customer ever waited longer than stuck_after for a reply (any of their
//     messages, including one still waiting at the end).
//   - imbalance_ratio_mean and jain_mean: balancer.Measure of the daemon's
//     view, sampled every 5 simulated minutes and averaged over the samples
//     in which at least two front-line people are available and there is
//     open work (otherwise both are 1 by definition, whatever the policy).
//   - first_response_mean_seconds: the mean of the same first responses.
//     Serving customers in another order changes who waits, not the total;
//     the mean moves when capacity is gained or lost.
//   - moves_per_100 = handouts_per_100 + reassignments_per_100: every move
//     the daemon made per 100 conversations, split into hand-outs of
//     tickets nobody owned (including own mode's first assignments) and
//     reassignments from one person to another. The table also shows where
//     they came from (Result.Churn): moves by rule, the conversations that
//     arrived while nobody was eligible, those people took from the folder,
//     rotation writes, and replies lost to moves.
//   - simulate --seeds (RunSuite): every scenario under every seed; per
//     scenario and policy, the median and the worst (highest) ratio of each
//     score to balanced on the same scenario and seed, and the moves per
//     100 as they are (balanced makes none).
//
// # Live mode
//
// Live plays the same model against a helpscouttest.Server in accelerated
// time (Clock: Speed simulated seconds per real second, after an optional
// warm-up played at once): conversations, agent replies that leave the
// conversation pending or close it, customer answers and Away status go
// through the fake's state API, which emits signed webhooks. Routing at
// arrival stands in for Help Scout's (the fake has none); any other
// reassignment the team reads back from the fake, so the daemon's moves
// over HTTP change who works what. Nobody writes notes in the model, so the
// live team writes none either (the daemon's own move notes are its own).
//
// Account is such a live run with its fake: the simulation's clock, the
// team's roster for the daemon, and Serve, which serves the fake and runs
// the team. RunDemo and ServeFake are the demo and fake-helpscout around
// it (ports, secrets, what to print); main parses their flags, builds the
// daemon's configuration and hands in httpapi.Serve, so that the fake is
// served with the daemon's bounds while this package knows nothing of the
// HTTP edge and never reads configuration.
package sim
