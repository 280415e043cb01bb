package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.opentelemetry.io/otel/trace"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/fraud"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/metrics"
	"github.com/open-assist/assist/internal/oauth"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/server"
	"github.com/open-assist/assist/internal/store"
	rulefiles "github.com/open-assist/assist/rules"
)

const (
	testIssuer   = "assist-test"
	testAudience = "self-assessment-assist"
	v1           = hmrc.MediaTypeV1
)

// today is the test clock: 2026-27 is the current tax year.
var today = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

var (
	catalogueOnce sync.Once
	catalogue     *rules.Catalogue
	catalogueErr  error

	openapiOnce   sync.Once
	openapiRouter routers.Router
	openapiErr    error
)

// realCatalogue is the built-in rule catalogue, compiled once per test run.
func realCatalogue(tb testing.TB) *rules.Catalogue {
	tb.Helper()
	catalogueOnce.Do(func() { catalogue, catalogueErr = rules.Load(rulefiles.FS, rules.Reviewed()) })
	if catalogueErr != nil {
		tb.Fatalf("rules.Load() = %v", catalogueErr)
	}
	return catalogue
}

// syncBuffer collects logs from concurrent requests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// harness is a running server on a fresh SQLite file.
type harness struct {
	t      testing.TB
	url    string
	db     *store.DB
	issuer *auth.Issuer
	key    []byte // the issuer's private key
	logs   *syncBuffer
	// admin is the base URL of the operator's endpoint, GET /metrics, on
	// its own listener as assist serve has it.
	admin string
}

type harnessOptions struct {
	analyzer         report.Analyzer
	supportingAgents map[string]bool
	production       bool
	source           report.CalculationSource // default: the store
	maxMessages      int                      // default 5, as in production
	maxCalculation   int                      // default report.DefaultMaxCalculationBytes
	rateLimit        float64                  // default none
	rateBurst        int
	maxInFlight      int
	queueWait        time.Duration
	requestTimeout   time.Duration
	dsn              string               // default a fresh SQLite file
	maxConns         int                  // default store.DefaultMaxConns
	writeQueue       int                  // default store.DefaultWriteQueue
	relationships    server.Relationships // default the store
	// tracing receives the spans of requests; default a no-op provider.
	tracing trace.TracerProvider
	// clock is the time of the service; default a fixed day (today).
	clock func() time.Time
	// adminToken opens the dashboard; catalogue is what it shows.
	adminToken string
	// records queues NRS submissions (never delivered: no workers) in the
	// store's transactions, as assist serve with --nrs-url does.
	records bool
}

func newHarness(tb testing.TB, ho harnessOptions) *harness {
	tb.Helper()
	ctx := context.Background()
	dsn := ho.dsn
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(tb.TempDir(), "assist.db")
	}
	var storeOpts []store.Option
	if ho.maxConns > 0 {
		storeOpts = append(storeOpts, store.WithMaxConns(ho.maxConns))
	}
	if ho.writeQueue > 0 {
		storeOpts = append(storeOpts, store.WithWriteQueue(ho.writeQueue))
	}
	db, err := store.Open(ctx, dsn, storeOpts...)
	if err != nil {
		tb.Fatalf("store.Open() = %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	clock := func() time.Time { return today }
	if ho.clock != nil {
		clock = ho.clock
	}
	key, err := auth.NewSigningKey()
	if err != nil {
		tb.Fatal(err)
	}
	issuer, err := auth.NewIssuer(key, testIssuer, testAudience, time.Hour, clock)
	if err != nil {
		tb.Fatal(err)
	}
	verifier, err := auth.NewVerifier(testIssuer, testAudience, issuer.PublicKeys(), clock)
	if err != nil {
		tb.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	analyzer := ho.analyzer
	if analyzer == nil {
		analyzer = realCatalogue(tb)
	}
	var source report.CalculationSource = db
	if ho.source != nil {
		source = ho.source
	}
	maxMessages := ho.maxMessages
	if maxMessages == 0 {
		maxMessages = 5
	}
	svc, err := report.NewService(report.Options{
		Repo: db, Analyzer: analyzer, Source: source, Encode: server.EncodeReport, Log: log,
		MaxMessages: maxMessages, MaxCalculationBytes: ho.maxCalculation,
		NRS: ho.records, Sandbox: !ho.production, Now: clock,
	})
	if err != nil {
		tb.Fatal(err)
	}
	reg := metrics.NewRegistry()
	apiMetrics, err := metrics.NewAPI(reg, realCatalogue(tb).Rules())
	if err != nil {
		tb.Fatal(err)
	}
	reg.MustRegister(db.Collectors()...)
	opts := server.Options{
		Metrics:          apiMetrics,
		Sandbox:          !ho.production,
		Reports:          svc,
		Store:            db,
		Verifier:         verifier,
		Log:              log,
		Now:              clock,
		SupportingAgents: ho.supportingAgents,
		Relationships:    ho.relationships,

		MaxCalculationBytes: ho.maxCalculation,
		RateLimit:           ho.rateLimit,
		RateBurst:           ho.rateBurst,
		MaxInFlight:         ho.maxInFlight,
		QueueWait:           ho.queueWait,
		RequestTimeout:      ho.requestTimeout,
		Tracing:             ho.tracing,
		AdminToken:          ho.adminToken,
		Catalogue:           realCatalogue(tb),
	}
	if !ho.production {
		opts.Issuer = issuer
		if opts.OAuth, err = oauth.New(db, issuer, log); err != nil {
			tb.Fatal(err)
		}
		// The OAuth server keeps the real clock: the store compares its
		// expiries with its own, real, clock.
	}
	srv, err := server.New(opts)
	if err != nil {
		tb.Fatalf("server.New() = %v", err)
	}
	// The real http.Server (Run), with its caps and timeouts, on loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// net/http's Shutdown counts a connection that has sent no request yet
	// as busy for its first 5 seconds (a client may dial one speculatively),
	// so a grace of 5 seconds could run out with nothing in flight.
	go func() { done <- srv.Run(ctx, ln, 30*time.Second) }()
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	adminDone := make(chan error, 1)
	go func() { adminDone <- server.RunAdmin(ctx, adminLn, metrics.Handler(reg), log) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("server.Run() = %v", err)
		}
		if err := <-adminDone; err != nil {
			tb.Errorf("server.RunAdmin() = %v", err)
		}
	})
	return &harness{t: tb, url: "http://" + ln.Addr().String(), db: db, issuer: issuer, key: key, logs: logs, admin: "http://" + adminLn.Addr().String()}
}

// response is what a request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errors decodes an error body, object or array, into a list of codes.
func (r response) codes(tb testing.TB) []string {
	tb.Helper()
	var list []hmrc.Error
	if err := json.Unmarshal(r.body, &list); err != nil {
		var one hmrc.Error
		if err := json.Unmarshal(r.body, &one); err != nil {
			tb.Fatalf("body %s is not an error: %v", r.body, err)
		}
		list = []hmrc.Error{one}
	}
	var codes []string
	for _, e := range list {
		codes = append(codes, string(e.Code))
	}
	return codes
}

func (r response) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
}

var correlationIDPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// do sends a request and checks what every response must have: a fresh
// X-CorrelationId, Cache-Control: no-store and X-Content-Type-Options:
// nosniff, a JSON content type on JSON bodies, and agreement with the
// OpenAPI document.
func (h *harness) do(method, path string, header http.Header, body string) response {
	h.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs // keep the name's case as given
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	got := response{status: resp.StatusCode, header: resp.Header, body: data}
	if id := resp.Header.Get(hmrc.HeaderCorrelationID); !correlationIDPattern.MatchString(id) {
		h.t.Errorf("%s %s: X-CorrelationId = %q, want a lower-case UUID v4", method, path, id)
	}
	if len(data) > 0 && (data[0] == '{' || data[0] == '[') {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			h.t.Errorf("%s %s: Content-Type = %q, want application/json", method, path, ct)
		}
	}
	if cc, nosniff := resp.Header.Get("Cache-Control"), resp.Header.Get("X-Content-Type-Options"); cc != "no-store" || nosniff != "nosniff" {
		h.t.Errorf("%s %s: %d with Cache-Control %q, X-Content-Type-Options %q; want no-store and nosniff on every response", method, path, resp.StatusCode, cc, nosniff)
	}
	if resp.StatusCode == http.StatusNoContent && len(data) > 0 {
		h.t.Errorf("%s %s: 204 with a body %q", method, path, data)
	}
	h.checkOpenAPI(req, got)
	return got
}

// checkOpenAPI validates a response against the OpenAPI document, when the
// document has the route (it does not describe unknown paths or 405s).
func (h *harness) checkOpenAPI(req *http.Request, got response) {
	h.t.Helper()
	openapiOnce.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(server.OpenAPI)
		if err != nil {
			openapiErr = err
			return
		}
		openapiRouter, openapiErr = legacy.NewRouter(doc)
	})
	if openapiErr != nil {
		h.t.Fatalf("load OpenAPI document: %v", openapiErr)
	}
	// The document lists the API under its context; the server also answers
	// without it, and answers the platform endpoints under it too.
	u := *req.URL
	switch {
	case strings.HasPrefix(u.Path, "/reports/"):
		u.Path = hmrc.PathPrefix + u.Path
	case strings.HasPrefix(u.Path, hmrc.PathPrefix+"/") && !strings.HasPrefix(u.Path, hmrc.PathPrefix+"/reports/"):
		u.Path = strings.TrimPrefix(u.Path, hmrc.PathPrefix)
	}
	u.Scheme, u.Host = "", ""
	probe := req.Clone(context.Background())
	probe.URL = &u
	route, params, err := openapiRouter.FindRoute(probe)
	if err != nil {
		if got.status != http.StatusNotFound && got.status != http.StatusMethodNotAllowed {
			h.t.Errorf("%s %s: no route in the OpenAPI document (%v) but status %d", req.Method, req.URL.Path, err, got.status)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    probe,
			PathParams: params,
			Route:      route,
		},
		Status: got.status,
		Header: got.header,
		Body:   io.NopCloser(bytes.NewReader(got.body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		h.t.Errorf("%s %s: %d response %s does not match the OpenAPI document: %v", req.Method, req.URL.Path, got.status, got.body, err)
	}
}

// headers builds request headers from name, value pairs.
func headers(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

// api returns the headers of an API call with a token.
// api is an API call's headers: Accept, the token, kv, and, unless kv
// sends a connection method of its own, a valid set of fraud prevention
// headers, as real software sends.
func api(token string, kv ...string) http.Header {
	h := headers(append([]string{"Accept", v1, "Authorization", "Bearer " + token}, kv...)...)
	if h.Get("Gov-Client-Connection-Method") == "" {
		for i := 0; i < len(validFraudHeaders); i += 2 {
			h.Set(validFraudHeaders[i], validFraudHeaders[i+1])
		}
	}
	return h
}

// validFraudHeaders are a desktop app's headers, valid at the harness's
// clock (timestamps just before it).
var validFraudHeaders = []string{
	"Gov-Client-Connection-Method", "DESKTOP_APP_DIRECT",
	"Gov-Client-Device-ID", "beec798b-b366-47fa-b1f8-92cede14a1ce",
	"Gov-Client-User-IDs", "os=alice&my-application=alice123",
	"Gov-Client-Timezone", "UTC+00:00",
	"Gov-Client-Local-IPs", "10.1.2.3,fc00%3A%3A1",
	"Gov-Client-Local-IPs-Timestamp", "2026-11-25T11:59:00.000Z",
	"Gov-Client-MAC-Addresses", "ea%3A43%3A1a%3A5d%3A21%3A45",
	"Gov-Client-Screens", "width=1920&height=1080&scaling-factor=1&colour-depth=24",
	"Gov-Client-Window-Size", "width=1256&height=803",
	"Gov-Client-User-Agent", "os-family=Windows&os-version=10&device-manufacturer=Dell%20Inc.&device-model=XPS13",
	"Gov-Client-Multi-Factor", "type=TOTP&timestamp=2026-11-25T11%3A50Z&unique-reference=c6b8f3d1e2a4",
	"Gov-Vendor-Version", "my-application=1.6.0",
	"Gov-Vendor-License-IDs", "my-application=8D7963490527D33716835EE7C195516D5E562E03B224E9B359836466EE40CDE1",
	"Gov-Vendor-Product-Name", "My%20Application",
}

// individual is a sandbox test user.
type individual struct {
	NINO        string `json:"nino"`
	MTDITID     string `json:"mtdItId"`
	AccessToken string `json:"accessToken"`
	ExpiresIn   int    `json:"expiresIn"`
	UserID      string `json:"userId"`
	Password    string `json:"password"`
}

type agent struct {
	ARN         string `json:"arn"`
	AccessToken string `json:"accessToken"`
	ExpiresIn   int    `json:"expiresIn"`
	UserID      string `json:"userId"`
	Password    string `json:"password"`
}

func (h *harness) newIndividual(body string) individual {
	h.t.Helper()
	r := h.do("POST", "/test-support/individuals", nil, body)
	if r.status != http.StatusCreated {
		h.t.Fatalf("create individual %s: %d %s", body, r.status, r.body)
	}
	var in individual
	r.decode(h.t, &in)
	return in
}

func (h *harness) newAgent(body string) agent {
	h.t.Helper()
	r := h.do("POST", "/test-support/agents", nil, body)
	if r.status != http.StatusCreated {
		h.t.Fatalf("create agent %s: %d %s", body, r.status, r.body)
	}
	var a agent
	r.decode(h.t, &a)
	return a
}

// wireReport is a 200 body of "produce a report".
type wireReport struct {
	ReportID string `json:"reportId"`
	Messages []struct {
		Title  string `json:"title"`
		Body   string `json:"body"`
		Action string `json:"action"`
		Links  []struct {
			Title string `json:"title"`
			URL   string `json:"url"`
		} `json:"links"`
		Path string `json:"path"`
	} `json:"messages"`
	NINO          string `json:"nino"`
	TaxYear       string `json:"taxYear"`
	CalculationID string `json:"calculationId"`
	CorrelationID string `json:"correlationId"`
}

// storedReport is GET /test-support/reports/{id}.
type storedReport struct {
	ReportID       string `json:"reportId"`
	NINO           string `json:"nino"`
	TaxYear        string `json:"taxYear"`
	CalculationID  string `json:"calculationId"`
	CorrelationID  string `json:"correlationId"`
	RuleSetVersion string `json:"ruleSetVersion"`
	Language       string `json:"language"`
	CreatedAt      string `json:"createdAt"`
	Messages       []struct {
		RuleID string `json:"ruleId"`
		Title  string `json:"title"`
		Shown  bool   `json:"shown"`
	} `json:"messages"`
	Fraud           *fraud.Assessment `json:"fraud"`
	Acknowledgement *struct {
		AcknowledgedAt string `json:"acknowledgedAt"`
		By             struct {
			AffinityGroup string `json:"affinityGroup"`
			NINO          string `json:"nino"`
			ARN           string `json:"arn"`
		} `json:"by"`
	} `json:"acknowledgement"`
}

func (h *harness) storedReport(id string) storedReport {
	h.t.Helper()
	r := h.do("GET", "/test-support/reports/"+id, nil, "")
	if r.status != http.StatusOK {
		h.t.Fatalf("GET report %s: %d %s", id, r.status, r.body)
	}
	var sr storedReport
	r.decode(h.t, &sr)
	return sr
}

// nudges is the sandbox calculation the API tests load: its bytes, and as
// the engine reads it.
func nudges(tb testing.TB) ([]byte, *calc.Calculation) {
	tb.Helper()
	data, err := os.ReadFile("testdata/calculation_2025-26_nudges.json")
	if err != nil {
		tb.Fatal(err)
	}
	c, err := calc.Decode(data)
	if err != nil {
		tb.Fatal(err)
	}
	return data, c
}
