package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Why net/http and not slack.PostWebhook: PostWebhook reads Retry-After
// but throws away the body, which is where Slack says what is wrong
// (invalid_payload, no_service, channel_not_found, ...), and its errors
// wrap *url.Error, whose text holds the webhook URL: the credential.

// maxRetryAfter bounds how long one 429 may hold the queue: a longer wait
// gives up on the message (counted rate_limited) rather than leave every
// message behind it waiting.
const maxRetryAfter = 5 * time.Minute

// answer is what one attempt came to.
type answer struct {
	result     string        // the message's result if no further attempt is made
	retry      bool          // worth another attempt
	retryAfter time.Duration // Slack's Retry-After, for a 429
	detail     string        // for the log: Slack's text or the network error, never the URL
}

// deliver posts m, retrying 429s after Retry-After and 5xx and network
// errors with backoff, and counts its final result.
func (n *Notifier) deliver(ctx context.Context, m message) {
	body, err := json.Marshal(m.payload)
	if err != nil {
		n.count(m.channel, ResultFailed)
		n.logOnce("encode", "slack message not sent: cannot encode it", "channel", m.channel, "err", err)
		if m.settled != nil {
			m.settled(false)
		}
		return
	}
	for attempt := 0; ; attempt++ {
		a := n.post(ctx, body)
		if ctx.Err() != nil {
			return // shutting down: the message is abandoned, not failed
		}
		wait := a.retryAfter
		if wait == 0 {
			wait = backoff(attempt)
		}
		if !a.retry || attempt >= n.opts.Retries || wait > maxRetryAfter {
			n.finish(m, a)
			return
		}
		if n.opts.Sleep(ctx, wait) != nil {
			return // shutting down
		}
	}
}

// finish counts a message's result, logs a failure once per kind and
// tells the message how it ended.
func (n *Notifier) finish(m message, a answer) {
	channel := m.channel
	if m.settled != nil {
		defer m.settled(a.retry)
	}
	n.count(channel, a.result)
	switch a.result {
	case ResultSent:
		n.delivered()
	case ResultInvalidPayload:
		n.logOnce(a.result, "slack refused a message as invalid_payload: this is a queuewrangler bug, please report it", "channel", channel)
	case ResultNoService:
		n.logOnce(a.result, "slack answers no_service: the incoming webhook was disabled or removed; set QW_SLACK_WEBHOOK_URL to a working one", "channel", channel)
	default:
		kind := a.result
		if a.detail != "" {
			kind += ": " + a.detail
		}
		n.logOnce(kind, "slack message not delivered", "channel", channel, "result", a.result, "why", a.detail)
	}
}

// post makes one attempt.
func (n *Notifier) post(ctx context.Context, body []byte) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		// The error would quote the URL; config validated it anyway.
		return answer{result: ResultFailed, detail: "the webhook URL is not usable"}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		return answer{result: ResultFailed, retry: true, detail: n.withoutURL(err)}
	}
	defer resp.Body.Close()
	// Slack answers with a short text ("ok", "invalid_payload"); a proxy
	// may answer with a page, of which the start is enough.
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	text := strings.TrimSpace(string(raw))
	status := "HTTP " + strconv.Itoa(resp.StatusCode)
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return answer{result: ResultSent}
	case code == http.StatusTooManyRequests:
		return answer{result: ResultRateLimited, retry: true, retryAfter: retryAfter(resp.Header.Get("Retry-After")), detail: status}
	case code >= 500:
		return answer{result: ResultFailed, retry: true, detail: status}
	}
	switch text {
	case "invalid_payload":
		return answer{result: ResultInvalidPayload, detail: text}
	case "no_service", "no_active_hooks":
		return answer{result: ResultNoService, detail: text}
	}
	return answer{result: ResultFailed, detail: status + " " + firstWord(text)}
}

// retryAfter reads Retry-After in seconds (what Slack sends); an HTTP date
// or nothing reads as 0, and the backoff applies.
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// backoff is the wait before attempt+1 after a 5xx or network error: 1 s,
// 2 s, 4 s, ... at most 30 s.
func backoff(attempt int) time.Duration {
	return min(time.Second<<min(attempt, 5), 30*time.Second)
}

// withoutURL is err's text without the request's URL (a *url.Error
// quotes it) nor anything of the webhook's path.
func (n *Notifier) withoutURL(err error) string {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	text := strings.ReplaceAll(err.Error(), n.opts.WebhookURL, "[webhook]")
	if u, perr := url.Parse(n.opts.WebhookURL); perr == nil && len(u.Path) > 1 {
		text = strings.ReplaceAll(text, u.Path, "[webhook]")
	}
	return text
}

// firstWord keeps the first token of a 4xx text: Slack's error codes are
// one word, and anything else (an HTML page) has no place in a log line.
func firstWord(s string) string {
	s, _, _ = strings.Cut(s, " ")
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 64 {
		s = s[:64]
	}
	return s
}
