// Package outbound is the HTTP chain every request to Help Scout takes, from
// outside in: retries (retryablehttp, waiting what X-RateLimit-Retry-After
// says after a 429, and passing the final error through so that helpscout
// builds its typed errors), the OAuth2 client-credentials token (a 401
// fetches a new token once and repeats the request), the client-side rate
// budget (every attempt counts, writes count 2), instrumentation, and a
// per-attempt timeout above the default transport.
//
// Failures watches every attempt on the wire: it keeps the latest cause
// for /readyz and says failures in the log at a readable volume (the first
// of a spell, then a count a minute while they come and go, then the end),
// and warns once when a run of 429s holds calls back for long.
//
// The helpscout client never retries and never authenticates: it takes the
// *http.Client this package builds. main passes the configuration in as
// plain values (Options), so tests build the same chain against the fake
// Help Scout.
//
// # What it must not do
//
// It is the only package that imports golang.org/x/oauth2 and
// github.com/hashicorp/go-retryablehttp. It never logs a secret: the client
// secret goes only into the token request's body, access tokens only into
// the Authorization header, and retry log lines keep only keys that cannot
// carry either (scrub). Because a server may echo a request in its error
// (a token endpoint repeating the form, client secret included), every
// error leaving the chain, every retry log line and every error body is
// also redacted by value: the client secret, the latest access tokens, and
// the secrets main lists in Options.Redact. It never follows a redirect, which would carry the
// token or the client secret to whatever host Location names. It never
// retries a POST after Help Scout may have acted on it (a second note would
// confuse the team); only a 429 is safe to repeat.
package outbound
