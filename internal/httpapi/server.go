package httpapi

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// Inbox stores raw webhook events durably.
type Inbox interface {
	// AddWebhook stores an event that will be processed; it returns once the
	// event is committed. duplicate says an identical delivery was received
	// recently: nothing new was stored, and there is nothing new to do.
	AddWebhook(ctx context.Context, event string, body []byte, receivedAt time.Time) (id int64, duplicate bool, err error)
	// RejectWebhook records a signed event that could not be parsed, so an
	// operator can see it; it is never processed.
	RejectWebhook(ctx context.Context, event string, body []byte, receivedAt time.Time, reason string) (int64, error)
	// FailureSayer is store.DB's: a database file found damaged is
	// logged once, with the remedy, by whichever of the loops and
	// requests meets it first, not once per delivery.
	store.FailureSayer
}

// ReadinessFunc reports whether the daemon is ready to serve, and why not.
type ReadinessFunc func() (ready bool, reason string)

// QueueAsOfFunc reports as of when the mirror holds the whole queue: when
// its latest completed sync began, zero while it holds only what a first
// sync has read so far. inherited says no sync has completed since the
// restart, so the time is an earlier process's.
type QueueAsOfFunc func() (asOf time.Time, inherited bool)

// Options configures the server. Zero values disable the parts they feed.
type Options struct {
	Logger  *slog.Logger
	Metrics *metrics.Instruments
	// Gatherer serves /metrics; nil means no /metrics route.
	Gatherer prometheus.Gatherer

	// WebhookSecret is the raw shared secret; empty disables webhooks.
	WebhookSecret string
	Inbox         Inbox
	// WebhookReceived is called after an event is stored, to wake the
	// processor without waiting for its next tick.
	WebhookReceived func()
	// MaxWebhookBytes bounds a webhook body; 0 means DefaultMaxWebhookBytes.
	MaxWebhookBytes int64

	Ready ReadinessFunc
	// QueueAsOf tells, while the daemon is not ready, a whole but stale
	// queue (a restart while Help Scout is down) from a partial one (a
	// first sync under way); nil takes every not-ready mirror for partial.
	QueueAsOf QueueAsOfFunc
	Now       func() time.Time

	// AllowedHosts are the Host header values the server answers to, each
	// a lowercase name or address with an optional port (without one, any
	// port matches); another Host gets 421. Empty answers any Host.
	AllowedHosts []string

	// Dashboard is the Grafana dashboard served at
	// /dashboards/queuewrangler.json, AlertRules the Prometheus rules
	// served at /alerts.yml; nil leaves the route out.
	Dashboard  []byte
	AlertRules []byte
}

// DefaultMaxWebhookBytes is well above the largest conversation payload
// Help Scout sends (a conversation without threads is a few kilobytes).
const DefaultMaxWebhookBytes = 1 << 20

// Server routes the daemon's HTTP surface.
type Server struct {
	opts       Options
	api        APIOptions
	apiLimiter *loginLimiter // wrong admin tokens on the API, per address
	// badSignatures and tooLarge thin the log lines of webhooks refused
	// before their signature holds, which anyone may send.
	badSignatures, tooLarge quietLog
	mux                     *http.ServeMux
	// pageZone is the zone the page says times in (nil without a page:
	// UTC), which the API's stuck "next" uses too.
	pageZone *time.Location
}

// New builds the routes.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxWebhookBytes <= 0 {
		opts.MaxWebhookBytes = DefaultMaxWebhookBytes
	}
	// Said once, at start: what this configuration leaves open or off.
	if opts.WebhookSecret == "" {
		opts.Logger.Warn("webhooks disabled: QW_HELPSCOUT_WEBHOOK_SECRET is empty; POST /webhooks/helpscout answers 404 and changes arrive by polling only")
	}
	if len(opts.AllowedHosts) == 0 {
		opts.Logger.Warn("QW_ALLOWED_HOSTS is empty: the page, the API and /metrics answer any Host header, so a web page that rebinds its name to this address can read them; list the names this daemon is reached by")
	}
	s := &Server{opts: opts, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /webhooks/helpscout", s.handleWebhook)
	s.mux.HandleFunc("GET /healthz", handleHealth)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	if opts.Gatherer != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelError),
		}))
	}
	if opts.Dashboard != nil {
		s.mux.Handle("GET /dashboards/queuewrangler.json", staticFile("application/json", opts.Dashboard))
	}
	if opts.AlertRules != nil {
		s.mux.Handle("GET /alerts.yml", staticFile("application/yaml", opts.AlertRules))
	}
	return s
}

// staticFile serves a file given whole, such as an embedded one.
func staticFile(contentType string, data []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(data)
	})
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The server names no product or version to strangers.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if !s.hostAllowed(r) {
		writeError(w, http.StatusMisdirectedRequest, "this server does not answer to that host name")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		// Tickets, customers and proposals: nothing for a shared cache or
		// the browser's history.
		w.Header().Set("Cache-Control", "no-store")
	}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// No route matched: the mux would answer 404 or 405 in plain text.
		// Keep its status and Allow header, but answer in JSON like every
		// other error.
		probe := &statusProbe{header: http.Header{}}
		h.ServeHTTP(probe, r)
		for _, k := range []string{"Allow", "Location"} {
			if v := probe.header.Get(k); v != "" {
				w.Header().Set(k, v)
			}
		}
		writeError(w, probe.status, strings.ToLower(http.StatusText(probe.status)))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// hostAllowed guards against DNS rebinding: a page on another site that
// resolves its own name to this daemon's address can make the browser
// read the queue, the API and /metrics, but it cannot make the browser
// send this daemon's name in Host. The health endpoints answer any Host,
// because orchestrator probes address the container by IP (Kubernetes
// sends the pod's IP and port) and the answers carry nothing to read.
func (s *Server) hostAllowed(r *http.Request) bool {
	if len(s.opts.AllowedHosts) == 0 || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
		return true
	}
	host := strings.ToLower(r.Host)
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
		if strings.Contains(h, ":") {
			name = "[" + h + "]" // IPv6, as QW_ALLOWED_HOSTS writes it
		}
	}
	name = strings.TrimSuffix(name, ".")
	for _, allowed := range s.opts.AllowedHosts {
		if allowed == host || allowed == name {
			return true
		}
	}
	return false
}

// statusProbe records what the mux's fallback handler would answer.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) {
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return len(b), nil
}
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}

// handleHealth says the process is alive, whatever else is the matter:
// also while starting (Gate), so that nothing restarts a daemon that waits
// for its disk.
func handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	if u, waiting := s.unready(); waiting {
		writeNotReady(w, u.why)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// notReady returns why the daemon is not ready, and whether it is not;
// a nil ready is always ready.
func notReady(ready ReadinessFunc) (string, bool) {
	if ready == nil {
		return "", false
	}
	ok, why := ready()
	return cmp.Or(why, "starting"), !ok
}

// unready is what /readyz, the page and the API say while the daemon is
// not ready: the reason, and what the mirror holds meanwhile.
type unready struct {
	why string
	// asOf, when set, is the time of the whole queue the mirror holds,
	// stale (QueueAsOfFunc); zero: only what a first sync has read so far.
	asOf time.Time
	// sinceRestart: no sync has completed since the restart.
	sinceRestart bool
	// whySaysRestart: why already says that no sync has completed since
	// the restart (store.NoSyncSinceRestartReason, the mirror's words).
	whySaysRestart bool
	// damaged: the database file is damaged, and what is shown is what
	// can still be read from it (damagedDatabase).
	damaged bool
}

// unready says why the daemon is not ready and what the mirror holds;
// false once ready. The reason is /readyz's, and the page and the API say
// the same one.
func (s *Server) unready() (unready, bool) {
	why, waiting := notReady(s.opts.Ready)
	if !waiting {
		return unready{}, false
	}
	u := unready{why: why, damaged: s.damagedDatabase(why)}
	if s.opts.QueueAsOf != nil {
		u.asOf, u.sinceRestart = s.opts.QueueAsOf()
	}
	u.whySaysRestart = strings.HasPrefix(u.why, store.NoSyncSinceRestartReason)
	return u, true
}

// damageHolder is store.DB's: whether the file was found damaged and has
// not passed the integrity check since.
type damageHolder interface{ HeldDamaged() bool }

// damagedDatabase reports whether the daemon is not ready because the
// database file is damaged: its reason says so, or, once a later failure
// (Help Scout down) has become the reason, the store still holds the file
// damaged. The inbox is the store in the daemon.
func (s *Server) damagedDatabase(why string) bool {
	if why == store.ErrCorruptReason {
		return true
	}
	d, ok := s.opts.Inbox.(damageHolder)
	return ok && d.HeldDamaged()
}

func writeNotReady(w http.ResponseWriter, reason string) {
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": reason})
}

// writeJSON writes v; encoding errors are impossible for the maps and
// structs used here, and the client has the status line either way.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with a public message only.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
