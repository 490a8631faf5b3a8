// Package backfill writes the history of the support-time histograms from
// the mirror as OpenMetrics text (`queuewrangler backfill`), for Prometheus'
// own importer: promtool tsdb create-blocks-from openmetrics.
//
// # What it writes
//
// helpscout_first_response_seconds{mailbox_id,agent_id} and
// helpscout_resolution_seconds{mailbox_id}, with the office-hours twins
// when office hours are set: the live instruments' names, labels and
// buckets (package metrics), as cumulative histograms sampled at every
// step (one minute by default) from one step before a series' first
// observation to the end of the history. A series must have a sample at
// every step for rate() to see it, as a scraped one has; a series is left
// out before its first observation, as the live one does not exist then
// either. The le values are written as the daemon's /metrics writes them
// ("60", "+Inf"), so that both ranges carry the same label values.
//
// # Exactly what the live histograms did not observe
//
// The mirror marks each first response and resolution once, and records
// which marks were observations and when the daemon began observing live
// (store.LiveSeam). The history is store.History: with a seam, the events
// before it that were marked without an observation; without one (only
// `sync` has run), everything in the mirror, and the daemon's first pass
// then observes nothing the mirror held before it started
// (LiveSeam.HistoryUntil). Either way nothing is counted twice, whatever
// the order of sync, serve and backfill.
//
// # What it must not do
//
// It reads the store and never writes it (main opens the file read-only,
// beside a running daemon), and it holds the history in memory but never
// the output: the text is streamed.
package backfill
