package server_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/open-assist/assist/internal/calc"
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
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := calc.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
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
