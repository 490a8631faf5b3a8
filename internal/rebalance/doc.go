// Package rebalance runs the balancer against the mirror and carries its
// moves out: it plans from the team's view (internal/team builds the
// balancer.Snapshot from the store and the roster), stores every proposed
// move as a proposal (the audit log), and applies approved proposals
// through Help Scout.
//
// Applying is careful by construction. A proposal is claimed atomically
// (approved -> applying) so it can never be applied twice; the conversation
// is re-read first and the move is dropped as stale if its assignee, status
// or latest customer message changed since the plan; only then is
// /assignTo patched and a private note added that explains the move in
// plain words. A failure is recorded with its reason and never retried
// blindly: the next plan decides afresh (own mode's next route pass, for a
// first assignment that failed, up to three times). A move stopped before
// anything was written (the daemon stopping, or the SST's request ending,
// during its re-read) was not tried: it goes back to approved, and the
// next run applies it.
//
// With QW_ROUTING=steer (steer.go) it also keeps each balanced inbox's
// Help Scout routing rotation to the people balancer.Rotation picks, within
// the admin's set, which it remembers in the store with every change it
// makes or adopts; it never touches routing's state, method or limit.
//
// With QW_ROUTING=own, a Router gives each new conversation its first
// owner within seconds of its webhook (or at the poll that first stores
// it): a hand-out planned by balancer.Route under the same plan lock as a
// run, applied the same careful way, with no note and without approval
// (own.go says why).
//
// The package decides nothing itself: the rules live in balancer.
package rebalance
