// Package notify tells the queue wranglers in Slack what needs a person:
// the proposals waiting for their approval (batched, at most one message a
// minute), the stuck tickets no move can help (an SST's, flagged for the
// head of support, and an ST's that no senior can take), and a daily
// digest of yesterday's first response times, moves, the most loaded
// agents and the oldest waiting customer.
//
// Messages are Block Kit, built with slack-go's types, and posted to one
// incoming webhook. Delivery must never slow the balancer or the mirror:
// the producers' calls only append to bounded lists; Run builds the
// messages and hands them to a bounded queue that its own goroutine
// drains, dropping (and counting) what does not fit. Slack's answers are
// read as Slack documents them: 429 waits for Retry-After, 5xx and network
// errors are retried a bounded number of times with backoff, and the
// texts of other 4xx answers (invalid_payload, no_service, ...) are logged
// once per kind and counted in queuewrangler_notifications_total. A digest
// that keeps failing is tried again less and less often, at most an hour
// apart, until any message gets through.
//
// The webhook URL is a credential (its path is the secret): it is never
// logged, never part of an error text, and never shown anywhere.
//
// It must not plan, move or decide anything: it only reports what the
// rebalancer and the mirror already know. It is the only importer of
// slack-go.
package notify
