package notify

import (
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// The messages are built with slack-go's Block Kit types rather than
// structs of our own: they carry Slack's field names and omissions, and
// the golden files in testdata show the JSON they make.

// shown bounds the items one message lists; Slack allows 50 blocks, and a
// person reads ten.
const shown = 10

func proposalsMessage(ps []store.Proposal, more int, names func(int64) string, page string) slack.WebhookMessage {
	items := make([]string, len(ps))
	for i, p := range ps {
		from := "Unassigned"
		if p.FromAgent != 0 {
			from = names(p.FromAgent)
		}
		items[i] = ticketLink(p.ConversationID, p.ConversationNumber) + " · " + escape(p.Reason) + " · " +
			escape(from) + " → " + escape(names(p.ToAgent)) + "\n" + escape(p.Explanation)
		if page != "" {
			items[i] += "\n" + link(pageLink(page, "#proposal-"+itoa(p.ID)), "Approve or reject on the queue page")
		}
	}
	return listMessage(plural(len(ps)+more, "move waits", "moves wait")+" for approval", items, more,
		func(n int) string { return plural(n, "more proposal", "more proposals") + " on the queue page" }, "")
}

func escalationMessage(es []escalation, more int, names func(int64) string, page string) slack.WebhookMessage {
	items := make([]string, len(es))
	for i, e := range es {
		why := "flagged for the head of support"
		if e.noSenior {
			why = "no senior can take it"
		}
		items[i] = ticketLink(e.flag.ConversationID, e.flag.Number) + " · " + why + " · held by " +
			escape(names(e.flag.AgentID)) + "\n" + escape(e.flag.Explanation)
	}
	footer := ""
	if page != "" {
		footer = link(pageLink(page, "#stuck"), "Stuck tickets on the queue page")
	}
	return listMessage(plural(len(es)+more, "stuck ticket needs", "stuck tickets need")+" a person", items, more,
		func(n int) string { return plural(n, "more stuck ticket", "more stuck tickets") }, footer)
}

// listMessage is a header, a section for each of the first items, a note
// of how many more there are, and an optional footer note.
func listMessage(title string, items []string, more int, moreNote func(int) string, footer string) slack.WebhookMessage {
	if len(items) > shown {
		more += len(items) - shown
		items = items[:shown]
	}
	blocks := []slack.Block{header(title)}
	for _, it := range items {
		blocks = append(blocks, section(it))
	}
	if more > 0 {
		blocks = append(blocks, note(moreNote(more)))
	}
	if footer != "" {
		blocks = append(blocks, note(footer))
	}
	return webhookMessage(title, blocks)
}

func digestMessage(d digest, page string) slack.WebhookMessage {
	// The day is the digest zone's calendar day: say which zone, as the
	// page says the zone of its times.
	title := "Yesterday, " + d.Day.Format("Mon 2 Jan") + " (" + d.Day.Location().String() + ")"
	blocks := []slack.Block{header(title)}
	fields := []*slack.TextBlockObject{
		mrkdwn("*First response* (" + plural(d.Responses, "first reply", "first replies") + ")\n" + quantiles(d.Responses, d.FirstResponseP50, d.FirstResponseP90)),
	}
	if d.Office {
		fields = append(fields, mrkdwn("*Within office hours*\n"+quantiles(d.Responses, d.OfficeP50, d.OfficeP90)))
	}
	fields = append(fields,
		mrkdwn("*Reassignments*\n"+itoa(int64(d.Moves.Reassignments))),
		mrkdwn("*Hand-outs*\n"+itoa(int64(d.Moves.Handouts))))
	blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))

	loaded := "Nobody holds open work."
	if len(d.Loaded) > 0 {
		var b strings.Builder
		for i, a := range d.Loaded {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString("• " + escape(a.Name) + ": " + plural(a.Open, "open ticket", "open tickets") + ", " + shareText(a))
		}
		loaded = b.String()
	}
	blocks = append(blocks, section("*Most loaded now*\n"+loaded))

	oldest := "No customer is waiting."
	if w := d.Oldest; w != nil {
		oldest = escape(w.Customer) + ", waiting " + balancer.FormatDuration(w.Waiting) + " on " +
			ticketLink(w.ConversationID, w.Number) + " · " + escape(w.Holder)
	}
	blocks = append(blocks, section("*Oldest waiting customer*\n"+oldest))
	if page != "" {
		blocks = append(blocks, note(link(pageLink(page, ""), "The queue page")))
	}
	return webhookMessage(title+": first response "+quantiles(d.Responses, d.FirstResponseP50, d.FirstResponseP90), blocks)
}

// shareText is an agent's load against their fair share ("1.8× fair
// share"), or, for someone who has none (off shift, away, the head of
// support), why: their ratio is 0, and "0.0× fair share" beside open
// tickets would read as an idle agent rather than customers waiting on
// someone who is not there.
func shareText(a team.Agent) string {
	if a.FairShare > 0 {
		return strconv.FormatFloat(a.LoadRatio, 'f', 1, 64) + "× fair share"
	}
	switch a.Status {
	case roster.StatusAway:
		return "away, no fair share"
	case roster.StatusOffShift:
		return "off shift, no fair share"
	case team.StatusRemoved:
		return "no longer in Help Scout"
	}
	return "no fair share"
}

// quantiles writes p50 and p90, or says there was nothing to measure.
func quantiles(n int, p50, p90 time.Duration) string {
	if n == 0 {
		return "no replies"
	}
	return "p50 " + balancer.FormatDuration(p50) + " · p90 " + balancer.FormatDuration(p90)
}

// webhookMessage is the payload: text is what notifications and clients
// without Block Kit show.
func webhookMessage(text string, blocks []slack.Block) slack.WebhookMessage {
	noUnfurl := false
	return slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}, UnfurlLinks: &noUnfurl, UnfurlMedia: &noUnfurl}
}

func header(text string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, text, false, false))
}

func section(text string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(text), nil, nil)
}

func note(text string) *slack.ContextBlock {
	return slack.NewContextBlock("", mrkdwn(text))
}

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, text, false, false)
}

// ticketLink is "#1234" linked to the conversation in Help Scout.
func ticketLink(id, number int64) string {
	return link(helpscout.Conversation{ID: id, Number: number}.WebURL(), "#"+itoa(number))
}

func link(url, text string) string { return "<" + url + "|" + escape(text) + ">" }

// pageLink is the queue page's address with a fragment.
func pageLink(page, fragment string) string { return strings.TrimRight(page, "/") + "/" + fragment }

// escape makes text safe in mrkdwn: names and subjects come from
// customers and must not turn into links or mentions.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
