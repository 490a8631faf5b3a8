package store

import (
	"context"
	"sync"
)

// readGate lets this process's read transactions in, many at a time,
// except while Checkpoint holds it shut. It is a readers-writer lock whose
// waits end with the waiter's context: a sync.RWMutex made a read whose
// deadline had passed still wait out a checkpoint (about 0.1 s at every
// poll, 1.2 s at worst on a loaded machine), and a request cannot give up
// on it.
//
// Once a checkpoint asks to shut the gate, new reads wait even while
// earlier ones are still in: reads that overlap without pause would
// otherwise keep it out for ever. That is safe only because no read waits
// for another read to begin (readTx never nests), as with sync.RWMutex.
type readGate struct {
	mu      sync.Mutex
	readers int // read transactions inside
	// shut is non-nil from the moment a checkpoint asks for the gate until
	// it reopens it, when it is closed to wake the reads waiting on it.
	shut chan struct{}
	// drained is non-nil while a checkpoint waits for the reads inside; the
	// last of them closes it.
	drained chan struct{}
}

// enter waits until no checkpoint holds the gate shut and counts the
// caller in, or returns ctx's error if ctx ends first. A nil error must be
// paired with one leave.
func (g *readGate) enter(ctx context.Context) error {
	for {
		g.mu.Lock()
		shut := g.shut
		if shut == nil {
			g.readers++
			g.mu.Unlock()
			return nil
		}
		g.mu.Unlock()
		select {
		case <-shut:
			// Reopened; another checkpoint may have shut it again since.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// leave counts a read out.
func (g *readGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.readers--
	if g.readers == 0 && g.drained != nil {
		close(g.drained)
		g.drained = nil
	}
}

// close shuts the gate and waits for the reads inside to leave, or returns
// ctx's error (with the gate open again) if ctx ends first. A nil error
// must be paired with one reopen. A second close waits for the first's
// reopen.
func (g *readGate) close(ctx context.Context) error {
	g.mu.Lock()
	for g.shut != nil {
		shut := g.shut
		g.mu.Unlock()
		select {
		case <-shut:
		case <-ctx.Done():
			return ctx.Err()
		}
		g.mu.Lock()
	}
	g.shut = make(chan struct{})
	if g.readers == 0 {
		g.mu.Unlock()
		return nil
	}
	drained := make(chan struct{})
	g.drained = drained
	g.mu.Unlock()
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
		g.reopen()
		return ctx.Err()
	}
}

// reopen lets reads in again after close.
func (g *readGate) reopen() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.shut)
	g.shut, g.drained = nil, nil
}
