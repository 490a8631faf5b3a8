package budget

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// clocked returns a limiter of perMinute on a clock that advances only
// when told, so that tests check pacing decisions without sleeping.
func clocked(perMinute int) (*Limiter, *testkit.Clock) {
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := New(perMinute)
	l.now = clock.Now
	return l, clock
}

// spendNow reserves cost, which must fit at once, and returns its spend.
func spendNow(t *testing.T, l *Limiter, cost int) uint64 {
	t.Helper()
	wait, seq := l.reserve(cost)
	if wait != 0 {
		t.Fatalf("reserve of %d waits %v", cost, wait)
	}
	return seq
}

// waitFor is how long a reserve of cost is told to wait.
func waitFor(l *Limiter, cost int) time.Duration {
	wait, _ := l.reserve(cost)
	return wait
}

func TestReserveNeverExceedsBudgetInAnyWindow(t *testing.T) {
	l, clock := clocked(10)
	var sent []spend
	methods := []string{"GET", "PATCH", "GET", "POST", "GET", "GET", "PUT", "GET", "DELETE", "GET"}
	for i := 0; len(sent) < 60; i++ {
		m := methods[i%len(methods)]
		if wait := waitFor(l, Cost(m)); wait > 0 {
			clock.Advance(wait)
			continue
		}
		sent = append(sent, spend{at: clock.Now(), cost: Cost(m)})
	}
	for i := range sent {
		total := 0
		for _, s := range sent[i:] {
			if s.at.Sub(sent[i].at) < Window {
				total += s.cost
			}
		}
		if total > 10 {
			t.Fatalf("window starting at %v spent %d, budget 10", sent[i].at, total)
		}
	}
	if elapsed := clock.Now().Sub(sent[0].at); elapsed < 5*time.Minute {
		t.Errorf("sent about 90 cost units at 10/min in %v; pacing did not hold", elapsed)
	}
}

func TestCost(t *testing.T) {
	for method, want := range map[string]int{"GET": 1, "HEAD": 1, "POST": 2, "PUT": 2, "PATCH": 2, "DELETE": 2} {
		if got := Cost(method); got != want {
			t.Errorf("Cost(%s) = %d, want %d", method, got, want)
		}
	}
}

func TestWaitHonoursContext(t *testing.T) {
	l := New(2)
	if err := l.Wait(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on a spent budget with a cancelled context = %v, want context.Canceled", err)
	}
	if err := l.Wait(context.Background(), 3); err == nil {
		t.Error("Wait with a cost above the whole budget succeeded")
	}
}

// room is what the limiter would still let through now.
func room(l *Limiter) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.room(l.now())
}

// wantRoomAt moves the clock to at and checks the room there; when says
// what the moment is, for the failure message.
func wantRoomAt(t *testing.T, l *Limiter, clock *testkit.Clock, at time.Time, want int, when string) {
	t.Helper()
	clock.Set(at)
	if got := room(l); got != want {
		t.Errorf("room %s = %d, want %d", when, got, want)
	}
}

func TestHeedTakesTheServersLowerWord(t *testing.T) {
	tests := []struct {
		name      string
		remaining int
		want      int
	}{
		{"server has less left than our room", 4, 4},
		{"server has nothing left", 0, 0},
		{"server has as much as our room", 9, 9},
		{"server has more than our room", 300, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := clocked(10)
			l.heed(tc.remaining, Window, spendNow(t, l, 1))
			if got := room(l); got != tc.want {
				t.Errorf("room after the server said %d left = %d, want %d", tc.remaining, got, tc.want)
			}
		})
	}
}

// TestHeedHoldsTheRoomForAWholeWindow: the server's word bounds the room
// until a window after it spoke. Our own spends made before it leave the
// sliding window sooner, before Help Scout's minute need end, and the room
// they free is room the server said it does not have. That goes for a
// figure as high as our window's room too, as long as it is below our
// whole budget.
func TestHeedHoldsTheRoomForAWholeWindow(t *testing.T) {
	tests := []struct {
		name   string
		before int           // what we spent before the server spoke
		after  time.Duration // when it spoke
		figure int           // what it said is left; we spend it all
	}{
		{"a figure below our room", 1, 10 * time.Second, 4},
		{"a figure as high as our room", 8, 30 * time.Second, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clock := clocked(10)
			start := clock.Now()
			sent := spendNow(t, l, tc.before)
			clock.Advance(tc.after)
			heard := clock.Now()
			l.heed(tc.figure, Window, sent)
			for range tc.figure {
				spendNow(t, l, 1)
			}
			if wait, want := waitFor(l, 1), heard.Add(Window).Sub(clock.Now()); wait != want {
				t.Errorf("reserve past the server's word waits %v, want %v (a window after the server spoke)", wait, want)
			}
			wantRoomAt(t, l, clock, start.Add(Window), 0, "when what we spent before the server spoke leaves the window")
			wantRoomAt(t, l, clock, heard.Add(Window), 10, "a window after the server spoke")
		})
	}
}

// TestHeedReleasesWhenTheServersFigureRises: once Help Scout's minute
// resets, a later response says more is left than the hold allows; the
// room rises to it, never above what our own window has left.
func TestHeedReleasesWhenTheServersFigureRises(t *testing.T) {
	l, clock := clocked(10)
	first := spendNow(t, l, 1)
	clock.Advance(10 * time.Second)
	l.heed(3, Window, first)    // other integrations spent the rest of the server's minute
	second := spendNow(t, l, 2) // within the server's 3
	if got := room(l); got != 1 {
		t.Fatalf("room after spending 2 of the server's 3 = %d, want 1", got)
	}

	clock.Advance(20 * time.Second) // the server's minute has reset
	l.heed(5, Window, second)
	if got := room(l); got != 5 {
		t.Errorf("room after the server said 5 left = %d, want 5", got)
	}
	third := spendNow(t, l, 5) // the 5 the server has left
	l.heed(180, Window, third)
	if got := room(l); got != 2 {
		t.Errorf("room after the server said 180 left = %d, want 2 (our budget of 10 less our 8 in the window)", got)
	}
	// Our own window still paces: the first spend leaves it first.
	if wait, want := waitFor(l, 3), 30*time.Second+time.Second; wait != want {
		t.Errorf("reserve past our own budget waits %v, want %v", wait, want)
	}
}

// TestHeedOrdersFiguresBySending: the hold set by a request's figure
// answers only to figures from requests sent after it; an older one
// changes nothing, lower or higher, until a window after the hold's
// figure was heard. Three reads
// are sent a second apart: the middle one's figure sets the hold.
func TestHeedOrdersFiguresBySending(t *testing.T) {
	const earlier, held, later = 0, 1, 2 // which read the second figure answers
	tests := []struct {
		name      string
		from      int
		remaining int
		heardIn   time.Duration // when the second figure arrives, after the first
		want      int
	}{
		// Counted before the held read and the later one: both are still
		// to be taken off it.
		{"an older higher figure keeps the hold", earlier, 8, time.Second, 3},
		{"an older figure at the hold keeps it", earlier, 5, time.Second, 3},
		{"an older lower figure keeps the hold", earlier, 0, time.Second, 3},
		{"a second figure for the same request replaces it", held, 5, time.Second, 4},
		{"a newer higher figure releases it", later, 5, time.Second, 5},
		{"an older figure after the hold has run out is taken", earlier, 8, Window, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clock := clocked(10)
			var sent [3]uint64
			sent[earlier] = spendNow(t, l, 1)
			clock.Advance(time.Second)
			sent[held] = spendNow(t, l, 1)
			clock.Advance(time.Second)
			l.heed(4, Window, sent[held])   // room 8 -> 4
			sent[later] = spendNow(t, l, 1) // room 3
			clock.Advance(tc.heardIn)
			l.heed(tc.remaining, Window, sent[tc.from])
			if got := room(l); got != tc.want {
				t.Errorf("room after a hold of 4 and then a figure of %d = %d, want %d", tc.remaining, got, tc.want)
			}
		})
	}
}

// TestHeedOlderLowerFigureKeepsTheHold: a figure lower than a newer one,
// from a request sent before it, was most likely counted in Help Scout's
// minute before a reset, the newer one in the fresh minute. The hold
// stays at the newer figure, neither lowered nor lengthened: lowered to
// the old minute's 0, it would empty the room for a window while the
// server has most of a fresh minute.
func TestHeedOlderLowerFigureKeepsTheHold(t *testing.T) {
	l, clock := clocked(10)
	older := spendNow(t, l, 1) // answered late, counted before the reset
	clock.Advance(time.Second)
	newer := spendNow(t, l, 1)
	clock.Advance(time.Second)
	heard := clock.Now()
	l.heed(5, Window, newer) // room 8 -> 5
	clock.Advance(20 * time.Second)
	l.heed(0, Window, older)
	if got := room(l); got != 5 {
		t.Fatalf("room after the older figure of 0 = %d, want 5", got)
	}
	wantRoomAt(t, l, clock, heard.Add(Window), 10, "a window after the newer figure was heard")
}

// TestHeedTakesOffWhatIsInFlight: a figure counts the requests the server
// had seen when it answered, not those sent after its own; their cost must
// come off, or it is spent twice. Sent after means paced after, even when
// the clock reads the same for both.
func TestHeedTakesOffWhatIsInFlight(t *testing.T) {
	for _, gap := range []time.Duration{time.Second, 0} {
		t.Run(fmt.Sprintf("sent %v apart", gap), func(t *testing.T) {
			l, clock := clocked(10)
			read := spendNow(t, l, 1)
			clock.Advance(gap)
			write := spendNow(t, l, 2) // sent while the read is answered
			clock.Advance(time.Second)
			l.heed(5, Window, read)
			if got := room(l); got != 3 {
				t.Errorf("room after the read's figure of 5 with a write in flight = %d, want 3", got)
			}
			l.heed(3, Window, write) // counts both
			if got := room(l); got != 3 {
				t.Errorf("room after the write's figure of 3 = %d, want 3", got)
			}
		})
	}
}

func TestTransportHeedsRemainingHeader(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		remaining  string // "" leaves the header out
		retryAfter string
		wantRoom   int
	}{
		{"no header changes nothing", http.StatusOK, "", "", 9},
		{"unparsable header changes nothing", http.StatusOK, "lots", "", 9},
		{"negative header changes nothing", http.StatusOK, "-3", "", 9},
		{"more than our room changes nothing", http.StatusOK, "350", "", 9},
		{"less than our room is taken", http.StatusOK, " 3 ", "", 3},
		{"a 429 that says when to retry is taken", http.StatusTooManyRequests, "0", "17", 0},
		{"a 429 that does not say when is taken", http.StatusTooManyRequests, "0", "", 0},
		{"a 429 that says when to retry but not what is left leaves nothing", http.StatusTooManyRequests, "", "17", 0},
		{"a 429 that says neither changes nothing", http.StatusTooManyRequests, "", "soon", 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.remaining != "" {
					w.Header().Set("X-RateLimit-Remaining-Minute", tc.remaining)
				}
				if tc.retryAfter != "" {
					w.Header().Set("X-RateLimit-Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			l := New(10)
			hc := &http.Client{Transport: Transport(http.DefaultTransport, l)}
			resp, err := hc.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := room(l); got != tc.wantRoom {
				t.Errorf("room after one GET = %d, want %d", got, tc.wantRoom)
			}
		})
	}
}

// TestTransportHoldsUntilTheServersMinuteRefreshes: a response that says
// when Help Scout's minute refreshes (X-RateLimit-Retry-After, documented
// on a 429) ends the hold there, not a minute later; one that does not, or
// says it unusably, holds a minute, and a refresh is never put further off
// than a minute. A minute, not our window of 61 s: the figure was counted
// before it was heard, and the minute it was counted in ends within a
// minute of that. The hold once lasted a window, a second of the server's
// fresh minute spent waiting after every low figure.
func TestTransportHoldsUntilTheServersMinuteRefreshes(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		remaining  string // "" leaves the header out
		retryAfter string // "" leaves the header out
		wantRoom   int    // while the hold lasts
		holdFor    time.Duration
	}{
		{"a 429 holds until the refresh it names", http.StatusTooManyRequests, "0", "17", 0, 17 * time.Second},
		{"a 429 without a figure holds nothing left until the refresh", http.StatusTooManyRequests, "", "17", 0, 17 * time.Second},
		{"a figure that names its refresh holds until then", http.StatusOK, "3", "5", 3, 5 * time.Second},
		{"a refresh now holds nothing", http.StatusTooManyRequests, "0", "0", 9, 0},
		{"a refresh beyond a minute holds a minute", http.StatusTooManyRequests, "0", "600", 0, time.Minute},
		{"a refresh of a minute holds a minute", http.StatusTooManyRequests, "0", "60", 0, time.Minute},
		{"a figure without a refresh holds a minute", http.StatusOK, "3", "", 3, time.Minute},
		{"an unparsable refresh holds a minute", http.StatusTooManyRequests, "0", "soon", 0, time.Minute},
		{"a negative refresh holds a minute", http.StatusOK, "3", "-4", 3, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, clock := clocked(10)
			start := clock.Now()
			rt := Transport(roundTripperFunc(func(req *http.Request) (*http.Response, error) {
				h := http.Header{}
				if tc.remaining != "" {
					h.Set("X-RateLimit-Remaining-Minute", tc.remaining)
				}
				if tc.retryAfter != "" {
					h.Set("X-RateLimit-Retry-After", tc.retryAfter)
				}
				return &http.Response{StatusCode: tc.status, Header: h, Body: http.NoBody, Request: req}, nil
			}), l)
			req, err := http.NewRequest(http.MethodGet, "http://helpscout.test/", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := room(l); got != tc.wantRoom {
				t.Errorf("room right after the response = %d, want %d", got, tc.wantRoom)
			}
			if tc.holdFor > 0 {
				wantRoomAt(t, l, clock, start.Add(tc.holdFor-time.Millisecond), tc.wantRoom, fmt.Sprintf("just before %v, held", tc.holdFor))
			}
			over := 9 // our own window: the GET is still in it
			if tc.holdFor >= Window {
				over = 10
			}
			wantRoomAt(t, l, clock, start.Add(tc.holdFor), over, fmt.Sprintf("at %v, the hold over", tc.holdFor))
		})
	}
}

// TestTransportOrdersFiguresBySending: two requests in flight at once may
// be answered in either order. The figure from the one sent first is the
// older word, even when it arrives last: it must not lift the hold that
// the later-sent request's lower figure set. First is first even when the
// clock reads the same for both.
func TestTransportOrdersFiguresBySending(t *testing.T) {
	for _, gap := range []time.Duration{time.Second, 0} {
		t.Run(fmt.Sprintf("sent %v apart", gap), func(t *testing.T) { transportOrdersFigures(t, gap) })
	}
}

func transportOrdersFigures(t *testing.T, gap time.Duration) {
	l, clock := clocked(10)
	sent := make(chan string)          // a request has reached the server
	answer := map[string]chan string{} // the figure each request gets back
	for _, name := range []string{"first", "second"} {
		answer[name] = make(chan string)
	}
	rt := Transport(roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		name := req.URL.Path[1:]
		sent <- name
		h := http.Header{}
		h.Set("X-RateLimit-Remaining-Minute", <-answer[name])
		return &http.Response{StatusCode: http.StatusOK, Header: h, Body: http.NoBody, Request: req}, nil
	}), l)
	done := make(chan error)
	send := func(name string) {
		go func() {
			req, err := http.NewRequest(http.MethodGet, "http://helpscout.test/"+name, nil)
			if err == nil {
				var resp *http.Response
				if resp, err = rt.RoundTrip(req); err == nil {
					resp.Body.Close()
				}
			}
			done <- err
		}()
		<-sent
	}
	send("first")
	clock.Advance(gap)
	send("second")

	answer["second"] <- "3" // other integrations spent the rest of the minute
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	answer["first"] <- "8" // said before the second request was counted
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := room(l); got != 3 {
		t.Errorf("room after the later-sent request said 3 and the earlier-sent one then said 8 = %d, want 3", got)
	}
}

// TestHeedOlderFigureAfterAReleaseStartsNoHold: a figure from a request
// sent before the one whose figure released the hold was counted before
// Help Scout's minute reset. It is older news and must not hold the room
// back again; taken as new, it empties the room for a whole window from
// its arrival while the server has its whole minute left.
func TestHeedOlderFigureAfterAReleaseStartsNoHold(t *testing.T) {
	l, clock := clocked(10)
	older := spendNow(t, l, 1) // answered late, counted before the reset
	clock.Advance(time.Second)
	held := spendNow(t, l, 1)
	clock.Advance(time.Second)
	newer := spendNow(t, l, 1)
	l.heed(4, Window, held) // less the newer request's 1: room 3
	clock.Advance(20 * time.Second)
	l.heed(300, Window, newer) // Help Scout's minute has reset: released
	if got := room(l); got != 7 {
		t.Fatalf("room after the release = %d, want 7 (our 10 less our 3)", got)
	}
	l.heed(0, Window, older)
	if got := room(l); got != 7 {
		t.Errorf("room after a figure of 0 from a request sent before the release's = %d, want 7", got)
	}
	if wait := waitFor(l, 1); wait != 0 {
		t.Errorf("a read after the older figure waits %v, want 0", wait)
	}
}

// TestHeedOlderFigureAfterAShortHoldStartsNoHold: a 429 that says the
// minute refreshes in 5 s holds the room for 5 s only. A figure from a
// request sent before it, heard after those 5 s, was counted in the
// minute that has since refreshed; taken as new, it holds the room at its
// old figure for a window.
func TestHeedOlderFigureAfterAShortHoldStartsNoHold(t *testing.T) {
	l, clock := clocked(10)
	older := spendNow(t, l, 1) // answered late, counted before the refresh
	clock.Advance(time.Second)
	limited := spendNow(t, l, 1)
	l.heed(0, 5*time.Second, limited)
	clock.Advance(10 * time.Second)
	l.heed(0, Window, older)
	if got := room(l); got != 8 {
		t.Errorf("room after a figure of 0 from a request sent before the 429's = %d, want 8 (our 10 less our 2)", got)
	}
}
