// Package mirror keeps the SQLite mirror equal to Help Scout.
//
// Polling is the source of truth: SyncOnce walks conversations sorted by
// modification time from a stored cursor (minus an overlap, because Help
// Scout does not say whether modifiedSince is inclusive), commits each page
// together with the cursor it reached, and so resumes after a crash from
// where it stopped rather than from zero. After a quiet spell the next poll
// starts an overlap before the server time (Date) at which the last complete
// walk began instead, so that an idle poll costs one request rather than a
// re-read of the last activity. Webhooks are low-latency hints: the HTTP
// edge stores them raw, and ProcessInbox applies them under the store's
// never-regress rule, so duplicates and reordering are harmless.
// A periodic reconcile of the open set removes conversations that vanished
// (deleted or merged) without a webhook.
//
// The mirror also turns newly seen first replies and resolutions into
// histogram observations, once per conversation, recorded in SQLite before
// they are observed so a restart never counts one twice.
//
// It does not decide anything about balancing and never writes to Help
// Scout.
package mirror
