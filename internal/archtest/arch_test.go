package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/queuewrangler/queuewrangler"

// rule says which module packages a package may import, and which
// third-party module prefixes. A package missing from the table fails the
// test, so a new package must take a place in the picture.
type rule struct {
	internal   []string
	thirdParty []string
}

var std = rule{}

var rules = map[string]rule{
	"balancer":                std,
	"helpscout":               std,
	"helpscout/helpscouttest": std,
	"metrics":                 {thirdParty: []string{"github.com/prometheus/"}},
	"internal/config":         {thirdParty: []string{"github.com/kelseyhightower/envconfig"}},
	"internal/budget":         std,
	"internal/strictjson":     std,
	"internal/version":        std,
	"internal/store":          {thirdParty: []string{"modernc.org/sqlite"}},
	"internal/roster":         {internal: []string{"balancer", "internal/strictjson"}},
	"internal/mirror":         {internal: []string{"helpscout", "internal/store", "metrics"}},
	"internal/outbound":       {internal: []string{"internal/budget", "metrics"}, thirdParty: []string{"golang.org/x/oauth2", "github.com/hashicorp/go-retryablehttp"}},
	"internal/team":           {internal: []string{"balancer", "internal/roster", "internal/store", "metrics"}},
	"internal/rebalance":      {internal: []string{"balancer", "helpscout", "internal/store", "internal/roster", "internal/team", "metrics"}},
	"internal/notify":         {internal: []string{"balancer", "helpscout", "internal/roster", "internal/store", "internal/team", "metrics"}, thirdParty: []string{"github.com/slack-go/slack"}},
	"internal/httpapi":        {internal: []string{"helpscout", "internal/store", "internal/team", "metrics"}, thirdParty: []string{"github.com/prometheus/"}},
	"internal/backfill":       {internal: []string{"internal/roster", "internal/store", "metrics"}},
	"internal/sim":            {internal: []string{"balancer", "helpscout/helpscouttest", "internal/roster", "internal/store", "internal/strictjson", "internal/team"}},
	"internal/archtest":       std,
	"internal/cli":            {internal: []string{"internal/config"}},
	"cmd/queuewrangler":       {internal: []string{"*"}},

	// Test support, imported only by _test.go files: check refuses any
	// other importer.
	"internal/testkit":         {internal: []string{"internal/store"}},
	"internal/testkit/browser": {internal: []string{"internal/testkit"}, thirdParty: []string{"github.com/chromedp/"}},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestImportDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("go list of the whole module is slow under -short")
	}
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		r, ok := rules[rel]
		if !ok {
			t.Errorf("package %s has no import rule in archtest; add it to the table and to the README's package map", rel)
			continue
		}
		for _, imp := range p.Imports {
			if msg := check(rel, r, imp); msg != "" {
				t.Error(msg)
			}
		}
	}
}

// testSupport reports whether rel is internal/testkit or below it: the
// packages only tests import.
func testSupport(rel string) bool {
	return rel == "internal/testkit" || strings.HasPrefix(rel, "internal/testkit/")
}

// check returns a complaint, or "" when rel may import imp.
func check(rel string, r rule, imp string) string {
	if strings.HasPrefix(imp, module+"/") {
		dep := strings.TrimPrefix(imp, module+"/")
		if dep == "cmd/queuewrangler" {
			return rel + " imports the command"
		}
		if testSupport(dep) && !testSupport(rel) {
			// go list's Imports leaves out the _test.go files: any
			// importer seen here is a package's own code.
			return rel + " imports " + dep + " outside its tests"
		}
		if slices.Contains(r.internal, "*") || slices.Contains(r.internal, dep) {
			return ""
		}
		return rel + " must not import " + dep
	}
	if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
		return "" // the standard library
	}
	for _, prefix := range r.thirdParty {
		if strings.HasPrefix(imp, prefix) {
			return ""
		}
	}
	return rel + " must not import " + imp
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name, rel, imp string
		allowed        bool
	}{
		{"balancer stdlib", "balancer", "sort", true},
		{"balancer imports store", "balancer", module + "/internal/store", false},
		{"helpscout imports oauth2", "helpscout", "golang.org/x/oauth2", false},
		{"fake imports client", "helpscout/helpscouttest", module + "/helpscout", false},
		{"store imports sqlite", "internal/store", "modernc.org/sqlite/lib", true},
		{"mirror imports config", "internal/mirror", module + "/internal/config", false},
		{"cmd imports anything internal", "cmd/queuewrangler", module + "/internal/mirror", true},
		{"outbound imports oauth2", "internal/outbound", "golang.org/x/oauth2/clientcredentials", true},
		{"outbound imports retryablehttp", "internal/outbound", "github.com/hashicorp/go-retryablehttp", true},
		{"cmd imports oauth2", "cmd/queuewrangler", "golang.org/x/oauth2", false},
		{"cmd imports prometheus", "cmd/queuewrangler", "github.com/prometheus/client_golang/prometheus", false},
		{"mirror imports retryablehttp", "internal/mirror", "github.com/hashicorp/go-retryablehttp", false},
		{"outbound imports store", "internal/outbound", module + "/internal/store", false},
		{"nobody imports cmd", "internal/httpapi", module + "/cmd/queuewrangler", false},
		{"sim sees the team, not the rebalancer", "internal/sim", module + "/internal/rebalance", false},
		{"sim imports team", "internal/sim", module + "/internal/team", true},
		{"team sits below the rebalancer", "internal/team", module + "/internal/rebalance", false},
		{"team sits below the http edge", "internal/team", module + "/internal/httpapi", false},
		{"testkit opens stores", "internal/testkit", module + "/internal/store", true},
		{"testkit stays below the fake", "internal/testkit", module + "/helpscout/helpscouttest", false},
		{"only tests import testkit", "internal/mirror", module + "/internal/testkit", false},
		{"not even the command", "cmd/queuewrangler", module + "/internal/testkit", false},
		{"only tests drive the browser", "internal/httpapi", module + "/internal/testkit/browser", false},
		{"the browser harness builds on testkit", "internal/testkit/browser", module + "/internal/testkit", true},
		{"the browser harness alone imports chromedp", "internal/testkit/browser", "github.com/chromedp/chromedp", true},
		{"testkit stays free of chromedp", "internal/testkit", "github.com/chromedp/chromedp", false},
		{"notify alone imports slack-go", "internal/notify", "github.com/slack-go/slack", true},
		{"the rebalancer knows no Slack", "internal/rebalance", "github.com/slack-go/slack", false},
		{"nor the command", "cmd/queuewrangler", "github.com/slack-go/slack", false},
		{"the rebalancer declares the notifier, it does not import it", "internal/rebalance", module + "/internal/notify", false},
		{"notify sits below the rebalancer", "internal/notify", module + "/internal/rebalance", false},
		{"the command line lists the variables", "internal/cli", module + "/internal/config", true},
		{"the command line runs no command itself", "internal/cli", module + "/internal/mirror", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(tt.rel, rules[tt.rel], tt.imp) == ""
			if got != tt.allowed {
				t.Errorf("check(%s -> %s) allowed = %v, want %v", tt.rel, tt.imp, got, tt.allowed)
			}
		})
	}
}
