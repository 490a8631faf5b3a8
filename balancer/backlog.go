package balancer

// BacklogKeeps lists the waiting tickets of s that the backlog setting
// (Policy.Backlog) keeps where they are: the away or stuck rule would hand
// them on, and someone could take them, but the rule's check that a
// customer joining the taker's queue would wait at most Backlog
// (backlogAllows, the very check Plan makes) fails for every one of them.
// Under BacklogIdle (the default) that is: everyone who could take the
// ticket has customers waiting. Such a ticket stays with its owner
// whatever its wait, until someone's queue empties or a person steps in,
// so the queue page says so rather than promising a hand-over.
//
// The tickets asked about are the customers waiting on a front-line agent
// (ST or SST) who is unavailable (the away rule's, whether or not the
// grace period has passed yet: it asks who could take them now), or on an
// available ST (the stuck rule's, stuck yet or not). An available SST's
// stuck ticket is flagged, never moved, so the backlog does not decide it.
// Who could take a ticket is asked as Result.NoSenior asks it: the rule's
// tiers (the away rule's front-line agents; for an ST's stuck ticket also
// the SSTs and a head of support who takes escalations), not the owner,
// able to open its mailbox, below MaxOpen and not about to leave, the
// per-run caps aside. A ticket nobody at all could take is not listed:
// the backlog is not what keeps it. Nor is any ticket under BacklogOldest
// or a policy that fails Validate.
//
// The answer is the queues as they stand, before any move of a plan; the
// result maps conversation ids to true.
func BacklogKeeps(s Snapshot, p Policy) map[int64]bool {
	kept := map[int64]bool{}
	if p.Validate() != nil || p.Backlog == BacklogOldest {
		return kept
	}
	pl := newPlanner(newModel(s, p))
	// takers says, for a mailbox key, a set of tiers and an owner, whether
	// anyone could take the ticket and whether anyone the backlog lets take
	// it could. Who can depends on the ticket only through those, so the
	// two best of each are kept per mailbox and rule (the owner may be one).
	type key struct {
		mb    int64
		stuck bool
	}
	type best struct{ any, free [2]int32 }
	cache := map[key]best{}
	tiers := func(stuck bool) []tier {
		if stuck {
			return []tier{tierSenior, tierEscalation, tierGeneral}
		}
		return []tier{tierGeneral}
	}
	note := func(two *[2]int32, i int32) {
		switch {
		case two[0] < 0:
			two[0] = i
		case two[1] < 0 && two[0] != i:
			two[1] = i
		}
	}
	other := func(two [2]int32, owner int32) bool {
		return two[0] >= 0 && two[0] != owner || two[1] >= 0 && two[1] != owner
	}
	for _, ci := range pl.order {
		c := &pl.convs[ci]
		o := pl.owner[ci]
		if o < 0 || classOf(c) != classWaiting {
			continue
		}
		a := &pl.agents[o]
		if a.kind != kindPool || a.available && a.ag.Role != RoleST {
			continue
		}
		k := key{pl.mailboxKey(c), a.available}
		b, ok := cache[k]
		if !ok {
			b = best{any: [2]int32{-1, -1}, free: [2]int32{-1, -1}}
			for i := range pl.agents {
				t := &pl.agents[i]
				for _, tr := range tiers(k.stuck) {
					if pl.eligible(t, tr) && t.canOpen(c.MailboxID) {
						note(&b.any, int32(i))
						if pl.backlogAllows(t) {
							note(&b.free, int32(i))
						}
						break
					}
				}
			}
			cache[k] = b
		}
		if other(b.any, o) && !other(b.free, o) {
			kept[c.ID] = true
		}
	}
	return kept
}
