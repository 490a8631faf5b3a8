package outbound

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// tokenTransport adds the bearer token. Help Scout signals an expired token
// only with a 401 (the lifetime has changed over the years), so a 401 drops
// the cached token, fetches a new one and repeats the request once.
type tokenTransport struct {
	next  http.RoundTripper
	fetch func(context.Context) (*oauth2.Token, error)

	mu    sync.Mutex
	token *oauth2.Token
	// renewAt is when the cached token is replaced before it expires.
	renewAt time.Time
}

// tokenRenewMargin is how long before its expiry a token is replaced, so a
// request does not leave with a token that expires on the way.
const tokenRenewMargin = 10 * time.Second

// renewTime is when to replace a token fetched at fetched. oauth2.Token's
// own Valid keeps a fixed 10 s margin, which makes a token that lives 10 s
// or less look expired at once and costs a token request per API call; a
// short-lived token is used for the first half of its life instead.
func renewTime(tok *oauth2.Token, fetched time.Time) time.Time {
	if tok.Expiry.IsZero() {
		return time.Time{} // never expires by the clock; a 401 replaces it
	}
	margin := min(tokenRenewMargin, tok.Expiry.Sub(fetched)/2)
	return tok.Expiry.Add(-max(margin, 0))
}

func (t *tokenTransport) current(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != nil && t.token.AccessToken != "" && (t.renewAt.IsZero() || time.Now().Before(t.renewAt)) {
		return t.token, nil
	}
	fetched := time.Now()
	tok, err := t.fetch(ctx)
	if err != nil {
		return nil, err
	}
	t.token, t.renewAt = tok, renewTime(tok, fetched)
	return tok, nil
}

// drop forgets tok unless another request has already replaced it.
func (t *tokenTransport) drop(tok *oauth2.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token = nil
	}
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.current(req.Context())
	if err != nil {
		return nil, err
	}
	resp, err := t.send(req, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil // cannot replay the body; let the caller see the 401
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	t.drop(tok)
	if tok, err = t.current(req.Context()); err != nil {
		return nil, err
	}
	return t.send(req, tok)
}

func (t *tokenTransport) send(req *http.Request, tok *oauth2.Token) (*http.Response, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return t.next.RoundTrip(r)
}

// CredentialsError is the token endpoint refusing the app's credentials,
// said as what to fix. oauth2's own text (`oauth2: "invalid_client" ...`)
// names neither variable, so it follows the sentence as detail (already
// redacted); the *oauth2.RetrieveError stays in the chain for errors.As.
type CredentialsError struct {
	Code int // the token endpoint's HTTP status
	err  error
}

func (e *CredentialsError) Error() string {
	return fmt.Sprintf("Help Scout refused the app's credentials (HTTP %d from %s): check QW_HELPSCOUT_CLIENT_ID and QW_HELPSCOUT_CLIENT_SECRET (%v)", e.Code, tokenPath, e.err)
}

func (e *CredentialsError) Unwrap() error { return e.err }

// refusedCredentials turns a 400, 401 or 403 from the token endpoint into
// a *CredentialsError and returns any other error as it is.
func refusedCredentials(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return err
	}
	switch code := re.Response.StatusCode; code {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden:
		return &CredentialsError{Code: code, err: err}
	}
	return err
}
