package outbound

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// attemptLimit bounds one attempt on the wire: request, headers and body.
const attemptLimit = 60 * time.Second

// attemptTimeout bounds one attempt from sending the request to closing its
// body (wholeBody reads the body within it), so a stalled server fails the
// attempt and retryablehttp tries again. An http.Client Timeout above the
// budget would count the wait for the budget too, and after a burst that
// wait alone is a minute: the attempt would fail without being sent.
type attemptTimeout struct {
	next http.RoundTripper
	d    time.Duration
}

func (a attemptTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), a.d)
	resp, err := a.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// maxResponseBody bounds what one response may hold in memory.
const maxResponseBody = 32 << 20

// wholeBody reads each response body completely before the retry layer sees
// it, so a body cut short in transit becomes a transport error that is
// retried instead of a JSON error surfacing in the caller. An error answer
// is redacted of known secrets before helpscout copies it into an error.
type wholeBody struct {
	next http.RoundTripper
	red  *redactor
}

func (w wholeBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	resp.Body.Close()
	if err != nil {
		return nil, &truncatedError{err: err}
	}
	body := string(data)
	if resp.StatusCode >= 400 && w.red != nil {
		body = w.red.redact(body)
	}
	resp.Body = io.NopCloser(strings.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

type truncatedError struct{ err error }

func (e *truncatedError) Error() string { return "read response body: " + e.err.Error() }
func (e *truncatedError) Unwrap() error { return e.err }
