package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// Webhook results, the result label of queuewrangler_webhook_events_total.
const (
	resultStored       = "stored"
	resultDuplicate    = "duplicate"
	resultTest         = "test"
	resultUnauthorized = "unauthorized"
	resultTooLarge     = "too_large"
	resultMalformed    = "malformed"
	resultError        = "error"
	resultDisabled     = "disabled"
)

func (s *Server) countWebhook(event, result string) {
	if s.opts.Metrics == nil {
		return
	}
	s.opts.Metrics.WebhookEvents.WithLabelValues(eventLabel(event), result).Inc()
}

// eventLabel keeps the label bounded: the header is attacker-controlled
// until the signature is checked, so unknown names collapse to "other".
func eventLabel(event string) string {
	if helpscout.KnownEvent(event) {
		return event
	}
	return "other"
}

// repeats are the attributes of a thinned refusal's line (quietLog): on
// the first, that more are summarised; after it, how many it stands for.
func repeats(refused int) []any {
	if refused <= 1 {
		return []any{"repeats", "logged at most once a minute with a count; queuewrangler_webhook_events_total counts each"}
	}
	return []any{"refused_since_last_line", refused}
}

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	event := r.Header.Get(helpscout.HeaderEvent)
	if s.opts.WebhookSecret == "" || s.opts.Inbox == nil {
		s.countWebhook(event, resultDisabled)
		writeError(w, http.StatusNotFound, "webhooks are disabled")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxWebhookBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.countWebhook(event, resultTooLarge)
			// Said aloud: Help Scout may switch off a webhook its deliveries
			// keep failing, and the change is then seen only at the poll.
			if write, refused := s.tooLarge.note(s.opts.Now()); write {
				s.opts.Logger.Warn("webhook body over the size limit; refused (the poll still picks up the change)",
					append([]any{"event", eventLabel(event), "limit_bytes", tooBig.Limit}, repeats(refused)...)...)
			}
			writeError(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		s.countWebhook(event, resultError)
		writeError(w, http.StatusBadRequest, "cannot read body")
		return
	}
	// The signature covers the raw bytes; nothing is parsed before it holds.
	if !helpscout.ValidateSignature(s.opts.WebhookSecret, body, r.Header.Get(helpscout.HeaderSignature)) {
		s.countWebhook(event, resultUnauthorized)
		if write, refused := s.badSignatures.note(s.opts.Now()); write {
			s.opts.Logger.Warn("webhook signature rejected",
				append([]any{"event", eventLabel(event), "bytes", len(body)}, repeats(refused)...)...)
		}
		writeError(w, http.StatusUnauthorized, "invalid signature")
		return
	}
	ctx := r.Context()
	now := s.opts.Now()
	if event == helpscout.EventTest {
		s.countWebhook(event, resultTest)
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	if _, err := helpscout.ParseWebhook(event, body); err != nil {
		s.countWebhook(event, resultMalformed)
		if _, rerr := s.opts.Inbox.RejectWebhook(ctx, event, body, now, err.Error()); rerr != nil {
			s.opts.Logger.Error("record malformed webhook", "event", eventLabel(event), "err", rerr)
		}
		s.opts.Logger.Warn("malformed webhook payload", "event", eventLabel(event), "err", err)
		writeError(w, http.StatusBadRequest, "malformed payload")
		return
	}
	_, duplicate, err := s.opts.Inbox.AddWebhook(ctx, event, body, now)
	if err != nil {
		// 503 makes Help Scout deliver again; the event was not stored.
		s.countWebhook(event, resultError)
		store.LogFailure(s.opts.Inbox, s.opts.Logger, slog.LevelError, "store webhook", err, "event", eventLabel(event))
		writeError(w, http.StatusServiceUnavailable, "temporarily unable to store the event")
		return
	}
	if duplicate {
		// A replay, or Help Scout delivering again: acknowledged, so that a
		// genuine retry stops, and nothing to do.
		s.countWebhook(event, resultDuplicate)
		writeJSON(w, http.StatusOK, map[string]string{"status": "duplicate"})
		return
	}
	s.countWebhook(event, resultStored)
	writeJSON(w, http.StatusOK, map[string]string{"status": "stored"})
	if s.opts.WebhookReceived != nil {
		s.opts.WebhookReceived()
	}
}
