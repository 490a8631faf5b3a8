package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// dockerStopTimeout is how long `docker stop` waits after SIGTERM before
// its SIGKILL, by default: a stop must be over by then.
const dockerStopTimeout = 10 * time.Second

// holdRequests holds the requests match picks, while on, until their
// client gives up: Help Scout leaving a note's POST or an assignment's
// PATCH unanswered. With land, a held request reaches the fake all the
// same once its client has gone (Help Scout acted, its answer was lost);
// without, it is dropped.
type holdRequests struct {
	next  http.Handler
	match func(*http.Request) bool
	land  bool
	on    atomic.Bool
	once  sync.Once
	held  chan struct{} // closed when the first request is held
}

func newHoldRequests(match func(*http.Request) bool, land bool) *holdRequests {
	h := &holdRequests{match: match, land: land, held: make(chan struct{})}
	h.on.Store(true)
	return h
}

func (h *holdRequests) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.on.Load() || !h.match(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body) // before the client goes, for a request that lands after
	h.once.Do(func() { close(h.held) })
	<-r.Context().Done()
	if h.land {
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.next.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	}
}

func isNotePost(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/notes")
}

func isAssignPatch(r *http.Request) bool { return r.Method == http.MethodPatch }

// notesCreated counts the notes the fake created on conv.
func notesCreated(fake *helpscouttest.Server, conv int64) int {
	n := 0
	for _, rec := range fake.NotesReceived() {
		if rec.ConversationID == conv && rec.StatusCode == http.StatusCreated {
			n++
		}
	}
	return n
}

// stopAndTime cancels ctx, the daemon's SIGTERM, and returns how long run
// took to return after it.
func stopAndTime(t *testing.T, cancel context.CancelFunc, runErr <-chan error, logs *testkit.LogBuffer) time.Duration {
	t.Helper()
	start := time.Now()
	cancel()
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatalf("run did not return 5 minutes after SIGTERM; daemon log:\n%s", tail(logs.String(), 3000))
	}
	return time.Since(start)
}

// proposals reads the proposals of the database at path.
func proposals(t *testing.T, path string) []store.Proposal {
	t.Helper()
	ps, err := readProposals(path)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func readProposals(path string) ([]store.Proposal, error) {
	db, err := store.OpenReadOnly(context.Background(), path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.ListProposals(context.Background(), store.ProposalFilter{})
}

// proposal reads proposal id of the database at path.
func proposal(t *testing.T, path string, id int64) store.Proposal {
	t.Helper()
	for _, p := range proposals(t, path) {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no proposal %d", id)
	return store.Proposal{}
}

// onlyProposal reads the one proposal of the database at path.
func onlyProposal(t *testing.T, path string) store.Proposal {
	t.Helper()
	ps := proposals(t, path)
	if len(ps) != 1 {
		t.Fatalf("%d proposals, want 1: %+v", len(ps), ps)
	}
	return ps[0]
}

// restartUntil starts the daemon again on cfg's database, with its clock
// at skew from the wall (past the 5 minutes recovery leaves to the process
// that made a move), until done says the proposal is where the test wants
// it, then stops it.
func restartUntil(t *testing.T, cfg *settings, id int64, skew time.Duration, done func(store.Proposal) bool) store.Proposal {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(&logs, nil)), func() time.Time { return time.Now().Add(skew) })
	}()
	var p store.Proposal
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if p = proposal(t, cfg.DBPath, id); done(p) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the next start left the proposal %s, note %q (%s); its log:\n%s", p.Status, p.Note, p.Error, tail(logs.String(), 4000))
		}
	}
	stopAndTime(t, cancel, runErr, &logs)
	return p
}

// A stop while Help Scout holds a move's note must be over before Docker's
// SIGKILL: the note is left due, said at INFO, and the next start writes
// it, once, whether or not the held POST reached Help Scout after all.
func TestStopWithANoteHeldFitsDockersTimeout(t *testing.T) {
	for _, land := range []bool{false, true} {
		name := "the held note never lands"
		if land {
			name = "the held note lands after the daemon gave up on it"
		}
		t.Run(name, func(t *testing.T) {
			hold := newHoldRequests(isNotePost, land)
			fake, cfg, ln := smallTeam(t, 1, rebalance.ModeApply, func(h http.Handler) http.Handler { hold.next = h; return hold })
			var logs testkit.LogBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runErr := make(chan error, 1)
			go func() { runErr <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(&logs, nil)), time.Now) }()
			select {
			case <-hold.held:
			case <-time.After(30 * time.Second):
				t.Fatalf("no note was written; daemon log:\n%s", tail(logs.String(), 3000))
			}

			took := stopAndTime(t, cancel, runErr, &logs)
			t.Logf("SIGTERM to return with a note POST held: %s", took.Round(time.Millisecond))
			if took >= stopBudget {
				t.Errorf("the stop took %s, past its budget of %s (Docker's SIGKILL comes at %s)", took.Round(time.Millisecond), stopBudget, dockerStopTimeout)
			}
			if said := logs.String(); !strings.Contains(said, "shutdown: 1 note left for the next start") {
				t.Errorf("the stop does not say it left the note; daemon log:\n%s", tail(said, 3000))
			}
			p := onlyProposal(t, cfg.DBPath)
			if p.Status != store.ProposalApplied || p.Note != store.NoteDue {
				t.Fatalf("after the stop: proposal %s, note %q; want applied, due", p.Status, p.Note)
			}

			hold.on.Store(false)
			p = restartUntil(t, cfg, p.ID, interruptedAfterForTests, func(p store.Proposal) bool { return p.Note != store.NoteDue })
			if p.Note != store.NoteWritten {
				t.Errorf("after the next start: note %q, want written", p.Note)
			}
			if n := notesCreated(fake, p.ConversationID); n != 1 {
				t.Errorf("the ticket has %d notes, want 1", n)
			}
		})
	}
}

// interruptedAfterForTests is past rebalance's 5 minutes, after which a
// run takes a move's missing note, or a claim left applying, for one a
// stopped process left.
const interruptedAfterForTests = 6 * time.Minute

// An SST's approval whose assignment Help Scout holds when the stop's budget
// is spent: the HTTP grace ends with the request still running, and the
// stop neither waits for it past the budget nor records the move failed
// (the PATCH may have reached Help Scout). The proposal is left applying,
// said at INFO, and the next start settles it from the ticket: applied with
// one note if the assignment landed, failed with none if it did not, and
// the ticket assigned once at most.
func TestStopCutsAnApprovalInItsAssignment(t *testing.T) {
	const adminToken = "shutdown-admin-token"
	for _, land := range []bool{false, true} {
		name := "the held assignment never lands"
		if land {
			name = "the held assignment lands after the daemon gave up on it"
		}
		t.Run(name, func(t *testing.T) {
			hold := newHoldRequests(isAssignPatch, land)
			fake, cfg, ln := smallTeam(t, 1, rebalance.ModePropose, func(h http.Handler) http.Handler { hold.next = h; return hold })
			cfg.AdminToken = adminToken
			var logs testkit.LogBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			runErr := make(chan error, 1)
			go func() { runErr <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(&logs, nil)), time.Now) }()
			var p store.Proposal
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if ps, err := readProposals(cfg.DBPath); err == nil && len(ps) == 1 { // an error while the daemon creates the file
					p = ps[0]
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("nothing proposed; daemon log:\n%s", tail(logs.String(), 3000))
				}
			}
			answered := make(chan int, 1)
			go func() {
				req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/api/v1/proposals/"+strconv.FormatInt(p.ID, 10)+"/approve", nil)
				req.Header.Set("Authorization", "Bearer "+adminToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					answered <- 0
					return
				}
				resp.Body.Close()
				answered <- resp.StatusCode
			}()
			select {
			case <-hold.held:
			case <-time.After(30 * time.Second):
				t.Fatalf("the approval made no assignment; daemon log:\n%s", tail(logs.String(), 3000))
			}

			took := stopAndTime(t, cancel, runErr, &logs)
			t.Logf("SIGTERM to return with an approval's PATCH held: %s", took.Round(time.Millisecond))
			if took >= stopBudget {
				t.Errorf("the stop took %s, past its budget of %s (Docker's SIGKILL comes at %s)", took.Round(time.Millisecond), stopBudget, dockerStopTimeout)
			}
			if said := logs.String(); !strings.Contains(said, "shutdown: 1 move being assigned left for the next start") {
				t.Errorf("the stop does not say it left the move; daemon log:\n%s", tail(said, 3000))
			}
			select {
			case code := <-answered:
				if code != http.StatusServiceUnavailable {
					t.Errorf("the approval was answered %d, want 503", code)
				}
			case <-time.After(10 * time.Second):
				t.Error("the approval was never answered")
			}
			if got := proposal(t, cfg.DBPath, p.ID); got.Status != store.ProposalApplying {
				t.Fatalf("after the stop: proposal %s (%s), want applying", got.Status, got.Error)
			}

			hold.on.Store(false)
			// Settled, and its note written when due: settle records the
			// move applied before it writes the note, and stopping the
			// daemon in between leaves the note due for a later start.
			got := restartUntil(t, cfg, p.ID, interruptedAfterForTests, func(p store.Proposal) bool {
				return p.Status != store.ProposalApplying && (p.Status != store.ProposalApplied || p.Note != store.NoteDue)
			})
			want, wantNotes, wantAssigned := store.ProposalFailed, 0, 0
			if land {
				want, wantNotes, wantAssigned = store.ProposalApplied, 1, 1
			}
			if got.Status != want {
				t.Errorf("settled by the next start: %s (%s), want %s", got.Status, got.Error, want)
			}
			if n := notesCreated(fake, p.ConversationID); n != wantNotes {
				t.Errorf("the ticket has %d notes, want %d", n, wantNotes)
			}
			assigned := 0
			for _, pr := range fake.Patches() {
				if pr.ConversationID == p.ConversationID && pr.Path == "/assignTo" && pr.StatusCode == http.StatusNoContent {
					assigned++
				}
			}
			if assigned != wantAssigned {
				t.Errorf("Help Scout assigned the ticket %d times, want %d", assigned, wantAssigned)
			}
		})
	}
}
