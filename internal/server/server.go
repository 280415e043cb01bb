// Package server is the HTTP face of the service: HMRC's Self Assessment
// Assist API v1.0 (produce and acknowledge reports), the API platform's own
// endpoints (definition, documentation, health) and, in sandbox mode, the
// test-support endpoints that create users, authorise agents and load
// calculations. routes.go lists every route; errors.go is the one place
// where errors become HTTP statuses and HMRC error bodies.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/logging"
	"github.com/open-assist/assist/internal/metrics"
	"github.com/open-assist/assist/internal/oauth"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/store"
	"github.com/open-assist/assist/internal/tracing"
	"github.com/open-assist/assist/internal/web"
)

// Options are the dependencies and settings of a Server.
type Options struct {
	// Sandbox switches on the test-support endpoints, Gov-Test-Scenario and
	// the sandbox's fixed calculation ids.
	Sandbox bool
	Reports *report.Service
	Store   *store.DB
	// Relationships says whether a client authorised an agent: store.Main
	// or store.Supporting, or an error wrapping store.ErrNotFound; any
	// other error is answered 503 when it wraps relationships.ErrUnavailable.
	// Default: Store (the authorisations of assist agents).
	Relationships Relationships
	Verifier      *auth.Verifier
	// Issuer signs the sandbox's tokens; required in sandbox mode.
	Issuer *auth.Issuer
	// OAuth is the sandbox's OAuth 2.0 server (applications, sign-in,
	// /oauth/authorize and /oauth/token); required in sandbox mode and
	// never served in production.
	OAuth *oauth.Service
	Log   *slog.Logger
	// Now is the clock (the current tax year comes from it); default time.Now.
	Now func() time.Time
	// SupportingAgents lists the endpoints ("produce", "acknowledge") open to
	// supporting agents.
	SupportingAgents map[string]bool
	// AdminToken opens the rule authors' dashboard (/admin/rules); "" keeps
	// it closed.
	AdminToken string
	// Catalogue is the loaded rules, for the dashboard's rule pages.
	Catalogue *rules.Catalogue
	// APIStatus is the status of version 1.0 in the API definition.
	APIStatus string
	// RequestTimeout bounds the work of one API request (fetching and
	// evaluating the calculation); default 30s.
	RequestTimeout time.Duration
	// MaxCalculationBytes is the largest calculation test support stores;
	// default report.DefaultMaxCalculationBytes.
	MaxCalculationBytes int
	// RateLimit is how many API requests a second one token subject may
	// make, with bursts of RateBurst (default config.DefaultRateBurst); 0 is no limit.
	RateLimit float64
	RateBurst int
	// MaxInFlight bounds the API requests served at once (default
	// config.DefaultMaxInFlight); one
	// more waits up to QueueWait (default 1s) for a slot, then gets 503.
	MaxInFlight int
	QueueWait   time.Duration
	// Metrics records requests, admission and the messages of reports;
	// default metrics on a registry of their own, which nobody scrapes.
	Metrics *metrics.API
	// Tracing gives each request a span, the parent of the spans of the
	// work done for it; default a no-op provider.
	Tracing trace.TracerProvider
	// Propagator reads the trace a caller's request is part of; default
	// W3C Trace Context (traceparent).
	Propagator propagation.TextMapPropagator
}

// Relationships is where agent authorisations are checked.
type Relationships interface {
	Relationship(ctx context.Context, arn, nino string) (string, error)
}

// Caps on what a client may send. Real paths are under 200 bytes; headers
// are a bearer token and some twenty fraud prevention headers.
const (
	MaxURIBytes    = 2 << 10
	MaxHeaderBytes = 32 << 10
)

// Server serves the API.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	handler http.Handler
	rate    *rateLimiter // nil: no rate limit
	slots   *slots
	tracer  trace.Tracer
	pages   *web.Pages
	clients pageClients // the pages' own OAuth applications (sandbox)
	// catalogue is opts.Catalogue's rules by id, for the dashboard.
	catalogue map[string]rules.Rule
}

// New returns a Server, checking that it has what it needs.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Reports == nil:
		return nil, errors.New("server: missing report service")
	case opts.Store == nil:
		return nil, errors.New("server: missing store")
	case opts.Verifier == nil:
		return nil, errors.New("server: missing token verifier")
	case opts.Log == nil:
		return nil, errors.New("server: missing logger")
	case opts.Sandbox && opts.Issuer == nil:
		return nil, errors.New("server: sandbox mode needs a token issuer")
	case opts.Sandbox && opts.OAuth == nil:
		return nil, errors.New("server: sandbox mode needs an OAuth server")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Relationships == nil {
		opts.Relationships = opts.Store
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.MaxCalculationBytes <= 0 {
		opts.MaxCalculationBytes = report.DefaultMaxCalculationBytes
	}
	if opts.RateBurst <= 0 {
		opts.RateBurst = config.DefaultRateBurst
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = config.DefaultMaxInFlight
	}
	if opts.QueueWait <= 0 {
		opts.QueueWait = time.Second
	}
	if opts.APIStatus == "" {
		opts.APIStatus = "BETA"
	}
	if opts.Metrics == nil {
		m, err := metrics.NewAPI(prometheus.NewRegistry(), nil)
		if err != nil {
			return nil, err
		}
		opts.Metrics = m
	}
	if opts.Tracing == nil {
		opts.Tracing = noop.NewTracerProvider()
	}
	if opts.Propagator == nil {
		opts.Propagator = propagation.TraceContext{}
	}
	s := &Server{opts: opts, log: slog.New(NewLogHandler(opts.Log.Handler())), now: opts.Now,
		tracer: opts.Tracing.Tracer(tracing.Scope)}
	s.slots = &slots{ch: make(chan struct{}, opts.MaxInFlight), wait: opts.QueueWait}
	pages, err := web.New()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.catalogue = catalogueRules(opts.Catalogue)
	if opts.RateLimit > 0 {
		s.rate = newRateLimiter(opts.RateLimit, opts.RateBurst, maxRateKeys)
	}
	s.handler = s.base(s.fallback(s.routes()))
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Run serves on ln until ctx is done, then stops accepting connections and
// gives requests in flight up to grace to finish.
func (s *Server) Run(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return serve(ctx, srv, ln, grace, s.log)
}

// serve runs srv on ln until ctx is done, then shuts it down gracefully.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.InfoContext(ctx, "listening", slog.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", slog.String("addr", ln.Addr().String()), logging.Duration("grace", grace))
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
