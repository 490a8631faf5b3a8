// Package metrics is queuewrangler's Prometheus surface: the catalog of
// instruments whose names are a contract with dashboards (the README's
// Metrics section), the scrape-time collector of current state, and the Grafana dashboard
// and alert rules shipped as embedded files.
//
// It depends on client_golang and the standard library only. It never owns
// a global registry: main makes one (NewRegistry) and passes it in. Labels
// stay bounded: mailbox and agent ids, never conversation ids or emails.
package metrics
