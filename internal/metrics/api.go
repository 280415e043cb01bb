package metrics

import (
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
)

// Reasons an API request is turned away before it is served.
const (
	ReasonRateLimit  = "rate_limit" // its token's subject is over the rate limit: 429
	ReasonSaturation = "saturation" // no slot among the requests in flight freed in time: 503
)

// API records how the API is used. Its labels are bounded: routes are the
// server's fixed patterns (never a path, which holds a NINO), codes are
// HMRC's error code constants, and rule ids come from the loaded catalogue.
type API struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	messages *prometheus.CounterVec
	rejected *prometheus.CounterVec
	inFlight prometheus.Gauge
	fraud    *prometheus.CounterVec
}

// NewAPI registers the API's metrics on reg. The messages of catalogue are
// reported from the start, at zero, so that a rule that never fires shows
// as a zero rather than a missing series.
func NewAPI(reg prometheus.Registerer, catalogue []rules.Rule) (*API, error) {
	a := &API{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assist_http_requests_total",
			Help: "HTTP requests answered, by route pattern, status and the HMRC error code of the body (\"\" when there is none).",
		}, []string{"route", "status", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "assist_http_request_duration_seconds",
			Help: "Time from receiving an HTTP request to its handler returning, by route pattern.",
			// From a ping (a millisecond) to a produce at the request
			// timeout (30s).
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assist_report_messages_total",
			Help: "Messages of the reports produced, by rule, severity, and whether the report showed them (shown=\"false\": hidden by the cap on messages).",
		}, []string{"rule_id", "severity", "shown"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assist_api_rejected_requests_total",
			Help: "API requests turned away before being served: reason=\"rate_limit\" (429) or \"saturation\" (503, no slot among the requests in flight).",
		}, []string{"reason"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "assist_api_requests_in_flight",
			Help: "API requests being served now (holding one of the --max-in-flight slots).",
		}),
		fraud: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "assist_fraud_headers_total",
			Help: "API requests by the fraud prevention headers they carried: connection_method (one of the eight, or \"none\") and outcome (VALID_HEADERS, POTENTIALLY_INVALID_HEADERS, INVALID_HEADERS or NO_HEADERS).",
		}, []string{"connection_method", "outcome"}),
	}
	for _, c := range []prometheus.Collector{a.requests, a.latency, a.messages, a.rejected, a.inFlight, a.fraud} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register API metrics: %w", err)
		}
	}
	for _, r := range catalogue {
		for _, shown := range []string{"true", "false"} {
			a.messages.WithLabelValues(r.ID, string(r.Severity), shown)
		}
	}
	for _, reason := range []string{ReasonRateLimit, ReasonSaturation} {
		a.rejected.WithLabelValues(reason)
	}
	return a, nil
}

// Request records an answered request: its route pattern ("(none)" when no
// route matched), status, HMRC error code ("" on success) and duration.
func (a *API) Request(route string, status int, code string, d time.Duration) {
	a.requests.WithLabelValues(route, strconv.Itoa(status), code).Inc()
	a.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Rejected records a request turned away for reason (ReasonRateLimit or
// ReasonSaturation).
func (a *API) Rejected(reason string) { a.rejected.WithLabelValues(reason).Inc() }

// Started records that an API request took a slot among those in flight.
func (a *API) Started() { a.inFlight.Inc() }

// Finished records that an API request gave its slot back.
func (a *API) Finished() { a.inFlight.Dec() }

// FraudHeaders records the outcome of one request's fraud prevention
// headers. method must be one of fraud.Methods or "none", so that the
// label stays bounded whatever clients send.
func (a *API) FraudHeaders(method, outcome string) { a.fraud.WithLabelValues(method, outcome).Inc() }

// Report records the messages of a report the client was given.
func (a *API) Report(r *report.Report) {
	for i, m := range r.Messages {
		a.messages.WithLabelValues(m.RuleID, string(m.Severity), strconv.FormatBool(i < r.Shown)).Inc()
	}
}
