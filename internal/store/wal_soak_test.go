package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// walDay is the writes of one simulated day of serve, in polls: every poll
// (QW_POLL_INTERVAL 2m, 720 a day) commits a few pages of changed
// conversations, webhooks arrive and are processed in between, and every
// 5 minutes the balancer writes proposals that are then decided.
type walDay struct {
	conversations int // the mirror's size
	polls         int
	pagesPerPoll  int
	webhooksPer   int // per poll
}

// walBound is the most the -wal file may hold at any point of the day:
// with a checkpoint after every poll it holds one poll's writes (4-6 MiB
// here, 5.1 MiB in the QW_SOAK day); without, the default run passes it
// at its seventh poll.
const walBound = 16 << 20

func walDaySize() walDay {
	if os.Getenv("QW_SOAK") == "1" {
		return walDay{conversations: 100_000, polls: 720, pagesPerPoll: 4, webhooksPer: 6}
	}
	return walDay{conversations: 1_000, polls: 12, pagesPerPoll: 4, webhooksPer: 6}
}

// TestWALStaysBounded runs the store through a simulated day of serve,
// compressed: the writes of sync, webhooks and the balancer one after
// another on the writer, while readers read without pause as the page,
// the API, the metrics scrape and the balancer do, so that some read
// transaction is nearly always open. The -wal file must stay under
// walBound throughout. QW_SOAK=1 runs the whole day (720 polls) on 100,000
// conversations; the default runs 12 polls on 1,000, which -race slows
// to half a minute.
func TestWALStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("a compressed day of writes and reads")
	}
	size := walDaySize()
	ctx := context.Background()
	db, _ := openTest(t)
	seedConversations(t, db, size.conversations, func(i int) ConversationUpdate { return queueConversation(i, size.conversations) })

	walSize := func() int64 {
		fi, err := os.Stat(db.path + "-wal")
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	t.Logf("seeded %d conversations; -wal %d KiB", size.conversations, walSize()/1024)

	stop := make(chan struct{})
	var reads atomic.Int64
	var wg sync.WaitGroup
	readers := []func() error{
		func() error { // the balancer, the page and /api/v1/agents
			_, err := db.Snapshot(ctx, SnapshotWindows{AssignedSince: t0.Add(-time.Hour), RepliedSince: t0.Add(-14 * 24 * time.Hour)})
			return err
		},
		func() error { // the metrics scrape
			if _, err := db.MailboxStats(ctx, t0.Add(-4*time.Hour)); err != nil {
				return err
			}
			_, err := db.AgentLoads(ctx)
			return err
		},
		func() error { // the page's lists and the API
			if _, err := db.OpenConversations(ctx, OpenFilter{Assignment: OnlyUnassigned, ActiveOnly: true}); err != nil {
				return err
			}
			_, err := db.ListProposals(ctx, ProposalFilter{Limit: 30})
			return err
		},
	}
	errs := make(chan error, len(readers))
	for _, read := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := read(); err != nil {
					errs <- err
					return
				}
				reads.Add(1)
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	var peak int64
	var checkpoints, longestCheckpoint time.Duration // how long readers were held back
	version := t0
	webhook := 0
	for poll := range size.polls {
		select {
		case err := <-errs:
			t.Fatalf("reader: %v", err)
		default:
		}
		version = version.Add(2 * time.Minute)
		for p := range size.pagesPerPoll {
			us := make([]ConversationUpdate, benchPageSize)
			for k := range us {
				i := (poll*size.pagesPerPoll*benchPageSize + p*benchPageSize + k) * 7919 % size.conversations
				us[k] = queueConversation(i, size.conversations)
				us[k].Conversation.UserUpdatedAt = version
			}
			if _, err := db.CommitPage(ctx, us, "conversations", version); err != nil {
				t.Fatal(err)
			}
		}
		for range size.webhooksPer {
			webhook++
			body := []byte(fmt.Sprintf(`{"id":%d,"n":%d}`, 1+webhook%size.conversations, webhook))
			id, _, err := db.AddWebhook(ctx, "convo.customer.reply.created", body, version)
			if err != nil {
				t.Fatal(err)
			}
			u := queueConversation(webhook%size.conversations, size.conversations)
			u.Conversation.UserUpdatedAt = version.Add(time.Second)
			if _, err := db.ApplyConversation(ctx, u); err != nil {
				t.Fatal(err)
			}
			if err := db.MarkWebhookDone(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if poll%5 == 2 { // every 10 minutes of the day: a balancer run and a decision
			ps, err := db.InsertProposals(ctx, []Proposal{proposal(int64(1+(poll*31)%size.conversations), 1, 2)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.RejectProposal(ctx, ps[0].ID, "sst"); err != nil {
				t.Fatal(err)
			}
		}
		w := walSize() // what the poll wrote: the peak between two checkpoints
		peak = max(peak, w)
		if w > walBound {
			t.Fatalf("poll %d of %d: the -wal file holds %d KiB, over the bound of %d KiB",
				poll, size.polls, w>>10, walBound>>10)
		}
		// What the mirror does after every poll (mirror.Run).
		began := time.Now()
		if err := db.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)
		checkpoints, longestCheckpoint = checkpoints+took, max(longestCheckpoint, took)
		if poll%(size.polls/8) == 0 {
			t.Logf("poll %4d: -wal %6d KiB, %d reads so far", poll, w/1024, reads.Load())
		}
	}
	t.Logf("end: -wal %d KiB, peak %d KiB, %d reads; a checkpoint took %v on average, %v at most",
		walSize()/1024, peak/1024, reads.Load(), (checkpoints / time.Duration(size.polls)).Round(time.Microsecond),
		longestCheckpoint.Round(time.Microsecond))
}

// Checkpoint leaves an empty -wal file behind it, and a read-only store
// refuses it.
func TestCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	db, _ := openAt(t, path)
	us := make([]ConversationUpdate, 200)
	for i := range us {
		us[i] = queueConversation(i, len(us))
	}
	if _, err := db.ApplyConversations(ctx, us); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("the writes left no -wal file to empty (%v)", err)
	}
	if err := db.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err != nil {
		t.Error(err)
	} else if fi.Size() != 0 {
		t.Errorf("after Checkpoint the -wal file holds %d bytes, want none", fi.Size())
	}
	ro, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Checkpoint(ctx); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Checkpoint on a read-only store = %v, want ErrReadOnly", err)
	}
}

// TestCheckpointBesideAnotherProcesssRead: a read transaction of another
// process (plan, the sqlite3 shell, a backup tool that keeps one open)
// makes the checkpoint fail with ErrBusy, and it does so quickly: it held
// this process's reads back, and the writer, for the whole busy timeout
// (5 s), at every poll.
func TestCheckpointBesideAnotherProcesssRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	db, _ := openAt(t, path)
	apply := func(from int) {
		t.Helper()
		us := make([]ConversationUpdate, 50)
		for i := range us {
			us[i] = queueConversation(from+i, 100)
		}
		if _, err := db.ApplyConversations(ctx, us); err != nil {
			t.Fatal(err)
		}
	}
	apply(0)

	outside, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer outside.Close()
	tx, err := outside.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM conversations").Scan(&n); err != nil || n != 50 {
		t.Fatalf("the outside read sees %d conversations (%v), want 50", n, err)
	}
	apply(50) // frames the outside reader's snapshot does not cover

	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- db.Checkpoint(ctx) }()
	// Read while the checkpoint holds reads back, as the page, the API and
	// the scrape do.
	for !db.readers.isShut() {
		if len(done) > 0 {
			break // the checkpoint ended before the read could meet it
		}
		runtime.Gosched()
	}
	readCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := db.Mailboxes(readCtx); err != nil {
		t.Errorf("a read beside the checkpoint: %v, want it answered within its 1 s deadline", err)
	}
	if err := <-done; !errors.Is(err, ErrBusy) {
		t.Errorf("Checkpoint beside another process's read = %v, want ErrBusy", err)
	}
	t.Logf("the checkpoint failed after %v", time.Since(began).Round(time.Millisecond))
	// The writer connection keeps the usual busy timeout.
	var ms int64
	if err := db.write.QueryRow("PRAGMA busy_timeout").Scan(&ms); err != nil || ms != busyTimeout.Milliseconds() {
		t.Errorf("after the checkpoint the writer's busy_timeout is %d ms (%v), want %d", ms, err, busyTimeout.Milliseconds())
	}
}
