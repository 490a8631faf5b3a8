package balancer

// Apply returns a copy of s with the moves carried out the way the daemon
// carries them out, for simulations and for checking a plan: a conversation
// whose assignee is still the move's From gets To as assignee and s.Now as
// LastMovedAt, and the receiving agent's RecentAssignments grows by one. A
// move whose conversation is unknown or has changed hands is skipped, as a
// stale proposal would be. s itself is not modified.
func Apply(s Snapshot, moves []Move) Snapshot {
	out := Snapshot{
		Now:           s.Now,
		Agents:        append([]Agent(nil), s.Agents...),
		Conversations: append([]Conversation(nil), s.Conversations...),
	}
	convs := make(map[int64]int, len(moves))
	for _, mv := range moves {
		convs[mv.ConversationID] = -1
	}
	for i, c := range out.Conversations {
		if _, ok := convs[c.ID]; ok {
			convs[c.ID] = i
		}
	}
	agents := make(map[int64]int, len(out.Agents))
	for i, a := range out.Agents {
		agents[a.ID] = i
	}
	for _, mv := range moves {
		i := convs[mv.ConversationID]
		if i < 0 || out.Conversations[i].AssigneeID != mv.From {
			continue
		}
		out.Conversations[i].AssigneeID = mv.To
		out.Conversations[i].LastMovedAt = s.Now
		if a, ok := agents[mv.To]; ok {
			out.Agents[a].RecentAssignments++
		}
	}
	return out
}
