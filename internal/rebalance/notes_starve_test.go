package rebalance

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// failOneConv answers every GET of one conversation with a 500, as Help
// Scout does for a conversation it cannot render, or with status when set;
// the rest pass.
type failOneConv struct {
	path   string
	status int
	hits   atomic.Int64
}

func (f *failOneConv) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && r.URL.Path == f.path {
		f.hits.Add(1)
		return &http.Response{StatusCode: cmp.Or(f.status, http.StatusInternalServerError), Header: http.Header{}, Body: http.NoBody, Request: r}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestOneFailingConversationStarvesNoNote: one conversation whose read
// keeps failing with a 5xx, the oldest due, ended every recovery pass and,
// day-old, was never given up: the notes due behind it were never written
// nor given up (both still due after 30 days). The others are written at
// the first run now, and the failing one is given up after two days.
func TestOneFailingConversationStarvesNoNote(t *testing.T) {
	w := newWorld(t, 2)
	ps := proposeN(t, w.rebalancer(ModePropose, 5), 2)
	for _, p := range ps {
		appliedWithoutNote(t, w, p)
	}
	bad := &failOneConv{path: fmt.Sprintf("/v2/conversations/%d", ps[0].ConversationID)}
	w.hs = w.clientWith(t, helpscouttest.Bearer{Token: w.token, Next: bad})
	for _, after := range []time.Duration{interruptedAfter + time.Minute, time.Hour, noteGiveUpAfter + time.Minute, 30 * 24 * time.Hour} {
		r := New(w.db, w.hs, Options{Mode: ModePropose, Policy: balancer.DefaultPolicy(),
			Now: func() time.Time { return time.Now().Add(after) }})
		r.noteRetryStep = time.Millisecond
		_, err := r.RunOnce(context.Background())
		must(t, err)
		first, err := w.db.Proposal(context.Background(), ps[0].ID)
		must(t, err)
		second, err := w.db.Proposal(context.Background(), ps[1].ID)
		must(t, err)
		if second.Note != store.NoteWritten {
			t.Errorf("+%v: the second note is %q, want written: starved behind conversation %d (%d failed reads)", after, second.Note, ps[0].ConversationID, bad.hits.Load())
		}
		want := store.NoteDue
		if after > 2*noteGiveUpAfter {
			want = store.NoteGivenUp
		}
		if first.Note != want || first.NoteTries != 0 {
			t.Errorf("+%v: the failing conversation's note is %q after %d tries, want %q, no try counted", after, first.Note, first.NoteTries, want)
		}
	}
}
