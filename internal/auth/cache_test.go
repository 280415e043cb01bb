package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// A token verified once is remembered, but only while it is valid: it
// expires on time, and a key withdrawn from the set ends it at once.
func TestVerifiedTokensAreRememberedWhileValid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newTestKey(t, "k", jose.ES256)
	srv := newJWKSServer(t, k.public())
	clk := &fakeClock{t: now}
	jwks, err := NewJWKS(ctx, JWKSConfig{URL: srv.URL + "/jwks", Client: srv.Client(), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifierFrom(VerifierConfig{Issuer: "https://issuer.test", Audience: "assist", Keys: jwks, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"iss": "https://issuer.test", "aud": "assist", "sub": "user-1", "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "scope": "read:self-assessment-assist", "affinityGroup": "Individual", "nino": "TC663795B"}
	tok := k.sign(t, claims)
	p, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.cache.entries) != 1 {
		t.Fatalf("%d tokens remembered, want 1", len(v.cache.entries))
	}
	// A caller changing its principal does not change the next caller's.
	p.Scopes[0] = "changed"
	again, err := v.Verify(ctx, tok)
	if err != nil || again.Scopes[0] != "read:self-assessment-assist" || again.NINO != "TC663795B" {
		t.Fatalf("Verify(again) = %+v, %v", again, err)
	}

	clk.add(time.Hour + time.Minute) // past exp and its leeway
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(expired, remembered) = %v, want ErrInvalidToken", err)
	}

	// A fresh token, remembered, then its key withdrawn.
	claims["iat"], claims["exp"] = clk.now().Unix(), clk.now().Add(time.Hour).Unix()
	tok = k.sign(t, claims)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	srv.serve(t, newTestKey(t, "other", jose.ES256).public())
	if err := jwks.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(remembered, key withdrawn) = %v, want ErrInvalidToken", err)
	}
}

// The cache is bounded: a full cache forgets expired tokens first.
func TestVerifiedIsBounded(t *testing.T) {
	t.Parallel()
	c := newVerified()
	c.max = 3
	at := time.Unix(1_800_000_000, 0)
	for i, exp := range []time.Duration{-time.Minute, time.Hour, time.Hour} {
		c.put(sha256.Sum256([]byte{byte('a' + i)}), verifiedToken{expiry: at.Add(exp)}, at)
	}
	c.put(sha256.Sum256([]byte("d")), verifiedToken{expiry: at.Add(time.Hour)}, at)
	if len(c.entries) != 3 {
		t.Errorf("%d entries after dropping the expired one, want 3", len(c.entries))
	}
	c.put(sha256.Sum256([]byte("e")), verifiedToken{expiry: at.Add(time.Hour)}, at)
	if len(c.entries) != 1 {
		t.Errorf("%d entries after a full cache of live tokens, want 1 (the newest)", len(c.entries))
	}
}
