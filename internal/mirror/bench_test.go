package mirror_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// childEnv, when set in the environment, turns the test binary into a fake
// Help Scout serving that many conversations, so that a benchmark can
// measure the mirror's memory without the fake's in the same process.
const childEnv = "QW_MIRROR_FAKE_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		if err := serveFakeChild(v); err != nil {
			fmt.Fprintln(os.Stderr, "fake child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveFakeChild serves n conversations of exactly 3 threads each (the
// customer's message, an assignment, an agent reply) on loopback, prints
// the base URL and serves until stdin closes.
func serveFakeChild(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return err
	}
	fake := helpscouttest.New(helpscouttest.Options{})
	defer fake.Close()
	var mailboxes, agents, customers []int64
	for range 3 {
		mb, err := fake.AddMailbox(helpscouttest.Mailbox{})
		if err != nil {
			return err
		}
		mailboxes = append(mailboxes, mb.ID)
	}
	for range 10 {
		u, err := fake.AddUser(helpscouttest.User{})
		if err != nil {
			return err
		}
		agents = append(agents, u.ID)
	}
	for range 1000 {
		c, err := fake.AddCustomer(helpscouttest.Customer{})
		if err != nil {
			return err
		}
		customers = append(customers, c.ID)
	}
	base := time.Now().UTC().Add(-time.Duration(n+10) * time.Second)
	for i := range n {
		at := base.Add(time.Duration(i) * time.Second)
		c, err := fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: mailboxes[i%len(mailboxes)], CustomerID: customers[i%len(customers)],
			Subject: "Invoice shows wrong VAT", Body: "<p>Hi, the invoice for March shows the wrong VAT rate.</p>", At: at,
		})
		if err != nil {
			return err
		}
		agent := agents[i%len(agents)]
		if err := fake.Assign(c.ID, agent, agent, at.Add(time.Second)); err != nil {
			return err
		}
		if _, err := fake.AddAgentReply(c.ID, helpscouttest.ThreadInput{UserID: agent, Body: "<p>Thanks, fixed.</p>",
			Status: helpscouttest.StatusPending, At: at.Add(2 * time.Second)}); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: fake}
	go srv.Serve(ln)
	fmt.Printf("http://%s\n", ln.Addr())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // returns at EOF
	return srv.Close()
}

// startFakeChild runs the test binary as a fake with n conversations and
// returns its base URL.
func startFakeChild(tb testing.TB, n int) string {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			tb.Errorf("fake child: %v", err)
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("fake child did not start: %v", err)
	}
	return strings.TrimSpace(line)
}

// BenchmarkMirrorSync measures the first sync from an unlimited fake over
// loopback into a fresh store: conversations mirrored per second. The fake
// runs in the same process, so its JSON rendering shares the CPU.
func BenchmarkMirrorSync(b *testing.B) {
	const n = 2000
	e := newEnv(b, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 1, Conversations: n})
	b.ResetTimer()
	var synced, requests int
	for b.Loop() {
		b.StopTimer()
		db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		m := mirror.New(e.hs, db, mirror.Options{})
		e.fake.ResetStats()
		b.StartTimer()
		st, err := m.SyncOnce(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		synced += st.Conversations
		requests += totalRequests(e.fake.Stats())
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(synced)/b.Elapsed().Seconds(), "conversations/s")
	b.ReportMetric(float64(requests)/float64(b.N), "requests/sync")
}

// BenchmarkMirror100K mirrors 100,000 conversations of 3 threads each from
// a fake in a child process and reports the peak RSS of this process (the
// mirror, the client and SQLite). Set QW_BENCH_100K=1 and run it once:
//
//	QW_BENCH_100K=1 go test -run '^$' -bench Mirror100K -benchtime 1x ./internal/mirror
func BenchmarkMirror100K(b *testing.B) {
	if os.Getenv("QW_BENCH_100K") != "1" {
		b.Skip("set QW_BENCH_100K=1 to mirror 100,000 conversations (minutes, a child process)")
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("QW_BENCH_100K_N")); err == nil && v > 0 {
		n = v
	}
	base := startFakeChild(b, n)
	hs := newClient(b, base, "", "")
	hwmBefore := procStatusKB(b, "VmHWM")
	b.ResetTimer()
	for b.Loop() {
		db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		m := mirror.New(hs, db, mirror.Options{})
		st, err := m.SyncOnce(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if st.Conversations != n {
			b.Fatalf("synced %d conversations, want %d", st.Conversations, n)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "conversations/s")
	b.ReportMetric(float64(procStatusKB(b, "VmHWM"))/1024, "peak-RSS-MB")
	b.ReportMetric(float64(hwmBefore)/1024, "RSS-before-MB")
	b.ReportMetric(float64(ms.Sys)/(1<<20), "go-sys-MB")
}

// procStatusKB reads a kB field of /proc/self/status (VmHWM: peak RSS).
func procStatusKB(tb testing.TB, field string) int {
	tb.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				tb.Fatalf("parse %s: %v", line, err)
			}
			return kb
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}
