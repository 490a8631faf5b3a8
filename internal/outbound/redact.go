package outbound

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"

	"golang.org/x/oauth2"
)

// redacted replaces a secret in every text that leaves the chain.
const redacted = "[redacted]"

// keptTokens is how many of the latest access tokens are redacted: the
// current one and a few before it, which requests in flight may still carry.
const keptTokens = 4

// redactor removes secrets, by value, from the errors the chain returns and
// the lines it logs. Scrubbing by key is not enough: a token endpoint or a
// proxy that echoes the request in its error puts the client secret in the
// error text, and oauth2 copies that text into the error it returns.
type redactor struct {
	mu     sync.RWMutex
	fixed  []string // the configured secrets, and their form encodings
	issued []string // the latest access tokens, oldest first
}

func newRedactor(secrets ...string) *redactor {
	r := &redactor{}
	for _, s := range secrets {
		r.fixed = appendForms(r.fixed, s)
	}
	return r
}

// appendForms adds s as it is and as a form or query encodes it: the
// client secret travels form-encoded, and an echo repeats it that way.
func appendForms(list []string, s string) []string {
	if s == "" {
		return list
	}
	list = append(list, s)
	if q := url.QueryEscape(s); q != s {
		list = append(list, q)
	}
	return list
}

// issuedToken adds a freshly issued access token.
func (r *redactor) issuedToken(tok *oauth2.Token) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range []string{tok.AccessToken, tok.RefreshToken} {
		if s != "" && !slices.Contains(r.issued, s) {
			r.issued = append(r.issued, s)
		}
	}
	if n := len(r.issued); n > keptTokens {
		r.issued = slices.Delete(r.issued, 0, n-keptTokens)
	}
}

// redact returns text with every known secret replaced.
func (r *redactor) redact(text string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, list := range [][]string{r.fixed, r.issued} {
		for _, s := range list {
			text = strings.ReplaceAll(text, s, redacted)
		}
	}
	return text
}

// error returns err with a message free of secrets. It still unwraps to
// err, so callers keep matching its type (helpscout's typed errors, the
// token endpoint's *oauth2.RetrieveError); the body of such a token error
// is scrubbed in place, so that nothing reached through it holds the
// secret either.
func (r *redactor) error(err error) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		re.Body = []byte(r.redact(string(re.Body)))
		re.ErrorCode = r.redact(re.ErrorCode)
		re.ErrorDescription = r.redact(re.ErrorDescription)
		re.ErrorURI = r.redact(re.ErrorURI)
	}
	msg := err.Error()
	if clean := r.redact(msg); clean != msg {
		return &redactedError{msg: clean, err: err}
	}
	return err
}

// redactedError is an error whose text had a secret in it.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
