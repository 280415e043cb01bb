// Package oauth is the sandbox's OAuth 2.0 authorisation server, shaped like
// HMRC's Developer Hub so that MTD software can run its real sign-in flow
// against the sandbox: applications (clients) with redirect URIs, test users
// who sign in with a user id and password, the authorisation code grant
// with a sign-in page and a grant page, refresh tokens that rotate, and the
// client credentials grant (RFC 6749). Tokens are signed by the sandbox's
// auth.Issuer, so the API accepts them as it accepts the test-support ones.
//
// oauth.go registers applications and users, authorize.go runs the browser
// steps, token.go the token endpoint; handler.go is the HTTP edge, where
// errors become RFC 6749 answers or error pages.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/open-assist/assist/internal/auth"
	"github.com/open-assist/assist/internal/hmrc"
	"github.com/open-assist/assist/internal/identity"
	"github.com/open-assist/assist/internal/store"
)

// Store is what the OAuth server keeps in the database.
type Store interface {
	CreateApplication(ctx context.Context, a *store.Application) error
	CountApplications(ctx context.Context) (int, error)
	Application(ctx context.Context, clientID string) (*store.Application, error)
	CreateTestUser(ctx context.Context, u *store.TestUser) error
	TestUser(ctx context.Context, userID string) (*store.TestUser, error)
	Individual(ctx context.Context, nino string) (*store.Individual, error)
	CreateAuthSession(ctx context.Context, s *store.AuthSession) error
	AuthSession(ctx context.Context, idHash string) (*store.AuthSession, error)
	SignInAuthSession(ctx context.Context, idHash, userID string) error
	FailAuthSignIn(ctx context.Context, idHash string) (int, error)
	TakeAuthSession(ctx context.Context, idHash string) (*store.AuthSession, error)
	DeleteAuthSession(ctx context.Context, idHash string) error
	CreateAuthCode(ctx context.Context, c *store.AuthCode) error
	TakeAuthCode(ctx context.Context, codeHash string) (*store.AuthCode, error)
	CreateRefreshToken(ctx context.Context, t *store.RefreshToken) error
	RotateRefreshToken(ctx context.Context, tokenHash string, next func(old *store.RefreshToken) (*store.RefreshToken, error)) error
}

// Lifetimes and limits.
const (
	// SessionTTL bounds the time from the sign-in page to the grant.
	SessionTTL = 10 * time.Minute
	// CodeTTL is how long an authorisation code may wait to be exchanged
	// (RFC 6749 recommends at most 10 minutes).
	CodeTTL = 10 * time.Minute
	// RefreshTTL is the life of a refresh token: 18 months, as HMRC's.
	RefreshTTL = 18 * 30 * 24 * time.Hour
	// MaxSignInFailures ends an authorisation request after this many wrong
	// passwords, so that a password cannot be guessed at leisure.
	MaxSignInFailures = 5

	maxApplications = 10000
	maxNameLen      = 100
	maxRedirectURIs = 5 // as HMRC's Developer Hub
	maxURILen       = 1024
	maxStateLen     = 1024
	maxScopeLen     = 512
	maxFieldLen     = 256
)

// Scopes an application may ask for. The Assist API checks the first two;
// MTD software often asks for the Self Assessment ones in the same request,
// so they are known too rather than refused.
var knownScopes = []string{hmrc.ScopeRead, hmrc.ScopeWrite, "read:self-assessment", "write:self-assessment"}

// defaultScopes are granted when a request names none.
var defaultScopes = []string{hmrc.ScopeRead, hmrc.ScopeWrite}

// scopeDescriptions are what the grant page says each scope allows.
var scopeDescriptions = map[string]string{
	hmrc.ScopeRead:          "Ask HMRC Assist for a report on your tax calculation",
	hmrc.ScopeWrite:         "Tell HMRC Assist that you have seen a report",
	"read:self-assessment":  "View your Self Assessment information",
	"write:self-assessment": "Change your Self Assessment information",
}

// Service is the authorisation server.
type Service struct {
	store  Store
	issuer *auth.Issuer
	log    *slog.Logger
	pages  *template.Template
	// Now is the clock of the expiries it sets; default time.Now. The
	// store compares them with its own clock, so the two must agree.
	Now func() time.Time
	// PasswordCost is the bcrypt cost of stored passwords.
	PasswordCost int
	// dummyHash is compared against when a user id is unknown, so that a
	// wrong user id takes as long as a wrong password.
	dummyHash []byte
}

// New returns a Service keeping its state in st and signing tokens with
// issuer.
func New(st Store, issuer *auth.Issuer, log *slog.Logger) (*Service, error) {
	switch {
	case st == nil:
		return nil, errors.New("oauth: missing store")
	case issuer == nil:
		return nil, errors.New("oauth: missing token issuer")
	case log == nil:
		return nil, errors.New("oauth: missing logger")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), bcrypt.DefaultCost)
	if err != nil {
		return nil, fmt.Errorf("oauth: hash: %w", err)
	}
	return &Service{store: st, issuer: issuer, log: log, pages: pages, Now: time.Now, PasswordCost: bcrypt.DefaultCost, dummyHash: dummy}, nil
}

// Error is an OAuth 2.0 error (RFC 6749 sections 4.1.2.1 and 5.2).
type Error struct {
	Code        string // invalid_request, invalid_client, invalid_grant, ...
	Description string // for the developer; never holds a secret
}

func (e *Error) Error() string { return "oauth: " + e.Code + ": " + e.Description }

func oauthError(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// RFC 6749 error codes.
const (
	ErrInvalidRequest          = "invalid_request"
	ErrInvalidClient           = "invalid_client"
	ErrInvalidGrant            = "invalid_grant"
	ErrUnauthorizedClient      = "unauthorized_client"
	ErrUnsupportedGrantType    = "unsupported_grant_type"
	ErrInvalidScope            = "invalid_scope"
	ErrAccessDenied            = "access_denied"
	ErrUnsupportedResponseType = "unsupported_response_type"
)

// Credentials are a new application's client credentials, shown once.
type Credentials struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	RedirectURIs []string `json:"redirectUris"`
}

// ErrInvalidApplication is wrapped by RegisterApplication's errors about
// its input; the message says what is wrong.
var ErrInvalidApplication = errors.New("oauth: invalid application")

// ErrTooManyApplications means the sandbox holds all the applications it
// will.
var ErrTooManyApplications = errors.New("oauth: too many applications")

// RegisterApplication registers an application and returns its credentials.
// Redirect URIs must be https, or http on localhost or 127.0.0.1 (as HMRC
// allows for testing); they are matched exactly.
func (s *Service) RegisterApplication(ctx context.Context, name string, redirectURIs []string) (*Credentials, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxNameLen || strings.ContainsFunc(name, isControl) {
		return nil, fmt.Errorf("%w: name must be 1 to %d characters with no control characters", ErrInvalidApplication, maxNameLen)
	}
	if len(redirectURIs) > maxRedirectURIs {
		return nil, fmt.Errorf("%w: at most %d redirect URIs", ErrInvalidApplication, maxRedirectURIs)
	}
	uris := []string{}
	for _, u := range redirectURIs {
		if err := checkRedirectURI(u); err != nil {
			return nil, fmt.Errorf("%w: redirect URI %q: %v", ErrInvalidApplication, truncate(u, 100), err)
		}
		if !slices.Contains(uris, u) {
			uris = append(uris, u)
		}
	}
	n, err := s.store.CountApplications(ctx)
	if err != nil {
		return nil, err
	}
	if n >= maxApplications {
		return nil, ErrTooManyApplications
	}
	creds := &Credentials{ClientID: rand.Text(), ClientSecret: rand.Text() + rand.Text(), RedirectURIs: uris}
	app := &store.Application{ClientID: creds.ClientID, Name: name, SecretHash: hash(creds.ClientSecret), RedirectURIs: uris, CreatedAt: s.Now().UTC()}
	if err := s.store.CreateApplication(ctx, app); err != nil {
		return nil, err
	}
	return creds, nil
}

func checkRedirectURI(raw string) error {
	if len(raw) > maxURILen {
		return fmt.Errorf("longer than %d characters", maxURILen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return errors.New("has a fragment (RFC 6749 section 3.1.2)")
	}
	if u.User != nil {
		return errors.New("has a user name or password")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" || h == "::1" {
			return nil
		}
		return errors.New("http is allowed only for localhost and 127.0.0.1")
	default:
		return errors.New("scheme must be https (or http for localhost)")
	}
}

// Login is what a new test user signs in with, shown once.
type Login struct {
	UserID   string
	Password string
}

// NewUser makes the sign-in of a test individual (affinityGroup
// identity.Individual, with nino) or agent (identity.Agent, with arn).
func (s *Service) NewUser(ctx context.Context, affinityGroup identity.AffinityGroup, nino, arn string) (*Login, error) {
	login := &Login{UserID: randomDigits(12), Password: rand.Text()}
	pw, err := bcrypt.GenerateFromPassword([]byte(login.Password), s.PasswordCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u := &store.TestUser{UserID: login.UserID, PasswordHash: string(pw), AffinityGroup: affinityGroup, NINO: nino, ARN: arn, CreatedAt: s.Now().UTC()}
	if err := s.store.CreateTestUser(ctx, u); err != nil {
		return nil, err
	}
	return login, nil
}

// principal is who a token for userID, with scopes, stands for: the test
// user's current identity.
func (s *Service) principal(ctx context.Context, userID string, scopes []string) (*auth.Principal, error) {
	u, err := s.store.TestUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	switch u.AffinityGroup {
	case identity.Individual:
		in, err := s.store.Individual(ctx, u.NINO)
		if err != nil {
			return nil, err
		}
		return auth.IndividualPrincipal(in.NINO, in.MTDITID, in.MTDEnrolled, in.ConfidenceLevel, scopes), nil
	case identity.Agent:
		return auth.AgentPrincipal(u.ARN, scopes), nil
	default:
		return nil, fmt.Errorf("oauth: test user has affinity group %q", u.AffinityGroup)
	}
}

// parseScope splits a space-separated scope, refusing unknown scopes and
// defaulting to the Assist API's.
func parseScope(raw string) ([]string, *Error) {
	if len(raw) > maxScopeLen {
		return nil, oauthError(ErrInvalidScope, "scope is longer than %d characters", maxScopeLen)
	}
	fields := strings.Fields(raw)
	if len(fields) == 0 {
		return slices.Clone(defaultScopes), nil
	}
	var out []string
	for _, f := range fields {
		if !slices.Contains(knownScopes, f) {
			return nil, oauthError(ErrInvalidScope, "unknown scope %q", truncate(f, 60))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, nil
}

// hash is how secrets are kept: they are long and random, so SHA-256 is
// enough to make a stolen table useless.
func hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// sameHash compares a secret with a stored hash in constant time.
func sameHash(secret, stored string) bool {
	return subtle.ConstantTimeCompare([]byte(hash(secret)), []byte(stored)) == 1
}

func randomDigits(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
