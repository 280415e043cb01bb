package server_test

import (
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The dashboard counts the rule that fired, and its resolution rate rises
// once a later calculation without the problem comes in.
func TestRulesDashboard(t *testing.T) {
	t.Parallel()
	const admin = "an-admin-token-long-enough-to-be-a-secret-0123456789"
	var tick atomic.Int64 // each reading of the clock is a second later
	h := newHarness(t, harnessOptions{adminToken: admin, maxMessages: 10, clock: func() time.Time {
		return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).Add(time.Duration(tick.Add(1)) * time.Second)
	}})
	u := h.newIndividual(`{}`)
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	put := func(calcID string, body []byte) {
		t.Helper()
		if got := h.do("PUT", "/test-support/calculations/"+u.NINO+"/2025-26/"+calcID, nil, string(body)); got.status != 204 {
			t.Fatalf("put calculation = %d %s", got.status, got.body)
		}
		if got := h.do("POST", produce(u.NINO, "2025-26", calcID), api(u.AccessToken), ""); got.status != 200 {
			t.Fatalf("produce = %d %s", got.status, got.body)
		}
	}
	put("9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b", data)

	bearer := headers("Authorization", "Bearer "+admin)
	dashboard := func() string {
		t.Helper()
		got := h.page("GET", "/admin/rules", "", nil)
		if got.status != 303 {
			t.Errorf("dashboard without the admin token = %d, want 303 to sign in", got.status)
		}
		resp := h.pageWith("GET", "/admin/rules", bearer)
		if resp.status != 200 {
			t.Fatalf("dashboard = %d %s", resp.status, resp.body)
		}
		return string(resp.body)
	}
	cell := func(page, attr, rule string) string {
		m := regexp.MustCompile(`data-` + attr + `="` + rule + `"[^>]*>([^<]*)<`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s cell for %s", attr, rule)
		}
		return m[1]
	}
	page := dashboard()
	if got := cell(page, "rule", "HICBC_APPLIES"); got != "1 / 1 / 1" {
		t.Errorf("HICBC_APPLIES reports = %q, want 1 / 1 / 1", got)
	}
	if got := cell(page, "resolution", "HICBC_APPLIES"); got != "– (1)" {
		t.Errorf("HICBC_APPLIES resolution = %q, want none yet, 1 pending", got)
	}
	if !strings.Contains(page, `<svg xmlns="http://www.w3.org/2000/svg" class="assist-chart"`) || strings.Contains(page, u.NINO) {
		t.Errorf("the dashboard lacks its charts, or shows a NINO")
	}

	// The customer claims no Child Benefit after all: a new calculation
	// without it no longer triggers the rule.
	var calc map[string]any
	if err := json.Unmarshal(data, &calc); err != nil {
		t.Fatal(err)
	}
	delete(calc["calculation"].(map[string]any), "highIncomeChildBenefitCharge")
	calc["metadata"].(map[string]any)["calculationId"] = "1c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"
	fixed, _ := json.Marshal(calc)
	put("1c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b", fixed)
	page = dashboard()
	if got := cell(page, "resolution", "HICBC_APPLIES"); got != "100% (0)" {
		t.Errorf("HICBC_APPLIES resolution after a calculation without it = %q, want 100%% (0)", got)
	}
	// A rule that fired on both calculations is not resolved.
	if got := cell(page, "resolution", "STUDENT_LOAN_SA_REPAYMENT"); got != "0% (0)" {
		t.Errorf("STUDENT_LOAN_SA_REPAYMENT resolution = %q, want 0%% (0)", got)
	}

	rule := h.pageWith("GET", "/admin/rules/HICBC_APPLIES", bearer)
	body := string(rule.body)
	if rule.status != 200 || !strings.Contains(body, "adjustedNetIncome") || !strings.Contains(body, `lang="cy"`) || !strings.Contains(body, "References") ||
		!strings.Contains(body, `role="img"`) || !strings.Contains(body, "charge: ") || strings.Contains(body, u.NINO) {
		t.Errorf("rule page = %d, want the condition, both languages, references, a chart and evidence, no NINO:\n%s", rule.status, body)
	}
	if got := h.pageWith("GET", "/admin/rules/NO_SUCH_RULE", bearer); got.status != 404 {
		t.Errorf("unknown rule = %d, want 404", got.status)
	}
	if got := h.pageWith("GET", "/admin/rules", headers("Authorization", "Bearer "+admin+"x")); got.status != 303 {
		t.Errorf("dashboard with a wrong token = %d, want 303", got.status)
	}
	// Signing in with the admin token keeps it for /admin only.
	got := h.page("POST", "/sign-in", "", url.Values{"token": {admin}})
	if c := got.header.Get("Set-Cookie"); got.status != 303 || got.header.Get("Location") != "/admin/rules" || !strings.Contains(c, "assist_admin=") ||
		!strings.Contains(c, "Path=/admin") || !strings.Contains(c, "HttpOnly") {
		t.Errorf("admin sign-in = %d to %q with cookie %q", got.status, got.header.Get("Location"), c)
	}
}

// Without an admin token the dashboard does not exist.
func TestRulesDashboardOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	if got := h.pageWith("GET", "/admin/rules", headers("Authorization", "Bearer x")); got.status != 404 {
		t.Errorf("dashboard with no admin token configured = %d, want 404", got.status)
	}
}
