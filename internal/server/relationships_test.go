package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/relationships"
)

// fakeRelationships is an agent-client relationships service: it answers
// 200 for the (arn, service) pairs in yes, 500 for the ARN "AARN0000500",
// hangs for "AARN0000000" until the caller gives up, and 404 otherwise. It
// counts the calls for each ARN.
type fakeRelationships struct {
	t   *testing.T
	yes map[string]bool // arn + " " + service

	mu    sync.Mutex
	calls map[string]int
}

const (
	failingARN = "AARN0000500"
	hangingARN = "AARN0000000"
)

func (f *fakeRelationships) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// /agent/{arn}/service/{service}/client/NI/{nino}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) != 7 || parts[0] != "agent" || parts[2] != "service" || parts[4] != "client" || parts[5] != "NI" || r.Method != http.MethodGet {
		f.t.Errorf("relationships service got %s %s, want GET /agent/{arn}/service/{service}/client/NI/{nino}", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		f.t.Errorf("relationships service Authorization = %q, want the caller's bearer token", r.Header.Get("Authorization"))
	}
	arn, service := parts[1], parts[3]
	f.mu.Lock()
	f.calls[arn]++
	f.mu.Unlock()
	switch {
	case arn == hangingARN:
		<-r.Context().Done()
	case arn == failingARN:
		w.WriteHeader(http.StatusInternalServerError)
	case f.yes[arn+" "+service]:
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"code":"RELATIONSHIP_NOT_FOUND"}`))
	}
}

func (f *fakeRelationships) callsFor(arn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[arn]
}

// TestRelationshipsService runs production mode with agent authorisations
// checked against a relationships service instead of the database.
func TestRelationshipsService(t *testing.T) {
	t.Parallel()
	const (
		mainARN       = "AARN1111111"
		supportingARN = "AARN2222222"
		strangerARN   = "AARN3333333"
		nino          = "TC663795B"
		calcID        = "9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"
	)
	fake := &fakeRelationships{t: t, calls: map[string]int{}, yes: map[string]bool{
		mainARN + " " + relationships.ServiceMain:             true,
		supportingARN + " " + relationships.ServiceSupporting: true,
	}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	const timeout = 300 * time.Millisecond
	rel, err := relationships.New(srv.URL, relationships.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{production: true, relationships: rel,
		supportingAgents: map[string]bool{"produce": true}})
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.db.PutCalculation(context.Background(), nino, "2025-26", calcID, data); err != nil {
		t.Fatal(err)
	}
	// The database says nothing: only the service is asked.
	if err := h.db.PutRelationship(context.Background(), strangerARN, nino, "main"); err != nil {
		t.Fatal(err)
	}
	token := func(arn string) string {
		tok, _, err := h.issuer.Issue(&auth.Principal{AffinityGroup: identity.Agent, ARN: arn, Enrolments: []string{auth.EnrolmentAgent},
			Scopes: []string{"read:self-assessment-assist", "write:self-assessment-assist"}})
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}

	tests := []struct {
		name       string
		arn        string
		wantStatus int
		wantCode   string
		wantCalls  int // calls to the service so far for this ARN
	}{
		{name: "main_agent", arn: mainARN, wantStatus: 200, wantCalls: 1},
		{name: "main_agent_cached", arn: mainARN, wantStatus: 200, wantCalls: 1},
		{name: "supporting_agent", arn: supportingARN, wantStatus: 200, wantCalls: 2},
		{name: "supporting_agent_cached", arn: supportingARN, wantStatus: 200, wantCalls: 2},
		{name: "no_relationship", arn: strangerARN, wantStatus: 403, wantCode: "CLIENT_OR_AGENT_NOT_AUTHORISED", wantCalls: 2},
		{name: "no_relationship_cached", arn: strangerARN, wantStatus: 403, wantCode: "CLIENT_OR_AGENT_NOT_AUTHORISED", wantCalls: 2},
		{name: "service_failing", arn: failingARN, wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantCalls: 1},
		{name: "service_failing_not_cached", arn: failingARN, wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantCalls: 2},
		{name: "service_hanging", arn: hangingARN, wantStatus: 503, wantCode: "SERVICE_UNAVAILABLE", wantCalls: 1},
	}
	for _, tc := range tests {
		start := time.Now()
		got := h.do("POST", produce(nino, "2025-26", calcID), api(token(tc.arn)), "")
		elapsed := time.Since(start)
		if got.status != tc.wantStatus {
			t.Errorf("%s: produce = %d %s, want %d", tc.name, got.status, got.body, tc.wantStatus)
			continue
		}
		if tc.wantCode != "" {
			if codes := got.codes(t); codes[0] != tc.wantCode {
				t.Errorf("%s: produce = %d %v, want %s", tc.name, got.status, codes, tc.wantCode)
			}
		}
		if tc.wantStatus == 503 && got.header.Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", tc.name)
		}
		if n := fake.callsFor(tc.arn); n != tc.wantCalls {
			t.Errorf("%s: relationships service called %d times for %s, want %d", tc.name, n, tc.arn, tc.wantCalls)
		}
		if tc.arn == hangingARN && elapsed > timeout+2*time.Second {
			t.Errorf("%s: answered after %s, want soon after the %s timeout", tc.name, elapsed, timeout)
		}
	}
	if logs := h.logs.String(); strings.Contains(logs, nino) || strings.Contains(logs, "Bearer") {
		t.Errorf("logs hold a NINO or a token:\n%s", logs)
	}
}
