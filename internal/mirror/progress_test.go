package mirror_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// slowListing makes every page of the conversation listing that match
// accepts take perPage of the mirror's clock, and records /readyz's reason
// as each page is asked for: what the previous page left it saying.
type slowListing struct {
	mu      sync.Mutex
	reasons []string
}

func (s *slowListing) install(e *env, m *mirror.Mirror, perPage time.Duration, match func(*http.Request) bool) {
	e.log.setBefore(func(r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v2/conversations" || !match(r) {
			return
		}
		_, reason := m.Ready()
		s.mu.Lock()
		s.reasons = append(s.reasons, reason)
		s.mu.Unlock()
		e.clock.Advance(perPage)
	})
}

func (s *slowListing) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reasons...)
}

func anyListing(*http.Request) bool { return true }

// progressLines returns the log lines that say how far a long walk got.
func progressLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "under way") {
			out = append(out, l[strings.Index(l, "level="):])
		}
	}
	return out
}

// TestFirstSyncReportsProgress is ops finding 6: a first sync of 1,500
// conversations at 40 requests a minute logged nothing for 2m47s, and
// /readyz said only that it was under way. Every 30 s of the mirror's
// clock (not every page) it now logs the pages and conversations walked
// and the listing's size, and /readyz's reason says the same at every
// page.
func TestFirstSyncReportsProgress(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 160})
	total := len(e.fake.Conversations())
	pages := (total + helpscouttest.ConversationPageSize - 1) / helpscouttest.ConversationPageSize
	if pages < 7 {
		t.Fatalf("the account lists %d pages, the test needs 7", pages)
	}
	var log testkit.LogBuffer
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
	var slow slowListing
	slow.install(e, m, 10*time.Second, anyListing)
	syncOnce(t, m)

	// 10 s a page: 30 s have passed after pages 3 and 6.
	var want []string
	for _, p := range []int{3, 6} {
		n := p * helpscouttest.ConversationPageSize
		want = append(want, fmt.Sprintf(`level=INFO msg="first sync under way" progress="%d of %d conversations" pages=%d conversations=%d total=%d`, n, total, p, n, total))
	}
	if got := progressLines(log.String()); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	reasons := slow.seen()
	if len(reasons) != pages {
		t.Fatalf("%d listing pages asked for, want %d", len(reasons), pages)
	}
	if reasons[0] != "the first sync has not finished" {
		t.Errorf("/readyz before the first page: %q", reasons[0])
	}
	for p := 1; p < pages; p++ {
		want := fmt.Sprintf("first sync: %d of %d conversations", p*helpscouttest.ConversationPageSize, total)
		if reasons[p] != want {
			t.Errorf("/readyz after page %d: %q, want %q", p, reasons[p], want)
		}
	}
	if ok, reason := m.Ready(); !ok {
		t.Errorf("not ready after the first sync: %q", reason)
	}
}

// TestShortSyncLogsNoProgress: a first sync that finishes within the first
// 30 s says nothing until "sync done", and a poll after it says nothing
// however slow it is: only the first sync and an added mailbox's walk are
// long enough to need it.
func TestShortSyncLogsNoProgress(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 160})
	var log testkit.LogBuffer
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	var slow slowListing
	slow.install(e, m, 4*time.Second, anyListing) // 7 pages: 28 s
	syncOnce(t, m)
	if got := progressLines(log.String()); len(got) > 0 {
		t.Errorf("a first sync within 30 s logged progress:\n%s", strings.Join(got, "\n"))
	}

	// A poll whose pages each take a minute: every conversation changed.
	for _, c := range e.fake.Conversations() {
		if err := e.fake.SetTags(c.ID, []string{"bulk"}, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Minute)
	slow.install(e, m, time.Minute, anyListing)
	if st := syncOnce(t, m); st.Pages < 2 {
		t.Fatalf("the poll read %d pages, the test needs several", st.Pages)
	}
	if got := progressLines(log.String()); len(got) > 0 {
		t.Errorf("a poll after the first sync logged progress:\n%s", strings.Join(got, "\n"))
	}
}

// TestAddedMailboxWalkReportsProgress: the walk of a mailbox added to
// QW_MAILBOXES reads its whole history, as long as a first sync; it logs
// its progress with the mailbox id, and /readyz names it.
func TestAddedMailboxWalkReportsProgress(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a}}))
	inB := 0
	for _, c := range e.fake.Conversations() {
		if c.MailboxID == b {
			inB++
		}
	}
	if inB <= 3*helpscouttest.ConversationPageSize {
		t.Fatalf("mailbox %d has %d conversations, the test needs more than 3 pages", b, inB)
	}

	e.clock.Advance(10 * time.Minute)
	var log testkit.LogBuffer
	m := e.mirror(mirror.Options{Mailboxes: []int64{a, b}, Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
	var slow slowListing
	fullWalkOfB := func(r *http.Request) bool {
		q := r.URL.Query()
		return q.Get("mailbox") == fmt.Sprint(b) && q.Get("modifiedSince") == ""
	}
	slow.install(e, m, 15*time.Second, fullWalkOfB)
	syncOnce(t, m)

	n := 2 * helpscouttest.ConversationPageSize
	want := fmt.Sprintf(`level=INFO msg="walk of added mailbox under way" mailbox_id=%d progress="%d of %d conversations" pages=2 conversations=%d total=%d`, b, n, inB, n, inB)
	if got := progressLines(log.String()); len(got) == 0 || got[0] != want {
		t.Errorf("progress lines:\n%s\nwant first:\n%s", strings.Join(got, "\n"), want)
	}
	reasons := slow.seen()
	wantReason := fmt.Sprintf("first sync: walking added mailbox %d: %d of %d conversations", b, helpscouttest.ConversationPageSize, inB)
	if len(reasons) < 2 || reasons[1] != wantReason {
		t.Errorf("/readyz reasons during the walk: %q, want the second to be %q", reasons, wantReason)
	}
	if want := fmt.Sprintf(`level=INFO msg="added mailbox mirrored" mailbox_id=%d conversations=%d`, b, inB); !strings.Contains(log.String(), want) {
		t.Errorf("the end of the walk is not logged as\n%s\nlog:\n%s", want, log.String())
	}
}

// TestNewlyVisibleMailboxWalkReportsProgress: with every mailbox
// mirrored, a mailbox the API user was given access to since the walk is
// walked as an added one is, but nobody added it: its progress and its
// end were logged as "walk of added mailbox under way" and "added mailbox
// mirrored", words of the QW_MAILBOXES case, beside the announcement that
// says it is newly visible. They now say the same as the announcement
// (TestAddedMailboxWalkReportsProgress keeps the added case's words).
func TestNewlyVisibleMailboxWalkReportsProgress(t *testing.T) {
	e, _, _, _ := scopeEnv(t)
	syncOnce(t, e.mirror(mirror.Options{}))
	const n = 4 * helpscouttest.ConversationPageSize
	c := addOldMailbox(t, e, n)

	e.clock.Advance(10 * time.Minute)
	var log testkit.LogBuffer
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
	var slow slowListing
	slow.install(e, m, 15*time.Second, func(r *http.Request) bool {
		q := r.URL.Query()
		return q.Get("mailbox") == fmt.Sprint(c) && q.Get("modifiedSince") == ""
	})
	syncOnce(t, m)

	p := 2 * helpscouttest.ConversationPageSize
	want := fmt.Sprintf(`level=INFO msg="walk of newly visible mailbox under way" mailbox_id=%d progress="%d of %d conversations" pages=2 conversations=%d total=%d`, c, p, n, p, n)
	if got := progressLines(log.String()); len(got) == 0 || got[0] != want {
		t.Errorf("progress lines:\n%s\nwant first:\n%s", strings.Join(got, "\n"), want)
	}
	if want := fmt.Sprintf(`level=INFO msg="newly visible mailbox mirrored" mailbox_id=%d conversations=%d`, c, n); !strings.Contains(log.String(), want) {
		t.Errorf("the end of the walk is not logged as\n%s\nlog:\n%s", want, log.String())
	}
	if strings.Contains(log.String(), "added mailbox") {
		t.Errorf("the walk of a newly visible mailbox is logged as an added one's:\n%s", log.String())
	}
}

// dropTime leaves the time out of text log lines, so tests compare them whole.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// TestResumedFirstSyncCountsWhatIsHeld: a first sync that failed part-way
// resumes from its saved cursor, and that listing's size covers only what
// is left ("50 of 90" with 100 stored). Its progress counts what the store
// holds, so the log and /readyz say how far the whole first sync has got,
// out of the account's whole size; a conversation the resumed walk lists
// again (the cursor's overlap) is not counted twice.
func TestResumedFirstSyncCountsWhatIsHeld(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 160})
	total := len(e.fake.Conversations())
	lists := 0
	e.log.setBefore(func(r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v2/conversations" {
			if lists++; lists == 5 {
				e.fake.SetFaults(helpscouttest.Faults{FailNext: 1})
			}
		}
	})
	if _, err := e.mirror(mirror.Options{}).SyncOnce(context.Background()); err == nil {
		t.Fatal("the 503 on the fifth page did not fail the first sync")
	}
	stored, err := e.db.CountInMailboxes(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 4 * helpscouttest.ConversationPageSize; stored != want {
		t.Fatalf("the failed first sync stored %d conversations, want %d", stored, want)
	}

	// A restart: a new mirror on the same store, 30 s a page.
	e.clock.Advance(time.Minute)
	var log testkit.LogBuffer
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime}))})
	var slow slowListing
	slow.install(e, m, 30*time.Second, anyListing)
	pace := e.log.before
	var held []int // what the store held as each page was asked for
	e.log.setBefore(func(r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v2/conversations" {
			n, err := e.db.CountInMailboxes(context.Background(), nil)
			if err != nil {
				t.Error(err)
			}
			held = append(held, n)
		}
		pace(r)
	})
	syncOnce(t, m)

	reasons := slow.seen()
	if len(reasons) < 3 {
		t.Fatalf("the resumed sync listed %d pages, the test needs 3", len(reasons))
	}
	if held[1] <= stored {
		t.Fatalf("the first resumed page added nothing: %d held, %d before", held[1], stored)
	}
	for p := 1; p < len(reasons); p++ {
		want := fmt.Sprintf("first sync: %d of %d conversations", held[p], total)
		if reasons[p] != want {
			t.Errorf("/readyz after resumed page %d: %q, want %q", p, reasons[p], want)
		}
	}
	want := fmt.Sprintf(`level=INFO msg="first sync under way" progress="%d of %d conversations" pages=1 conversations=%d total=%d`, held[1], total, held[1], total)
	if got := progressLines(log.String()); len(got) == 0 || got[0] != want {
		t.Errorf("progress lines:\n%s\nwant first:\n%s", strings.Join(got, "\n"), want)
	}
	if got := progressLines(log.String()); len(got) == 0 || !strings.Contains(got[len(got)-1], fmt.Sprintf(`progress="%d of %d conversations"`, total, total)) {
		t.Errorf("the last progress line does not end at %d of %d:\n%s", total, total, strings.Join(got, "\n"))
	}
}
