package server_test

import (
	"encoding/json"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/fraud"
)

const (
	validatePath = "/test/fraud-prevention-headers/validate"
	feedbackPath = "/test/fraud-prevention-headers/self-assessment-assist/validation-feedback"
)

// bare is an API call's headers with no fraud prevention header at all.
func bare(token string) http.Header {
	return headers("Accept", v1, "Authorization", "Bearer "+token)
}

// withFraud is validFraudHeaders with some replaced ("" removes one).
func withFraud(token string, replace ...string) http.Header {
	h := api(token)
	for i := 0; i < len(replace); i += 2 {
		if replace[i+1] == "" {
			h.Del(replace[i])
		} else {
			h.Set(replace[i], replace[i+1])
		}
	}
	return h
}

type validation struct {
	SpecVersion string `json:"specVersion"`
	Code        string `json:"code"`
	Message     string `json:"message"`
	Errors      []struct {
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Headers []string `json:"headers"`
	} `json:"errors"`
	Warnings []struct {
		Code    string   `json:"code"`
		Headers []string `json:"headers"`
	} `json:"warnings"`
}

// The validate endpoint gives each of HMRC's three outcomes, leaves out
// empty lists, and needs no token in the sandbox.
func TestFraudValidate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	// The command-line client seen in the wild: OTHER_DIRECT, no
	// Multi-Factor or License-IDs, an all-zero MAC, loopback and
	// link-local local addresses. Only warnings.
	mtdCLI := headers("Accept", v1,
		"Gov-Client-Connection-Method", "OTHER_DIRECT",
		"Gov-Client-Device-ID", "beec798b-b366-47fa-b1f8-92cede14a1ce",
		"Gov-Client-User-IDs", "os=alice",
		"Gov-Client-Timezone", "UTC+00:00",
		"Gov-Client-Local-IPs", "127.0.0.1,10.0.0.5,fe80%3A%3A1",
		"Gov-Client-Local-IPs-Timestamp", "2026-11-25T11:59:00.000Z",
		"Gov-Client-MAC-Addresses", "00%3A00%3A00%3A00%3A00%3A00",
		"Gov-Client-User-Agent", "os-family=Linux&os-version=6.1&device-manufacturer=Framework&device-model=Laptop",
		"Gov-Vendor-Version", "mtd-cli=0.9.0",
		"Gov-Vendor-Product-Name", "mtd-cli")
	cases := []struct {
		name     string
		header   http.Header
		code     string
		errors   []string // "CODE header" of each error, sorted
		warnings []string // likewise
	}{
		{"valid", api(""), fraud.ValidHeaders, nil, nil},
		{"no_headers", headers("Accept", v1), fraud.InvalidHeaders, nil, nil},
		{"invalid", withFraud("", "Gov-Client-Timezone", "GMT", "Gov-Vendor-Version", "", "Gov-Client-Screens", "width=1920&height=1080"),
			fraud.InvalidHeaders, []string{"INVALID_HEADER gov-client-screens", "INVALID_HEADER gov-client-screens", "INVALID_HEADER gov-client-timezone", "MISSING_HEADER gov-vendor-version"}, nil},
		{"potentially_invalid", mtdCLI, fraud.PotentiallyInvalidHeaders, nil,
			[]string{"MISSING_HEADER gov-client-multi-factor", "MISSING_HEADER gov-vendor-license-ids",
				"POTENTIALLY_INVALID_HEADER gov-client-local-ips", "POTENTIALLY_INVALID_HEADER gov-client-mac-addresses"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.header.Del("Authorization")
			got := h.do("GET", validatePath, tc.header, "")
			if got.status != 200 {
				t.Fatalf("validate = %d %s, want 200", got.status, got.body)
			}
			var v validation
			if err := json.Unmarshal(got.body, &v); err != nil {
				t.Fatal(err)
			}
			if v.SpecVersion != "3.3" || v.Code != tc.code || v.Message == "" {
				t.Errorf("validate = %s, want spec 3.3, %s and a message", got.body, tc.code)
			}
			var errs, warns []string
			for _, e := range v.Errors {
				errs = append(errs, e.Code+" "+strings.Join(e.Headers, ","))
			}
			for _, w := range v.Warnings {
				warns = append(warns, w.Code+" "+strings.Join(w.Headers, ","))
			}
			slices.Sort(errs)
			slices.Sort(warns)
			if !slices.Equal(errs, tc.errors) || !slices.Equal(warns, tc.warnings) {
				t.Errorf("errors %q and warnings %q, want %q and %q", errs, warns, tc.errors, tc.warnings)
			}
			// Empty lists are left out, as HMRC's are.
			for _, key := range []string{"errors", "warnings"} {
				if present := strings.Contains(string(got.body), `"`+key+`"`); present != (key == "errors" && len(tc.errors) > 0 || key == "warnings" && len(tc.warnings) > 0) {
					t.Errorf("%q present = %v in %s", key, present, got.body)
				}
			}
		})
	}
	if got := h.do("GET", validatePath, headers("Accept", "application/json"), ""); got.status != 406 {
		t.Errorf("validate without version 1.0 = %d, want 406", got.status)
	}
	noHeaders := h.do("GET", validatePath, headers("Accept", v1), "")
	if !strings.Contains(string(noHeaders.body), "No fraud prevention headers submitted") {
		t.Errorf("validate with none = %s, want HMRC's message for no headers", noHeaders.body)
	}
}

// In production validate needs a token, as every other call does.
func TestFraudValidateInProduction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{production: true})
	if got := h.do("GET", validatePath, headers("Accept", v1), ""); got.status != 401 {
		t.Errorf("validate without a token = %d %s, want 401", got.status, got.body)
	}
	tok, _, _ := h.issuer.Issue(&auth.Principal{Subject: "app", Scopes: []string{"read:self-assessment-assist"}})
	if got := h.do("GET", validatePath, api(string(tok)), ""); got.status != 200 || !strings.Contains(string(got.body), fraud.ValidHeaders) {
		t.Errorf("validate with a token = %d %s, want 200 VALID_HEADERS", got.status, got.body)
	}
}

type feedbackAnswer struct {
	Requests []struct {
		Path             string `json:"path"`
		Method           string `json:"method"`
		RequestTimestamp string `json:"requestTimestamp"`
		Code             string `json:"code"`
		Headers          []struct {
			Header string   `json:"header"`
			Value  *string  `json:"value"`
			Code   string   `json:"code"`
			Errors []string `json:"errors"`
		} `json:"headers"`
		CrossValidation []any `json:"crossValidation"`
	} `json:"requests"`
}

// awaitFeedback asks for feedback until it shows a request to path (the
// request is kept without the caller waiting for the write).
func (h *harness) awaitFeedback(token, query, path string) feedbackAnswer {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := h.do("GET", feedbackPath+query, headers("Accept", v1, "Authorization", "Bearer "+token), "")
		var fb feedbackAnswer
		if got.status == 200 {
			if err := json.Unmarshal(got.body, &fb); err != nil {
				h.t.Fatal(err)
			}
			for _, r := range fb.Requests {
				if r.Path == path {
					return fb
				}
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("feedback never showed %s: %d %s", path, got.status, got.body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Feedback shows what the caller's software sent on its latest produce,
// and only the caller's.
func TestFraudFeedback(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	u := h.newIndividual(`{}`)
	other := h.newIndividual(`{}`)
	fb := headers("Accept", v1, "Authorization", "Bearer "+u.AccessToken)
	if got := h.do("GET", feedbackPath, fb, ""); got.status != 404 || got.codes(t)[0] != "MATCHING_RESOURCE_NOT_FOUND" {
		t.Errorf("feedback before any request = %d %s, want 404 MATCHING_RESOURCE_NOT_FOUND", got.status, got.body)
	}

	path := produce(u.NINO, "2025-26", "f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c")
	if got := h.do("POST", path, withFraud(u.AccessToken, "Gov-Client-Timezone", "UTC+1"), ""); got.status != 200 {
		t.Fatalf("produce = %d %s", got.status, got.body)
	}
	answer := h.awaitFeedback(u.AccessToken, "", path)
	if len(answer.Requests) != 1 {
		t.Fatalf("feedback = %+v, want the one produce", answer)
	}
	req := answer.Requests[0]
	if req.Method != "POST" || req.Code != fraud.InvalidHeaders || req.RequestTimestamp != "2026-11-25T12:00:00.000Z" {
		t.Errorf("request = %+v, want POST, INVALID_HEADERS at the harness's clock", req)
	}
	i := slices.IndexFunc(req.Headers, func(x struct {
		Header string   `json:"header"`
		Value  *string  `json:"value"`
		Code   string   `json:"code"`
		Errors []string `json:"errors"`
	}) bool {
		return x.Header == "gov-client-timezone"
	})
	if i < 0 || req.Headers[i].Code != "INVALID_HEADER" || req.Headers[i].Value == nil || *req.Headers[i].Value != "UTC+1" || len(req.Headers[i].Errors) == 0 {
		t.Errorf("headers = %+v, want gov-client-timezone INVALID_HEADER with its value and why", req.Headers)
	}

	for _, tc := range []struct {
		name   string
		path   string
		token  string
		status int
	}{
		{"another_method", feedbackPath + "?connectionMethod=WEB_APP_VIA_SERVER", u.AccessToken, 404},
		{"same_method", feedbackPath + "?connectionMethod=DESKTOP_APP_DIRECT", u.AccessToken, 200},
		{"unknown_method", feedbackPath + "?connectionMethod=CARRIER_PIGEON", u.AccessToken, 400},
		{"another_api", "/test/fraud-prevention-headers/vat-mtd/validation-feedback", u.AccessToken, 404},
		{"hmrc_name", "/test/fraud-prevention-headers/self-assessment-assist-mtd/validation-feedback", u.AccessToken, 200},
		{"another_caller", feedbackPath, other.AccessToken, 404},
		{"no_token", feedbackPath, "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hd := headers("Accept", v1)
			if tc.token != "" {
				hd.Set("Authorization", "Bearer "+tc.token)
			}
			if got := h.do("GET", tc.path, hd, ""); got.status != tc.status {
				t.Errorf("GET %s = %d %s, want %d", tc.path, got.status, got.body, tc.status)
			}
		})
	}
}

// Every produce stores the assessment; the rules read it, so software that
// sends no headers gets a message the customer can act on; the outcome is
// counted and an invalid one logged once, without values.
func TestFraudAssessmentReachesTheReport(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	u := h.newIndividual(`{}`)
	const calcID = "9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"
	if got := h.do("PUT", "/test-support/calculations/"+u.NINO+"/2025-26/"+calcID, nil, string(data)); got.status != 204 {
		t.Fatalf("put calculation = %d %s", got.status, got.body)
	}
	produceWith := func(hd http.Header) storedReport {
		t.Helper()
		got := h.do("POST", produce(u.NINO, "2025-26", calcID), hd, "")
		if got.status != 200 {
			t.Fatalf("produce = %d %s", got.status, got.body)
		}
		var rep struct{ ReportID string }
		if err := json.Unmarshal(got.body, &rep); err != nil {
			t.Fatal(err)
		}
		return h.storedReport(rep.ReportID)
	}
	fired := func(r storedReport) bool {
		return slices.ContainsFunc(r.Messages, func(m struct {
			RuleID string `json:"ruleId"`
			Title  string `json:"title"`
			Shown  bool   `json:"shown"`
		}) bool {
			return m.RuleID == "SOFTWARE_FRAUD_HEADERS"
		})
	}

	none := produceWith(bare(u.AccessToken))
	if f := none.Fraud; f == nil || f.Code != fraud.NoHeaders || f.Score != 100 || f.Valid || len(f.Reasons) == 0 || f.Reasons[0].Code != fraud.ReasonNoHeaders {
		t.Errorf("stored assessment with no headers = %+v, want NO_HEADERS scoring 100", f)
	}
	if !fired(none) {
		t.Errorf("messages %+v, want SOFTWARE_FRAUD_HEADERS for software that sends no headers", none.Messages)
	}
	valid := produceWith(api(u.AccessToken))
	if f := valid.Fraud; f == nil || f.Code != fraud.ValidHeaders || f.Score != 0 || !f.Valid || f.ConnectionMethod != "DESKTOP_APP_DIRECT" {
		t.Errorf("stored assessment with valid headers = %+v, want VALID_HEADERS scoring 0", f)
	}
	if fired(valid) {
		t.Errorf("SOFTWARE_FRAUD_HEADERS fired on valid headers")
	}

	// A new device id for the same user raises the score, once the
	// earlier one is kept.
	h.awaitFeedback(u.AccessToken, "", produce(u.NINO, "2025-26", calcID))
	moved := produceWith(withFraud(u.AccessToken, "Gov-Client-Device-ID", "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"))
	if f := moved.Fraud; f == nil || !slices.ContainsFunc(f.Reasons, func(r fraud.Reason) bool { return r.Code == fraud.ReasonDeviceChanged }) {
		t.Errorf("assessment after a device change = %+v, want DEVICE_CHANGED", f)
	}

	h.scrape().want(t, "assist_fraud_headers_total", map[string]string{"connection_method": "none", "outcome": fraud.NoHeaders}, 1)
	h.scrape().want(t, "assist_fraud_headers_total", map[string]string{"connection_method": "DESKTOP_APP_DIRECT", "outcome": fraud.ValidHeaders}, 2)

	// One warning line, for the request with no headers.
	secret := "UTC+99:99"
	if got := h.do("POST", produce(u.NINO, "2025-26", calcID), withFraud(u.AccessToken, "Gov-Client-Timezone", secret), ""); got.status != 200 {
		t.Fatalf("produce = %d", got.status)
	}
	logs := h.logs.String()
	if n := strings.Count(logs, "invalid fraud prevention headers"); n != 2 {
		t.Errorf("%d warnings about invalid headers, want 2 (no headers, then a bad timezone):\n%s", n, logs)
	}
	if strings.Contains(logs, secret) {
		t.Errorf("a header's value was logged:\n%s", logs)
	}
}

// A token naming its application keeps feedback per application: two
// users of one application see each other's latest requests.
func TestFraudFeedbackPerApplication(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	a := h.newIndividual(`{}`)
	b := h.newIndividual(`{}`)
	issue := func(u individual) string {
		p := auth.IndividualPrincipal(u.NINO, u.MTDITID, true, 250, []string{"read:self-assessment-assist"})
		p.ClientID = "app-1"
		tok, _, err := h.issuer.Issue(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(tok)
	}
	ta, tb := issue(a), issue(b)
	path := produce(a.NINO, "2025-26", "f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c")
	if got := h.do("POST", path, api(ta), ""); got.status != 200 {
		t.Fatalf("produce = %d %s", got.status, got.body)
	}
	h.awaitFeedback(tb, "", path) // b's token, same application
	if got := h.do("GET", feedbackPath, headers("Accept", v1, "Authorization", "Bearer "+b.AccessToken), ""); got.status != 404 {
		t.Errorf("feedback for b's own sandbox token (no application) = %d %s, want 404", got.status, got.body)
	}
}
