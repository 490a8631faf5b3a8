package helpscouttest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Routing: Help Scout's own auto-assignment of new conversations, per
// inbox (helpscout-api.md section 15). The configuration is stored per
// mailbox; the rotation (who is eligible now, and why not) is computed
// live from users' statuses and their active conversations, and
// conversations created through the state API are assigned by it.

// Routing states, assignment methods and the reasons a user is passed over,
// as Help Scout spells them.
const (
	RoutingEnabled  = "enabled"
	RoutingDisabled = "disabled"

	RoutingRoundRobin = "round_robin"
	RoutingBalanced   = "balanced"

	ReasonAtCapacity    = "at_capacity"
	ReasonAway          = "away"
	ReasonNotInRotation = "not_in_rotation"
)

// Assignment limit bounds of the routing API.
const (
	MinAssignmentLimit = 1
	MaxAssignmentLimit = 100
)

// RoutingConfig is an inbox's routing as an admin sets it.
//
// A mailbox starts with routing disabled and never configured: State
// "disabled", AssignmentLimit 0 and AssignmentMethod "" (both absent from
// GET, as the API documents them only for enabled routing), UserIDs empty.
// That is Help Scout's state for an inbox nobody has set up, and the only
// one the Standard plan has.
type RoutingConfig struct {
	State            string
	AssignmentLimit  int
	AssignmentMethod string
	UserIDs          []int64
}

// Enabled reports whether routing assigns new conversations.
func (c RoutingConfig) Enabled() bool { return c.State == RoutingEnabled }

func (c RoutingConfig) clone() RoutingConfig {
	c.UserIDs = slices.Clone(c.UserIDs)
	if c.UserIDs == nil {
		c.UserIDs = []int64{}
	}
	return c
}

// RotationEntry is one user's routing state now: their active
// conversations in the mailbox, whether routing would pick them, and if
// not, why.
type RotationEntry struct {
	UserID             int64
	ConversationsCount int
	Eligible           bool
	Reason             string // "" when eligible
}

// RoutingPermission is what the app's user may do with routing.
type RoutingPermission int

const (
	// RoutingManage: the user has "Inbox: Manage Routing" (the default).
	RoutingManage RoutingPermission = iota
	// RoutingReadOnly: GET answers, PUT is 403. Whether Help Scout splits
	// the permission this way is undocumented; it lets a test reach the
	// write's 403 after a successful read.
	RoutingReadOnly
	// RoutingDenied: GET and PUT are both 403, what helpscout-api.md
	// section 15 says to expect without the permission.
	RoutingDenied
)

// RoutingPut is one PUT /v2/mailboxes/{id}/routing the fake received.
type RoutingPut struct {
	MailboxID  int64
	Body       []byte // as sent
	StatusCode int    // what the fake answered; 204 when stored
	At         time.Time
}

// routingState is a mailbox's routing: the configuration and what the
// assignment rules remember between conversations.
type routingState struct {
	cfg RoutingConfig
	// last is the round-robin position: the alphabetical key of the user
	// routed last (zero before the first).
	last alphaKey
	// seq numbers routed assignments; routedAt[user] is the number of the
	// user's latest, for Balanced's "least recently routed" tie-break.
	seq      int64
	routedAt map[int64]int64
	// eligible is the eligible set after the last change, so that the
	// backlog is drained only when someone becomes eligible
	// (Options.RoutingDrainsBacklog).
	eligible map[int64]bool
}

// alphaKey orders users alphabetically for Round Robin: by name, ignoring
// case, then by id.
type alphaKey struct {
	name string
	id   int64
}

func (a alphaKey) compare(b alphaKey) int {
	return cmp.Or(strings.Compare(a.name, b.name), cmp.Compare(a.id, b.id))
}

func (s *Server) alphaKeyOf(id int64) alphaKey {
	return alphaKey{name: strings.ToLower(s.userName(id)), id: id}
}

// --------------------------------------------------------- state API

// SetRouting sets a mailbox's routing as an admin would in Help Scout's
// UI: with the API's validation (a state, a method, a limit of 1-100, at
// least one user when enabled, users only), but without counting as API
// traffic or being recorded among RoutingPuts. A test or the simulation
// uses it for an admin's edit made while the daemon runs. Enabling routing
// does not assign the Unassigned backlog unless Options.RoutingDrainsBacklog
// is set.
func (s *Server) SetRouting(mailboxID int64, cfg RoutingConfig) error {
	s.mu.Lock()
	defer s.unlockAfterChange()
	mb := s.mailboxes[mailboxID]
	if mb == nil {
		return fmt.Errorf("set routing of mailbox %d: %w", mailboxID, ErrNotFound)
	}
	if errs := s.validateRouting(cfg); len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, fe := range errs {
			msgs[i] = fe.Path + ": " + fe.Message
		}
		return fmt.Errorf("set routing of mailbox %d: %w: %s", mailboxID, ErrInvalid, strings.Join(msgs, "; "))
	}
	mb.routing.cfg = normalizeRouting(cfg)
	return nil
}

// Routing returns a mailbox's routing configuration.
func (s *Server) Routing(mailboxID int64) (RoutingConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[mailboxID]
	if mb == nil {
		return RoutingConfig{}, fmt.Errorf("routing of mailbox %d: %w", mailboxID, ErrNotFound)
	}
	return mb.routing.cfg.clone(), nil
}

// Rotation returns the mailbox's rotation as GET serves it now.
func (s *Server) Rotation(mailboxID int64) ([]RotationEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[mailboxID]
	if mb == nil {
		return nil, fmt.Errorf("rotation of mailbox %d: %w", mailboxID, ErrNotFound)
	}
	return s.rotationLocked(mb, s.activeCounts(mb.ID)), nil
}

// SetRoutingPermission sets what the app's user may do with routing.
func (s *Server) SetRoutingPermission(p RoutingPermission) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routingPerm = p
}

// RoutingPuts returns the routing PUTs received, in arrival order;
// ResetStats forgets them.
func (s *Server) RoutingPuts() []RoutingPut {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	out := slices.Clone(s.routingPuts)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
	}
	return out
}

// --------------------------------------------------------- the rules

// normalizeRouting drops repeated user ids (the rotation is a set; the
// first mention keeps its place).
func normalizeRouting(cfg RoutingConfig) RoutingConfig {
	seen := map[int64]bool{}
	ids := []int64{}
	for _, id := range cfg.UserIDs {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	cfg.UserIDs = ids
	return cfg
}

// validateRouting applies PUT's rules to a configuration; s.mu is held.
// Help Scout's UI lets teams join the rotation, but the API takes user ids
// only; the fake refuses a team's id like any unknown one.
func (s *Server) validateRouting(cfg RoutingConfig) []fieldError {
	var errs []fieldError
	if cfg.State != RoutingEnabled && cfg.State != RoutingDisabled {
		errs = append(errs, newFieldError("state", "Expected one of these: 'enabled', 'disabled'", cfg.State, "JSON", "EnumValue"))
	}
	switch {
	case cfg.AssignmentLimit < MinAssignmentLimit:
		errs = append(errs, newFieldError("assignmentLimit", fmt.Sprintf("must be greater than or equal to %d", MinAssignmentLimit),
			fmt.Sprint(cfg.AssignmentLimit), "JSON", "Min"))
	case cfg.AssignmentLimit > MaxAssignmentLimit:
		errs = append(errs, newFieldError("assignmentLimit", fmt.Sprintf("must be less than or equal to %d", MaxAssignmentLimit),
			fmt.Sprint(cfg.AssignmentLimit), "JSON", "Max"))
	}
	if cfg.AssignmentMethod != RoutingRoundRobin && cfg.AssignmentMethod != RoutingBalanced {
		errs = append(errs, newFieldError("assignmentMethod", "Expected one of these: 'round_robin', 'balanced'", cfg.AssignmentMethod, "JSON", "EnumValue"))
	}
	if cfg.State == RoutingEnabled && len(cfg.UserIDs) == 0 {
		errs = append(errs, newFieldError("userIds", "may not be empty", "", "JSON", "NotEmpty"))
	}
	for _, id := range cfg.UserIDs {
		if s.users[id] == nil {
			errs = append(errs, newFieldError("userIds", "Invalid user", fmt.Sprint(id), "JSON", "InvalidIdentifier"))
		}
	}
	return errs
}

// activeCounts counts each user's active conversations in a mailbox: the
// figure the assignment limit and Balanced compare ("their active
// conversations"). Help Scout does not say whether other inboxes count;
// the fake counts the routing inbox's only, as its limit is per inbox.
// s.mu is held.
func (s *Server) activeCounts(mailboxID int64) map[int64]int {
	out := map[int64]int{}
	for _, c := range s.convs {
		if c.live() && c.MailboxID == mailboxID && c.AssigneeID != 0 && c.Status == StatusActive {
			out[c.AssigneeID]++
		}
	}
	return out
}

// ineligibility says why routing would pass userID over ("" = it would
// not). Being out of the rotation comes first, then Away (status is the
// first rule of the help article), then the limit; Help Scout documents no
// order for a user who is both Away and at capacity. A disabled
// configuration is judged by its stored users and limit, since what Help
// Scout serves for a disabled inbox is not documented. s.mu is held.
func (s *Server) ineligibility(cfg RoutingConfig, userID int64, count int) string {
	u := s.users[userID]
	switch {
	case u == nil || !slices.Contains(cfg.UserIDs, userID):
		return ReasonNotInRotation
	case u.Status != StatusActive:
		return ReasonAway
	case cfg.AssignmentLimit > 0 && count >= cfg.AssignmentLimit:
		return ReasonAtCapacity
	}
	return ""
}

// rotationLocked lists the mailbox's relevant users (those in the rotation,
// in its order, then everyone else who can open the mailbox, by id) with
// their state now. Teams are not listed. s.mu is held.
func (s *Server) rotationLocked(mb *mailboxState, counts map[int64]int) []RotationEntry {
	cfg := mb.routing.cfg
	ids := slices.Clone(cfg.UserIDs)
	for _, id := range slices.Sorted(maps.Keys(s.users)) {
		u := s.users[id]
		if !slices.Contains(ids, id) && (u.Mailboxes == nil || slices.Contains(u.Mailboxes, mb.ID)) {
			ids = append(ids, id)
		}
	}
	out := make([]RotationEntry, 0, len(ids))
	for _, id := range ids {
		reason := s.ineligibility(cfg, id, counts[id])
		out = append(out, RotationEntry{UserID: id, ConversationsCount: counts[id], Eligible: reason == "", Reason: reason})
	}
	return out
}

// pick chooses who routing gives the next conversation: Round Robin takes
// the next eligible user in alphabetical order after the one routed last;
// Balanced the eligible user with the fewest active conversations, ties
// to whoever was routed least recently, then alphabetically. 0 means
// nobody is eligible. s.mu is held.
func (s *Server) pick(mb *mailboxState, counts map[int64]int) int64 {
	rs := &mb.routing
	var eligible []alphaKey
	for _, id := range rs.cfg.UserIDs {
		if s.ineligibility(rs.cfg, id, counts[id]) == "" {
			eligible = append(eligible, s.alphaKeyOf(id))
		}
	}
	if len(eligible) == 0 {
		return 0
	}
	slices.SortFunc(eligible, alphaKey.compare)
	if rs.cfg.AssignmentMethod == RoutingRoundRobin {
		for _, k := range eligible {
			if rs.last == (alphaKey{}) || k.compare(rs.last) > 0 {
				return k.id
			}
		}
		return eligible[0].id // wrap around
	}
	best := eligible[0]
	for _, k := range eligible[1:] {
		if c := cmp.Compare(counts[k.id], counts[best.id]); c < 0 || c == 0 && rs.routedAt[k.id] < rs.routedAt[best.id] {
			best = k
		}
	}
	return best.id
}

// routeLocked gives c to whoever routing picks, as Help Scout's routing
// does: a lineitem "Routing assigned to ..." (the fake attributes it to the
// token owner; the real line item's author is undocumented) and
// convo.assigned. It reports whether someone was picked. s.mu is held.
func (s *Server) routeLocked(mb *mailboxState, c *Conversation, counts map[int64]int, at time.Time) bool {
	to := s.pick(mb, counts)
	if to == 0 {
		return false
	}
	rs := &mb.routing
	rs.seq++
	if rs.routedAt == nil {
		rs.routedAt = map[int64]int64{}
	}
	rs.routedAt[to] = rs.seq
	rs.last = s.alphaKeyOf(to)
	s.setAssignee(c, s.ownerID, to, at, fmt.Sprintf("Routing assigned to %s", s.userName(to)))
	if c.Status == StatusActive {
		counts[to]++
	}
	return true
}

// routeNew routes a conversation just created, if its inbox has routing
// on. Routing takes only what it would see arrive: a customer's new
// active conversation nobody was given. One started by an agent, created
// with an assignee (a manual or Workflow assignment, which routing ignores)
// or created closed, pending or as spam is left alone. s.mu is held.
func (s *Server) routeNew(c *Conversation, nc NewConversation) {
	mb := s.mailboxes[c.MailboxID]
	if !mb.routing.cfg.Enabled() || nc.AssigneeID != 0 || nc.CreatedByUserID != 0 || c.Status != StatusActive {
		return
	}
	s.routeLocked(mb, c, s.activeCounts(mb.ID), c.CreatedAt)
}

// unlockAfterChange releases s.mu after a change that may have made
// someone eligible for routing, first draining the Unassigned backlog to
// them when Options.RoutingDrainsBacklog is set.
func (s *Server) unlockAfterChange() {
	if s.opts.RoutingDrainsBacklog {
		s.drainLocked()
	}
	s.mu.Unlock()
}

// drainLocked is the reading of helpscout-api.md section 14, question 7
// in which routing assigns the Unassigned folder when someone becomes
// eligible again (Active, back under the limit, added to the rotation, or
// routing switched on): for each inbox with routing enabled in which a
// user joined the eligible set since the last change, the active
// unassigned conversations go out oldest first, by the inbox's method,
// until the folder is empty or nobody is eligible. s.mu is held.
func (s *Server) drainLocked() {
	for _, id := range slices.Sorted(maps.Keys(s.mailboxes)) {
		mb := s.mailboxes[id]
		rs := &mb.routing
		if !rs.cfg.Enabled() {
			rs.eligible = nil
			continue
		}
		mc := s.activeCounts(id)
		now := s.eligibleSet(rs.cfg, mc)
		gained := false
		for uid := range now {
			if !rs.eligible[uid] {
				gained = true
			}
		}
		if gained {
			at := s.now()
			for _, c := range s.backlog(id) {
				if !s.routeLocked(mb, c, mc, at) {
					break
				}
			}
			now = s.eligibleSet(rs.cfg, mc)
		}
		rs.eligible = now
	}
}

func (s *Server) eligibleSet(cfg RoutingConfig, counts map[int64]int) map[int64]bool {
	out := map[int64]bool{}
	for _, uid := range cfg.UserIDs {
		if s.ineligibility(cfg, uid, counts[uid]) == "" {
			out[uid] = true
		}
	}
	return out
}

// backlog is the mailbox's Unassigned folder as routing would drain it:
// live, active, unassigned conversations, oldest first. s.mu is held.
func (s *Server) backlog(mailboxID int64) []*Conversation {
	var out []*Conversation
	for _, c := range s.convs {
		if c.live() && c.MailboxID == mailboxID && c.AssigneeID == 0 && c.Status == StatusActive {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *Conversation) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// --------------------------------------------------------- HTTP

func (s *Server) handleGetRouting(w http.ResponseWriter, r *http.Request, id int64) {
	s.mu.Lock()
	if s.routingPerm == RoutingDenied {
		s.mu.Unlock()
		s.writeFailure(w, http.StatusForbidden)
		return
	}
	mb := s.mailboxes[id]
	if mb == nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "Resource not found")
		return
	}
	if s.revoked[id] {
		s.mu.Unlock()
		s.writeFailure(w, http.StatusForbidden)
		return
	}
	cfg := mb.routing.cfg.clone()
	body := wireRouting{
		State: cfg.State, AssignmentLimit: cfg.AssignmentLimit, AssignmentMethod: cfg.AssignmentMethod,
		UserIDs: cfg.UserIDs, Rotation: []wireRotation{},
	}
	for _, e := range s.rotationLocked(mb, s.activeCounts(id)) {
		body.Rotation = append(body.Rotation, wireRotation(e))
	}
	body.Links.Self = link("%s/v2/mailboxes/%d/routing", baseURL(r), id)
	s.mu.Unlock()
	writeHAL(w, body)
}

// handlePutRouting is PUT /v2/mailboxes/{id}/routing: 403 without the
// permission, 404 for an unknown mailbox, 400 listing every broken rule,
// or 204 with the whole configuration replaced.
func (s *Server) handlePutRouting(w http.ResponseWriter, r *http.Request, id int64) {
	rec := RoutingPut{MailboxID: id}
	defer func() {
		s.ctl.Lock()
		s.routingPuts = append(s.routingPuts, rec)
		s.ctl.Unlock()
	}()
	fail := func(status int, errs ...fieldError) {
		rec.StatusCode = status
		s.writeFailure(w, status, errs...)
	}
	s.mu.Lock()
	perm := s.routingPerm
	rec.At = s.now()
	s.mu.Unlock()
	if perm != RoutingManage {
		fail(http.StatusForbidden)
		return
	}
	b, err := readBody(r)
	if err != nil {
		fail(http.StatusRequestEntityTooLarge)
		return
	}
	rec.Body = b
	cfg, errs, bad, ok := parseRouting(b)
	if !ok {
		fail(http.StatusBadRequest, newFieldError("", "Malformed JSON", "", "JSON", "ValueNotSupported"))
		return
	}

	s.mu.Lock()
	defer s.unlockAfterChange()
	mb := s.mailboxes[id]
	if mb == nil {
		fail(http.StatusNotFound)
		return
	}
	if s.revoked[id] {
		fail(http.StatusForbidden)
		return
	}
	for _, fe := range s.validateRouting(cfg) {
		if !bad[fe.Path] {
			errs = append(errs, fe)
		}
	}
	if len(errs) > 0 {
		fail(http.StatusBadRequest, errs...)
		return
	}
	mb.routing.cfg = normalizeRouting(cfg)
	rec.StatusCode = http.StatusNoContent
	writeNoContent(w, http.StatusNoContent)
}

// parseRouting reads PUT's body: each of the four keys is required and
// typed. It returns the errors found so far and the paths they concern
// (so that the rules are not checked again on a value that could not be
// read); ok is false when the body is not a JSON object.
func parseRouting(b []byte) (cfg RoutingConfig, errs []fieldError, bad map[string]bool, ok bool) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return cfg, nil, nil, false
	}
	bad = map[string]bool{}
	field := func(path string, into any, anchor, msg string) {
		v, present := raw[path]
		if !present || string(v) == "null" {
			errs = append(errs, newFieldError(path, "may not be null", "", "JSON", "NotNull"))
			bad[path] = true
			return
		}
		if err := json.Unmarshal(v, into); err != nil {
			errs = append(errs, newFieldError(path, msg, string(v), "JSON", anchor))
			bad[path] = true
		}
	}
	field("state", &cfg.State, "EnumValue", "Expected one of these: 'enabled', 'disabled'")
	field("assignmentLimit", &cfg.AssignmentLimit, "InvalidNumber", "Invalid number")
	field("assignmentMethod", &cfg.AssignmentMethod, "EnumValue", "Expected one of these: 'round_robin', 'balanced'")
	field("userIds", &cfg.UserIDs, "InvalidNumber", "Expected an array of user ids")
	return cfg, errs, bad, true
}
