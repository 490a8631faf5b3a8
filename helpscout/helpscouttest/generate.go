package helpscouttest

import (
	"cmp"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"
)

// GenerateConfig sizes a generated account. Zero fields take the defaults.
type GenerateConfig struct {
	Seed          int64
	Conversations int           // default 200
	Mailboxes     int           // default 3
	Agents        int           // default 10 (the first is the owner)
	Teams         int           // default 3
	Span          time.Duration // history spread, default 21 days
	Now           time.Time     // default Clock()
}

// Account lists the ids Seed created.
type Account struct {
	Owner         int64
	Mailboxes     []int64
	Agents        []int64
	Teams         []int64
	Customers     []int64
	Conversations []int64
}

var (
	genFirst = []string{"Ana", "Ben", "Chloe", "Dev", "Emeka", "Farah", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena", "Mo", "Nia", "Oren", "Pia"}
	genLast  = []string{"Alvarez", "Brooks", "Chen", "Dubois", "Eze", "Fischer", "Garcia", "Haddad", "Ito", "Jensen", "Kowalski", "Lund", "Mensah", "Novak"}
	genTZ    = []string{"America/New_York", "America/Chicago", "Europe/Berlin", "Europe/London", "UTC", "Asia/Manila"}
	genMBox  = []string{"Support", "Billing", "Partners", "Enterprise", "Sales"}
	genTeams = []string{"Tier 1", "Tier 2", "Billing Squad", "Nights"}
	genCust  = []string{"Sam", "Lee", "Robin", "Alex", "Jordan", "Casey", "Morgan", "Taylor", "Riley", "Quinn"}
	genSubj  = []string{
		"Invoice shows wrong VAT", "Cannot log in after password reset", "Refund for duplicate charge",
		"API returns 500 on export", "How do I add a teammate?", "Shipping label not printing",
		"Feature request: dark mode", "Sync stuck at 99%", "Cancel my subscription", "Webhook not firing",
		"Wrong currency on checkout", "Data import failed", "2FA codes not arriving", "Upgrade to annual plan",
	}
	genCustBody  = []string{"Hi, this is still happening for me.", "Any update on this?", "I tried that but it did not help.", "Thanks, that worked!", "Here is a screenshot of the error.", "We need this fixed before Friday."}
	genAgentBody = []string{"Thanks for reaching out! Could you send me the account email?", "I have reproduced this and passed it to engineering.", "This is fixed now, could you try again?", "I've issued the refund; it takes 5-7 days.", "Here is a step-by-step guide."}
	genNoteBody  = []string{"Customer is on the enterprise plan, be careful.", "Engineering ticket ENG-1234 opened.", "Checked with billing: refund approved.", "Possible duplicate of an older ticket."}
	genTags      = []string{"billing", "bug", "vip", "refund", "feature-request", "shipping", "onboarding"}
)

// Seed fills the server with a deterministic account: mailboxes, agents
// (the first one the owner), teams, user statuses, customers and
// conversations with histories in every status (waiting on the agent or on
// the customer, pending, closed after replies, spam, unassigned, with notes,
// drafts and reassignments, agent-started, phone, and chats longer than the
// embed limit), spread over Span before Now. Seeding emits no webhooks; call
// it before clients connect. The same config on a fresh server with the same
// clock yields the same account, ids included.
func (s *Server) Seed(cfg GenerateConfig) (Account, error) {
	cfg.Conversations = cmp.Or(cfg.Conversations, 200)
	cfg.Mailboxes = max(1, cmp.Or(cfg.Mailboxes, 3))
	cfg.Agents = max(1, cmp.Or(cfg.Agents, 10))
	cfg.Teams = cmp.Or(cfg.Teams, 3)
	cfg.Span = cmp.Or(cfg.Span, 21*24*time.Hour)
	if cfg.Now.IsZero() {
		cfg.Now = s.clock()
	}
	cfg.Now = trunc(cfg.Now)
	s.mu.Lock()
	s.quiet++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.quiet--
		s.mu.Unlock()
	}()
	g := &generator{s: s, cfg: cfg, r: mrand.New(mrand.NewPCG(uint64(cfg.Seed), 0x5851f42d4c957f2d))}
	if err := g.account(); err != nil {
		return Account{}, fmt.Errorf("seed account: %w", err)
	}
	for i := 0; i < cfg.Conversations; i++ {
		if err := g.conversation(); err != nil {
			return Account{}, fmt.Errorf("seed conversation %d: %w", i, err)
		}
	}
	return g.acc, nil
}

type generator struct {
	s   *Server
	cfg GenerateConfig
	r   *mrand.Rand
	acc Account
	// t is the current event time of the conversation being generated.
	t time.Time
}

func pick[T any](r *mrand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (g *generator) account() error {
	old := g.cfg.Now.Add(-400 * 24 * time.Hour)
	for i := 0; i < g.cfg.Mailboxes; i++ {
		name := genMBox[i%len(genMBox)]
		if i >= len(genMBox) {
			name = fmt.Sprintf("%s %d", name, i/len(genMBox)+1)
		}
		m, err := g.s.AddMailbox(Mailbox{
			Name: name, Email: strings.ToLower(strings.ReplaceAll(name, " ", "-")) + "@acme.example",
			Slug: fmt.Sprintf("%016x", g.r.Uint64()), CreatedAt: old, UpdatedAt: old.Add(time.Duration(g.r.IntN(300)) * 24 * time.Hour),
		})
		if err != nil {
			return err
		}
		g.acc.Mailboxes = append(g.acc.Mailboxes, m.ID)
	}
	for i := 0; i < g.cfg.Agents; i++ {
		first, last := genFirst[i%len(genFirst)], genLast[(i*5+3)%len(genLast)]
		role := "user"
		switch i {
		case 0:
			role = "owner"
		case 1:
			role = "admin"
		}
		u := User{
			FirstName: first, LastName: last, Role: role, Timezone: pick(g.r, genTZ),
			Email:     strings.ToLower(first+"."+last) + "@acme.example",
			CreatedAt: old.Add(time.Duration(g.r.IntN(200)) * 24 * time.Hour),
			Status:    StatusActive,
		}
		if i > 0 && g.r.IntN(5) == 0 {
			u.Status = "away"
		}
		u.UpdatedAt = g.cfg.Now.Add(-time.Duration(g.r.IntN(72*60)) * time.Minute)
		u.StatusUpdatedAt = u.UpdatedAt
		added, err := g.s.AddUser(u)
		if err != nil {
			return err
		}
		if g.r.IntN(5) < 3 {
			g.s.mu.Lock()
			g.s.users[added.ID].PhotoURL = fmt.Sprintf("https://d33v4339jhl8k0.cloudfront.net/users/%d.%d.jpg", added.ID, 90000+g.r.IntN(10000))
			g.s.mu.Unlock()
		}
		g.acc.Agents = append(g.acc.Agents, added.ID)
	}
	g.acc.Owner = g.acc.Agents[0]
	if err := g.s.SetOwner(g.acc.Owner); err != nil {
		return err
	}
	for i := 0; i < g.cfg.Teams; i++ {
		var members []int64
		for j, id := range g.acc.Agents[1:] {
			if j%g.cfg.Teams == i || g.r.IntN(6) == 0 {
				members = append(members, id)
			}
		}
		t, err := g.s.AddTeam(Team{
			Name: genTeams[i%len(genTeams)], Timezone: "UTC", MemberIDs: members,
			CreatedAt: old.Add(30 * 24 * time.Hour), UpdatedAt: g.cfg.Now.Add(-48 * time.Hour),
		})
		if err != nil {
			return err
		}
		g.acc.Teams = append(g.acc.Teams, t.ID)
	}
	nc := g.cfg.Conversations/2 + 5
	for i := 0; i < nc; i++ {
		first, last := pick(g.r, genCust), pick(g.r, genLast)
		c := Customer{First: first, Last: last, Email: fmt.Sprintf("%s.%s%d@example.net", strings.ToLower(first), strings.ToLower(last), i)}
		if g.r.IntN(3) == 0 {
			c.PhotoURL = fmt.Sprintf("https://secure.gravatar.com/avatar/%032x", g.r.Uint64())
		}
		if g.r.IntN(8) == 0 {
			c.Last = "" // recorded: customers without a last name
		}
		added, err := g.s.AddCustomer(c)
		if err != nil {
			return err
		}
		g.acc.Customers = append(g.acc.Customers, added.ID)
	}
	return nil
}

// agent picks a front-line agent with a skew, so that load starts uneven.
func (g *generator) agent() int64 {
	ag := g.acc.Agents
	if len(ag) > 1 {
		ag = ag[1:]
	}
	total := 0
	for i := range ag {
		total += 1 + i%3
	}
	n := g.r.IntN(total)
	for i, id := range ag {
		n -= 1 + i%3
		if n < 0 {
			return id
		}
	}
	return ag[len(ag)-1]
}

func (g *generator) other(than int64) int64 {
	for range 8 {
		if id := g.agent(); id != than {
			return id
		}
	}
	return than
}

// step advances the event clock by a random duration in [lo, hi), never
// past a minute before Now.
func (g *generator) step(lo, hi time.Duration) time.Time {
	d := lo
	if hi > lo {
		d += time.Duration(g.r.Int64N(int64(hi - lo)))
	}
	g.t = g.t.Add(d)
	if limit := g.cfg.Now.Add(-time.Minute); g.t.After(limit) {
		g.t = limit
	}
	return g.t
}

type convKind int

const (
	kindNewUnassigned convKind = iota
	kindWaitingOnAgent
	kindWaitingOnCustomer
	kindPending
	kindClosed
	kindClosedNoReply
	kindSpam
	kindAgentStarted
	kindChat
	kindPhone
)

var kindWeights = []struct {
	k      convKind
	w      int
	minAge time.Duration
	maxAge time.Duration
}{
	{kindNewUnassigned, 10, 5 * time.Minute, 18 * time.Hour},
	{kindWaitingOnAgent, 20, time.Hour, 5 * 24 * time.Hour},
	{kindWaitingOnCustomer, 7, 2 * time.Hour, 5 * 24 * time.Hour},
	{kindPending, 14, 6 * time.Hour, 10 * 24 * time.Hour},
	{kindClosed, 27, 24 * time.Hour, 0},
	{kindClosedNoReply, 3, 24 * time.Hour, 0},
	{kindSpam, 3, time.Hour, 0},
	{kindAgentStarted, 6, time.Hour, 0},
	{kindChat, 7, time.Hour, 0},
	{kindPhone, 3, 24 * time.Hour, 0},
}

func (g *generator) conversation() error {
	total := 0
	for _, kw := range kindWeights {
		total += kw.w
	}
	n := g.r.IntN(total)
	kw := kindWeights[0]
	for _, c := range kindWeights {
		if n -= c.w; n < 0 {
			kw = c
			break
		}
	}
	maxAge := cmp.Or(kw.maxAge, g.cfg.Span)
	maxAge = max(min(maxAge, g.cfg.Span), kw.minAge+time.Minute)
	age := kw.minAge + time.Duration(g.r.Int64N(int64(maxAge-kw.minAge)))
	g.t = g.cfg.Now.Add(-age)

	nc := NewConversation{
		MailboxID:  pick(g.r, g.acc.Mailboxes),
		CustomerID: pick(g.r, g.acc.Customers),
		Subject:    pick(g.r, genSubj),
		At:         g.t,
	}
	nc.Body = "<p>" + nc.Subject + ". " + pick(g.r, genCustBody) + "</p>"
	if g.r.IntN(10) < 4 {
		nc.Tags = []string{pick(g.r, genTags)}
		if g.r.IntN(4) == 0 {
			nc.Tags = append(nc.Tags, pick(g.r, genTags))
			if nc.Tags[0] == nc.Tags[1] {
				nc.Tags = nc.Tags[:1]
			}
		}
	}
	agent := g.agent()
	switch kw.k {
	case kindAgentStarted:
		nc.CreatedByUserID, nc.AssigneeID, nc.Status = agent, agent, StatusPending
		nc.Body = "<p>" + pick(g.r, genAgentBody) + "</p>"
	case kindPhone:
		nc.Type, nc.CreatedByUserID, nc.AssigneeID = "phone", agent, agent
		nc.Body = "<p>Call notes: " + nc.Subject + "</p>"
	case kindChat:
		nc.Type = "chat"
	}
	c, err := g.s.CreateConversation(nc)
	if err != nil {
		return err
	}
	id := c.ID
	g.acc.Conversations = append(g.acc.Conversations, id)

	cust := func() error {
		_, err := g.s.AddCustomerThread(id, ThreadInput{Body: "<p>" + pick(g.r, genCustBody) + "</p>", At: g.step(30*time.Minute, 20*time.Hour)})
		return err
	}
	reply := func(status string) error {
		_, err := g.s.AddAgentReply(id, ThreadInput{UserID: agent, Body: "<p>" + pick(g.r, genAgentBody) + "</p>", Status: status, At: g.step(10*time.Minute, 6*time.Hour)})
		return err
	}
	assign := func() error {
		return g.s.Assign(id, agent, agent, g.step(2*time.Minute, 90*time.Minute))
	}
	extras := func() error {
		if g.r.IntN(10) == 0 { // reassigned once by a senior
			prev := agent
			agent = g.other(prev)
			if err := g.s.Assign(id, g.acc.Owner, agent, g.step(10*time.Minute, 3*time.Hour)); err != nil {
				return err
			}
		}
		if g.r.IntN(5) == 0 {
			if _, err := g.s.AddNote(id, ThreadInput{UserID: agent, Body: "<p>" + pick(g.r, genNoteBody) + "</p>", At: g.step(time.Minute, time.Hour)}); err != nil {
				return err
			}
		}
		return nil
	}
	draft := func() error {
		if g.r.IntN(6) != 0 {
			return nil
		}
		_, err := g.s.AddDraft(id, ThreadInput{UserID: agent, Body: "<p>Draft: " + pick(g.r, genAgentBody) + "</p>", At: g.step(time.Minute, 30*time.Minute)})
		return err
	}
	run := func(fns ...func() error) error {
		for _, f := range fns {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}

	switch kw.k {
	case kindNewUnassigned:
		if g.r.IntN(4) == 0 {
			return cust()
		}
		return nil
	case kindWaitingOnAgent:
		if g.r.IntN(5) == 0 { // unassigned follow-up nobody picked up
			return cust()
		}
		if err := run(assign, extras, func() error { return reply("") }, cust); err != nil {
			return err
		}
		for k := g.r.IntN(3); k > 0; k-- {
			if err := run(func() error { return reply("") }, cust); err != nil {
				return err
			}
		}
		return draft()
	case kindWaitingOnCustomer:
		return run(assign, extras, func() error { return reply(StatusActive) }, draft)
	case kindPending:
		return run(assign, extras, func() error { return reply(StatusPending) })
	case kindClosed:
		if err := run(assign, extras); err != nil {
			return err
		}
		for k := g.r.IntN(2); k > 0; k-- {
			if err := run(func() error { return reply("") }, cust); err != nil {
				return err
			}
		}
		if g.r.IntN(2) == 0 {
			return reply(StatusClosed)
		}
		return run(func() error { return reply(StatusPending) }, cust, func() error {
			return g.s.SetStatus(id, agent, StatusClosed, g.step(5*time.Minute, 2*time.Hour))
		})
	case kindClosedNoReply:
		return run(assign, func() error { return g.s.SetStatus(id, agent, StatusClosed, g.step(time.Hour, 8*time.Hour)) })
	case kindSpam:
		return g.s.SetStatus(id, g.acc.Owner, StatusSpam, g.step(10*time.Minute, 4*time.Hour))
	case kindAgentStarted:
		if g.r.IntN(2) == 0 {
			return nil // pending, waiting on the customer
		}
		if err := cust(); err != nil {
			return err
		}
		if g.r.IntN(2) == 0 {
			return reply(StatusClosed)
		}
		return extras()
	case kindChat:
		if err := assign(); err != nil {
			return err
		}
		for k := 4 + g.r.IntN(10); k > 0; k-- {
			var err error
			if k%2 == 0 {
				_, err = g.s.AddAgentReply(id, ThreadInput{UserID: agent, Body: pick(g.r, genAgentBody), At: g.step(20*time.Second, 3*time.Minute)})
			} else {
				_, err = g.s.AddCustomerThread(id, ThreadInput{Body: pick(g.r, genCustBody), At: g.step(20*time.Second, 3*time.Minute)})
			}
			if err != nil {
				return err
			}
		}
		if g.r.IntN(4) == 0 {
			return nil // chat still open, customer or agent last
		}
		return g.s.SetStatus(id, agent, StatusClosed, g.step(time.Minute, 10*time.Minute))
	case kindPhone:
		return g.s.SetStatus(id, agent, StatusClosed, g.step(time.Minute, 20*time.Minute))
	}
	return nil
}
