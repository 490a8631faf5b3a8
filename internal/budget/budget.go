package budget

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Window is the span over which the budget applies. A second of slack covers
// the gap between the moment a request is paced here and the moment the
// server counts it.
const Window = time.Minute + time.Second

// serverMinute is the longest Help Scout's minute can have left when it
// names a figure: the figure was counted in the interval ("requests left
// in the current interval", helpscout-api.md section 2), which ends within
// a minute of the count, and the count comes before we hear it. Window's
// slack is for our spends, stamped before the server counts them; a hold
// starts after the count, so a second more would only wait out a second
// of the server's fresh minute.
const serverMinute = time.Minute

type spend struct {
	at   time.Time
	cost int
	seq  uint64 // the order spends were made in, which no clock reading gives
}

// Limiter is a sliding-window budget. The zero value is not usable; call New.
type Limiter struct {
	perWindow int
	now       func() time.Time

	mu    sync.Mutex
	spent []spend // oldest first, all within Window of now
	used  int
	seq   uint64 // of the latest spend
	// serverLeft is what the account had left by the server's last word
	// lower than our whole budget, less what we spent since; it bounds the
	// room until serverUntil (see heed). serverSent is the spend of the
	// request whose figure was last taken, heard at serverHeard, whether it
	// set the hold or released it: responses may arrive out of order, and
	// for a window a figure from a request sent before it is older news.
	serverLeft  int
	serverUntil time.Time
	serverSent  uint64
	serverHeard time.Time
}

// New returns a limiter allowing perMinute cost units per window.
func New(perMinute int) *Limiter {
	return &Limiter{perWindow: perMinute, now: time.Now}
}

// Wait blocks until cost units fit in the budget, then spends them.
func (l *Limiter) Wait(ctx context.Context, cost int) error {
	_, err := l.wait(ctx, cost)
	return err
}

// wait is Wait that also returns the spend's sequence number, by which the
// response's figure is placed among the others (see heed).
func (l *Limiter) wait(ctx context.Context, cost int) (uint64, error) {
	if cost > l.perWindow {
		return 0, fmt.Errorf("request cost %d exceeds the whole budget of %d per minute", cost, l.perWindow)
	}
	for {
		wait, seq := l.reserve(cost)
		if wait == 0 {
			return seq, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
	}
}

// reserve spends cost and returns 0 and the spend's sequence number, or
// returns how long to wait before the oldest spends have left the window
// and enough budget is free.
func (l *Limiter) reserve(cost int) (time.Duration, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if cost <= l.room(now) {
		l.seq++
		l.spent = append(l.spent, spend{at: now, cost: cost, seq: l.seq})
		l.used += cost
		l.serverLeft -= cost
		return 0, l.seq
	}
	if now.Before(l.serverUntil) && cost > l.serverLeft {
		return l.serverUntil.Sub(now), 0 // the server's word holds us back
	}
	// Find the earliest spend whose expiry frees enough room.
	free := l.perWindow - l.used
	for _, s := range l.spent {
		free += s.cost
		if free >= cost {
			if d := s.at.Add(Window).Sub(now); d > 0 {
				return d, 0
			}
			return time.Millisecond, 0
		}
	}
	return Window, 0 // unreachable: cost <= perWindow was checked by Wait
}

// room is what may be spent at now: our window's room, and no more than
// the server's word while it holds. l.mu must be held.
func (l *Limiter) room(now time.Time) int {
	l.expire(now)
	r := l.perWindow - l.used
	if now.Before(l.serverUntil) {
		r = min(r, l.serverLeft)
	}
	return r
}

// expire drops the spends that have left the window.
func (l *Limiter) expire(now time.Time) {
	cut := 0
	for cut < len(l.spent) && now.Sub(l.spent[cut].at) >= Window {
		l.used -= l.spent[cut].cost
		cut++
	}
	l.spent = l.spent[cut:]
}

// heed takes the server's word on what the account has left this minute,
// in the response to the request whose spend was sent, when it is less
// than our whole budget: other integrations spend the same budget, and
// ours alone would run into their 429s.
//
// The room then stays at most remaining, less what we spend, for resetIn:
// until Help Scout's minute refreshes when the response said so (see
// serverWord), else a minute (serverMinute), the most the minute the
// figure was counted in can have left. It is not enough to hold only the shortfall as
// spends: our older spends would leave the sliding window before Help
// Scout's fixed minute ends, and the room they free would be room the
// server does not have. Each later figure replaces it: a lower one holds
// less, and a higher one (Help Scout's minute has reset) releases the hold
// up to that figure, never above our own window's room. Only at or above
// our whole budget does the server's word no longer bound anything: a
// figure merely at our window's room would be passed as soon as our older
// spends left the window, before the server's minute need end.
//
// Later means sent later, not answered later: requests in flight together
// are answered in any order, and a figure from a request sent before the
// one whose figure was last taken is older news, counted before that
// request was. That holds whether the newer figure set the hold or
// released it: after a release, an older figure from the minute before
// the reset, taken as news, would empty the room for a minute while the
// server has a fresh minute. Sent is the order the spends were made in,
// the best we know of the order the requests reached the server in: two
// spends may share one clock reading, and a reading taken after the wait
// could put them the other way round. An older figure changes nothing,
// not even lowering the hold. Within one minute of Help Scout's it cannot
// be lower than the newer one once what was sent after it comes off
// (the server only counts down), so a lower one says one of two things:
// the minute reset between the two, and the older figure, often 0, is
// the old minute's, which would empty the room for as long as the newer
// figure holds (up to a minute) while the server has a fresh minute; or the
// requests reached the server the other way round, the older figure is
// the truer one, and the hold overstates the room by the cost of the
// requests that arrived late, a few units that a 429 and its retry put
// right. Lowering would mend the rare small error
// by risking the large one. Nor does it start or extend a hold: its
// minute ends no later than the newer figure's does, within a minute of
// that figure, and a minute from its arrival would hold back room the
// server has again.
//
// The figure was counted when the server answered, before the requests we
// sent after this one had reached it; what those spent is taken off, or
// each figure would hand their cost out a second time.
func (l *Limiter) heed(remaining int, resetIn time.Duration, sent uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if sent < l.serverSent && now.Sub(l.serverHeard) < Window {
		return // older news
	}
	l.expire(now)
	remaining -= l.spentAfter(sent)
	l.serverSent, l.serverHeard = sent, now
	if remaining >= l.perWindow {
		l.serverUntil = time.Time{}
		return
	}
	l.serverLeft, l.serverUntil = max(remaining, 0), now.Add(resetIn)
}

// spentAfter is what was spent after the spend sent, within the window.
// l.mu must be held.
func (l *Limiter) spentAfter(sent uint64) int {
	n := 0
	for i := len(l.spent) - 1; i >= 0 && l.spent[i].seq > sent; i-- {
		n += l.spent[i].cost
	}
	return n
}

// serverWord reads what a response says of the account's minute: what is
// left (X-RateLimit-Remaining-Minute) and how long until the minute
// refreshes (X-RateLimit-Retry-After). It reports false when nothing is
// said of what is left, or nothing usable.
//
// Help Scout documents Retry-After as "only when limited: seconds to wait
// until the limit refreshes" (helpscout-api.md section 2, the header
// table), so on a 429; where else it appears it is taken the same way.
// Nothing says where the minute of a 200's figure ends ("requests left in
// the current interval", with no reset header and no word on when the
// interval starts), so such a figure holds for a minute. A 429 that says
// when to retry but not what is left has nothing left (a 429 is the
// account's limit exceeded, section 2); held until the refresh, the other
// requests wait with the retried one instead of meeting 429s of their own,
// and the retry layer, which waits that long too, waits no longer.
func serverWord(resp *http.Response) (remaining int, resetIn time.Duration, ok bool) {
	resetIn, resetSaid := retryAfter(resp.Header)
	n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-RateLimit-Remaining-Minute")))
	switch {
	case err == nil && n >= 0:
		return n, resetIn, true
	case resp.StatusCode == http.StatusTooManyRequests && resetSaid:
		return 0, resetIn, true
	default:
		return 0, 0, false
	}
}

// retryAfter reads X-RateLimit-Retry-After in whole seconds, bounded by a
// minute: Help Scout's minute cannot refresh later than that, and a larger
// figure would only stall us. A missing, unparsable or negative header
// gives a minute and false.
func retryAfter(h http.Header) (time.Duration, bool) {
	s, err := strconv.Atoi(strings.TrimSpace(h.Get("X-RateLimit-Retry-After")))
	if err != nil || s < 0 {
		return serverMinute, false
	}
	return min(time.Duration(s)*time.Second, serverMinute), true
}

// Cost is what Help Scout charges for a request: writes count 2.
func Cost(method string) int {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return 1
	default:
		return 2
	}
}

// Transport paces every request through l before handing it to next, and
// has l heed what each response says the account has left, in the order
// the requests were sent.
func Transport(next http.RoundTripper, l *Limiter) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		sent, err := l.wait(req.Context(), Cost(req.Method))
		if err != nil {
			return nil, fmt.Errorf("wait for rate budget: %w", err)
		}
		resp, err := next.RoundTrip(req)
		if err == nil {
			if remaining, resetIn, ok := serverWord(resp); ok {
				l.heed(remaining, resetIn, sent)
			}
		}
		return resp, err
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
