package httpapi

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startHardenedServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewHTTPServer(New(Options{}), slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestSlowLorisDoesNotStarveOthers opens many connections that trickle
// their headers and never finish, and checks that an ordinary client is
// still served and that the server drops the slow ones.
func TestSlowLorisDoesNotStarveOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the header timeout")
	}
	addr := startHardenedServer(t)
	var slow []net.Conn
	for range 200 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		slow = append(slow, c)
	}
	defer func() {
		for _, c := range slow {
			c.Close()
		}
	}()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("an ordinary client was not served while 200 slow connections were open: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
	// After ReadHeaderTimeout the server closes the slow connections.
	c := slow[0]
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the server kept a slow-loris connection open past its header timeout")
			}
			break // closed by the server (EOF or reset), possibly after a 408
		}
	}
}

func TestOversizedHeadersAndNoVersionDisclosure(t *testing.T) {
	addr := startHardenedServer(t)
	req, _ := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 128<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("128 KiB of headers: status %d, want 431", resp.StatusCode)
	}
	resp, err = http.Get("http://" + addr + "/nope")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if s := resp.Header.Get("Server"); s != "" {
		t.Errorf("Server header %q identifies the software", s)
	}
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(string(body), `{"error":`) {
		t.Errorf("unknown path: %d %s, want a JSON 404", resp.StatusCode, body)
	}
}
