package oauth

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strings"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/store"
)

// TokenRequest is a POST /oauth/token: the client's credentials (from HTTP
// Basic or the body) and the form.
type TokenRequest struct {
	ClientID     string
	ClientSecret string
	GrantType    string
	Code         string
	RedirectURI  string
	RefreshToken string
	Scope        string
}

// TokenResponse is a successful answer of the token endpoint (RFC 6749
// section 5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	TokenType    string `json:"token_type"`
}

// Token answers a token request. Errors the client caused are *Error;
// others are the server's.
func (s *Service) Token(ctx context.Context, req TokenRequest) (*TokenResponse, error) {
	app, err := s.authenticate(ctx, req.ClientID, req.ClientSecret)
	if err != nil {
		return nil, err
	}
	switch req.GrantType {
	case "authorization_code":
		return s.exchangeCode(ctx, app, req)
	case "refresh_token":
		return s.refresh(ctx, app, req)
	case "client_credentials":
		return s.clientCredentials(app, req)
	case "":
		return nil, oauthError(ErrInvalidRequest, "grant_type is missing")
	default:
		return nil, oauthError(ErrUnsupportedGrantType, "grant_type must be authorization_code, refresh_token or client_credentials")
	}
}

// authenticate checks the client's credentials; any failure is the same
// invalid_client, so that client ids cannot be probed.
func (s *Service) authenticate(ctx context.Context, clientID, secret string) (*store.Application, error) {
	if clientID == "" || secret == "" {
		return nil, oauthError(ErrInvalidClient, "client authentication is required")
	}
	bad := oauthError(ErrInvalidClient, "client authentication failed")
	if len(clientID) > maxFieldLen || len(secret) > maxFieldLen {
		return nil, bad
	}
	app, err := s.store.Application(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if !sameHash(secret, app.SecretHash) {
		return nil, bad
	}
	return app, nil
}

func (s *Service) exchangeCode(ctx context.Context, app *store.Application, req TokenRequest) (*TokenResponse, error) {
	if len(app.RedirectURIs) == 0 {
		return nil, oauthError(ErrUnauthorizedClient, "the application has no redirect URIs, so it may only use client_credentials")
	}
	if req.Code == "" || req.RedirectURI == "" {
		return nil, oauthError(ErrInvalidRequest, "code and redirect_uri are required")
	}
	invalid := oauthError(ErrInvalidGrant, "the code is unknown, expired, already used, or was issued to another client or redirect URI")
	if len(req.Code) > maxFieldLen {
		return nil, invalid
	}
	// The code is used up by this attempt whatever its outcome.
	code, err := s.store.TakeAuthCode(ctx, hash(req.Code))
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if code.ClientID != app.ClientID || code.RedirectURI != req.RedirectURI {
		return nil, invalid
	}
	scopes := strings.Fields(code.Scope)
	p, err := s.principal(ctx, code.UserID, scopes)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauthError(ErrInvalidGrant, "the user no longer exists")
	}
	if err != nil {
		return nil, err
	}
	p.ClientID = app.ClientID
	resp, err := s.issue(p, code.Scope)
	if err != nil {
		return nil, err
	}
	refresh := rand.Text() + rand.Text()
	now := s.Now().UTC()
	rt := &store.RefreshToken{TokenHash: hash(refresh), ClientID: app.ClientID, UserID: code.UserID, Scope: code.Scope,
		ExpiresAt: now.Add(RefreshTTL), CreatedAt: now}
	if err := s.store.CreateRefreshToken(ctx, rt); err != nil {
		return nil, err
	}
	resp.RefreshToken = refresh
	return resp, nil
}

func (s *Service) refresh(ctx context.Context, app *store.Application, req TokenRequest) (*TokenResponse, error) {
	if req.RefreshToken == "" {
		return nil, oauthError(ErrInvalidRequest, "refresh_token is required")
	}
	invalid := oauthError(ErrInvalidGrant, "the refresh token is unknown, expired, already used, or was issued to another client")
	if len(req.RefreshToken) > maxFieldLen {
		return nil, invalid
	}
	var (
		resp  *TokenResponse
		fresh = rand.Text() + rand.Text()
	)
	err := s.store.RotateRefreshToken(ctx, hash(req.RefreshToken), func(old *store.RefreshToken) (*store.RefreshToken, error) {
		if old.ClientID != app.ClientID {
			return nil, invalid
		}
		granted := strings.Fields(old.Scope)
		scopes := granted
		if req.Scope != "" {
			// A refresh may narrow the scope, never widen it (section 6).
			scopes = strings.Fields(req.Scope)
			for _, sc := range scopes {
				if !slices.Contains(granted, sc) {
					return nil, oauthError(ErrInvalidScope, "scope %q was not granted", truncate(sc, 60))
				}
			}
		}
		p, err := s.principal(ctx, old.UserID, scopes)
		if errors.Is(err, store.ErrNotFound) {
			return nil, oauthError(ErrInvalidGrant, "the user no longer exists")
		}
		if err != nil {
			return nil, err
		}
		p.ClientID = old.ClientID
		if resp, err = s.issue(p, strings.Join(scopes, " ")); err != nil {
			return nil, err
		}
		now := s.Now().UTC()
		// The new token keeps the original grant's scope, as RFC 6749
		// section 6 asks, and its own full life.
		return &store.RefreshToken{TokenHash: hash(fresh), ClientID: old.ClientID, UserID: old.UserID, Scope: old.Scope,
			ExpiresAt: now.Add(RefreshTTL), CreatedAt: now}, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = fresh
	return resp, nil
}

// clientCredentials issues a token that stands for the application alone:
// it has no user, so the API refuses it for any NINO, as HMRC's does.
func (s *Service) clientCredentials(app *store.Application, req TokenRequest) (*TokenResponse, error) {
	scopes, oerr := parseScope(req.Scope)
	if oerr != nil {
		return nil, oerr
	}
	return s.issue(&auth.Principal{Subject: app.ClientID, ClientID: app.ClientID, Scopes: scopes}, strings.Join(scopes, " "))
}

func (s *Service) issue(p *auth.Principal, scope string) (*TokenResponse, error) {
	tok, ttl, err := s.issuer.Issue(p)
	if err != nil {
		return nil, err
	}
	return &TokenResponse{AccessToken: string(tok), ExpiresIn: ttl, Scope: scope, TokenType: "bearer"}, nil
}
