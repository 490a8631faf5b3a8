package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOfficeHoursProblemsReportedWithTheOthers: QW_OFFICE_HOURS is the
// roster's syntax, checked in main, and its problem lands in the one list
// beside config's own (exit code 2).
func TestOfficeHoursProblemsReportedWithTheOthers(t *testing.T) {
	for _, command := range []string{"serve", "sync", "plan"} {
		t.Run(command, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("QW_OFFICE_HOURS", "Mon-Fri 09:00-17:00")
			t.Setenv("QW_OFFICE_FIRST_RESPONSE_TARGET", "soon")
			t.Setenv("QW_LOG_FORMAT", "xml")
			code, _, stderr := runMain(t, command)
			if code != exitUsage {
				t.Fatalf("exit code %d, want %d; stderr %s", code, exitUsage, stderr)
			}
			for _, want := range []string{
				`QW_OFFICE_HOURS: "Mon-Fri 09:00-17:00" ends without a time zone`,
				`QW_OFFICE_FIRST_RESPONSE_TARGET: "soon" is not a duration`,
				"QW_LOG_FORMAT",
			} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// TestOfficeHoursMetricsOnlyWhenSet: with QW_OFFICE_HOURS the daemon
// exports the office-hours histograms, fed by the first sync, and the
// target the alert compares with, and the queue page keeps its zone's
// time; without it, none of the series, and the page says it keeps UTC.
func TestOfficeHoursMetricsOnlyWhenSet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon against a seeded fake")
	}
	scrape := func(t *testing.T, overrides map[string]string, pageSays string) string {
		t.Helper()
		_, _, apiURL := promFake(t)
		addr := startDaemon(t, apiURL, io.Discard, overrides)
		resp, err := http.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if page, _ := io.ReadAll(resp.Body); !strings.Contains(string(page), pageSays) {
			t.Errorf("the queue page does not say %q", pageSays)
		}
		return scrapeMetrics(t, addr)
	}
	office := []string{
		"# TYPE helpscout_first_response_office_seconds histogram\n",
		"# TYPE helpscout_resolution_office_seconds histogram\n",
		"queuewrangler_office_first_response_target_seconds 5400\n",
	}
	t.Run("set", func(t *testing.T) {
		text := scrape(t, map[string]string{"QW_OFFICE_HOURS": "Mon-Sun 00:00-24:00 Europe/Berlin", "QW_OFFICE_FIRST_RESPONSE_TARGET": "90m"},
			"Times in Europe/Berlin")
		for _, want := range office {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
	t.Run("unset", func(t *testing.T) {
		text := scrape(t, map[string]string{"QW_OFFICE_HOURS": "", "QW_OFFICE_FIRST_RESPONSE_TARGET": "90m"}, "Times in UTC")
		if strings.Contains(text, "_office_") {
			t.Errorf("/metrics exports office-hours series without QW_OFFICE_HOURS")
		}
	})
}
