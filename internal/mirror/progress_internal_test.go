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
	p.page(25, 1500)
	p.page(25, 1500)
	if got, want := p.counts(), "50 of 1,500 conversations"; got != want {
		t.Errorf("counts = %q, want %q", got, want)
	}
	// A rewalk re-lists from its cursor: its size counts on from there.
	p.beginWalk()
	p.page(25, 40)
	if got, want := p.counts(), "75 of 90 conversations"; got != want {
		t.Errorf("after a rewalk, counts = %q, want %q", got, want)
	}
	bare := &progress{}
	bare.page(25, 0)
	bare.page(25, 0)
	if got, want := bare.counts(), "50 conversations, 2 pages"; got != want {
		t.Errorf("without page metadata, counts = %q, want %q", got, want)
	}
}
