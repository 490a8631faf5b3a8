// Package team is the one read model of the people and their work. It
// builds, from the mirror (internal/store) and the roster, the balancer's
// input (balancer.Snapshot) together with one Agent per person, and serves
// that same Agent to everyone who shows the team: the queue page and the
// JSON API (Reader.Agents), the scrape-time metrics (Reader.State, a
// metrics.StateSource) and the simulation (Build and SnapshotFrom, from
// the store rows its world shows). A fact about an agent is therefore
// worked out in one place, here, and the others only render it.
//
// Availability comes from the roster's hours and Help Scout's Away status
// (roster.Profile.Available); the load, fair share and load ratio come from
// balancer.Measure over the same snapshot the balancer plans from, so the
// page, the API, /metrics and a plan never disagree.
//
// An agent's pace, replies per working hour, is learned from the mirror's
// replies over PaceWindow and the roster's hours, with the level's
// capacity weight as the prior while the history is thin (pace.go). The
// scrape reads no reply history: /metrics exports no pace.
//
// What happens next to a stuck ticket (NextSteps), which the page and the
// API both say, is worked out here too, once: from the team, the open
// proposals and QW_MODE. It restates the balancer's cases in words (who
// keeps their tickets, which rule acts when) and decides nothing, so a
// change to who or when in balancer/plan.go must change NextSteps.Of and
// its test with it.
//
// Whether a move's receiver can still take its ticket (Agent.Unfit: there,
// able to open the mailbox, someone the roster lets a plan choose, below
// max_open, not ending their shift within the policy's ShiftEndMargin) is
// stated here once too: rebalance checks it at the moment of
// the move and skips the move as stale, and the queue page warns with it
// on the pending move, so the two cannot disagree. It restates the
// balancer's choice of a receiver, so a change there must change Unfit.
//
// # What it must not do
//
// It decides nothing: the rules live in balancer, the moves in rebalance.
// It never writes to the store, never calls Help Scout, never logs and
// starts no goroutine beyond the parallel reads of one scrape, which end
// before State returns. Its conversions are pure and table-tested.
package team
