// Package helpscout is a client for the Help Scout Mailbox API 2.0 and the
// verifier for Help Scout webhooks.
//
// The shape follows google/go-github: a Client with one small service per
// API area (Conversations, Threads, Users, Teams, Mailboxes), NewRequest and
// Do for anything not wrapped, a Response that carries the page and rate
// facts, typed errors built in one place (CheckResponse), and iter.Seq2
// iterators that walk every page.
//
// What it covers: listing and reading conversations (with threads), their
// threads, users and their availability, teams and members, mailboxes and
// folders; the writes queuewrangler makes (assign, unassign, status,
// notes); an inbox's routing (GET and PUT /v2/mailboxes/{id}/routing,
// MailboxesService.GetRouting and UpdateRouting); and webhook signatures.
//
// What it must not do:
//
//   - It never logs and never retries. Authentication (OAuth2 client
//     credentials), retries and pacing are http.RoundTrippers that main wires
//     into the *http.Client given to NewClient; a 429 comes back as a
//     *RateLimitError so the retry layer can honour RetryAfter.
//   - It imports nothing outside the standard library, and nothing else from
//     this module: the mirror and the fake (helpscouttest) build on it.
//   - It never follows a redirect on its own. A merged conversation answers
//     GET with 301 and a Location; ConversationsService.Get follows it to the
//     same base URL and reports the merge in Response.MergedFrom, so the
//     bearer token is never sent to a host named by a server.
//   - Error strings never carry secrets: no tokens, no Authorization header,
//     no query strings.
//
// Wire types use plain fields, not pointers: a field Help Scout leaves out
// decodes to its zero value (an unassigned conversation has Assignee.ID == 0,
// closedBy 0 means nobody closed it). IDs are int64 because real ids exceed
// 2^31. Timestamps decode through Time, always in UTC at second precision.
package helpscout
