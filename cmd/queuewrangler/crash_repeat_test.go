package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestSurvivesRepeatedSIGKILL kills the real daemon with SIGKILL at random
// moments, at least 20 times: while its first sync runs, while a burst of
// webhooks arrives, and while it applies moves (apply mode, a short balance
// period). After every restart, every webhook that got a 200 must be in
// the database; at the end the mirror must equal the fake and no move may
// have been written twice.
func TestSurvivesRepeatedSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it 21 times")
	}
	kills := 21
	if os.Getenv("QW_SOAK") == "1" {
		kills = 40
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 21))
	bin := buildBinary(t)

	const id, secret, hookSecret, token = "kill-test", "kill-test-secret", "kill-hook-secret", "kill-admin-token-16"
	fake := helpscouttest.New(helpscouttest.Options{ClientID: id, ClientSecret: secret})
	t.Cleanup(func() { fake.Close() })
	if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 11, Conversations: 800}); err != nil {
		t.Fatal(err)
	}
	// Slow enough for kills to land inside the first sync.
	fake.SetFaults(helpscouttest.Faults{Delay: 20 * time.Millisecond})
	ts := httptest.NewServer(fake)
	t.Cleanup(ts.Close)

	addr := freePortOutsideEphemeralRange(t) // bound again after every kill
	dbPath := filepath.Join(t.TempDir(), "qw.db")
	env := daemonEnv(
		"QW_HELPSCOUT_API_URL="+ts.URL, "QW_HELPSCOUT_CLIENT_ID="+id, "QW_HELPSCOUT_CLIENT_SECRET="+secret,
		"QW_HELPSCOUT_WEBHOOK_SECRET="+hookSecret, "QW_ADMIN_TOKEN="+token,
		"QW_DB_PATH="+dbPath, "QW_LISTEN_ADDR="+addr, "QW_MODE=apply",
		"QW_POLL_INTERVAL=1s", "QW_BALANCE_INTERVAL=1s", "QW_RATE_LIMIT_PER_MINUTE=100000",
		"QW_LOG_FORMAT=text", "QW_LOG_LEVEL=warn",
	)
	client := &http.Client{Timeout: 5 * time.Second}
	var (
		mu    sync.Mutex
		acked []int64 // ids of convo.deleted events that got a 200
		seq   int64   = 9_000_000_000
	)
	// burst posts signed webhooks until stop closes. Each is a deletion of
	// a conversation that never existed: unique, and harmless to apply.
	burst := func(stop <-chan struct{}) {
		for {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			seq++
			n := seq
			mu.Unlock()
			body := []byte(`{"id":` + strconv.FormatInt(n, 10) + `}`)
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/helpscout", bytes.NewReader(body))
			req.Header.Set(helpscout.HeaderEvent, helpscout.EventConvoDeleted)
			req.Header.Set(helpscout.HeaderSignature, helpscout.Sign(hookSecret, body))
			resp, err := client.Do(req)
			if err != nil {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				mu.Lock()
				acked = append(acked, n)
				mu.Unlock()
			}
		}
	}

	start := func() (*exec.Cmd, *bytes.Buffer) {
		var out bytes.Buffer
		cmd := exec.Command(bin, "serve")
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	for i := range kills {
		cmd, out := start()
		stop := make(chan struct{})
		var senders sync.WaitGroup
		for range 4 {
			senders.Go(func() { burst(stop) })
		}
		// The first kills land in the first sync; later ones at random
		// moments of polling, webhook intake and applying.
		wait := time.Duration(50+rng.IntN(1500)) * time.Millisecond
		if i < 5 {
			wait = time.Duration(50+rng.IntN(400)) * time.Millisecond
		}
		time.Sleep(wait)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		close(stop)
		senders.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d ended by itself (%v) before the kill:\n%s", i, err, out.String())
		}
		checkAckedStored(t, dbPath, acked, &mu)
	}
	t.Logf("%d kills, %d webhooks acknowledged, %d moves written", kills, len(acked), len(fake.Patches()))

	// A last, clean run: converge, then stop with SIGTERM.
	fake.SetFaults(helpscouttest.Faults{})
	cmd, out := start()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("not ready after the kills:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() { // a failure below leaves no daemon behind
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Logf("the last run's output:\n%s", out.String())
		}
	})
	waitForSyncs(t, addr, 2, time.Minute) // a few polls and balancer runs
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("clean stop: %v\n%s", err, out.String())
	}
	// One more sync so that moves applied in the last seconds are mirrored.
	final := exec.Command(bin, "sync")
	final.Env = env
	if b, err := final.CombinedOutput(); err != nil {
		t.Fatalf("final sync: %v\n%s", err, b)
	}

	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	assertStoreMirrorsFake(t, db, fake)

	// No move was written twice: queuewrangler's cooldown keeps a ticket
	// from moving twice in a day, so two assignTo writes to one
	// conversation mean one proposal was applied twice.
	writes := map[int64]int{}
	for _, p := range fake.Patches() {
		if p.Path == "/assignTo" && p.StatusCode == http.StatusNoContent {
			writes[p.ConversationID]++
		}
	}
	for conv, n := range writes {
		if n > 1 {
			t.Errorf("conversation %d was assigned %d times", conv, n)
		}
	}
	applied, err := db.ListProposals(context.Background(), store.ProposalFilter{Statuses: []store.ProposalStatus{store.ProposalApplied}})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) > len(writes) {
		t.Errorf("%d proposals are recorded applied but Help Scout saw %d assignments", len(applied), len(writes))
	}
	all, err := db.ListProposals(context.Background(), store.ProposalFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// A kill inside apply leaves its proposal applying (settled after five
	// minutes, longer than this test) or, once settled, failed as
	// interrupted.
	interrupted := 0
	for _, p := range all {
		if p.Status == store.ProposalApplying || strings.Contains(p.Error, "interrupted") {
			interrupted++
		}
	}
	t.Logf("end: %d proposals, %d applied, %d conversations assigned once each, %d applies cut by a kill",
		len(all), len(applied), len(writes), interrupted)
}

// checkAckedStored opens the database read-only and checks that every
// acknowledged webhook is in the inbox.
func checkAckedStored(t *testing.T, dbPath string, acked []int64, mu *sync.Mutex) {
	t.Helper()
	mu.Lock()
	want := append([]int64(nil), acked...)
	mu.Unlock()
	if len(want) == 0 {
		return
	}
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT body FROM webhook_inbox`)
	if err != nil {
		t.Fatalf("read the inbox: %v", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			t.Fatal(err)
		}
		have[string(body)] = true
	}
	missing := 0
	for _, n := range want {
		if !have[fmt.Sprintf(`{"id":%d}`, n)] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged webhooks are not in the database", missing, len(want))
	}
}
