// Command queuewrangler is the one binary: the daemon (serve), its one-shot
// tools (sync, plan), the fake Help Scout account (fake-helpscout), the
// offline comparison (simulate) and the demo.
//
// This is the only package that wires things together. It alone reads the
// configuration, builds the outbound HTTP chain (internal/outbound) from it,
// opens the store and starts long-lived goroutines; every other package
// takes plain values. It parses flags, loads the configuration and wires;
// what a command does lives in the packages it wires.
package main
