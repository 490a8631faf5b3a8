package helpscouttest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// WebhookOptions configure signed webhook delivery. Delivery is on when URL
// and Secret are both set.
type WebhookOptions struct {
	URL    string
	Secret string
	// Events limits delivery to these event names; nil means all.
	Events []string
	// MaxAttempts bounds deliveries of one event (default 5).
	MaxAttempts int
	// Backoff is the wait before the first retry, doubling up to MaxBackoff
	// (defaults 1s and 30s).
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Timeout bounds one attempt (default 10s) when Client is nil.
	Timeout time.Duration
	Client  *http.Client
}

// WebhookDelivery is the record of one event's delivery.
type WebhookDelivery struct {
	Seq            int64 // emission order, from 1
	Event          string
	ConversationID int64
	Body           []byte // exactly the bytes sent and signed
	Signature      string
	Attempts       int
	StatusCode     int    // of the last attempt; 0 on a transport error
	Err            string // last transport error
	Delivered      bool   // a 2xx was received
	Dropped        bool   // discarded by WebhookDropProbability
	Duplicate      bool   // the extra copy sent by WebhookDuplicateProbability
	Reordered      bool   // held back and sent after the next event
}

type hookEvent struct {
	seq    int64
	event  string
	convID int64
	body   []byte
	dup    bool
	reord  bool
}

type webhookQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	opts   WebhookOptions
	queue  []*hookEvent
	held   *hookEvent
	busy   bool
	paused bool
	closed bool
	seq    int64
	log    []WebhookDelivery
	rnd    *mrand.Rand

	drop, dup, reorder float64

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

func newWebhookQueue(o WebhookOptions, seed int64) *webhookQueue {
	q := &webhookQueue{
		opts: normalizeWebhook(o),
		rnd:  mrand.New(mrand.NewPCG(uint64(seed), 0xda3e39cb94b95bdb)),
	}
	q.cond = sync.NewCond(&q.mu)
	q.ctx, q.cancel = context.WithCancel(context.Background())
	q.wg.Add(1)
	go q.run()
	return q
}

func normalizeWebhook(o WebhookOptions) WebhookOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	o.Events = slices.Clone(o.Events)
	return o
}

// SetWebhook replaces the webhook settings (for example once the receiver's
// address is known). Events already queued go to the new URL.
func (s *Server) SetWebhook(o WebhookOptions) {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	q.opts = normalizeWebhook(o)
}

// PauseWebhooks holds deliveries in the queue until ResumeWebhooks, so a
// test can line up a burst (and see reordering) deterministically.
func (s *Server) PauseWebhooks() {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.paused = true
}

// ResumeWebhooks lets the worker deliver again.
func (s *Server) ResumeWebhooks() {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.paused = false
	s.hooks.cond.Broadcast()
}

// WaitWebhooks blocks until every emitted event has been delivered, given
// up on or dropped, or ctx ends.
func (s *Server) WaitWebhooks(ctx context.Context) error {
	q := s.hooks
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) > 0 || q.held != nil || q.busy {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("wait for webhook deliveries: %w", err)
		}
		if q.closed {
			return errors.New("wait for webhook deliveries: server closed")
		}
		q.cond.Wait()
	}
	return nil
}

// WebhookDeliveries returns the finished deliveries in the order they
// finished.
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	q := s.hooks
	q.mu.Lock()
	defer q.mu.Unlock()
	out := slices.Clone(q.log)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
	}
	return out
}

// SendTestEvent queues a helpscout.test event, as the "test" button of the
// Help Scout webhook settings does. Its body is not documented; the fake
// sends {}.
func (s *Server) SendTestEvent() {
	s.hooks.enqueue(EventTest, 0, []byte("{}"))
}

// emit queues a webhook for a conversation change; s.mu is held so that
// events are queued in the order the changes happened.
func (s *Server) emit(event string, c *Conversation) {
	// The app's webhooks cover what its user can open: a mailbox taken
	// from it (RevokeMailbox) sends none.
	if s.quiet > 0 || !s.hooks.wants(event) || s.revoked[c.MailboxID] {
		return
	}
	body := encode(s.renderConversation(c, s.opts.BaseURL, false, s.clock()))
	s.hooks.enqueue(event, c.ID, body)
}

func (s *Server) emitBody(event string, convID int64, body []byte) {
	if s.quiet > 0 || !s.hooks.wants(event) {
		return
	}
	s.hooks.enqueue(event, convID, body)
}

func (q *webhookQueue) wants(event string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.opts.URL == "" || q.opts.Secret == "" {
		return false
	}
	return q.opts.Events == nil || slices.Contains(q.opts.Events, event)
}

func (q *webhookQueue) enqueue(event string, convID int64, body []byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.seq++
	q.queue = append(q.queue, &hookEvent{seq: q.seq, event: event, convID: convID, body: body})
	q.cond.Broadcast()
}

func (q *webhookQueue) setChaos(drop, dup, reorder float64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.drop, q.dup, q.reorder = drop, dup, reorder
}

func (q *webhookQueue) close() {
	q.once.Do(func() {
		q.mu.Lock()
		q.closed = true
		q.cond.Broadcast()
		q.mu.Unlock()
		q.cancel()
		q.wg.Wait()
	})
}

// run delivers events one at a time, in order, applying the chaos faults.
func (q *webhookQueue) run() {
	defer q.wg.Done()
	for {
		q.mu.Lock()
		for !q.closed && (q.paused || (len(q.queue) == 0 && q.held == nil)) {
			q.cond.Wait()
		}
		if q.closed {
			q.mu.Unlock()
			return
		}
		var batch []*hookEvent
		if len(q.queue) == 0 {
			batch, q.held = []*hookEvent{q.held}, nil
		} else {
			ev := q.queue[0]
			q.queue = q.queue[1:]
			if q.drop > 0 && q.rnd.Float64() < q.drop {
				q.log = append(q.log, WebhookDelivery{Seq: ev.seq, Event: ev.event, ConversationID: ev.convID, Body: ev.body, Dropped: true})
				q.cond.Broadcast()
				q.mu.Unlock()
				continue
			}
			if q.held == nil && q.reorder > 0 && q.rnd.Float64() < q.reorder {
				ev.reord = true
				q.held = ev
				q.mu.Unlock()
				continue
			}
			batch = append(batch, ev)
			if q.dup > 0 && q.rnd.Float64() < q.dup {
				cp := *ev
				cp.dup = true
				batch = append(batch, &cp)
			}
			if q.held != nil {
				batch, q.held = append(batch, q.held), nil
			}
		}
		q.busy = true
		opts := q.opts
		q.mu.Unlock()

		for _, ev := range batch {
			d := q.deliver(opts, ev)
			q.mu.Lock()
			q.log = append(q.log, d)
			q.mu.Unlock()
		}
		q.mu.Lock()
		q.busy = false
		q.cond.Broadcast()
		q.mu.Unlock()
	}
}

// Sign returns base64(HMAC-SHA1(secret, body)), Help Scout's
// X-HelpScout-Signature.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func (q *webhookQueue) deliver(o WebhookOptions, ev *hookEvent) WebhookDelivery {
	d := WebhookDelivery{
		Seq: ev.seq, Event: ev.event, ConversationID: ev.convID, Body: ev.body,
		Signature: Sign(o.Secret, ev.body), Duplicate: ev.dup, Reordered: ev.reord,
	}
	wait := o.Backoff
	for d.Attempts < o.MaxAttempts {
		d.Attempts++
		d.StatusCode, d.Err = 0, ""
		req, err := http.NewRequestWithContext(q.ctx, http.MethodPost, o.URL, bytes.NewReader(ev.body))
		if err != nil {
			d.Err = err.Error()
			return d
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "HelpScout-Webhooks (queuewrangler fake)")
		req.Header.Set("X-HelpScout-Event", ev.event)
		req.Header.Set("X-HelpScout-Signature", d.Signature)
		resp, err := o.Client.Do(req)
		if err != nil {
			d.Err = err.Error()
		} else {
			d.StatusCode = resp.StatusCode
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				d.Delivered = true
				return d
			}
		}
		if d.Attempts == o.MaxAttempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-q.ctx.Done():
			t.Stop()
			return d
		case <-t.C:
		}
		wait = min(2*wait, o.MaxBackoff)
	}
	return d
}
