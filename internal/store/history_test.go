package store

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func historyIDs(obs []Observation) []int64 {
	var out []int64
	for _, o := range obs {
		out = append(out, o.ConversationID)
	}
	slices.Sort(out)
	return out
}

// TestMarksRecordWhichWereObserved: a mark set live is left out of the
// history, one set as history is in it, and an unmarked answer is in it
// only while no seam exists (the daemon may still observe it live).
func TestMarksRecordWhichWereObserved(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	for id := int64(1); id <= 3; id++ {
		c := conv(id, at(time.Hour))
		c.Status, c.ClosedAt = StatusClosed, at(40*time.Minute)
		apply(t, db, ConversationUpdate{Conversation: c, Threads: threads(id, 3), ThreadsComplete: true})
	}
	// Every first reply is at 20m, every resolution at 40m.
	h, err := db.History(ctx, t0)
	if err != nil || !h.Seam.Since.IsZero() || !h.End.Equal(at(40*time.Minute+time.Millisecond)) {
		t.Fatalf("History without a seam = %+v, %v; want the end just after the newest answer", h, err)
	}
	if got := historyIDs(h.FirstResponses); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("without a seam the history holds %v, want every answer", got)
	}

	seam, err := db.BeginLiveObservation(ctx, at(time.Hour))
	if err != nil || !seam.Since.Equal(at(time.Hour)) || !seam.HistoryUntil.Equal(at(40*time.Minute)) {
		t.Fatalf("BeginLiveObservation = %+v, %v; want since 1h, history until the close at 40m", seam, err)
	}
	if again, err := db.BeginLiveObservation(ctx, at(5*time.Hour)); err != nil || again != seam {
		t.Errorf("a second BeginLiveObservation = %+v, %v; want the first seam kept", again, err)
	}
	for id, live := range map[int64]bool{1: true, 2: false} {
		if _, err := db.MarkFirstResponseObserved(ctx, id, at(time.Hour), live); err != nil {
			t.Fatal(err)
		}
		if _, err := db.MarkResolutionObserved(ctx, id, at(time.Hour), live); err != nil {
			t.Fatal(err)
		}
	}
	// A repeated mark, live this time, changes nothing: the first decided.
	if first, err := db.MarkFirstResponseObserved(ctx, 2, at(2*time.Hour), true); err != nil || first {
		t.Fatalf("second mark = %v, %v", first, err)
	}
	h, err = db.History(ctx, t0)
	if err != nil || !h.End.Equal(at(time.Hour)) {
		t.Fatalf("History = %+v, %v; want the end at the seam", h, err)
	}
	if got, res := historyIDs(h.FirstResponses), historyIDs(h.Resolutions); !slices.Equal(got, []int64{2}) || !slices.Equal(res, []int64{2}) {
		t.Errorf("history holds first responses %v and resolutions %v; want only conversation 2 (1 was observed live, 3 is not marked yet)", got, res)
	}
	if h, _ := db.History(ctx, at(30*time.Minute)); len(h.FirstResponses) != 0 || len(h.Resolutions) != 1 {
		t.Errorf("history from 30m holds %d first responses and %d resolutions, want 0 and 1", len(h.FirstResponses), len(h.Resolutions))
	}
}

// TestLiveObservationMigration: a database the daemon ran on before
// migration 10 gets its seam at the first mark and its live marks back by
// the rule the daemon followed (observed within a day of the event).
func TestLiveObservationMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	raw := rawAtVersion(t, path, 9)
	// Conversation 1 answered at 20m, marked at 2h: observed. Conversation
	// 2 answered at 20m, marked two days later: history.
	for _, row := range []struct {
		id     int64
		marked time.Time
	}{{1, at(2 * time.Hour)}, {2, at(48 * time.Hour)}} {
		if _, err := raw.Exec(`INSERT INTO conversations (id, mailbox_id, status, state, created_by_type, created_at, closed_at,
			first_reply_at, resolved_at, synced_at, first_response_observed_at, resolution_observed_at)
			VALUES (?, 10, 'closed', 'published', 'customer', ?, ?, ?, ?, 0, ?, ?)`, row.id, t0.UnixMilli(), at(40*time.Minute).UnixMilli(),
			at(20*time.Minute).UnixMilli(), at(40*time.Minute).UnixMilli(), row.marked.UnixMilli(), row.marked.UnixMilli()); err != nil {
			t.Fatal(err)
		}
		// The threads the facts are derived from again on opening.
		for i, th := range threads(row.id, 2) {
			if _, err := raw.Exec(`INSERT INTO threads (id, conversation_id, type, state, status, created_by_type, created_by_id, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, th.ID, row.id, th.Type, th.State, th.Status, th.CreatedByType, th.CreatedByID,
				at(time.Duration(i)*20*time.Minute).UnixMilli()); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw.Close()
	db, _ := openAt(t, path)
	h, err := db.History(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Seam.Since.Equal(at(2*time.Hour)) || !h.Seam.HistoryUntil.IsZero() {
		t.Errorf("seam = %+v, want since the first mark (2h)", h.Seam)
	}
	if got, res := historyIDs(h.FirstResponses), historyIDs(h.Resolutions); !slices.Equal(got, []int64{2}) || !slices.Equal(res, []int64{2}) {
		t.Errorf("history holds first responses %v and resolutions %v; want only conversation 2's (1's were observed)", got, res)
	}
}

// TestLiveFlagOutlivesDeletion: a conversation deleted and restored by Help
// Scout keeps what its marks were, so backfill still writes the one set as
// history and never the one observed live.
func TestLiveFlagOutlivesDeletion(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	updates := map[int64]ConversationUpdate{}
	for id := int64(1); id <= 2; id++ {
		c := conv(id, at(time.Hour))
		c.Status, c.ClosedAt = StatusClosed, at(40*time.Minute)
		updates[id] = ConversationUpdate{Conversation: c, Threads: threads(id, 3), ThreadsComplete: true}
		apply(t, db, updates[id])
	}
	if _, err := db.BeginLiveObservation(ctx, at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for id, live := range map[int64]bool{1: true, 2: false} {
		if _, err := db.MarkFirstResponseObserved(ctx, id, at(time.Hour), live); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteConversation(ctx, id); err != nil {
			t.Fatal(err)
		}
		u := updates[id]
		u.Conversation.UserUpdatedAt = at(2 * time.Hour)
		if !apply(t, db, u) {
			t.Fatalf("conversation %d was not restored", id)
		}
	}
	h, err := db.History(ctx, t0)
	if got := historyIDs(h.FirstResponses); err != nil || !slices.Equal(got, []int64{2}) {
		t.Errorf("history after delete and restore = %v, %v; want only conversation 2, marked as history", got, err)
	}
}
