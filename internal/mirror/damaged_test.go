package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// storeAt gives e a store in a file the test can damage, and returns its
// path.
func (e *env) storeAt(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qw.db")
	e.db = testkit.OpenStoreAt(t, path)
	e.db.Now = e.clock.Now
	return path
}

// watched is a mirror on e that logs to a buffer and tells passes after
// each pass of Run, until ctx (Run's) ends.
func (e *env) watched(ctx context.Context) (m *mirror.Mirror, log *testkit.LogBuffer, passes <-chan struct{}) {
	log = &testkit.LogBuffer{}
	ch := make(chan struct{})
	m = e.mirror(mirror.Options{
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{ReplaceAttr: dropTime})),
		Updated: func() {
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
			}
		},
	})
	return m, log, ch
}

// TestDamagedDatabaseWhileRunning: a database file damaged while the
// daemon runs was only logged as one more failed sync at every poll, and
// /readyz said nothing of it. /readyz now names it with the remedy, the
// log says it once, at ERROR, with the remedy at length, for each run of
// such failures, and the mirror keeps running: a file restored under it
// syncs again.
func TestDamagedDatabaseWhileRunning(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 60})
	path := e.storeAt(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, log, syncs := e.watched(ctx)
	syncOnce(t, m)

	var repair func()
	damage := func() {
		repair = testkit.DamageTable(t, path, "conversations")
		// A change the next poll must write into the damaged table.
		c := e.fake.Conversations()[0]
		if err := e.fake.SetTags(c.ID, []string{"tag-" + e.clock.Now().Format("150405")}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
	damagedLines := func() int { return strings.Count(log.String(), `msg="sync failed: the database file is damaged"`) }
	waitSync := func(what string, cond func() bool) {
		t.Helper()
		for range 100 {
			<-syncs
			if cond() {
				return
			}
		}
		ok, reason := m.Ready()
		t.Fatalf("%s: not seen after 100 syncs; ready %v %q; log:\n%s", what, ok, reason, log.String())
	}
	notReadyDamaged := func() bool { ok, reason := m.Ready(); return !ok && reason == store.ErrCorruptReason }

	damage()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Millisecond) }()
	waitSync("/readyz naming the damaged file", notReadyDamaged)
	for range 3 {
		<-syncs
	}
	if !notReadyDamaged() {
		ok, reason := m.Ready()
		t.Errorf("after more failed syncs, ready %v %q, want %q", ok, reason, store.ErrCorruptReason)
	}
	if n := damagedLines(); n != 1 {
		t.Errorf("%d lines on the damaged file over several syncs, want 1:\n%s", n, log.String())
	}
	if strings.Contains(log.String(), `msg="sync failed" `) {
		t.Errorf("the damaged file is also logged as a plain failed sync:\n%s", log.String())
	}
	for _, want := range []string{"level=ERROR", path, "restore it from a backup", "move the file aside", "re-sync"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, log.String())
		}
	}

	// The file restored: the mirror syncs again, and a new run of damage
	// is said again.
	repair()
	waitSync("ready once the file is restored", func() bool { ok, _ := m.Ready(); return ok })
	damage()
	waitSync("/readyz naming the file damaged again", notReadyDamaged)
	if n := damagedLines(); n != 2 {
		t.Errorf("%d lines on the damaged file over two runs of failures, want 2:\n%s", n, log.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestReadyNamesOnlyThePresentCause: /readyz adds the latest Help Scout
// failure while the mirror waits on Help Scout, but not to a damaged
// database's reason: the sync fails on the file, no Help Scout call may
// have been made since, and the failure it would name can be hours old.
func TestReadyNamesOnlyThePresentCause(t *testing.T) {
	const failure = "Help Scout answered 503 (after 8 retries)"
	lastFailure := func() string { return failure }

	t.Run("a first sync that fails on Help Scout names the failure", func(t *testing.T) {
		e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 5})
		m := e.mirror(mirror.Options{})
		e.fake.SetFaults(helpscouttest.Faults{FailNext: 1000})
		if _, err := m.SyncOnce(context.Background()); err == nil {
			t.Fatal("SyncOnce succeeded against a failing Help Scout")
		}
		ok, reason := m.ReadyWithCause(lastFailure)()
		if want := "; the latest Help Scout call failed: " + failure; ok || !strings.HasSuffix(reason, want) {
			t.Errorf("ready %v %q, want not ready ending in %q", ok, reason, want)
		}
		if ok, reason := m.ReadyWithCause(func() string { return "" })(); ok || strings.Contains(reason, "Help Scout call failed") {
			t.Errorf("with no failed call: ready %v %q, want not ready naming no call", ok, reason)
		}
	})
	// failOnDamage syncs a mirror, damages the conversations table under
	// it and has a sync fail on that; restore puts the page back.
	failOnDamage := func(t *testing.T) (e *env, m *mirror.Mirror, restore func()) {
		t.Helper()
		e = newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 5})
		path := e.storeAt(t)
		m = e.mirror(mirror.Options{})
		syncOnce(t, m)
		repair := testkit.DamageTable(t, path, "conversations")
		c := e.fake.Conversations()[0]
		if err := e.fake.SetTags(c.ID, []string{"changed"}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if _, err := m.SyncOnce(context.Background()); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("SyncOnce on the damaged file: %v, want store.ErrCorrupt", err)
		}
		return e, m, repair
	}
	t.Run("a damaged database names only itself", func(t *testing.T) {
		_, m, restore := failOnDamage(t)
		if ok, reason := m.ReadyWithCause(lastFailure)(); ok || reason != store.ErrCorruptReason {
			t.Errorf("ready %v %q, want not ready with only %q", ok, reason, store.ErrCorruptReason)
		}
		restore()
		syncOnce(t, m)
		if ok, reason := m.ReadyWithCause(lastFailure)(); !ok || reason != "" {
			t.Errorf("after the file is restored: ready %v %q, want ready", ok, reason)
		}
	})
	t.Run("a store fault gives way to a later Help Scout failure", func(t *testing.T) {
		// It stayed: /readyz said the database was damaged (or could not
		// take writes) for as long as Help Scout was down, and hid why
		// the mirror fell behind.
		e, m, restore := failOnDamage(t)
		restore()
		e.fake.SetFaults(helpscouttest.Faults{FailNext: 1000})
		if _, err := m.SyncOnce(context.Background()); err == nil || errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("SyncOnce against a failing Help Scout: %v, want its failure", err)
		}
		ok, reason := m.ReadyWithCause(lastFailure)()
		if want := "; the latest Help Scout call failed: " + failure; ok || !strings.HasSuffix(reason, want) || strings.Contains(reason, "database") {
			t.Errorf("ready %v %q, want not ready ending in %q and not naming the database", ok, reason, want)
		}
		e.fake.SetFaults(helpscouttest.Faults{})
		syncOnce(t, m)
		if ok, reason := m.ReadyWithCause(lastFailure)(); !ok || reason != "" {
			t.Errorf("after Help Scout answers again: ready %v %q, want ready", ok, reason)
		}
	})
}

// TestDamagedDatabaseSaidOnceByEveryPass: with the file damaged, every
// poll, every pass over the webhook inbox and the upkeep fail on it. The
// log says so once, at ERROR with the remedy, however many passes fail, and
// once more, at INFO, when the restored file passes SQLite's check. The
// webhook events wait with their tries untouched and are applied after.
func TestDamagedDatabaseSaidOnceByEveryPass(t *testing.T) {
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer sink.Close()
	h := &hookEnv{env: newEnv(t, helpscouttest.Options{Webhook: helpscouttest.WebhookOptions{URL: sink.URL, Secret: webhookSecret}},
		helpscouttest.GenerateConfig{Seed: 5, Conversations: 20})}
	path := h.storeAt(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log *testkit.LogBuffer
	var passes <-chan struct{}
	h.m, log, passes = h.watched(ctx)
	syncOnce(t, h.m)
	h.deliveries(t) // none: seeding emits no webhooks

	repair := testkit.DamageTable(t, path, "conversations")
	for i, c := range h.fake.Conversations()[:3] {
		if err := h.fake.SetTags(c.ID, []string{fmt.Sprintf("tag-%d", i)}, h.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range h.deliveriesWant(t, 3, "one per changed conversation") {
		h.store(t, d)
	}
	h.clock.Advance(time.Minute)
	pending := func() []store.WebhookEvent {
		t.Helper()
		events, err := h.db.PendingWebhooksAfter(context.Background(), 0, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		return events
	}
	failureLines := func() []string {
		var out []string
		for _, l := range strings.Split(log.String(), "\n") {
			if strings.Contains(l, "level=ERROR") || strings.Contains(l, "level=WARN") {
				out = append(out, l)
			}
		}
		return out
	}
	usableLines := func() int { return strings.Count(log.String(), `msg="the database file is usable again`) }

	done := make(chan error, 1)
	go func() { done <- h.m.Run(ctx, time.Millisecond) }() // a sync and an inbox pass, the upkeep, then the same per tick
	const passCount = 8
	for range passCount {
		<-passes
		h.m.Wake() // and inbox passes of their own, as arriving webhooks make
	}
	lines := failureLines()
	if len(lines) != 1 || !strings.Contains(lines[0], "level=ERROR") || !strings.Contains(lines[0], "the database file is damaged") ||
		!strings.Contains(lines[0], path) || !strings.Contains(lines[0], "restore it from a backup") {
		t.Errorf("over %d passes on the damaged file, the log has %d ERROR or WARN lines, want one ERROR naming the file and the remedy:\n%s",
			passCount, len(lines), strings.Join(lines, "\n"))
	}
	for _, e := range pending() {
		if e.Attempts != 0 {
			t.Errorf("webhook %d: %d attempts spent on the damaged file, want 0 (%s)", e.ID, e.Attempts, e.LastError)
		}
	}
	if n := len(pending()); n != 3 {
		t.Errorf("%d webhook events pending while the file is damaged, want 3", n)
	}

	repair()
	for i := 0; usableLines() == 0 || len(pending()) != 0; i++ {
		if i == 100 {
			t.Fatalf("after 100 passes on the restored file: %d pending webhooks; log:\n%s", len(pending()), log.String())
		}
		<-passes
	}
	for range passCount {
		<-passes
	}
	if n := usableLines(); n != 1 {
		t.Errorf("%d lines saying the file is usable again, want 1:\n%s", n, log.String())
	}
	if lines := failureLines(); len(lines) != 1 {
		t.Errorf("%d ERROR or WARN lines after the file was restored, want the one about the damage:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// damageFirstLeaf overwrites the first leaf page of the stored
// conversations table, as a failing disk would, and returns a
// conversation on that page (damaged), the readable one farthest from
// it, the last by id (intact), whose writes touch no page near the damage,
// and a repair that puts the page back.
func (e *env) damageFirstLeaf(t *testing.T, path string) (damaged, intact int64, repair func()) {
	t.Helper()
	// The first leaf, and none (the test fails) with fewer than 4: the
	// test needs the damage far from the last.
	repair = testkit.DamagePage(t, path, `SELECT pageno FROM dbstat WHERE name = 'conversations' AND pagetype = 'leaf'
		AND (SELECT count(*) FROM dbstat WHERE name = 'conversations' AND pagetype = 'leaf') >= 4 ORDER BY path LIMIT 1`)
	for _, c := range e.fake.Conversations() {
		_, _, err := e.db.Conversation(context.Background(), c.ID)
		switch {
		case errors.Is(err, store.ErrCorrupt) && (damaged == 0 || c.ID < damaged):
			damaged = c.ID
		case err == nil && c.ID > intact:
			intact = c.ID
		}
	}
	if damaged == 0 || intact == 0 {
		t.Fatalf("after damaging the first leaf: damaged conversation %d, intact %d; want one of each", damaged, intact)
	}
	return damaged, intact, repair
}

// queueRereads has ids queued for a re-read, in that order, as the
// balancer's re-reads before a move are when a sync holds the mirror,
// and returns the sync's error.
func (h *hookEnv) queueRereads(t *testing.T, ids ...int64) error {
	t.Helper()
	ctx := context.Background()
	var once sync.Once
	h.log.setBefore(func(*http.Request) {
		once.Do(func() {
			for _, id := range ids {
				if err := h.m.Refresh(ctx, id); err != nil {
					t.Errorf("Refresh(%d): %v", id, err)
				}
			}
		})
	})
	defer h.log.setBefore(nil)
	_, err := h.m.SyncOnce(ctx)
	return err
}

// TestDamagedRowStopsNoOtherWork: one damaged row stopped the whole
// webhook inbox for good. The pass ended at its event, and each pass
// starts again from the oldest pending one, so the events behind it, for
// intact conversations, never applied; a damaged conversation waiting to
// be re-read went back to the front of the queue, so nothing behind it was
// re-read either. Now both are passed over, without a try, and the rest
// proceeds; the pass still reports the damage, for the log's once-only
// ERROR.
func TestDamagedRowStopsNoOtherWork(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (h *hookEnv, path string) {
		sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		t.Cleanup(sink.Close)
		h = &hookEnv{env: newEnv(t, helpscouttest.Options{Webhook: helpscouttest.WebhookOptions{URL: sink.URL, Secret: webhookSecret}},
			helpscouttest.GenerateConfig{Seed: 5, Conversations: 150})}
		path = h.storeAt(t)
		h.m = h.mirror(mirror.Options{})
		syncOnce(t, h.m)
		return h, path
	}
	const tag = "after-the-damage"
	setTag := func(t *testing.T, h *hookEnv, ids ...int64) {
		t.Helper()
		for _, id := range ids {
			if err := h.fake.SetTags(id, []string{tag}, h.clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	tagged := func(t *testing.T, h *hookEnv, id int64) bool {
		t.Helper()
		c, _ := h.stored(t, id)
		return slices.Contains(c.Tags, tag)
	}
	passes := func(t *testing.T, h *hookEnv) {
		t.Helper()
		for pass := range 2 {
			if _, err := h.m.ProcessInbox(ctx); !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("pass %d: ProcessInbox = %v, want the damage reported", pass, err)
			}
		}
	}

	t.Run("an event behind a damaged row's", func(t *testing.T) {
		h, path := setup(t)
		damaged, intact, _ := h.damageFirstLeaf(t, path)
		setTag(t, h, damaged, intact)
		ds := h.deliveriesWant(t, 2, "one per changed conversation")
		events := []int64{h.store(t, ds[0]), h.store(t, ds[1])}
		passes(t, h)
		if !tagged(t, h, intact) {
			t.Error("the intact conversation's event, behind the damaged one's, was not applied")
		}
		first, err := h.db.Webhook(ctx, events[0])
		if err != nil {
			t.Fatal(err)
		}
		if first.Status != store.WebhookPending || first.Attempts != 0 {
			t.Errorf("the damaged row's event: %s after %d attempts, want pending after none", first.Status, first.Attempts)
		}
		second, err := h.db.Webhook(ctx, events[1])
		if err != nil {
			t.Fatal(err)
		}
		if second.Status != store.WebhookDone {
			t.Errorf("the intact row's event: %s, want done", second.Status)
		}
	})
	t.Run("a re-read behind a damaged conversation's", func(t *testing.T) {
		h, path := setup(t)
		damaged, intact, _ := h.damageFirstLeaf(t, path)
		if err := h.queueRereads(t, damaged, intact); err != nil && !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("SyncOnce: %v", err)
		}
		setTag(t, h, damaged, intact)
		passes(t, h)
		if !tagged(t, h, intact) {
			t.Error("the intact conversation, queued behind the damaged one, was not re-read")
		}
	})
}

// TestDamagedRereadWaitsForTheRepair: a damaged conversation's re-read
// fetched the conversation from Help Scout at every pass over the inbox,
// only to fail on the file again, until an operator repaired it. It now
// waits, parked, while the store holds the file damaged, and is made once
// the repaired file passes the store's check.
func TestDamagedRereadWaitsForTheRepair(t *testing.T) {
	ctx := context.Background()
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer sink.Close()
	h := &hookEnv{env: newEnv(t, helpscouttest.Options{Webhook: helpscouttest.WebhookOptions{URL: sink.URL, Secret: webhookSecret}},
		helpscouttest.GenerateConfig{Seed: 5, Conversations: 150})}
	path := h.storeAt(t)
	h.m = h.mirror(mirror.Options{})
	syncOnce(t, h.m)
	damaged, _, repair := h.damageFirstLeaf(t, path)
	if err := h.queueRereads(t, damaged); err != nil && !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("SyncOnce: %v", err)
	}
	const tag = "after-the-repair"
	if err := h.fake.SetTags(damaged, []string{tag}, h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// pass is one turn of Run's inbox pass: its failure said as runInbox
	// says it, which is how the store comes to hold the file damaged.
	pass := func() error {
		_, err := h.m.ProcessInbox(ctx)
		h.db.SayFailure(err, func(error) {})
		return err
	}

	before := h.conversationReads(damaged)
	const passes = 6
	for i := range passes {
		if err := pass(); !errors.Is(err, store.ErrCorrupt) && i == 0 {
			t.Fatalf("the first pass: ProcessInbox = %v, want the damage reported", err)
		}
	}
	if n := h.conversationReads(damaged) - before; n != 1 {
		t.Errorf("%d passes on the damaged file fetched the damaged conversation %d times, want once", passes, n)
	}

	repair()
	before = h.conversationReads(damaged)
	if err := pass(); err != nil {
		t.Errorf("a pass on the repaired file before its check: %v", err)
	}
	if n := h.conversationReads(damaged) - before; n != 0 {
		t.Errorf("before the repaired file passed its check, the damaged conversation was fetched %d times, want none", n)
	}
	h.rereadAfterTheCheck(t, damaged, tag, pass)
}

// rereadAfterTheCheck has the repaired file pass the store's check, then
// runs pass, which must fetch the damaged conversation once and store it
// with tag, as Help Scout has it now.
func (h *hookEnv) rereadAfterTheCheck(t *testing.T, damaged int64, tag string, pass func() error) {
	t.Helper()
	if !h.db.DamageCleared(context.Background()) {
		t.Fatal("the repaired file did not pass the store's check")
	}
	before := h.conversationReads(damaged)
	if err := pass(); err != nil {
		t.Errorf("a pass after the check: %v", err)
	}
	if n := h.conversationReads(damaged) - before; n != 1 {
		t.Errorf("after the check the damaged conversation was fetched %d times, want once", n)
	}
	if c, _ := h.stored(t, damaged); !slices.Contains(c.Tags, tag) {
		t.Errorf("after the repair the re-read did not apply: tags %q, want %q among them", c.Tags, tag)
	}
}

// TestDamagedRefreshWaitsForTheRepair: Refresh, the balancer's re-read of
// a conversation it has just moved, fetched a damaged conversation from
// Help Scout every time, even one the mirror had set aside until the
// repair, only to fail on the file again; and the conversation it could
// not store was not re-read after the repair, until a poll happened to
// list it. Now the re-read that met the damage is set aside, a Refresh of
// one set aside waits with it while the store holds the file damaged, and
// it is made once the repaired file passes the store's check.
func TestDamagedRefreshWaitsForTheRepair(t *testing.T) {
	ctx := context.Background()
	h := &hookEnv{env: newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 150})}
	path := h.storeAt(t)
	h.m = h.mirror(mirror.Options{})
	syncOnce(t, h.m)
	damaged, _, repair := h.damageFirstLeaf(t, path)
	const tag = "after-the-repair"
	if err := h.fake.SetTags(damaged, []string{tag}, h.clock.Now()); err != nil {
		t.Fatal(err)
	}

	before := h.conversationReads(damaged)
	err := h.m.Refresh(ctx, damaged)
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Refresh of the damaged conversation = %v, want the damage", err)
	}
	h.db.SayFailure(err, func(error) {}) // as the balancer says it: the store holds the file damaged
	for i := range 3 {
		if err := h.m.Refresh(ctx, damaged); err != nil {
			t.Errorf("Refresh %d while the file is held damaged: %v, want nil (it waits for the repair)", i+2, err)
		}
		if _, err := h.m.ProcessInbox(ctx); err != nil {
			t.Errorf("an inbox pass while the file is held damaged: %v", err)
		}
	}
	if n := h.conversationReads(damaged) - before; n != 1 {
		t.Errorf("a Refresh and then 3 more with inbox passes fetched the damaged conversation %d times, want once", n)
	}

	repair()
	h.rereadAfterTheCheck(t, damaged, tag, func() error {
		_, err := h.m.ProcessInbox(ctx)
		return err
	})
}

// TestSetAsideRereadMadeInThePollThatFindsTheRepair: a re-read set aside
// on a damaged file waits for the store's check of the repaired file,
// which runs at most every 10 minutes (store.DB.DamageCleared), and not a
// poll longer: the poll whose sync finds the file usable again makes it
// in its inbox pass.
func TestSetAsideRereadMadeInThePollThatFindsTheRepair(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &hookEnv{env: newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 150})}
	path := h.storeAt(t)
	// Each moment is placed by the polls Run had finished then (Updated
	// is called at the end of each), counted on Run's own goroutine.
	var polls atomic.Int64
	passes := make(chan struct{})
	usableAt, rereadAt := atomic.Int64{}, atomic.Int64{}
	usableAt.Store(-1)
	rereadAt.Store(-1)
	var log testkit.LogBuffer
	h.m = h.mirror(mirror.Options{
		Logger: slog.New(onMessage{Handler: slog.NewTextHandler(&log, nil), prefix: "the database file is usable again",
			do: func() { usableAt.CompareAndSwap(-1, polls.Load()) }}),
		Updated: func() {
			polls.Add(1)
			select {
			case passes <- struct{}{}:
			case <-ctx.Done():
			}
		},
	})
	syncOnce(t, h.m)
	damaged, _, repair := h.damageFirstLeaf(t, path)
	err := h.m.Refresh(ctx, damaged)
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Refresh of the damaged conversation = %v, want the damage", err)
	}
	h.db.SayFailure(err, func(error) {})
	if h.db.DamageCleared(ctx) { // the check that finds the damage: the next is 10 minutes off
		t.Fatal("the damaged file passed the store's check")
	}
	repair()
	h.log.setBefore(func(r *http.Request) {
		if r.URL.Path == fmt.Sprintf("/v2/conversations/%d", damaged) {
			rereadAt.CompareAndSwap(-1, polls.Load())
		}
	})
	defer h.log.setBefore(nil)

	done := make(chan error, 1)
	go func() { done <- h.m.Run(ctx, time.Millisecond) }()
	for range 5 {
		<-passes
	}
	if n := rereadAt.Load(); n >= 0 {
		t.Fatalf("the set-aside re-read was made after %d polls, before the repaired file was checked", n)
	}
	h.clock.Advance(10 * time.Minute) // the check is due again
	for i := 0; rereadAt.Load() < 0; i++ {
		if i == 100 {
			t.Fatalf("100 polls after the check was due, the set-aside re-read was not made:\n%s", log.String())
		}
		<-passes
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if usable, reread := usableAt.Load(), rereadAt.Load(); usable < 0 || reread != usable {
		t.Errorf("the repair was found after %d polls and the set-aside re-read made after %d; want both in one poll:\n%s",
			usable, reread, log.String())
	}
}

// onMessage is a log handler that calls do when a message starting with
// prefix is logged.
type onMessage struct {
	slog.Handler
	prefix string
	do     func()
}

func (o onMessage) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, o.prefix) {
		o.do()
	}
	return o.Handler.Handle(ctx, r)
}
