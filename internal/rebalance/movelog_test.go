package rebalance

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// TestMoveLogLinesNameThePeople: a proposed and an applied move are logged
// with the ticket's number, the people's names and the reason's sentence,
// not raw ids, so that the demo's terminal (and an operator's log) reads.
func TestMoveLogLinesNameThePeople(t *testing.T) {
	w := newWorld(t, 1)
	var logs bytes.Buffer
	p := balancer.DefaultPolicy()
	r := New(w.db, w.hs, Options{Mode: ModePropose, Policy: p, Now: func() time.Time { return w.now },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != 1 {
		t.Fatalf("%d proposals, want 1", len(plan.Proposals))
	}
	pr := plan.Proposals[0]
	users, err := w.db.Users(context.Background())
	must(t, err)
	to := ""
	for _, u := range users {
		if u.ID == pr.ToAgent {
			to = team.DisplayName(u)
		}
	}
	if to == "" {
		t.Fatalf("no user %d", pr.ToAgent)
	}
	attrs := fmt.Sprintf("ticket=%d from=(unassigned) to=%s reason=unassigned why=%s",
		pr.ConversationNumber, quoteIfNeeded(to), quoteIfNeeded(pr.Explanation))
	if want := fmt.Sprintf(`msg="move proposed" proposal=%d %s`, pr.ID, attrs); !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logs.String())
	}
	if _, err := r.Approve(context.Background(), pr.ID, "sst"); err != nil {
		t.Fatal(err)
	}
	r.Wait() // the line is the note's, which may come after the answer
	if want := `msg="move applied" proposal=` + fmt.Sprint(pr.ID) + fmt.Sprintf(" conversation=%d ", pr.ConversationID) + attrs; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logs.String())
	}
}

// quoteIfNeeded quotes as slog's text handler does: names with a space.
func quoteIfNeeded(s string) string {
	if strings.ContainsAny(s, " =\"") {
		return fmt.Sprintf("%q", s)
	}
	return s
}
