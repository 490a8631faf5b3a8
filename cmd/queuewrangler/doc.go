// Command queuewrangler is the one binary: the daemon (serve), its one-shot
// tools (sync, plan), the fake Help Scout account (fake-helpscout), the
// offline comparison (simulate) and the demo.
//
// This is the only package that wires things together. It alone reads the
// configuration, builds the outbound HTTP chain (retryablehttp, OAuth2
// client credentials, instrumentation, the rate budget), opens the store and
// starts long-lived goroutines; every other package takes plain values.
package main
