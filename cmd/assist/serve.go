package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/go-jose/go-jose/v4"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/calc"
	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/metrics"
	"github.com/open-assist/assist/internal/oauth"
	"github.com/open-assist/assist/internal/relationships"
	"github.com/open-assist/assist/internal/report"
	"github.com/open-assist/assist/internal/rules"
	"github.com/open-assist/assist/internal/server"
	"github.com/open-assist/assist/internal/upstream"
	rulefiles "github.com/open-assist/assist/rules"
)

// signingKeyID names the sandbox's signing key in the store.
const signingKeyID = "sandbox-token-signing"

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

	var catalogueFS fs.FS = rulefiles.FS
	if cfg.Rules != "" {
		catalogueFS = os.DirFS(cfg.Rules)
	}
	cat, err := rules.Load(catalogueFS)
	if err != nil {
		return fmt.Errorf("load rules: %w", err)
	}
	// A catalogue that fails its own checks or cases would give wrong or
	// unlawful-looking advice: refuse it rather than serve it.
	if err := cat.Verify(ctx); err != nil {
		return fmt.Errorf("rules %s: %w", cat.Version(), err)
	}

	db, out, err := openBackend(ctx, cfg, -1, log)
	if err != nil {
		return err
	}
	defer db.Close()

	key, err := db.SigningKey(ctx, signingKeyID, auth.NewSigningKey)
	if err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	issuer, err := auth.NewIssuer(key, cfg.TokenIssuer, cfg.TokenAudience, cfg.TokenTTL, nil)
	if err != nil {
		return err
	}
	keys := issuer.PublicKeys()
	if cfg.JWKSFile != "" {
		if keys, err = readJWKS(cfg.JWKSFile); err != nil {
			return err
		}
	}
	verifier, err := auth.NewVerifier(cfg.TokenIssuer, cfg.TokenAudience, keys, nil)
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
	svc, err := report.NewService(db, catalogueAnalyzer{cat}, source, log, cfg.MaxMessages)
	if err != nil {
		return err
	}
	svc.MaxCalculationBytes = cfg.MaxCalculationBytes
	opts := server.Options{
		Sandbox:          cfg.Mode == config.Sandbox,
		Reports:          svc,
		Store:            db,
		Verifier:         verifier,
		Log:              log,
		SupportingAgents: cfg.SupportingAgents,
		APIStatus:        cfg.APIStatus,

		MaxCalculationBytes: cfg.MaxCalculationBytes,
		RateLimit:           cfg.RateLimit,
		RateBurst:           cfg.RateBurst,
		MaxInFlight:         cfg.MaxInFlight,
	}
	if cfg.AgentRelationshipsURL != "" {
		// Agent authorisations come from the relationships service, not
		// from assist agents.
		if opts.Relationships, err = relationships.New(cfg.AgentRelationshipsURL, relationships.Options{Timeout: cfg.AgentRelationshipsTimeout}); err != nil {
			return err
		}
	}
	if opts.Sandbox {
		opts.Issuer = issuer
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
	admin, err := startAdmin(ctx, cfg.AdminAddr, metrics.Handler(out, log), log)
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
		slog.Bool("agent_relationships_service", cfg.AgentRelationshipsURL != ""))
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

// catalogueAnalyzer runs the rule catalogue for the report service.
type catalogueAnalyzer struct{ cat *rules.Catalogue }

func (a catalogueAnalyzer) Analyze(ctx context.Context, c *calc.Calculation) (en, cy *rules.Result, err error) {
	return a.cat.EvaluateBoth(ctx, c)
}

// readJWKS reads the public keys of an external token issuer.
func readJWKS(path string) (jose.JSONWebKeySet, error) {
	var keys jose.JSONWebKeySet
	data, err := os.ReadFile(path)
	if err != nil {
		return keys, fmt.Errorf("read JWKS: %w", err)
	}
	if err := json.Unmarshal(data, &keys); err != nil {
		return keys, fmt.Errorf("read JWKS %s: %w", path, err)
	}
	return keys, nil
}
