package testkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("Now() = %v, want %v", got, t0)
	}
	c.Advance(90 * time.Second)
	if got, want := c.Now(), t0.Add(90*time.Second); !got.Equal(want) {
		t.Errorf("after Advance: Now() = %v, want %v", got, want)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("after Set: Now() = %v, want %v", got, t0)
	}
}

func TestOpenStoreIsFreshAndReopens(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "qw.db")
	first := t.Run("write", func(t *testing.T) {
		if err := OpenStoreAt(t, path).SetCursor(ctx, "conversations", at); err != nil {
			t.Fatal(err)
		}
	})
	if !first {
		t.FailNow()
	}
	got, err := OpenStoreAt(t, path).Cursor(ctx, "conversations")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Value.Equal(at) {
		t.Errorf("cursor after reopen = %v, want %v", got.Value, at)
	}
	if _, err := OpenStore(t).Cursor(ctx, "conversations"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a fresh store's cursor: err = %v, want store.ErrNotFound", err)
	}
}

func TestSize(t *testing.T) {
	t.Setenv("QW_TEST_FULL", "1")
	if got := Size(5000, 1000, 300); got != 5000 {
		t.Errorf("Size under QW_TEST_FULL=1 = %d, want 5000", got)
	}
	t.Setenv("QW_TEST_FULL", "")
	want := 5000
	switch {
	case testing.Short():
		want = 300
	case Race:
		want = 1000
	}
	if got := Size(5000, 1000, 300); got != want {
		t.Errorf("Size(5000, 1000, 300) = %d, want %d (short %v, race %v)", got, want, testing.Short(), Race)
	}
}

func TestWaitForReturnsOnceTheConditionHolds(t *testing.T) {
	asked := 0
	WaitFor(t, time.Minute, "the third question", func() (bool, string) {
		asked++
		return asked == 3, "not yet"
	})
	if asked != 3 {
		t.Errorf("cond asked %d times, want 3 (stop at the first yes)", asked)
	}
}

// recorder keeps what a failing WaitFor reports, without ending the test
// that checks it.
type recorder struct {
	testing.TB
	failure string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestWaitForFailsWithTheLastReason(t *testing.T) {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		n := 0
		WaitFor(r, 10*time.Millisecond, "a condition that never holds", func() (bool, string) {
			n++
			return false, fmt.Sprintf("asked %d times", n)
		})
	}()
	<-done
	if !strings.HasPrefix(r.failure, "gave up after 10ms waiting for a condition that never holds: asked ") {
		t.Errorf("failure = %q", r.failure)
	}
}

func TestRecorderKeepsEveryBodyInOrder(t *testing.T) {
	r := NewRecorder(t)
	for _, body := range []string{"first", "second"} {
		resp, err := http.Post(r.URL+"/hook", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(answer) != "ok" {
			t.Errorf("answer %d %q, want 200 ok", resp.StatusCode, answer)
		}
	}
	if got := strings.Join(r.Bodies(), ","); got != "first,second" {
		t.Errorf("Bodies() = %q, want first,second", got)
	}
}
