package helpscouttest

import "net/http"

// Bearer is a transport that sends Token as the bearer on every request,
// standing in for the OAuth2 client-credentials transport main wires: no
// token renewal, no retries, no pacing, so that the fake's counters show
// exactly what the code under test asked for.
type Bearer struct {
	Token string
	Next  http.RoundTripper // nil means http.DefaultTransport
}

// RoundTrip sends a copy of r carrying the token.
func (b Bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.Token)
	next := b.Next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// Client returns an HTTP client authenticated to s with a token s issued
// (IssueToken: no request is counted). Give it to helpscout.NewClient with the
// test server's URL. The token lasts until ExpireTokens or its TTL.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: Bearer{Token: s.IssueToken()}}
}
