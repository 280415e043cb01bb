// Package auth verifies the bearer tokens the API accepts and, for the
// sandbox, issues them. Tokens are signed JWTs carrying an issuer, an
// audience, an issue time and an expiry, OAuth scopes and the identity's
// claims (affinity group, NINO or ARN, enrolments, confidence level), under
// names that ClaimNames maps. The Verifier checks them against a KeySource:
// the sandbox's own key, or an external issuer's key set (JWKS), fetched,
// cached and refreshed. Only asymmetric algorithms are accepted.
package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/open-assist/assist/internal/identity"
)

// ErrInvalidToken is wrapped by every error Verify returns: the token is
// malformed, badly signed, expired, not yet valid, or from another issuer or
// audience.
var ErrInvalidToken = errors.New("auth: invalid token")

// Enrolments, as HMRC names them.
const (
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
	AffinityGroup   identity.AffinityGroup
	NINO            string // individuals
	MTDITID         string // individuals enrolled for MTD Income Tax
	ARN             string // agents
	ConfidenceLevel int
	Enrolments      []string
	Scopes          []string
	ClientID        string // the application the token was issued to, when the token says
}

// IndividualPrincipal is a test individual as the sandbox's tokens carry
// them: the MTD Income Tax id and enrolment only when enrolled.
func IndividualPrincipal(nino, mtditid string, enrolled bool, level int, scopes []string) *Principal {
	p := &Principal{Subject: nino, AffinityGroup: identity.Individual, NINO: nino, ConfidenceLevel: level, Scopes: scopes}
	if enrolled {
		p.MTDITID = mtditid
		p.Enrolments = []string{EnrolmentMTDIT}
	}
	return p
}

// AgentPrincipal is a test agent with an agent services account.
func AgentPrincipal(arn string, scopes []string) *Principal {
	return &Principal{Subject: arn, AffinityGroup: identity.Agent, ARN: arn, Enrolments: []string{EnrolmentAgent}, Scopes: scopes}
}

// Party is who the token speaks for, as reports and their records keep it.
func (p *Principal) Party() identity.Party {
	out := identity.Party{AffinityGroup: p.AffinityGroup, Enrolments: p.Enrolments, ConfidenceLevel: p.ConfidenceLevel}
	if p.AffinityGroup == identity.Agent {
		out.ARN = p.ARN
	} else {
		out.NINO = p.NINO
	}
	return out
}

// HasScope reports whether the token was granted scope.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// HasEnrolment reports whether the identity holds an enrolment.
func (p *Principal) HasEnrolment(e string) bool { return slices.Contains(p.Enrolments, e) }

// claims is the JSON payload of the sandbox's tokens, with DefaultClaims'
// names.
type claims struct {
	jwt.Claims
	Scope           string   `json:"scope,omitempty"`
	AffinityGroup   string   `json:"affinityGroup,omitempty"`
	NINO            string   `json:"nino,omitempty"`
	MTDITID         string   `json:"mtdItId,omitempty"`
	ARN             string   `json:"arn,omitempty"`
	ConfidenceLevel int      `json:"confidenceLevel,omitempty"`
	Enrolments      []string `json:"enrolments,omitempty"`
	ClientID        string   `json:"client_id,omitempty"`
}

// allowedAlgs are the signature algorithms a token may use: asymmetric
// ones only, so that the service holds nothing that could sign a token.
// "none" and the HMAC algorithms are refused before any key is looked up.
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// DefaultMaxLifetime is the longest a token may live (exp - iat) unless
// configured otherwise: HMRC's access tokens live four hours.
const DefaultMaxLifetime = 4 * time.Hour

// maxTokenBytes bounds what is parsed; real tokens are a few kilobytes.
const maxTokenBytes = 16 << 10

// VerifierConfig configures a Verifier.
type VerifierConfig struct {
	Issuer   string // the iss tokens must have
	Audience string // an aud tokens must have
	Keys     KeySource
	// Claims names the identity's claims; zero: DefaultClaims.
	Claims ClaimNames
	// MaxLifetime refuses tokens whose exp is further than this after their
	// iat; zero: DefaultMaxLifetime.
	MaxLifetime time.Duration
	Now         func() time.Time
}

// Verifier checks tokens of one issuer for one audience.
type Verifier struct {
	issuer, audience string
	keys             KeySource
	claims           ClaimNames
	maxLifetime      time.Duration
	leeway           time.Duration
	now              func() time.Time
	cache            *verified
}

// NewVerifier returns a Verifier of tokens from issuer, for audience, signed
// by one of keys (public keys, chosen by the token's key id), with the
// sandbox's claim names and DefaultMaxLifetime.
func NewVerifier(issuer, audience string, keys jose.JSONWebKeySet, now func() time.Time) (*Verifier, error) {
	src, err := StaticKeys(keys)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return NewVerifierFrom(VerifierConfig{Issuer: issuer, Audience: audience, Keys: src, Now: now})
}

// NewVerifierFrom returns a Verifier configured by c.
func NewVerifierFrom(c VerifierConfig) (*Verifier, error) {
	if c.Issuer == "" || c.Audience == "" {
		return nil, errors.New("auth: verifier needs an issuer and an audience")
	}
	if c.Keys == nil {
		return nil, errors.New("auth: verifier needs keys")
	}
	if c.Claims == (ClaimNames{}) {
		c.Claims = DefaultClaims
	}
	if c.MaxLifetime <= 0 {
		c.MaxLifetime = DefaultMaxLifetime
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Verifier{issuer: c.Issuer, audience: c.Audience, keys: c.Keys, claims: c.Claims,
		maxLifetime: c.MaxLifetime, leeway: 30 * time.Second, now: c.Now, cache: newVerified()}, nil
}

// Verify checks a token and returns who it stands for. It refuses a token
// not signed with an allowed algorithm by a key of the set, from another
// issuer or for another audience, without exp or iat, expired, not yet
// valid, issued in the future, or living longer than the maximum.
func (v *Verifier) Verify(ctx context.Context, raw Token) (*Principal, error) {
	if len(raw) > maxTokenBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxTokenBytes)
	}
	now := v.now()
	sum := sha256.Sum256([]byte(raw))
	if p, ok := v.cache.get(ctx, v, sum, now); ok {
		return p, nil
	}
	tok, err := jwt.ParseSigned(string(raw), allowedAlgs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: %d signatures, want 1", ErrInvalidToken, len(tok.Headers))
	}
	h := tok.Headers[0]
	key, err := v.keys.Key(ctx, h.KeyID)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, fmt.Errorf("%w: key %q is for %s, token signed with %s", ErrInvalidToken, key.KeyID, key.Algorithm, h.Algorithm)
	}
	var (
		std jwt.Claims
		all map[string]json.RawMessage
	)
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if std.Expiry == nil || std.IssuedAt == nil {
		return nil, fmt.Errorf("%w: exp and iat are required", ErrInvalidToken)
	}
	if life := std.Expiry.Time().Sub(std.IssuedAt.Time()); life > v.maxLifetime {
		return nil, fmt.Errorf("%w: lives %s, longer than %s", ErrInvalidToken, life, v.maxLifetime)
	}
	err = std.ValidateWithLeeway(jwt.Expected{
		Issuer:      v.issuer,
		AnyAudience: jwt.Audience{v.audience},
		Time:        now,
	}, v.leeway)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	p := &Principal{Subject: std.Subject}
	if err := v.claims.identity(all, p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	e := verifiedToken{principal: *p.clone(), kid: h.KeyID, expiry: std.Expiry.Time()}
	if std.NotBefore != nil {
		e.notBefore = std.NotBefore.Time()
	}
	v.cache.put(sum, e, now)
	return p, nil
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
