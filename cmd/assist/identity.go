package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/config"
	"github.com/open-assist/assist/internal/store"
)

// signingKeyID names the sandbox's signing key in the store.
const signingKeyID = "sandbox-token-signing"

// newIdentity makes what verifies tokens and, in sandbox mode, what issues
// them. Production never reads or makes the sandbox's signing key, and
// refuses a database with sandbox data in it: keys, users and calculations
// made for testing must not meet real taxpayers. A key set fetched from
// cfg.JWKSURL is refreshed every cfg.JWKSRefresh until ctx is done.
func newIdentity(ctx context.Context, cfg *config.Config, db *store.DB, log *slog.Logger) (*auth.Verifier, *auth.Issuer, error) {
	var (
		issuer *auth.Issuer
		keys   auth.KeySource
		err    error
	)
	if cfg.Mode == config.Production {
		found, err := db.SandboxData(ctx)
		if err != nil {
			return nil, nil, err
		}
		if len(found) > 0 {
			return nil, nil, fmt.Errorf("production refuses a database with sandbox data in it (%s): give production a database of its own",
				strings.Join(found, "; "))
		}
	} else {
		key, err := db.SigningKey(ctx, signingKeyID, auth.NewSigningKey)
		if err != nil {
			return nil, nil, fmt.Errorf("signing key: %w", err)
		}
		if issuer, err = auth.NewIssuer(key, cfg.TokenIssuer, cfg.TokenAudience, cfg.TokenTTL, nil); err != nil {
			return nil, nil, err
		}
		if keys, err = auth.StaticKeys(issuer.PublicKeys()); err != nil {
			return nil, nil, err
		}
	}
	if cfg.JWKSURL != "" {
		jwks, err := auth.NewJWKS(ctx, auth.JWKSConfig{URL: cfg.JWKSURL, Log: log})
		if err != nil {
			return nil, nil, err
		}
		go jwks.Run(ctx, cfg.JWKSRefresh)
		keys = jwks
	}
	if keys == nil {
		// config.Validate requires --jwks-url in production.
		return nil, nil, errors.New("no key set to verify tokens with")
	}
	verifier, err := auth.NewVerifierFrom(auth.VerifierConfig{
		Issuer:      cfg.TokenIssuer,
		Audience:    cfg.TokenAudience,
		Keys:        keys,
		Claims:      cfg.Claims,
		MaxLifetime: cfg.TokenMaxLifetime,
	})
	if err != nil {
		return nil, nil, err
	}
	return verifier, issuer, nil
}
