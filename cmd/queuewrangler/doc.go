// Command queuewrangler is the one binary: the daemon (serve), the check
// of its configuration (check) and its one-shot tools (sync, plan) in
// daemon.go; the commands on simulated accounts (demo, fake-helpscout,
// simulate) in simulated.go; the command table, configuration and shared
// wiring in main.go. internal/cli runs the table: help, flags, exit codes.
//
// This is the only package that wires things together. It alone reads the
// configuration, builds the outbound chain, opens the store and starts the
// daemon's long-lived goroutines; every other package takes plain values,
// and what a command does lives in the packages it wires.
package main
