package rebalance

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestSnapshotFromAvailability checks that the conversion tells the balancer
// the difference between someone away in Help Scout (an absence: BackAt
// unknown) and someone off shift (BackAt: their next shift start, from the
// roster's hours in their time zone).
func TestSnapshotFromAvailability(t *testing.T) {
	r, err := roster.Parse([]byte(`{"agents": [
	  {"id": 1, "hours": "Mon-Fri 09:00-17:00", "timezone": "America/New_York"},
	  {"id": 2, "hours": "Mon-Fri 09:00-17:00", "timezone": "America/New_York"},
	  {"id": 3, "hours": "Mon-Fri 09:00-17:00"},
	  {"id": 4}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // Monday 05:00 in New York
	awaySince := now.Add(-2 * time.Hour)
	s := store.Snapshot{
		TakenAt: now,
		Users: []store.User{
			{ID: 1, First: "Off", Timezone: "Europe/Berlin"},
			{ID: 2, First: "Away", Timezone: "Europe/Berlin"},
			{ID: 3, First: "OnInBerlin", Timezone: "Europe/Berlin"},
			{ID: 4, First: "NoHours"},
		},
		Statuses: []store.UserStatus{{UserID: 2, Status: "away", UpdatedAt: awaySince}},
	}
	type avail struct {
		Available        bool
		UnavailableSince time.Time
		BackAt           time.Time
	}
	want := map[int64]avail{
		// Off shift since Friday 17:00 New York (22:00 UTC), back Monday
		// 09:00 New York (14:00 UTC).
		1: {UnavailableSince: time.Date(2026, 2, 27, 22, 0, 0, 0, time.UTC), BackAt: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)},
		// Away in Help Scout: an absence of unknown length, even though the
		// same hours say when a shift starts.
		2: {UnavailableSince: awaySince},
		// The roster names no zone: the Help Scout user's (Berlin, 11:00).
		3: {Available: true},
		4: {Available: true},
	}
	got := map[int64]avail{}
	for _, a := range SnapshotFrom(s, r, now).Agents {
		got[a.ID] = avail{a.Available, a.UnavailableSince, a.BackAt}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("availability (-want +got):\n%s", diff)
	}
}
