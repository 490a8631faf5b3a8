package metrics

import _ "embed"

// Dashboard is the Grafana dashboard, provisioning-ready JSON.
//
//go:embed dashboards/queuewrangler.json
var Dashboard []byte

// AlertRules is the Prometheus rule file.
//
//go:embed alerts.yml
var AlertRules []byte
