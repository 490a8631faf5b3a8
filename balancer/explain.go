package balancer

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Explanations are read by support people in a private note on the ticket
// and on the queue page, so they use names, ticket counts and rounded
// durations, and say only what decided the move. They describe the state
// just before the move.

func (m *model) name(i int32) string {
	a := m.agents[i].ag
	if a.Name != "" {
		return a.Name
	}
	return "agent " + strconv.FormatInt(a.ID, 10)
}

func tickets(n int) string {
	if n == 1 {
		return "1 ticket"
	}
	return strconv.Itoa(n) + " tickets"
}

// waitClause is "customer waiting 6h 10m" or, when nobody is waiting on us,
// "customer not waiting".
func (m *model) waitClause(c *Conversation) string {
	if d := waitingFor(c, m.now); d > 0 {
		return "customer waiting " + humanDuration(d)
	}
	return "customer not waiting"
}

// about rounds an estimate so that it does not sound more precise than it
// is: "under 5m", "about 20m", "about 5h 10m", "about 2d 4h".
func about(d time.Duration) string {
	switch {
	case d < 5*time.Minute:
		return "under 5m"
	case d < time.Hour:
		d = d.Round(5 * time.Minute)
	case d < 24*time.Hour:
		d = d.Round(10 * time.Minute)
	default:
		d = d.Round(time.Hour)
	}
	return "about " + humanDuration(d)
}

// expected is the customer's expected wait d with agent i, k customers
// ahead: "about 5h behind 9 tickets with Ana", and, when the wait runs past
// the end of i's shift, ", whose shift ends in 20m".
func (m *model) expected(i int32, k int, d time.Duration) string {
	var b strings.Builder
	b.WriteString(about(d))
	if k > 0 {
		b.WriteString(" behind ")
		b.WriteString(tickets(k))
	}
	b.WriteString(" with ")
	b.WriteString(m.name(i))
	a := &m.agents[i]
	if u := a.ag.AvailableUntil; a.available && !u.IsZero() && work(a, k) >= u.Sub(m.now) {
		b.WriteString(", whose shift ends in ")
		b.WriteString(humanDuration(max(u.Sub(m.now), 0)))
	}
	return b.String()
}

func (m *model) explainHandout(c *Conversation, from, to int32, bonus bool, w waits) string {
	var b strings.Builder
	b.WriteString(m.waitClause(c))
	if from < 0 {
		b.WriteString(", nobody assigned")
	} else {
		fa := m.agents[from].ag
		b.WriteString("; ")
		b.WriteString(m.name(from))
		if !fa.BackAt.IsZero() {
			// Off shift: say why the customer cannot wait for them.
			b.WriteString(" is off shift until ")
			b.WriteString(fa.BackAt.UTC().Format("Mon 15:04 MST"))
			b.WriteString(", when the customer would have waited ")
			since := c.CustomerWaitingSince
			if since.IsZero() {
				since = m.now
			}
			b.WriteString(humanDuration(fa.BackAt.Sub(since)))
		} else if fa.UnavailableSince.IsZero() {
			b.WriteString(" is away")
		} else {
			b.WriteString(" has been away for ")
			b.WriteString(humanDuration(m.now.Sub(fa.UnavailableSince)))
		}
	}
	b.WriteString("; would wait ")
	b.WriteString(m.expected(to, w.targetAhead, w.target))
	if bonus {
		b.WriteString(", who helped this customer before")
	}
	return b.String()
}

func (m *model) explainStuck(c *Conversation, from, to int32, via tier, w waits) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, past the %s stuck threshold, with %s; ", m.waitClause(c), humanDuration(m.p.StuckAfter), m.name(from))
	switch via {
	case tierSenior:
		b.WriteString("escalated to the senior who can answer soonest: ")
	case tierEscalation:
		b.WriteString("no senior can answer sooner, so escalated to the head of support: ")
	default:
		b.WriteString("no senior can answer sooner, so to whoever can: ")
	}
	b.WriteString(m.expected(to, w.targetAhead, w.target))
	return b.String()
}

// explainOverload is the plain reason a move pays: "customer waiting 40m
// would wait about 5h behind 9 tickets with Ana, about 20m behind 1 ticket
// with Ben".
func (m *model) explainOverload(c *Conversation, from, to int32, w waits) string {
	return m.waitClause(c) + " would wait " + m.expected(from, w.ownerAhead, w.owner) + ", " +
		m.expected(to, w.targetAhead, w.target)
}

// explainFlag takes the threshold already formatted: it is the same for
// every flag of a plan.
func (m *model) explainFlag(c *Conversation, from int32, threshold string) string {
	return "customer waiting " + humanDuration(waitingFor(c, m.now)) + ", past the " + threshold +
		" stuck threshold, with " + m.name(from) + ", a senior: for the head of support to look at"
}

// explainNoSenior is explainFlag's sentence for an ST's stuck ticket that
// no senior can take.
func (m *model) explainNoSenior(c *Conversation, from int32, threshold string) string {
	return "customer waiting " + humanDuration(waitingFor(c, m.now)) + ", past the " + threshold +
		" stuck threshold, with " + m.name(from) + "; no senior on shift can take it: for the head of support to look at"
}

// humanDuration rounds for people: "45m", "6h 10m", "2d 4h", "under a
// minute". It avoids fmt because a large team's plan can carry thousands of
// flags, each with two durations.
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return "under a minute"
	}
	var buf [32]byte
	b := buf[:0]
	pair := func(big int64, bigUnit byte, small int64, smallUnit byte) {
		b = append(strconv.AppendInt(b, big, 10), bigUnit)
		if small != 0 {
			b = append(strconv.AppendInt(append(b, ' '), small, 10), smallUnit)
		}
	}
	const day = 24 * time.Hour
	switch {
	case d < time.Hour:
		pair(int64(d/time.Minute), 'm', 0, 0)
	case d < day:
		pair(int64(d/time.Hour), 'h', int64(d%time.Hour/time.Minute), 'm')
	default:
		pair(int64(d/day), 'd', int64(d%day/time.Hour), 'h')
	}
	return string(b)
}
