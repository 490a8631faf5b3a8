package mirror_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// A stop is routine: when the daemon stops during the first sync, Run
// returns without a warning. A stop that landed after the sync's last write
// used to run the upkeep with the cancelled context, and the prune and the
// optimize each warned "context canceled".
func TestRunStoppedDuringFirstSyncLogsNoWarning(t *testing.T) {
	tests := []struct {
		name string
		// The stop comes as the fake is asked for path, or as msg is
		// logged ("sync done": after the last write, before the upkeep,
		// the narrowest window a signal can land in).
		path, msg string
	}{
		{name: "while listing conversations", path: "/v2/conversations"},
		{name: "as the sync finishes", msg: "sync done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 5})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var once sync.Once
			stopped := make(chan struct{})
			stop := func() { once.Do(func() { cancel(); close(stopped) }) }
			e.log.setBefore(func(r *http.Request) {
				if tt.path != "" && r.URL.Path == tt.path {
					stop()
				}
			})
			var logs testkit.LogBuffer
			logger := slog.New(stopAt{Handler: slog.NewTextHandler(&logs, nil), msg: tt.msg, stop: stop})
			m := e.mirror(mirror.Options{Logger: logger})
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx, time.Hour) }()
			select {
			case <-stopped:
			case <-time.After(time.Minute):
				t.Fatal("the first sync never reached the moment of the stop")
			}
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			if out := logs.String(); strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
				t.Errorf("a stop logged a warning:\n%s", out)
			}
		})
	}
}

// stopAt is a log handler that calls stop when msg is logged, so a test
// can cancel at a moment it has no other hook for.
type stopAt struct {
	slog.Handler
	msg  string
	stop func()
}

func (s stopAt) Handle(ctx context.Context, r slog.Record) error {
	if s.msg != "" && r.Message == s.msg {
		s.stop()
	}
	return s.Handler.Handle(ctx, r)
}
