package main

// The proofs that nothing accepted is lost: assist serve runs as a child
// process (this test binary re-executed), is driven over HTTP, killed with
// SIGKILL mid-load, restarted, run as two replicas, and pointed at a
// receiver that is down for a while. A fake receiver stands in for the
// non-repudiation store and the events endpoint, and dedupes by
// idempotency key as a real one would.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/testdb"
)

const childEnv = "ASSIST_TEST_CHILD"

// TestMain lets the test binary act as the assist command, so that the
// proofs run the real program, built with the same flags (-race too).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// receiver is a fake NRS and events endpoint.
type receiver struct {
	srv       *httptest.Server
	down      atomic.Bool  // answer 503 while true
	refuse    atomic.Bool  // answer 400 (a record the receiver will never take) while true
	delay     atomic.Int64 // nanoseconds to take over each answer
	mu        sync.Mutex
	successes map[string]int // idempotency key → 2xx answers given
	attempts  int
	secrets   int // requests whose body carried a bearer token
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{successes: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		key := req.Header.Get("Idempotency-Key")
		time.Sleep(time.Duration(r.delay.Load()))
		r.mu.Lock()
		r.attempts++
		if bytes.Contains(body, []byte("Bearer ")) || bytes.Contains(bytes.ToLower(body), []byte(`"authorization"`)) {
			r.secrets++
		}
		if r.down.Load() || key == "" {
			r.mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.refuse.Load() {
			r.mu.Unlock()
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.successes[key]++
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"nrSubmissionId":%q}`, key)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// counts returns how many requests came, and how many carried a token.
func (r *receiver) counts() (attempts, secrets int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts, r.secrets
}

// delivered returns the keys delivered at least once, and how many were
// delivered more than once (which the key lets the receiver drop).
func (r *receiver) delivered() (keys map[string]bool, doubles int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys = map[string]bool{}
	for k, n := range r.successes {
		keys[k] = true
		if n > 1 {
			doubles++
		}
	}
	return keys, doubles
}

// child is one assist serve process.
type child struct {
	cmd   *exec.Cmd
	base  string
	admin string // --admin-addr, where /metrics is
	log   string
	done  chan struct{}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startChild starts assist serve on db, delivering to rcv, and waits until it
// is ready.
func startChild(t *testing.T, name, db string, rcv *receiver, extra ...string) *child {
	t.Helper()
	return startCommand(t, "serve", name, db, rcv, extra...)
}

// startCommand starts assist serve or assist worker (which has no HTTP, so
// is not waited for).
func startCommand(t *testing.T, command, name, db string, rcv *receiver, extra ...string) *child {
	t.Helper()
	addr, adminAddr := freeAddr(t), freeAddr(t)
	args := append([]string{command, "--addr", addr, "--admin-addr", adminAddr, "--db", db,
		"--nrs-url", rcv.srv.URL + "/submission", "--nrs-api-key", "test-key",
		"--events-url", rcv.srv.URL + "/events",
		"--delivery-backoff", "50ms", "--delivery-backoff-cap", "400ms",
		"--delivery-timeout", "2s", "--delivery-rescue-after", "3s", "--delivery-poll-interval", "100ms",
		"--log-level", "warn", "--shutdown-timeout", "5s",
	}, extra...)
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, base: "http://" + addr, admin: "http://" + adminAddr, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); logFile.Close(); close(c.done) }()
	t.Cleanup(func() { c.kill() })
	if command == "worker" {
		return c
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(c.base + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		select {
		case <-c.done:
			t.Fatalf("%s exited before it was ready:\n%s", name, c.logs())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 60s:\n%s", name, c.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

func (c *child) logs() string {
	b, _ := os.ReadFile(c.log)
	return string(b)
}

var httpClient = &http.Client{Timeout: 20 * time.Second}

func call(method, url, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/vnd.hmrc.1.0+json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Gov-Client-Device-ID", "durability-test")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type user struct{ nino, token string }

var calculation = func() []byte {
	b, err := os.ReadFile("../../testdata/calculations/synthetic_TY2025-26.json")
	if err != nil {
		panic(err)
	}
	return b
}()

const calcID = "9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"

// newUsers makes test users, each with the synthetic calculation loaded.
func newUsers(t *testing.T, c *child, n int) []user {
	t.Helper()
	var us []user
	for range n {
		status, body, err := call("POST", c.base+"/test-support/individuals", "", nil)
		if err != nil || status != http.StatusCreated {
			t.Fatalf("create user: %d %s %v", status, body, err)
		}
		var u struct{ NINO, AccessToken string }
		json.Unmarshal(body, &u)
		status, body, err = call("PUT", c.base+"/test-support/calculations/"+u.NINO+"/2025-26/"+calcID, "", calculation)
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("load calculation: %d %s %v", status, body, err)
		}
		us = append(us, user{u.NINO, u.AccessToken})
	}
	return us
}

// ledger is what clients were told: the records each answer promises.
type ledger struct {
	mu       sync.Mutex
	reports  map[string]string // report id → nino, for every 200
	acks     map[string]bool   // report id → acknowledged (204)
	failures []string          // answers that were neither success nor a dead server
}

func newLedger() *ledger { return &ledger{reports: map[string]string{}, acks: map[string]bool{}} }

// expected lists the idempotency keys the receiver must end up with.
func (l *ledger) expected() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	want := map[string]bool{}
	for id := range l.reports {
		want["saa-report-generated:"+id] = true
		want["GenerateReport:"+id] = true
	}
	for id := range l.acks {
		want["saa-report-acknowledged:"+id] = true
		want["AcknowledgeReport:"+id] = true
	}
	return want
}

// drive produces and acknowledges reports for users until stop is closed or
// rounds run out, spreading the calls over the servers given (produce on
// one, acknowledge on the next). A call that cannot connect (the server was
// killed) promises nothing and is not a failure.
func drive(l *ledger, users []user, servers []*child, rounds int, stop <-chan struct{}) {
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				select {
				case <-stop:
					return
				default:
				}
				produceOn := servers[(i+r)%len(servers)]
				ackOn := servers[(i+r+1)%len(servers)]
				status, body, err := call("POST", produceOn.base+"/reports/"+u.nino+"/2025-26/"+calcID, u.token, nil)
				if err != nil {
					continue
				}
				if status != http.StatusOK {
					l.fail(fmt.Sprintf("produce: %d %s", status, body))
					continue
				}
				var rep struct{ ReportID, CorrelationID string }
				json.Unmarshal(body, &rep)
				l.mu.Lock()
				l.reports[rep.ReportID] = u.nino
				l.mu.Unlock()
				status, body, err = call("POST", ackOn.base+"/reports/acknowledge/"+u.nino+"/"+rep.ReportID+"/"+rep.CorrelationID, u.token, nil)
				if err != nil {
					continue
				}
				if status != http.StatusNoContent {
					l.fail(fmt.Sprintf("acknowledge: %d %s", status, body))
					continue
				}
				l.mu.Lock()
				l.acks[rep.ReportID] = true
				l.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func (l *ledger) fail(s string) {
	l.mu.Lock()
	l.failures = append(l.failures, s)
	l.mu.Unlock()
}

// verify checks that everything the clients were told is stored and has
// been delivered, and that nothing was delivered that is not stored.
func verify(t *testing.T, l *ledger, rcv *receiver, c *child) {
	t.Helper()
	if len(l.failures) > 0 {
		t.Errorf("%d requests failed, first: %s", len(l.failures), l.failures[0])
	}
	want := l.expected()
	if len(want) == 0 {
		t.Fatal("no request succeeded: the test proved nothing")
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		got, _ := rcv.delivered()
		missing := 0
		for k := range want {
			if !got[k] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records never delivered; server log:\n%s", missing, len(want), tail(c.logs(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for id, nino := range l.reports {
		status, body, err := call("GET", c.base+"/test-support/reports/"+id, "", nil)
		if err != nil || status != http.StatusOK {
			t.Errorf("report %s answered 200 but is not stored: %d %v", id, status, err)
			continue
		}
		var stored struct {
			NINO            string          `json:"nino"`
			Acknowledgement json.RawMessage `json:"acknowledgement"`
		}
		json.Unmarshal(body, &stored)
		if stored.NINO != nino {
			t.Errorf("report %s stored for %s, want %s", id, stored.NINO, nino)
		}
		if l.acks[id] && string(stored.Acknowledgement) == "null" {
			t.Errorf("report %s was acknowledged (204) but no acknowledgement is stored", id)
		}
	}
	// Everything delivered is about a stored report: a request cut off by
	// the crash either committed (report and records) or did not (neither).
	got, doubles := rcv.delivered()
	for k := range got {
		id := k[strings.LastIndex(k, ":")+1:]
		if status, _, _ := call("GET", c.base+"/test-support/reports/"+id, "", nil); status != http.StatusOK {
			t.Errorf("delivered %s, but report %s is not stored", k, id)
		}
	}
	attempts, secrets := rcv.counts()
	if secrets > 0 {
		t.Errorf("%d deliveries carried a bearer token", secrets)
	}
	t.Logf("%d reports, %d acknowledgements, %d records delivered (%d delivered twice and dropped by key), %d attempts",
		len(l.reports), len(l.acks), len(got), doubles, attempts)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "assist.db") },
		"postgres": func(t *testing.T) string { return testdb.PostgresDSN(t) },
	}
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
}

// TestCrashLosesNothing kills the server with SIGKILL while requests and
// deliveries are in flight, restarts it, and checks that every 200 and 204
// a client saw is stored and its records delivered.
func TestCrashLosesNothing(t *testing.T) {
	skipShort(t)
	t.Parallel()
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn := db(t)
			rcv := newReceiver(t)
			rcv.delay.Store(int64(100 * time.Millisecond)) // a backlog, and deliveries in flight, at the kill
			first := startChild(t, "first", dsn, rcv)
			users := newUsers(t, first, 8)
			l := newLedger()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { drive(l, users, []*child{first}, 1000, stop); close(done) }()
			// Kill once some work has been accepted, mid-load.
			deadline := time.Now().Add(30 * time.Second)
			for {
				l.mu.Lock()
				n := len(l.acks)
				l.mu.Unlock()
				if n >= 15 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			first.kill()
			close(stop)
			<-done
			second := startChild(t, "second", dsn, rcv)
			// More load on the restarted server, then everything must arrive.
			drive(l, users, []*child{second}, 2, nil)
			verify(t, l, rcv, second)
		})
	}
}

// TestOutageThenRecovery keeps the receiver down while reports are made,
// then brings it back: every record arrives and none is dead-lettered
// before its time.
func TestOutageThenRecovery(t *testing.T) {
	skipShort(t)
	t.Parallel()
	for name, db := range databases(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			rcv := newReceiver(t)
			rcv.down.Store(true)
			srv := startChild(t, "server", db(t), rcv)
			users := newUsers(t, srv, 4)
			l := newLedger()
			drive(l, users, []*child{srv}, 3, nil)
			time.Sleep(2 * time.Second) // several failed attempts each
			if attempts, _ := rcv.counts(); attempts == 0 {
				t.Fatal("nothing was attempted during the outage")
			}
			if got, _ := rcv.delivered(); len(got) != 0 {
				t.Fatalf("%d records delivered while the receiver was down", len(got))
			}
			rcv.down.Store(false)
			verify(t, l, rcv, srv)
			status, body, err := call("GET", srv.admin+"/metrics", "", nil)
			if err != nil || status != http.StatusOK || !strings.Contains(string(body), "assist_outbox_dead_jobs 0") {
				t.Errorf("after recovery /metrics = %d %v, want assist_outbox_dead_jobs 0:\n%s", status, err, grepLines(string(body), "assist_outbox"))
			}
		})
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTwoReplicas runs two servers on one PostgreSQL database with the load
// split across them (each report acknowledged through the other): no
// request fails, and every record is delivered exactly once.
func TestTwoReplicas(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dsn := testdb.PostgresDSN(t)
	rcv := newReceiver(t)
	// Nothing crashes here, so no job should ever be rescued: generous
	// timeouts keep a slow CI machine from causing a retry of its own.
	slow := []string{"--delivery-timeout", "20s", "--delivery-rescue-after", "60s"}
	a := startChild(t, "replica-a", dsn, rcv, slow...)
	b := startChild(t, "replica-b", dsn, rcv, slow...)
	users := newUsers(t, a, 8)
	l := newLedger()
	drive(l, users, []*child{a, b}, 6, nil)
	verify(t, l, rcv, b)
	if _, doubles := rcv.delivered(); doubles != 0 {
		t.Errorf("%d records delivered twice by the replicas", doubles)
	}
	for _, c := range []*child{a, b} {
		if strings.Contains(c.logs(), "deadlock") {
			t.Errorf("a replica logged a deadlock:\n%s", tail(c.logs(), 20))
		}
	}
}

// TestOperatorRevivesDeadRecords has the receiver refuse every record (a
// 400 is never retried): they are dead-lettered, listed by assist outbox
// list --dead and counted by /metrics; once the receiver is fixed, assist
// outbox retry delivers them.
func TestOperatorRevivesDeadRecords(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "assist.db")
	rcv := newReceiver(t)
	rcv.refuse.Store(true)
	srv := startChild(t, "server", dsn, rcv)
	l := newLedger()
	drive(l, newUsers(t, srv, 1), []*child{srv}, 1, nil)
	if len(l.acks) != 1 {
		t.Fatalf("acknowledged %d reports, want 1: %v", len(l.acks), l.failures)
	}
	var listed string
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out, errOut := runArgs(t, "", "outbox", "list", "--dead", "--db", dsn)
		if code != exitOK {
			t.Fatalf("outbox list --dead = %d: %s", code, errOut)
		}
		if strings.Contains(out, "4 records") {
			listed = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records not dead-lettered in time:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{"nrs_submission", "interaction_event", "cancelled", "status 400"} {
		if !strings.Contains(listed, want) {
			t.Errorf("outbox list --dead lacks %q:\n%s", want, listed)
		}
	}
	if _, body, _ := call("GET", srv.admin+"/metrics", "", nil); !strings.Contains(string(body), "assist_outbox_dead_jobs 4") {
		t.Errorf("/metrics does not count the dead records:\n%s", grepLines(string(body), "assist_outbox"))
	}
	var ids []string
	lines := strings.Split(strings.TrimSpace(listed), "\n")
	for _, line := range lines[1 : len(lines)-1] { // between the header and the count
		ids = append(ids, strings.Fields(line)[0])
	}
	rcv.refuse.Store(false)
	code, out, errOut := runArgs(t, "", append([]string{"outbox", "retry", "--db", dsn}, ids...)...)
	if code != exitOK || strings.Count(out, "available again") != 4 {
		t.Fatalf("outbox retry %v = %d\n%s%s", ids, code, out, errOut)
	}
	verify(t, l, rcv, srv)
	if code, _, errOut := runArgs(t, "", "outbox", "retry", "--db", dsn, ids[0]); code != exitFail || !strings.Contains(errOut, "not dead") {
		t.Errorf("outbox retry of a delivered record = %d %s, want a refusal", code, errOut)
	}
}

// TestWorkerDelivers runs the API with no workers and one assist worker
// beside it: the worker delivers what the API queued.
func TestWorkerDelivers(t *testing.T) {
	skipShort(t)
	t.Parallel()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "assist.db")
	rcv := newReceiver(t)
	srv := startChild(t, "server", dsn, rcv, "--workers", "0")
	l := newLedger()
	drive(l, newUsers(t, srv, 2), []*child{srv}, 2, nil)
	time.Sleep(500 * time.Millisecond)
	if got, _ := rcv.delivered(); len(got) != 0 {
		t.Fatalf("a server with --workers 0 delivered %d records", len(got))
	}
	startCommand(t, "worker", "worker", dsn, rcv)
	verify(t, l, rcv, srv)
}
