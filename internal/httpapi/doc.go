// Package httpapi is queuewrangler's one inbound HTTP surface (the README's
// HTTP surface): Help Scout webhooks, health and readiness, /metrics, the
// Grafana dashboard and alert rules files (handed in as bytes), the JSON
// API, and the SSTs' queue page (server-rendered, no JavaScript, login with
// the admin token into a session cookie, CSRF-checked forms). Every route
// is registered here; main adds none.
//
// The daemon listens before it can serve: Gate answers health and
// readiness (with the reason) while the database cannot be opened, and
// hands over to the full Server once it is built. NewHTTPServer is the one
// set of bounds (header, read, write and idle timeouts, header size) every
// listener of the binary serves with, and Serve the one loop that serves
// until its context ends and then shuts down gracefully.
//
// It talks to the rest of the daemon only through the small interfaces it
// declares (an inbox to store webhook events in, a readiness probe, the
// time of the queue the mirror holds), so it
// can be tested without a database or Help Scout. Errors leave as JSON
// {"error": "..."} with no internal detail; the detail goes to the log.
//
// With AllowedHosts set, every route but health and readiness answers 421
// to another Host (DNS rebinding). The admin token is compared as sent, in
// constant time, and the right one always gets in: wrong ones are only
// slowed and answered 429 past a limit per address, because behind a proxy
// everyone shares one address and a lockout would lock the SSTs out.
//
// A webhook is acknowledged only after its raw bytes are stored durably:
// Help Scout does not document its retries, so an event must never depend
// on being delivered twice.
//
// Probe is the one outgoing call: the healthcheck command's request to
// /readyz, kept beside the route whose answer it reads so that the two
// cannot drift apart.
package httpapi
