package server_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/server"
)

// TestHygieneHeaders: every kind of answer, 204s and errors included, is
// marked not to be cached or sniffed (harness.do checks the headers on every
// response of every test; this test makes sure each status is seen).
func TestHygieneHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	user := h.newIndividual(`{}`)
	tests := []struct {
		name, method, path string
		header             http.Header
		want               int
	}{
		{"ok", "GET", "/api/definition", nil, 200},
		{"ping", "GET", "/ping/ping", nil, 200},
		{"no_content", "POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), 204},
		{"bad_request", "POST", produce("bad", "2025-26", noMessagesID), api(user.AccessToken), 400},
		{"unauthorised", "POST", produce(user.NINO, "2025-26", noMessagesID), headers("Accept", v1), 401},
		{"not_found", "GET", "/nowhere", nil, 404},
		{"method_not_allowed", "DELETE", "/api/definition", nil, 405},
		{"not_acceptable", "POST", produce(user.NINO, "2025-26", noMessagesID), nil, 406},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.do(tc.method, tc.path, tc.header, ""); got.status != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, got.status, tc.want)
			}
		})
	}
}

// TestCalculationCap: a calculation over --max-calculation-bytes is refused
// when loaded through test support, and when found stored (loaded under a
// larger cap) it is not analysed.
func TestCalculationCap(t *testing.T) {
	t.Parallel()
	data, c := nudges(t)
	h := newHarness(t, harnessOptions{maxCalculation: len(data) - 1})
	user := h.newIndividual(`{}`)
	put := "/test-support/calculations/" + user.NINO + "/" + c.TaxYear + "/" + c.CalculationID
	got := h.do("PUT", put, headers("Content-Type", "application/json"), string(data))
	if got.status != 400 || !strings.Contains(string(got.body), `"code":"INVALID_CALCULATION"`) || !strings.Contains(string(got.body), "larger than") {
		t.Errorf("PUT calculation over the cap = %d %s, want 400 INVALID_CALCULATION saying it is too large", got.status, got.body)
	}
	if err := h.db.PutCalculation(context.Background(), user.NINO, c.TaxYear, c.CalculationID, data); err != nil {
		t.Fatal(err)
	}
	got = h.do("POST", produce(user.NINO, c.TaxYear, c.CalculationID), api(user.AccessToken), "")
	if codes := got.codes(t); got.status != 400 || len(codes) != 1 || codes[0] != "RULE_CALCULATION_TOO_LARGE" {
		t.Errorf("produce on a stored calculation over the cap = %d %s, want 400 RULE_CALCULATION_TOO_LARGE", got.status, got.body)
	}
}

// TestRequestCaps: a request line or headers longer than any real client
// sends are refused before any work.
func TestRequestCaps(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	resp, err := http.Get(h.url + "/ping/ping?x=" + strings.Repeat("a", server.MaxURIBytes))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestURITooLong || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET with a %d-byte URI = %d, want 414 (with the usual headers)", server.MaxURIBytes, resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", h.url+"/ping/ping", nil)
	req.Header.Set("X-Junk", strings.Repeat("j", server.MaxHeaderBytes+8<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("GET with %d bytes of headers = %d, want 431", server.MaxHeaderBytes+8<<10, resp.StatusCode)
	}
}

// TestRateLimit: over its rate a token's subject gets HMRC's platform's
// 429, to the character, with Retry-After; another subject does not.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{rateLimit: 0.5, rateBurst: 2})
	user := h.newIndividual(`{}`)
	other := h.newIndividual(`{}`)
	path := produce(user.NINO, "2025-26", noMessagesID)
	for i := range 2 {
		if got := h.do("POST", path, api(user.AccessToken), ""); got.status != 204 {
			t.Fatalf("request %d within the burst = %d %s", i+1, got.status, got.body)
		}
	}
	got := h.do("POST", path, api(user.AccessToken), "")
	const want = `{"code":"MESSAGE_THROTTLED_OUT","message":"The application has reached its maximum rate limit"}`
	if got.status != 429 || string(got.body) != want {
		t.Errorf("request over the limit = %d %s, want 429 %s", got.status, got.body, want)
	}
	if ra := got.header.Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After = %q, want 2 (one request every 2s)", ra)
	}
	if got := h.do("POST", produce(other.NINO, "2025-26", noMessagesID), api(other.AccessToken), ""); got.status != 204 {
		t.Errorf("another subject = %d, want 204: the limit is per subject", got.status)
	}
}

// blockingAnalyzer holds every analysis until release is closed.
type blockingAnalyzer struct {
	started chan struct{}
	release chan struct{}
	next    report.Analyzer
}

func (a blockingAnalyzer) Analyze(ctx context.Context, c *calc.Calculation, f *fraud.Assessment) (en, cy *rules.Result, err error) {
	a.started <- struct{}{}
	<-a.release
	return a.next.Analyze(ctx, c, f)
}

// TestSaturation: with every slot taken a request waits briefly, then gets
// 503 with Retry-After; the request in flight still completes.
func TestSaturation(t *testing.T) {
	t.Parallel()
	an := blockingAnalyzer{started: make(chan struct{}, 1), release: make(chan struct{}), next: realCatalogue(t)}
	h := newHarness(t, harnessOptions{analyzer: an, maxInFlight: 1, queueWait: 50 * time.Millisecond})
	user := h.newIndividual(`{}`)
	data, c := nudges(t)
	if got := h.do("PUT", "/test-support/calculations/"+user.NINO+"/"+c.TaxYear+"/"+c.CalculationID, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
		t.Fatalf("PUT calculation = %d %s", got.status, got.body)
	}
	first := make(chan response, 1)
	go func() {
		first <- h.do("POST", produce(user.NINO, c.TaxYear, c.CalculationID), api(user.AccessToken), "")
	}()
	<-an.started
	got := h.do("POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), "")
	if codes := got.codes(t); got.status != 503 || len(codes) != 1 || codes[0] != "SERVICE_UNAVAILABLE" || got.header.Get("Retry-After") == "" {
		t.Errorf("request with no slot free = %d %s (Retry-After %q), want 503 SERVICE_UNAVAILABLE with Retry-After", got.status, got.body, got.header.Get("Retry-After"))
	}
	close(an.release)
	if r := <-first; r.status != 200 {
		t.Errorf("the request in flight = %d, want 200", r.status)
	}
}

// stuckSource never answers before the request's deadline, like an
// exhausted pool or a hung upstream.
type stuckSource struct{}

func (stuckSource) Calculation(ctx context.Context, nino, taxYear, id string) ([]byte, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("wait for a connection: %w", ctx.Err())
}

// TestOutOfTimeIsBusy: a request that runs out of time is 503 with
// Retry-After, not 500.
func TestOutOfTimeIsBusy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{source: stuckSource{}, production: true, requestTimeout: 100 * time.Millisecond})
	tok, _, err := h.issuer.Issue(&auth.Principal{Subject: "TC663795B", AffinityGroup: identity.Individual, NINO: "TC663795B", MTDITID: "XAIT00000000001",
		ConfidenceLevel: 250, Enrolments: []string{auth.EnrolmentMTDIT}, Scopes: []string{"read:self-assessment-assist"}})
	if err != nil {
		t.Fatal(err)
	}
	got := h.do("POST", produce("TC663795B", "2025-26", anyCalcID), api(string(tok)), "")
	if got.status != 503 || got.header.Get("Retry-After") != "1" {
		t.Errorf("produce past its deadline = %d %s (Retry-After %q), want 503 with Retry-After 1", got.status, got.body, got.header.Get("Retry-After"))
	}
	if strings.Contains(h.logs.String(), `"level":"ERROR"`) {
		t.Errorf("a busy answer was logged as an error:\n%s", h.logs)
	}
}

// TestFullWriteQueueIs503: when more writes wait for the group commit than
// --write-queue allows, a produce is answered at once with 503 and
// Retry-After, stores nothing, and is counted; the writes that were
// accepted complete once the database lets them.
func TestFullWriteQueueIs503(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "assist.db")
	h := newHarness(t, harnessOptions{dsn: "sqlite:" + path, writeQueue: 1})
	u := h.newIndividual(`{}`)
	// Another connection takes SQLite's write lock: the writer waits.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()

	await := func(name string, want float64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if v, _ := h.scrape().value(name, map[string]string{}); v == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached %v", name, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// Unknown calculations get the sandbox's example report, which is
	// stored: each produce is a write.
	results := make(chan int, 2)
	send := func(calcID string) {
		results <- h.do("POST", produce(u.NINO, "2025-26", calcID), api(u.AccessToken), "").status
	}
	go send("a1b2c3d4-0000-4000-8000-000000000001")
	await("assist_store_write_committing", 1) // with the writer
	go send("a1b2c3d4-0000-4000-8000-000000000002")
	await("assist_store_write_queue_depth", 1) // the queue is full

	const refusedID = "a1b2c3d4-0000-4000-8000-000000000003"
	got := h.do("POST", produce(u.NINO, "2025-26", refusedID), api(u.AccessToken), "")
	if got.status != 503 || got.header.Get("Retry-After") == "" {
		t.Errorf("produce with the write queue full = %d %s (Retry-After %q), want 503 with Retry-After", got.status, got.body, got.header.Get("Retry-After"))
	}
	h.scrape().want(t, "assist_store_write_rejected_total", map[string]string{}, 1)

	lock.Rollback()
	for range 2 {
		if status := <-results; status != 200 {
			t.Errorf("an accepted produce = %d, want 200 once the database is free", status)
		}
	}
	if ids, err := h.db.ReportIDs(context.Background(), u.NINO, "2025-26", refusedID); err != nil || len(ids) != 0 {
		t.Errorf("the refused produce stored reports %v, %v", ids, err)
	}
}
