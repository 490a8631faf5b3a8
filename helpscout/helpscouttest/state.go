package helpscouttest

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// idAllocator hands out ids in the ranges seen in the recordings. The gaps
// make ids non-contiguous without randomness; conversations cross 2^31 and
// threads cross 2^32 after a few dozen, so 32-bit decoding breaks early.
type idAllocator struct {
	n                                                       int64
	mailbox, user, customer, conv, thread, tag, folder, num int64
}

func newIDAllocator() idAllocator {
	return idAllocator{
		mailbox:  108500,
		user:     190950,
		customer: 175406000,
		conv:     2147483200,
		thread:   4294966000,
		tag:      3194300,
		folder:   1675970,
		num:      190000,
	}
}

func (a *idAllocator) next(p *int64, gap int64) int64 {
	a.n++
	*p += 1 + (a.n*37)%gap
	return *p
}

// claim reserves an explicit id so that allocation never hands it out again.
func claim(p *int64, id int64) {
	if id > *p {
		*p = id
	}
}

// ---------------------------------------------------------------- account

// AddMailbox adds a mailbox (ID 0 = allocate one) with its standard folders.
func (s *Server) AddMailbox(m Mailbox) (Mailbox, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.ID == 0 {
		m.ID = s.ids.next(&s.ids.mailbox, 97)
	} else if _, dup := s.mailboxes[m.ID]; dup {
		return Mailbox{}, fmt.Errorf("add mailbox %d: %w: duplicate id", m.ID, ErrInvalid)
	}
	claim(&s.ids.mailbox, m.ID)
	now := s.now()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	if m.UpdatedAt.IsZero() {
		m.UpdatedAt = m.CreatedAt
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC().Truncate(time.Second), m.UpdatedAt.UTC().Truncate(time.Second)
	if m.Name == "" {
		m.Name = fmt.Sprintf("Mailbox %d", m.ID)
	}
	if m.Slug == "" {
		m.Slug = fmt.Sprintf("%016x", uint64(m.ID)*0x9e3779b97f4a7c15)
	}
	if m.Email == "" {
		m.Email = fmt.Sprintf("mailbox%d@example.com", m.ID)
	}
	ms := &mailboxState{Mailbox: m, folders: map[string]int64{}}
	ms.routing.cfg = RoutingConfig{State: RoutingDisabled, UserIDs: []int64{}}
	for _, ft := range folderTypes {
		ms.folders[ft.typ] = s.ids.next(&s.ids.folder, 3)
	}
	for _, tid := range slices.Sorted(maps.Keys(s.teams)) {
		ms.folders[teamFolderKey(tid)] = s.ids.next(&s.ids.folder, 3)
	}
	s.mailboxes[m.ID] = ms
	return m, nil
}

// folderTypes are the standard folders of the recording, in its order.
var folderTypes = []struct{ typ, name string }{
	{"open", "Unassigned"},
	{"mytickets", "Mine"},
	{"needs_attn", "Needs Attention"},
	{"drafts", "Drafts"},
	{"assigned", "Assigned"},
	{"closed", "Closed"},
	{"spam", "Spam"},
}

func teamFolderKey(teamID int64) string { return fmt.Sprintf("team:%d", teamID) }

// AddUser adds a user (ID 0 = allocate one). Defaults: role "user",
// timezone "UTC", status "active". The first owner (or the first user) is
// the token owner: /v2/users/me and the default actor of API writes.
func (s *Server) AddUser(u User) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == 0 {
		u.ID = s.ids.next(&s.ids.user, 4001)
	} else if s.users[u.ID] != nil || s.teams[u.ID] != nil {
		return User{}, fmt.Errorf("add user %d: %w: duplicate id", u.ID, ErrInvalid)
	}
	claim(&s.ids.user, u.ID)
	now := s.now()
	u.Role = cmp.Or(u.Role, "user")
	u.Timezone = cmp.Or(u.Timezone, "UTC")
	u.Status = cmp.Or(u.Status, StatusActive)
	if u.Status != "active" && u.Status != "away" {
		return User{}, fmt.Errorf("add user %d: %w: status %q", u.ID, ErrInvalid, u.Status)
	}
	u.CreatedAt = trunc(cmp.Or(u.CreatedAt, now))
	u.UpdatedAt = trunc(cmp.Or(u.UpdatedAt, u.CreatedAt))
	u.StatusUpdatedAt = trunc(cmp.Or(u.StatusUpdatedAt, u.UpdatedAt))
	if u.FirstName == "" && u.LastName == "" {
		u.FirstName = fmt.Sprintf("User%d", u.ID)
	}
	if u.Email == "" {
		u.Email = fmt.Sprintf("user%d@example.com", u.ID)
	}
	cp := u
	cp.Mailboxes = slices.Clone(u.Mailboxes) // nil stays nil: every mailbox
	s.users[u.ID] = &cp
	if s.ownerID == 0 || (u.Role == "owner" && s.users[s.ownerID].Role != "owner") {
		s.ownerID = u.ID
	}
	return u, nil
}

// SetOwner makes userID the token owner (/v2/users/me, default actor).
func (s *Server) SetOwner(userID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[userID] == nil {
		return fmt.Errorf("set owner %d: %w", userID, ErrNotFound)
	}
	s.ownerID = userID
	return nil
}

// AddTeam adds a team (ID 0 = allocate one); members must be users.
func (s *Server) AddTeam(t Team) (Team, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.ID == 0 {
		t.ID = s.ids.next(&s.ids.user, 4001)
	} else if s.users[t.ID] != nil || s.teams[t.ID] != nil {
		return Team{}, fmt.Errorf("add team %d: %w: duplicate id", t.ID, ErrInvalid)
	}
	claim(&s.ids.user, t.ID)
	for _, m := range t.MemberIDs {
		if s.users[m] == nil {
			return Team{}, fmt.Errorf("add team %d: member %d: %w", t.ID, m, ErrNotFound)
		}
	}
	now := s.now()
	t.Name = cmp.Or(t.Name, fmt.Sprintf("Team %d", t.ID))
	t.Timezone = cmp.Or(t.Timezone, "UTC")
	t.CreatedAt = trunc(cmp.Or(t.CreatedAt, now))
	t.UpdatedAt = trunc(cmp.Or(t.UpdatedAt, t.CreatedAt))
	cp := t.clone()
	s.teams[t.ID] = &cp
	for _, mid := range slices.Sorted(maps.Keys(s.mailboxes)) {
		s.mailboxes[mid].folders[teamFolderKey(t.ID)] = s.ids.next(&s.ids.folder, 3)
	}
	return t.clone(), nil
}

// AddCustomer adds a customer (ID 0 = allocate one).
func (s *Server) AddCustomer(c Customer) (Customer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == 0 {
		c.ID = s.ids.next(&s.ids.customer, 50021)
	} else if s.customers[c.ID] != nil {
		return Customer{}, fmt.Errorf("add customer %d: %w: duplicate id", c.ID, ErrInvalid)
	}
	claim(&s.ids.customer, c.ID)
	if c.Email == "" {
		c.Email = fmt.Sprintf("customer%d@example.net", c.ID)
	}
	cp := c
	s.customers[c.ID] = &cp
	return c, nil
}

// SetUserStatus sets a user's Active/Away status (source "api").
func (s *Server) SetUserStatus(userID int64, status string) error {
	if status != "active" && status != "away" {
		return fmt.Errorf("set user %d status: %w: %q", userID, ErrInvalid, status)
	}
	s.mu.Lock()
	defer s.unlockAfterChange()
	u := s.users[userID]
	if u == nil {
		return fmt.Errorf("set user %d status: %w", userID, ErrNotFound)
	}
	if u.Status != status {
		u.Status = status
		u.StatusUpdatedAt = s.now()
	}
	return nil
}

// ----------------------------------------------------------- conversations

// NewConversation describes a conversation to create.
type NewConversation struct {
	ID        int64  // 0 = allocate
	MailboxID int64  // required
	Type      string // email (default), chat, phone
	Subject   string
	// CustomerID is the primary customer (required, must exist).
	CustomerID int64
	// CreatedByUserID != 0 makes an agent-started conversation whose first
	// thread is a published message (a phone thread for phone) by that user;
	// 0 means the customer wrote first.
	CreatedByUserID int64
	Body            string
	AssigneeID      int64  // 0 = unassigned
	Status          string // default active
	Tags            []string
	SourceType      string    // default by channel: email, chat, web
	At              time.Time // zero = Clock()
}

// CreateConversation creates a conversation with its first thread and
// emits convo.created.
func (s *Server) CreateConversation(nc NewConversation) (Conversation, error) {
	s.mu.Lock()
	defer s.unlockAfterChange()
	fail := func(err error, what string) (Conversation, error) {
		return Conversation{}, fmt.Errorf("create conversation: %s: %w", what, err)
	}
	if s.mailboxes[nc.MailboxID] == nil {
		return fail(ErrNotFound, fmt.Sprintf("mailbox %d", nc.MailboxID))
	}
	if s.customers[nc.CustomerID] == nil {
		return fail(ErrNotFound, fmt.Sprintf("customer %d", nc.CustomerID))
	}
	if nc.CreatedByUserID != 0 && s.users[nc.CreatedByUserID] == nil {
		return fail(ErrNotFound, fmt.Sprintf("user %d", nc.CreatedByUserID))
	}
	if nc.AssigneeID != 0 && s.users[nc.AssigneeID] == nil {
		return fail(ErrNotFound, fmt.Sprintf("assignee %d", nc.AssigneeID))
	}
	nc.Type = cmp.Or(nc.Type, "email")
	if nc.Type != "email" && nc.Type != "chat" && nc.Type != "phone" {
		return fail(ErrInvalid, "type "+nc.Type)
	}
	nc.Status = cmp.Or(nc.Status, StatusActive)
	if !validStatus(nc.Status) {
		return fail(ErrInvalid, "status "+nc.Status)
	}
	if nc.ID == 0 {
		nc.ID = s.ids.next(&s.ids.conv, 47)
	} else if s.convs[nc.ID] != nil {
		return fail(ErrInvalid, fmt.Sprintf("duplicate id %d", nc.ID))
	}
	claim(&s.ids.conv, nc.ID)
	at := s.at(nc.At)
	c := &Conversation{
		ID:         nc.ID,
		Number:     s.ids.next(&s.ids.num, 1),
		Type:       nc.Type,
		Status:     nc.Status,
		State:      StatePublished,
		Subject:    cmp.Or(nc.Subject, "(no subject)"),
		MailboxID:  nc.MailboxID,
		CustomerID: nc.CustomerID,
		AssigneeID: nc.AssigneeID,
		CreatedAt:  at,
		CC:         []string{},
		BCC:        []string{},
		Tags:       []Tag{},
	}
	th := Thread{Body: cmp.Or(nc.Body, "<p>"+c.Subject+"</p>"), CreatedAt: at, CustomerID: nc.CustomerID}
	if nc.CreatedByUserID == 0 {
		c.CreatedByType, c.CreatedByID, c.SourceVia = ByCustomer, nc.CustomerID, ByCustomer
		th.Type, th.CreatedByType, th.CreatedByID = ThreadCustomer, ByCustomer, nc.CustomerID
		c.SourceType = map[string]string{"email": "email", "chat": "chat", "phone": "phone"}[nc.Type]
		if nc.Type == "chat" {
			th.Type = ThreadChat
		}
	} else {
		c.CreatedByType, c.CreatedByID, c.SourceVia = ByUser, nc.CreatedByUserID, ByUser
		th.Type, th.CreatedByType, th.CreatedByID = ThreadMessage, ByUser, nc.CreatedByUserID
		c.SourceType = "web"
		switch nc.Type {
		case "phone":
			th.Type = ThreadPhone
		case "chat":
			th.Type = ThreadChat
		}
	}
	c.SourceType = cmp.Or(nc.SourceType, c.SourceType)
	th.SourceType, th.SourceVia = c.SourceType, c.SourceVia
	for _, name := range nc.Tags {
		c.Tags = append(c.Tags, s.tag(name))
	}
	if c.Status == StatusClosed {
		c.ClosedBy = cmp.Or(nc.CreatedByUserID, nc.AssigneeID, s.ownerID)
		c.ClosedAt = at
	}
	c.UserUpdatedAt = at
	c.ModifiedAt = at
	s.convs[c.ID] = c
	s.appendThread(c, th)
	s.emit(EventConvoCreated, c)
	s.routeNew(c, nc)
	return c.clone(), nil
}

// ThreadInput is the common input of the thread-adding methods.
type ThreadInput struct {
	// UserID is the acting user for agent replies, drafts, notes and
	// lineitems (0 = the token owner); ignored for customer threads.
	UserID int64
	Body   string
	// Status, when set, is the conversation status after the thread. An agent
	// reply without Status reactivates the conversation (as Help Scout
	// documents); a customer thread always does, except on spam.
	Status   string
	At       time.Time // zero = Clock()
	Imported bool
}

// AddCustomerThread records a customer message and emits
// convo.customer.reply.created. In a chat conversation it is a chat thread.
func (s *Server) AddCustomerThread(convID int64, in ThreadInput) (Thread, error) {
	return s.addThread(convID, ThreadCustomer, in)
}

// AddAgentReply records a published agent reply (listed as type "message";
// "chat" in chats) and emits convo.agent.reply.created.
func (s *Server) AddAgentReply(convID int64, in ThreadInput) (Thread, error) {
	return s.addThread(convID, ThreadMessage, in)
}

// AddDraft records an unsent reply (state "draft"); it changes no status,
// no waiting time and emits nothing.
func (s *Server) AddDraft(convID int64, in ThreadInput) (Thread, error) {
	return s.addThread(convID, StateDraft, in)
}

// AddNote records a private note and emits convo.note.created.
func (s *Server) AddNote(convID int64, in ThreadInput) (Thread, error) {
	return s.addThread(convID, ThreadNote, in)
}

// AddLineitem records a system line item with Body as its action text.
// It emits nothing of its own (status changes emit convo.status).
func (s *Server) AddLineitem(convID int64, in ThreadInput) (Thread, error) {
	return s.addThread(convID, ThreadLineitem, in)
}

func (s *Server) addThread(convID int64, kind string, in ThreadInput) (Thread, error) {
	s.mu.Lock()
	defer s.unlockAfterChange()
	c, err := s.liveConv(convID)
	if err != nil {
		return Thread{}, fmt.Errorf("add %s to conversation %d: %w", kind, convID, err)
	}
	if in.Status != "" && !validStatus(in.Status) {
		return Thread{}, fmt.Errorf("add %s to conversation %d: %w: status %q", kind, convID, ErrInvalid, in.Status)
	}
	if kind != ThreadCustomer {
		in.UserID = cmp.Or(in.UserID, s.ownerID)
		if s.users[in.UserID] == nil {
			return Thread{}, fmt.Errorf("add %s to conversation %d: user %d: %w", kind, convID, in.UserID, ErrNotFound)
		}
	}
	return s.addThreadLocked(c, kind, in), nil
}

// addThreadLocked applies a thread and its side effects; s.mu is held.
func (s *Server) addThreadLocked(c *Conversation, kind string, in ThreadInput) Thread {
	at := s.at(in.At)
	before := c.Status
	th := Thread{
		Body: in.Body, CreatedAt: at, Imported: in.Imported, CustomerID: c.CustomerID,
		CreatedByType: ByUser, CreatedByID: in.UserID, SourceVia: ByUser, SourceType: "api",
	}
	event := ""
	switch kind {
	case ThreadCustomer:
		th.Type, th.CreatedByType, th.CreatedByID, th.SourceVia = ThreadCustomer, ByCustomer, c.CustomerID, ByCustomer
		th.SourceType = "email"
		if c.Type == "chat" {
			th.Type, th.SourceType = ThreadChat, "chat"
		}
		if c.Status != StatusSpam {
			s.setStatus(c, cmp.Or(in.Status, StatusActive), 0, at)
		}
		event = EventConvoCustomerReply
	case ThreadMessage:
		th.Type, th.SourceType = ThreadMessage, "web"
		if c.Type == "chat" {
			th.Type, th.SourceType = ThreadChat, "chat"
		}
		s.setStatus(c, cmp.Or(in.Status, StatusActive), in.UserID, at)
		event = EventConvoAgentReply
	case StateDraft:
		th.Type, th.State, th.SourceType = ThreadMessage, StateDraft, "web"
		if c.Type == "chat" {
			th.Type = ThreadChat
		}
	case ThreadNote:
		th.Type = ThreadNote
		if in.Status != "" {
			s.setStatus(c, in.Status, in.UserID, at)
		}
		event = EventConvoNote
	case ThreadLineitem:
		th.Type, th.ActionText, th.Body, th.ActionType = ThreadLineitem, in.Body, "", "default"
		if in.Status != "" {
			s.setStatus(c, in.Status, in.UserID, at)
		}
	}
	th = s.appendThread(c, th)
	if event != "" {
		s.emit(event, c)
	}
	if c.Status != before {
		s.emit(EventConvoStatus, c)
	}
	return th
}

// appendThread stamps a thread with id, state, status and assignee, stores
// it in time order and refreshes the derived conversation fields.
func (s *Server) appendThread(c *Conversation, th Thread) Thread {
	th.ID = s.ids.next(&s.ids.thread, 211)
	th.State = cmp.Or(th.State, StatePublished)
	th.Status = c.Status
	th.AssignedToID = c.AssigneeID
	th.ActionType = cmp.Or(th.ActionType, "default")
	i := len(c.Threads)
	for i > 0 && c.Threads[i-1].CreatedAt.After(th.CreatedAt) {
		i--
	}
	c.Threads = slices.Insert(c.Threads, i, th)
	c.ModifiedAt = later(c.ModifiedAt, th.CreatedAt)
	if th.State != StateDraft {
		c.UserUpdatedAt = later(c.UserUpdatedAt, th.CreatedAt)
	}
	s.derive(c)
	return th
}

// derive recomputes the fields Help Scout derives from the threads.
func (s *Server) derive(c *Conversation) {
	c.CustomerWaitingSince = c.CreatedAt
	c.Preview = ""
	for _, t := range c.Threads {
		if t.State != StatePublished {
			continue
		}
		switch t.Type {
		case ThreadCustomer, ThreadMessage, ThreadChat, ThreadPhone:
			c.CustomerWaitingSince = t.CreatedAt
			c.Preview = preview(t.Body)
		case ThreadNote:
			c.Preview = preview(t.Body)
		}
	}
	mb := s.mailboxes[c.MailboxID]
	switch {
	case mb == nil:
	case c.Status == StatusSpam:
		c.FolderID = mb.folders["spam"]
	case c.Status == StatusClosed:
		c.FolderID = mb.folders["closed"]
	case c.AssigneeID != 0:
		c.FolderID = mb.folders["assigned"]
	default:
		c.FolderID = mb.folders["open"]
	}
}

func preview(body string) string {
	p := stripTags(body)
	if r := []rune(p); len(r) > 100 {
		p = string(r[:100])
	}
	return p
}

// setStatus changes the status fields without adding a thread.
func (s *Server) setStatus(c *Conversation, status string, actor int64, at time.Time) {
	if c.Status == status {
		return
	}
	c.Status = status
	if status == StatusClosed {
		c.ClosedBy = cmp.Or(actor, c.AssigneeID, s.ownerID)
		c.ClosedAt = at
	} else {
		c.ClosedAt = time.Time{}
	}
	c.ModifiedAt = later(c.ModifiedAt, at)
	s.derive(c)
}

// SetStatus changes the status as a user would, adding a lineitem
// ("... marked as Closed") and emitting convo.status. Setting the current
// status is a no-op. actorID 0 = the token owner.
func (s *Server) SetStatus(convID, actorID int64, status string, at time.Time) error {
	s.mu.Lock()
	defer s.unlockAfterChange()
	_, err := s.setStatusLocked(convID, actorID, status, at)
	return err
}

func (s *Server) setStatusLocked(convID, actorID int64, status string, at time.Time) (bool, error) {
	c, err := s.liveConv(convID)
	if err != nil {
		return false, fmt.Errorf("set status of conversation %d: %w", convID, err)
	}
	if !validStatus(status) {
		return false, fmt.Errorf("set status of conversation %d: %w: %q", convID, ErrInvalid, status)
	}
	actorID = cmp.Or(actorID, s.ownerID)
	if c.Status == status {
		return false, nil
	}
	t := s.at(at)
	s.setStatus(c, status, actorID, t)
	label := strings.ToUpper(status[:1]) + status[1:]
	s.appendThread(c, Thread{
		Type: ThreadLineitem, ActionText: fmt.Sprintf("%s marked as %s", s.userName(actorID), label),
		CreatedByType: ByUser, CreatedByID: actorID, SourceType: "api", SourceVia: ByUser, CreatedAt: t,
	})
	s.emit(EventConvoStatus, c)
	return true, nil
}

// Assign assigns the conversation to assigneeID (0 = unassign) as actorID
// (0 = the token owner) would, adding a lineitem and emitting
// convo.assigned. Assigning the current assignee is a no-op.
func (s *Server) Assign(convID, actorID, assigneeID int64, at time.Time) error {
	s.mu.Lock()
	defer s.unlockAfterChange()
	_, err := s.assignLocked(convID, actorID, assigneeID, at)
	return err
}

func (s *Server) assignLocked(convID, actorID, assigneeID int64, at time.Time) (bool, error) {
	c, err := s.liveConv(convID)
	if err != nil {
		return false, fmt.Errorf("assign conversation %d: %w", convID, err)
	}
	if assigneeID != 0 && s.users[assigneeID] == nil {
		return false, fmt.Errorf("assign conversation %d to %d: %w", convID, assigneeID, ErrNotFound)
	}
	actorID = cmp.Or(actorID, s.ownerID)
	if c.AssigneeID == assigneeID {
		return false, nil
	}
	text := fmt.Sprintf("%s unassigned the conversation", s.userName(actorID))
	if assigneeID != 0 {
		text = fmt.Sprintf("%s assigned to %s", s.userName(actorID), s.userName(assigneeID))
	}
	s.setAssignee(c, actorID, assigneeID, s.at(at), text)
	return true, nil
}

// setAssignee changes the assignee with a lineitem saying text and emits
// convo.assigned.
func (s *Server) setAssignee(c *Conversation, actorID, assigneeID int64, at time.Time, text string) {
	c.AssigneeID = assigneeID
	s.appendThread(c, Thread{
		Type: ThreadLineitem, ActionText: text,
		CreatedByType: ByUser, CreatedByID: actorID, SourceType: "api", SourceVia: ByUser, CreatedAt: at,
	})
	s.emit(EventConvoAssigned, c)
}

// SetSubject changes the subject (a user update: userUpdatedAt moves, as
// the recording after a subject PATCH shows). No webhook event exists for it.
func (s *Server) SetSubject(convID int64, subject string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.liveConv(convID)
	if err != nil {
		return fmt.Errorf("set subject of conversation %d: %w", convID, err)
	}
	if subject == "" {
		return fmt.Errorf("set subject of conversation %d: %w: empty", convID, ErrInvalid)
	}
	t := s.at(at)
	c.Subject = subject
	c.UserUpdatedAt = later(c.UserUpdatedAt, t)
	c.ModifiedAt = later(c.ModifiedAt, t)
	return nil
}

// SetTags replaces the conversation's tags and emits convo.tags.
func (s *Server) SetTags(convID int64, tags []string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.liveConv(convID)
	if err != nil {
		return fmt.Errorf("set tags of conversation %d: %w", convID, err)
	}
	c.Tags = []Tag{}
	for _, name := range tags {
		c.Tags = append(c.Tags, s.tag(name))
	}
	t := s.at(at)
	c.UserUpdatedAt = later(c.UserUpdatedAt, t)
	c.ModifiedAt = later(c.ModifiedAt, t)
	s.emit(EventConvoTags, c)
	return nil
}

// Move moves the conversation to another mailbox and emits convo.moved.
func (s *Server) Move(convID, actorID, mailboxID int64, at time.Time) error {
	s.mu.Lock()
	defer s.unlockAfterChange()
	return s.moveLocked(convID, actorID, mailboxID, at)
}

func (s *Server) moveLocked(convID, actorID, mailboxID int64, at time.Time) error {
	c, err := s.liveConv(convID)
	if err != nil {
		return fmt.Errorf("move conversation %d: %w", convID, err)
	}
	to := s.mailboxes[mailboxID]
	if to == nil {
		return fmt.Errorf("move conversation %d to mailbox %d: %w", convID, mailboxID, ErrNotFound)
	}
	if c.MailboxID == mailboxID {
		return nil
	}
	actorID = cmp.Or(actorID, s.ownerID)
	from := s.mailboxes[c.MailboxID]
	c.MailboxID = mailboxID
	t := s.at(at)
	s.appendThread(c, Thread{
		Type: ThreadLineitem, ActionText: fmt.Sprintf("%s moved the conversation from %s", s.userName(actorID), from.Name),
		CreatedByType: ByUser, CreatedByID: actorID, SourceType: "api", SourceVia: ByUser, CreatedAt: t,
	})
	s.emit(EventConvoMoved, c)
	return nil
}

// Delete deletes the conversation: the API answers 404 for it from now on,
// and convo.deleted is emitted with body {"id":N}.
func (s *Server) Delete(convID int64) error {
	s.mu.Lock()
	defer s.unlockAfterChange()
	c, err := s.liveConv(convID)
	if err != nil {
		return fmt.Errorf("delete conversation %d: %w", convID, err)
	}
	c.Deleted = true
	c.ModifiedAt = later(c.ModifiedAt, s.now())
	if !s.revoked[c.MailboxID] { // as emit: no webhook from a mailbox taken from the app's user
		s.emitBody(EventConvoDeleted, c.ID, encode(struct {
			ID int64 `json:"id"`
		}{c.ID}))
	}
	return nil
}

// RemoveMailbox takes a mailbox away from the API user, as its deletion in
// Help Scout's UI does, or the app's user losing access to it. What the
// API answers then is unconfirmed (helpscout-api.md section 11 documents
// 404 for "not found" and 403 for "access denied"); the fake takes the
// deletion's reading: GET /v2/mailboxes no longer lists it, GET
// /v2/mailboxes/{id} (its folders, its routing) answers 404, and so does a
// conversation listing that names it, with or without other mailboxes
// beside it, in Help Scout's error shape. Its conversations go with it: no
// listing serves them, and GET answers 404. No webhook is sent for them:
// whether Help Scout sends convo.deleted for each is unknown, and a client
// that waits for one would keep them for ever. The users who could open it
// can open the rest of what they could.
func (s *Server) RemoveMailbox(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mailboxes[id] == nil {
		return fmt.Errorf("remove mailbox %d: %w", id, ErrNotFound)
	}
	delete(s.mailboxes, id)
	delete(s.revoked, id)
	now := s.now()
	for _, c := range s.convs {
		if c.MailboxID == id && c.live() {
			c.Deleted = true
			c.ModifiedAt = later(c.ModifiedAt, now)
		}
	}
	for _, u := range s.users {
		if u.Mailboxes != nil {
			u.Mailboxes = slices.DeleteFunc(u.Mailboxes, func(m int64) bool { return m == id })
		}
	}
	return nil
}

// RevokeMailbox takes a mailbox from the API user without deleting it: an
// admin removed the app's user from it. Help Scout documents 403 for
// "access denied" (helpscout-api.md section 11); whether it answers so
// here, rather than 404 as for a mailbox deleted (RemoveMailbox), is
// unconfirmed, and the fake takes the 403, the reading RemoveMailbox does
// not give a client: GET /v2/mailboxes no longer lists it; GET
// /v2/mailboxes/{id} (its folders, its routing), a conversation listing or
// a user listing that names it, and any request for one of its
// conversations (GET, its threads, PATCH, a note) answer 403 "Access
// denied"; a listing without a mailbox filter leaves its conversations
// out, and no webhook is sent for them. Unlike a deletion, the mailbox and
// its conversations stay as they are, the state API still changes them,
// its users keep it, and GrantMailbox gives it back. A conversation moved
// out of it is served again, one moved into it no longer is.
func (s *Server) RevokeMailbox(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mailboxes[id] == nil || s.revoked[id] {
		return fmt.Errorf("revoke mailbox %d: %w", id, ErrNotFound)
	}
	s.revoked[id] = true
	return nil
}

// GrantMailbox gives the API user back a mailbox RevokeMailbox took: it
// and its conversations are served again, as they are now.
func (s *Server) GrantMailbox(id int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.revoked[id] {
		return fmt.Errorf("grant mailbox %d: %w: not revoked", id, ErrNotFound)
	}
	delete(s.revoked, id)
	return nil
}

// Merge merges fromID into intoID: the threads move over, intoID gets a
// lineitem, GET fromID answers 301 to intoID and other endpoints 404.
// Emits convo.merged with the surviving conversation.
func (s *Server) Merge(fromID, intoID, actorID int64, at time.Time) error {
	s.mu.Lock()
	defer s.unlockAfterChange()
	if fromID == intoID {
		return fmt.Errorf("merge conversation %d into itself: %w", fromID, ErrInvalid)
	}
	from, err := s.liveConv(fromID)
	if err != nil {
		return fmt.Errorf("merge conversation %d: %w", fromID, err)
	}
	into, err := s.liveConv(intoID)
	if err != nil {
		return fmt.Errorf("merge into conversation %d: %w", intoID, err)
	}
	actorID = cmp.Or(actorID, s.ownerID)
	t := s.at(at)
	into.Threads = append(into.Threads, from.Threads...)
	slices.SortStableFunc(into.Threads, func(a, b Thread) int { return a.CreatedAt.Compare(b.CreatedAt) })
	from.Threads = nil
	from.MergedInto = intoID
	from.ModifiedAt = later(from.ModifiedAt, t)
	s.appendThread(into, Thread{
		Type: ThreadLineitem, ActionType: "merged",
		ActionText:    fmt.Sprintf("%s merged conversation #%d into this one", s.userName(actorID), from.Number),
		CreatedByType: ByUser, CreatedByID: actorID, SourceType: "api", SourceVia: ByUser, CreatedAt: t,
	})
	s.emit(EventConvoMerged, into)
	return nil
}

// ------------------------------------------------------------- snapshots

// Conversations returns deep copies of the conversations the API serves
// (deleted and merged-away ones excluded), ordered by id.
func (s *Server) Conversations() []Conversation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conversation, 0, len(s.convs))
	for _, id := range slices.Sorted(maps.Keys(s.convs)) {
		if c := s.convs[id]; c.live() {
			out = append(out, c.clone())
		}
	}
	return out
}

// Conversation returns a deep copy of any conversation the fake knows,
// including deleted and merged ones (see Deleted and MergedInto).
func (s *Server) Conversation(id int64) (Conversation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.convs[id]
	if c == nil {
		return Conversation{}, false
	}
	return c.clone(), true
}

// Users returns the users ordered by id.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.users))
	for _, id := range slices.Sorted(maps.Keys(s.users)) {
		u := *s.users[id]
		u.Mailboxes = slices.Clone(u.Mailboxes)
		out = append(out, u)
	}
	return out
}

// Teams returns the teams ordered by id.
func (s *Server) Teams() []Team {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Team, 0, len(s.teams))
	for _, id := range slices.Sorted(maps.Keys(s.teams)) {
		out = append(out, s.teams[id].clone())
	}
	return out
}

// Mailboxes returns the mailboxes GET /v2/mailboxes lists (not those
// RevokeMailbox took), ordered by id.
func (s *Server) Mailboxes() []Mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Mailbox, 0, len(s.mailboxes))
	for _, id := range slices.Sorted(maps.Keys(s.mailboxes)) {
		if s.revoked[id] {
			continue
		}
		out = append(out, s.mailboxes[id].Mailbox)
	}
	return out
}

// Customers returns the customers ordered by id.
func (s *Server) Customers() []Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Customer, 0, len(s.customers))
	for _, id := range slices.Sorted(maps.Keys(s.customers)) {
		out = append(out, *s.customers[id])
	}
	return out
}

// Owner returns the id of the token owner (0 before any user exists).
func (s *Server) Owner() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ownerID
}

// -------------------------------------------------------------- helpers

func (s *Server) liveConv(id int64) (*Conversation, error) {
	c := s.convs[id]
	if c == nil || !c.live() {
		return nil, ErrNotFound
	}
	return c, nil
}

func (s *Server) at(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return trunc(t)
}

func (s *Server) userName(id int64) string {
	if u := s.users[id]; u != nil {
		return strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	return fmt.Sprintf("User %d", id)
}

var tagColors = []string{"#929499", "#3197D6", "#E52F28", "#A5B2BD", "#76B041", "#F5A623"}

func (s *Server) tag(name string) Tag {
	if t, ok := s.tags[name]; ok {
		return t
	}
	t := Tag{ID: s.ids.next(&s.ids.tag, 1009), Name: name, Color: tagColors[len(s.tags)%len(tagColors)]}
	s.tags[name] = t
	return t
}

func validStatus(st string) bool {
	switch st {
	case StatusActive, StatusPending, StatusClosed, StatusSpam:
		return true
	}
	return false
}

func trunc(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
