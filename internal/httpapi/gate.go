package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Gate is what the daemon's listener serves from the moment it listens.
// Until Open, it answers as a daemon that cannot serve yet (the database
// cannot be opened, a read-only or full disk): /healthz 200, since the
// process is alive and restarting it would not help; /readyz 503 with the
// reason; and 503 for every other path, which makes Help Scout deliver a
// webhook again later. After Open every request goes to the full server.
type Gate struct {
	current atomic.Pointer[http.Handler]
}

// NewGate returns a gate that is not open yet, for reason.
func NewGate(reason string) *Gate {
	g := &Gate{}
	g.NotReady(reason)
	return g
}

// NotReady says why the daemon cannot serve yet.
func (g *Gate) NotReady(reason string) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", handleHealth)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { writeNotReady(w, reason) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusServiceUnavailable, "starting: "+reason)
	})
	var h http.Handler = mux
	g.current.Store(&h)
}

// Open hands every later request to full.
func (g *Gate) Open(full http.Handler) { g.current.Store(&full) }

// ServeHTTP implements http.Handler.
func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*g.current.Load()).ServeHTTP(w, r)
}

// NewHTTPServer bounds every phase of a request so that slow or hostile
// clients cannot hold connections open. Every listener the binary serves
// uses it.
func NewHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

// Serve serves h on ln with NewHTTPServer's bounds until ctx ends, then
// shuts down gracefully, giving requests in flight up to grace to finish.
// It returns early only if the server fails.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger, grace time.Duration) error {
	srv := NewHTTPServer(h, logger)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Serving is a server started by Start.
type Serving struct {
	stop   context.CancelFunc
	done   chan struct{}
	err    error // Serve's result, set before done closes
	logger *slog.Logger
	grace  time.Duration
	once   sync.Once
}

// Start serves h on ln as Serve does, in a goroutine of its own, until
// Stop. Its life is not a context's: the daemon stops its intake first,
// when its own context has already ended, and then the work behind it.
func Start(ln net.Listener, h http.Handler, logger *slog.Logger, grace time.Duration) *Serving {
	ctx, stop := context.WithCancel(context.Background())
	s := &Serving{stop: stop, done: make(chan struct{}), logger: logger, grace: grace}
	go func() {
		defer close(s.done)
		s.err = Serve(ctx, ln, h, logger, grace)
	}()
	return s
}

// Done is closed once the server has stopped: after Stop, or on its own
// when it failed (Err says why).
func (s *Serving) Done() <-chan struct{} { return s.done }

// Err is why the server stopped; nil for a clean Stop. Valid after Done.
func (s *Serving) Err() error { return s.err }

// Stop shuts the server down, letting requests in flight finish within
// Start's grace, and waits for it; a failed shutdown is logged once.
func (s *Serving) Stop() {
	s.stop()
	<-s.done
	s.once.Do(func() {
		switch {
		case errors.Is(s.err, context.DeadlineExceeded):
			// Nothing failed: the grace is the daemon's share of its stop
			// for them, and it bounds the work behind them (a move, a note)
			// itself. Their handlers go on, unwaited, until the exit.
			s.logger.Info("shutdown: requests still running at the end of the HTTP grace are not waited for", "grace", s.grace.String())
		case s.err != nil:
			s.logger.Warn("http shutdown", "err", s.err)
		}
	})
}
