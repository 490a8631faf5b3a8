package mirror_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
)

// Run tells Updated after the first sync and after every inbox pass, so
// that own mode's routing hears of a new conversation as soon as it is
// stored.
func TestRunCallsUpdatedAfterEachPass(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 5})
	passes := make(chan struct{}, 10)
	m := e.mirror(mirror.Options{Updated: func() { passes <- struct{}{} }})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx, time.Hour) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-passes:
		case <-time.After(time.Minute):
			t.Fatalf("Updated was not called %s", what)
		}
	}
	wait("after the first sync")
	if ok, why := m.Ready(); !ok {
		t.Errorf("Updated came before the mirror was ready: %s", why)
	}
	m.Wake()
	wait("after a webhook's inbox pass")
}
