// Package auth verifies the bearer tokens the API accepts and, for the
// sandbox, issues them. Tokens are signed JWTs carrying an issuer, an
// audience, an expiry, OAuth scopes and the identity's claims (affinity
// group, NINO or ARN, enrolments, confidence level). The Verifier checks them
// against a key set, so the same code verifies the sandbox's own tokens and,
// given that issuer's keys, an external issuer's.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrInvalidToken is wrapped by every error Verify returns: the token is
// malformed, badly signed, expired, not yet valid, or from another issuer or
// audience.
var ErrInvalidToken = errors.New("auth: invalid token")

// Affinity groups and enrolments, as HMRC names them.
const (
	Individual = "Individual"
	Agent      = "Agent"

	// EnrolmentMTDIT is the MTD Income Tax enrolment of an individual.
	EnrolmentMTDIT = "HMRC-MTD-IT"
	// EnrolmentAgent is an agent services account.
	EnrolmentAgent = "HMRC-AS-AGENT"
)

// Token is a raw bearer token. It never appears in logs.
type Token string

// LogValue redacts the token.
func (Token) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Principal is the identity a verified token stands for.
type Principal struct {
	Subject         string
	AffinityGroup   string // Individual or Agent
	NINO            string // individuals
	MTDITID         string // individuals enrolled for MTD Income Tax
	ARN             string // agents
	ConfidenceLevel int
	Enrolments      []string
	Scopes          []string
}

// HasScope reports whether the token was granted scope.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// HasEnrolment reports whether the identity holds an enrolment.
func (p *Principal) HasEnrolment(e string) bool { return slices.Contains(p.Enrolments, e) }

// claims is the JSON payload of a token.
type claims struct {
	jwt.Claims
	Scope           string   `json:"scope,omitempty"`
	AffinityGroup   string   `json:"affinityGroup,omitempty"`
	NINO            string   `json:"nino,omitempty"`
	MTDITID         string   `json:"mtdItId,omitempty"`
	ARN             string   `json:"arn,omitempty"`
	ConfidenceLevel int      `json:"confidenceLevel,omitempty"`
	Enrolments      []string `json:"enrolments,omitempty"`
}

// allowedAlgs are the signature algorithms a token may use.
var allowedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.PS256}

// Verifier checks tokens of one issuer for one audience.
type Verifier struct {
	issuer   string
	audience string
	keys     jose.JSONWebKeySet
	leeway   time.Duration
	now      func() time.Time
}

// NewVerifier returns a Verifier of tokens from issuer, for audience, signed
// by one of keys (public keys, chosen by the token's key id).
func NewVerifier(issuer, audience string, keys jose.JSONWebKeySet, now func() time.Time) (*Verifier, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("auth: verifier needs an issuer and an audience")
	}
	if len(keys.Keys) == 0 {
		return nil, errors.New("auth: verifier needs at least one key")
	}
	if now == nil {
		now = time.Now
	}
	return &Verifier{issuer: issuer, audience: audience, keys: keys, leeway: 30 * time.Second, now: now}, nil
}

// Verify checks a token and returns who it stands for.
func (v *Verifier) Verify(ctx context.Context, raw Token) (*Principal, error) {
	tok, err := jwt.ParseSigned(string(raw), allowedAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var c claims
	if err := tok.Claims(v.keys, &c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if c.Expiry == nil {
		return nil, fmt.Errorf("%w: no expiry", ErrInvalidToken)
	}
	err = c.Claims.ValidateWithLeeway(jwt.Expected{
		Issuer:      v.issuer,
		AnyAudience: jwt.Audience{v.audience},
		Time:        v.now(),
	}, v.leeway)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	return &Principal{
		Subject:         c.Subject,
		AffinityGroup:   c.AffinityGroup,
		NINO:            c.NINO,
		MTDITID:         c.MTDITID,
		ARN:             c.ARN,
		ConfidenceLevel: c.ConfidenceLevel,
		Enrolments:      c.Enrolments,
		Scopes:          strings.Fields(c.Scope),
	}, nil
}

type (
	principalKey struct{}
	tokenKey     struct{}
)

// NewContext returns ctx carrying the verified principal and its token (for
// calls made on the caller's behalf).
func NewContext(ctx context.Context, p *Principal, raw Token) context.Context {
	ctx = context.WithValue(ctx, principalKey{}, p)
	return context.WithValue(ctx, tokenKey{}, raw)
}

// FromContext returns the principal in ctx, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// TokenFromContext returns the caller's token in ctx, or "".
func TokenFromContext(ctx context.Context) Token {
	t, _ := ctx.Value(tokenKey{}).(Token)
	return t
}
