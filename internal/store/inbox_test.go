package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func pendingIDs(t *testing.T, db *DB, maxAttempts int) []int64 {
	t.Helper()
	es, err := db.PendingWebhooks(context.Background(), maxAttempts, 0)
	if err != nil {
		t.Fatalf("PendingWebhooks: %v", err)
	}
	ids := []int64{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestWebhookInboxLifecycle(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	body := []byte(`{"id":123}`)

	id1, _, err := db.AddWebhook(ctx, "convo.created", body, at(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	id2, _, err := db.AddWebhook(ctx, "convo.assigned", []byte(`{"id":124}`), time.Time{}) // stamped by the clock
	if err != nil {
		t.Fatal(err)
	}
	rej, err := db.RejectWebhook(ctx, "convo.created", []byte(`{not json`), at(time.Minute), "invalid character 'n'")
	if err != nil {
		t.Fatal(err)
	}
	unsigned, err := db.InsertWebhook(ctx, WebhookEvent{Event: "convo.created", Body: body, SignatureOK: false})
	if err != nil {
		t.Fatal(err)
	}

	got, err := db.Webhook(ctx, id1)
	if err != nil {
		t.Fatal(err)
	}
	want := WebhookEvent{ID: id1, ReceivedAt: at(time.Minute), Event: "convo.created", Body: body, SignatureOK: true,
		Status: WebhookPending}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored event (-want +got):\n%s", diff)
	}
	if e, _ := db.Webhook(ctx, id2); !e.ReceivedAt.Equal(t0) {
		t.Errorf("default ReceivedAt = %v, want the clock's %v", e.ReceivedAt, t0)
	}
	if e, _ := db.Webhook(ctx, rej); e.Status != WebhookRejected || e.LastError == "" {
		t.Errorf("rejected event = %+v, want status rejected with the reason", e)
	}

	// Rejected and unsigned events are never handed out.
	if diff := cmp.Diff([]int64{id1, id2}, pendingIDs(t, db, 3)); diff != "" {
		t.Errorf("pending (-want +got):\n%s", diff)
	}
	if e, err := db.Webhook(ctx, unsigned); err != nil || e.SignatureOK || e.Status != WebhookPending {
		t.Errorf("unsigned event = %+v, %v; want stored, pending, signature not ok", e, err)
	}

	// id1 fails twice, then succeeds; id2 fails until the cap.
	clk.Set(at(time.Hour))
	for range 2 {
		if err := db.MarkWebhookFailed(ctx, id1, "helpscout: 503"); err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := db.Webhook(ctx, id1); e.Status != WebhookFailed || e.Attempts != 2 || e.LastError != "helpscout: 503" ||
		!e.ProcessedAt.Equal(at(time.Hour)) {
		t.Errorf("after two failures: %+v", e)
	}
	if err := db.MarkWebhookDone(ctx, id1); err != nil {
		t.Fatal(err)
	}
	if err := db.MarkWebhookDone(ctx, id1); err != nil {
		t.Errorf("marking a done event done again: %v, want nil", err)
	}
	if e, _ := db.Webhook(ctx, id1); e.Status != WebhookDone || e.Attempts != 3 || e.LastError != "" {
		t.Errorf("after success: %+v, want done with 3 attempts and no error", e)
	}
	for range 3 {
		if err := db.MarkWebhookFailed(ctx, id2, "boom"); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]int64{}, pendingIDs(t, db, 3)); diff != "" {
		t.Errorf("pending with cap 3 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int64{id2}, pendingIDs(t, db, 0)); diff != "" {
		t.Errorf("pending without cap (-want +got):\n%s", diff)
	}

	for name, err := range map[string]error{
		"fail a done event":       db.MarkWebhookFailed(ctx, id1, "late"),
		"complete a rejected one": db.MarkWebhookDone(ctx, rej),
	} {
		if !errors.Is(err, ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", name, err)
		}
	}
	if err := db.MarkWebhookDone(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("mark an unknown event: %v, want ErrNotFound", err)
	}
	if _, err := db.InsertWebhook(ctx, WebhookEvent{Status: WebhookDone}); err == nil {
		t.Error("inserting an event already done succeeded")
	}

	// Pruning removes done events processed before the cutoff and rejected
	// samples received before it; a failed one stays while it may be
	// retried, and goes once it used up its attempts before the cutoff.
	for _, tc := range []struct {
		name           string
		before         time.Time
		maxAttempts    int
		pruned, gaveUp int
		gone           []int64
	}{
		{"retries left", at(2 * time.Hour), 4, 2, 0, []int64{id1, rej}},
		{"no cap", at(2 * time.Hour), 0, 0, 0, nil},
		{"attempts used up after the cutoff", at(30 * time.Minute), 3, 0, 0, nil},
		{"attempts used up before the cutoff", at(2 * time.Hour), 3, 1, 1, []int64{id2}},
	} {
		pruned, gaveUp, err := db.PruneWebhooks(ctx, tc.before, tc.maxAttempts)
		if err != nil || pruned != tc.pruned || gaveUp != tc.gaveUp {
			t.Errorf("%s: PruneWebhooks = %d, %d, %v; want %d, %d, nil", tc.name, pruned, gaveUp, err, tc.pruned, tc.gaveUp)
		}
		for _, id := range tc.gone {
			if _, err := db.Webhook(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: pruned event %d still readable: %v", tc.name, id, err)
			}
		}
	}
	if got, _ := db.WebhookRejections(ctx); len(got) != 1 || got[0].Count != 1 {
		t.Errorf("rejection count after pruning its sample = %+v, want 1 for convo.created", got)
	}
}

// TestReplayedWebhookIsStoredOnce is issue 17 row 5 at the store: the same
// signed body delivered again within ReplayWindow is acknowledged as a
// duplicate of the first and never becomes a second pending event; after
// the window, or under another event name, it is a delivery of its own.
func TestReplayedWebhookIsStoredOnce(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	body := []byte(`{"id":77,"tags":[{"id":1,"tag":"vip"}]}`)
	first, dup, err := db.AddWebhook(ctx, "convo.tags", body, at(0))
	if err != nil || dup {
		t.Fatalf("first delivery: %d, duplicate %v, %v", first, dup, err)
	}
	for i := range 200 {
		id, dup, err := db.AddWebhook(ctx, "convo.tags", body, at(time.Duration(i)*time.Second))
		if err != nil || !dup || id != first {
			t.Fatalf("replay %d: id %d, duplicate %v, %v; want %d, true", i, id, dup, err, first)
		}
	}
	if diff := cmp.Diff([]int64{first}, pendingIDs(t, db, 0)); diff != "" {
		t.Errorf("pending after 200 replays (-want +got):\n%s", diff)
	}
	// Processed, then replayed again: still nothing new to do.
	if err := db.MarkWebhookDone(ctx, first); err != nil {
		t.Fatal(err)
	}
	if _, dup, _ := db.AddWebhook(ctx, "convo.tags", body, at(time.Hour)); !dup {
		t.Error("a replay of a processed event was stored again")
	}
	if _, dup, _ := db.AddWebhook(ctx, "convo.assigned", body, at(time.Hour)); dup {
		t.Error("the same body under another event name counted as a replay")
	}
	late, dup, err := db.AddWebhook(ctx, "convo.tags", body, at(ReplayWindow+time.Hour))
	if err != nil || dup {
		t.Errorf("after the window: duplicate %v, %v; want a new event", dup, err)
	}
	if ids := pendingIDs(t, db, 0); len(ids) != 2 || ids[1] != late {
		t.Errorf("pending = %v, want the other event name and the late delivery", ids)
	}
}

// TestRejectedWebhooksAreBounded is issue 17 row 6: the same signed but
// unparsable 1 MB body fifty times grew the database by 54 MB and was
// never pruned. Now every rejection is counted, an identical body is kept
// once, distinct bodies only up to RejectedSampleBytes (newest first), and
// pruning takes them by age.
func TestRejectedWebhooksAreBounded(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	big := func(fill byte) []byte { b := make([]byte, 1<<20); b[0] = '{'; b[1] = fill; return b }

	for i := range 50 {
		if _, err := db.RejectWebhook(ctx, "convo.created", big('x'), at(time.Duration(i)*time.Second), "invalid character"); err != nil {
			t.Fatal(err)
		}
	}
	count, bytes := rejectedSample(t, db)
	if count != 1 || bytes != 1<<20 {
		t.Errorf("after 50 identical rejections: %d samples of %d bytes, want 1 of 1 MiB", count, bytes)
	}
	var last int64
	for i := range 20 {
		id, err := db.RejectWebhook(ctx, "convo.created", big(byte('a'+i)), at(time.Minute+time.Duration(i)*time.Second), "invalid")
		if err != nil {
			t.Fatal(err)
		}
		last = id
	}
	count, bytes = rejectedSample(t, db)
	if bytes > RejectedSampleBytes || count != RejectedSampleBytes/(1<<20) {
		t.Errorf("after 20 more distinct 1 MiB bodies: %d samples, %d bytes; want %d, at most %d",
			count, bytes, RejectedSampleBytes/(1<<20), RejectedSampleBytes)
	}
	if e, err := db.Webhook(ctx, last); err != nil || e.Body[1] != 'a'+19 {
		t.Errorf("the newest sample is gone: %v", err)
	}
	got, err := db.WebhookRejections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []WebhookRejection{{Event: "convo.created", Count: 70, FirstAt: at(0), LastAt: at(time.Minute + 19*time.Second)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rejection counts (-want +got):\n%s", diff)
	}
	if _, _, err := db.PruneWebhooks(ctx, at(time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if count, _ := rejectedSample(t, db); count != 0 {
		t.Errorf("%d rejected samples older than the retention survived pruning", count)
	}
}

func rejectedSample(t *testing.T, db *DB) (rows, bytes int64) {
	t.Helper()
	err := db.read.QueryRow("SELECT COUNT(*), COALESCE(SUM(LENGTH(body)), 0) FROM webhook_inbox WHERE status = 'rejected'").
		Scan(&rows, &bytes)
	if err != nil {
		t.Fatal(err)
	}
	return rows, bytes
}

func TestWebhookEventIsDurableBeforeReturn(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/qw.db"
	db, _ := openAt(t, path)
	ctx := context.Background()
	id, _, err := db.AddWebhook(ctx, "convo.created", []byte(`{"id":1}`), t0)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, _ := openAt(t, path)
	if diff := cmp.Diff([]int64{id}, pendingIDs(t, db2, 0)); diff != "" {
		t.Errorf("pending after reopen (-want +got):\n%s", diff)
	}
}
