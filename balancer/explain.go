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

// holding describes an agent's queue: "14 open tickets, a load of 12.5
// against a fair share of 8.0".
func (m *model) holding(i int32) string {
	a := &m.agents[i]
	_, fair := m.fairUtil()
	return fmt.Sprintf("%s, a load of %.1f against a fair share of %.1f",
		tickets(a.open()), a.load(m.p), fair*a.ag.Capacity)
}

func tickets(n int) string {
	if n == 1 {
		return "1 open ticket"
	}
	return strconv.Itoa(n) + " open tickets"
}

// waitClause is "customer waiting 6h 10m" or, when nobody is waiting on us,
// "customer not waiting".
func (m *model) waitClause(c *Conversation) string {
	if d := waitingFor(c, m.now); d > 0 {
		return "customer waiting " + humanDuration(d)
	}
	return "customer not waiting"
}

func (m *model) explainHandout(c *Conversation, from, to int32, bonus bool) string {
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
	b.WriteString("; ")
	b.WriteString(m.name(to))
	if bonus {
		b.WriteString(" helped this customer before and is under their fair share: ")
	} else {
		b.WriteString(" has the most room: ")
	}
	b.WriteString(m.holding(to))
	return b.String()
}

func (m *model) explainStuck(c *Conversation, from, to int32, via tier) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, past the %s stuck threshold, with %s; ",
		m.waitClause(c), humanDuration(m.p.StuckAfter), m.name(from))
	switch via {
	case tierSenior:
		fmt.Fprintf(&b, "escalated to %s, the least busy senior available (%s)", m.name(to), tickets(m.agents[to].open()))
	case tierEscalation:
		fmt.Fprintf(&b, "no senior available, so escalated to %s, head of support (%s)", m.name(to), tickets(m.agents[to].open()))
	default:
		fmt.Fprintf(&b, "no senior available, so %s, who has the most room, takes over: %s", m.name(to), m.holding(to))
	}
	return b.String()
}

func (m *model) explainOverload(c *Conversation, from, to int32) string {
	return fmt.Sprintf("%s; %s holds %s; %s holds %s",
		m.waitClause(c), m.name(from), m.holding(from), m.name(to), m.holding(to))
}

// explainFlag takes the threshold already formatted: it is the same for
// every flag of a plan.
func (m *model) explainFlag(c *Conversation, from int32, threshold string) string {
	return "customer waiting " + humanDuration(waitingFor(c, m.now)) + ", past the " + threshold +
		" stuck threshold, with " + m.name(from) + ", a senior: for the head of support to look at"
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
