package main

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// freePortOutsideEphemeralRange finds a free loopback port for a test that
// cannot hold a listener open until it is used: a daemon that binds it
// again after every restart, a Prometheus process that binds it itself, a
// Help Scout address nothing may answer on. A port from the kernel's
// ephemeral range, which a bind to port 0 hands out, can be taken between
// the check and the use by any test binding port 0 (every httptest server
// and daemon of the packages tested beside this one) or by an outgoing
// connection; so it is drawn from below that range, where only an explicit
// bind takes it.
func freePortOutsideEphemeralRange(t testing.TB) string {
	t.Helper()
	low := 32768 // Linux's default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	for range 100 {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(10000+rand.IntN(low-10000)))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatalf("no free port between 10000 and %d in 100 tries", low)
	return ""
}
