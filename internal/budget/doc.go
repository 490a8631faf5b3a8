// Package budget paces outbound Help Scout requests to a per-minute budget.
//
// Help Scout's rate limit is shared by every integration on an account and
// writes count double, so queuewrangler spends only the part the operator
// gives it (QW_RATE_LIMIT_PER_MINUTE). The limiter is a sliding window: in
// any 60-second span the cost sent never exceeds the budget, which also keeps
// every fixed minute Help Scout may count within it.
//
// The operator's share is a ceiling, not a promise: after each response the
// limiter takes Help Scout's X-RateLimit-Remaining-Minute when it is lower
// than the whole budget, because other integrations may have spent the
// rest (helpscout-api.md section 2). It holds it until Help Scout's minute
// refreshes: when the response says when (X-RateLimit-Retry-After,
// documented on a 429 only), else for a minute, or until the response to a
// request sent later says more is left. Responses to requests in flight
// together arrive in any order; for a window after a figure is taken, one
// from a request sent earlier changes nothing: lower, it is most likely
// from the minute before a reset. A figure counts what the
// server had seen when it answered, so what was sent after its request
// comes off it.
//
// It does not retry; retrying a 429 after the server's Retry-After belongs
// to the retry layer above it. The budget only keeps the other requests
// from meeting the same 429 until then.
package budget
