package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testKey is a private signing key with its id and algorithm.
type testKey struct{ jose.JSONWebKey }

func newTestKey(tb testing.TB, kid string, alg jose.SignatureAlgorithm) testKey {
	tb.Helper()
	var (
		priv any
		err  error
	)
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256, jose.PS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("newTestKey: no key for %s", alg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return testKey{jose.JSONWebKey{Key: priv, KeyID: kid, Algorithm: string(alg), Use: "sig"}}
}

func (k testKey) public() jose.JSONWebKey { return k.Public() }

// sign makes a token of payload (a struct or a map) signed by k.
func (k testKey) sign(tb testing.TB, payload any) Token {
	tb.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if k.KeyID != "" {
		opts = opts.WithHeader("kid", k.KeyID)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.Algorithm), Key: k.Key}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(payload).Serialize()
	if err != nil {
		tb.Fatal(err)
	}
	return Token(raw)
}

// validClaims are the registered claims of a token good at now for 1h.
func validClaims(at time.Time) jwt.Claims {
	return jwt.Claims{
		Issuer: "https://issuer.test", Audience: jwt.Audience{"assist"}, Subject: "user-1",
		IssuedAt: jwt.NewNumericDate(at), Expiry: jwt.NewNumericDate(at.Add(time.Hour)),
	}
}

func keySet(keys ...jose.JSONWebKey) jose.JSONWebKeySet { return jose.JSONWebKeySet{Keys: keys} }

func TestCheckKeySet(t *testing.T) {
	t.Parallel()
	ec := newTestKey(t, "ec", jose.ES256)
	rs := newTestKey(t, "rs", jose.RS256)
	ed := newTestKey(t, "ed", jose.EdDSA)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tests := []struct {
		name string
		set  jose.JSONWebKeySet
		want string // "" for accepted; else part of the error
	}{
		{"asymmetric_public_keys", keySet(ec.public(), rs.public(), ed.public()), ""},
		{"one_key_without_kid", keySet(jose.JSONWebKey{Key: ec.public().Key}), ""},
		{"empty", keySet(), "no signing keys"},
		{"symmetric", keySet(ec.public(), jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hs", Algorithm: "HS256"}), "symmetric"},
		{"private", keySet(ec.JSONWebKey), "private"},
		{"rsa_1024", keySet(jose.JSONWebKey{Key: &small.PublicKey, KeyID: "small"}), "1024 bits"},
		{"p384", keySet(jose.JSONWebKey{Key: &p384.PublicKey, KeyID: "p384"}), "P-384"},
		{"alg_hs256", keySet(jose.JSONWebKey{Key: ec.public().Key, KeyID: "x", Algorithm: "HS256"}), "HS256"},
		{"use_enc", keySet(jose.JSONWebKey{Key: rs.public().Key, KeyID: "x", Use: "enc"}), "use"},
		{"same_kid", keySet(ec.public(), jose.JSONWebKey{Key: rs.public().Key, KeyID: "ec"}), "another key has this id"},
		{"several_without_kid", keySet(jose.JSONWebKey{Key: ec.public().Key}, rs.public()), "key id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckKeySet(tc.set)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckKeySet() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckKeySet() = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestParseKeySet(t *testing.T) {
	t.Parallel()
	ec := newTestKey(t, "ec", jose.ES256)
	rs := newTestKey(t, "rs", jose.RS256)
	pub, _ := json.Marshal(ec.public())
	enc := rs.public()
	enc.Use, enc.Algorithm = "enc", "RSA-OAEP"
	encJSON, _ := json.Marshal(enc)

	set, err := ParseKeySet([]byte(`{"keys":[` + string(pub) + `,` + string(encJSON) + `]}`))
	if err != nil || len(set.Keys) != 1 || set.Keys[0].KeyID != "ec" {
		t.Errorf("ParseKeySet(signing + encryption key) = %v, %v; want the signing key alone", set.Keys, err)
	}
	for name, data := range map[string]string{
		"symmetric": `{"keys":[` + string(pub) + `,{"kty":"oct","kid":"hs","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}`,
		"not_json":  `keys`,
		"only_enc":  `{"keys":[` + string(encJSON) + `]}`,
		"too_many":  `{"keys":[` + strings.Repeat(string(pub)+",", maxKeys) + string(pub) + `]}`,
	} {
		if _, err := ParseKeySet([]byte(data)); err == nil {
			t.Errorf("ParseKeySet(%s) = nil error, want it refused", name)
		}
	}
}

func TestCheckJWKSURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"https://issuer.example/.well-known/jwks.json", "file:///etc/assist/jwks.json", "file:jwks.json",
		"http://127.0.0.1:8080/jwks", "http://localhost/jwks", "http://[::1]:9/jwks"} {
		if err := CheckJWKSURL(u); err != nil {
			t.Errorf("CheckJWKSURL(%q) = %v, want nil", u, err)
		}
	}
	for _, u := range []string{"", "http://issuer.example/jwks", "http://10.0.0.1/jwks", "ftp://x/jwks", "https://", "file://", "jwks.json"} {
		if err := CheckJWKSURL(u); err == nil {
			t.Errorf("CheckJWKSURL(%q) = nil, want an error", u)
		}
	}
}

// jwksServer is an issuer's key set endpoint, over TLS, whose keys the test
// changes.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     []byte
	status   int
	requests atomic.Int32
}

func newJWKSServer(tb testing.TB, keys ...jose.JSONWebKey) *jwksServer {
	tb.Helper()
	s := &jwksServer{status: http.StatusOK}
	s.serve(tb, keys...)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		w.Write(s.body)
	}))
	// A client refusing the test certificate is a case under test, not noise.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	tb.Cleanup(s.Close)
	return s
}

// serve makes the server publish keys from now on.
func (s *jwksServer) serve(tb testing.TB, keys ...jose.JSONWebKey) {
	tb.Helper()
	body, err := json.Marshal(keySet(keys...))
	if err != nil {
		tb.Fatal(err)
	}
	s.mu.Lock()
	s.body, s.status = body, http.StatusOK
	s.mu.Unlock()
}

func (s *jwksServer) fail(status int) {
	s.mu.Lock()
	s.status = status
	s.mu.Unlock()
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestJWKSRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, c := newTestKey(t, "a", jose.RS256), newTestKey(t, "b", jose.ES256), newTestKey(t, "c", jose.EdDSA)
	srv := newJWKSServer(t, a.public())
	clk := &fakeClock{t: now}
	jwks, err := NewJWKS(ctx, JWKSConfig{URL: srv.URL + "/jwks", Client: srv.Client(), Now: clk.now})
	if err != nil {
		t.Fatalf("NewJWKS() = %v", err)
	}
	v, err := NewVerifierFrom(VerifierConfig{Issuer: "https://issuer.test", Audience: "assist", Keys: jwks, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(k testKey) error {
		_, err := v.Verify(ctx, k.sign(t, validClaims(clk.now())))
		return err
	}
	wantRequests := func(n int32) {
		t.Helper()
		if got := srv.requests.Load(); got != n {
			t.Errorf("key set fetched %d times, want %d", got, n)
		}
	}

	if err := verify(a); err != nil {
		t.Errorf("Verify(token of key a) = %v, want accepted", err)
	}
	wantRequests(1)

	// The issuer rotates: b replaces a. A token naming b makes the service
	// fetch the set again.
	srv.serve(t, b.public())
	if err := verify(b); err != nil {
		t.Errorf("Verify(token of new key b) = %v, want accepted after a refresh", err)
	}
	wantRequests(2)
	if err := verify(b); err != nil {
		t.Errorf("Verify(b) again = %v", err)
	}
	wantRequests(2) // cached

	// a was withdrawn; unknown key ids do not fetch again within 30s.
	if err := verify(a); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(withdrawn key a) = %v, want ErrInvalidToken", err)
	}
	if err := verify(c); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(key c never published) = %v, want ErrInvalidToken", err)
	}
	wantRequests(2)

	// After 30s an unknown key id may fetch again; the issuer now publishes c.
	srv.serve(t, b.public(), c.public())
	clk.add(31 * time.Second)
	if err := verify(c); err != nil {
		t.Errorf("Verify(c) after 31s = %v, want accepted", err)
	}
	wantRequests(3)

	// A failed refresh keeps the keys held.
	srv.fail(http.StatusInternalServerError)
	if err := jwks.Refresh(ctx); err == nil {
		t.Errorf("Refresh() with the issuer failing = nil, want an error")
	}
	if err := verify(b); err != nil {
		t.Errorf("Verify(b) after a failed refresh = %v, want accepted", err)
	}
}

// TestJWKSSchedule shows a withdrawn key stops working once the scheduled
// refresh has run, with no token asking for it.
func TestJWKSSchedule(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := newTestKey(t, "a", jose.PS256), newTestKey(t, "b", jose.ES256)
	srv := newJWKSServer(t, a.public(), b.public())
	jwks, err := NewJWKS(ctx, JWKSConfig{URL: srv.URL, Client: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	srv.serve(t, b.public())
	go jwks.Run(ctx, 10*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := jwks.Key(ctx, "a"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("withdrawn key a still held 5s after the issuer dropped it")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := jwks.Key(ctx, "b"); err != nil {
		t.Errorf("Key(b) = %v, want the key still published", err)
	}
}

func TestNewJWKSRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ec := newTestKey(t, "ec", jose.ES256)
	symmetric := newJWKSServer(t, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hs", Algorithm: "HS256"})
	missing := newJWKSServer(t, ec.public())
	missing.fail(http.StatusNotFound)
	private := newJWKSServer(t, ec.JSONWebKey)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	tests := []struct {
		name string
		cfg  JWKSConfig
		want string
	}{
		{"symmetric", JWKSConfig{URL: symmetric.URL, Client: symmetric.Client()}, "symmetric"},
		{"private", JWKSConfig{URL: private.URL, Client: private.Client()}, "private"},
		{"not_found", JWKSConfig{URL: missing.URL, Client: missing.Client()}, "status 404"},
		{"untrusted_certificate", JWKSConfig{URL: symmetric.URL}, "certificate"},
		{"http_not_loopback", JWKSConfig{URL: "http://issuer.example/jwks"}, "loopback"},
		{"missing_file", JWKSConfig{URL: "file:" + filepath.Join(t.TempDir(), "none.json")}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewJWKS(ctx, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewJWKS(%s) = %v, want an error about %q", tc.name, err, tc.want)
			}
		})
	}
}

func TestJWKSFile(t *testing.T) {
	t.Parallel()
	ec := newTestKey(t, "ec", jose.ES256)
	path := filepath.Join(t.TempDir(), "jwks.json")
	data, _ := json.Marshal(keySet(ec.public()))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	jwks, err := NewJWKS(context.Background(), JWKSConfig{URL: "file://" + path})
	if err != nil {
		t.Fatalf("NewJWKS(file) = %v", err)
	}
	if _, err := jwks.Key(context.Background(), "ec"); err != nil {
		t.Errorf("Key(ec) = %v", err)
	}
}
