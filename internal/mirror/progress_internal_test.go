package mirror

import "testing"

// TestProgressCounts: counts are grouped as people read them, and a
// listing without page metadata is counted in pages instead of "of N".
func TestProgressCounts(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1500: "1,500", 100000: "100,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := grouped(n); got != want {
			t.Errorf("grouped(%d) = %q, want %q", n, got, want)
		}
	}
	p := &progress{}
	p.beginWalk()
	p.page(25, 1500, 25)
	p.page(25, 1500, 50)
	if got, want := p.counts(), "50 of 1,500 conversations"; got != want {
		t.Errorf("counts = %q, want %q", got, want)
	}
	// A rewalk re-lists from its cursor: 10 of its first 25 are held
	// already, and its size counts what is left from there.
	p.beginWalk()
	p.page(25, 40, 65)
	if got, want := p.counts(), "65 of 80 conversations"; got != want {
		t.Errorf("after a rewalk, counts = %q, want %q", got, want)
	}
	// A walk resumed with 600 held lists the 900 left.
	resumed := &progress{}
	resumed.beginWalk()
	resumed.page(50, 900, 650)
	if got, want := resumed.counts(), "650 of 1,500 conversations"; got != want {
		t.Errorf("resumed, counts = %q, want %q", got, want)
	}
	// After a restart the store holds everything already: the walk counts
	// what it has read of its own listing, not the store's total.
	catchUp := &progress{catchUp: true}
	catchUp.beginWalk()
	catchUp.page(25, 160, 1500)
	if got, want := catchUp.counts(), "25 of 160 conversations changed since the last sync"; got != want {
		t.Errorf("after a restart, counts = %q, want %q", got, want)
	}
	catchUp.page(25, 0, 1500)
	if got, want := catchUp.counts(), "50 conversations changed since the last sync, 2 pages"; got != want {
		t.Errorf("after a restart without page metadata, counts = %q, want %q", got, want)
	}
	bare := &progress{}
	bare.page(25, 0, 25)
	bare.page(25, 0, 50)
	if got, want := bare.counts(), "50 conversations, 2 pages"; got != want {
		t.Errorf("without page metadata, counts = %q, want %q", got, want)
	}
}
