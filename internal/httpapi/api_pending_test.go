package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// cet is the office-hours zone of these tests, not UTC, so that a time
// said in UTC by the API where the page says it in the team's zone shows.
var cet = time.FixedZone("CET", 3600)

// pendingWarningsJSON is what the API says of a proposal about approving
// it now; a key the answer leaves out reads as its zero value, and
// present records which keys were there.
type pendingWarningsJSON struct {
	TicketGone     string
	ReceiverUnfit  string
	ReceiverAbsent bool
	present        []string
}

// apiProposals lists /api/v1/proposals at path and returns each proposal's
// warnings, by id.
func apiProposals(t *testing.T, s *Server, path string) map[int64]pendingWarningsJSON {
	t.Helper()
	rec := do(s, "GET", path, "")
	if rec.Code != 200 {
		t.Fatalf("GET %s: status %d: %s", path, rec.Code, rec.Body)
	}
	var body struct {
		Proposals []map[string]any `json:"proposals"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("GET %s: not JSON: %v: %s", path, err, rec.Body)
	}
	out := map[int64]pendingWarningsJSON{}
	for _, p := range body.Proposals {
		var w pendingWarningsJSON
		for _, k := range []string{"ticket_gone", "receiver_unfit", "receiver_absent"} {
			if _, ok := p[k]; ok {
				w.present = append(w.present, k)
			}
		}
		w.TicketGone, _ = p["ticket_gone"].(string)
		w.ReceiverUnfit, _ = p["receiver_unfit"].(string)
		w.ReceiverAbsent, _ = p["receiver_absent"].(bool)
		out[int64(p["id"].(float64))] = w
	}
	return out
}

// apiAndPage serves the API and the page over w, the page in cet.
func apiAndPage(w *fakeWorld, now func() time.Time, logs *bytes.Buffer) *Server {
	s := New(Options{Now: now, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	s.EnableAPI(APIOptions{Team: w, Queue: w, Decider: w, StuckAfter: 4 * time.Hour})
	s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, StuckAfter: 4 * time.Hour, Location: cet})
	return s
}

// pendingCases are worlds in which approving a pending move now does
// nothing, and one in which it does. In newWorld, proposal 7 moves ticket
// 1001 from Ana to Sam, proposal 8 hands out ticket 1003 to Sam, and
// proposal 1, applied yesterday, moved a ticket from Ana to Sam; the
// clock reads 15:00 UTC, 16:00 CET.
var pendingCases = []struct {
	name   string
	change func(w *fakeWorld)
	want   map[int64]pendingWarningsJSON // by proposal; absent: neither field
}{
	{"receiver fit", func(*fakeWorld) {}, nil},
	{"receiver off shift", func(w *fakeWorld) {
		sam := agentOf(w, 12)
		sam.Status, sam.Available, sam.BackAt = "off-shift", false, pageNow.Add(18*time.Hour)
	}, map[int64]pendingWarningsJSON{
		7: {ReceiverUnfit: "Sam Senior is off shift now (back Wed 10:00 CET)", ReceiverAbsent: true},
		8: {ReceiverUnfit: "Sam Senior is off shift now (back Wed 10:00 CET)", ReceiverAbsent: true},
	}},
	{"receiver about to leave", func(w *fakeWorld) {
		sam := agentOf(w, 12)
		sam.AvailableUntil, sam.ShiftEndMargin = pageNow.Add(5*time.Minute), 30*time.Minute
	}, map[int64]pendingWarningsJSON{
		7: {ReceiverUnfit: "Sam Senior ends the shift at 16:05 CET, within 30m, too soon to start a new customer"},
		8: {ReceiverUnfit: "Sam Senior ends the shift at 16:05 CET, within 30m, too soon to start a new customer"},
	}},
	{"receiver lost the mailbox", func(w *fakeWorld) {
		agentOf(w, 12).Mailboxes = []int64{5}
		for i := range w.convs {
			if w.convs[i].ID == 1003 {
				w.convs[i].MailboxID = 6
			}
		}
	}, map[int64]pendingWarningsJSON{
		8: {ReceiverUnfit: "Sam Senior can no longer open mailbox 6"},
	}},
	{"ticket closed, receiver away", func(w *fakeWorld) {
		w.convs = slices.DeleteFunc(w.convs, func(c store.OpenConversation) bool { return c.ID == 1001 })
		sam := agentOf(w, 12)
		sam.Status, sam.Available = "away", false
	}, map[int64]pendingWarningsJSON{
		// A move that moves nothing says nothing of its receiver.
		7: {TicketGone: "no longer open with Ana Front (closed, or moved by someone, since the proposal)"},
		8: {ReceiverUnfit: "Sam Senior is away now", ReceiverAbsent: true},
	}},
	{"hand-out taken by someone", func(w *fakeWorld) {
		for i := range w.convs {
			if w.convs[i].ID == 1003 {
				w.convs[i].AssigneeID = 11
			}
		}
	}, map[int64]pendingWarningsJSON{
		8: {TicketGone: "no longer in the unassigned queue (assigned, set pending or closed since the proposal)"},
	}},
}

func agentOf(w *fakeWorld, id int64) *team.Agent {
	i := slices.IndexFunc(w.agents, func(a team.Agent) bool { return a.ID == id })
	return &w.agents[i]
}

// TestAPIPendingProposalSaysApprovingDoesNothing: the page warned on a
// pending move whose ticket is gone or whose receiver can no longer take
// it, but GET /api/v1/proposals said neither, so a tool approving through
// the API learnt it only from the stale outcome. Each pending proposal now
// carries ticket_gone, or receiver_unfit with receiver_absent, in every
// listing that holds pending ones; a decided proposal, whose receiver is
// the same person, carries neither.
func TestAPIPendingProposalSaysApprovingDoesNothing(t *testing.T) {
	t.Parallel()
	for _, tt := range pendingCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			tt.change(w)
			s := apiAndPage(w, clock.Now, &bytes.Buffer{})
			for _, path := range []string{"/api/v1/proposals", "/api/v1/proposals?status=pending"} {
				got := apiProposals(t, s, path)
				for _, id := range []int64{7, 8} {
					want := tt.want[id]
					for k, v := range map[string]bool{"ticket_gone": want.TicketGone != "", "receiver_unfit": want.ReceiverUnfit != "", "receiver_absent": want.ReceiverAbsent} {
						if v {
							want.present = append(want.present, k)
						}
					}
					g := got[id]
					slices.Sort(g.present)
					slices.Sort(want.present)
					if diff := cmp.Diff(want, g, cmp.AllowUnexported(pendingWarningsJSON{})); diff != "" {
						t.Errorf("%s: proposal %d (-want +got):\n%s", path, id, diff)
					}
				}
			}
			for _, path := range []string{"/api/v1/proposals", "/api/v1/proposals?status=applied"} {
				if got := apiProposals(t, s, path)[1]; got.present != nil {
					t.Errorf("%s: applied proposal 1 says %v", path, got.present)
				}
			}
		})
	}
}

// TestAPIPendingWarningsAreThePages: for the same world, the API's
// ticket_gone is the page's "Now ..." and its receiver_unfit opens the
// page's warning, which goes on by receiver_absent, so the two cannot
// drift apart.
func TestAPIPendingWarningsAreThePages(t *testing.T) {
	t.Parallel()
	for _, tt := range pendingCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			tt.change(w)
			s := apiAndPage(w, clock.Now, &bytes.Buffer{})
			api := apiProposals(t, s, "/api/v1/proposals?status=pending")
			page := pageGet(t, s, "/").Body.String()
			for _, id := range []int64{7, 8} {
				row, a := proposalItem(t, page, int(id)), api[id]
				if a.TicketGone != "" {
					if want := `Now <span class="gone">` + html.EscapeString(a.TicketGone) + `</span>`; !strings.Contains(row, want) {
						t.Errorf("proposal %d: the API says ticket_gone %q, the page does not:\n%s", id, a.TicketGone, row)
					}
				} else if strings.Contains(row, `class="gone"`) {
					t.Errorf("proposal %d: the page says its ticket is gone, the API does not:\n%s", id, row)
				}
				if a.ReceiverUnfit == "" {
					if strings.Contains(row, `class="err absent"`) {
						t.Errorf("proposal %d: the page warns of its receiver, the API does not:\n%s", id, row)
					}
					continue
				}
				because := "hands a customer only to someone it could choose now"
				if a.ReceiverAbsent {
					because = "hands no customer to someone who is not there"
				}
				want := `<p class="err absent">` + html.EscapeString(a.ReceiverUnfit+": approved now, the move is skipped (stale), as queuewrangler "+because) + `.</p>`
				if !strings.Contains(row, want) {
					t.Errorf("proposal %d: the API says receiver_unfit %q (absent %v), the page does not:\n%s", id, a.ReceiverUnfit, a.ReceiverAbsent, row)
				}
			}
		})
	}
}

// readCounter counts the reads of a fakeWorld and fails those asked to.
type readCounter struct {
	*fakeWorld
	failTeam, failOpen bool

	mu        sync.Mutex
	agents    int
	openReads []store.OpenFilter
}

func (r *readCounter) Agents(ctx context.Context) ([]team.Agent, team.Figures, error) {
	r.mu.Lock()
	r.agents++
	r.mu.Unlock()
	if r.failTeam {
		return nil, team.Figures{}, errors.New("read snapshot: disk on fire")
	}
	return r.fakeWorld.Agents(ctx)
}

func (r *readCounter) OpenConversations(ctx context.Context, f store.OpenFilter) ([]store.OpenConversation, error) {
	r.mu.Lock()
	r.openReads = append(r.openReads, f)
	r.mu.Unlock()
	if r.failOpen {
		return nil, errors.New("read conversations: disk on fire")
	}
	return r.fakeWorld.OpenConversations(ctx, f)
}

// TestAPIPendingWarningsReadOncePerRequest: the checks read the team once
// and the mirror once for the unassigned queue and once per owner a
// pending move takes from, however many proposals are listed; a listing
// with no pending proposal reads neither. A failed read leaves the fields
// out, is logged once, and the proposals are answered all the same, as
// the page degrades.
func TestAPIPendingWarningsReadOncePerRequest(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	setup := func(failTeam, failOpen bool) (*Server, *readCounter, *bytes.Buffer) {
		w := newWorld(clock.Now)
		sam := agentOf(w, 12)
		sam.Status, sam.Available = "away", false
		// Three more pending moves from Ana, and one from Walt: two owners.
		for i, from := range []int64{11, 11, 11, 13} {
			id := int64(30 + i)
			w.convs = append(w.convs, store.OpenConversation{ID: 3000 + id, Number: 2000 + id, Status: store.StatusActive, AssigneeID: from,
				CreatedAt: pageNow.Add(-time.Hour)})
			w.proposals = append(w.proposals, store.Proposal{ID: id, ConversationID: 3000 + id, FromAgent: from, ToAgent: 12,
				Reason: "overload", Status: store.ProposalPending, CreatedAt: pageNow.Add(-time.Minute)})
		}
		r := &readCounter{fakeWorld: w, failTeam: failTeam, failOpen: failOpen}
		var logs bytes.Buffer
		s := New(Options{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		s.EnableAPI(APIOptions{Team: r, Queue: r, StuckAfter: 4 * time.Hour})
		logs.Reset() // New's own warnings of the setup
		return s, r, &logs
	}

	t.Run("one read of each", func(t *testing.T) {
		s, r, logs := setup(false, false)
		got := apiProposals(t, s, "/api/v1/proposals")
		for _, id := range []int64{7, 8, 30, 31, 32, 33} {
			if got[id].ReceiverUnfit != "Sam Senior is away now" {
				t.Errorf("proposal %d: receiver_unfit %q, want Sam away", id, got[id].ReceiverUnfit)
			}
		}
		if r.agents != 1 {
			t.Errorf("the team was read %d times, want once", r.agents)
		}
		owners := map[int64]int{}
		unassigned := 0
		for _, f := range r.openReads {
			switch {
			case f.AssigneeID != 0:
				owners[f.AssigneeID]++
			case f.Assignment == store.OnlyUnassigned:
				unassigned++
			}
		}
		if want := map[int64]int{11: 1, 13: 1}; !cmp.Equal(owners, want) || unassigned != 1 || len(r.openReads) != 3 {
			t.Errorf("open reads %+v: want the unassigned queue once and each owner once (%v)", r.openReads, want)
		}
		if logs.Len() != 0 {
			t.Errorf("logged:\n%s", logs)
		}
	})
	t.Run("none without a pending proposal", func(t *testing.T) {
		s, r, _ := setup(false, false)
		apiProposals(t, s, "/api/v1/proposals?status=applied")
		if r.agents != 0 || len(r.openReads) != 0 {
			t.Errorf("listing applied proposals read the team %d times and the mirror's tickets %d times, want neither", r.agents, len(r.openReads))
		}
	})
	for _, tt := range []struct {
		name               string
		failTeam, failOpen bool
		want7              pendingWarningsJSON
		logged             string
	}{
		// The ticket is there, but nobody is known to receive it: the
		// page, too, says nothing of a receiver it could not read.
		{"the team fails", true, false, pendingWarningsJSON{}, "the team"},
		// Without the tickets nothing is known gone; the receiver is
		// checked without the ticket's mailbox, as on the page.
		{"the tickets fail", false, true, pendingWarningsJSON{ReceiverUnfit: "Sam Senior is away now", ReceiverAbsent: true}, "the pending proposals' tickets"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _, logs := setup(tt.failTeam, tt.failOpen)
			got := apiProposals(t, s, "/api/v1/proposals?status=pending")
			if len(got) != 6 {
				t.Errorf("%d proposals answered, want the 6 pending", len(got))
			}
			g := got[7]
			g.present = nil
			if diff := cmp.Diff(tt.want7, g, cmp.AllowUnexported(pendingWarningsJSON{})); diff != "" {
				t.Errorf("proposal 7 (-want +got):\n%s", diff)
			}
			if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), tt.logged) {
				t.Errorf("want one log line naming %q, got:\n%s", tt.logged, logs)
			}
		})
	}
}
