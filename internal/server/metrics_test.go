package server_test

import (
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/open-assist/assist/internal/hmrc"
)

// produceRoute is the route label of "produce a report" under the API's
// context: the pattern, never the path.
const produceRoute = "POST " + hmrc.PathPrefix + "/reports/{nino}/{taxYear}/{calculationId}"

// scrape is what GET /metrics on the admin listener served, by metric name.
type scrape map[string]*dto.MetricFamily

func (h *harness) scrape() scrape {
	h.t.Helper()
	resp, err := http.Get(h.admin + "/metrics")
	if err != nil {
		h.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("GET /metrics = %d, want 200", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		h.t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// value is the value of the series of name with exactly labels (a
// histogram's count of observations), and whether there is one.
func (s scrape) value(name string, labels map[string]string) (float64, bool) {
	f, ok := s[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, lp := range m.GetLabel() {
			got[lp.GetName()] = lp.GetValue()
		}
		if !maps.Equal(got, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// want checks that the series of name with labels has the value want; a
// missing series counts as 0.
func (s scrape) want(tb testing.TB, name string, labels map[string]string, want float64) {
	tb.Helper()
	if got, _ := s.value(name, labels); got != want {
		tb.Errorf("%s %v = %v, want %v", name, labels, got, want)
	}
}

// labelValues lists every label value of every assist_ series.
func (s scrape) labelValues() []string {
	var out []string
	for name, f := range s {
		if !strings.HasPrefix(name, "assist_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				out = append(out, lp.GetValue())
			}
		}
	}
	return out
}

// TestMetricsMessages: a produce counts each message of the report by its
// rule and severity, shown or hidden by the cap, once the report is given.
func TestMetricsMessages(t *testing.T) {
	t.Parallel()
	data, c := nudges(t)
	const maxMessages = 2
	h := newHarness(t, harnessOptions{maxMessages: maxMessages})
	severity := map[string]string{}
	for _, r := range realCatalogue(t).Rules() {
		severity[r.ID] = string(r.Severity)
	}
	// Every rule of the catalogue is reported from the start, at zero.
	before := h.scrape()
	for id, sev := range severity {
		if v, ok := before.value("assist_report_messages_total", map[string]string{"rule_id": id, "severity": sev, "shown": "true"}); !ok || v != 0 {
			t.Errorf("before any report: messages of %s = %v (present %v), want a 0", id, v, ok)
		}
	}
	user := h.newIndividual(`{}`)
	put := "/test-support/calculations/" + user.NINO + "/" + c.TaxYear + "/" + c.CalculationID
	if got := h.do("PUT", put, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
		t.Fatalf("PUT calculation = %d %s, want 204", got.status, got.body)
	}
	type key struct {
		rule  string
		shown bool
	}
	want := map[key]float64{}
	const reports = 2
	for range reports {
		got := h.do("POST", produce(user.NINO, c.TaxYear, c.CalculationID), api(user.AccessToken), "")
		if got.status != 200 {
			t.Fatalf("produce = %d %s, want 200", got.status, got.body)
		}
		var rep wireReport
		got.decode(t, &rep)
		for _, m := range h.storedReport(rep.ReportID).Messages {
			want[key{m.RuleID, m.Shown}]++
		}
	}
	var hidden float64
	for k, n := range want {
		if !k.shown {
			hidden += n
		}
	}
	if hidden == 0 {
		t.Fatalf("the calculation gives no more than %d messages; the test needs some hidden by the cap", maxMessages)
	}
	s := h.scrape()
	for id, sev := range severity {
		for _, shown := range []bool{true, false} {
			s.want(t, "assist_report_messages_total", map[string]string{"rule_id": id, "severity": sev, "shown": strconv.FormatBool(shown)}, want[key{id, shown}])
		}
	}
	var total float64
	for _, m := range s["assist_report_messages_total"].GetMetric() {
		total += m.GetCounter().GetValue()
	}
	var sum float64
	for _, n := range want {
		sum += n
	}
	if total != sum {
		t.Errorf("assist_report_messages_total sums to %v, want %v, the messages of the stored reports", total, sum)
	}
	s.want(t, "assist_http_requests_total", map[string]string{"route": produceRoute, "status": "200", "code": ""}, reports)
	s.want(t, "assist_http_request_duration_seconds", map[string]string{"route": produceRoute}, reports)
}

// TestMetricsRequests: each answer is counted under its route pattern, its
// status and its HMRC code; the rate limit's and saturation's refusals are
// counted as such; and no label holds a NINO.
func TestMetricsRequests(t *testing.T) {
	t.Parallel()
	an := blockingAnalyzer{started: make(chan struct{}, 1), release: make(chan struct{}), next: realCatalogue(t)}
	h := newHarness(t, harnessOptions{analyzer: an, rateLimit: 0.5, rateBurst: 3, maxInFlight: 1, queueWait: 50 * time.Millisecond})
	user := h.newIndividual(`{}`)
	data, c := nudges(t)
	if got := h.do("PUT", "/test-support/calculations/"+user.NINO+"/"+c.TaxYear+"/"+c.CalculationID, headers("Content-Type", "application/json"), string(data)); got.status != 204 {
		t.Fatalf("PUT calculation = %d %s", got.status, got.body)
	}

	// 401: a token that is not ours.
	if got := h.do("POST", produce(user.NINO, "2025-26", noMessagesID), api("not-a-token"), ""); got.status != 401 {
		t.Fatalf("produce with a bad token = %d %s, want 401", got.status, got.body)
	}
	// 404: a path the mux does not know, with a NINO in it.
	if got := h.do("GET", "/nowhere/"+user.NINO, nil, ""); got.status != 404 {
		t.Fatalf("GET an unknown path = %d, want 404", got.status)
	}
	// The first request of the burst holds the only slot...
	first := make(chan response, 1)
	go func() {
		first <- h.do("POST", produce(user.NINO, c.TaxYear, c.CalculationID), api(user.AccessToken), "")
	}()
	<-an.started
	if v, _ := h.scrape().value("assist_api_requests_in_flight", map[string]string{}); v != 1 {
		t.Errorf("assist_api_requests_in_flight while one produce runs = %v, want 1", v)
	}
	// ...so the second is refused for saturation: 503.
	if got := h.do("POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), ""); got.status != 503 {
		t.Fatalf("produce with no slot free = %d %s, want 503", got.status, got.body)
	}
	close(an.release)
	if r := <-first; r.status != 200 {
		t.Fatalf("the request in flight = %d %s, want 200", r.status, r.body)
	}
	// The third ends the burst; the fourth is over the rate: 429.
	if got := h.do("POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), ""); got.status != 204 {
		t.Fatalf("produce within the burst = %d %s, want 204", got.status, got.body)
	}
	if got := h.do("POST", produce(user.NINO, "2025-26", noMessagesID), api(user.AccessToken), ""); got.status != 429 {
		t.Fatalf("produce over the rate = %d %s, want 429", got.status, got.body)
	}

	s := h.scrape()
	for _, tc := range []struct {
		status string
		code   hmrc.Code
		want   float64
	}{
		{"200", "", 1},
		{"204", "", 1},
		{"401", hmrc.CodeInvalidCredentials, 1},
		{"503", hmrc.CodeServiceUnavailable, 1},
		{"429", hmrc.CodeMessageThrottledOut, 1},
	} {
		s.want(t, "assist_http_requests_total", map[string]string{"route": produceRoute, "status": tc.status, "code": string(tc.code)}, tc.want)
	}
	s.want(t, "assist_http_requests_total", map[string]string{"route": "(none)", "status": "404", "code": string(hmrc.CodeMatchingResourceNotFound)}, 1)
	s.want(t, "assist_http_request_duration_seconds", map[string]string{"route": produceRoute}, 5)
	s.want(t, "assist_api_rejected_requests_total", map[string]string{"reason": "rate_limit"}, 1)
	s.want(t, "assist_api_rejected_requests_total", map[string]string{"reason": "saturation"}, 1)
	s.want(t, "assist_api_requests_in_flight", map[string]string{}, 0)

	nino := regexp.MustCompile(`[A-Z]{2}[0-9]{6}[A-D]`)
	if i := slices.IndexFunc(s.labelValues(), nino.MatchString); i >= 0 {
		t.Errorf("a label holds a NINO: %q", s.labelValues()[i])
	}
}

// TestAdminProfiles: the admin listener serves Go's profiles for the
// engineer on call, but not the command line, which may hold a secret.
func TestAdminProfiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOptions{})
	for path, want := range map[string]int{
		"/debug/pprof/heap":      http.StatusOK,
		"/debug/pprof/goroutine": http.StatusOK,
		"/debug/pprof/cmdline":   http.StatusNotFound,
		"/debug/pprof/symbol":    http.StatusNotFound,
	} {
		resp, err := http.Get(h.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
}
