package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// NewSigningKey makes a P-256 private key (ES256) and returns it as a JSON
// Web Key with a fresh key id, for the store to keep.
func NewSigningKey() ([]byte, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	jwk := jose.JSONWebKey{Key: priv, KeyID: uuid.NewString(), Algorithm: string(jose.ES256), Use: "sig"}
	return jwk.MarshalJSON()
}

// Issuer signs tokens, as the sandbox's token endpoint.
type Issuer struct {
	key      jose.JSONWebKey
	signer   jose.Signer
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewIssuer returns an Issuer signing with a private JSON Web Key (as made by
// NewSigningKey) tokens that live for ttl.
func NewIssuer(privateJWK []byte, issuer, audience string, ttl time.Duration, now func() time.Time) (*Issuer, error) {
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(privateJWK); err != nil {
		return nil, fmt.Errorf("auth: read signing key: %w", err)
	}
	if key.IsPublic() || !key.Valid() {
		return nil, errors.New("auth: signing key is not a private key")
	}
	if ttl <= 0 {
		return nil, errors.New("auth: token lifetime must be positive")
	}
	if now == nil {
		now = time.Now
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("auth: make signer: %w", err)
	}
	return &Issuer{key: key, signer: signer, issuer: issuer, audience: audience, ttl: ttl, now: now}, nil
}

// PublicKeys returns the key set that verifies the issuer's tokens.
func (i *Issuer) PublicKeys() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{i.key.Public()}}
}

// Issue signs a token for p, returning it with its lifetime in seconds.
func (i *Issuer) Issue(p *Principal) (Token, int, error) {
	now := i.now()
	c := claims{
		Claims: jwt.Claims{
			Issuer:    i.issuer,
			Audience:  jwt.Audience{i.audience},
			Subject:   p.Subject,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(i.ttl)),
			ID:        uuid.NewString(),
		},
		Scope:           strings.Join(p.Scopes, " "),
		AffinityGroup:   string(p.AffinityGroup),
		NINO:            p.NINO,
		MTDITID:         p.MTDITID,
		ARN:             p.ARN,
		ConfidenceLevel: p.ConfidenceLevel,
		ClientID:        p.ClientID,
		Enrolments:      p.Enrolments,
	}
	raw, err := jwt.Signed(i.signer).Claims(c).Serialize()
	if err != nil {
		return "", 0, fmt.Errorf("auth: sign token: %w", err)
	}
	return Token(raw), int(i.ttl / time.Second), nil
}
