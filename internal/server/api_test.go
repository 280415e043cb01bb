package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/rules"
)

const (
	anyCalcID      = "f2fb30e5-4ab6-4a29-b3c1-c7264259ff1c"
	noMessagesID   = "620490b4-06e3-4fef-a555-6fd0877dc7ca"
	notFoundCalcID = "640490b4-06e3-4fef-a555-6fd0877dc7ca"
	anyReportID    = "579800fe-e047-4d40-b3e4-0e14b1f183a8"
	anyCorrID      = "BD5A1B594995A197D528ECCF4BC6EA793C869B2F75333902F043E35561B927C4"
)

func produce(nino, taxYear, calcID string) string {
	return "/individuals/self-assessment/assist/reports/" + nino + "/" + taxYear + "/" + calcID
}

func acknowledge(nino, reportID, corrID string) string {
	return "/individuals/self-assessment/assist/reports/acknowledge/" + nino + "/" + reportID + "/" + corrID
}

// TestContract walks the contract's checks in order: Accept, credentials,
// path parameters, authority, then the sandbox's outcomes.
func TestContract(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	user := h.newIndividual(`{}`)
	other := h.newIndividual(`{}`)
	readOnly := h.newIndividual(`{"scopes":["read:self-assessment-assist"]}`)
	writeOnly := h.newIndividual(`{"scopes":["write:self-assessment-assist"]}`)
	notEnrolled := h.newIndividual(`{"mtdEnrolled":false}`)
	lowConfidence := h.newIndividual(`{"confidenceLevel":50}`)

	// Tokens the verifier must refuse.
	otherKey, _ := auth.NewSigningKey()
	otherIssuer, _ := auth.NewIssuer(otherKey, testIssuer, testAudience, time.Hour, func() time.Time { return today })
	foreignTok, _, _ := otherIssuer.Issue(&auth.Principal{AffinityGroup: identity.Individual, NINO: user.NINO, Scopes: []string{"read:self-assessment-assist"}})
	key := h.key
	expiredIssuer, _ := auth.NewIssuer(key, testIssuer, testAudience, time.Hour, func() time.Time { return today.Add(-2 * time.Hour) })
	expiredTok, _, _ := expiredIssuer.Issue(&auth.Principal{AffinityGroup: identity.Individual, NINO: user.NINO, Scopes: []string{"read:self-assessment-assist"}})
	wrongIssIssuer, _ := auth.NewIssuer(key, "someone-else", testAudience, time.Hour, func() time.Time { return today })
	wrongIssTok, _, _ := wrongIssIssuer.Issue(&auth.Principal{AffinityGroup: identity.Individual, NINO: user.NINO, Scopes: []string{"read:self-assessment-assist"}})

	tests := []struct {
		name       string
		method     string
		path       string
		header     http.Header
		wantStatus int
		wantCodes  []string
	}{
		// 1. Accept.
		{"no_accept", "POST", produce(user.NINO, "2025-26", anyCalcID), headers("Authorization", "Bearer "+user.AccessToken), 406, []string{"ACCEPT_HEADER_INVALID"}},
		{"accept_json", "POST", produce(user.NINO, "2025-26", anyCalcID), headers("Accept", "application/json", "Authorization", "Bearer "+user.AccessToken), 406, []string{"ACCEPT_HEADER_INVALID"}},
		{"accept_v2", "POST", produce(user.NINO, "2025-26", anyCalcID), headers("Accept", "application/vnd.hmrc.2.0+json", "Authorization", "Bearer "+user.AccessToken), 406, []string{"ACCEPT_HEADER_INVALID"}},
		{"accept_unescaped_dot", "POST", produce(user.NINO, "2025-26", anyCalcID), headers("Accept", "application/vnd.hmrc.1x0+json", "Authorization", "Bearer "+user.AccessToken), 406, []string{"ACCEPT_HEADER_INVALID"}},
		{"accept_list", "POST", produce(user.NINO, "2025-26", anyCalcID), headers("Accept", v1+", */*", "Authorization", "Bearer "+user.AccessToken), 406, []string{"ACCEPT_HEADER_INVALID"}},
		{"accept_before_credentials", "POST", produce("bad", "bad", "bad"), nil, 406, []string{"ACCEPT_HEADER_INVALID"}},
		{"accept_acknowledge", "POST", acknowledge(user.NINO, anyReportID, anyCorrID), nil, 406, []string{"ACCEPT_HEADER_INVALID"}},
		{"accept_header_lower_case_name", "POST", produce(user.NINO, "2025-26", noMessagesID), headers("accept", v1, "authorization", "Bearer "+user.AccessToken), 204, nil},

		// 2. Credentials.
		{"no_token", "POST", produce(user.NINO, "2025-26", anyCalcID), headers("Accept", v1), 401, []string{"MISSING_CREDENTIALS"}},
		{"basic_auth", "POST", produce(user.NINO, "2025-26", anyCalcID), headers("Accept", v1, "Authorization", "Basic dXNlcjpwYXNz"), 401, []string{"MISSING_CREDENTIALS"}},
		{"empty_bearer", "POST", produce(user.NINO, "2025-26", anyCalcID), headers("Accept", v1, "Authorization", "Bearer "), 401, []string{"MISSING_CREDENTIALS"}},
		{"malformed_token", "POST", produce(user.NINO, "2025-26", anyCalcID), api("not.a.jwt"), 401, []string{"INVALID_CREDENTIALS"}},
		{"badly_signed_token", "POST", produce(user.NINO, "2025-26", anyCalcID), api(string(foreignTok)), 401, []string{"INVALID_CREDENTIALS"}},
		{"tampered_token", "POST", produce(user.NINO, "2025-26", anyCalcID), api(tamper(user.AccessToken)), 401, []string{"INVALID_CREDENTIALS"}},
		{"expired_token", "POST", produce(user.NINO, "2025-26", anyCalcID), api(string(expiredTok)), 401, []string{"INVALID_CREDENTIALS"}},
		{"other_issuer", "POST", produce(user.NINO, "2025-26", anyCalcID), api(string(wrongIssTok)), 401, []string{"INVALID_CREDENTIALS"}},
		{"credentials_before_parameters", "POST", produce("bad", "bad", "bad"), api("not.a.jwt"), 401, []string{"INVALID_CREDENTIALS"}},
		{"no_read_scope", "POST", produce(writeOnly.NINO, "2025-26", anyCalcID), api(writeOnly.AccessToken), 401, []string{"INVALID_SCOPE"}},
		{"no_write_scope", "POST", acknowledge(readOnly.NINO, anyReportID, anyCorrID), api(readOnly.AccessToken), 401, []string{"INVALID_SCOPE"}},
		{"acknowledge_no_token", "POST", acknowledge(user.NINO, anyReportID, anyCorrID), headers("Accept", v1), 401, []string{"MISSING_CREDENTIALS"}},

		// 3. Path parameters, all at once, in order.
		{"bad_nino", "POST", produce("AA1256A", "2025-26", anyCalcID), api(user.AccessToken), 400, []string{"FORMAT_NINO"}},
		{"nino_prefix_not_issued", "POST", produce("GB123456A", "2025-26", anyCalcID), api(user.AccessToken), 400, []string{"FORMAT_NINO"}},
		{"nino_lower_case", "POST", produce(strings.ToLower(user.NINO), "2025-26", anyCalcID), api(user.AccessToken), 400, []string{"FORMAT_NINO"}},
		{"bad_tax_year", "POST", produce(user.NINO, "20156", anyCalcID), api(user.AccessToken), 400, []string{"FORMAT_TAX_YEAR"}},
		{"tax_year_range", "POST", produce(user.NINO, "2018-20", anyCalcID), api(user.AccessToken), 400, []string{"RULE_TAX_YEAR_RANGE_INVALID"}},
		{"tax_year_too_early", "POST", produce(user.NINO, "2016-17", anyCalcID), api(user.AccessToken), 400, []string{"RULE_TAX_YEAR_NOT_SUPPORTED"}},
		{"tax_year_in_future", "POST", produce(user.NINO, "2027-28", anyCalcID), api(user.AccessToken), 400, []string{"RULE_TAX_YEAR_NOT_SUPPORTED"}},
		{"bad_calc_id", "POST", produce(user.NINO, "2025-26", "f2fb30e5-4ab6-4a29-b3c1-c0004rf"), api(user.AccessToken), 400, []string{"FORMAT_CALC_ID"}},
		{"calc_id_upper_case", "POST", produce(user.NINO, "2025-26", strings.ToUpper(anyCalcID)), api(user.AccessToken), 400, []string{"FORMAT_CALC_ID"}},
		{"calc_id_version_0", "POST", produce(user.NINO, "2025-26", "00000000-0000-0000-0000-000000000001"), api(user.AccessToken), 400, []string{"FORMAT_CALC_ID"}},
		{"all_bad", "POST", produce("AA1256A", "2018-20", "nope"), api(user.AccessToken), 400, []string{"FORMAT_NINO", "RULE_TAX_YEAR_RANGE_INVALID", "FORMAT_CALC_ID"}},
		{"nino_and_tax_year", "POST", produce("XX", "20156", anyCalcID), api(user.AccessToken), 400, []string{"FORMAT_NINO", "FORMAT_TAX_YEAR"}},
		{"path_acknowledge_shape", "POST", "/reports/acknowledge/" + user.NINO + "/x", api(user.AccessToken), 400, []string{"FORMAT_NINO", "FORMAT_TAX_YEAR", "FORMAT_CALC_ID"}},
		{"bad_report_id", "POST", acknowledge(user.NINO, "fb30e5-4ab6-4a29-b3c1-c00000000", anyCorrID), api(user.AccessToken), 400, []string{"FORMAT_REPORT_ID"}},
		{"ack_all_bad", "POST", acknowledge("AA1256A", "nope", anyCorrID), api(user.AccessToken), 400, []string{"FORMAT_NINO", "FORMAT_REPORT_ID"}},
		{"parameters_before_authority", "POST", produce(other.NINO, "2016-17", anyCalcID), api(user.AccessToken), 400, []string{"RULE_TAX_YEAR_NOT_SUPPORTED"}},

		// 4. Authority.
		{"other_nino", "POST", produce(other.NINO, "2025-26", anyCalcID), api(user.AccessToken), 403, []string{"CLIENT_OR_AGENT_NOT_AUTHORISED"}},
		{"not_enrolled", "POST", produce(notEnrolled.NINO, "2025-26", anyCalcID), api(notEnrolled.AccessToken), 403, []string{"CLIENT_OR_AGENT_NOT_AUTHORISED"}},
		{"low_confidence", "POST", produce(lowConfidence.NINO, "2025-26", anyCalcID), api(lowConfidence.AccessToken), 403, []string{"CLIENT_OR_AGENT_NOT_AUTHORISED"}},
		{"acknowledge_other_nino", "POST", acknowledge(other.NINO, anyReportID, anyCorrID), api(user.AccessToken), 403, []string{"CLIENT_OR_AGENT_NOT_AUTHORISED"}},
		{"authority_before_scenario", "POST", produce(other.NINO, "2025-26", anyCalcID), api(user.AccessToken, "Gov-Test-Scenario", "NOPE"), 403, []string{"CLIENT_OR_AGENT_NOT_AUTHORISED"}},

		// 5. The sandbox's outcomes.
		{"sandbox_no_messages_id", "POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), 204, nil},
		{"sandbox_not_found_id", "POST", produce(user.NINO, "2025-26", notFoundCalcID), api(user.AccessToken), 404, []string{"MATCHING_CALCULATION_ID_NOT_FOUND"}},
		{"sandbox_example", "POST", produce(user.NINO, "2025-26", anyCalcID), api(user.AccessToken), 200, nil},
		{"sandbox_example_without_prefix", "POST", "/reports/" + user.NINO + "/2026-27/" + anyCalcID, api(user.AccessToken), 200, nil},
		{"sandbox_example_oldest_year", "POST", produce(user.NINO, "2017-18", anyCalcID), api(user.AccessToken), 200, nil},
		{"scenario_no_messages", "POST", produce(user.NINO, "2025-26", anyCalcID), api(user.AccessToken, "Gov-Test-Scenario", "NO_MESSAGES"), 204, nil},
		{"scenario_not_found", "POST", produce(user.NINO, "2025-26", anyCalcID), api(user.AccessToken, "Gov-Test-Scenario", "CALCULATION_NOT_FOUND"), 404, []string{"MATCHING_CALCULATION_ID_NOT_FOUND"}},
		{"scenario_unknown", "POST", produce(user.NINO, "2025-26", anyCalcID), api(user.AccessToken, "Gov-Test-Scenario", "NOPE"), 400, []string{"RULE_INCORRECT_GOV_TEST_SCENARIO"}},
		{"scenario_after_parameters", "POST", produce("bad", "2025-26", anyCalcID), api(user.AccessToken, "Gov-Test-Scenario", "NOPE"), 400, []string{"FORMAT_NINO"}},

		// 6. Acknowledge an unknown report.
		{"acknowledge_unknown_report", "POST", acknowledge(user.NINO, anyReportID, anyCorrID), api(user.AccessToken), 404, []string{"MATCHING_RESOURCE_NOT_FOUND"}},

		// Routing.
		{"unknown_path", "GET", "/nope", nil, 404, []string{"MATCHING_RESOURCE_NOT_FOUND"}},
		{"unknown_api_path", "POST", "/individuals/self-assessment/assist/reports/x", api(user.AccessToken), 404, []string{"MATCHING_RESOURCE_NOT_FOUND"}},
		{"wrong_method", "GET", produce(user.NINO, "2025-26", anyCalcID), api(user.AccessToken), 405, []string{"METHOD_NOT_ALLOWED"}},
		{"unknown_docs_version", "GET", "/api/conf/4.4.42/application.yaml", nil, 404, []string{"MATCHING_RESOURCE_NOT_FOUND"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := h.with(t)
			got := h.do(tc.method, tc.path, tc.header, `{}`)
			if got.status != tc.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, got.status, got.body, tc.wantStatus)
			}
			if tc.wantCodes != nil {
				if diff := cmp.Diff(tc.wantCodes, got.codes(t)); diff != "" {
					t.Errorf("codes (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// with returns the harness reporting to t.
func (h *harness) with(t testing.TB) *harness {
	c := *h
	c.t = t
	return &c
}

// TestErrorBodies pins the exact body of each error: objects for the
// platform's errors (406, 401, unknown path), arrays for the service's.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	user := h.newIndividual(`{}`)
	other := h.newIndividual(`{}`)
	tests := []struct {
		name   string
		path   string
		header http.Header
		want   string
	}{
		{"accept", produce(user.NINO, "2025-26", anyCalcID), nil, `{"code":"ACCEPT_HEADER_INVALID","message":"The accept header is missing or invalid"}`},
		{"missing_credentials", produce(user.NINO, "2025-26", anyCalcID), headers("Accept", v1), `{"code":"MISSING_CREDENTIALS","message":"Authentication information is not provided"}`},
		{"invalid_credentials", produce(user.NINO, "2025-26", anyCalcID), api("x"), `{"code":"INVALID_CREDENTIALS","message":"Invalid Authentication information provided"}`},
		{"invalid_scope", acknowledge(user.NINO, anyReportID, anyCorrID), api(h.newIndividual(`{"scopes":[]}`).AccessToken), `{"code":"INVALID_SCOPE","message":"Cannot access the required resource. Ensure this token has all the required scopes."}`},
		{"parameters", produce("A", "2018-20", "x"), api(user.AccessToken), `[{"code":"FORMAT_NINO","message":"The provided NINO is invalid"},{"code":"RULE_TAX_YEAR_RANGE_INVALID","message":"Tax year range invalid. A tax year range of one year is required."},{"code":"FORMAT_CALC_ID","message":"The provided Calculation ID is invalid"}]`},
		{"format_tax_year", produce(user.NINO, "2018", anyCalcID), api(user.AccessToken), `[{"code":"FORMAT_TAX_YEAR","message":"The provided tax year is invalid"}]`},
		{"not_supported", produce(user.NINO, "2030-31", anyCalcID), api(user.AccessToken), `[{"code":"RULE_TAX_YEAR_NOT_SUPPORTED","message":"The tax year specified does not lie within the supported range"}]`},
		{"report_id", acknowledge(user.NINO, "x", anyCorrID), api(user.AccessToken), `[{"code":"FORMAT_REPORT_ID","message":"The provided Report ID is invalid"}]`},
		{"authority", produce(other.NINO, "2025-26", anyCalcID), api(user.AccessToken), `[{"code":"CLIENT_OR_AGENT_NOT_AUTHORISED","message":"The client and/or agent is not authorised."}]`},
		{"calculation_not_found", produce(user.NINO, "2025-26", notFoundCalcID), api(user.AccessToken), `[{"code":"MATCHING_CALCULATION_ID_NOT_FOUND","message":"The Calculation ID was not found at this time. You can try again later."}]`},
		{"report_not_found", acknowledge(user.NINO, anyReportID, anyCorrID), api(user.AccessToken), `[{"code":"MATCHING_RESOURCE_NOT_FOUND","message":"A resource with the name in the request can not be found in the API"}]`},
		{"scenario", produce(user.NINO, "2025-26", anyCalcID), api(user.AccessToken, "Gov-Test-Scenario", "X"), `[{"code":"RULE_INCORRECT_GOV_TEST_SCENARIO","message":"The Gov-Test-Scenario was not found"}]`},
		{"unknown_path", "/reports", nil, `{"code":"MATCHING_RESOURCE_NOT_FOUND","message":"A resource with the name in the request can not be found in the API"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := h.with(t).do("POST", tc.path, tc.header, "")
			if string(got.body) != tc.want {
				t.Errorf("POST %s body = %s, want %s", tc.path, got.body, tc.want)
			}
		})
	}
}

func TestProduceAndAcknowledge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	user := h.newIndividual(`{}`)

	r := h.do("POST", produce(user.NINO, "2025-26", anyCalcID), api(user.AccessToken), "")
	if r.status != http.StatusOK {
		t.Fatalf("produce = %d %s, want 200", r.status, r.body)
	}
	var rep wireReport
	r.decode(t, &rep)
	if rep.NINO != user.NINO || rep.TaxYear != "2025-26" || rep.CalculationID != anyCalcID || len(rep.Messages) == 0 {
		t.Errorf("report = %+v, want the example report for %s 2025-26 %s", rep, user.NINO, anyCalcID)
	}
	// The exact bytes returned are stored with the report, with its
	// correlation id.
	stored, ack, err := h.db.Report(context.Background(), rep.ReportID)
	if err != nil {
		t.Fatalf("db.Report(%s) = %v", rep.ReportID, err)
	}
	if string(stored.Body) != string(r.body) {
		t.Errorf("stored body = %s, want the response %s", stored.Body, r.body)
	}
	if stored.CorrelationID != rep.CorrelationID || ack != nil {
		t.Errorf("stored correlation id %s, acknowledgement %v; want %s, nil", stored.CorrelationID, ack, rep.CorrelationID)
	}
	if stored.RequestID != r.header.Get("X-CorrelationId") {
		t.Errorf("stored request id = %s, want the response's X-CorrelationId %s", stored.RequestID, r.header.Get("X-CorrelationId"))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, r.body); err != nil || compact.String() != string(r.body) {
		t.Errorf("body %s is not compact JSON", r.body)
	}

	// A second call makes a new report.
	var rep2 wireReport
	h.do("POST", produce(user.NINO, "2025-26", anyCalcID), api(user.AccessToken), "").decode(t, &rep2)
	if rep2.ReportID == rep.ReportID || rep2.CorrelationID == rep.CorrelationID {
		t.Errorf("second report %s/%s repeats the first %s/%s", rep2.ReportID, rep2.CorrelationID, rep.ReportID, rep.CorrelationID)
	}

	// Wrong correlation id, then another NINO's report, then the real thing.
	if got := h.do("POST", acknowledge(user.NINO, rep.ReportID, anyCorrID), api(user.AccessToken), ""); got.status != 403 || got.codes(t)[0] != "CORRELATION_ID_NOT_AUTHORISED" {
		t.Errorf("acknowledge with a wrong correlation id = %d %s, want 403 CORRELATION_ID_NOT_AUTHORISED", got.status, got.body)
	}
	other := h.newIndividual(`{}`)
	if got := h.do("POST", acknowledge(other.NINO, rep.ReportID, rep.CorrelationID), api(other.AccessToken), ""); got.status != 404 {
		t.Errorf("acknowledge another NINO's report = %d %s, want 404", got.status, got.body)
	}
	if got := h.do("POST", acknowledge(user.NINO, rep.ReportID, rep.CorrelationID), api(user.AccessToken), "{}"); got.status != 204 {
		t.Fatalf("acknowledge = %d %s, want 204", got.status, got.body)
	}
	first := h.storedReport(rep.ReportID)
	if first.Acknowledgement == nil || first.Acknowledgement.By.AffinityGroup != "Individual" || first.Acknowledgement.By.NINO != user.NINO {
		t.Fatalf("acknowledgement = %+v, want by Individual %s", first.Acknowledgement, user.NINO)
	}
	// A repeat (report id in upper case, without the prefix) is a 204 and
	// records nothing new.
	if got := h.do("POST", "/reports/acknowledge/"+user.NINO+"/"+strings.ToUpper(rep.ReportID)+"/"+rep.CorrelationID, api(user.AccessToken), ""); got.status != 204 {
		t.Fatalf("repeat acknowledge = %d %s, want 204", got.status, got.body)
	}
	if again := h.storedReport(rep.ReportID); again.Acknowledgement.AcknowledgedAt != first.Acknowledgement.AcknowledgedAt {
		t.Errorf("repeat changed the acknowledgement: %+v, was %+v", again.Acknowledgement, first.Acknowledgement)
	}

	// The stored view carries rule ids and the report's fields.
	sr := h.storedReport(rep.ReportID)
	if sr.RuleSetVersion == "" || sr.Language != "en" || sr.CorrelationID != rep.CorrelationID || len(sr.Messages) != len(rep.Messages) || sr.Messages[0].RuleID == "" {
		t.Errorf("stored report = %+v", sr)
	}

	// No token ever reaches the logs.
	if strings.Contains(h.logs.String(), user.AccessToken[:40]) {
		t.Errorf("logs contain a token")
	}
	if !strings.Contains(h.logs.String(), r.header.Get("X-CorrelationId")) {
		t.Errorf("logs lack the request line with correlation id %s", r.header.Get("X-CorrelationId"))
	}
}

func TestNoMessagesIsRecorded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	user := h.newIndividual(`{}`)
	for range 2 {
		if got := h.do("POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), ""); got.status != 204 {
			t.Fatalf("produce = %d %s, want 204", got.status, got.body)
		}
	}
	ids, err := h.db.ReportIDs(context.Background(), user.NINO, "2025-26", noMessagesID)
	if err != nil || len(ids) != 2 {
		t.Fatalf("ReportIDs() = %v, %v; want two reports", ids, err)
	}
	sr := h.storedReport(ids[0])
	if len(sr.Messages) != 0 || sr.Acknowledgement != nil {
		t.Errorf("stored report = %+v, want no messages and no acknowledgement", sr)
	}
	stored, _, _ := h.db.Report(context.Background(), ids[0])
	if stored.Body != nil {
		t.Errorf("stored body = %q, want none for a 204", stored.Body)
	}
}

// TestStoredCalculation runs the real rule catalogue on a loaded calculation,
// with a cap below the number of messages that apply: the report shows the
// first ones in the engine's order and stores all of them.
func TestStoredCalculation(t *testing.T) {
	t.Parallel()
	data, c := nudges(t)
	const maxMessages = 2
	h := newHarness(t, harnessOptions{maxMessages: maxMessages})
	user := h.newIndividual(`{}`)
	put := "/test-support/calculations/" + user.NINO + "/" + c.TaxYear + "/" + c.CalculationID
	if got := h.do("PUT", put, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
		t.Fatalf("PUT calculation = %d %s, want 204", got.status, got.body)
	}
	for _, lang := range []string{"en", "cy;q=0.9, en;q=0.8", "en-GB,en;q=0.9,cy;q=0.1", "cy"} {
		wantLang := rules.English
		if strings.HasPrefix(lang, "cy") {
			wantLang = rules.Welsh
		}
		want, err := realCatalogue(t).Evaluate(context.Background(), c, wantLang)
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Messages) <= maxMessages {
			t.Fatalf("the calculation gives %d messages; the test needs more than %d", len(want.Messages), maxMessages)
		}
		got := h.do("POST", produce(user.NINO, c.TaxYear, c.CalculationID), api(user.AccessToken, "Accept-Language", lang), "")
		if got.status != 200 {
			t.Fatalf("produce = %d %s, want 200", got.status, got.body)
		}
		var rep wireReport
		got.decode(t, &rep)
		if len(rep.Messages) != maxMessages || rep.CalculationID != c.CalculationID {
			t.Fatalf("report has %d messages for %s, want %d for %s", len(rep.Messages), rep.CalculationID, maxMessages, c.CalculationID)
		}
		for i, m := range rep.Messages {
			if m.Title != want.Messages[i].Title {
				t.Errorf("Accept-Language %q: message %d = %q, want the engine's %q", lang, i, m.Title, want.Messages[i].Title)
			}
		}
		sr := h.storedReport(rep.ReportID)
		if sr.Language != string(wantLang) || sr.RuleSetVersion != realCatalogue(t).Version() {
			t.Errorf("Accept-Language %q: stored language %s, rule set %s; want %s, %s", lang, sr.Language, sr.RuleSetVersion, wantLang, realCatalogue(t).Version())
		}
		if len(sr.Messages) != len(want.Messages) {
			t.Fatalf("stored %d messages, want all %d that applied", len(sr.Messages), len(want.Messages))
		}
		for i, m := range sr.Messages {
			if m.RuleID != want.Messages[i].RuleID || m.Shown != (i < maxMessages) {
				t.Errorf("stored message %d = %s shown %v, want %s shown %v", i, m.RuleID, m.Shown, want.Messages[i].RuleID, i < maxMessages)
			}
		}
	}
	// A stored calculation wins over the example report, and is found only
	// under its own NINO and tax year.
	if got := h.do("POST", produce(user.NINO, "2024-25", c.CalculationID), api(user.AccessToken), ""); got.status != 200 {
		t.Errorf("produce for another tax year = %d, want 200 (the example report)", got.status)
	}
}

func TestAgents(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{supportingAgents: map[string]bool{"acknowledge": true}})
	client := h.newIndividual(`{}`)
	main := h.newAgent(`{}`)
	supp := h.newAgent(`{"arn":"ZARN0000001"}`)
	stranger := h.newAgent(`{}`)
	put := func(a agent, kind string) {
		t.Helper()
		if got := h.do("PUT", "/test-support/agents/"+a.ARN+"/clients/"+client.NINO, nil, `{"type":"`+kind+`"}`); got.status != 204 {
			t.Fatalf("PUT client = %d %s", got.status, got.body)
		}
	}
	put(main, "main")
	put(supp, "supporting")

	// A main agent produces and acknowledges.
	r := h.do("POST", produce(client.NINO, "2025-26", anyCalcID), api(main.AccessToken), "")
	if r.status != 200 {
		t.Fatalf("main agent produce = %d %s, want 200", r.status, r.body)
	}
	var rep wireReport
	r.decode(t, &rep)
	// A supporting agent may not produce (not configured) but may acknowledge (configured).
	if got := h.do("POST", produce(client.NINO, "2025-26", anyCalcID), api(supp.AccessToken), ""); got.status != 403 {
		t.Errorf("supporting agent produce = %d %s, want 403", got.status, got.body)
	}
	if got := h.do("POST", acknowledge(client.NINO, rep.ReportID, rep.CorrelationID), api(supp.AccessToken), ""); got.status != 204 {
		t.Errorf("supporting agent acknowledge = %d %s, want 204", got.status, got.body)
	}
	if sr := h.storedReport(rep.ReportID); sr.Acknowledgement == nil || sr.Acknowledgement.By.AffinityGroup != "Agent" || sr.Acknowledgement.By.ARN != supp.ARN {
		t.Errorf("acknowledgement = %+v, want by Agent %s", sr.Acknowledgement, supp.ARN)
	}
	// An agent the client did not authorise.
	if got := h.do("POST", produce(client.NINO, "2025-26", anyCalcID), api(stranger.AccessToken), ""); got.status != 403 {
		t.Errorf("unauthorised agent produce = %d, want 403", got.status)
	}
	// Withdrawn authorisation.
	if got := h.do("DELETE", "/test-support/agents/"+main.ARN+"/clients/"+client.NINO, nil, ""); got.status != 204 {
		t.Fatalf("DELETE client = %d %s", got.status, got.body)
	}
	if got := h.do("POST", produce(client.NINO, "2025-26", anyCalcID), api(main.AccessToken), ""); got.status != 403 {
		t.Errorf("produce after withdrawal = %d, want 403", got.status)
	}
	// An agent token without an agent services account.
	noASA, _, _ := h.issuer.Issue(&auth.Principal{AffinityGroup: identity.Agent, ARN: supp.ARN, Scopes: []string{"read:self-assessment-assist"}})
	if got := h.do("POST", produce(client.NINO, "2025-26", anyCalcID), api(string(noASA)), ""); got.status != 403 {
		t.Errorf("agent without HMRC-AS-AGENT = %d, want 403", got.status)
	}
}

func TestTestSupport(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	a := h.newAgent(`{"arn":"AARN1234567"}`)
	in := h.newIndividual(`{"nino":"TC663795B"}`)
	if in.NINO != "TC663795B" || in.MTDITID == "" || in.ExpiresIn != 3600 {
		t.Errorf("individual = %+v", in)
	}
	calcPath := "/test-support/calculations/TC663795B/2025-26/9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCodes  []string
	}{
		{"individual_bad_nino", "POST", "/test-support/individuals", `{"nino":"GB123456A"}`, 400, []string{"INVALID_REQUEST"}},
		{"individual_unknown_field", "POST", "/test-support/individuals", `{"name":"x"}`, 400, []string{"INVALID_REQUEST"}},
		{"individual_bad_scope", "POST", "/test-support/individuals", `{"scopes":["admin"]}`, 400, []string{"INVALID_REQUEST"}},
		{"individual_not_json", "POST", "/test-support/individuals", `nope`, 400, []string{"INVALID_REQUEST"}},
		{"individual_empty_body", "POST", "/test-support/individuals", ``, 201, nil},
		{"agent_bad_arn", "POST", "/test-support/agents", `{"arn":"123"}`, 400, []string{"INVALID_REQUEST"}},
		{"client_unknown_agent", "PUT", "/test-support/agents/BARN7654321/clients/TC663795B", `{"type":"main"}`, 404, []string{"AGENT_NOT_FOUND"}},
		{"client_bad_type", "PUT", "/test-support/agents/" + a.ARN + "/clients/TC663795B", `{"type":"other"}`, 400, []string{"INVALID_REQUEST"}},
		{"client_bad_nino", "PUT", "/test-support/agents/" + a.ARN + "/clients/XX", `{"type":"main"}`, 400, []string{"FORMAT_NINO"}},
		{"client_delete_unknown_agent", "DELETE", "/test-support/agents/BARN7654321/clients/TC663795B", ``, 204, nil},
		{"client_delete_twice", "DELETE", "/test-support/agents/" + a.ARN + "/clients/AB123456C", ``, 204, nil},
		{"client_delete_bad_arn", "DELETE", "/test-support/agents/x/clients/AB123456C", ``, 400, []string{"INVALID_REQUEST"}},
		{"calculation_not_json", "PUT", calcPath, `{`, 400, []string{"INVALID_CALCULATION"}},
		{"calculation_not_a_calculation", "PUT", calcPath, `{"hello":"world"}`, 400, []string{"INVALID_CALCULATION"}},
		{"calculation_other_year", "PUT", "/test-support/calculations/TC663795B/2024-25/9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b", string(data), 400, []string{"INVALID_CALCULATION"}},
		{"calculation_other_id", "PUT", "/test-support/calculations/TC663795B/2025-26/" + anyCalcID, string(data), 400, []string{"INVALID_CALCULATION"}},
		{"calculation_bad_path", "PUT", "/test-support/calculations/X/2018-20/y", string(data), 400, []string{"FORMAT_NINO", "RULE_TAX_YEAR_RANGE_INVALID", "FORMAT_CALC_ID"}},
		{"calculation_ok", "PUT", calcPath, string(data), 204, nil},
		{"report_unknown", "GET", "/test-support/reports/" + anyReportID, ``, 404, []string{"MATCHING_RESOURCE_NOT_FOUND"}},
		{"report_bad_id", "GET", "/test-support/reports/x", ``, 400, []string{"FORMAT_REPORT_ID"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Test support accepts any Accept header.
			got := h.with(t).do(tc.method, tc.path, headers("Accept", "text/html"), tc.body)
			if got.status != tc.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, got.status, got.body, tc.wantStatus)
			}
			if tc.wantCodes != nil {
				if diff := cmp.Diff(tc.wantCodes, got.codes(t)); diff != "" {
					t.Errorf("codes (-want +got):\n%s\nbody %s", diff, got.body)
				}
			}
		})
	}
}

func TestPlatformEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for _, prefix := range []string{"", "/individuals/self-assessment/assist"} {
		def := h.do("GET", prefix+"/api/definition", nil, "")
		var d struct {
			API struct {
				Name       string   `json:"name"`
				Context    string   `json:"context"`
				Categories []string `json:"categories"`
				Versions   []struct {
					Version string `json:"version"`
					Status  string `json:"status"`
				} `json:"versions"`
			} `json:"api"`
		}
		def.decode(t, &d)
		if def.status != 200 || d.API.Name != "Self Assessment Assist (MTD)" || d.API.Context != "individuals/self-assessment/assist" ||
			d.API.Categories[0] != "INCOME_TAX_MTD" || d.API.Versions[0].Version != "1.0" || d.API.Versions[0].Status != "BETA" {
			t.Errorf("GET %s/api/definition = %d %s", prefix, def.status, def.body)
		}
		docs := h.do("GET", prefix+"/api/conf/1.0/application.yaml", nil, "")
		if docs.status != 200 || !strings.Contains(string(docs.body), "openapi: 3.0.3") {
			t.Errorf("GET %s/api/conf/1.0/application.yaml = %d", prefix, docs.status)
		}
		if got := h.do("GET", prefix+"/ping/ping", nil, ""); got.status != 200 {
			t.Errorf("GET %s/ping/ping = %d", prefix, got.status)
		}
		if got := h.do("GET", prefix+"/health/ready", nil, ""); got.status != 200 {
			t.Errorf("GET %s/health/ready = %d", prefix, got.status)
		}
	}
	h.db.Close()
	if got := h.do("GET", "/health/ready", nil, ""); got.status != 503 {
		t.Errorf("GET /health/ready with the store closed = %d %s, want 503", got.status, got.body)
	}
}

func TestProductionHasNoSandbox(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{production: true})
	if got := h.do("POST", "/test-support/individuals", nil, `{}`); got.status != 404 {
		t.Errorf("POST /test-support/individuals = %d, want 404", got.status)
	}
	// Tokens still work, and scenarios and fixed ids do nothing: the
	// calculation source answers.
	tok, _, _ := h.issuer.Issue(&auth.Principal{AffinityGroup: identity.Individual, NINO: "TC663795B", MTDITID: "XAIT00000000001",
		ConfidenceLevel: 250, Enrolments: []string{auth.EnrolmentMTDIT}, Scopes: []string{"read:self-assessment-assist"}})
	for _, id := range []string{anyCalcID, noMessagesID} {
		got := h.do("POST", produce("TC663795B", "2025-26", id), api(string(tok), "Gov-Test-Scenario", "NOPE"), "")
		if got.status != 404 || got.codes(t)[0] != "MATCHING_CALCULATION_ID_NOT_FOUND" {
			t.Errorf("production produce %s = %d %s, want 404 MATCHING_CALCULATION_ID_NOT_FOUND", id, got.status, got.body)
		}
	}
}

// failingAnalyzer fails or panics, to check the 500 path.
type failingAnalyzer struct{ panic bool }

func (f failingAnalyzer) Analyze(ctx context.Context, c *calc.Calculation, _ *fraud.Assessment) (en, cy *rules.Result, err error) {
	if f.panic {
		panic("boom: secret detail")
	}
	return nil, nil, errors.New("engine broke: secret detail")
}

func TestInternalErrors(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, panics := range []bool{false, true} {
		h := newHarness(t, harnessOptions{analyzer: failingAnalyzer{panic: panics}})
		user := h.newIndividual(`{}`)
		if got := h.do("PUT", "/test-support/calculations/"+user.NINO+"/2025-26/9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b", nil, string(data)); got.status != 204 {
			t.Fatalf("PUT calculation = %d %s", got.status, got.body)
		}
		got := h.do("POST", produce(user.NINO, "2025-26", "9c7e1f2a-3b4d-4e5f-8a6b-7c8d9e0f1a2b"), api(user.AccessToken), "")
		want := `[{"code":"INTERNAL_SERVER_ERROR","message":"An internal server error occurred"}]`
		if got.status != 500 || string(got.body) != want {
			t.Errorf("panic=%v: produce = %d %s, want 500 %s", panics, got.status, got.body, want)
		}
		if !strings.Contains(h.logs.String(), "secret detail") {
			t.Errorf("panic=%v: the failure was not logged", panics)
		}
	}
}

// tamper changes one character of a token's signature.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestReportShowsTheFirstFiveOfExplain is the promise to integrators and
// rule authors alike: with the default cap, a report carries the first five
// messages in the engine's (explain's) order, and the stored report keeps
// the rest.
func TestReportShowsTheFirstFiveOfExplain(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../testdata/calculations/many-messages_TY2025-26_final.json")
	if err != nil {
		t.Fatal(err)
	}
	c, err := calc.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOptions{})
	user := h.newIndividual(`{}`)
	put := "/test-support/calculations/" + user.NINO + "/" + c.TaxYear + "/" + c.CalculationID
	if got := h.do("PUT", put, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
		t.Fatalf("PUT calculation = %d %s, want 204", got.status, got.body)
	}
	c.NINO = user.NINO // the report is about the NINO asked for
	want, err := realCatalogue(t).Evaluate(context.Background(), c, rules.English)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Messages) <= 5 {
		t.Fatalf("the calculation gives %d messages; the test needs more than five", len(want.Messages))
	}
	got := h.do("POST", produce(user.NINO, c.TaxYear, c.CalculationID), api(user.AccessToken), "")
	if got.status != 200 {
		t.Fatalf("produce = %d %s, want 200", got.status, got.body)
	}
	var rep wireReport
	got.decode(t, &rep)
	if len(rep.Messages) != 5 {
		t.Fatalf("report has %d messages, want 5", len(rep.Messages))
	}
	for i, m := range rep.Messages {
		w := want.Messages[i]
		if m.Title != w.Title || m.Body != w.Body || m.Action != w.Action || m.Path != w.Path {
			t.Errorf("message %d = %q (%s), want explain's %q (%s)", i, m.Title, m.Path, w.Title, w.Path)
		}
	}
	sr := h.storedReport(rep.ReportID)
	if len(sr.Messages) != len(want.Messages) {
		t.Fatalf("stored %d messages, want all %d", len(sr.Messages), len(want.Messages))
	}
	for i, m := range sr.Messages {
		if m.RuleID != want.Messages[i].RuleID || m.Shown != (i < 5) {
			t.Errorf("stored message %d = %s shown %v, want %s shown %v", i, m.RuleID, m.Shown, want.Messages[i].RuleID, i < 5)
		}
	}
}
