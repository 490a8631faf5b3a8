package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// ProbeURL is the /readyz URL a probe on the same host dials for a daemon
// listening on listenAddr: a wildcard host (":8080", "0.0.0.0:8080",
// "[::]:8080") is reached on loopback.
func ProbeURL(listenAddr string) (string, error) {
	host, port, err := net.SplitHostPort(listenAddr)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", listenAddr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// Probe asks the daemon at listenAddr whether it is ready, as a container
// engine's health check does, giving up after timeout: nil when /readyz
// answers 200, else an error carrying /readyz's reason or why it could not
// be asked.
func Probe(ctx context.Context, client *http.Client, listenAddr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url, err := ProbeURL(listenAddr)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probe %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var body struct{ Reason string }
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	if body.Reason == "" {
		return fmt.Errorf("probe %s: HTTP %d", url, resp.StatusCode)
	}
	return fmt.Errorf("not ready (HTTP %d): %s", resp.StatusCode, body.Reason)
}
