package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/metrics"
	"github.com/open-assist/assist/internal/oauth"
	"github.com/open-assist/assist/internal/relationships"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/server"
	"github.com/open-assist/assist/internal/tracing"
	"github.com/open-assist/assist/internal/upstream"
	rulefiles "github.com/open-assist/assist/rules"
)

// runServe runs the Self Assessment Assist API until ctx is done (SIGINT or
// SIGTERM), then finishes the requests in flight.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.LoadFor("serve", args, getenv, stdout, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)

	tp, flush, err := startTracing(ctx, getenv, cfg, log)
	if err != nil {
		return err
	}
	defer flush()

	// The built-in catalogue is reviewed code; one from --rules keeps
	// CEL's cost limit.
	catalogueFS, loadOpts := fs.FS(rulefiles.FS), []rules.LoadOption{rules.Reviewed()}
	if cfg.Rules != "" {
		catalogueFS, loadOpts = os.DirFS(cfg.Rules), nil
	}
	cat, err := rules.Load(catalogueFS, loadOpts...)
	if err != nil {
		return fmt.Errorf("load rules: %w", err)
	}
	// A catalogue that fails its own checks or cases would give wrong or
	// unlawful-looking advice: refuse it rather than serve it.
	if err := cat.Verify(ctx); err != nil {
		return fmt.Errorf("rules %s: %w", cat.Version(), err)
	}

	db, out, err := openBackend(ctx, cfg, -1, log, tp)
	if err != nil {
		return err
	}
	defer db.Close()

	// The key set's refresh stops when serve returns, however it returns.
	ctx, stopIdentity := context.WithCancel(ctx)
	defer stopIdentity()
	verifier, issuer, err := newIdentity(ctx, cfg, db, log)
	if err != nil {
		return err
	}

	var source report.CalculationSource = db
	if cfg.Mode == config.Production {
		up, err := upstream.New(cfg.UpstreamURL, cfg.UpstreamTimeout, cfg.UpstreamRetries, log)
		if err != nil {
			return err
		}
		up.MaxBytes = cfg.MaxCalculationBytes
		source = up
	}
	svc, err := report.NewService(report.Options{
		Repo:                db,
		Analyzer:            cat,
		Source:              source,
		Encode:              server.EncodeReport,
		Log:                 log,
		MaxMessages:         cfg.MaxMessages,
		MaxCalculationBytes: cfg.MaxCalculationBytes,
		NRS:                 out.NRSEnabled(),
		Events:              out.EventsEnabled(),
		Sandbox:             cfg.Mode == config.Sandbox,
	})
	if err != nil {
		return err
	}
	// One registry holds every metric /metrics serves: the runtime's, the
	// outbox's and the API's.
	reg := metrics.NewRegistry()
	if err := metrics.RegisterOutbox(reg, out, log); err != nil {
		return err
	}
	for _, c := range db.Collectors() {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register store metrics: %w", err)
		}
	}
	apiMetrics, err := metrics.NewAPI(reg, cat.Rules())
	if err != nil {
		return err
	}
	opts := server.Options{
		Sandbox:          cfg.Mode == config.Sandbox,
		Reports:          svc,
		Store:            db,
		Verifier:         verifier,
		Issuer:           issuer, // nil in production
		Log:              log,
		SupportingAgents: cfg.SupportingAgents,
		APIStatus:        cfg.APIStatus,
		AdminToken:       cfg.AdminToken,
		Catalogue:        cat,

		MaxCalculationBytes: cfg.MaxCalculationBytes,
		RateLimit:           cfg.RateLimit,
		RateBurst:           cfg.RateBurst,
		MaxInFlight:         cfg.MaxInFlight,
		Metrics:             apiMetrics,
		Tracing:             tp,
	}
	if cfg.AgentRelationshipsURL != "" {
		// Agent authorisations come from the relationships service, not
		// from assist agents.
		if opts.Relationships, err = relationships.New(cfg.AgentRelationshipsURL, relationships.Options{Timeout: cfg.AgentRelationshipsTimeout}); err != nil {
			return err
		}
	}
	if opts.Sandbox {
		if opts.OAuth, err = oauth.New(db, issuer, log); err != nil {
			return err
		}
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	admin, err := startAdmin(ctx, cfg.AdminAddr, metrics.Handler(reg), log)
	if err != nil {
		ln.Close()
		return err
	}
	if err := out.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	log.Info("starting", slog.String("mode", cfg.Mode), slog.String("addr", ln.Addr().String()),
		slog.String("db", db.Dialect()), slog.String("rule_set_version", cat.Version()),
		slog.Int("workers", cfg.Workers), slog.Bool("nrs", out.NRSEnabled()), slog.Bool("events", out.EventsEnabled()),
		slog.Bool("agent_relationships_service", cfg.AgentRelationshipsURL != ""), slog.Bool("traces", tracing.Enabled(getenv)))
	err = srv.Run(ctx, ln, cfg.ShutdownTimeout)
	stopOutbox(out, log)
	return errors.Join(err, admin())
}

// startAdmin serves /metrics on addr until ctx is done, when addr is set;
// the returned function waits for it to stop.
func startAdmin(ctx context.Context, addr string, metrics http.Handler, log *slog.Logger) (wait func() error, err error) {
	if addr == "" {
		return func() error { return nil }, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --admin-addr: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- server.RunAdmin(ctx, ln, metrics, log) }()
	return func() error { return <-done }, nil
}
