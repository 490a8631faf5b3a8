package helpscouttest

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"
)

// The render functions turn the model into wire structs; s.mu is held.

func (s *Server) userPerson(id int64, withType bool) wirePerson {
	p := wirePerson{ID: id}
	if withType {
		p.Type = ByUser
	}
	if u := s.users[id]; u != nil {
		p.First, p.Last, p.PhotoURL, p.Email = u.FirstName, u.LastName, u.PhotoURL, u.Email
	} else if t := s.teams[id]; t != nil {
		p.First = t.Name
		if withType {
			p.Type = "team"
		}
	}
	return p
}

func (s *Server) customerPerson(id int64, withType bool) wirePerson {
	p := wirePerson{ID: id}
	if withType {
		p.Type = ByCustomer
	}
	if c := s.customers[id]; c != nil {
		p.First, p.Last, p.PhotoURL, p.Email = c.First, c.Last, c.PhotoURL, c.Email
	}
	return p
}

// embedLimit is how many newest threads embed=threads includes (0 = all).
func (s *Server) embedLimit(c *Conversation) int {
	n := s.opts.EmbedThreadLimit
	if c.Type == "chat" && s.opts.ChatEmbedThreadLimit > 0 && (n == 0 || s.opts.ChatEmbedThreadLimit < n) {
		n = s.opts.ChatEmbedThreadLimit
	}
	return n
}

func (s *Server) renderConversation(c *Conversation, base string, embed bool, now time.Time) wireConversation {
	w := wireConversation{
		ID:            c.ID,
		Number:        c.Number,
		Threads:       len(c.Threads),
		Type:          c.Type,
		FolderID:      c.FolderID,
		Status:        c.Status,
		State:         c.State,
		Subject:       c.Subject,
		Preview:       c.Preview,
		MailboxID:     c.MailboxID,
		CreatedAt:     fmtTime(c.CreatedAt),
		ClosedBy:      c.ClosedBy,
		UserUpdatedAt: fmtTime(c.UserUpdatedAt),
		CustomerWaitingSince: wireWaiting{
			Time:     fmtTime(c.CustomerWaitingSince),
			Friendly: friendly(c.CustomerWaitingSince, now),
		},
		Source:          wireSource{Type: c.SourceType, Via: c.SourceVia},
		Tags:            make([]wireTag, 0, len(c.Tags)),
		CC:              slices.Clone(c.CC),
		BCC:             slices.Clone(c.BCC),
		PrimaryCustomer: s.customerPerson(c.CustomerID, true),
		CustomFields:    []json.RawMessage{},
	}
	if w.CC == nil {
		w.CC = []string{}
	}
	if w.BCC == nil {
		w.BCC = []string{}
	}
	for _, t := range c.Tags {
		w.Tags = append(w.Tags, wireTag{ID: t.ID, Color: t.Color, Tag: t.Name})
	}
	if c.AssigneeID != 0 {
		p := s.userPerson(c.AssigneeID, true)
		w.Assignee = &p
		w.Links.Assignee = link("%s/v2/users/%d", base, c.AssigneeID)
	}
	if c.Status == StatusClosed && !c.ClosedAt.IsZero() {
		w.ClosedAt = fmtTime(c.ClosedAt)
	}
	if c.CreatedByType == ByCustomer {
		w.CreatedBy = s.customerPerson(c.CreatedByID, true)
		w.Links.CreatedByCustomer = link("%s/v2/customers/%d", base, c.CreatedByID)
	} else {
		w.CreatedBy = s.userPerson(c.CreatedByID, true)
		w.Links.CreatedByUser = link("%s/v2/users/%d", base, c.CreatedByID)
	}
	w.Links.ClosedBy = link("%s/v2/users/%d", base, c.ClosedBy)
	w.Links.Mailbox = link("%s/v2/mailboxes/%d", base, c.MailboxID)
	w.Links.PrimaryCustomer = link("%s/v2/customers/%d", base, c.CustomerID)
	w.Links.Self = link("%s/v2/conversations/%d", base, c.ID)
	w.Links.Threads = link("%s/v2/conversations/%d/threads/", base, c.ID)
	w.Links.Web = link("https://secure.helpscout.net/conversation/%d/%d", c.ID, c.Number)
	if embed {
		threads := newestFirst(c.Threads)
		if n := s.embedLimit(c); n > 0 && len(threads) > n {
			threads = threads[:n]
		}
		emb := make([]wireThread, 0, len(threads))
		for i := range threads {
			emb = append(emb, s.renderThread(c, &threads[i], base))
		}
		w.Embedded = &struct {
			Threads []wireThread `json:"threads"`
		}{emb}
	}
	return w
}

func newestFirst(ts []Thread) []Thread {
	out := slices.Clone(ts)
	slices.SortStableFunc(out, func(a, b Thread) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out
}

func (s *Server) renderThread(c *Conversation, t *Thread, base string) wireThread {
	w := wireThread{
		ID:        t.ID,
		Type:      t.Type,
		Status:    t.Status,
		State:     t.State,
		Action:    wireAction{Type: cmp.Or(t.ActionType, "default")},
		Source:    wireSource{Type: t.SourceType, Via: t.SourceVia},
		CreatedAt: fmtTime(t.CreatedAt),
	}
	if t.CreatedByType == ByCustomer {
		w.CreatedBy = s.customerPerson(t.CreatedByID, true)
		w.Links.CreatedByCustomer = link("%s/v2/customers/%d", base, t.CreatedByID)
	} else {
		w.CreatedBy = s.userPerson(t.CreatedByID, true)
		w.Links.CreatedByUser = link("%s/v2/users/%d", base, t.CreatedByID)
	}
	if t.AssignedToID != 0 {
		// The recordings show assignedTo without "type".
		p := s.userPerson(t.AssignedToID, false)
		w.AssignedTo = &p
		w.Links.AssignedTo = link("%s/v2/users/%d", base, t.AssignedToID)
	}
	if t.Type == ThreadLineitem {
		w.Action.Text = t.ActionText
		w.Action.AssociatedEntities = map[string]int64{"user": t.CreatedByID}
		if t.ActionType == "merged" {
			w.Action.AssociatedEntities["originalConversation"] = c.ID
		}
		return w
	}
	body := t.Body
	w.Body = &body
	cust := s.customerPerson(cmp.Or(t.CustomerID, c.CustomerID), false)
	w.Customer = &cust
	w.Links.Customer = link("%s/v2/customers/%d", base, cust.ID)
	if t.Type == ThreadMessage || t.Type == ThreadCustomer {
		var zero int64
		w.SavedReplyID = &zero
	}
	empty := func() *[]string { e := []string{}; return &e }
	w.To, w.CC, w.BCC = empty(), empty(), empty()
	w.Embedded = &attachments{Attachments: []json.RawMessage{}}
	return w
}

func (s *Server) renderUser(u *User, base string) wireUser {
	w := wireUser{
		ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Role: u.Role,
		Timezone: u.Timezone, PhotoURL: u.PhotoURL, CreatedAt: fmtTime(u.CreatedAt),
		UpdatedAt: fmtTime(u.UpdatedAt), Type: ByUser,
	}
	w.Links.Self = link("%s/v2/users/%d", base, u.ID)
	return w
}

// renderTeamAsUser is how /v2/users lists a team (recorded: firstName =
// team name, empty lastName and email, role "user", type "team").
func (s *Server) renderTeamAsUser(t *Team, base string) wireUser {
	w := wireUser{
		ID: t.ID, FirstName: t.Name, Role: "user", Timezone: t.Timezone,
		CreatedAt: fmtTime(t.CreatedAt), UpdatedAt: fmtTime(t.UpdatedAt), Type: "team",
	}
	w.Links.Self = link("%s/v2/users/%d", base, t.ID)
	return w
}

func (s *Server) renderTeam(t *Team, base string) wireTeam {
	w := wireTeam{
		ID: t.ID, Name: t.Name, Timezone: t.Timezone, CreatedAt: fmtTime(t.CreatedAt),
		UpdatedAt: fmtTime(t.UpdatedAt), Mention: mention(t.Name), Initials: initials(t.Name),
	}
	w.Links.Self = link("%s/v2/teams/%d", base, t.ID)
	w.Links.TeamMembers = link("%s/v2/teams/%d/members", base, t.ID)
	return w
}

func (s *Server) renderUserStatus(u *User) wireUserStatus {
	var w wireUserStatus
	w.UserID = u.ID
	w.Email.Status = u.Status
	w.Email.UpdatedAt = fmtTime(u.StatusUpdatedAt)
	w.Email.Source = "api"
	w.Chat.Status = "unavailable"
	w.Chat.MailboxStatuses = map[string]string{}
	return w
}

func (s *Server) renderMailbox(m *mailboxState, base string) wireMailbox {
	w := wireMailbox{
		ID: m.ID, Name: m.Name, Slug: m.Slug, Email: m.Email,
		CreatedAt: fmtTime(m.CreatedAt), UpdatedAt: fmtTime(m.UpdatedAt),
	}
	w.Links.Fields = link("%s/v2/mailboxes/%d/fields/", base, m.ID)
	w.Links.Folders = link("%s/v2/mailboxes/%d/folders/", base, m.ID)
	w.Links.Self = link("%s/v2/mailboxes/%d", base, m.ID)
	return w
}

// renderFolders counts the mailbox's live conversations per folder.
func (s *Server) renderFolders(m *mailboxState) []wireFolder {
	type agg struct {
		total, active int
		updated       time.Time
	}
	counts := map[int64]*agg{}
	mine := &agg{}
	for _, c := range s.convs {
		if !c.live() || c.MailboxID != m.ID {
			continue
		}
		a := counts[c.FolderID]
		if a == nil {
			a = &agg{}
			counts[c.FolderID] = a
		}
		bump := func(a *agg) {
			a.total++
			if c.Status == StatusActive {
				a.active++
			}
			a.updated = later(a.updated, c.ModifiedAt)
		}
		bump(a)
		if c.AssigneeID != 0 && c.AssigneeID == s.ownerID && c.Status != StatusSpam {
			bump(mine)
		}
	}
	var out []wireFolder
	for _, ft := range folderTypes {
		id := m.folders[ft.typ]
		a := counts[id]
		var uid int64
		if ft.typ == "mytickets" {
			a, uid = mine, s.ownerID
		}
		if a == nil {
			a = &agg{}
		}
		out = append(out, wireFolder{
			ID: id, Name: ft.name, Type: ft.typ, UserID: uid, TotalCount: a.total, ActiveCount: a.active,
			UpdatedAt: fmtTime(later(m.CreatedAt, a.updated)),
		})
	}
	for _, t := range sortedTeams(s.teams) {
		out = append(out, wireFolder{
			ID: m.folders[teamFolderKey(t.ID)], Name: t.Name, Type: "team", UserID: t.ID,
			UpdatedAt: fmtTime(later(m.CreatedAt, t.UpdatedAt)),
		})
	}
	return out
}

func sortedTeams(m map[int64]*Team) []*Team {
	out := make([]*Team, 0, len(m))
	for _, t := range m {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Team) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func mention(name string) string {
	var b []rune
	for _, r := range name {
		switch {
		case r >= 'A' && r <= 'Z':
			b = append(b, r+'a'-'A')
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, r)
		}
	}
	return string(b)
}

func initials(name string) string {
	var b []rune
	start := true
	for _, r := range name {
		if r == ' ' {
			start = true
			continue
		}
		if start && len(b) < 2 {
			b = append(b, r)
		}
		start = false
	}
	return string(b)
}
