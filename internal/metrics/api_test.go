package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
)

func TestAPI(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a, err := NewAPI(reg, []rules.Rule{{ID: "QUIET", Severity: rules.Info}, {ID: "LOUD", Severity: rules.Check}})
	if err != nil {
		t.Fatalf("NewAPI() = %v", err)
	}
	a.Request("POST /reports/{nino}/{taxYear}/{calculationId}", 401, "INVALID_CREDENTIALS", 3*time.Millisecond)
	a.Rejected(ReasonRateLimit)
	a.Started()
	a.Report(&report.Report{Shown: 1, Messages: []rules.Message{
		{RuleID: "LOUD", Severity: rules.Check},
		{RuleID: "LOUD", Severity: rules.Check},
		{RuleID: "LOUD", Severity: rules.Check},
	}})
	rec := httptest.NewRecorder()
	Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`assist_http_requests_total{code="INVALID_CREDENTIALS",route="POST /reports/{nino}/{taxYear}/{calculationId}",status="401"} 1`,
		`assist_http_request_duration_seconds_bucket{route="POST /reports/{nino}/{taxYear}/{calculationId}",le="0.005"} 1`,
		`assist_api_rejected_requests_total{reason="rate_limit"} 1`,
		`assist_api_rejected_requests_total{reason="saturation"} 0`,
		`assist_api_requests_in_flight 1`,
		`assist_report_messages_total{rule_id="LOUD",severity="check",shown="true"} 1`,
		`assist_report_messages_total{rule_id="LOUD",severity="check",shown="false"} 2`,
		`assist_report_messages_total{rule_id="QUIET",severity="info",shown="true"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Registering twice on one registry is a wiring mistake, and says so.
	if _, err := NewAPI(reg, nil); err == nil {
		t.Errorf("NewAPI() on a registry that has the API's metrics = nil error, want one")
	}
}
