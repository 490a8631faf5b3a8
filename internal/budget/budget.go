package budget

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Window is the span over which the budget applies. A second of slack covers
// the gap between the moment a request is paced here and the moment the
// server counts it.
const Window = time.Minute + time.Second

type spend struct {
	at   time.Time
	cost int
}

// Limiter is a sliding-window budget. The zero value is not usable; call New.
type Limiter struct {
	perWindow int
	now       func() time.Time

	mu    sync.Mutex
	spent []spend // oldest first, all within Window of now
	used  int
}

// New returns a limiter allowing perMinute cost units per window.
func New(perMinute int) *Limiter {
	return &Limiter{perWindow: perMinute, now: time.Now}
}

// Wait blocks until cost units fit in the budget, then spends them.
func (l *Limiter) Wait(ctx context.Context, cost int) error {
	if cost > l.perWindow {
		return fmt.Errorf("request cost %d exceeds the whole budget of %d per minute", cost, l.perWindow)
	}
	for {
		wait := l.reserve(cost)
		if wait == 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// reserve spends cost and returns 0, or returns how long to wait before the
// oldest spends have left the window and enough budget is free.
func (l *Limiter) reserve(cost int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	cut := 0
	for cut < len(l.spent) && now.Sub(l.spent[cut].at) >= Window {
		l.used -= l.spent[cut].cost
		cut++
	}
	l.spent = l.spent[cut:]
	if l.used+cost <= l.perWindow {
		l.spent = append(l.spent, spend{at: now, cost: cost})
		l.used += cost
		return 0
	}
	// Find the earliest spend whose expiry frees enough room.
	free := l.perWindow - l.used
	for _, s := range l.spent {
		free += s.cost
		if free >= cost {
			if d := s.at.Add(Window).Sub(now); d > 0 {
				return d
			}
			return time.Millisecond
		}
	}
	return Window // unreachable: cost <= perWindow was checked by Wait
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

// Transport paces every request through l before handing it to next.
func Transport(next http.RoundTripper, l *Limiter) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if err := l.Wait(req.Context(), Cost(req.Method)); err != nil {
			return nil, fmt.Errorf("wait for rate budget: %w", err)
		}
		return next.RoundTrip(req)
	})
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
