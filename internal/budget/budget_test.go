package budget

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

func TestReserveNeverExceedsBudgetInAnyWindow(t *testing.T) {
	// The clock advances only when told, so the test checks pacing
	// decisions without sleeping.
	clock := testkit.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	l := New(10)
	l.now = clock.Now
	var sent []spend
	methods := []string{"GET", "PATCH", "GET", "POST", "GET", "GET", "PUT", "GET", "DELETE", "GET"}
	for i := 0; len(sent) < 60; i++ {
		m := methods[i%len(methods)]
		if wait := l.reserve(Cost(m)); wait > 0 {
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
