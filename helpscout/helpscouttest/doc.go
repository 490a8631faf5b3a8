// Package helpscouttest is an in-memory fake of Help Scout's Mailbox API
// 2.0, faithful enough that the queuewrangler client, mirror and daemon can
// be tested, demonstrated and benchmarked against it instead of a real
// account. It is used by every test, by `queuewrangler demo` and by
// `queuewrangler fake-helpscout`.
//
// It must not import the helpscout client package: it has its own wire
// structs, JSON encoding and HMAC-SHA1 signing, written from the recorded
// payloads in shared/helpscout-samples and docs/helpscout-api.md, so that
// the client's decoding is tested against an independent implementation.
// It uses the standard library only.
//
// # What it models
//
//   - POST /v2/oauth2/token, client credentials only, form-urlencoded body
//     or HTTP Basic client auth. A JSON body is a 400 (as the live API does
//     per helpscout-api.md, although a 2019 recording shows JSON accepted).
//     Tokens expire after Options.TokenTTL (48 h) of wall-clock time, or at
//     once with ExpireTokens. Wrong credentials are a 401 OAuth error.
//   - The bearer check of the gateway: a missing, unknown or expired token is
//     401 {"error":"invalid_token",...} with the recorded Www-Authenticate
//     header. Like the recording, such 401s carry no Correlation-Id and no
//     X-RateLimit-* headers and do not consume rate budget.
//   - GET /v2/conversations (status default active; all, open = active and
//     pending; mailbox, folder, tag, assigned_to, number, modifiedSince,
//     sortField, sortOrder default desc, embed=threads, page), GET and PATCH
//     /v2/conversations/{id}, GET /v2/conversations/{id}/threads, POST
//     /v2/conversations/{id}/notes, GET /v2/users (teams mixed in with type
//     "team"), /v2/users/me, /v2/users/{id}, /v2/users/status,
//     /v2/users/{id}/status, /v2/teams, /v2/teams/{id}/members,
//     /v2/mailboxes, /v2/mailboxes/{id}, /v2/mailboxes/{id}/folders, and
//     GET and PUT /v2/mailboxes/{id}/routing. Trailing slashes are
//     accepted, as the real _links use them.
//   - HAL pages of 25 conversations and 50 of everything else, 1-based
//     page.number, _links self/first/last/next/previous/page, _embedded
//     omitted on an empty page (Options.EmptyEmbedded keeps it, as one 2020
//     recording does). Sorting always breaks ties by id, so paging an
//     unchanged account never duplicates or skips.
//   - modifiedSince: conversations whose internal ModifiedAt is >= the given
//     second (inclusive; the real API's choice is unconfirmed). ModifiedAt
//     moves on every change, drafts included; it is never served, as the
//     real conversation object has no modifiedAt. Only the exact form
//     2006-01-02T15:04:05Z is accepted; fractional seconds are a 400.
//   - Payload quirks from the recordings: optional keys absent rather than
//     null (no "assignee" when unassigned, no "closedAt" unless closed),
//     "closedBy": 0 on never-closed conversations (with a _links.closedBy to
//     /v2/users/0), thread "assignedTo" without "type", thread "status" equal
//     to the conversation status after the thread (the recordings show
//     "active" on notes, not the documented "nochange"), customerWaitingSince
//     without latestReplyFrom, conversation ids crossing 2^31 and thread ids
//     crossing 2^32, timestamps with second precision.
//   - JSON-patch PATCH with a single operation object: replace/remove
//     /assignTo (users only; an unknown or team id is a 400), replace /status,
//     replace /subject, move /mailboxId; 204. Assignment and status changes
//     add a lineitem thread and move userUpdatedAt, as the UI does.
//   - Notes: 201 with Resource-ID and Location; 412 once a conversation has
//     MaxThreads threads. Merged conversations answer GET with 301 to the
//     survivor and 404 elsewhere; deleted ones 404.
//   - A mailbox taken away (RemoveMailbox: deleted, or the app's user
//     losing access to it) leaves GET /v2/mailboxes and answers 404, and so
//     does a conversation or user listing naming it or any mailbox the
//     account does not have (unconfirmed: the reading a client must
//     survive); its conversations go with it, without webhooks. The other
//     reading of lost access (RevokeMailbox, GrantMailbox to undo it): the
//     mailbox leaves GET /v2/mailboxes, and it, a listing naming it and
//     each of its conversations answer 403; its conversations stay, left
//     out of unfiltered listings and webhooks.
//   - Inbox routing (helpscout-api.md section 15), stored per mailbox. A
//     new mailbox has routing disabled and never configured: GET serves
//     "state":"disabled", "userIds":[] and no assignmentLimit or
//     assignmentMethod (documented only for enabled routing); once a PUT
//     set them they are served whatever the state. rotation[] lists the
//     rotation's users in its order, then everyone else who can open the
//     mailbox by id (teams never), each with conversationsCount (active
//     conversations assigned to them in this mailbox), eligible, and a
//     reason when not: not_in_rotation, else away, else at_capacity (count
//     at or above the limit); a disabled configuration is judged by its
//     stored users and limit. PUT takes all four keys (a missing or null
//     one is "may not be null"), a limit of 1-100, round_robin or
//     balanced, at least one user when enabled, and user ids only (a team
//     or unknown id is "Invalid user"); every broken rule is listed in one
//     400 in the validation shape; repeated ids are dropped; 204 replaces
//     the whole configuration, with no version check. PUT is a write (costs
//     2). SetRoutingPermission makes the app's user lack "Inbox: Manage
//     Routing" (403 "Access denied" on GET and PUT, or on PUT only);
//     SetRouting is an admin's edit in the UI (validated the same way, not
//     API traffic); RoutingPuts records every PUT received.
//   - Routing assigns: in an inbox with routing enabled, a customer's new
//     active conversation created through the state API without an
//     assignee goes to the next eligible user (Round Robin: alphabetical
//     by name after the one routed last; Balanced: fewest active, then
//     least recently routed, then alphabetical), with a lineitem "Routing
//     assigned to ..." by the token owner and convo.assigned after
//     convo.created. With nobody eligible it stays in the Unassigned
//     folder. Agent-started conversations, those created with an assignee
//     (manual or Workflow assignments, which routing ignores) or in
//     another status are left alone. Whether Help Scout then drains the
//     folder when someone becomes eligible again is unknown
//     (helpscout-api.md section 14, question 7): Options.RoutingDrainsBacklog
//     (off by default, the pessimistic reading) assigns it, oldest first,
//     after any change that adds someone to an inbox's eligible set.
//   - Rate limiting per fixed wall-clock minute with the real headers, writes
//     costing 2, 429 {"message":"API rate limit exceeded"} with
//     X-RateLimit-Retry-After; Correlation-Id on every API response.
//   - Faults (SetFaults): 5xx, deterministic FailNext, 429 storms, delays,
//     truncated bodies; webhook drop, duplicate and reorder.
//   - Signed webhooks (X-HelpScout-Event, X-HelpScout-Signature =
//     base64(HMAC-SHA1(secret, body))) for conversation changes, delivered in
//     order by one background worker with bounded retries and backoff. The
//     body is the v2 conversation object without _embedded threads (whether
//     the real one embeds them is unconfirmed), {"id":N} for convo.deleted.
//   - A state API (AddUser, CreateConversation, AddAgentReply, Assign,
//     SetStatus, Merge, Delete, RemoveMailbox, RevokeMailbox, SetRouting,
//     ...) that the simulation and tests use to change the account without
//     counting as API traffic,
//     snapshot getters returning deep copies, request counters and a record
//     of PATCHes, notes and routing PUTs received; and Seed, a
//     deterministic account generator.
//
// Data timestamps, and the Date header of every response, come from
// Options.Clock (the simulation accelerates it); token expiry and the
// rate-limit window use Options.WallClock (real time).
//
// # What it does not model
//
// Customers endpoints, tags, custom fields, workflows, reports,
// attachments, webhooks management (/v2/webhooks), reply and conversation
// creation over HTTP, the advanced search `query` parameter (a 400 here),
// v3 endpoints, system users, snooze and scheduled threads, per-user
// mailbox permissions (everyone sees every mailbox), authorization-code and
// refresh-token grants, Help Scout's built-in reassignment of an away
// user's conversations (/v2/users/{id}/conversation-reassignment), teams
// in a routing rotation, webhook deactivation, and lineitem action.type
// values (they are undocumented; the fake uses "default", and "merged" for
// merges).
package helpscouttest
